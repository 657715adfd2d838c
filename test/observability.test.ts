/**
 * Issue 9, observability: the W3C trace context of a callback travels on with each of its
 * deliveries (Kafka record headers, webhook request headers), spans go to an OTLP/HTTP collector
 * when one is configured, and /metrics is Prometheus text with the latency histograms, the
 * process metrics and counters typed as counters. A real broker, a real webhook receiver and a
 * real collector on 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRouter } from '../src/router.js';
import { createTopics, readTopics, uniqueTopic, waitFor, type ReadMessage } from './support/kafka.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { FAST_RETRY, postSample, startTestRouter, tempDir } from './support/router.js';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
}

function parts(header: string | string[] | undefined | null): { traceId: string; spanId: string; flags: string } {
  const m = TRACEPARENT.exec(String(header ?? ''));
  expect(m, `a valid traceparent: ${String(header)}`).not.toBeNull();
  return { traceId: m![1]!, spanId: m![2]!, flags: m![3]! };
}

/**
 * Every line of a Prometheus text exposition, checked for form: `# HELP`, `# TYPE` or a sample
 * `name{label="value",...} number`. Returns each family's type and its sample lines.
 */
function parseExposition(text: string): Map<string, { type: string; samples: string[] }> {
  const families = new Map<string, { type: string; samples: string[] }>();
  const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)( \d+)?$/;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      families.set(type[1]!, { type: type[2]!, samples: [] });
      continue;
    }
    if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* /.test(line)) continue;
    const m = sample.exec(line);
    expect(m, `a sample line: ${line}`).not.toBeNull();
    const name = m![1]!;
    const family = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ''));
    expect(family, `a declared family for ${name}`).toBeDefined();
    family!.samples.push(line);
  }
  return families;
}

describe('observability', () => {
  const topic = uniqueTopic('observability');
  const dir = tempDir();
  let router: RunningRouter;
  let hook: Receiver;
  let collector: Receiver;
  const saved = { ...process.env };

  beforeAll(async () => {
    await createTopics([topic]);
    hook = await startReceiver();
    collector = await startReceiver();
    // Trace export is off by default; the standard variable turns it on.
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = collector.url;
    router = await startTestRouter(
      {
        profiles: { default: {} },
        kafka: { topics: { events: topic } },
        webhooks: { crm: { url: hook.url } },
        rules: [{ name: 'everything', to: ['kafka:events', 'webhook:crm'] }],
        retry: FAST_RETRY,
      },
      { dataDir: dir.path },
    );
  });

  afterAll(async () => {
    await router?.close();
    await Promise.all([hook, collector].map((r) => r?.close()));
    process.env = saved;
    dir.remove();
  });

  /** POSTs a sample callback with `headers`; returns the response and its event id. */
  async function callback(id: string, headers: Record<string, string> = {}): Promise<{ res: Response; eventId: string }> {
    const res = await fetch(`${router.url}/callbacks/default`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(postSample({ id, message_id: `${id}:1` })),
    });
    expect(res.status).toBe(200);
    return { res, eventId: ((await res.clone().json()) as { event_id: string }).event_id };
  }

  async function delivered(eventId: string): Promise<{ record: ReadMessage; request: Receiver['received'][number] }> {
    const read = await readTopics([topic], (m) => m.some((x) => x.json.event_id === eventId));
    const record = read.find((x) => x.json.event_id === eventId);
    expect(record).toBeDefined();
    await waitFor(() => hook.received.some((r) => r.json.data.event_id === eventId), 15_000);
    return { record: record!, request: hook.received.find((r) => r.json.data.event_id === eventId)! };
  }

  function exportedSpans(): OtlpSpan[] {
    return collector.received.flatMap((r) => {
      const body = JSON.parse(r.body) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
      return body.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
    });
  }

  it('a callback with a traceparent: its trace id goes on to Kafka and the webhook, each delivery a new child span', async () => {
    const caller = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
    const { res, eventId } = await callback('traced-1', { traceparent: `00-${caller.traceId}-${caller.spanId}-01`, tracestate: 'vendor=abc' });
    const ours = parts(res.headers.get('traceparent'));
    expect(ours).toMatchObject({ traceId: caller.traceId, flags: '01' });
    expect(ours.spanId).not.toBe(caller.spanId);

    const { record, request } = await delivered(eventId);
    const inKafka = parts(record.headers.traceparent);
    const inWebhook = parts(request.headers.traceparent);
    expect(inKafka.traceId).toBe(caller.traceId);
    expect(inWebhook.traceId).toBe(caller.traceId);
    expect(new Set([caller.spanId, ours.spanId, inKafka.spanId, inWebhook.spanId]).size).toBe(4);
    expect(record.headers.tracestate).toBe('vendor=abc');
    expect(request.headers.tracestate).toBe('vendor=abc');

    // The collector got the callback's span (a child of the caller's) and each delivery's (children of ours).
    await waitFor(() => exportedSpans().filter((s) => s.traceId === caller.traceId).length >= 3, 10_000);
    const spans = exportedSpans().filter((s) => s.traceId === caller.traceId);
    expect(spans).toContainEqual(expect.objectContaining({ spanId: ours.spanId, parentSpanId: caller.spanId, name: 'POST /callbacks/:profile' }));
    expect(spans).toContainEqual(expect.objectContaining({ spanId: inKafka.spanId, parentSpanId: ours.spanId, name: 'deliver kafka:events' }));
    expect(spans).toContainEqual(expect.objectContaining({ spanId: inWebhook.spanId, parentSpanId: ours.spanId, name: 'deliver webhook:crm' }));
  });

  it('a callback without one (or with an invalid one) starts a trace that its deliveries carry', async () => {
    for (const [id, headers] of [
      ['untraced-1', {}],
      ['badly-traced-1', { traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01` }],
    ] as const) {
      const { res, eventId } = await callback(id, headers);
      const ours = parts(res.headers.get('traceparent'));
      expect(ours.traceId).not.toBe('0'.repeat(32));
      const { record, request } = await delivered(eventId);
      expect(parts(record.headers.traceparent).traceId).toBe(ours.traceId);
      expect(parts(request.headers.traceparent).traceId).toBe(ours.traceId);
      expect(record.headers).not.toHaveProperty('tracestate');
    }
  });

  it('/metrics is Prometheus text with the latency histograms, process metrics and counters typed counter', async () => {
    const res = await fetch(`${router.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parseExposition(await res.text());
    const type = (name: string) => families.get(name)?.type;
    const samples = (name: string) => families.get(name)?.samples.join('\n') ?? '';

    for (const h of ['kcr_http_request_duration_seconds', 'kcr_spool_commit_duration_seconds', 'kcr_delivery_duration_seconds', 'kcr_accept_to_delivered_seconds']) {
      expect(type(h), h).toBe('histogram');
    }
    expect(samples('kcr_http_request_duration_seconds')).toMatch(/_count\{route="\/callbacks\/:profile",method="POST",status="200"\} [1-9]/);
    expect(samples('kcr_spool_commit_duration_seconds')).toMatch(/^kcr_spool_commit_duration_seconds_count [1-9]/m);
    expect(samples('kcr_delivery_duration_seconds')).toContain('destination="webhook:crm",outcome="delivered"');
    expect(samples('kcr_accept_to_delivered_seconds')).toMatch(/_count\{destination="kafka:events"\} [1-9]/);

    expect(type('kcr_process_cpu_seconds_total')).toBe('counter');
    expect(type('kcr_process_resident_memory_bytes')).toBe('gauge');
    expect(type('kcr_nodejs_eventloop_lag_p99_seconds')).toBe('gauge');

    for (const c of ['kcr_callbacks_accepted_total', 'kcr_deliveries_total', 'kcr_spool_commits', 'kcr_spool_committed_events', 'kcr_spool_commit_seconds', 'kcr_spool_commit_failures']) {
      expect(type(c), c).toBe('counter');
    }
    expect(type('kcr_deliveries')).toBe('gauge');
    expect(samples('kcr_deliveries')).toMatch(/^kcr_deliveries\{destination="webhook:crm",state="done"\} [1-9]/m);
  });
});
