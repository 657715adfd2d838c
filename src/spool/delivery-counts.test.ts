import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeliveryEvent } from '../event.js';
import { eventFrom } from '../testing/events.js';
import { postSample } from '../testing/samples.js';
import { openSpoolDb } from './db.js';
import { Spool } from './spool.js';

const DAY = 86_400_000;
const TWO = { destinations: ['kafka:events', 'webhook:crm'], rules: ['all'], fallback: false };

function report(messageId: string, status = 'Delivered'): DeliveryEvent {
  return eventFrom(postSample({ message_id: messageId, id: randomUUID(), status }));
}

describe('DeliveryCounts: deliveries per destination and state, kept as they change', () => {
  let dir: string;
  let path: string;
  let statements: string[];
  let now: number;
  let spool: Spool;
  let db: Database.Database;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kcr-counts-'));
    path = join(dir, 'spool.db');
    openSpoolDb(path).close();
    // The same file through a connection that logs every statement it runs.
    statements = [];
    db = new Database(path, { verbose: (sql) => statements.push(String(sql)) });
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    now = Date.now();
    spool = new Spool({ path, db, plan: () => TWO, now: () => now, retentionMs: DAY });
  });

  afterEach(() => {
    spool.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const tally = () => spool.deliveryCounts.read();
  const counted = () => spool.operations.counts();

  it('equals a fresh count after commits, done, retry, dead, replay, backfill and purge', async () => {
    for (let i = 0; i < 6; i++) await spool.commits.accept(report(`m-${i}`));
    expect(tally()).toEqual(counted());

    const [a, b, c] = spool.queue.due('kafka:events', 3);
    spool.queue.markDone([a!.id, b!.id]);
    spool.queue.markRetry(c!.id, now + 60_000, 'http_503', 'later');
    const [d] = spool.queue.due('webhook:crm', 1);
    spool.queue.markDead(d!.id, 'http_400', 'refused');
    spool.queue.markDead(d!.id, 'http_400', 'refused twice'); // no longer pending: changes nothing
    expect(tally()).toEqual(counted());

    spool.operations.replay({ destination: 'webhook:crm' });
    spool.operations.backfill('kafka:audit');
    expect(tally()).toEqual(counted());
    expect(tally()).toContainEqual({ destination: 'kafka:audit', state: 'pending', n: 6 });

    // A purge deletes the old events' done and dead deliveries by cascade.
    for (const dest of ['kafka:events', 'webhook:crm', 'kafka:audit']) spool.queue.markDone(spool.queue.due(dest, 100).map((x) => x.id));
    now += 2 * DAY;
    spool.operations.purge();
    expect(tally()).toEqual(counted());
  });

  it('a resend and a rolled-back transaction count nothing', async () => {
    const event = report('m-dup');
    await spool.commits.accept(event);
    await spool.commits.accept(event);
    expect(() =>
      db.transaction(() => {
        spool.operations.backfill('kafka:audit');
        throw new Error('disk full, say');
      })(),
    ).toThrow('disk full');
    expect(tally()).toEqual([
      { destination: 'kafka:events', state: 'pending', n: 1 },
      { destination: 'webhook:crm', state: 'pending', n: 1 },
    ]);
    expect(tally()).toEqual(counted());
  });

  it('counts again after another process wrote the file (the CLI replaying)', async () => {
    await spool.commits.accept(report('m-1'));
    const [x] = spool.queue.due('kafka:events', 1);
    spool.queue.markDead(x!.id, 'http_400', 'refused');
    const cli = new Spool({ path, plan: () => TWO });
    try {
      expect(cli.operations.replay({})).toBe(1);
    } finally {
      cli.close();
    }
    expect(tally()).toEqual([
      { destination: 'kafka:events', state: 'pending', n: 1 },
      { destination: 'webhook:crm', state: 'pending', n: 1 },
    ]);
  });

  it('a read runs no statement over the deliveries table', async () => {
    for (let i = 0; i < 3; i++) await spool.commits.accept(report(`m-${i}`));
    tally();
    statements.length = 0;
    for (let i = 0; i < 5; i++) tally();
    expect(statements.length).toBeGreaterThan(0);
    expect(statements.filter((s) => /\bdeliveries\b/i.test(s))).toEqual([]);
  });
});
