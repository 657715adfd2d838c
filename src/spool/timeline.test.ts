import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeliveryEvent } from '../event.js';
import { eventFrom } from '../testing/events.js';
import { postSample } from '../testing/samples.js';
import { planSpoolTest } from '../testing/spool-routes.js';
import { openSpoolDb } from './db.js';
import { Spool } from './spool.js';


const T0 = Date.parse('2026-11-01T10:00:00Z');
const MSG = 'ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1';

function report(over: Record<string, unknown>): DeliveryEvent {
  return eventFrom(postSample({ id: randomUUID(), ...over }));
}

describe('SpoolTimeline: one message as the spool kept it', () => {
  let clock = T0;
  const spools: Spool[] = [];
  const dirs: string[] = [];
  function spool(): Spool {
    const s = new Spool({ path: ':memory:', now: () => clock, plan: planSpoolTest });
    spools.push(s);
    return s;
  }
  afterEach(() => {
    for (const s of spools.splice(0)) s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    clock = T0;
  });

  it('shows a success as the last attempt of its delivery, from the delivery row, after the failed ones', async () => {
    const s = spool();
    await s.commits.accept(report({ message_id: MSG, status: 'Undelivered' }));
    const [crm] = s.queue.due('webhook:crm', 10);
    clock += 1_000;
    s.attempts.batch('webhook:crm', [{ delivery: crm!, result: 'retry', code: 'http_503', error: 'answered 503' }], 40);
    s.queue.markRetry(crm!.id, clock, 'http_503', 'answered 503');
    clock += 2_000;
    const [again] = s.queue.due('webhook:crm', 10);
    s.attempts.batch('webhook:crm', [{ delivery: again!, result: 'delivered', code: null, error: null }], 25);
    s.queue.markDone([again!.id], 25);

    const crmDelivery = s.timeline.message(MSG, 100)!.callbacks[0]!.deliveries.find((d) => d.destination === 'webhook:crm')!;
    expect(crmDelivery.state).toBe('done');
    expect(crmDelivery.attempts).toEqual([
      { attempt: 1, at: new Date(T0 + 1_000 - 40).toISOString(), outcome: 'retry', status_code: 503, latency_ms: 40, code: 'http_503', error: 'answered 503' },
      { attempt: 2, at: new Date(T0 + 3_000 - 25).toISOString(), outcome: 'delivered', status_code: null, latency_ms: 25, code: null, error: null },
    ]);
  });

  it('does not show a success twice when a spool from before version 5 logged it as an attempt row', async () => {
    const s = spool();
    await s.commits.accept(report({ message_id: MSG, status: 'Sent', status_trace: '' }));
    const [events] = s.queue.due('kafka:events', 10);
    clock += 1_000;
    s.queue.markDone([events!.id], 10);
    // What version 4's attempt log wrote for every success.
    (s as unknown as { db: Database.Database }).db
      .prepare("INSERT INTO attempts (event_seq, delivery_id, destination, attempt, at, latency_ms, outcome) SELECT event_seq, id, destination, 1, ?, 10, 'delivered' FROM deliveries WHERE id = ?")
      .run(clock - 10, events!.id);
    const attempts = s.timeline.message(MSG, 100)!.callbacks[0]!.deliveries[0]!.attempts;
    expect(attempts.map((a) => [a.attempt, a.outcome, a.latency_ms])).toEqual([[1, 'delivered', 10]]);
  });

  it('shows each report (raw, enriched, the rules it matched), its deliveries with every attempt, oldest first, and the message state', async () => {
    const s = spool();
    const sent = report({ message_id: MSG, status: 'Sent', status_trace: '', status_time: '2022-04-05 08:55:00+00:00' });
    await s.commits.accept(sent);
    clock += 1_000;
    const failed = report({ message_id: MSG, status: 'Undelivered' });
    await s.commits.accept(failed);
    const crm = s.queue.due('webhook:crm', 10);
    clock += 500;
    s.attempts.batch('webhook:crm', [{ delivery: crm[0]!, result: 'retry', code: 'http_503', error: 'POST http://127.0.0.1:9/hooks answered 503' }], 20);
    s.queue.markRetry(crm[0]!.id, clock + 100, 'http_503', 'POST http://127.0.0.1:9/hooks answered 503');

    const t = s.timeline.message(MSG, 100)!;
    expect(t).toMatchObject({ message_key: MSG, message_id: MSG, truncated: false });
    expect(t.state).toEqual({
      status: 'Undelivered',
      rank: 2,
      final: true,
      event_id: failed.event_id,
      updated_at: new Date(T0 + 1_000).toISOString(),
      profile: 'default',
      final_missing_at: null,
    });
    expect(t.callbacks.map((c) => [c.event_id, c.status, c.stale, c.received_at])).toEqual([
      [sent.event_id, 'Sent', false, new Date(T0).toISOString()],
      [failed.event_id, 'Undelivered', false, new Date(T0 + 1_000).toISOString()],
    ]);
    expect(t.callbacks[0]!.route).toEqual({ rules: ['every-report'], fallback: false, destinations: ['kafka:events'] });
    expect(t.callbacks[1]!.route).toEqual({ rules: ['every-report', 'failures'], fallback: false, destinations: ['kafka:events', 'kafka:failures', 'webhook:crm'] });
    // The raw fields once, beside the enriched event (which is otherwise as delivered).
    expect(t.callbacks[1]!.raw).toEqual(failed.raw);
    expect(t.callbacks[1]!.raw_query).toBeNull();
    const { raw: _raw, raw_query: _rq, ...enriched } = failed;
    expect(t.callbacks[1]!.event).toEqual(enriched);

    const deliveries = t.callbacks[1]!.deliveries;
    expect(deliveries.map((d) => [d.destination, d.state])).toEqual([
      ['kafka:events', 'pending'],
      ['kafka:failures', 'pending'],
      ['webhook:crm', 'pending'],
    ]);
    const hook = deliveries[2]!;
    expect(hook).toMatchObject({ last_code: 'http_503', next_at: new Date(T0 + 1_600).toISOString() });
    expect(hook.attempts).toEqual([
      { attempt: 1, at: new Date(T0 + 1_500 - 20).toISOString(), outcome: 'retry', status_code: 503, latency_ms: 20, code: 'http_503', error: 'POST http://127.0.0.1:9/hooks answered 503' },
    ]);
  });

  it('finds a message without a message_id by its message_key (request id / recipient)', async () => {
    const s = spool();
    const e = report({ message_id: null, id: 'req-42', recipient: '919620838123' });
    await s.commits.accept(e);
    const t = s.timeline.message('req-42/919620838123', 100)!;
    expect(t).toMatchObject({ message_key: 'req-42/919620838123', message_id: null });
    expect(t.callbacks.map((c) => c.event_id)).toEqual([e.event_id]);
  });

  it('flags a report that moved its message backwards as stale, and the state keeps the furthest status', async () => {
    const s = spool();
    await s.commits.accept(report({ message_id: MSG, status: 'Delivered', status_trace: '' }));
    await s.commits.accept(report({ message_id: MSG, status: 'Sent', status_trace: '' }));
    const t = s.timeline.message(MSG, 100)!;
    expect(t.callbacks.map((c) => [c.status, c.stale])).toEqual([
      ['Delivered', false],
      ['Sent', true],
    ]);
    expect(t.state).toMatchObject({ status: 'Delivered', final: true });
  });

  it('keeps the newest reports when there are more than the limit, and says so', async () => {
    const s = spool();
    for (const status of ['Queued', 'Sent', 'Delivered']) {
      await s.commits.accept(report({ message_id: MSG, status, status_trace: '', status_time: null }));
      clock += 10;
    }
    const t = s.timeline.message(MSG, 2)!;
    expect(t.truncated).toBe(true);
    expect(t.callbacks.map((c) => c.status)).toEqual(['Sent', 'Delivered']);
  });

  it('is null for a message the spool keeps nothing of', () => {
    expect(spool().timeline.message('no-such-message:0', 100)).toBeNull();
  });

  it('shows a dead letter copied from the cluster dead-letter topic with its route unrecorded', () => {
    const s = spool();
    const e = report({ message_id: MSG });
    s.deadMirror.dead({ event: e, destination: 'webhook:crm', code: 'http_503', error: 'answered 503', at: T0 });
    const [c] = s.timeline.message(MSG, 100)!.callbacks;
    expect(c!.route).toBeNull();
    expect(c!.deliveries.map((d) => [d.destination, d.state, d.last_code, d.attempts])).toEqual([['webhook:crm', 'dead', 'http_503', []]]);
  });

  it('opens a version 3 spool with the columns and index a new one has (DDL and migration in step)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kcr-timeline-'));
    dirs.push(dir);
    const shape = (path: string) => {
      const db = openSpoolDb(path);
      try {
        const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
        const columns = Object.fromEntries(tables.map((t) => [t, (db.pragma(`table_info(${t})`) as { name: string; type: string }[]).map((c) => `${c.name} ${c.type}`).sort()]));
        const indexes = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map((i) => i.name);
        return { columns, indexes };
      } finally {
        db.close();
      }
    };
    const old = new Database(join(dir, 'v3.db'));
    old.exec(`
      CREATE TABLE events (seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, message_key TEXT NOT NULL, type TEXT NOT NULL,
        profile TEXT NOT NULL, status_class TEXT NOT NULL, received_at INTEGER NOT NULL, body TEXT NOT NULL);
      INSERT INTO events VALUES (1, 'e-1', 'm-1', 'sms.delivered', 'default', 'delivered', 5, '{}');
      PRAGMA user_version = 3;`);
    old.close();
    expect(shape(join(dir, 'v3.db'))).toEqual(shape(join(dir, 'fresh.db')));
  });
});
