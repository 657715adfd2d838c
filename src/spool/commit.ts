/**
 * The durable hand-off. An accepted event and its routing plan (one delivery per destination)
 * are committed to SQLite before the caller gets its 2xx. Concurrent requests share one
 * transaction (group commit), so durability costs one disk flush per batch, not per request.
 */
import type { AcceptDecision } from '../accept/accept.js';
import { StoreUnavailableError, errorMessage } from '../errors.js';
import type { DeliveryEvent } from '../event.js';
import type { RouteMatch } from '../route/match.js';
import { callbackContext, encodeStoredTrace, type TraceContext } from '../trace/context.js';
import { encodeBody, type BodyEncoding } from './body-codec.js';
import type { BodyToCompress } from './body-compressor.js';
import type { SpoolDb } from './db.js';
import type { RecentBodies } from './recent-bodies.js';
import { messageHash } from './message-hash.js';
import { RouteDecisions } from './route-decisions.js';
import type { MadeDelivery, WorkNotifier } from './types.js';

export interface AcceptResult {
  eventId: string;
  /**
   * The same callback was accepted before; nothing new was stored. null: not known at the edge
   * (cluster mode: the partition's owner decides it later).
   */
  duplicate: boolean | null;
  /** It moved its message backwards; null: not known at the edge (cluster mode). */
  stale: boolean | null;
  route: RouteMatch;
}

export interface GroupCommitOptions {
  /** The accept step for one event, run inside the commit's transaction. */
  decide: (event: DeliveryEvent) => AcceptDecision;
  now: () => number;
  /** Under load, how long a commit waits for more requests to join it; default 2 ms. */
  commitDelayMs?: number;
  /**
   * Resolves once what was committed is on disk (WalSync.sync): the callbacks of a commit are
   * answered after it. Default: nothing to wait for (the commit itself was synchronous).
   */
  durable?: () => Promise<void>;
  /** Told each stored event's JSON, for the dispatcher to read back without decoding it. */
  recent?: RecentBodies;
  /** How each event's JSON is stored; default deflate. */
  bodyEncoding?: BodyEncoding;
  /**
   * Compresses a batch's bodies off the event loop (body-compressor.ts) before its transaction;
   * null answers (or none given): the transaction compresses them itself. Not used with `none`.
   */
  compress?: (bodies: readonly BodyToCompress[]) => Promise<Buffer[] | null>;
}

interface Waiting {
  event: DeliveryEvent;
  /** The event's JSON, made before the commit so the transaction only writes. */
  body: string;
  /** Its trace context as stored (`events.traceparent`). */
  trace: Buffer;
  /** `body` as stored (encodeBody), when compressed before the transaction. */
  packed?: Buffer;
  /** The deliveries its transaction made (handed to the queue once committed). */
  made?: MadeDelivery[];
  resolve: (r: AcceptResult) => void;
  reject: (e: unknown) => void;
}

const NO_ROUTE: RouteMatch = { destinations: [], rules: [], fallback: false };

/** SQLite errors that say the store cannot write at all, as opposed to this one row. */
const STORE_FAILURES = /^SQLITE_(READONLY|FULL|IOERR|CANTOPEN|BUSY|LOCKED|NOMEM|CORRUPT|NOTADB|PROTOCOL|PERM)/;
function isStoreFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && STORE_FAILURES.test(code);
}

/** Thrown out of a batch stored without savepoints when one event fails: store them apart instead. */
class OneEventFailed extends Error {
  constructor(cause: unknown) {
    super('one event of the batch could not be stored', { cause });
  }
}

export class GroupCommit {
  /** Group-commit figures for /metrics: commits, events in them, time spent committing. */
  readonly stats = { commits: 0, events: 0, ms: 0 };
  /** Group-commit figures for /metrics (continued): commits that failed as a whole (disk full, read-only). */
  failures = 0;
  /** The last commit's failure, cleared by the next success; readiness shows it. */
  lastError: string | null = null;
  /** Told of each successful group commit: its duration (seconds) and how many events it held. */
  private readonly committed = new Set<(seconds: number, events: number) => void>();
  /** When a commit last failed as a whole (ms epoch), or null since one succeeded. */
  private failedAt: number | null = null;
  private waiting: Waiting[] = [];
  private readonly failingListeners = new Set<(failing: boolean, error: string | null) => void>();
  private flushScheduled = false;
  private lastFlushAt = 0;
  /** The last batch compressing or committing: batches commit in the order they were flushed. */
  private committing: Promise<void> = Promise.resolve();
  private readonly commitDelayMs: number;
  private readonly routes: RouteDecisions;
  private readonly stmt;
  private readonly commitBatch: (batch: Waiting[]) => (AcceptResult | Error)[];

  constructor(
    db: SpoolDb,
    private readonly notifier: WorkNotifier,
    private readonly opts: GroupCommitOptions,
  ) {
    this.commitDelayMs = opts.commitDelayMs ?? 2;
    this.routes = new RouteDecisions(db);
    this.stmt = {
      eventPut: db.prepare(
        `INSERT INTO events (event_id, message_key, type, profile, status_class, received_at, body, route_id, traceparent,
           iso_code, request_id, status, status_final) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      deliveryPut: db.prepare(
        `INSERT INTO deliveries (event_seq, destination, message_hash, state, first_at, next_at, updated_at)
         VALUES (?, ?, ?, 'pending', ?, ?, ?)`,
      ),
      probe: db.prepare('INSERT OR REPLACE INTO readiness_probe (id, at, pad) VALUES (1, ?, zeroblob(?))'),
    };
    // The whole batch in one transaction without savepoints first: a savepoint per event made
    // SQLite spill its statement journal to a temp file, and cost 3.4x the statements' own time
    // (83 -> 24 µs an event, measured). One event failing rolls that attempt back and the batch
    // is stored again with a savepoint per event, so it fails alone, never the callbacks that
    // happen to share its group commit.
    const together = db.transaction((batch: Waiting[]) =>
      batch.map((w) => {
        try {
          return this.store(w);
        } catch (err) {
          throw isStoreFailure(err) ? err : new OneEventFailed(err);
        }
      }),
    );
    const storeOne = db.transaction((w: Waiting) => this.store(w));
    const apart = db.transaction((batch: Waiting[]) =>
      batch.map((w) => {
        try {
          return storeOne(w);
        } catch (err) {
          // The store itself failing (read-only, full, I/O) is everyone's problem: fail the batch.
          if (isStoreFailure(err)) throw err;
          return err instanceof Error ? err : new Error(String(err));
        }
      }),
    );
    // A rolled-back write may have taken a routing decision it stored with it: look them up again.
    this.commitBatch = (batch) => {
      try {
        return together(batch);
      } catch (err) {
        this.routes.forget();
        if (!(err instanceof OneEventFailed)) throw err;
        try {
          const results = apart(batch);
          if (results.some((r) => r instanceof Error)) this.routes.forget();
          return results;
        } catch (again) {
          this.routes.forget();
          throw again;
        }
      }
    };
  }

  /**
   * Stores the event and its deliveries; resolves once the commit is on disk.
   * Rejects with StoreUnavailableError when the store cannot commit. `trace`: the callback's
   * trace context (traceCallbacks gives it); an event made with none (the final-report sweep, a
   * re-ingest) starts a trace of its own.
   */
  accept(event: DeliveryEvent, trace?: TraceContext): Promise<AcceptResult> {
    const stored = encodeStoredTrace(trace ?? callbackContext(null, null));
    return new Promise((resolve, reject) => {
      this.waiting.push({ event, body: JSON.stringify(event), trace: stored, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // Under load (a commit just happened) wait a moment so concurrent requests share the
        // next disk flush (Postgres' commit_delay); when idle, commit at once.
        if (this.opts.now() - this.lastFlushAt < this.commitDelayMs * 4) setTimeout(() => this.flush(), this.commitDelayMs);
        else setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    this.lastFlushAt = this.opts.now();
    const batch = this.waiting;
    this.waiting = [];
    if (batch.length === 0) return;
    const compress = this.opts.bodyEncoding === 'none' ? undefined : this.opts.compress;
    if (!compress) return this.commit(batch);
    // Compressed on another thread while the loop reads the next requests; committed after the
    // batch before it, whichever finishes compressing first. Whatever throws fails this batch's
    // callbacks (a 503 they will send again), never the batches after it.
    const bodies = compress(batch.map((w) => ({ json: w.body, keys: w.event })));
    this.committing = Promise.all([bodies, this.committing])
      .then(([packed]) => {
        if (packed) batch.forEach((w, i) => (w.packed = packed[i]));
        this.commit(batch);
      })
      .catch((err: unknown) => this.failed(batch, err));
  }

  private commit(batch: Waiting[]): void {
    const started = performance.now();
    let results: (AcceptResult | Error)[];
    try {
      results = this.commitBatch(batch);
    } catch (err) {
      this.failed(batch, err);
      return;
    }
    // The dispatcher may start on the rows now: a delivery made before the flush below is done
    // is at worst made again after a power loss, as at-least-once allows. The callers wait.
    this.notifier.notify(this.touched(results), this.made(batch, results));
    const durable = this.opts.durable?.() ?? Promise.resolve();
    durable.then(
      () => this.succeeded(batch, results, performance.now() - started),
      (err: unknown) => this.failed(batch, err),
    );
  }

  private touched(results: (AcceptResult | Error)[]): Set<string> {
    const touched = new Set<string>();
    for (const r of results) if (!(r instanceof Error) && !r.duplicate) for (const d of r.route.destinations) touched.add(d);
    return touched;
  }

  /** The deliveries the commit made, in row order: the queue holds them in memory (queue.ts). */
  private made(batch: Waiting[], results: (AcceptResult | Error)[]): MadeDelivery[] {
    const made: MadeDelivery[] = [];
    batch.forEach((w, i) => {
      if (w.made && !(results[i] instanceof Error)) for (const d of w.made) made.push(d);
    });
    return made;
  }

  private succeeded(batch: Waiting[], results: (AcceptResult | Error)[], ms: number): void {
    this.stats.ms += ms;
    // A listener's failure must not turn a commit that happened into one that failed.
    for (const listener of this.committed) {
      try {
        listener(ms / 1000, batch.length);
      } catch {
        /* metrics only */
      }
    }
    this.stats.commits++;
    this.stats.events += batch.length;
    const recovered = this.failedAt !== null;
    this.lastError = null;
    this.failedAt = null;
    if (recovered) this.failingChanged(false);
    batch.forEach((w, i) => {
      const r = results[i]!;
      if (r instanceof Error) w.reject(new StoreUnavailableError(`the spool could not store this event: ${errorMessage(r)}`, r));
      else w.resolve(r);
    });
  }

  /** The commit, or its flush to disk, failed: every callback of the batch gets the error. */
  private failed(batch: Waiting[], err: unknown): void {
    const first = this.failedAt === null;
    this.lastError = errorMessage(err);
    this.failedAt = this.opts.now();
    this.failures++;
    if (first) this.failingChanged(true);
    const failure = new StoreUnavailableError(`the spool could not commit: ${this.lastError}`, err);
    for (const w of batch) w.reject(failure);
  }

  /** One event, inside the batch transaction: the accept step, then the rows it decided. */
  private store(w: Waiting): AcceptResult {
    const { event, body, trace, packed } = w;
    // Stored again after a rolled-back attempt (commitBatch): only the last attempt's rows count.
    w.made = undefined;
    const decision = this.opts.decide(event);
    if (decision.duplicate) return { eventId: decision.eventId, duplicate: true, stale: false, route: NO_ROUTE };
    const { event: stored, stale, route } = decision;
    const now = this.opts.now();
    // The accept step may have changed the event (stale): then its body is made again here.
    const json = stored === event ? body : JSON.stringify(stored);
    const seq = this.stmt.eventPut.run(
      stored.event_id,
      stored.message_key,
      stored.type,
      stored.profile,
      stored.status_class,
      now,
      stored === event && packed ? packed : encodeBody(json, stored, this.opts.bodyEncoding),
      // The rules it matched, kept so its timeline shows them whatever the config says later.
      this.routes.idOf(JSON.stringify(route)),
      trace,
      stored.iso_code,
      stored.request_id,
      stored.status,
      stored.status_final ? 1 : 0,
    ).lastInsertRowid;
    this.opts.recent?.remember(Number(seq), stored.event_id, json);
    if (route.destinations.length > 0) {
      const message = messageHash(stored.message_key);
      w.made = route.destinations.map((destination) => ({
        destination,
        id: Number(this.stmt.deliveryPut.run(seq, destination, message, now, now, now).lastInsertRowid),
        eventId: stored.event_id,
        messageKey: stored.message_key,
        type: stored.type,
        attempts: 0,
        firstAt: now,
        body: json,
        storedTrace: trace,
      }));
    }
    return { eventId: stored.event_id, duplicate: false, stale, route };
  }

  /**
   * Calls `listener` when commits start failing as a whole (true, with the error) and when one
   * succeeds again (false): the operational alerts. Returns the unsubscribe.
   * @example commits.onFailingChange((failing, error) => alert(failing ? 'spool.commit_failing' : 'spool.commit_recovered', error))
   */
  onFailingChange(listener: (failing: boolean, error: string | null) => void): () => void {
    this.failingListeners.add(listener);
    return () => this.failingListeners.delete(listener);
  }

  private failingChanged(failing: boolean): void {
    for (const listener of this.failingListeners) {
      try {
        listener(failing, this.lastError);
      } catch {
        // A listener's failure must never fail a commit (or the callbacks waiting on it).
      }
    }
  }

  /**
   * Calls `listener` after each successful group commit with its duration in seconds (disk
   * flush included) and its number of events; returns the unsubscribe. For the latency histogram.
   */
  onCommitted(listener: (seconds: number, events: number) => void): () => void {
    this.committed.add(listener);
    return () => this.committed.delete(listener);
  }

  /** Whether the last commit failed as a whole and none succeeded since (for /metrics). */
  get failing(): boolean {
    return this.failedAt !== null;
  }

  /**
   * Can the store commit right now? Used by readiness. It commits a write as large as a group of
   * callbacks (PROBE_BYTES) for real: a one-row write used to succeed on a full disk (SQLite
   * reuses free pages) while every callback got 503. After a commit failed, it answers false for
   * FAILURE_HOLD_MS whatever the probe says, so a replica does not flap back into rotation on a
   * disk with room for the probe only; after that the probe alone decides, so readiness recovers
   * as soon as the disk does, even while no traffic arrives to prove it.
   */
  writable(): boolean {
    const now = this.opts.now();
    try {
      this.stmt.probe.run(now, PROBE_BYTES);
    } catch (err) {
      this.lastError = errorMessage(err);
      return false;
    }
    if (this.failedAt !== null && now - this.failedAt < FAILURE_HOLD_MS) return false;
    return true;
  }
}

/** What the readiness probe writes: room for a large group commit (about 60 callbacks). */
const PROBE_BYTES = 256 * 1024;
/** How long a failed commit keeps the store unready, whatever the probe says. */
const FAILURE_HOLD_MS = 5_000;
