/**
 * Deliveries per destination and state, kept as they change, so /metrics never scans the
 * deliveries table. Temporary triggers on this connection keep a tally in a TEMP table: every
 * insert, state change and delete (a group commit, done/retry/dead, a replay, a backfill, a
 * purge's cascade, the dead-letter mirror) updates it in the same transaction, so a rolled-back
 * commit or savepoint rolls the tally back too, and no writer can forget to tell it.
 * Writes by another process (the CLI's replay) do not fire this connection's triggers: SQLite's
 * `data_version` says when one happened, and the next read counts once again.
 */
import type { SpoolDb } from './db.js';

const TALLY_DDL = `
CREATE TEMP TABLE IF NOT EXISTS delivery_tally (
  destination TEXT NOT NULL,
  state       TEXT NOT NULL,
  n           INTEGER NOT NULL,
  PRIMARY KEY (destination, state)
) WITHOUT ROWID;
CREATE TEMP TRIGGER IF NOT EXISTS delivery_tally_insert AFTER INSERT ON main.deliveries BEGIN
  INSERT INTO delivery_tally (destination, state, n) VALUES (NEW.destination, NEW.state, 1)
    ON CONFLICT (destination, state) DO UPDATE SET n = n + 1;
END;
CREATE TEMP TRIGGER IF NOT EXISTS delivery_tally_delete AFTER DELETE ON main.deliveries BEGIN
  UPDATE delivery_tally SET n = n - 1 WHERE destination = OLD.destination AND state = OLD.state;
END;
CREATE TEMP TRIGGER IF NOT EXISTS delivery_tally_update AFTER UPDATE OF state, destination ON main.deliveries
  WHEN OLD.state IS NOT NEW.state OR OLD.destination IS NOT NEW.destination BEGIN
  UPDATE delivery_tally SET n = n - 1 WHERE destination = OLD.destination AND state = OLD.state;
  INSERT INTO delivery_tally (destination, state, n) VALUES (NEW.destination, NEW.state, 1)
    ON CONFLICT (destination, state) DO UPDATE SET n = n + 1;
END;
`;

export interface DeliveryCount {
  destination: string;
  state: string;
  n: number;
}

export class DeliveryCounts {
  private readonly stmt;
  private readonly recount: () => void;
  private dataVersion: number;

  constructor(private readonly db: SpoolDb) {
    db.exec(TALLY_DDL);
    this.stmt = {
      tally: db.prepare<[], DeliveryCount>('SELECT destination, state, n FROM temp.delivery_tally WHERE n <> 0 ORDER BY destination, state'),
    };
    const clear = db.prepare('DELETE FROM temp.delivery_tally');
    const fill = db.prepare(
      'INSERT INTO temp.delivery_tally (destination, state, n) SELECT destination, state, COUNT(*) FROM main.deliveries GROUP BY destination, state',
    );
    this.recount = db.transaction(() => {
      clear.run();
      fill.run();
    });
    this.dataVersion = this.version();
    this.recount();
  }

  /**
   * Deliveries per destination and state, as `operations.counts()` would count them, read from
   * the tally (a handful of rows). Counts once again only after another process wrote the file.
   * @example spool.deliveryCounts.read() // [{ destination: 'kafka:events', state: 'pending', n: 3 }]
   */
  read(): DeliveryCount[] {
    const version = this.version();
    if (version !== this.dataVersion) {
      this.recount();
      this.dataVersion = version;
    }
    return this.stmt.tally.all();
  }

  /** Changes when another connection commits to the database file (not on this connection's own commits). */
  private version(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }
}
