/**
 * The durable hand-off. An accepted event and its routing plan (one delivery per destination)
 * are committed to SQLite before the caller gets its 2xx. Concurrent requests share one
 * transaction (group commit), so durability costs one disk flush per batch, not per request.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { DeliveryEvent } from '../event.js';
import { statusKey, statusRank } from '../enrich/status.js';
import { StoreUnavailableError, errorMessage } from '../errors.js';
import type { RouteMatch } from '../route/match.js';
import { SPOOL_DDL, SPOOL_LATE_DDL, SPOOL_MIGRATIONS, SPOOL_VERSION } from './schema.sql.js';

export interface SpoolOptions {
  /** SQLite file; ':memory:' for throw-away use. */
  path: string;
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
}

export interface AcceptResult {
  eventId: string;
  /** The same callback was accepted before; nothing new was stored. */
  duplicate: boolean;
  stale: boolean;
  route: RouteMatch;
}

export interface PendingDelivery {
  id: number;
  eventId: string;
  messageKey: string;
  type: string;
  attempts: number;
  firstAt: number;
  /** The enriched event as JSON, exactly as stored. */
  body: string;
}

export interface DeliveryRecord {
  id: number;
  event_id: string;
  destination: string;
  message_key: string;
  state: 'pending' | 'done' | 'dead';
  attempts: number;
  first_at: number;
  next_at: number;
  updated_at: number;
  last_code: string | null;
  last_error: string | null;
}

/** Which deliveries a replay or a listing takes. All fields narrow; none means all. */
export interface DeliveryFilter {
  ids?: number[];
  destination?: string;
  eventId?: string;
  messageKey?: string;
  code?: string;
  since?: number;
  until?: number;
  limit?: number;
}

export interface RejectedRecord {
  id: number;
  received_at: number;
  profile: string;
  status_code: number;
  reason: string;
  content_type: string | null;
  body: string;
  /** How it came (null for payloads kept before the spool recorded it). */
  method: string | null;
  query: string | null;
  /** The event it became once re-ingested, or null. */
  replayed_event_id: string | null;
}

/** A refused callback as the HTTP edge hands it over. */
export interface RejectedInput {
  profile: string;
  statusCode: number;
  reason: string;
  contentType: string | null;
  body: string;
  method?: string | null;
  query?: string | null;
}

/** Which refused payloads to list or re-ingest. */
export interface RejectedFilter {
  ids?: number[];
  profile?: string;
  since?: number;
  until?: number;
  /** Only those not re-ingested yet. */
  pending?: boolean;
  oldestFirst?: boolean;
  limit?: number;
}

type Planner = (event: DeliveryEvent) => RouteMatch;

interface Waiting {
  event: DeliveryEvent;
  /** The event's JSON, made before the commit so the transaction only writes. */
  body: string;
  resolve: (r: AcceptResult) => void;
  reject: (e: unknown) => void;
}

const DAY = 86_400_000;

/** SQLite errors that say the store cannot write at all, as opposed to this one row. */
const STORE_FAILURES = /^SQLITE_(READONLY|FULL|IOERR|CANTOPEN|BUSY|LOCKED|NOMEM|CORRUPT|NOTADB|PROTOCOL|PERM)/;
function isStoreFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && STORE_FAILURES.test(code);
}

/**
 * What makes a callback a resend: the same message (never just the same send request, which a
 * whole campaign shares), the same status however it is spelt ("Delivered", "DELIVERED") and the
 * same status_time, on the same profile. Two different words of one class ("Queued", "Sent") are
 * two reports: when in doubt, deliver twice rather than lose one.
 * @example resendKey(event) // 'default\u0000<message_id>\u0000sms.delivered\u0000delivered\u00002022-04-05T08:55:50.000Z'
 */
export function resendKey(event: DeliveryEvent): string {
  // The type follows from the status for every callback; it sets apart the events the router
  // makes itself (sms.final_missing) from the report they are about.
  return `${event.profile}\u0000${event.message_key}\u0000${event.type}\u0000${statusKey(event.status)}\u0000${event.status_time ?? ''}`;
}

export class Spool {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly now: () => number;
  private readonly dedupeWindowMs: number;
  readonly retentionMs: number;
  private queue: Waiting[] = [];
  private flushScheduled = false;
  private rejectedQueue: (RejectedInput & { at: number })[] = [];
  private rejectedTimer: NodeJS.Timeout | null = null;
  private lastFlushAt = 0;
  private readonly commitDelayMs: number;
  private readonly listeners = new Set<(destinations: ReadonlySet<string>) => void>();
  /** Group-commit figures for /metrics: commits, events in them, time spent committing. */
  readonly commitStats = { commits: 0, events: 0, ms: 0 };
  /** The last commit's failure, cleared by the next success; readiness shows it. */
  lastCommitError: string | null = null;
  private readonly stmt: ReturnType<Spool['prepare']>;
  private readonly commitBatch: (batch: Waiting[]) => (AcceptResult | Error)[];

  constructor(opts: SpoolOptions, private readonly plan: Planner = () => ({ destinations: [], rules: [], fallback: false })) {
    this.path = opts.path;
    this.now = opts.now ?? Date.now;
    this.dedupeWindowMs = opts.dedupeWindowMs ?? 10 * 60_000;
    this.retentionMs = opts.retentionMs ?? 7 * DAY;
    this.commitDelayMs = opts.commitDelayMs ?? 2;
    if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true });
    this.db = new Database(opts.path);
    this.db.pragma('journal_mode = WAL');
    // FULL: a commit is on disk when it returns, which is what our 2xx promises.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    let version = this.db.pragma('user_version', { simple: true }) as number;
    const fresh = version === 0;
    this.db.exec(SPOOL_DDL);
    if (!fresh) {
      for (; version < SPOOL_VERSION; version++) this.db.exec(SPOOL_MIGRATIONS[version] ?? '');
    }
    this.db.exec(SPOOL_LATE_DDL);
    this.db.pragma(`user_version = ${SPOOL_VERSION}`);
    this.stmt = this.prepare();
    // Each event in its own savepoint: one event that cannot be stored fails alone, never the
    // callbacks that happen to share its group commit.
    const storeOne = this.db.transaction((w: Waiting) => this.store(w.event, w.body));
    this.commitBatch = this.db.transaction((batch: Waiting[]) =>
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
  }

  private prepare() {
    const db = this.db;
    return {
      dedupeGet: db.prepare<[string, number], { event_id: string }>(
        'SELECT event_id FROM dedupe WHERE key = ? AND seen_at >= ?',
      ),
      dedupePut: db.prepare('INSERT OR REPLACE INTO dedupe (key, event_id, seen_at) VALUES (?, ?, ?)'),
      stateGet: db.prepare<[string], { rank: number }>('SELECT rank FROM message_state WHERE message_key = ?'),
      statePut: db.prepare(
        'INSERT OR REPLACE INTO message_state (message_key, rank, status, event_id, updated_at, profile) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      eventPut: db.prepare(
        'INSERT INTO events (event_id, message_key, type, profile, status_class, received_at, body) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      deliveryPut: db.prepare(
        `INSERT INTO deliveries (event_seq, destination, message_key, state, first_at, next_at, updated_at)
         VALUES (?, ?, ?, 'pending', ?, ?, ?)`,
      ),
      due: db.prepare<[{ dest: string; now: number; limit: number }], { id: number; event_id: string; message_key: string; type: string; attempts: number; first_at: number; body: string }>(
        `SELECT d.id, e.event_id, d.message_key, e.type, d.attempts, d.first_at, e.body
           FROM deliveries d INDEXED BY deliveries_queue JOIN events e ON e.seq = d.event_seq
          WHERE d.destination = @dest AND d.state = 'pending' AND d.next_at <= @now
            AND NOT EXISTS (SELECT 1 FROM deliveries p
                             WHERE p.destination = d.destination AND p.message_key = d.message_key
                               AND p.state = 'pending' AND p.id < d.id AND p.next_at > @now)
          ORDER BY d.id LIMIT @limit`,
      ),
      nextDue: db.prepare<[string], { at: number | null }>(
        "SELECT MIN(next_at) AS at FROM deliveries WHERE destination = ? AND state = 'pending'",
      ),
      done: db.prepare("UPDATE deliveries SET state = 'done', attempts = attempts + 1, updated_at = ?, last_code = NULL, last_error = NULL WHERE id = ? AND state = 'pending'"),
      retry: db.prepare(
        "UPDATE deliveries SET attempts = attempts + 1, next_at = ?, updated_at = ?, last_code = ?, last_error = ? WHERE id = ? AND state = 'pending'",
      ),
      dead: db.prepare(
        "UPDATE deliveries SET state = 'dead', attempts = attempts + 1, updated_at = ?, last_code = ?, last_error = ? WHERE id = ? AND state = 'pending'",
      ),
      rejectedPut: db.prepare(
        'INSERT INTO rejected (received_at, profile, status_code, reason, content_type, body, method, query) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      interim: db.prepare<[string, number, number], { message_key: string; event_id: string }>(
        `SELECT message_key, event_id FROM message_state INDEXED BY message_state_interim
          WHERE profile = ? AND rank = 1 AND missing_at IS NULL AND updated_at < ? ORDER BY updated_at LIMIT ?`,
      ),
      missingMark: db.prepare('UPDATE message_state SET missing_at = ? WHERE message_key = ?'),
    };
  }

  /** Called with the destinations that got new work after each commit. */
  onCommit(listener: (destinations: ReadonlySet<string>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Stores the event and its deliveries; resolves once the commit is on disk.
   * Rejects with StoreUnavailableError when the store cannot commit.
   */
  accept(event: DeliveryEvent): Promise<AcceptResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ event, body: JSON.stringify(event), resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // Under load (a commit just happened) wait a moment so concurrent requests share the
        // next disk flush (Postgres' commit_delay); when idle, commit at once.
        if (this.now() - this.lastFlushAt < this.commitDelayMs * 4) setTimeout(() => this.flush(), this.commitDelayMs);
        else setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    this.lastFlushAt = this.now();
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    let results: (AcceptResult | Error)[];
    try {
      const started = performance.now();
      results = this.commitBatch(batch);
      this.commitStats.ms += performance.now() - started;
      this.commitStats.commits++;
      this.commitStats.events += batch.length;
      this.lastCommitError = null;
    } catch (err) {
      this.lastCommitError = errorMessage(err);
      const failure = new StoreUnavailableError(`the spool could not commit: ${this.lastCommitError}`, err);
      for (const w of batch) w.reject(failure);
      return;
    }
    const touched = new Set<string>();
    batch.forEach((w, i) => {
      const r = results[i]!;
      if (r instanceof Error) {
        w.reject(new StoreUnavailableError(`the spool could not store this event: ${errorMessage(r)}`, r));
        return;
      }
      if (!r.duplicate) for (const d of r.route.destinations) touched.add(d);
      w.resolve(r);
    });
    if (touched.size > 0) for (const l of this.listeners) l(touched);
  }

  /** One event, inside the batch transaction: dedupe, order, plan, insert. */
  private store(event: DeliveryEvent, body: string): AcceptResult {
    const now = this.now();
    const s = this.stmt;
    const dedupeKey = resendKey(event);
    const seen = s.dedupeGet.get(dedupeKey, now - this.dedupeWindowMs);
    if (seen) return { eventId: seen.event_id, duplicate: true, stale: false, route: { destinations: [], rules: [], fallback: false } };
    s.dedupePut.run(dedupeKey, event.event_id, now);

    const rank = statusRank(event.status_class, event.status_final);
    const prior = s.stateGet.get(event.message_key);
    const stale = prior !== undefined && prior.rank > rank;
    if (!stale) s.statePut.run(event.message_key, rank, event.status, event.event_id, now, event.profile);
    const stored: DeliveryEvent = stale ? { ...event, stale: true } : event;

    const route = this.plan(stored);
    const seq = s.eventPut.run(
      stored.event_id,
      stored.message_key,
      stored.type,
      stored.profile,
      stored.status_class,
      now,
      stale ? JSON.stringify(stored) : body,
    ).lastInsertRowid;
    for (const d of route.destinations) s.deliveryPut.run(seq, d, stored.message_key, now, now, now);
    return { eventId: stored.event_id, duplicate: false, stale, route };
  }

  /**
   * Due deliveries for one destination, oldest first, skipping any whose message has an
   * earlier delivery to the same destination waiting for a retry (per-message order). Earlier
   * due ones come in the same batch, before it: a destination keeps batch order per message.
   */
  due(destination: string, limit: number): PendingDelivery[] {
    return this.stmt.due
      .all({ dest: destination, now: this.now(), limit })
      .map((r) => ({ id: r.id, eventId: r.event_id, messageKey: r.message_key, type: r.type, attempts: r.attempts, firstAt: r.first_at, body: r.body }));
  }

  /** When the destination's next pending delivery falls due (ms epoch), or null. */
  nextDueAt(destination: string): number | null {
    return this.stmt.nextDue.get(destination)?.at ?? null;
  }

  markDone(ids: readonly number[]): void {
    const now = this.now();
    this.db.transaction(() => {
      for (const id of ids) this.stmt.done.run(now, id);
    })();
  }

  markRetry(id: number, at: number, code: string, error: string): void {
    this.stmt.retry.run(at, this.now(), code, error.slice(0, 2000), id);
  }

  markDead(id: number, code: string, error: string): void {
    this.stmt.dead.run(this.now(), code, error.slice(0, 2000), id);
  }

  /**
   * Keeps a refused callback where an operator can see it. Written in batches a moment later:
   * a flood of bad requests must not cost a disk flush each.
   */
  recordRejected(r: RejectedInput): void {
    if (this.rejectedQueue.length >= 1_000) this.rejectedQueue.shift();
    this.rejectedQueue.push({ ...r, at: this.now(), body: r.body.slice(0, 262_144), query: r.query?.slice(0, 16_384) ?? null });
    if (!this.rejectedTimer) {
      this.rejectedTimer = setTimeout(() => this.flushRejected(), 200);
      this.rejectedTimer.unref();
    }
  }

  private flushRejected(): void {
    if (this.rejectedTimer) clearTimeout(this.rejectedTimer);
    this.rejectedTimer = null;
    const batch = this.rejectedQueue.splice(0);
    if (batch.length === 0 || !this.db.open) return;
    try {
      this.db.transaction(() => {
        for (const r of batch) {
          this.stmt.rejectedPut.run(r.at, r.profile, r.statusCode, r.reason, r.contentType, r.body, r.method ?? null, r.query ?? null);
        }
      })();
    } catch {
      // Best effort: a full disk must not turn a 4xx into a 5xx.
    }
  }

  /** Refused payloads, newest first; `pending` leaves out those already re-ingested. */
  listRejected(f: RejectedFilter = {}): RejectedRecord[] {
    this.flushRejected();
    const parts: string[] = [];
    const args: unknown[] = [];
    if (f.ids) (parts.push(f.ids.length ? `id IN (${f.ids.map(() => '?').join(',')})` : '0'), args.push(...f.ids));
    if (f.profile !== undefined) (parts.push('profile = ?'), args.push(f.profile));
    if (f.since !== undefined) (parts.push('received_at >= ?'), args.push(f.since));
    if (f.until !== undefined) (parts.push('received_at < ?'), args.push(f.until));
    if (f.pending) parts.push('replayed_event_id IS NULL');
    const where = parts.length ? parts.join(' AND ') : '1';
    return this.db
      .prepare(`SELECT * FROM rejected WHERE ${where} ORDER BY id ${f.oldestFirst ? 'ASC' : 'DESC'} LIMIT ?`)
      .all(...args, f.limit ?? 50) as RejectedRecord[];
  }

  /** Notes that a refused payload was re-ingested and accepted as `eventId`. */
  markRejectedReplayed(id: number, eventId: string): void {
    this.db.prepare('UPDATE rejected SET replayed_event_id = ? WHERE id = ?').run(eventId, id);
  }

  /**
   * Messages of `profile` whose latest report is interim (rank 1) and older than `before`, and
   * for which no "final report missing" event was made yet: their latest event, oldest first.
   */
  interimSince(profile: string, before: number, limit: number): { messageKey: string; last: DeliveryEvent | null }[] {
    return this.stmt.interim.all(profile, before, limit).map((r) => ({ messageKey: r.message_key, last: this.event(r.event_id) }));
  }

  /** Marks messages as announced missing, so the sweep makes their event once. */
  markFinalMissing(messageKeys: readonly string[]): void {
    const now = this.now();
    this.db.transaction(() => {
      for (const k of messageKeys) this.stmt.missingMark.run(now, k);
    })();
  }

  private where(state: string | null, f: DeliveryFilter): { sql: string; args: unknown[] } {
    const parts: string[] = [];
    const args: unknown[] = [];
    if (state) {
      parts.push('d.state = ?');
      args.push(state);
    }
    if (f.ids) {
      // An empty list names nothing, and must not widen to "all".
      parts.push(f.ids.length ? `d.id IN (${f.ids.map(() => '?').join(',')})` : '0');
      args.push(...f.ids);
    }
    if (f.destination) (parts.push('d.destination = ?'), args.push(f.destination));
    if (f.eventId) (parts.push('e.event_id = ?'), args.push(f.eventId));
    if (f.messageKey) (parts.push('d.message_key = ?'), args.push(f.messageKey));
    if (f.code) (parts.push('d.last_code = ?'), args.push(f.code));
    if (f.since !== undefined) (parts.push('e.received_at >= ?'), args.push(f.since));
    if (f.until !== undefined) (parts.push('e.received_at < ?'), args.push(f.until));
    return { sql: parts.length ? parts.join(' AND ') : '1', args };
  }

  /** Deliveries in a state (dead letters: 'dead'), newest first. */
  listDeliveries(state: 'pending' | 'done' | 'dead' | null, f: DeliveryFilter = {}): DeliveryRecord[] {
    const w = this.where(state, f);
    return this.db
      .prepare(
        `SELECT d.id, e.event_id, d.destination, d.message_key, d.state, d.attempts, d.first_at, d.next_at,
                d.updated_at, d.last_code, d.last_error
           FROM deliveries d JOIN events e ON e.seq = d.event_seq WHERE ${w.sql} ORDER BY d.id DESC LIMIT ?`,
      )
      .all(...w.args, f.limit ?? 100) as DeliveryRecord[];
  }

  /**
   * Puts dead (or, with `state: 'done'`, delivered) deliveries back in the queue with fresh
   * attempts. Returns how many.
   */
  replay(f: DeliveryFilter, state: 'dead' | 'done' = 'dead'): number {
    const w = this.where(state, f);
    const now = this.now();
    const changed = this.db
      .prepare(
        `UPDATE deliveries SET state = 'pending', attempts = 0, first_at = ?, next_at = ?, updated_at = ?
          WHERE id IN (SELECT d.id FROM deliveries d JOIN events e ON e.seq = d.event_seq WHERE ${w.sql}
                       ORDER BY d.id LIMIT ?)`,
      )
      .run(now, now, now, ...w.args, f.limit ?? -1).changes;
    if (changed > 0) this.notify(f.destination ? [f.destination] : this.pendingDestinations());
    return changed;
  }

  /**
   * Adds a delivery to `destination` for stored events (still within retention) that it has
   * not had yet: backfills a new webhook or topic. Returns how many.
   */
  backfill(destination: string, f: Omit<DeliveryFilter, 'destination' | 'ids' | 'code'> = {}): number {
    const w = this.where(null, { ...f });
    const sql = w.sql.replaceAll('d.message_key', 'e.message_key');
    const now = this.now();
    const changed = this.db
      .prepare(
        `INSERT INTO deliveries (event_seq, destination, message_key, state, first_at, next_at, updated_at)
         SELECT e.seq, ?, e.message_key, 'pending', ?, ?, ? FROM events e
          WHERE ${sql} AND NOT EXISTS (SELECT 1 FROM deliveries x WHERE x.event_seq = e.seq AND x.destination = ?)
          ORDER BY e.seq LIMIT ?`,
      )
      .run(destination, now, now, now, ...w.args, destination, f.limit ?? -1).changes;
    if (changed > 0) this.notify([destination]);
    return changed;
  }

  private notify(destinations: string[]): void {
    const set = new Set(destinations);
    for (const l of this.listeners) l(set);
  }

  pendingDestinations(): string[] {
    return this.db
      .prepare<[], { destination: string }>("SELECT DISTINCT destination FROM deliveries WHERE state = 'pending'")
      .all()
      .map((r) => r.destination);
  }

  disableDestination(destination: string, reason: string): void {
    this.db
      .prepare('INSERT OR REPLACE INTO destination_state (destination, disabled_at, reason) VALUES (?, ?, ?)')
      .run(destination, this.now(), reason);
  }

  enableDestination(destination: string): boolean {
    const n = this.db.prepare('DELETE FROM destination_state WHERE destination = ?').run(destination).changes;
    if (n > 0) this.notify([destination]);
    return n > 0;
  }

  disabledDestinations(): Map<string, { disabledAt: number; reason: string }> {
    const rows = this.db
      .prepare<[], { destination: string; disabled_at: number; reason: string }>('SELECT * FROM destination_state')
      .all();
    return new Map(rows.map((r) => [r.destination, { disabledAt: r.disabled_at, reason: r.reason }]));
  }

  /** Counts of deliveries per destination and state. */
  counts(): { destination: string; state: string; n: number }[] {
    return this.db
      .prepare<[], { destination: string; state: string; n: number }>(
        'SELECT destination, state, COUNT(*) AS n FROM deliveries GROUP BY destination, state ORDER BY destination, state',
      )
      .all();
  }

  /** Reads one stored event. */
  event(eventId: string): DeliveryEvent | null {
    const row = this.db.prepare<[string], { body: string }>('SELECT body FROM events WHERE event_id = ?').get(eventId);
    return row ? (JSON.parse(row.body) as DeliveryEvent) : null;
  }

  /**
   * Deletes what retention no longer keeps: events older than retention with nothing pending,
   * old dedupe keys and rejected payloads. Returns the number of events purged.
   */
  purge(): number {
    this.flushRejected();
    const now = this.now();
    const cutoff = now - this.retentionMs;
    return this.db.transaction(() => {
      const n = this.db
        .prepare(
          `DELETE FROM events WHERE received_at < ?
             AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = events.seq AND d.state = 'pending')`,
        )
        .run(cutoff).changes;
      this.db.prepare('DELETE FROM dedupe WHERE seen_at < ?').run(now - this.dedupeWindowMs);
      this.db.prepare('DELETE FROM rejected WHERE received_at < ?').run(cutoff);
      this.db
        .prepare("DELETE FROM message_state WHERE updated_at < ? AND message_key NOT IN (SELECT message_key FROM events)")
        .run(cutoff);
      return n;
    })();
  }

  /**
   * Can the store commit right now? Used by readiness. It commits a one-row write for real, so
   * readiness recovers as soon as the disk does, even while no traffic arrives to prove it.
   */
  writable(): boolean {
    try {
      this.db.prepare('INSERT OR REPLACE INTO probe (id, at) VALUES (1, ?)').run(this.now());
      this.lastCommitError = null;
      return true;
    } catch (err) {
      this.lastCommitError = errorMessage(err);
      return false;
    }
  }

  close(): void {
    this.flushRejected();
    if (this.db.open) this.db.close();
  }
}
