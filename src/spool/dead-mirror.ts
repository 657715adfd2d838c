/**
 * Dead letters kept elsewhere (cluster mode: the dead-letter topic), copied into this spool as
 * dead deliveries, so the operator operations (list, replay) work on them unchanged. Also notes
 * a replay done by another replica, so the copy does not show it dead any longer.
 */
import type { DeliveryEvent } from '../event.js';
import { encodeBody } from './body-codec.js';
import type { SpoolDb } from './db.js';
import { messageHash } from './message-hash.js';

export interface MirroredDeadLetter {
  event: DeliveryEvent;
  destination: string;
  code: string;
  error: string;
  /** When it died (ms epoch). */
  at: number;
}

export class DeadLetterMirror {
  private readonly stmt;

  constructor(private readonly db: SpoolDb) {
    this.stmt = {
      event: db.prepare(
        `INSERT OR IGNORE INTO events (event_id, message_key, type, profile, status_class, received_at, body,
           iso_code, request_id, status, status_final)
         VALUES (@event_id, @message_key, @type, @profile, @status_class, @received_at, @body,
           @iso_code, @request_id, @status, @status_final)`,
      ),
      seq: db.prepare<[string], { seq: number }>('SELECT seq FROM events WHERE event_id = ?'),
      update: db.prepare(
        `UPDATE deliveries SET state = 'dead', updated_at = @at, last_code = @code, last_error = @error
          WHERE event_seq = @seq AND destination = @destination AND state != 'pending'`,
      ),
      exists: db.prepare<[number, string], { n: number }>('SELECT 1 AS n FROM deliveries WHERE event_seq = ? AND destination = ?'),
      insert: db.prepare(
        `INSERT INTO deliveries (event_seq, destination, message_hash, state, attempts, first_at, next_at, updated_at, last_code, last_error)
         VALUES (@seq, @destination, @message_hash, 'dead', 1, @at, @at, @at, @code, @error)`,
      ),
      replayed: db.prepare(
        `UPDATE deliveries SET state = 'done', updated_at = @at, next_at = 0, message_hash = 0
          WHERE destination = @destination AND state = 'dead' AND event_seq = (SELECT seq FROM events WHERE event_id = @event_id)`,
      ),
    };
  }

  /** Records a dead letter (again, if it died again after a replay). */
  dead(d: MirroredDeadLetter): void {
    const e = d.event;
    this.db.transaction(() => {
      this.stmt.event.run({
        event_id: e.event_id,
        message_key: e.message_key,
        type: e.type,
        profile: e.profile,
        status_class: e.status_class,
        received_at: Date.parse(e.received_at) || d.at,
        body: encodeBody(JSON.stringify(e), e),
        iso_code: e.iso_code,
        request_id: e.request_id,
        status: e.status,
        status_final: e.status_final ? 1 : 0,
      });
      const seq = this.stmt.seq.get(e.event_id)!.seq;
      const row = { seq, destination: d.destination, message_hash: messageHash(e.message_key), code: d.code, error: d.error, at: d.at };
      if (this.stmt.exists.get(seq, d.destination)) this.stmt.update.run(row);
      else this.stmt.insert.run(row);
    })();
  }

  /** A replica replayed it: no longer dead here either. */
  replayed(eventId: string, destination: string, at: number): void {
    this.stmt.replayed.run({ event_id: eventId, destination, at });
  }
}
