/**
 * What the console asks of the router. Its reads come from the router's own spool (in cluster
 * mode: this replica's spool, see docs/cluster-mode.md); its actions go through the same
 * operations as the admin API and the CLI (src/ops), so they mean the same through every door.
 */
import type { RefusedNote } from '../http/refused.js';
import type { Intake } from '../ingest/intake.js';
import type { Metrics } from '../metrics.js';
import type { Operations } from '../ops/operations.js';
import type { CompiledConfig } from '../route/compile.js';
import type { ConfigSource } from '../route/live-config.js';
import type { Spool } from '../spool/spool.js';
import type { ConsoleSessions, Session } from './session.js';

export interface ConsoleDeps {
  /** The config being served (a reload swaps it). */
  config: ConfigSource<CompiledConfig>;
  /** The router's own spool: events, deliveries, attempts, refused payloads. */
  spool: Spool;
  /** Replay, re-ingest, enable, the message timeline: the admin API's operations. */
  ops: Operations;
  /** Re-ingests and tries payloads (absent on a replica that takes no callbacks). */
  intake?: Intake;
  /** Circuits per destination. */
  dispatcher?: { status(): Record<string, unknown> };
  metrics: Metrics;
  /** Cluster mode: what this replica is (role, partitions); pages say their figures are this replica's. */
  cluster?: { status(): Record<string, unknown> };
  sessions: ConsoleSessions;
  /** Refused callbacks that were not stored (unknown profile, failed auth): metadata only, newest first. */
  refused?: { list(): readonly RefusedNote[] };
  /** SENT_TIME_ZONE and MAX_BODY_BYTES, so Try a payload reads a payload as the callback route would. */
  sentTimeZone?: string | null;
  maxBodyBytes?: number;
}

/** Hono's context variables on console routes: the logged-in session. */
export interface ConsoleEnv {
  Variables: { session: Session };
}
