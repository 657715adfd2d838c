/** Opens the spool's SQLite file: the durability pragmas, the tables, and migrations from older versions. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { SPOOL_DDL, SPOOL_LATE_DDL, SPOOL_MIGRATIONS, SPOOL_VERSION } from './schema.sql.js';

export type SpoolDb = Database.Database;

/**
 * @example const db = openSpoolDb('data/spool.db') // or ':memory:'
 */
export function openSpoolDb(path: string): SpoolDb {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // FULL: a commit is on disk when it returns, which is what our 2xx promises.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  let version = db.pragma('user_version', { simple: true }) as number;
  const fresh = version === 0;
  db.exec(SPOOL_DDL);
  if (!fresh) {
    for (; version < SPOOL_VERSION; version++) migrate(db, SPOOL_MIGRATIONS[version] ?? '');
  }
  db.exec(SPOOL_LATE_DDL);
  db.pragma(`user_version = ${SPOOL_VERSION}`);
  return db;
}

/**
 * Runs one migration's statements. A column the tables made above already have (a table new
 * since that version) is not added twice.
 */
function migrate(db: SpoolDb, sql: string): void {
  for (const statement of sql.split(';').map((s) => s.trim()).filter(Boolean)) {
    const add = /^ALTER TABLE (\w+) ADD COLUMN (\w+)/i.exec(statement);
    if (add && (db.pragma(`table_info(${add[1]})`) as { name: string }[]).some((c) => c.name === add[2])) continue;
    db.exec(statement);
  }
}
