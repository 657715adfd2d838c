/**
 * The HTTP edge, composed. `createApp` builds the Hono app and never listens (server.ts does),
 * so tests call `app.request(...)` directly. Each part asks only for what it uses; this is the
 * one place that knows they share a store, a logger and the metrics.
 */
import { Hono } from 'hono';
import { Intake, type IntakeDeps } from '../ingest/intake.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { httpMetrics } from '../metrics/http.js';
import type { CompiledConfig } from '../route/compile.js';
import { configSource, liveMap, type ConfigSource } from '../route/live-config.js';
import { traceCallbacks, type SpanSink } from '../trace/spans.js';
import { consoleRoutes } from '../console/console.js';
import { ConsoleSessions } from '../console/session.js';
import { createOperations } from '../ops/operations.js';
import type { Spool } from '../spool/spool.js';
import { adminRoutes, type AdminDeps } from './admin.js';
import { callbackRoutes, type CallbackIntake } from './callbacks.js';
import { onError } from './errors.js';
import { healthRoutes, type ClusterStatus, type CommitHealth, type DeliveryStatus, type DisabledDestinations } from './health.js';
import { RefusedSample, refusal, type RejectedSink } from './refused.js';

/**
 * The store's parts the app's own routes use (a Spool has them all): readiness asks `commits`
 * whether it can commit and `queue` what is disabled; refused payloads go to `rejected`.
 */
export interface AppStore {
  commits: CommitHealth;
  queue: DisabledDestinations;
  rejected: RejectedSink;
}

export interface AppDeps {
  /** The config, or the running router's holder of it: each request reads it once. */
  config: CompiledConfig | ConfigSource<CompiledConfig>;
  /** Also whatever the default intake and the admin API declare they use. */
  spool: AppStore & IntakeDeps['spool'] & AdminDeps['spool'];
  logger: Logger;
  metrics: Metrics;
  /** Its circuits show in /readyz; the admin API wakes it after a replay. */
  dispatcher?: DeliveryStatus & NonNullable<AdminDeps['dispatcher']>;
  /** Largest accepted body; default 256 KiB. */
  maxBodyBytes?: number;
  /** Zone of zone-less sent_time when the profile sets none; null or unset: kept local. */
  sentTimeZone?: string | null;
  /** The accept step; built from the deps above when not given. */
  intake?: CallbackIntake & NonNullable<AdminDeps['intake']>;
  /** Where refused-but-unstored callbacks are noted; one is made when not given. */
  refused?: RefusedSample;
  /** Bearer token for /admin; unset disables the admin API. */
  adminToken?: string;
  /** False while shutting down: /readyz answers 503. */
  accepting?: () => boolean;
  /** False on a cluster replica with --role deliver: it takes no callbacks. Default true. */
  ingest?: boolean;
  /** Reloads routes.config.ts for POST /admin/config/reload (the router's Reloader). */
  reloader?: AdminDeps['reloader'];
  /** Cluster mode: its state shows in /readyz. */
  cluster?: ClusterStatus;
  /** Where callback spans go when trace export is on (OTEL_EXPORTER_OTLP_ENDPOINT); null: off. */
  spans?: SpanSink | null;
  /** The router's own spool, which the console reads; absent: no console (it is off without ADMIN_TOKEN too). */
  local?: Spool;
}

/**
 * The router's HTTP app: callbacks, health, admin, and one error handler for all of them.
 * @example const app = createApp({ config, spool, logger, metrics, intake, dispatcher });
 */
export function createApp(deps: AppDeps): Hono {
  const { spool, logger, metrics, dispatcher, accepting } = deps;
  const config = configSource(deps.config);
  // Each lookup reads the config of the moment; a callback looks its profile up once, and that
  // profile (its auth, its field map) serves the whole request even if a reload lands meanwhile.
  const profiles = liveMap(() => config.current.profiles);
  const destinations = liveMap(() => config.current.destinations);
  const intake = deps.intake ?? new Intake({ config, spool, metrics, logger, sentTimeZone: deps.sentTimeZone ?? null });
  const refused = deps.refused ?? new RefusedSample();
  const refuse = refusal({ profiles, rejected: spool.rejected, refused, metrics, logger });
  const app = new Hono();
  app.use('*', httpMetrics(metrics));
  // Every callback gets a trace context (its caller's, or a new trace) that the spool stores with it.
  app.use('/callbacks/*', traceCallbacks(deps.spans ?? null));

  if (deps.ingest ?? true) {
    app.route('/callbacks', callbackRoutes({ profiles, intake, refuse, metrics, maxBodyBytes: deps.maxBodyBytes ?? 256 * 1024 }));
  } else {
    app.all('/callbacks/*', (c) => c.json({ error: 'not_ingest', message: 'this replica runs with --role deliver and takes no callbacks' }, 404));
  }
  app.route('/', healthRoutes({ commits: spool.commits, destinations: spool.queue, metrics, dispatcher, accepting, cluster: deps.cluster }));
  app.route('/admin', adminRoutes({ ...deps, config: { destinations }, intake, refused }));
  if (deps.adminToken && deps.local) {
    const ops = createOperations({ store: spool, intake, configured: () => [...destinations.keys()], wake: () => dispatcher?.wakeAll() });
    const local = deps.local;
    app.route('/console', consoleRoutes({ config, spool: local, ops, intake: intake instanceof Intake ? intake : undefined, dispatcher, metrics, cluster: deps.cluster, sessions: new ConsoleSessions(deps.adminToken), refused, sentTimeZone: deps.sentTimeZone ?? null, maxBodyBytes: deps.maxBodyBytes }));
  } else {
    app.all('/console/*', (c) => c.json({ error: 'console_disabled', message: 'the console is off: set ADMIN_TOKEN to enable it' }, 404));
    app.all('/console', (c) => c.json({ error: 'console_disabled', message: 'the console is off: set ADMIN_TOKEN to enable it' }, 404));
  }

  app.notFound((c) => c.json({ error: 'not_found', message: `no route for ${c.req.method} ${new URL(c.req.url).pathname}` }, 404));
  app.onError(onError({ logger, metrics }));
  return app;
}
