/**
 * The spool: one SQLite file and the parts that work on it, each with one job. `commits` takes
 * accepted events (group commit), `queue` is what the dispatcher delivers from, `operations` is
 * what operators list, replay and purge, `rejected` keeps refused payloads. Callers take the
 * part they need, not the whole.
 */
import { acceptEvent } from '../accept/accept.js';
import type { DeliveryEvent } from '../event.js';
import type { RouteMatch } from '../route/match.js';
import { SqliteAcceptState } from './accept-state.js';
import { AttemptLog } from './attempts.js';
import { GroupCommit } from './commit.js';
import { DeadLetterMirror } from './dead-mirror.js';
import { DeliveryCounts } from './delivery-counts.js';
import { openSpoolDb, registerSpoolFunctions, type SpoolDb } from './db.js';
import { SpoolOperations } from './operations.js';
import { SpoolQueue } from './queue.js';
import { RejectedStore } from './rejected.js';
import { SpoolTimeline } from './timeline.js';
import { EventList } from './event-list.js';
import { SpoolFigures } from './figures.js';
import { WorkNotifier } from './types.js';
import { WalSync } from './wal-sync.js';
import type { BodyEncoding } from './body-codec.js';
import { bodyCompressor, type BodyCompressor } from './body-compressor.js';
import { RecentBodies } from './recent-bodies.js';

export type { AcceptResult } from './commit.js';
export type { InterimMessage } from './operations.js';
export type { MessageTimeline } from './timeline.js';
export type * from './types.js';

export interface SpoolOptions {
  /** SQLite file; ':memory:' for throw-away use. Ignored when `db` is given. */
  path: string;
  /** An already open spool database (see openSpoolDb): the seam tests use to reach the file. */
  db?: SpoolDb;
  /** Route planning for accepted events; default: no destinations. */
  plan?: (event: DeliveryEvent) => RouteMatch;
  /**
   * A resend (same message, status and status_time, on the same profile) inside this
   * window is answered but not delivered again.
   */
  dedupeWindowMs?: number;
  /** Delivered and dead events are kept this long, for replay; then purged. */
  retentionMs?: number;
  now?: () => number;
  /** Under load, how long a commit waits for more requests to join it; default 2 ms. */
  commitDelayMs?: number;
  /** How new events' JSON is stored (body-codec.ts); default deflate. */
  bodyEncoding?: BodyEncoding;
  /**
   * Where a commit's bodies are compressed: default the process's thread for it
   * (body-compressor.ts); null: inside the commit, on the event loop.
   */
  compressor?: Pick<BodyCompressor, 'compress'> | null;
}

const DAY = 86_400_000;
const NO_PLAN = (): RouteMatch => ({ destinations: [], rules: [], fallback: false });

export class Spool {
  readonly path: string;
  readonly commits: GroupCommit;
  readonly queue: SpoolQueue;
  readonly operations: SpoolOperations;
  readonly rejected: RejectedStore;
  /** Dead letters kept elsewhere (cluster mode), copied in for the operator operations. */
  readonly deadMirror: DeadLetterMirror;
  /** Deliveries per destination and state, kept as they change (for /metrics: no table scan). */
  readonly deliveryCounts: DeliveryCounts;
  /** Writes every delivery attempt down: give it to the dispatcher as an observer. */
  readonly attempts: AttemptLog;
  /** Reads one message's timeline (its reports, deliveries and attempts). */
  readonly timeline: SpoolTimeline;
  /** The recent events, filtered and paged by keyset (the console's Events page). */
  readonly eventList: EventList;
  /** The console's figures: recent callbacks per minute, per country, per rule; a queue's head. */
  readonly figures: SpoolFigures;
  readonly retentionMs: number;
  private readonly db: SpoolDb;
  private readonly walSync: WalSync;

  constructor(opts: SpoolOptions) {
    this.path = opts.path;
    const now = opts.now ?? Date.now;
    const dedupeWindowMs = opts.dedupeWindowMs ?? 10 * 60_000;
    this.retentionMs = opts.retentionMs ?? 7 * DAY;
    // openSpoolDb registers the spool's SQL functions; a connection given here may not have them.
    if (opts.db) registerSpoolFunctions(opts.db);
    this.db = opts.db ?? openSpoolDb(opts.path);
    const notifier = new WorkNotifier();
    const state = new SqliteAcceptState(this.db);
    const plan = opts.plan ?? NO_PLAN;
    // Event JSON the dispatcher reads back soon after the commit (under 1 MB). Larger kept bodies
    // long enough to reach V8's old space, which cost more in garbage collection than it saved.
    const recent = new RecentBodies(512);
    this.walSync = new WalSync(this.db.memory ? null : `${this.db.name}-wal`);
    const compressor = opts.compressor === undefined ? bodyCompressor : opts.compressor;
    this.commits = new GroupCommit(this.db, notifier, {
      decide: (event) => acceptEvent(event, state, { plan, dedupeWindowMs, now }),
      now,
      commitDelayMs: opts.commitDelayMs,
      durable: () => this.walSync.sync(),
      recent,
      bodyEncoding: opts.bodyEncoding,
      compress: compressor ? (bodies) => compressor.compress(bodies) : undefined,
    });
    this.queue = new SpoolQueue(this.db, notifier, now, recent);
    this.rejected = new RejectedStore(this.db, now);
    this.deadMirror = new DeadLetterMirror(this.db);
    this.deliveryCounts = new DeliveryCounts(this.db);
    this.attempts = new AttemptLog(this.db, now);
    this.timeline = new SpoolTimeline(this.db);
    this.eventList = new EventList(this.db);
    this.figures = new SpoolFigures(this.db, now);
    this.operations = new SpoolOperations(this.db, notifier, now, { retentionMs: this.retentionMs, dedupeWindowMs }, () => this.rejected.flush());
  }

  close(): void {
    this.rejected.flush();
    this.walSync.close();
    if (this.db.open) this.db.close();
  }
}
