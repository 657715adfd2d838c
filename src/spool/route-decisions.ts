/**
 * The routing decisions events are accepted with, each kept once (spool version 6): an event
 * names its decision by id (`events.route_id`) instead of carrying its ~100 bytes of JSON, since
 * a config yields a handful of distinct decisions. Readers join `route_decisions` and fall back
 * to `events.route`, where versions 4 and 5 kept the JSON itself (ROUTE_OF_EVENT).
 */
import type { SpoolDb } from './db.js';

/**
 * The stored decision of the event `e` as a column `route` (JSON, or null), for a query over
 * `events e ${ROUTE_JOIN}`.
 * @example db.prepare(`SELECT e.seq, ${ROUTE_OF_EVENT} FROM events e ${ROUTE_JOIN} WHERE e.seq = ?`)
 */
export const ROUTE_OF_EVENT = 'COALESCE(r.decision, e.route) AS route';
export const ROUTE_JOIN = 'LEFT JOIN route_decisions r ON r.id = e.route_id';

export class RouteDecisions {
  /** Decision JSON -> its id, for decisions this process has seen committed or looked up. */
  private readonly ids = new Map<string, number>();
  private readonly stmt;

  constructor(db: SpoolDb) {
    this.stmt = {
      put: db.prepare('INSERT OR IGNORE INTO route_decisions (decision) VALUES (?)'),
      get: db.prepare<[string], { id: number }>('SELECT id FROM route_decisions WHERE decision = ?'),
    };
  }

  /**
   * The id of the decision (its JSON), stored now when it is new. Call it inside the transaction
   * that writes the event; if that transaction rolls back, call forget().
   */
  idOf(decision: string): number {
    let id = this.ids.get(decision);
    if (id === undefined) {
      this.stmt.put.run(decision);
      id = this.stmt.get.get(decision)!.id;
      this.ids.set(decision, id);
    }
    return id;
  }

  /** Drops what is remembered: a rolled-back transaction may have taken a new decision with it. */
  forget(): void {
    this.ids.clear();
  }
}
