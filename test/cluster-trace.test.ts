/**
 * W3C trace context through the cluster mode, against the real broker: the edge puts the
 * callback's span in the intake record, the partition owner writes a child span into each output
 * record and into the outbox record, and the outbox makes every webhook attempt a child of that,
 * so a consumer of the topic and the webhook receiver join the caller's trace as in the embedded mode.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningRouter } from '../src/router.js';
import { startReceiver, type Receiver } from '../src/testing/receiver.js';
import { kafkaBrokers, waitFor } from './support/kafka.js';
import { postSample, startTestRouter, tempDir } from './support/router.js';
import { tailTopics, type TopicTail } from './support/topic-tail.js';

interface Run {
  prefix: string;
  events: string;
  receiver: Receiver;
  tail: TopicTail | null;
  router: RunningRouter | null;
  dir: { remove(): void } | null;
}

let run: Run;

/** The parts of a `traceparent` header; fails the test when it is not one. */
function parts(header: string | string[] | null | undefined): { traceId: string; spanId: string; flags: string } {
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(String(header));
  expect(m, `a valid traceparent: ${String(header)}`).not.toBeNull();
  return { traceId: m![1]!, spanId: m![2]!, flags: m![3]! };
}

async function replica(): Promise<RunningRouter> {
  const dir = tempDir('kcr-cluster-trace-');
  run.dir = dir;
  run.router = await startTestRouter(
    {
      profiles: { default: {} },
      kafka: { topics: { events: run.events } },
      webhooks: { crm: { url: run.receiver.url, retry: { initialDelayMs: 20, maxDelayMs: 100, maxAttempts: 5 } } },
      rules: [{ name: 'all', to: ['kafka:events', 'webhook:crm'] }],
    },
    { dataDir: dir.path, env: { ROUTER_MODE: 'cluster', CLUSTER_PREFIX: run.prefix, CLUSTER_PARTITIONS: '4', CLUSTER_SESSION_TIMEOUT_MS: '6000', INTAKE_ACK_TIMEOUT_MS: '5000' } },
  );
  return run.router;
}

async function callback(router: RunningRouter, headers: Record<string, string>): Promise<{ res: Response; eventId: string }> {
  const id = `${randomUUID()}:1`;
  const res = await fetch(`${router.url}/callbacks/default`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(postSample({ id: `req-${id}`, message_id: id })),
  });
  const body = (await res.json()) as { event_id: string };
  expect(res.status, JSON.stringify(body)).toBe(200);
  return { res, eventId: body.event_id };
}

beforeEach(async () => {
  kafkaBrokers(); // fails (not skips) without a broker
  const prefix = `kcr-trace-${randomBytes(4).toString('hex')}`;
  const first = new Set<string>();
  // Each event's first request is answered 503: its retry must be a new span of the same trace.
  const receiver = await startReceiver((_n, r) => {
    const id = r.json.data.event_id;
    if (first.has(id)) return 200;
    first.add(id);
    return 503;
  });
  run = { prefix, events: `${prefix}.events`, receiver, tail: null, router: null, dir: null };
});

afterEach(async () => {
  await run.router?.close();
  await run.tail?.stop();
  await run.receiver.close();
  run.dir?.remove();
});

describe('trace context in cluster mode', () => {
  it("a callback's traceparent reaches the output topic and every webhook attempt: the caller's trace id, a new span id each", async () => {
    const router = await replica();
    run.tail = await tailTopics([run.events]);
    const caller = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
    const { res, eventId } = await callback(router, { traceparent: `00-${caller.traceId}-${caller.spanId}-01`, tracestate: 'vendor=abc' });
    const ours = parts(res.headers.get('traceparent'));
    expect(ours.traceId).toBe(caller.traceId);

    const records = await run.tail.until((m) => m.some((r) => r.json.event_id === eventId), 60_000);
    const record = records.find((r) => r.json.event_id === eventId)!;
    expect(await waitFor(() => run.receiver.received.filter((r) => r.json.data.event_id === eventId).length >= 2, 30_000)).toBe(true);
    const attempts = run.receiver.received.filter((r) => r.json.data.event_id === eventId);

    const inKafka = parts(record.headers.traceparent);
    const inWebhook = attempts.map((a) => parts(a.headers.traceparent));
    for (const t of [inKafka, ...inWebhook]) expect(t).toMatchObject({ traceId: caller.traceId, flags: '01' });
    // The caller's span, ours (the callback), the output record's and each webhook attempt's: all different.
    const spans = [caller.spanId, ours.spanId, inKafka.spanId, ...inWebhook.map((t) => t.spanId)];
    expect(new Set(spans).size).toBe(spans.length);
    expect(record.headers.tracestate).toBe('vendor=abc');
    expect(attempts.map((a) => a.headers.tracestate)).toEqual(attempts.map(() => 'vendor=abc'));
  });

  it('a callback without a traceparent starts a trace at the edge, and its deliveries carry that trace on', async () => {
    const router = await replica();
    run.tail = await tailTopics([run.events]);
    const { res, eventId } = await callback(router, {});
    const ours = parts(res.headers.get('traceparent'));

    const records = await run.tail.until((m) => m.some((r) => r.json.event_id === eventId), 60_000);
    const record = records.find((r) => r.json.event_id === eventId)!;
    expect(await waitFor(() => run.receiver.received.some((r) => r.json.data.event_id === eventId), 30_000)).toBe(true);
    const request = run.receiver.received.find((r) => r.json.data.event_id === eventId)!;
    expect(parts(record.headers.traceparent).traceId).toBe(ours.traceId);
    expect(parts(request.headers.traceparent).traceId).toBe(ours.traceId);
    expect(record.headers.tracestate).toBeUndefined();
  });
});
