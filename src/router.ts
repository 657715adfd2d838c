/**
 * Wires the pieces: config, spool, destinations, dispatcher, HTTP app. `startRouter` listens;
 * `close()` shuts down in order: stop accepting, finish requests in flight, flush deliveries
 * within the deadline, leave the rest pending on disk, close.
 */
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { OperationalAlerts, queueSource } from './alerts/alerts.js';
import { createDestinations, type DestinationSet } from './destinations/index.js';
import { Dispatcher, type DeliveryObserver } from './dispatch/dispatcher.js';
import { createApp } from './http/app.js';
import { FORWARD_PLAN, clusterStore, startCluster, type RunningCluster } from './cluster/cluster.js';
import { Intake, type IntakeStore } from './ingest/intake.js';
import { checkKafkaAccess } from './kafka/access-check.js';
import { createLogger, type Logger } from './log.js';
import { Metrics } from './metrics.js';
import { deliveryMetrics } from './metrics/delivery.js';
import { otlpFromEnv } from './trace/otlp.js';
import { deliverySpans } from './trace/spans.js';
import type { CompiledConfig } from './route/compile.js';
import { LiveConfig } from './route/live-config.js';
import { loadRoutesFile } from './route/load.js';
import { matchRoutes } from './route/match.js';
import { Reloader, type ReloaderDeps, type ReloadResult, type ReloadTrigger } from './route/reload.js';
import type { Settings } from './settings.js';
import { sleep } from './sleep.js';
import { bodyCompressor } from './spool/body-compressor.js';
import { Spool } from './spool/spool.js';

export interface RunningRouter {
  port: number;
  url: string;
  spool: Spool;
  metrics: Metrics;
  dispatcher: Dispatcher;
  destinations: DestinationSet;
  /** The operational alerts; `alerts.configure(newConfig.alerts)` on a reload. */
  alerts: OperationalAlerts;
  /** The config being served; every reader reads it from here. */
  config: LiveConfig<CompiledConfig>;
  /** Loads, checks and swaps in the config file again (SIGHUP, a watched change, the admin API). */
  reload(trigger: ReloadTrigger): Promise<ReloadResult>;
  close(): Promise<void>;
}

export interface StartOptions {
  config: CompiledConfig;
  settings: Settings;
  logger?: Logger;
  /** The file `config` came from, which a reload reads again; absent: reloads are refused. */
  configPath?: string;
  /** The sha256 of that file (loadRoutesFile's), shown in /metrics and GET /admin/config. */
  configHash?: string;
}

export async function startRouter({ config, settings, logger = createLogger(), configPath, configHash }: StartOptions): Promise<RunningRouter> {
  // A wrong password or an untrusted certificate stops the start-up here (exit 2), not in a retry loop.
  await checkKafkaAccess(settings.kafkaBrokers, settings.kafka, logger);
  const metrics = new Metrics({ processMetrics: true });
  const cluster = settings.cluster;
  const live = new LiveConfig(config, { hash: configHash });
  const spool = new Spool({
    path: settings.spoolPath,
    dedupeWindowMs: settings.dedupeWindowMs,
    retentionMs: settings.retentionMs,
    bodyEncoding: settings.spoolCompression,
    compressor: settings.spoolCompressionThread ? bodyCompressor : null,
    // In cluster mode the spool is the edge's fallback: everything in it goes to the intake topic.
    // Planned in the commit, with the config of that moment: the one whose workers deliver.
    plan: cluster ? FORWARD_PLAN : (event) => matchRoutes(event, live.current.table),
  });
  defineMetrics(metrics, spool);
  const spans = otlpFromEnv(process.env, logger);
  const observe = [deliveryMetrics(metrics), ...(spans ? [deliverySpans(spans)] : [])];
  const alerts = routerAlerts(config, settings, spool, metrics, logger);
  const delivery = cluster
    ? await startClusterDelivery({ config: live, settings: { ...settings, cluster }, spool, logger, metrics, observers: [alerts.observer, ...observe] })
    : startEmbeddedDelivery(config, settings, spool, logger, metrics, [alerts.observer, ...observe]);
  watchQueues(alerts, spool, delivery);

  let accepting = true;
  const intake = new Intake({ config: live, spool: { ...spoolParts(spool), commits: delivery.commits }, metrics, logger, sentTimeZone: settings.sentTimeZone });
  const reloader = configReloader({ live, path: configPath ?? null, delivery, alerts, logger, metrics });
  const app = createApp({
    config: live,
    reloader,
    spool: delivery.cluster ? clusterStore(spool, delivery.cluster.backfill) : spool,
    logger,
    metrics,
    intake,
    dispatcher: delivery.dispatcher,
    maxBodyBytes: settings.maxBodyBytes,
    sentTimeZone: settings.sentTimeZone,
    adminToken: settings.adminToken,
    accepting: () => accepting,
    ingest: cluster?.role !== 'deliver',
    cluster: delivery.cluster ?? undefined,
    spans,
    local: spool,
  });
  const stopMaintenance = startMaintenance(live, spool, intake, logger, cluster === null);
  const server = await listen(app.fetch, settings);
  const port = (server.address() as AddressInfo).port;
  logger.info('router listening', { port, mode: cluster ? `cluster (${cluster.role})` : 'embedded', kafka: settings.kafkaBrokers.join(',') || 'local sink', spool: settings.spoolPath });
  if (cluster?.role !== 'deliver') logProfileUrls(logger, config, settings.publicUrl ?? `http://localhost:${port}`);

  let closing: Promise<void> | null = null;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    spool,
    metrics,
    dispatcher: delivery.dispatcher,
    destinations: delivery.destinations,
    alerts,
    config: live,
    reload: (trigger) => reloader.reload(trigger),
    close() {
      closing ??= (async () => {
        accepting = false;
        stopMaintenance();
        // Stop accepting; requests in flight finish (their commit included) before this resolves.
        const closed = new Promise<void>((r) => server.close(() => r()));
        (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
        await Promise.race([closed, sleep(settings.shutdownTimeoutMs, { unref: true })]);
        await delivery.close(settings.shutdownTimeoutMs);
        await alerts.close();
        await spans?.shutdown();
        spool.close();
        logger.info('router stopped');
      })();
      return closing;
    },
  };
}

/** The operational alerts, told by the spool (and, through `observer`, by the dispatchers). */
function routerAlerts(config: CompiledConfig, settings: Settings, spool: Spool, metrics: Metrics, logger: Logger): OperationalAlerts {
  const identity = { mode: settings.cluster ? 'cluster' : 'embedded', role: settings.cluster?.role ?? 'all' };
  const alerts = new OperationalAlerts({ metrics, logger, commits: spool.commits, identity });
  alerts.configure(config.alerts);
  return alerts;
}

/** Where deliveries wait, for the oldest-pending check: the spool and, in cluster mode, the webhook outbox. */
function watchQueues(alerts: OperationalAlerts, spool: Spool, delivery: Delivery): void {
  alerts.watch(queueSource(spool.queue, () => Object.keys(delivery.dispatcher.status())));
  const outbox = delivery.cluster?.outbox;
  if (outbox) alerts.watch(queueSource(outbox.queue, () => Object.keys(outbox.dispatcher.status())));
}

/** What the rest of the router needs of the delivery side, embedded or cluster. */
interface Delivery {
  /** Where accepted callbacks go before their 2xx. */
  commits: IntakeStore['commits'];
  dispatcher: Dispatcher;
  destinations: DestinationSet;
  cluster: RunningCluster | null;
  /** Opens a reloaded config's new destinations, then moves the workers; null: cannot reload. */
  prepare: ReloaderDeps['prepare'] | null;
  close(deadlineMs: number): Promise<void>;
}

/**
 * The reload of routes.config.ts. Embedded, everything reloads: rules, profiles, destinations
 * (started, replaced, stopped), the retry policy, alerts, rate limits. In cluster mode too, on
 * this replica: its edge and partition owners read the live config, its outbox's webhooks are
 * reconfigured (src/cluster/cluster.ts); each replica reloads its own file.
 */
function configReloader(o: { live: LiveConfig<CompiledConfig>; path: string | null; delivery: Delivery; alerts: OperationalAlerts; logger: Logger; metrics: Metrics }): Reloader {
  const { live, delivery, alerts } = o;
  live.onSwap((next) => alerts.configure(next.alerts));
  const unavailable = delivery.prepare ? null : 'this router cannot swap its config';
  return new Reloader({
    path: o.path,
    live,
    load: loadRoutesFile,
    prepare: delivery.prepare,
    unavailable,
    orphaned: () => delivery.dispatcher.orphaned(),
    logger: o.logger,
    metrics: o.metrics,
  });
}

function spoolParts(spool: Spool): IntakeStore {
  return { commits: spool.commits, rejected: spool.rejected, operations: spool.operations };
}

/** The embedded default: the spool's dispatcher delivers to every destination. */
function startEmbeddedDelivery(config: CompiledConfig, settings: Settings, spool: Spool, logger: Logger, metrics: Metrics, observers: readonly DeliveryObserver[]): Delivery {
  const destinations = createDestinations(config, {
    kafkaBrokers: settings.kafkaBrokers,
    sinkDir: settings.sinkDir,
    logger,
    kafkaRequestTimeoutMs: settings.kafkaRequestTimeoutMs,
    kafka: settings.kafka,
  });
  void destinations.start();
  const dispatcher = new Dispatcher({ queue: spool.queue, destinations, logger, metrics, pollMs: settings.dispatchPollMs, observers: [spool.attempts, ...observers] });
  dispatcher.start();
  return {
    commits: spool.commits,
    dispatcher,
    destinations,
    cluster: null,
    prepare(next) {
      const changes = destinations.reconfigure(next);
      return async () => {
        const moved = await dispatcher.reconfigure(changes);
        await changes.release();
        return { destinations: { started: moved.started, replaced: moved.replaced, stopped: moved.stopped }, pendingForUnconfigured: moved.orphaned };
      };
    },
    async close(deadlineMs) {
      await dispatcher.stop(deadlineMs);
      await destinations.close();
    },
  };
}

/** Cluster mode: the edge produces to the intake topic; partition owners and the outbox deliver. */
async function startClusterDelivery(deps: Parameters<typeof startCluster>[0]): Promise<Delivery> {
  const running = await startCluster(deps);
  const none: DestinationSet = { destinations: new Map(), policies: new Map(), start: async () => undefined, close: async () => undefined };
  return {
    // A deliver-only replica takes no callbacks (the app does not mount them); the spool is its store.
    commits: running.edge ?? deps.spool.commits,
    dispatcher: running.forwarder,
    destinations: none,
    cluster: running,
    prepare: (next, changes) => running.prepare(next, changes),
    close: (deadlineMs) => running.close(deadlineMs),
  };
}

/** The URL to set in each Kaleyra callback profile, one line per profile, so it is said at start-up. */
function logProfileUrls(logger: Logger, config: CompiledConfig, base: string): void {
  for (const profile of config.profiles.keys()) {
    logger.info('give Kaleyra this callback URL', { profile, url: `${base.replace(/\/+$/, '')}/callbacks/${encodeURIComponent(profile)}` });
  }
}

function defineMetrics(metrics: Metrics, spool: Spool): void {
  metrics.define('callbacks_accepted_total', 'Callbacks accepted and committed to the spool.', ['profile', 'status_class']);
  metrics.define('callbacks_rejected_total', 'Callbacks refused with a 4xx.', ['profile', 'reason']);
  metrics.define('deliveries_total', 'Delivery attempts by outcome (done, retry, dead).', ['destination', 'outcome']);
  metrics.define('token_requests_refused_total', 'Token requests with wrong client credentials (advanced authentication).', ['profile']);
  metrics.define('tokens_issued_total', 'Tokens issued to Kaleyra (advanced authentication).', ['profile']);
  // Kept as deliveries change (spool/delivery-counts.ts): a scrape reads a handful of rows, never the table.
  metrics.gauge('deliveries', 'Deliveries in the spool by destination and state.', () =>
    spool.deliveryCounts.read().map((r) => [{ destination: r.destination, state: r.state }, r.n]),
  );
  metrics.counterOf('spool_commits', 'Group commits to the spool.', () => [[{}, spool.commits.stats.commits]]);
  metrics.counterOf('spool_committed_events', 'Events in those commits; divided by commits: the group size.', () => [[{}, spool.commits.stats.events]]);
  metrics.counterOf('spool_commit_seconds', 'Time spent in commits, disk flush included.', () => [[{}, spool.commits.stats.ms / 1000]]);
  metrics.counterOf('spool_commit_failures', 'Group commits that failed as a whole: disk full, read-only, I/O.', () => [[{}, spool.commits.failures]]);
  const commitSeconds = metrics.histogram('spool_commit_duration_seconds', 'Each group commit to the spool, disk flush included.');
  spool.commits.onCommitted((seconds) => commitSeconds.observe(seconds));
  metrics.gauge('spool_commit_failing', '1 while the last group commit failed and none succeeded since (callbacks get 503, /readyz is 503).', () => [[{}, spool.commits.failing ? 1 : 0]]);
}

/**
 * The retention purge every 10 minutes and, for profiles with finalAfter, the sweep for missing
 * final reports each minute (embedded only: in cluster mode no one replica sees every message).
 */
function startMaintenance(live: LiveConfig<CompiledConfig>, spool: Spool, intake: Intake, logger: Logger, sweeps: boolean): () => void {
  const purge = setInterval(() => {
    try {
      const n = spool.operations.purge();
      if (n > 0) logger.info('retention purge', { events: n });
    } catch (err) {
      logger.warn('retention purge failed', { error: String(err) });
    }
  }, 10 * 60_000);
  purge.unref();
  const finalAfter = [...live.current.profiles.values()].some((p) => p.finalAfterMs !== null);
  if (finalAfter && !sweeps) logger.warn('finalAfter is not supported in cluster mode yet: no sms.final_missing events are made');
  // Runs whatever the profiles say now (a reload may add finalAfter); with none it does nothing.
  const sweep = sweeps
    ? setInterval(() => {
        intake.sweepFinalMissing().then(
          (n) => n > 0 && logger.info('final reports missing', { events: n }),
          (err) => logger.warn('final-report sweep failed', { error: String(err) }),
        );
      }, 60_000)
    : null;
  sweep?.unref();
  return () => {
    clearInterval(purge);
    if (sweep) clearInterval(sweep);
  };
}

function listen(fetch: (req: Request, env?: unknown) => Response | Promise<Response>, settings: Settings): Promise<ServerType> {
  return new Promise((resolve) => {
    const s = serve(
      {
        fetch,
        port: settings.port,
        hostname: settings.host,
        serverOptions: {
          headersTimeout: settings.http.headersTimeoutMs,
          requestTimeout: settings.http.requestTimeoutMs,
          keepAliveTimeout: settings.http.keepAliveTimeoutMs,
          // Node checks the two timeouts above only every connectionsCheckingInterval (30 s by
          // default), so a stalled request would hold its connection for up to 30 s regardless.
          connectionsCheckingInterval: Math.min(1_000, settings.http.headersTimeoutMs),
        },
      },
      () => resolve(s),
    );
  });
}
