import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { eventFrom } from '../testing/events.js';
import { postSample } from '../testing/samples.js';
import { RecentBodies } from './recent-bodies.js';
import { Spool } from './spool.js';

describe('RecentBodies: the JSON of the events committed last', () => {
  it('forgets the oldest past its capacity', () => {
    const recent = new RecentBodies(2);
    recent.remember(1, 'a', '{"n":1}');
    recent.remember(2, 'b', '{"n":2}');
    recent.remember(3, 'c', '{"n":3}');
    expect(recent.get(1, 'a')).toBeUndefined();
    expect(recent.get(2, 'b')).toBe('{"n":2}');
    expect(recent.get(3, 'c')).toBe('{"n":3}');
  });

  it('answers only for the same event: a row number a rolled-back commit left may be another event now', () => {
    const recent = new RecentBodies(10);
    recent.remember(7, 'rolled-back', '{"old":true}');
    expect(recent.get(7, 'the-event-stored-at-7-now')).toBeUndefined();
  });

  it('gives the dispatcher the same delivery whether it comes from memory or from the stored (compressed) body', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kcr-recent-'));
    const path = join(dir, 'spool.db');
    const plan = () => ({ destinations: ['kafka:events'], rules: ['all'], fallback: false });
    try {
      const event = eventFrom(postSample());
      const first = new Spool({ path, plan });
      await first.commits.accept(event);
      const fromMemory = first.queue.due('kafka:events', 10);
      first.close();
      const reopened = new Spool({ path, plan });
      const fromDisk = reopened.queue.due('kafka:events', 10);
      reopened.close();
      expect(fromMemory).toHaveLength(1);
      expect(fromDisk.map(({ trace, ...d }) => d)).toEqual(fromMemory.map(({ trace, ...d }) => d));
      expect(JSON.parse(fromDisk[0]!.body)).toEqual(event);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SPOOL_COMPRESSION: how the spool keeps each event', () => {
  it.each([
    ['deflate', 'blob'],
    ['none', 'text'],
  ] as const)('with %s stores a %s body, and delivers and lists the same event either way', async (bodyEncoding, stored) => {
    const dir = mkdtempSync(join(tmpdir(), 'kcr-encoding-'));
    const path = join(dir, 'spool.db');
    try {
      const event = eventFrom(postSample());
      const spool = new Spool({ path, bodyEncoding, plan: () => ({ destinations: ['kafka:events'], rules: ['all'], fallback: false }) });
      await spool.commits.accept(event);
      spool.close();
      const db = new Database(path, { readonly: true });
      expect(db.prepare('SELECT typeof(body) AS t FROM events').get()).toEqual({ t: stored });
      db.close();
      const reopened = new Spool({ path });
      expect(JSON.parse(reopened.queue.due('kafka:events', 10)[0]!.body)).toEqual(event);
      expect(reopened.operations.event(event.event_id)).toEqual(event);
      reopened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
