/**
 * A small OTLP/HTTP JSON span exporter (https://opentelemetry.io/docs/specs/otlp/#otlphttp),
 * used instead of the OpenTelemetry SDK: the router makes two kinds of span itself and needs
 * none of the SDK's context machinery, and this keeps a dozen packages out of the image. Spans
 * are buffered and POSTed to `<endpoint>/v1/traces` every second (or at 512); a collector that
 * is down costs the spans of that moment, never a callback or a delivery.
 *
 * Off unless the standard variables ask for it: OTEL_EXPORTER_OTLP_ENDPOINT (or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, used as is), or OTEL_TRACES_EXPORTER=otlp (then
 * http://localhost:4318); OTEL_TRACES_EXPORTER=none turns it off whatever else is set.
 * OTEL_EXPORTER_OTLP_HEADERS (`k=v,k=v`) and OTEL_SERVICE_NAME are honoured.
 */
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { redactUrl } from '../redact.js';
import type { FinishedSpan, SpanSink } from './spans.js';

export interface OtlpOptions {
  /** The full traces URL (`http://collector:4318/v1/traces`). */
  url: string;
  headers?: Record<string, string>;
  serviceName?: string;
  logger: Logger;
  /** Default 1000 ms. */
  flushMs?: number;
  /** Spans per request; default 512. Past 8 times this, new spans are dropped until a send. */
  batchSize?: number;
  timeoutMs?: number;
}

const KIND = { server: 2, client: 3 } as const;

export class OtlpExporter implements SpanSink {
  private buffer: FinishedSpan[] = [];
  private sending: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private warned = false;
  private readonly batchSize: number;

  constructor(private readonly opts: OtlpOptions) {
    this.batchSize = opts.batchSize ?? 512;
    this.timer = setInterval(() => void this.flush(), opts.flushMs ?? 1_000);
    this.timer.unref();
  }

  add(span: FinishedSpan): void {
    if (this.buffer.length >= this.batchSize * 8) return;
    this.buffer.push(span);
    if (this.buffer.length >= this.batchSize) void this.flush();
  }

  /** Sends what is buffered now; resolves once this and earlier sends are done. */
  flush(): Promise<void> {
    const spans = this.buffer.splice(0, this.buffer.length);
    if (spans.length > 0) this.sending = this.sending.then(() => this.send(spans));
    return this.sending;
  }

  async shutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private async send(spans: FinishedSpan[]): Promise<void> {
    for (let i = 0; i < spans.length; i += this.batchSize) {
      try {
        const res = await fetch(this.opts.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...this.opts.headers },
          body: JSON.stringify(otlpRequest(spans.slice(i, i + this.batchSize), this.opts.serviceName ?? 'kaleyra-callback-router')),
          signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (!res.ok) throw new Error(`answered ${res.status}`);
        this.warned = false;
      } catch (err) {
        // Once per outage: a collector that is down must not flood the logs.
        if (!this.warned) this.opts.logger.warn('trace export failed; spans dropped', { url: redactUrl(this.opts.url), error: errorMessage(err) });
        this.warned = true;
      }
    }
  }
}

/**
 * The ExportTraceServiceRequest of some spans, in OTLP's JSON encoding (ids in hex, times in
 * nanoseconds as strings).
 * @example otlpRequest([span], 'kcr').resourceSpans[0].scopeSpans[0].spans[0].traceId === span.traceId
 */
export function otlpRequest(spans: readonly FinishedSpan[], serviceName: string) {
  return {
    resourceSpans: [
      {
        resource: { attributes: [attribute('service.name', serviceName)] },
        scopeSpans: [
          {
            scope: { name: 'kaleyra-callback-router' },
            spans: spans.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentId ? { parentSpanId: s.parentId } : {}),
              name: s.name,
              kind: KIND[s.kind],
              startTimeUnixNano: `${BigInt(Math.round(s.startMs)) * 1_000_000n}`,
              endTimeUnixNano: `${BigInt(Math.round(s.endMs)) * 1_000_000n}`,
              attributes: Object.entries(s.attributes).map(([k, v]) => attribute(k, v)),
              status: { code: s.error ? 2 : 1 },
            })),
          },
        ],
      },
    ],
  };
}

function attribute(key: string, value: string | number | boolean) {
  if (typeof value === 'boolean') return { key, value: { boolValue: value } };
  if (typeof value === 'number') return { key, value: Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value } };
  return { key, value: { stringValue: value } };
}

/** The spec percent-encodes header values; a stray `%` is kept as it is. */
function safeDecode(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

/**
 * The exporter the environment asks for, or null (the default: no export).
 * @example otlpFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, logger)?.add(span)
 */
export function otlpFromEnv(env: NodeJS.ProcessEnv, logger: Logger): OtlpExporter | null {
  const exporter = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase();
  if (exporter === 'none') return null;
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || (exporter === 'otlp' ? 'http://localhost:4318' : '');
  const url = traces || (base ? `${base.replace(/\/+$/, '')}/v1/traces` : '');
  if (!url) return null;
  const headers = Object.fromEntries(
    (env.OTEL_EXPORTER_OTLP_HEADERS ?? '')
      .split(',')
      .map((kv) => kv.split('='))
      .filter((kv) => kv.length >= 2 && kv[0]!.trim())
      .map(([k, ...v]) => [k!.trim(), safeDecode(v.join('=').trim())]),
  );
  return new OtlpExporter({ url, headers, serviceName: env.OTEL_SERVICE_NAME?.trim() || undefined, logger });
}
