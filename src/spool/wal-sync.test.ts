import { fdatasync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../errors.js';
import { eventFrom } from '../testing/events.js';
import { postSample } from '../testing/samples.js';
import { GroupCommit } from './commit.js';
import { openSpoolDb } from './db.js';
import { Spool } from './spool.js';
import { WorkNotifier } from './types.js';
import { WalSync, type DataSync } from './wal-sync.js';

/**
 * A flush that waits for the test to let it finish, counting how often it was started. finish()
 * first waits for the real flush under it, however long a loaded disk takes.
 */
function heldSync(): { sync: DataSync; started: () => number; finish: (err?: Error) => Promise<void> } {
  const pending: ((err: NodeJS.ErrnoException | null) => void)[] = [];
  let started = 0;
  return {
    sync: (fd, done) => {
      started++;
      // The real flush still runs, so the file is what a real one leaves.
      fdatasync(fd, (err) => (err ? done(err) : pending.push(done)));
    },
    started: () => started,
    finish: async (err) => {
      while (pending.length === 0) await new Promise((r) => setTimeout(r, 5));
      pending.shift()!(err ?? null);
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 20));

describe('WalSync: the disk flush of a group commit, off the event loop', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kcr-wal-sync-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('makes a caller that came while a flush ran wait for the next one, and lets every such caller share it', async () => {
    const file = join(dir, 'spool.db-wal');
    writeFileSync(file, 'frames');
    const held = heldSync();
    const wal = new WalSync(file, held.sync);
    const order: string[] = [];
    const first = wal.sync().then(() => order.push('first'));
    await tick();
    const later = [1, 2, 3].map((i) => wal.sync().then(() => order.push(`later ${i}`)));
    await tick();
    expect(held.started()).toBe(1);

    await held.finish();
    await first;
    await tick();
    expect(order).toEqual(['first']);
    expect(held.started()).toBe(2);

    await held.finish();
    await Promise.all(later);
    expect(order).toEqual(['first', 'later 1', 'later 2', 'later 3']);
    expect(held.started()).toBe(2);
    wal.close();
  });

  it('rejects the callers of a failed flush, and flushes again for the next caller', async () => {
    const file = join(dir, 'spool.db-wal');
    writeFileSync(file, 'frames');
    const held = heldSync();
    const wal = new WalSync(file, held.sync);
    const failed = wal.sync();
    await tick();
    await held.finish(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await expect(failed).rejects.toThrow(/EIO/);
    const next = wal.sync();
    await tick();
    await held.finish();
    await expect(next).resolves.toBeUndefined();
    expect(held.started()).toBe(2);
    wal.close();
  });

  it('has nothing to flush for a database without a file', async () => {
    const held = heldSync();
    await new WalSync(null, held.sync).sync();
    expect(held.started()).toBe(0);
  });

  it('answers a group commit only after its flush, while the rows are already there for the dispatcher', async () => {
    const db = openSpoolDb(':memory:');
    const notifier = new WorkNotifier();
    let release!: () => void;
    const flushed = new Promise<void>((r) => (release = r));
    const commits = new GroupCommit(db, notifier, {
      decide: (event) => ({ duplicate: false, event, stale: false, route: { destinations: ['kafka:events'], rules: ['all'], fallback: false } }),
      now: Date.now,
      durable: () => flushed,
    });
    const told: string[][] = [];
    notifier.on((destinations) => told.push([...destinations]));
    let answered = false;
    const accepted = commits.accept(eventFrom(postSample())).then((r) => {
      answered = true;
      return r;
    });
    await tick();
    expect(answered).toBe(false);
    expect(told).toEqual([['kafka:events']]);
    expect(db.prepare('SELECT COUNT(*) AS n FROM deliveries').get()).toEqual({ n: 1 });

    release();
    expect(await accepted).toMatchObject({ duplicate: false });
    expect(commits.stats.commits).toBe(1);
    db.close();
  });

  it('rejects with StoreUnavailableError (a 503) every callback of a commit whose flush failed, and says the store is failing', async () => {
    const db = openSpoolDb(':memory:');
    const commits = new GroupCommit(db, new WorkNotifier(), {
      decide: (event) => ({ duplicate: false, event, stale: false, route: { destinations: [], rules: [], fallback: false } }),
      now: Date.now,
      durable: () => Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })),
    });
    const results = await Promise.allSettled([commits.accept(eventFrom(postSample({ id: 'a' }))), commits.accept(eventFrom(postSample({ id: 'b' })))]);
    for (const r of results) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError);
    expect(commits.failing).toBe(true);
    expect(commits.lastError).toMatch(/EIO/);
    db.close();
  });

  it('flushes the spool file’s own WAL in a real spool', async () => {
    const path = join(dir, 'spool.db');
    const spool = new Spool({ path });
    await spool.commits.accept(eventFrom(postSample()));
    const open = readdirSync('/proc/self/fd').map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return '';
      }
    });
    // Two handles on the WAL: SQLite's own, and the one WalSync flushes.
    expect(open.filter((target) => target === `${path}-wal`)).toHaveLength(2);
    spool.close();
  });
});
