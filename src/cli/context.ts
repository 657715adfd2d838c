/**
 * The CLI's edge: settings from the environment, the routes config, and the spool, each opened
 * only when a command asks (so `--help` touches none of them) and the spool closed when it ends.
 * This is the one CLI module that knows the concrete Spool and Intake.
 */
import { backfillOnce, operationsWithBackfill } from '../cluster/backfill.js';
import { FORWARD_PLAN } from '../cluster/edge.js';
import type { DeliveryEvent } from '../event.js';
import { Intake, type IntakeStore } from '../ingest/intake.js';
import { silentLogger } from '../log.js';
import { Metrics } from '../metrics.js';
import { createOperations } from '../ops/operations.js';
import type { OperationsStore } from '../ops/store.js';
import { destinationRefs, type CompiledConfig } from '../route/compile.js';
import { configPath, loadRoutes } from '../route/load.js';
import { matchRoutes } from '../route/match.js';
import { loadSettings, type Settings } from '../settings.js';
import { Spool } from '../spool/spool.js';
import type { CliContext } from './command.js';

/** Where a command writes and what environment it reads. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  env: Record<string, string | undefined>;
}

/**
 * A context for one command run; call `close` when it ends.
 * @example const ctx = createContext({ out: console.log, err: console.error, env: process.env })
 */
export function createContext(io: CliIo): CliContext & { close(): void } {
  let settings: Settings | undefined;
  const spools: Spool[] = [];
  const currentSettings = (): Settings => (settings ??= loadSettings(io.env));
  return {
    ...io,
    settings: currentSettings,
    loadConfig: (path) => loadRoutes(configPath(path === undefined ? [] : ['--config', path], io.env)),
    operations(config?: CompiledConfig) {
      // Opened when an operation first reaches the store, after it validated its input: a
      // mistyped option creates no spool file.
      let spool: Spool | undefined;
      const open = (): Spool => {
        if (!spool) {
          // Re-ingest makes events, so the spool must plan their deliveries with the config's rules
          // (in cluster mode: to the intake topic, which the running router forwards them to).
          const plan = currentSettings().cluster ? FORWARD_PLAN : config ? (e: DeliveryEvent) => matchRoutes(e, config.table) : undefined;
          spool = new Spool({ path: currentSettings().spoolPath, plan });
          spools.push(spool);
        }
        return spool;
      };
      const store: Pick<Spool, 'commits' | 'queue' | 'rejected' | 'timeline'> & { operations: OperationsStore['operations'] & IntakeStore['operations'] } = {
        get commits() {
          return open().commits;
        },
        get operations() {
          const ops = open().operations;
          const s = currentSettings();
          if (!s.cluster || !config) return ops;
          // In cluster mode the events to backfill are in the intake topic, not in this spool.
          const cluster = { brokers: s.kafkaBrokers, security: s.kafka, prefix: s.cluster.prefix, config, dedupeWindowMs: s.dedupeWindowMs, retentionMs: s.retentionMs, logger: silentLogger };
          return operationsWithBackfill(ops, (destination, f, o) => backfillOnce(cluster, destination, f, o));
        },
        get queue() {
          return open().queue;
        },
        get rejected() {
          return open().rejected;
        },
        get timeline() {
          return open().timeline;
        },
      };
      const intake = config ? new Intake({ config, spool: store, metrics: new Metrics(), logger: silentLogger, sentTimeZone: currentSettings().sentTimeZone }) : undefined;
      return createOperations({ store, intake, configured: config ? destinationRefs(config) : undefined });
    },
    interrupted: () =>
      new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      }),
    close() {
      for (const s of spools.splice(0)) s.close();
    },
  };
}
