/**
 * Sends operational alerts to the alert webhook, in the background: a bounded in-memory queue
 * (the oldest dropped past its size, and counted), the throttle in front of it, retries with
 * backoff and a timeout per request. `send` never blocks and never throws: an alert must not
 * delay or fail the callback or delivery that raised it. Trouble with the alert webhook itself
 * is only logged (and counted), never alerted.
 */
import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { standardWebhookHeaders } from '../destinations/webhook.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { redactText, redactUrl } from '../redact.js';
import { backoffMs, DEFAULT_RETRY_POLICY } from '../retry/policy.js';
import type { CompiledAlerts } from '../route/compile.js';
import { ALERT_TYPES, alertKey, type Alert } from './alert.js';
import { Throttle } from './throttle.js';

export interface AlertSenderOptions {
  metrics: Metrics;
  logger: Logger;
  /** Who is speaking: host, pid, mode, role; sent in every alert as `router`. */
  identity: Record<string, unknown>;
  /** Alerts waiting at most; past it the oldest is dropped. Default 1,000. */
  maxQueue?: number;
  /** Tries per alert, and the backoff between them; default 5 tries, 1 s doubling up to 30 s. */
  retry?: { attempts: number; initialDelayMs: number; maxDelayMs: number };
  now?: () => number;
}

/** An alert ready to go: its id (the same on every try: receivers de-duplicate on it) and body. */
interface Queued {
  id: string;
  type: Alert['type'];
  body: string;
  tries: number;
}

export class AlertSender {
  private cfg: CompiledAlerts | null = null;
  private signer: Webhook | null = null;
  private readonly throttle = new Throttle<Alert>(60_000);
  private readonly queue: Queued[] = [];
  private inFlight: Queued | null = null;
  private pumping: Promise<void> | null = null;
  private releaseTimer: NodeJS.Timeout | null = null;
  private readonly abort = new AbortController();
  private closed = false;
  private dropped = 0;
  private readonly maxQueue: number;
  private readonly retry: { attempts: number; initialDelayMs: number; maxDelayMs: number };
  private readonly now: () => number;

  constructor(private readonly opts: AlertSenderOptions) {
    this.maxQueue = opts.maxQueue ?? 1_000;
    this.retry = opts.retry ?? { attempts: 5, initialDelayMs: 1_000, maxDelayMs: 30_000 };
    this.now = opts.now ?? Date.now;
    opts.metrics.define('alerts_sent_total', 'Operational alerts the alert webhook accepted (2xx), by type.', ['type']);
    opts.metrics.define('alerts_failed_total', 'Operational alerts given up after every try (the alert webhook down or refusing).', []);
    opts.metrics.define('alerts_dropped_total', 'Operational alerts dropped unsent because the queue was full (the oldest go first).', []);
  }

  /** The alert webhook to use from now on (a reloaded config); null: send nothing, drop what waits. */
  configure(cfg: CompiledAlerts | null): void {
    this.cfg = cfg;
    this.signer = cfg?.secret ? new Webhook(cfg.secret) : null;
    if (cfg) this.throttle.windowMs = cfg.repeatAfterMs;
    else this.queue.splice(this.inFlight ? 1 : 0);
  }

  /**
   * Queues an alert (or holds it, throttled); returns at once. Without an alert webhook it is
   * dropped: the logs and /metrics already say what happened.
   * @example sender.send({ type: 'spool.commit_failing', destination: null, summary: 'disk full', details: {}, at: Date.now() })
   */
  send(alert: Alert): void {
    if (!this.cfg || this.closed) return;
    try {
      const now = this.now();
      for (const r of this.throttle.release(now)) this.enqueue(r.item, r.suppressed);
      const go = this.throttle.offer(alertKey(alert), alert, now);
      if (go) this.enqueue(go.item, go.suppressed);
      this.scheduleRelease();
    } catch (err) {
      this.opts.logger.warn('alert not queued', { type: alert.type, error: errorMessage(err) });
    }
  }

  /** Alerts waiting to be sent (the one in flight included). */
  depth(): number {
    return this.queue.length;
  }

  /** Resolves when nothing waits to be sent, or after `deadlineMs`. */
  async idle(deadlineMs: number): Promise<void> {
    if (this.pumping) await Promise.race([this.pumping, pause(deadlineMs)]);
  }

  /** Stops sending; what still waits is logged as lost, not sent. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.releaseTimer) clearTimeout(this.releaseTimer);
    this.abort.abort();
    await this.pumping?.catch(() => undefined);
    if (this.queue.length > 0) this.opts.logger.warn('alerts not sent at shutdown', { alerts: this.queue.length });
  }

  private enqueue(alert: Alert, suppressed: number): void {
    const body = JSON.stringify({
      type: alert.type,
      timestamp: new Date(alert.at).toISOString(),
      severity: ALERT_TYPES[alert.type].severity,
      destination: alert.destination,
      summary: alert.summary,
      router: this.opts.identity,
      data: { ...alert.details, suppressed },
    });
    this.queue.push({ id: `alert_${randomUUID()}`, type: alert.type, body, tries: 0 });
    if (this.queue.length > this.maxQueue) {
      // Never the one in flight: its outcome is still to be counted.
      this.queue.splice(this.queue[0] === this.inFlight ? 1 : 0, 1);
      this.dropped++;
      this.opts.metrics.inc('alerts_dropped_total');
      // Once per 100 drops: the log must not become the flood the throttle prevents.
      if (this.dropped % 100 === 1) this.opts.logger.warn('alert queue full: oldest alerts dropped', { dropped: this.dropped, max: this.maxQueue });
    }
    this.pumping ??= this.pump().finally(() => (this.pumping = null));
  }

  /** Held alerts go out when their window ends, even if nothing else happens meanwhile. */
  private scheduleRelease(): void {
    if (this.releaseTimer) clearTimeout(this.releaseTimer);
    this.releaseTimer = null;
    const at = this.throttle.nextReleaseAt();
    if (at === null || this.closed) return;
    this.releaseTimer = setTimeout(() => {
      this.releaseTimer = null;
      if (!this.cfg || this.closed) return;
      for (const r of this.throttle.release(this.now())) this.enqueue(r.item, r.suppressed);
      this.scheduleRelease();
    }, Math.max(0, at - this.now()));
    this.releaseTimer.unref();
  }

  /** One alert at a time, in order; a failed try waits its backoff before the next. */
  private async pump(): Promise<void> {
    while (!this.closed && this.cfg && this.queue.length > 0) {
      const head = this.queue[0]!;
      this.inFlight = head;
      const error = await this.post(head, this.cfg);
      this.inFlight = null;
      if (this.closed) return;
      if (error === null) {
        this.remove(head);
        this.opts.metrics.inc('alerts_sent_total', { type: head.type });
        continue;
      }
      head.tries++;
      if (head.tries >= this.retry.attempts) {
        this.remove(head);
        this.opts.metrics.inc('alerts_failed_total');
        this.opts.logger.error('alert not delivered to the alert webhook', { type: head.type, id: head.id, tries: head.tries, error });
        continue;
      }
      await pause(backoffMs({ ...DEFAULT_RETRY_POLICY, ...this.retry, multiplier: 2 }, head.tries), this.abort.signal);
    }
  }

  private remove(q: Queued): void {
    const i = this.queue.indexOf(q);
    if (i >= 0) this.queue.splice(i, 1);
  }

  /** One try; null when the webhook answered 2xx, else what went wrong (secrets redacted). */
  private async post(q: Queued, cfg: CompiledAlerts): Promise<string | null> {
    const shown = redactUrl(cfg.url);
    try {
      const res = await fetch(cfg.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'kaleyra-callback-router',
          ...cfg.headers,
          ...standardWebhookHeaders(this.signer, q.id, new Date(), q.body),
        },
        body: q.body,
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(cfg.timeoutMs)]),
        redirect: 'manual',
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.ok ? null : `POST ${shown} answered ${res.status}`;
    } catch (err) {
      const timeout = err instanceof Error && err.name === 'TimeoutError';
      return `POST ${shown}: ${timeout ? 'timed out' : redactText(describe(err))}`;
    }
  }
}

function describe(err: unknown): string {
  const cause = (err as { cause?: { code?: string } } | null)?.cause;
  return cause?.code ?? errorMessage(err);
}

/** Resolves after `ms`, or at once when `signal` aborts; never keeps the process alive. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    t.unref();
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
