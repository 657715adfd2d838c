/**
 * Wires the pieces: config, spool, destinations, dispatcher, HTTP app. `startRouter` listens;
 * `close()` shuts down in order: stop accepting, finish requests in flight, flush deliveries
 * within the deadline, leave the rest pending on disk, close.
 */
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { createDestinations, type DestinationSet } from './destinations/index.js';
import { Dispatcher } from './dispatch/dispatcher.js';
import { createApp } from './http/app.js';
import { FORWARD_PLAN, clusterStore, startCluster, type RunningCluster } from './cluster/cluster.js';
import { Intake, type IntakeStore } from './ingest/intake.js';
import { createLogger, type Logger } from './log.js';
import { Metrics } from './metrics.js';
import type { CompiledConfig } from './route/compile.js';
import { matchRoutes } from './route/match.js';
import type { Settings } from './settings.js';
import { sleep } from './sleep.js';
import { Spool } from './spool/spool.js';

export interface RunningRouter {
  port: number;
  url: string;
  spool: Spool;
  metrics: Metrics;
  dispatcher: Dispatcher;
  destinations: DestinationSet;
  close(): Promise<void>;
}

export interface StartOptions {
  config: CompiledConfig;
  settings: Settings;
  logger?: Logger;
}

export async function startRouter({ config, settings, logger = createLogger() }: StartOptions): Promise<RunningRouter> {
  const metrics = new Metrics();
  const cluster = settings.cluster;
  const spool = new Spool({
    path: settings.spoolPath,
    dedupeWindowMs: settings.dedupeWindowMs,
    retentionMs: settings.retentionMs,
    // In cluster mode the spool is the edge's fallback: everything in it goes to the intake topic.
    plan: cluster ? FORWARD_PLAN : (event) => matchRoutes(event, config.table),
  });
  defineMetrics(metrics, spool);
  const delivery = cluster
    ? await startClusterDelivery({ config, settings: { ...settings, cluster }, spool, logger, metrics })
    : startEmbeddedDelivery(config, settings, spool, logger, metrics);

  let accepting = true;
  const intake = new Intake({ config, spool: { ...spoolParts(spool), commits: delivery.commits }, metrics, logger, sentTimeZone: settings.sentTimeZone });
  const app = createApp({
    config,
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
  });
  const stopMaintenance = startMaintenance(config, spool, intake, logger, cluster === null);
  const server = await listen(app.fetch, settings);
  const port = (server.address() as AddressInfo).port;
  logger.info('router listening', { port, mode: cluster ? `cluster (${cluster.role})` : 'embedded', kafka: settings.kafkaBrokers.join(',') || 'local sink', spool: settings.spoolPath });

  let closing: Promise<void> | null = null;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    spool,
    metrics,
    dispatcher: delivery.dispatcher,
    destinations: delivery.destinations,
    close() {
      closing ??= (async () => {
        accepting = false;
        stopMaintenance();
        // Stop accepting; requests in flight finish (their commit included) before this resolves.
        const closed = new Promise<void>((r) => server.close(() => r()));
        (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
        await Promise.race([closed, sleep(settings.shutdownTimeoutMs, { unref: true })]);
        await delivery.close(settings.shutdownTimeoutMs);
        spool.close();
        logger.info('router stopped');
      })();
      return closing;
    },
  };
}

/** What the rest of the router needs of the delivery side, embedded or cluster. */
interface Delivery {
  /** Where accepted callbacks go before their 2xx. */
  commits: IntakeStore['commits'];
  dispatcher: Dispatcher;
  destinations: DestinationSet;
  cluster: RunningCluster | null;
  close(deadlineMs: number): Promise<void>;
}

function spoolParts(spool: Spool): IntakeStore {
  return { commits: spool.commits, rejected: spool.rejected, operations: spool.operations };
}

/** The embedded default: the spool's dispatcher delivers to every destination. */
function startEmbeddedDelivery(config: CompiledConfig, settings: Settings, spool: Spool, logger: Logger, metrics: Metrics): Delivery {
  const destinations = createDestinations(config, {
    kafkaBrokers: settings.kafkaBrokers,
    sinkDir: settings.sinkDir,
    logger,
    kafkaRequestTimeoutMs: settings.kafkaRequestTimeoutMs,
  });
  void destinations.start();
  const dispatcher = new Dispatcher({ queue: spool.queue, destinations, logger, metrics, pollMs: settings.dispatchPollMs });
  dispatcher.start();
  return {
    commits: spool.commits,
    dispatcher,
    destinations,
    cluster: null,
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
    close: (deadlineMs) => running.close(deadlineMs),
  };
}

function defineMetrics(metrics: Metrics, spool: Spool): void {
  metrics.define('callbacks_accepted_total', 'Callbacks accepted and committed to the spool.');
  metrics.define('callbacks_rejected_total', 'Callbacks refused with a 4xx.');
  metrics.define('deliveries_total', 'Delivery attempts by outcome (done, retry, dead).');
  metrics.define('token_requests_refused_total', 'Token requests with wrong client credentials (advanced authentication).');
  metrics.define('tokens_issued_total', 'Tokens issued to Kaleyra (advanced authentication).');
  metrics.gauge('deliveries', 'Deliveries in the spool by destination and state.', () =>
    spool.operations.counts().map((r) => [{ destination: r.destination, state: r.state }, r.n]),
  );
  metrics.gauge('spool_commits', 'Group commits to the spool (counter).', () => [[{}, spool.commits.stats.commits]]);
  metrics.gauge('spool_committed_events', 'Events in those commits (counter); divided by commits: the group size.', () => [[{}, spool.commits.stats.events]]);
  metrics.gauge('spool_commit_seconds', 'Time spent in commits, disk flush included (counter).', () => [[{}, spool.commits.stats.ms / 1000]]);
  metrics.gauge('spool_commit_failures', 'Group commits that failed as a whole: disk full, read-only, I/O (counter).', () => [[{}, spool.commits.failures]]);
  metrics.gauge('spool_commit_failing', '1 while the last group commit failed and none succeeded since (callbacks get 503, /readyz is 503).', () => [[{}, spool.commits.failing ? 1 : 0]]);
}

/**
 * The retention purge every 10 minutes and, for profiles with finalAfter, the sweep for missing
 * final reports each minute (embedded only: in cluster mode no one replica sees every message).
 */
function startMaintenance(config: CompiledConfig, spool: Spool, intake: Intake, logger: Logger, sweeps: boolean): () => void {
  const purge = setInterval(() => {
    try {
      const n = spool.operations.purge();
      if (n > 0) logger.info('retention purge', { events: n });
    } catch (err) {
      logger.warn('retention purge failed', { error: String(err) });
    }
  }, 10 * 60_000);
  purge.unref();
  const finalAfter = [...config.profiles.values()].some((p) => p.finalAfterMs !== null);
  if (finalAfter && !sweeps) logger.warn('finalAfter is not supported in cluster mode yet: no sms.final_missing events are made');
  const sweep = finalAfter && sweeps
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
