import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, silentLogger } from '../log.js';
import { startReceiver, type Receiver } from '../testing/receiver.js';
import { otlpFromEnv, otlpRequest, OtlpExporter } from './otlp.js';
import type { FinishedSpan } from './spans.js';

const SPAN: FinishedSpan = {
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: '00f067aa0ba902b7',
  parentId: 'b7ad6b7169203331',
  name: 'deliver webhook:crm',
  kind: 'client',
  startMs: 1_700_000_000_000,
  endMs: 1_700_000_000_250,
  error: false,
  attributes: { 'kcr.destination': 'webhook:crm', 'kcr.attempt': 1, 'kcr.ratio': 0.5, 'kcr.retried': false },
};

describe('otlpFromEnv', () => {
  it.each<[string, Record<string, string>, string | null]>([
    ['off by default', {}, null],
    ['the base endpoint gets /v1/traces', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }, 'http://collector:4318/v1/traces'],
    ['the traces endpoint is used as is', { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/custom' }, 'http://c:4318/custom'],
    ['OTEL_TRACES_EXPORTER=otlp alone: the local collector', { OTEL_TRACES_EXPORTER: 'otlp' }, 'http://localhost:4318/v1/traces'],
    ['OTEL_TRACES_EXPORTER=none wins', { OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }, null],
  ])('%s', (_what, env, url) => {
    const exporter = otlpFromEnv(env, silentLogger);
    expect(exporter ? (exporter as unknown as { opts: { url: string } }).opts.url : null).toBe(url);
    void exporter?.shutdown();
  });
});

describe('otlpRequest', () => {
  it('encodes spans as OTLP JSON: hex ids, nanosecond strings, typed attributes', () => {
    const body = otlpRequest([SPAN], 'kcr-test');
    expect(body.resourceSpans[0]!.resource.attributes).toEqual([{ key: 'service.name', value: { stringValue: 'kcr-test' } }]);
    expect(body.resourceSpans[0]!.scopeSpans[0]!.spans[0]).toEqual({
      traceId: SPAN.traceId,
      spanId: SPAN.spanId,
      parentSpanId: SPAN.parentId,
      name: 'deliver webhook:crm',
      kind: 3,
      startTimeUnixNano: '1700000000000000000',
      endTimeUnixNano: '1700000000250000000',
      attributes: [
        { key: 'kcr.destination', value: { stringValue: 'webhook:crm' } },
        { key: 'kcr.attempt', value: { intValue: '1' } },
        { key: 'kcr.ratio', value: { doubleValue: 0.5 } },
        { key: 'kcr.retried', value: { boolValue: false } },
      ],
      status: { code: 1 },
    });
  });
});

describe('OtlpExporter', () => {
  let collector: Receiver | null = null;
  afterEach(async () => {
    await collector?.close();
  });

  it('POSTs buffered spans to a real collector with the configured headers, and sends the rest on shutdown', async () => {
    collector = await startReceiver();
    const exporter = new OtlpExporter({ url: `${collector.url}/v1/traces`, headers: { 'x-tenant': 'kcr' }, logger: silentLogger, flushMs: 60_000 });
    exporter.add(SPAN);
    exporter.add({ ...SPAN, spanId: 'aaaaaaaaaaaaaaaa' });
    await exporter.shutdown();
    expect(collector.received).toHaveLength(1);
    expect(collector.received[0]!.headers).toMatchObject({ 'content-type': 'application/json', 'x-tenant': 'kcr' });
    const sent = JSON.parse(collector.received[0]!.body) as ReturnType<typeof otlpRequest>;
    expect(sent.resourceSpans[0]!.scopeSpans[0]!.spans.map((s) => s.spanId)).toEqual([SPAN.spanId, 'aaaaaaaaaaaaaaaa']);
  });

  it('a collector that is down costs the spans, never a throw', async () => {
    const lines: string[] = [];
    const exporter = new OtlpExporter({ url: 'http://127.0.0.1:9/v1/traces', logger: createLogger('warn', (l) => lines.push(l)), flushMs: 60_000, timeoutMs: 2_000 });
    exporter.add(SPAN);
    await expect(exporter.shutdown()).resolves.toBeUndefined();
    expect(lines.join('')).toContain('trace export failed');
  });
});
