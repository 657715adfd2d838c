/**
 * The accept step's memory in the spool: which events it holds and each message's furthest
 * status. A resend needs no table of its own here: an event's id is the UUID of its resend key
 * (eventIdOf), and the spool keeps every event at least as long as the resend window (purge), so
 * `hasEvent` finds every resend. The `dedupe` table this used to write, one row and two index
 * entries per event (about 280 bytes and a fifth of the commit's statements, measured in issue
 * 11), is now only emptied by the purge in spools made before version 5.
 */
import type { AcceptState } from '../accept/accept.js';
import type { SpoolDb } from './db.js';
import { encodeStoredId } from './stored-id.js';

export class SqliteAcceptState implements AcceptState {
  private readonly stmt;

  constructor(db: SpoolDb) {
    this.stmt = {
      eventGet: db.prepare<[string], { n: number }>('SELECT 1 AS n FROM events WHERE event_id = ?'),
      rankGet: db.prepare<[string], { rank: number }>('SELECT rank FROM message_state WHERE message_key = ?'),
      rankPut: db.prepare(
        'INSERT OR REPLACE INTO message_state (message_key, rank, status, event_id, updated_at, profile) VALUES (?, ?, ?, ?, ?, ?)',
      ),
    };
  }

  resendOf(): string | null {
    return null; // hasEvent answers it: see above
  }

  hasEvent(eventId: string): boolean {
    return this.stmt.eventGet.get(eventId) !== undefined;
  }

  rememberResend(): void {
    // The event row the commit writes is the memory.
  }

  rankOf(messageKey: string): number | null {
    return this.stmt.rankGet.get(messageKey)?.rank ?? null;
  }

  advance(messageKey: string, rank: number, status: string, eventId: string, at: number, profile: string): void {
    this.stmt.rankPut.run(messageKey, rank, status, encodeStoredId(eventId), at, profile);
  }
}
