/**
 * What operators do with the spool: list deliveries, replay dead (or delivered) ones, backfill
 * a destination, read an event, count, purge what retention no longer keeps, and find messages
 * whose final report never came. Every statement is prepared once; optional filters are NULL.
 */
import type { DeliveryEvent } from '../event.js';
import type { SpoolDb } from './db.js';
import type { DeliveryFilter, DeliveryRecord, DeliveryState, WorkNotifier } from './types.js';

/** The filter every delivery statement shares: each condition holds when its parameter is NULL. */
const DELIVERY_FILTER = `
      (@state IS NULL OR d.state = @state)
  AND (@ids IS NULL OR d.id IN (SELECT value FROM json_each(@ids)))
  AND (@destination IS NULL OR d.destination = @destination)
  AND (@eventId IS NULL OR e.event_id = @eventId)
  AND (@messageKey IS NULL OR d.message_key = @messageKey)
  AND (@code IS NULL OR d.last_code = @code)
  AND (@since IS NULL OR e.received_at >= @since)
  AND (@until IS NULL OR e.received_at < @until)`;

type Params = Record<string, string | number | null>;

function params(state: DeliveryState | null, f: DeliveryFilter, defaultLimit: number): Params {
  return {
    state,
    // An empty list names nothing, and must not widen to "all".
    ids: f.ids ? JSON.stringify(f.ids) : null,
    destination: f.destination ?? null,
    eventId: f.eventId ?? null,
    messageKey: f.messageKey ?? null,
    code: f.code ?? null,
    since: f.since ?? null,
    until: f.until ?? null,
    limit: f.limit ?? defaultLimit,
  };
}

export interface InterimMessage {
  messageKey: string;
  /** Its latest event, or null when retention already purged it. */
  last: DeliveryEvent | null;
}

export class SpoolOperations {
  private readonly stmt;

  constructor(
    private readonly db: SpoolDb,
    private readonly notifier: WorkNotifier,
    private readonly now: () => number,
    private readonly retention: { retentionMs: number; dedupeWindowMs: number },
    /** Writes anything still buffered (refused payloads) before a purge looks at the tables. */
    private readonly beforePurge: () => void = () => undefined,
  ) {
    this.stmt = {
      list: db.prepare<[Params], DeliveryRecord>(
        `SELECT d.id, e.event_id, d.destination, d.message_key, d.state, d.attempts, d.first_at, d.next_at,
                d.updated_at, d.last_code, d.last_error
           FROM deliveries d JOIN events e ON e.seq = d.event_seq WHERE ${DELIVERY_FILTER} ORDER BY d.id DESC LIMIT @limit`,
      ),
      replayed: db.prepare<[Params], { destination: string }>(
        `SELECT DISTINCT d.destination FROM deliveries d JOIN events e ON e.seq = d.event_seq WHERE ${DELIVERY_FILTER}`,
      ),
      replay: db.prepare(
        `UPDATE deliveries SET state = 'pending', attempts = 0, first_at = @now, next_at = @now, updated_at = @now
          WHERE id IN (SELECT d.id FROM deliveries d JOIN events e ON e.seq = d.event_seq WHERE ${DELIVERY_FILTER}
                       ORDER BY d.id LIMIT @limit)`,
      ),
      backfill: db.prepare(
        `INSERT INTO deliveries (event_seq, destination, message_key, state, first_at, next_at, updated_at)
         SELECT e.seq, @to, e.message_key, 'pending', @now, @now, @now FROM events e
          WHERE (@eventId IS NULL OR e.event_id = @eventId)
            AND (@messageKey IS NULL OR e.message_key = @messageKey)
            AND (@since IS NULL OR e.received_at >= @since)
            AND (@until IS NULL OR e.received_at < @until)
            AND NOT EXISTS (SELECT 1 FROM deliveries x WHERE x.event_seq = e.seq AND x.destination = @to)
          ORDER BY e.seq LIMIT @limit`,
      ),
      counts: db.prepare<[], { destination: string; state: string; n: number }>(
        'SELECT destination, state, COUNT(*) AS n FROM deliveries GROUP BY destination, state ORDER BY destination, state',
      ),
      event: db.prepare<[string], { body: string }>('SELECT body FROM events WHERE event_id = ?'),
      purgeEvents: db.prepare(
        `DELETE FROM events WHERE received_at < ?
           AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = events.seq AND d.state = 'pending')`,
      ),
      purgeDedupe: db.prepare('DELETE FROM dedupe WHERE seen_at < ?'),
      purgeRejected: db.prepare('DELETE FROM rejected WHERE received_at < ?'),
      purgeState: db.prepare('DELETE FROM message_state WHERE updated_at < ? AND message_key NOT IN (SELECT message_key FROM events)'),
      interim: db.prepare<[string, number, number], { message_key: string; event_id: string }>(
        `SELECT message_key, event_id FROM message_state INDEXED BY message_state_interim
          WHERE profile = ? AND rank = 1 AND missing_at IS NULL AND updated_at < ? ORDER BY updated_at LIMIT ?`,
      ),
      missingMark: db.prepare('UPDATE message_state SET missing_at = ? WHERE message_key = ?'),
    };
  }

  /** Deliveries in a state (dead letters: 'dead'), newest first. */
  listDeliveries(state: DeliveryState | null, f: DeliveryFilter = {}): DeliveryRecord[] {
    return this.stmt.list.all(params(state, f, 100));
  }

  /**
   * Puts dead (or, with `state: 'done'`, delivered) deliveries back in the queue with fresh
   * attempts. Returns how many.
   */
  replay(f: DeliveryFilter, state: 'dead' | 'done' = 'dead'): number {
    const p = params(state, f, -1);
    const destinations = this.stmt.replayed.all(p).map((r) => r.destination);
    const changed = this.stmt.replay.run({ ...p, now: this.now() }).changes;
    if (changed > 0) this.notifier.notify(destinations);
    return changed;
  }

  /**
   * Adds a delivery to `destination` for stored events (still within retention) that it has
   * not had yet: backfills a new webhook or topic. Returns how many.
   */
  backfill(destination: string, f: Omit<DeliveryFilter, 'destination' | 'ids' | 'code'> = {}): number {
    const p = params(null, f, -1);
    const changed = this.stmt.backfill.run({ to: destination, now: this.now(), eventId: p.eventId, messageKey: p.messageKey, since: p.since, until: p.until, limit: p.limit }).changes;
    if (changed > 0) this.notifier.notify([destination]);
    return changed;
  }

  /** Counts of deliveries per destination and state. */
  counts(): { destination: string; state: string; n: number }[] {
    return this.stmt.counts.all();
  }

  /** Reads one stored event. */
  event(eventId: string): DeliveryEvent | null {
    const row = this.stmt.event.get(eventId);
    return row ? (JSON.parse(row.body) as DeliveryEvent) : null;
  }

  /**
   * Deletes what retention no longer keeps: events older than retention with nothing pending,
   * old dedupe keys and rejected payloads. Returns the number of events purged.
   */
  purge(): number {
    this.beforePurge();
    const now = this.now();
    const cutoff = now - this.retention.retentionMs;
    return this.db.transaction(() => {
      const n = this.stmt.purgeEvents.run(cutoff).changes;
      this.stmt.purgeDedupe.run(now - this.retention.dedupeWindowMs);
      this.stmt.purgeRejected.run(cutoff);
      this.stmt.purgeState.run(cutoff);
      return n;
    })();
  }

  /**
   * Messages of `profile` whose latest report is interim (rank 1) and older than `before`, and
   * for which no "final report missing" event was made yet: their latest event, oldest first.
   */
  interimSince(profile: string, before: number, limit: number): InterimMessage[] {
    return this.stmt.interim.all(profile, before, limit).map((r) => ({ messageKey: r.message_key, last: this.event(r.event_id) }));
  }

  /** Marks messages as announced missing, so the sweep makes their event once. */
  markFinalMissing(messageKeys: readonly string[]): void {
    const now = this.now();
    this.db.transaction(() => {
      for (const k of messageKeys) this.stmt.missingMark.run(now, k);
    })();
  }
}
