/**
 * The delivery queue over the spool: what is due for a destination, its outcomes marked, and
 * destinations switched off by the far end. What the dispatcher works from.
 */
import { childContext, decodeStoredTrace } from '../trace/context.js';
import { decodeBody } from './body-codec.js';
import type { SpoolDb } from './db.js';
import type { RecentBodies } from './recent-bodies.js';
import type { PendingDelivery, WorkListener, WorkNotifier } from './types.js';

export class SpoolQueue {
  private readonly stmt;
  private readonly inTransaction: <T>(work: () => T) => T;

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
            AND NOT EXISTS (SELECT 1 FROM deliveries p
                             WHERE p.destination = d.destination AND p.message_hash = d.message_hash
                               AND p.state = 'pending' AND p.id < d.id AND p.next_at > @now)
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
    return this.stmt.due
      .all({ dest: destination, now: this.now(), limit })
      .map((r) => {
        const callback = decodeStoredTrace(r.traceparent);
        return { id: r.id, eventId: r.event_id, messageKey: r.message_key, type: r.type, attempts: r.attempts, firstAt: r.first_at, body: this.recent?.get(r.seq, r.event_id) ?? decodeBody(r.body, r), trace: callback && childContext(callback) };
      });
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
    if (ids.length > 0) this.stmt.done.run(this.now(), latency, JSON.stringify(ids));
  }

  /**
   * Runs `work` in one transaction (one disk flush): the dispatcher settles a batch in it, so
   * its outcomes and the attempt log written by its observer commit together.
   */
  atomically<T>(work: () => T): T {
    return this.inTransaction(work);
  }

  markRetry(id: number, at: number, code: string, error: string): void {
    this.stmt.retry.run(at, this.now(), code, error.slice(0, 2000), id);
  }

  markDead(id: number, code: string, error: string): void {
    this.stmt.dead.run(this.now(), code, error.slice(0, 2000), id);
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
