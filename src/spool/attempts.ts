/**
 * The attempt log behind the message timeline: a dispatcher observer that writes one `attempts`
 * row per failed delivery attempt (retried, dead-lettered), one INSERT per batch, and one for a
 * dead letter written without an attempt (its destination disabled). A success needs no row: the
 * delivery itself keeps when it was done and the batch's round trip (`deliveries.latency_ms`,
 * written by the queue's markDone), and the timeline shows that as its last attempt. Spools
 * before version 5 also have rows for successes; the timeline reads both. The dispatcher tells it
 * inside the queue's transaction (DeliveryQueue.atomically), so a batch's attempts commit with
 * its outcomes, in one disk flush. Rows go with their event when retention purges it (ON DELETE
 * CASCADE).
 */
import type { DeliveryObserver, SettledDelivery } from '../dispatch/worker.js';
import type { QueuedDelivery } from '../dispatch/queue.js';
import type { SpoolDb } from './db.js';

/** The worker's code for a delivery dead-lettered because its destination is disabled: no batch, no attempt. */
export const DISABLED_CODE = 'destination_disabled';

/** Longest error kept per attempt, as `deliveries.last_error` keeps. */
const MAX_ERROR = 2000;

interface AttemptRow {
  delivery_id: number;
  attempt: number;
  outcome: 'delivered' | 'retry' | 'dead';
  status_code: number | null;
  code: string | null;
  error: string | null;
}

/**
 * The HTTP status a failure code carries (`http_503` -> 503), or null: a timeout, a Kafka error,
 * or a delivery (destinations report success without its status).
 * @example statusCodeOf('http_503') === 503; statusCodeOf('timeout') === null
 */
export function statusCodeOf(code: string | null): number | null {
  const m = code === null ? null : /^http_([1-5]\d\d)$/.exec(code);
  return m ? Number(m[1]) : null;
}

export class AttemptLog implements DeliveryObserver {
  private readonly insert;

  constructor(
    db: SpoolDb,
    private readonly now: () => number = Date.now,
  ) {
    // One statement whatever the batch size: the rows travel as one JSON array. A delivery the
    // spool no longer has (purged meanwhile) finds no row to join and is left out, not an error.
    this.insert = db.prepare<[{ rows: string; destination: string; at: number; latency: number }]>(
      `INSERT INTO attempts (event_seq, delivery_id, destination, attempt, at, latency_ms, outcome, status_code, code, error)
       SELECT d.event_seq, d.id, @destination, json_extract(r.value, '$.attempt'), @at, @latency,
              json_extract(r.value, '$.outcome'), json_extract(r.value, '$.status_code'),
              json_extract(r.value, '$.code'), json_extract(r.value, '$.error')
         FROM json_each(@rows) r JOIN deliveries d ON d.id = json_extract(r.value, '$.delivery_id')
        ORDER BY r.key`,
    );
  }

  /** Every failed attempt of the batch; skipped ones were not attempted, delivered ones see above. */
  batch(destination: string, settled: readonly SettledDelivery[], latencyMs: number): void {
    const rows = settled.filter((s) => s.result === 'retry' || s.result === 'dead').map((s) => row(s.delivery, s.result as AttemptRow['outcome'], s.code, s.error));
    const latency = Math.max(0, Math.round(latencyMs));
    this.write(destination, rows, this.now() - latency, latency);
  }

  /**
   * A dead letter. Those of a batch are in `batch` already; one for a disabled destination
   * never reaches a batch, so it is written here, as a dead outcome without a round trip.
   */
  dead(destination: string, delivery: QueuedDelivery, code: string, error: string): void {
    if (code !== DISABLED_CODE) return;
    this.write(destination, [row(delivery, 'dead', code, error)], this.now(), 0);
  }

  private write(destination: string, rows: AttemptRow[], at: number, latency: number): void {
    if (rows.length === 0) return;
    this.insert.run({ rows: JSON.stringify(rows), destination, at, latency });
  }
}

function row(d: QueuedDelivery, outcome: AttemptRow['outcome'], code: string | null, error: string | null): AttemptRow {
  // The worker already redacted the error; it is cut to the size the deliveries table keeps.
  return { delivery_id: d.id, attempt: d.attempts + 1, outcome, status_code: statusCodeOf(code), code, error: error === null ? null : error.slice(0, MAX_ERROR) };
}
