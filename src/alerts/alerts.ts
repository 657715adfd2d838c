/**
 * The router's operational alerts: what the dispatchers observe (dead letters, disabled
 * destinations, circuits), the spool's commits failing and recovering, and each destination's
 * oldest pending delivery, checked every few seconds against a threshold. Each becomes an alert
 * for the alert webhook (see sender.ts) and a gauge in /metrics, which the Prometheus rules in
 * deploy/prometheus/alerts.yml watch. The gauges are there whether or not a webhook is set.
 */
import { hostname } from 'node:os';
import type { DeliveryObserver } from '../dispatch/worker.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { redactText } from '../redact.js';
import type { CompiledAlerts } from '../route/compile.js';
import type { Alert } from './alert.js';
import { AlertSender, type AlertSenderOptions } from './sender.js';

/** Where deliveries wait: the spool's queue, the cluster outbox. Each lookup must be cheap (an index, not a scan). */
export interface DeliverySource {
  /** The destinations delivered from here. */
  destinations(): Iterable<string>;
  /** When the destination's oldest pending delivery was accepted (ms epoch), or null when none is pending. */
  oldestPendingAt(destination: string): number | null;
  disabledDestinations(): ReadonlyMap<string, unknown>;
}

export interface OperationalAlertsOptions {
  metrics: Metrics;
  logger: Logger;
  /** Added to the host name and pid in every alert's `router`: mode, role. */
  identity?: Record<string, unknown>;
  /** The spool's group commit: it says when commits start failing and when they succeed again. */
  commits: { onFailingChange(listener: (failing: boolean, error: string | null) => void): () => void };
  /** The sender's queue size and retries (tests pass fast ones). */
  sender?: Pick<AlertSenderOptions, 'maxQueue' | 'retry'>;
}

export class OperationalAlerts {
  /** Pass it in `observers` wherever a Dispatcher is made. */
  readonly observer: DeliveryObserver;
  readonly sender: AlertSender;
  private cfg: CompiledAlerts | null = null;
  private readonly sources: DeliverySource[] = [];
  /** Destinations whose circuit is open, as the dispatchers said. */
  private readonly openCircuits = new Set<string>();
  /** Destinations alerted for their oldest pending delivery and not resolved yet. */
  private readonly overdue = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private readonly unsubscribe: () => void;

  constructor(private readonly opts: OperationalAlertsOptions) {
    this.sender = new AlertSender({ ...opts.sender, metrics: opts.metrics, logger: opts.logger, identity: { host: hostname(), pid: process.pid, ...opts.identity } });
    this.observer = this.makeObserver();
    this.unsubscribe = opts.commits.onFailingChange((failing, error) =>
      this.raise(
        failing
          ? { type: 'spool.commit_failing', destination: null, summary: 'the spool cannot commit: callbacks are answered 503 and /readyz is 503', details: { error: redactText(error ?? 'unknown') } }
          : { type: 'spool.commit_recovered', destination: null, summary: 'the spool commits again: callbacks are accepted', details: {} },
      ),
    );
    this.defineMetrics();
  }

  /**
   * The alert webhook from now on: at start-up and when routes.config.ts is reloaded; null
   * (none configured, or switched off) sends nothing.
   * @example alerts.configure(compileRoutes(config).alerts)
   */
  configure(cfg: CompiledAlerts | null): void {
    this.cfg = cfg;
    this.sender.configure(cfg);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (!cfg) return;
    this.timer = setInterval(() => this.check(), cfg.checkEveryMs);
    this.timer.unref();
  }

  /** Watches where deliveries wait: for the oldest-pending check and the gauges. */
  watch(source: DeliverySource): void {
    this.sources.push(source);
  }

  /**
   * Looks at each destination's oldest pending delivery: alerts once it is older than the
   * threshold, and says when it is back under. Runs every `checkEvery`; tests may call it.
   */
  check(now = Date.now()): void {
    const cfg = this.cfg;
    if (!cfg) return;
    try {
      // One destination can wait in two places (cluster mode: the spool and the outbox): the older counts.
      const oldest = new Map<string, number | null>();
      for (const source of this.sources) {
        for (const d of source.destinations()) {
          const at = source.oldestPendingAt(d);
          const seen = oldest.get(d) ?? null;
          oldest.set(d, at === null || (seen !== null && seen < at) ? seen : at);
        }
      }
      for (const [destination, at] of oldest) {
        const ageMs = at === null ? 0 : Math.max(0, now - at);
        if (ageMs > cfg.oldestPendingMs && !this.overdue.has(destination)) {
          this.overdue.add(destination);
          const details = { age_seconds: Math.round(ageMs / 1000), threshold_seconds: cfg.oldestPendingMs / 1000, pending_since: new Date(at!).toISOString() };
          this.raise({ type: 'deliveries.oldest_pending', destination, summary: `the oldest pending delivery to ${destination} has waited ${formatAge(ageMs)}`, details });
        } else if (ageMs <= cfg.oldestPendingMs && this.overdue.has(destination)) {
          this.resolveOverdue(destination, ageMs);
        }
      }
      // A destination reloaded away: nothing will resolve it otherwise.
      for (const destination of this.overdue) if (!oldest.has(destination)) this.resolveOverdue(destination, null);
    } catch (err) {
      this.opts.logger.warn('oldest pending check failed', { error: errorMessage(err) });
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe();
    await this.sender.close();
  }

  private resolveOverdue(destination: string, ageMs: number | null): void {
    this.overdue.delete(destination);
    const summary = ageMs === null ? `${destination} is no longer configured` : `the oldest pending delivery to ${destination} is back under the threshold`;
    this.raise({ type: 'deliveries.oldest_pending_resolved', destination, summary, details: { age_seconds: ageMs === null ? null : Math.round(ageMs / 1000) } });
  }

  private raise(alert: Omit<Alert, 'at'>): void {
    this.sender.send({ ...alert, at: Date.now() });
  }

  private makeObserver(): DeliveryObserver {
    return {
      dead: (destination, delivery, code, error) =>
        this.raise({
          type: 'delivery.dead_lettered',
          destination,
          summary: `a delivery to ${destination} was dead-lettered (${code})`,
          details: { event_id: delivery.eventId, message_key: delivery.messageKey, event_type: delivery.type, attempts: delivery.attempts + 1, code, error },
        }),
      disabled: (destination, reason) =>
        this.raise({ type: 'destination.disabled', destination, summary: `${destination} was disabled; its deliveries are dead-lettered until it is enabled again`, details: { reason } }),
      circuit: (destination, open, consecutiveFailures) => {
        if (open) this.openCircuits.add(destination);
        else this.openCircuits.delete(destination);
        this.raise({
          type: open ? 'destination.circuit_opened' : 'destination.circuit_closed',
          destination,
          summary: open ? `the circuit of ${destination} opened after ${consecutiveFailures} failed batches in a row` : `the circuit of ${destination} closed: deliveries get through again`,
          details: { consecutive_failures: consecutiveFailures },
        });
      },
    };
  }

  /** Gauges read at scrape time from index lookups and memory: scraping never scans the deliveries. */
  private defineMetrics(): void {
    const { metrics } = this.opts;
    metrics.define('destinations_disabled_total', 'Destinations disabled (a webhook answered 410 Gone).', ['destination']);
    metrics.gauge('deliveries_oldest_pending_seconds', 'Age of the oldest pending delivery per destination (0: none pending).', () => {
      const now = Date.now();
      return this.perDestination((source, d) => {
        const at = source.oldestPendingAt(d);
        return at === null ? 0 : Math.max(0, now - at) / 1000;
      });
    });
    metrics.gauge('destination_circuit_open', '1 while the destination\'s circuit is open (failing batches in a row: deliveries paused).', () => {
      const rows = this.perDestination((_, d) => (this.openCircuits.has(d) ? 1 : 0));
      const shown = new Set(rows.map(([l]) => l.destination));
      // Circuits of destinations no source lists (the cluster outbox's webhooks).
      for (const d of this.openCircuits) if (!shown.has(d)) rows.push([{ destination: d }, 1]);
      return rows;
    });
    metrics.gauge('destination_disabled', '1 while the destination is disabled (it answered 410 Gone; `enable` switches it back on).', () => {
      const disabled = new Map(this.sources.map((s) => [s, s.disabledDestinations()]));
      return this.perDestination((source, d) => (disabled.get(source)!.has(d) ? 1 : 0));
    });
  }

  private perDestination(value: (source: DeliverySource, destination: string) => number): [Record<string, string>, number][] {
    const rows = new Map<string, number>();
    for (const source of this.sources) for (const d of source.destinations()) rows.set(d, Math.max(rows.get(d) ?? 0, value(source, d)));
    return [...rows].map(([destination, v]) => [{ destination }, v]);
  }
}

/** @example formatAge(90_000) // '1m 30s' */
export function formatAge(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

/**
 * A queue (the spool's, the cluster outbox's) as a source of the oldest-pending check, over the
 * destinations a dispatcher delivers from it.
 * @example alerts.watch(queueSource(spool.queue, () => Object.keys(dispatcher.status())))
 */
export function queueSource(
  queue: { disabledDestinations(): ReadonlyMap<string, unknown> } & ({ oldestPendingAt(d: string): number | null } | { oldestFirstAt(d: string): number | null }),
  destinations: () => Iterable<string>,
): DeliverySource {
  return {
    destinations,
    oldestPendingAt: (d) => ('oldestPendingAt' in queue ? queue.oldestPendingAt(d) : queue.oldestFirstAt(d)),
    disabledDestinations: () => queue.disabledDestinations(),
  };
}
