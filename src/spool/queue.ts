/**
 * The delivery queue over the spool: what is due for a destination, its outcomes marked, and
 * destinations switched off by the far end. What the dispatcher works from.
 *
 * The rows are the queue; while they hold nothing else for a destination, the deliveries the
 * commits make are also kept in memory, in row order, and `due` answers from there without a
 * query (the query was ~7 % of the event loop at saturation). Anything that could make the two
 * differ sends the destination back to the rows until they drain again: a retry (it waits, and
 * its message's later deliveries with it), work that came from elsewhere (a replay, a backfill,
 * an enable), more than HELD_MAX waiting, and every RECHECK_MS in any case, for the rows another
 * process writes (`kcr replay` against a running router).
 */
import { childContext, decodeStoredTrace } from '../trace/context.js';
import { decodeBody } from './body-codec.js';
import type { SpoolDb } from './db.js';
import type { RecentBodies } from './recent-bodies.js';
import type { MadeDelivery, PendingDelivery, WorkListener, WorkNotifier } from './types.js';

/** How long the queue answers a destination from memory before it reads the rows again. */
export const RECHECK_MS = 1_000;
/** Most deliveries kept in memory for one destination (a stalled one reads the rows alone). */
export const HELD_MAX = 4_096;

/** A destination's pending deliveries, all of them, in row order; since: when read from the rows. */
interface Held {
  items: Map<number, MadeDelivery>;
  since: number;
}

export class SpoolQueue {
  private readonly stmt;
  private readonly inTransaction: <T>(work: () => T) => T;
  /** Destinations whose pending rows are all in memory too (see above). */
  private readonly held = new Map<string, Held>();

  constructor(
    db: SpoolDb,
    private readonly notifier: WorkNotifier,
    private readonly now: () => number,
    private readonly recent?: RecentBodies,
  ) {
    this.stmt = {
      due: db.prepare<[{ dest: string; now: number; limit: number }], { id: number; seq: number; event_id: string; message_key: string; request_id: string | null; type: string; attempts: number; first_at: number; body: string | Buffer; traceparent: string | Buffer | null }>(
        `SELECT d.id, e.seq, e.event_id, e.message_key, e.request_id, e.type, d.attempts, d.first_at, e.body, e.traceparent
           FROM deliveries d INDEXED BY deliveries_queue JOIN events e ON e.seq = d.event_seq
          WHERE d.destination = @dest AND d.state = 'pending' AND d.next_at <= @now
            AND NOT EXISTS (SELECT 1 FROM deliveries p INDEXED BY deliveries_waiting
                             WHERE p.destination = d.destination AND p.message_hash = d.message_hash
                               AND p.state = 'pending' AND p.attempts > 0 AND p.id < d.id AND p.next_at > @now)
          ORDER BY d.id LIMIT @limit`,
      ),
      nextDue: db.prepare<[string], { at: number | null }>("SELECT MIN(next_at) AS at FROM deliveries WHERE destination = ? AND state = 'pending'"),
      // The queue's head: one index lookup, however long the backlog.
      oldestPending: db.prepare<[string], { first_at: number }>(
        "SELECT first_at FROM deliveries INDEXED BY deliveries_queue WHERE destination = ? AND state = 'pending' ORDER BY id LIMIT 1",
      ),
      pendingCount: db.prepare<[string], { n: number }>("SELECT COUNT(*) AS n FROM deliveries INDEXED BY deliveries_queue WHERE destination = ? AND state = 'pending'"),
      // A whole batch in one statement: its ids travel as one JSON array. Out of the queue, a
      // delivery has no schedule and no place in its message's order: both become 0, stored in
      // no bytes at all (a replay sets them again).
      done: db.prepare(
        `UPDATE deliveries SET state = 'done', attempts = attempts + 1, updated_at = ?, latency_ms = ?, last_code = NULL, last_error = NULL,
                               next_at = 0, message_hash = 0
          WHERE id IN (SELECT value FROM json_each(?)) AND state = 'pending'`,
      ),
      retry: db.prepare(
        "UPDATE deliveries SET attempts = attempts + 1, next_at = ?, updated_at = ?, last_code = ?, last_error = ? WHERE id = ? AND state = 'pending'",
      ),
      dead: db.prepare(
        "UPDATE deliveries SET state = 'dead', attempts = attempts + 1, updated_at = ?, last_code = ?, last_error = ? WHERE id = ? AND state = 'pending'",
      ),
      pendingDestinations: db.prepare<[], { destination: string }>("SELECT DISTINCT destination FROM deliveries WHERE state = 'pending'"),
      disable: db.prepare('INSERT OR REPLACE INTO destination_state (destination, disabled_at, reason) VALUES (?, ?, ?)'),
      enable: db.prepare('DELETE FROM destination_state WHERE destination = ?'),
      disabled: db.prepare<[], { destination: string; disabled_at: number; reason: string }>('SELECT * FROM destination_state'),
    };
    const transaction = db.transaction((work: () => unknown) => work());
    this.inTransaction = <T>(work: () => T) => transaction(work) as T;
    // Subscribed before the dispatcher, so what a commit made is here when its workers wake.
    notifier.on((destinations, made) => {
      if (!made) {
        for (const d of destinations) this.held.delete(d);
        return;
      }
      for (const m of made) {
        const held = this.held.get(m.destination);
        if (!held) continue;
        if (held.items.size < HELD_MAX) held.items.set(m.id, m);
        else this.held.delete(m.destination);
      }
    });
  }

  /** Called with the destinations that got new work (commits, replays, backfills, enables). */
  onCommit(listener: WorkListener): () => void {
    return this.notifier.on(listener);
  }

  /**
   * Due deliveries for one destination, oldest first, skipping any whose message has an
   * earlier delivery to the same destination waiting for a retry (per-message order). Earlier
   * due ones come in the same batch, before it: a destination keeps batch order per message.
   * Each carries a new child span of its callback's trace: this attempt's, passed on in headers.
   */
  due(destination: string, limit: number): PendingDelivery[] {
    const now = this.now();
    const held = this.held.get(destination);
    const batch: MadeDelivery[] = [];
    if (held && held.items.size > 0 && now - held.since < RECHECK_MS) {
      for (const d of held.items.values()) {
        if (batch.length >= limit) break;
        batch.push(d);
      }
      return batch.map(attempt);
    }
    for (const r of this.stmt.due.all({ dest: destination, now, limit })) {
      const body = this.recent?.get(r.seq, r.event_id) ?? decodeBody(r.body, r);
      batch.push({ destination, id: r.id, eventId: r.event_id, messageKey: r.message_key, type: r.type, attempts: r.attempts, firstAt: r.first_at, body, storedTrace: r.traceparent });
    }
    // Every pending row is in this batch: memory can follow the destination from here.
    if (batch.length < limit && this.pendingCount(destination) === batch.length) this.held.set(destination, { items: new Map(batch.map((d) => [d.id, d])), since: now });
    else this.held.delete(destination);
    return batch.map(attempt);
  }

  /** How many of the destination's pending deliveries `due` answers from memory (0: from the rows). */
  inMemory(destination: string): number {
    return this.held.get(destination)?.items.size ?? 0;
  }

  /** When the destination's next pending delivery falls due (ms epoch), or null. */
  nextDueAt(destination: string): number | null {
    return this.stmt.nextDue.get(destination)?.at ?? null;
  }

  /** Pending deliveries for one destination, counted on the queue's index (not a table scan). */
  pendingCount(destination: string): number {
    return this.stmt.pendingCount.get(destination)?.n ?? 0;
  }

  /**
   * When the head of the destination's queue (its oldest pending delivery by arrival) was
   * accepted or last replayed (ms epoch), or null when nothing is pending. An index lookup.
   */
  oldestPendingAt(destination: string): number | null {
    return this.stmt.oldestPending.get(destination)?.first_at ?? null;
  }

  markDone(ids: readonly number[], latencyMs?: number): void {
    const latency = latencyMs === undefined ? null : Math.max(0, Math.round(latencyMs));
    if (ids.length === 0) return;
    this.stmt.done.run(this.now(), latency, JSON.stringify(ids));
    for (const held of this.held.values()) for (const id of ids) held.items.delete(id);
  }

  /**
   * Runs `work` in one transaction (one disk flush): the dispatcher settles a batch in it, so
   * its outcomes and the attempt log written by its observer commit together.
   */
  atomically<T>(work: () => T): T {
    try {
      return this.inTransaction(work);
    } catch (err) {
      // Rolled back: what `work` took out of memory is pending again in the rows.
      this.held.clear();
      throw err;
    }
  }

  markRetry(id: number, at: number, code: string, error: string): void {
    this.stmt.retry.run(at, this.now(), code, error.slice(0, 2000), id);
    // It waits now, and its message's later deliveries with it: the rows' query knows that order.
    for (const [destination, held] of this.held) if (held.items.has(id)) this.held.delete(destination);
  }

  markDead(id: number, code: string, error: string): void {
    this.stmt.dead.run(this.now(), code, error.slice(0, 2000), id);
    for (const held of this.held.values()) held.items.delete(id);
  }

  pendingDestinations(): string[] {
    return this.stmt.pendingDestinations.all().map((r) => r.destination);
  }

  disableDestination(destination: string, reason: string): void {
    this.stmt.disable.run(destination, this.now(), reason);
  }

  enableDestination(destination: string): boolean {
    const n = this.stmt.enable.run(destination).changes;
    if (n > 0) this.notifier.notify([destination]);
    return n > 0;
  }

  disabledDestinations(): Map<string, { disabledAt: number; reason: string }> {
    return new Map(this.stmt.disabled.all().map((r) => [r.destination, { disabledAt: r.disabled_at, reason: r.reason }]));
  }
}

/** One attempt at a pending delivery: a new child span of its callback's trace. */
function attempt(d: MadeDelivery): PendingDelivery {
  const callback = decodeStoredTrace(d.storedTrace);
  return { id: d.id, eventId: d.eventId, messageKey: d.messageKey, type: d.type, attempts: d.attempts, firstAt: d.firstAt, body: d.body, trace: callback && childContext(callback) };
}
