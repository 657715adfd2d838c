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
import { Intake } from './ingest/intake.js';
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
  const spool = new Spool({
    path: settings.spoolPath,
    dedupeWindowMs: settings.dedupeWindowMs,
    retentionMs: settings.retentionMs,
    plan: (event) => matchRoutes(event, config.table),
  });
  const destinations = createDestinations(config, {
    kafkaBrokers: settings.kafkaBrokers,
    sinkDir: settings.sinkDir,
    logger,
    kafkaRequestTimeoutMs: settings.kafkaRequestTimeoutMs,
  });
  void destinations.start();
  defineMetrics(metrics, spool);

  const dispatcher = new Dispatcher({ queue: spool.queue, destinations, logger, metrics, pollMs: settings.dispatchPollMs });
  dispatcher.start();

  let accepting = true;
  const intake = new Intake({ config, spool, metrics, logger, sentTimeZone: settings.sentTimeZone });
  const app = createApp({
    config,
    spool,
    logger,
    metrics,
    intake,
    dispatcher,
    maxBodyBytes: settings.maxBodyBytes,
    sentTimeZone: settings.sentTimeZone,
    adminToken: settings.adminToken,
    accepting: () => accepting,
  });
  const stopMaintenance = startMaintenance(config, spool, intake, logger);
  const server = await listen(app.fetch, settings);
  const port = (server.address() as AddressInfo).port;
  logger.info('router listening', { port, kafka: settings.kafkaBrokers.join(',') || 'local sink', spool: settings.spoolPath });

  let closing: Promise<void> | null = null;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    spool,
    metrics,
    dispatcher,
    destinations,
    close() {
      closing ??= (async () => {
        accepting = false;
        stopMaintenance();
        // Stop accepting; requests in flight finish (their commit included) before this resolves.
        const closed = new Promise<void>((r) => server.close(() => r()));
        (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
        await Promise.race([closed, sleep(settings.shutdownTimeoutMs, { unref: true })]);
        await dispatcher.stop(settings.shutdownTimeoutMs);
        await destinations.close();
        spool.close();
        logger.info('router stopped');
      })();
      return closing;
    },
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
}

/** The retention purge every 10 minutes and, for profiles with finalAfter, the sweep for missing final reports each minute. */
function startMaintenance(config: CompiledConfig, spool: Spool, intake: Intake, logger: Logger): () => void {
  const purge = setInterval(() => {
    try {
      const n = spool.operations.purge();
      if (n > 0) logger.info('retention purge', { events: n });
    } catch (err) {
      logger.warn('retention purge failed', { error: String(err) });
    }
  }, 10 * 60_000);
  purge.unref();
  const sweep = [...config.profiles.values()].some((p) => p.finalAfterMs !== null)
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
