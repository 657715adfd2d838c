/** The accept step's memory in the spool: resend keys and each message's furthest status. */
import type { AcceptState } from '../accept/accept.js';
import type { SpoolDb } from './db.js';

export class SqliteAcceptState implements AcceptState {
  private readonly stmt;

  constructor(db: SpoolDb) {
    this.stmt = {
      resendGet: db.prepare<[string, number], { event_id: string }>('SELECT event_id FROM dedupe WHERE key = ? AND seen_at >= ?'),
      resendPut: db.prepare('INSERT OR REPLACE INTO dedupe (key, event_id, seen_at) VALUES (?, ?, ?)'),
      eventGet: db.prepare<[string], { n: number }>('SELECT 1 AS n FROM events WHERE event_id = ?'),
      rankGet: db.prepare<[string], { rank: number }>('SELECT rank FROM message_state WHERE message_key = ?'),
      rankPut: db.prepare(
        'INSERT OR REPLACE INTO message_state (message_key, rank, status, event_id, updated_at, profile) VALUES (?, ?, ?, ?, ?, ?)',
      ),
    };
  }

  resendOf(key: string, since: number): string | null {
    return this.stmt.resendGet.get(key, since)?.event_id ?? null;
  }

  hasEvent(eventId: string): boolean {
    return this.stmt.eventGet.get(eventId) !== undefined;
  }

  rememberResend(key: string, eventId: string, at: number): void {
    this.stmt.resendPut.run(key, eventId, at);
  }

  rankOf(messageKey: string): number | null {
    return this.stmt.rankGet.get(messageKey)?.rank ?? null;
  }

  advance(messageKey: string, rank: number, status: string, eventId: string, at: number, profile: string): void {
    this.stmt.rankPut.run(messageKey, rank, status, eventId, at, profile);
  }
}
