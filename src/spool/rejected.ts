/**
 * Refused callbacks kept for operators: written in batches a moment after they arrive (a flood
 * of bad requests must not cost a disk flush each), listed, and marked once re-ingested.
 */
import type { SpoolDb } from './db.js';
import type { RejectedFilter, RejectedInput, RejectedRecord } from './types.js';

/** At most this many wait for the next batch; older ones give way to newer. */
const QUEUE_MAX = 1_000;
const BODY_MAX = 262_144;
const QUERY_MAX = 16_384;

export class RejectedStore {
  private queue: (RejectedInput & { at: number })[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly stmt;
  private readonly writeAll: (batch: (RejectedInput & { at: number })[]) => void;

  constructor(
    private readonly db: SpoolDb,
    private readonly now: () => number,
  ) {
    this.stmt = {
      put: db.prepare(
        'INSERT INTO rejected (received_at, profile, status_code, reason, content_type, body, method, query) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      // Every filter optional: one statement, prepared once.
      list: db.prepare<[Record<string, unknown>], RejectedRecord>(
        `SELECT * FROM rejected
          WHERE (@ids IS NULL OR id IN (SELECT value FROM json_each(@ids)))
            AND (@profile IS NULL OR profile = @profile)
            AND (@since IS NULL OR received_at >= @since)
            AND (@until IS NULL OR received_at < @until)
            AND (@pending = 0 OR replayed_event_id IS NULL)
          ORDER BY CASE WHEN @oldestFirst = 1 THEN id ELSE -id END LIMIT @limit`,
      ),
      replayed: db.prepare('UPDATE rejected SET replayed_event_id = ? WHERE id = ?'),
    };
    this.writeAll = db.transaction((batch: (RejectedInput & { at: number })[]) => {
      for (const r of batch) this.stmt.put.run(r.at, r.profile, r.statusCode, r.reason, r.contentType, r.body, r.method ?? null, r.query ?? null);
    });
  }

  record(r: RejectedInput): void {
    if (this.queue.length >= QUEUE_MAX) this.queue.shift();
    this.queue.push({ ...r, at: this.now(), body: r.body.slice(0, BODY_MAX), query: r.query?.slice(0, QUERY_MAX) ?? null });
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), 200);
      this.timer.unref();
    }
  }

  /** Writes what waits. Best effort: a full disk must not turn a 4xx into a 5xx. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.queue.splice(0);
    if (batch.length === 0 || !this.db.open) return;
    try {
      this.writeAll(batch);
    } catch {
      // Dropped: the payload was a refusal, and the client already has its 4xx.
    }
  }

  /** Refused payloads, newest first; `pending` leaves out those already re-ingested. */
  list(f: RejectedFilter = {}): RejectedRecord[] {
    this.flush();
    return this.stmt.list.all({
      ids: f.ids ? JSON.stringify(f.ids) : null,
      profile: f.profile ?? null,
      since: f.since ?? null,
      until: f.until ?? null,
      pending: f.pending ? 1 : 0,
      oldestFirst: f.oldestFirst ? 1 : 0,
      limit: f.limit ?? 50,
    });
  }

  /** Notes that a refused payload was re-ingested and accepted as `eventId`. */
  markReplayed(id: number, eventId: string): void {
    this.stmt.replayed.run(eventId, id);
  }
}
