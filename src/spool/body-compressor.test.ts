import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { DeliveryEvent } from '../event.js';
import { eventFrom } from '../testing/events.js';
import { GET_SAMPLE_QUERY, postSample } from '../testing/samples.js';
import { decodeBody, encodeBody } from './body-codec.js';
import { BodyCompressor, type BodyToCompress } from './body-compressor.js';
import { Spool } from './spool.js';

function report(over: Record<string, unknown> = {}): DeliveryEvent {
  const id = randomUUID();
  return eventFrom(postSample({ id, message_id: `${id}:1`, ...over }));
}

function toCompress(e: DeliveryEvent): BodyToCompress {
  return { json: JSON.stringify(e), keys: e };
}

describe('the body compressor thread', () => {
  const compressor = new BodyCompressor();
  afterAll(() => compressor.stop());

  it('makes byte for byte what encodeBody makes, for every kind of body', async () => {
    const bodies = [
      ...Array.from({ length: 500 }, () => toCompress(report())),
      toCompress(report({ status: 'Undelivered', campaign_name: 'Diwali 🎆' })),
      { json: JSON.stringify({ ...report(), request_id: null }), keys: { ...report(), request_id: null } },
      { json: JSON.stringify({ ...report(), description: `Ünïcödé ✓ 短信 ${'x'.repeat(40_000)}`, raw_query: GET_SAMPLE_QUERY }), keys: { event_id: 'ünï-1', message_key: '短信:1', request_id: '短信' } },
    ];
    const packed = await compressor.compress(bodies);
    expect(packed).toHaveLength(bodies.length);
    packed!.forEach((p, i) => {
      expect(p.equals(encodeBody(bodies[i]!.json, bodies[i]!.keys))).toBe(true);
      expect(decodeBody(p, bodies[i]!.keys)).toBe(bodies[i]!.json);
    });
  });

  it('answers calls in flight together each with its own bodies', async () => {
    const batches = Array.from({ length: 20 }, (_, n) => Array.from({ length: 1 + (n % 7) }, () => toCompress(report())));
    const answers = await Promise.all(batches.map((b) => compressor.compress(b)));
    answers.forEach((packed, n) => expect(packed!.map((p, i) => decodeBody(p, batches[n]![i]!.keys))).toEqual(batches[n]!.map((b) => b.json)));
  });

  it('answers null once its thread is gone, so the commit compresses inline', async () => {
    const gone = new BodyCompressor();
    expect(await gone.compress([toCompress(report())])).toHaveLength(1);
    await gone.stop();
    expect(await gone.compress([toCompress(report())])).toBeNull();
  });
});

describe('a group commit with its bodies compressed off the event loop', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  function spoolWith(compressor: Pick<BodyCompressor, 'compress'> | null): { spool: Spool; path: string } {
    const d = mkdtempSync(join(tmpdir(), 'kcr-compressor-'));
    dirs.push(d);
    const path = join(d, 'spool.db');
    return { spool: new Spool({ path, compressor, plan: () => ({ destinations: ['kafka:events'], rules: ['all'], fallback: false }) }), path };
  }
  function stored(path: string): { event_id: string; message_key: string; request_id: string | null; body: Buffer }[] {
    const db = new Database(path, { readonly: true });
    try {
      return db.prepare('SELECT event_id, message_key, request_id, body FROM events ORDER BY seq').all() as never;
    } finally {
      db.close();
    }
  }

  it('commits batches in the order they were flushed, whichever is compressed first', async () => {
    // The first batch's bodies come back last.
    const real = new BodyCompressor();
    let calls = 0;
    const slowFirst = {
      compress: async (bodies: readonly BodyToCompress[]) => {
        const packed = await real.compress(bodies);
        if (calls++ === 0) await new Promise((r) => setTimeout(r, 100));
        return packed;
      },
    };
    const { spool, path } = spoolWith(slowFirst);
    const first = report();
    const accepted = spool.commits.accept(first);
    await new Promise((r) => setTimeout(r, 20)); // its batch is compressing
    const later = [report(), report()];
    await Promise.all([accepted, ...later.map((e) => spool.commits.accept(e))]);
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(stored(path).map((r) => r.event_id)).toEqual([first, ...later].map((e) => e.event_id));
    expect(spool.queue.due('kafka:events', 10).map((d) => d.eventId)).toEqual([first, ...later].map((e) => e.event_id));
    spool.close();
    await real.stop();
  });

  it('fails only the batch during which something threw, and commits the batches after it', async () => {
    const compressor = new BodyCompressor();
    const { spool } = spoolWith(compressor);
    let throwOnce = true;
    spool.queue.onCommit(() => {
      if (!throwOnce) return;
      throwOnce = false;
      throw new Error('a listener failed');
    });
    await expect(spool.commits.accept(report())).rejects.toThrow(/the spool could not commit: a listener failed/);
    const later = report();
    await expect(spool.commits.accept(later)).resolves.toMatchObject({ eventId: later.event_id, duplicate: false });
    spool.close();
    await compressor.stop();
  });

  it('stores the same bytes with the thread, inline, or after the thread is gone', async () => {
    const events = [report(), report({ status: 'Undelivered' })];
    const gone = new BodyCompressor();
    await gone.stop();
    for (const compressor of [new BodyCompressor(), null, gone]) {
      const { spool, path } = spoolWith(compressor);
      await Promise.all(events.map((e) => spool.commits.accept(e)));
      const rows = stored(path);
      expect(rows.map((r) => r.body.equals(encodeBody(JSON.stringify(events.find((e) => e.event_id === r.event_id)), r)))).toEqual([true, true]);
      spool.close();
      if (compressor) await compressor.stop();
    }
  });
});
