import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileRoutes } from '../route/compile.js';
import { matchRoutes } from '../route/match.js';
import { eventFrom } from '../testing/events.js';
import { postSample } from '../testing/samples.js';
import { Spool } from './spool.js';

const cfg = compileRoutes(
  {
    profiles: { default: {} },
    kafka: { topics: { events: 'kaleyra.sms.events' } },
    webhooks: { crm: { url: 'http://127.0.0.1:9/hooks' } },
    rules: [
      { name: 'every-report', to: ['kafka:events'] },
      { name: 'failures', match: { status: 'failed' }, to: ['webhook:crm'] },
    ],
  },
  'chunk test config',
);

describe('replay and backfill in chunks', () => {
  let dir: string;
  let spool: Spool;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kcr-chunks-'));
    spool = new Spool({ path: join(dir, 'spool.db'), plan: (e) => matchRoutes(e, cfg.table) });
  });
  afterEach(() => {
    spool.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** `n` accepted reports (every third one failed, so it also goes to webhook:crm), each delivery then dead-lettered. */
  async function deadLetters(n: number): Promise<number[]> {
    await Promise.all(Array.from({ length: n }, (_, i) => spool.commits.accept(eventFrom(postSample({ id: randomUUID(), message_id: `m-${i}`, status: i % 3 === 0 ? 'Failed' : 'Delivered' })))));
    const ids = spool.operations.listDeliveries('pending', { limit: -1 }).map((d) => d.id);
    for (const id of ids) spool.queue.markDead(id, 'http_500', 'gave up');
    return ids.sort((a, b) => a - b);
  }

  it('a replay of more rows than a chunk takes several transactions, reports progress after each, and replays them all', async () => {
    await deadLetters(90); // 90 to kafka:events, 30 to webhook:crm
    const progress: string[] = [];
    const notified: string[][] = [];
    spool.queue.onCommit((d) => notified.push([...d].sort()));
    const r = await spool.operations.replayInChunks({}, 'dead', { chunkSize: 50, onProgress: (n, of) => progress.push(`${n}/${of}`) });
    expect(r).toEqual({ count: 120, total: 120, chunks: 3, destinations: { 'kafka:events': 90, 'webhook:crm': 30 } });
    expect(progress).toEqual(['50/120', '100/120', '120/120']);
    expect(spool.operations.listDeliveries('dead')).toEqual([]);
    expect(spool.operations.counts()).toEqual([
      { destination: 'kafka:events', state: 'pending', n: 90 },
      { destination: 'webhook:crm', state: 'pending', n: 30 },
    ]);
    // Each chunk tells the dispatcher, so delivery starts while the rest is replayed.
    expect(notified).toHaveLength(3);
  });

  it('a callback that arrives during a long replay is committed between its chunks, not after it', async () => {
    // 240 reports (320 dead letters) in 80 chunks: room for the callback's commit, which waits
    // for the compression thread, to come between them on a machine busy with other tests too.
    await deadLetters(240);
    const during = eventFrom(postSample({ id: randomUUID(), message_id: 'during' }));
    const order: string[] = [];
    // Looked for after each chunk: its answer also waits for the WAL's flush (wal-sync.ts), which
    // on a busy disk can end after the replay; the commit itself must come between chunks.
    const replay = spool.operations.replayInChunks({}, 'dead', {
      chunkSize: 4,
      onProgress: (n, of) => {
        order.push(`${n}/${of}`);
        if (!order.includes('callback committed') && spool.operations.event(during.event_id)) order.push('callback committed');
      },
    });
    const accepted = spool.commits.accept(during);
    await Promise.all([replay, accepted]);
    const committedAt = order.indexOf('callback committed');
    expect(committedAt).toBeGreaterThan(0);
    expect(committedAt).toBeLessThan(order.indexOf('320/320'));
    expect(await accepted).toMatchObject({ eventId: during.event_id, duplicate: false });
    // The callback's new delivery was not part of the replay's selection, and is pending as accepted.
    expect(spool.operations.listDeliveries('pending', { messageKey: 'during' })).toHaveLength(1);
  });

  it('takes the selection as it stood when it began: a delivery that dies during the replay stays dead', async () => {
    await deadLetters(9);
    // Accepted after the dead letters (a higher id), and dead-lettered only once the replay has begun.
    await spool.commits.accept(eventFrom(postSample({ id: randomUUID(), message_id: 'dies-later' })));
    const [victim] = spool.operations.listDeliveries('pending', { messageKey: 'dies-later' });
    const r = await spool.operations.replayInChunks({ destination: 'kafka:events' }, 'dead', {
      chunkSize: 3,
      onProgress: (n) => {
        if (n === 3) spool.queue.markDead(victim!.id, 'http_500', 'gave up during the replay');
      },
    });
    expect(r).toMatchObject({ count: 9, total: 9 });
    expect(spool.operations.listDeliveries('dead', { destination: 'kafka:events' }).map((d) => d.id)).toEqual([victim!.id]);
  });

  it('honours a limit across chunks, oldest first', async () => {
    const ids = await deadLetters(10);
    const r = await spool.operations.replayInChunks({ destination: 'kafka:events', limit: 7 }, 'dead', { chunkSize: 3 });
    expect(r).toMatchObject({ count: 7, total: 7, chunks: 3 });
    const events = spool.operations.listDeliveries('pending', { destination: 'kafka:events', limit: -1 }).map((d) => d.id).sort((a, b) => a - b);
    expect(events).toEqual(ids.filter((id) => events.includes(id)).slice(0, 7));
    expect(Math.max(...events)).toBeLessThan(Math.min(...spool.operations.listDeliveries('dead', { destination: 'kafka:events' }).map((d) => d.id)));
  });

  it('a dry run counts per destination and changes nothing, telling no dispatcher', async () => {
    await deadLetters(30);
    const notified: string[][] = [];
    spool.queue.onCommit((d) => notified.push([...d]));
    const r = await spool.operations.replayInChunks({ code: 'http_500' }, 'dead', { dryRun: true, chunkSize: 4 });
    expect(r).toEqual({ count: 40, total: 40, chunks: 0, dryRun: true, destinations: { 'kafka:events': 30, 'webhook:crm': 10 } });
    expect(spool.operations.listDeliveries('dead', { limit: -1 })).toHaveLength(40);
    expect(notified).toEqual([]);
  });

  it('backfills in chunks, each event once, and a dry run of the same counts what is left', async () => {
    await deadLetters(12);
    const dry = await spool.operations.backfillInChunks('webhook:audit', {}, { dryRun: true });
    expect(dry).toEqual({ count: 12, total: 12, chunks: 0, dryRun: true, destinations: { 'webhook:audit': 12 } });
    expect(spool.operations.listDeliveries('pending', { destination: 'webhook:audit' })).toEqual([]);

    const progress: number[] = [];
    const r = await spool.operations.backfillInChunks('webhook:audit', {}, { chunkSize: 5, onProgress: (n) => progress.push(n) });
    expect(r).toEqual({ count: 12, total: 12, chunks: 3, destinations: { 'webhook:audit': 12 } });
    expect(progress).toEqual([5, 10, 12]);
    expect(spool.operations.listDeliveries('pending', { destination: 'webhook:audit', limit: -1 })).toHaveLength(12);
    // Every event already has one: a second backfill adds nothing; webhook:crm lacks the 8 that did not fail.
    expect(await spool.operations.backfillInChunks('webhook:audit', {}, {})).toMatchObject({ count: 0, chunks: 0 });
    expect(await spool.operations.backfillInChunks('webhook:crm', {}, { dryRun: true })).toMatchObject({ count: 8 });
  });
});
