/** Opens the spool's SQLite file: the durability pragmas, the tables, and migrations from older versions. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { messageHash } from './message-hash.js';
import { SPOOL_DDL, SPOOL_LATE_DDL, SPOOL_MIGRATIONS, SPOOL_VERSION } from './schema.sql.js';

export type SpoolDb = Database.Database;

/**
 * @example const db = openSpoolDb('data/spool.db') // or ':memory:'
 */
export function openSpoolDb(path: string): SpoolDb {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // NORMAL: a commit returns without waiting for the disk; SQLite still syncs around each
  // checkpoint, so the file is never corrupt. A group commit's callbacks are answered only after
  // the WAL's own flush (wal-sync.ts), off the event loop: that is what our 2xx promises. Other
  // writes (delivery outcomes, operator actions, refused payloads) survive a killed process at
  // once and a power loss from the next checkpoint or group commit on.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  registerSpoolFunctions(db);
  // All of it or none: a migration cut short (a kill, a full disk) is run again whole next time.
  const migrate = db.transaction(() => {
    let version = db.pragma('user_version', { simple: true }) as number;
    // A newer router's spool may hold what this one cannot read or would undo: refuse to start.
    if (version > SPOOL_VERSION) throw new NewerSpoolError(path, version);
    const fresh = version === 0;
    const before = tableNames(db);
    db.exec(SPOOL_DDL);
    if (!fresh) {
      const made = new Set([...tableNames(db)].filter((t) => !before.has(t)));
      for (; version < SPOOL_VERSION; version++) runMigration(db, SPOOL_MIGRATIONS[version] ?? '', made);
    }
    db.exec(SPOOL_LATE_DDL);
    db.pragma(`user_version = ${SPOOL_VERSION}`);
  });
  try {
    migrate();
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** The spool was written by a newer router (a downgrade): this one does not open it. */
export class NewerSpoolError extends Error {
  constructor(path: string, version: number) {
    super(
      `the spool ${path} is at version ${version}, written by a newer router; this one reads versions up to ${SPOOL_VERSION}. ` +
        'Run the newer version (a downgrade is not supported), or start on an empty DATA_DIR.',
    );
    this.name = 'NewerSpoolError';
  }
}

/**
 * The SQL functions the spool's statements use: message_hash(key) (message-hash.ts), for the
 * statements that queue deliveries of stored events (a backfill, a replay, the migration to
 * version 6). Done by openSpoolDb, and by a Spool on a connection it is given.
 */
export function registerSpoolFunctions(db: SpoolDb): void {
  db.function('message_hash', { deterministic: true }, (key: unknown) => messageHash(String(key)));
}

function tableNames(db: SpoolDb): Set<string> {
  return new Set(db.prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all());
}

/**
 * Runs one migration's statements. A table SPOOL_DDL made just now (new since that version) is
 * already in its newest shape: statements that alter or update it are skipped. A column an older
 * table already has is not added twice.
 */
function runMigration(db: SpoolDb, sql: string, made: ReadonlySet<string>): void {
  for (const statement of sql.split(';').map((s) => s.trim()).filter(Boolean)) {
    const target = /^(?:ALTER TABLE|UPDATE) (\w+)/i.exec(statement)?.[1];
    if (target !== undefined && made.has(target)) continue;
    const add = /^ALTER TABLE (\w+) ADD COLUMN (\w+)/i.exec(statement);
    if (add && (db.pragma(`table_info(${add[1]})`) as { name: string }[]).some((c) => c.name === add[2])) continue;
    db.exec(statement);
  }
}
