/** Liveness, readiness and the Prometheus metrics: what an orchestrator and a scraper ask. */
import { Hono } from 'hono';

/** What readiness asks of the store's commits (the spool's `commits` is one). */
export interface CommitHealth {
  /** Whether a commit can succeed now (it tries one). */
  writable(): boolean;
  /** Why the last commit failed, or null. */
  readonly lastError: string | null;
}

/** Destinations turned off (a webhook answered 410), with when and why (the spool's `queue`). */
export interface DisabledDestinations {
  disabledDestinations(): ReadonlyMap<string, { disabledAt: number; reason: string }>;
}

/** The per-destination circuits (the dispatcher is one). */
export interface DeliveryStatus {
  status(): Record<string, unknown>;
  /** Destinations no longer configured (a reload removed them) whose pending deliveries are kept. */
  orphaned?(): string[];
}

/** Cluster mode's own figures (role, where the edge sends callbacks, partitions owned). */
export interface ClusterStatus {
  status(): Record<string, unknown>;
  /** Callbacks reach the intake topic without the local spool now (so a spool that cannot commit is not fatal). */
  kafkaAccepts(): boolean;
}

export interface HealthDeps {
  commits: CommitHealth;
  destinations: DisabledDestinations;
  /** The Prometheus exposition (prom-client's text) and its content type. */
  metrics: { render(): Promise<string> | string; readonly contentType?: string };
  dispatcher?: DeliveryStatus;
  /** False while shutting down: /readyz answers 503. */
  accepting?: () => boolean;
  cluster?: ClusterStatus;
}

/**
 * GET /healthz, /readyz and /metrics. Ready means accepting and able to commit: a callback
 * answered 200 must be on disk, so a store that cannot commit makes the router unready.
 * @example app.route('/', healthRoutes({ commits: spool.commits, destinations: spool.queue, metrics, dispatcher }))
 */
export function healthRoutes({ commits, destinations, metrics, dispatcher, accepting, cluster }: HealthDeps): Hono {
  const health = new Hono();
  health.get('/healthz', (c) => c.json({ status: 'ok' }));
  health.get('/readyz', (c) => {
    const open = accepting?.() ?? true;
    // In cluster mode the spool is the fallback: unready only when neither Kafka nor it can take callbacks.
    const storeOk = commits.writable() || (cluster?.kafkaAccepts() ?? false);
    const body = {
      status: open && storeOk ? 'ready' : 'unavailable',
      accepting: open,
      store: storeOk ? 'ok' : `cannot commit: ${commits.lastError ?? 'not writable'}`,
      destinations: dispatcher?.status() ?? {},
      // Said, not a reason to be unready: they wait until a config names their destination again.
      ...(dispatcher?.orphaned?.().length ? { pending_for_unconfigured: dispatcher.orphaned() } : {}),
      disabled_destinations: Object.fromEntries(destinations.disabledDestinations()),
      ...(cluster ? { cluster: cluster.status() } : {}),
    };
    return c.json(body, open && storeOk ? 200 : 503);
  });
  health.get('/metrics', async (c) => c.text(await metrics.render(), 200, { 'content-type': metrics.contentType ?? 'text/plain; version=0.0.4; charset=utf-8' }));
  return health;
}
