/**
 * The deliveries a commit makes, kept in memory by the queue (queue.ts): `due` answers from
 * there exactly what the rows would answer, and goes back to the rows whenever the two could
 * differ (a retry, work from a replay, another process, too many waiting).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeliveryEvent } from '../event.js';
import { eventFrom } from '../testing/events.js';
import { postSample } from '../testing/samples.js';
import { planSpoolTest } from '../testing/spool-routes.js';
import { openSpoolDb, type SpoolDb } from './db.js';
import { HELD_MAX, RECHECK_MS, SpoolQueue } from './queue.js';
import { Spool, type PendingDelivery } from './spool.js';
import { WorkNotifier } from './types.js';

const DESTINATIONS = ['kafka:events', 'kafka:failures', 'webhook:crm'];

function report(messageId: string, status: string): DeliveryEvent {
  return eventFrom(postSample({ message_id: messageId, id: randomUUID(), status }));
}

/** What a destination is handed, with the trace reduced to its trace id (each attempt has a span of its own). */
function handed(due: PendingDelivery[]) {
  return due.map(({ trace, ...d }) => ({ ...d, traceId: trace?.traceId }));
}

describe('the queue keeps what the commits made in memory', () => {
  let dir: string;
  let path: string;
  let clock: number;
  let spool: Spool;
  let reader: SpoolDb;

  /** What the rows alone answer: a queue of its own on a second connection, asked once. */
  function rowsDue(destination: string, limit: number): PendingDelivery[] {
    return new SpoolQueue(reader, new WorkNotifier(), () => clock).due(destination, limit);
  }
  function expectSameAsRows(limit: number): void {
    for (const d of DESTINATIONS) expect(handed(spool.queue.due(d, limit)), d).toEqual(handed(rowsDue(d, limit)));
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kcr-held-'));
    path = join(dir, 'spool.db');
    clock = Date.parse('2026-11-27T10:00:00Z');
    spool = new Spool({ path, now: () => clock, plan: planSpoolTest });
    reader = openSpoolDb(path);
  });
  afterEach(() => {
    spool.close();
    reader.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers from memory exactly what the rows answer, batch after batch, as deliveries are done and dead-lettered', async () => {
    // Nothing pending: from here on the commits' deliveries are kept in memory.
    for (const d of DESTINATIONS) expect(spool.queue.due(d, 50)).toEqual([]);
    const statuses = ['Sent', 'Delivered', 'Failed', 'Undelivered'];
    // 40 messages, three reports each, concurrent: several group commits.
    await Promise.all(Array.from({ length: 120 }, (_, i) => spool.commits.accept(report(`m-${i % 40}`, statuses[Math.floor(i / 40)]!))));
    expect(spool.queue.inMemory('kafka:events')).toBe(120);
    expect(spool.queue.inMemory('webhook:crm')).toBe(40);

    for (let round = 0; round < 4; round++) {
      expectSameAsRows(25);
      expectSameAsRows(500);
      const [first, ...rest] = spool.queue.due('kafka:events', 25);
      spool.queue.markDead(first!.id, 'http_400', 'refused');
      spool.queue.markDone(rest.map((d) => d.id));
      const crm = spool.queue.due('webhook:crm', 10);
      spool.queue.markDone(crm.map((d) => d.id));
      clock += 10;
    }
    expectSameAsRows(500);
    expect(spool.queue.inMemory('kafka:events')).toBe(120 - 4 * 25);
    // Each attempt is a new span of its callback's trace.
    const [a] = spool.queue.due('kafka:events', 1);
    const [b] = spool.queue.due('kafka:events', 1);
    expect(a!.trace!.traceId).toBe(b!.trace!.traceId);
    expect(a!.trace!.spanId).not.toBe(b!.trace!.spanId);
  });

  it('goes back to the rows when a delivery waits for a retry: its message\'s later reports wait with it', async () => {
    expect(spool.queue.due('kafka:events', 10)).toEqual([]);
    const a1 = await spool.commits.accept(report('m-A', 'Sent'));
    const a2 = await spool.commits.accept(report('m-A', 'Delivered'));
    const b1 = await spool.commits.accept(report('m-B', 'Delivered'));
    const due = spool.queue.due('kafka:events', 10);
    expect(due.map((d) => d.eventId)).toEqual([a1.eventId, a2.eventId, b1.eventId]);

    spool.queue.markRetry(due[0]!.id, clock + 60_000, 'http_503', 'busy');
    expect(spool.queue.inMemory('kafka:events')).toBe(0);
    expect(spool.queue.due('kafka:events', 10).map((d) => d.eventId)).toEqual([b1.eventId]);
    // A report arriving while the retry waits is held back by the rows' order check too.
    const a3 = await spool.commits.accept(report('m-A', 'Failed'));
    expect(spool.queue.due('kafka:events', 10).map((d) => d.eventId)).toEqual([b1.eventId]);
    clock += 60_000;
    expect(spool.queue.due('kafka:events', 10).map((d) => d.eventId)).toEqual([a1.eventId, a2.eventId, b1.eventId, a3.eventId]);
  });

  it('goes back to the rows on work that no commit made: a replayed dead letter leaves first, in row order', async () => {
    const old = await spool.commits.accept(report('m-old', 'Delivered'));
    const [dead] = spool.queue.due('kafka:events', 10);
    spool.queue.markDead(dead!.id, 'http_400', 'refused');
    expect(spool.queue.due('kafka:events', 10)).toEqual([]);
    const fresh = await spool.commits.accept(report('m-new', 'Delivered'));
    expect(spool.queue.inMemory('kafka:events')).toBe(1);

    expect(spool.operations.replay({ destination: 'kafka:events' })).toBe(1);
    expect(spool.queue.due('kafka:events', 10).map((d) => d.eventId)).toEqual([old.eventId, fresh.eventId]);
  });

  it(`reads the rows again every ${RECHECK_MS} ms: a replay by another process (kcr replay) is seen under load too`, async () => {
    const old = await spool.commits.accept(report('m-old', 'Delivered'));
    const [dead] = spool.queue.due('kafka:events', 10);
    spool.queue.markDead(dead!.id, 'http_400', 'refused');
    expect(spool.queue.due('kafka:events', 10)).toEqual([]);
    const fresh = await spool.commits.accept(report('m-new', 'Delivered'));

    const other = new Spool({ path, now: () => clock, plan: planSpoolTest, compressor: null });
    try {
      expect(other.operations.replay({ destination: 'kafka:events' })).toBe(1);
    } finally {
      other.close();
    }
    // Not told: the memory still answers for a moment, then the rows do.
    expect(spool.queue.due('kafka:events', 10).map((d) => d.eventId)).toEqual([fresh.eventId]);
    clock += RECHECK_MS;
    expect(spool.queue.due('kafka:events', 10).map((d) => d.eventId)).toEqual([old.eventId, fresh.eventId]);
  });

  it(`keeps at most ${HELD_MAX} deliveries in memory for a destination nothing takes from, then reads the rows`, async () => {
    expect(spool.queue.due('kafka:events', 10)).toEqual([]);
    const accept = (n: number, from: number) => Promise.all(Array.from({ length: n }, (_, i) => spool.commits.accept(report(`m-cap-${from + i}`, 'Delivered'))));
    for (let sent = 0; sent < HELD_MAX; sent += 512) await accept(Math.min(512, HELD_MAX - sent), sent);
    expect(spool.queue.inMemory('kafka:events')).toBe(HELD_MAX);
    await accept(1, HELD_MAX);
    expect(spool.queue.inMemory('kafka:events')).toBe(0);
    expect(handed(spool.queue.due('kafka:events', 5))).toEqual(handed(rowsDue('kafka:events', 5)));
    expect(spool.operations.listDeliveries('pending', { destination: 'kafka:events', limit: -1 })).toHaveLength(HELD_MAX + 1);
  });

  it('forgets what it holds when a batch\'s outcomes roll back: the deliveries are handed out again', async () => {
    expect(spool.queue.due('kafka:events', 10)).toEqual([]);
    await spool.commits.accept(report('m-rb', 'Delivered'));
    await spool.commits.accept(report('m-rb-2', 'Delivered'));
    const [d, next] = spool.queue.due('kafka:events', 10);
    expect(() =>
      spool.queue.atomically(() => {
        spool.queue.markDone([d!.id]);
        throw new Error('the attempt log could not be written');
      }),
    ).toThrow('attempt log');
    expect(spool.queue.due('kafka:events', 10).map((x) => x.id)).toEqual([d!.id, next!.id]);
  });

  it('holds no delivery of an event whose commit failed: the batch stored apart keeps only what it stored', async () => {
    expect(spool.queue.due('kafka:events', 10)).toEqual([]);
    const good = [report('m-good-1', 'Delivered'), report('m-good-2', 'Failed')];
    // No message key: its event row breaks NOT NULL, and the batch is stored again one by one.
    const bad = { ...report('m-bad', 'Delivered'), message_key: null as unknown as string };
    const settled = await Promise.allSettled([good[0]!, bad, good[1]!].map((e) => spool.commits.accept(e)));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(spool.queue.inMemory('kafka:events')).toBe(2);
    expectSameAsRows(10);
  });
});
