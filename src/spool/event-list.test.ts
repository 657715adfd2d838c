import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeliveryEvent } from '../event.js';
import { compileRoutes } from '../route/compile.js';
import { matchRoutes } from '../route/match.js';
import { eventFrom } from '../testing/events.js';
import { postSample } from '../testing/samples.js';
import { openSpoolDb, type SpoolDb } from './db.js';
import { DELIVERY_OUTCOMES, type EventListFilter } from './event-list.js';
import { Spool } from './spool.js';

const config = compileRoutes(
  {
    profiles: { default: {}, IN_1: {} },
    kafka: { topics: { events: 'kaleyra.sms.events' } },
    webhooks: { crm: { url: 'http://127.0.0.1:9/hooks' } },
    rules: [
      { name: 'failures-to-crm', match: { status: ['undelivered', 'failed'] }, to: ['webhook:crm', 'kafka:events'] },
      { name: 'delivered', match: { status: ['delivered'] }, to: ['kafka:events'] },
    ],
  },
  'event list test config',
);

const T0 = Date.parse('2026-11-01T10:00:00Z');

function report(over: Record<string, unknown>, profile = 'default'): DeliveryEvent {
  return eventFrom(postSample({ id: randomUUID(), message_id: `${randomUUID()}:1`, ...over }), { profile });
}

describe('EventList: the recent events, filtered, a keyset page at a time', () => {
  let clock = T0;
  const open: Spool[] = [];
  function spool(db?: SpoolDb): Spool {
    const s = new Spool({ path: ':memory:', db, now: () => clock, plan: (e) => matchRoutes(e, config.table) });
    open.push(s);
    return s;
  }
  /** Accepts each report one second after the last. */
  async function receive(s: Spool, ...events: DeliveryEvent[]): Promise<void> {
    for (const e of events) {
      clock += 1_000;
      await s.commits.accept(e);
    }
  }
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
    clock = T0;
  });

  it('lists events newest first, each with its fields read from the stored event and its deliveries per destination', async () => {
    const s = spool();
    const failed = report({ status: 'Undelivered', iso_code: 'in', description: 'Validation fail' });
    const delivered = report({ status: 'Delivered', status_trace: '', iso_code: 'US', recipient: '12025550123', country_name: 'United States' });
    await receive(s, failed, delivered);

    const { rows, older, newer } = s.eventList.page({});
    expect(rows.map((r) => r.event_id)).toEqual([delivered.event_id, failed.event_id]);
    expect(rows[1]).toEqual({
      seq: 1,
      event_id: failed.event_id,
      received_at: new Date(T0 + 1_000).toISOString(),
      profile: 'default',
      type: 'sms.undelivered',
      status: 'Undelivered',
      status_class: 'undelivered',
      stale: false,
      iso_code: 'IN',
      message_id: failed.message_id,
      message_key: failed.message_key,
      request_id: failed.request_id,
      description: 'Validation fail',
      deliveries: [
        { destination: 'webhook:crm', state: 'pending' },
        { destination: 'kafka:events', state: 'pending' },
      ],
    });
    expect([older, newer]).toEqual([null, null]);
  });

  it('narrows to the events matching each filter, and to those matching all of them together', async () => {
    const s = spool();
    const target = report({ status: 'Undelivered', iso_code: 'GB', country_name: 'United Kingdom' }, 'IN_1');
    const others = [
      report({ status: 'Delivered', status_trace: '', iso_code: 'GB', country_name: 'United Kingdom' }, 'IN_1'),
      report({ status: 'Undelivered', iso_code: 'IN' }, 'IN_1'),
      report({ status: 'Undelivered', iso_code: 'GB', country_name: 'United Kingdom' }, 'default'),
      report({ status: 'Failed', iso_code: 'GB', country_name: 'United Kingdom' }, 'IN_1'),
    ];
    await receive(s, others[0]!, others[1]!);
    const at = clock + 1_000;
    await receive(s, target, ...others.slice(2));
    const ids = (filter: EventListFilter) => s.eventList.page(filter).rows.map((r) => r.event_id);

    expect(ids({ status: 'Undelivered' })).toEqual([others[2]!.event_id, target.event_id, others[1]!.event_id]);
    expect(ids({ status_class: 'failed' })).toEqual([others[3]!.event_id]);
    expect(ids({ iso_code: 'IN' })).toEqual([others[1]!.event_id]);
    expect(ids({ profile: 'default' })).toEqual([others[2]!.event_id]);
    expect(ids({ message_id: target.message_id! })).toEqual([target.event_id]);
    expect(ids({ request_id: target.request_id! })).toEqual([target.event_id]);
    expect(ids({ from: at, to: at + 1 })).toEqual([target.event_id]);
    expect(ids({ to: at })).toEqual([others[1]!.event_id, others[0]!.event_id]);
    expect(ids({ status: 'Undelivered', iso_code: 'GB', profile: 'IN_1', from: T0 })).toEqual([target.event_id]);
    expect(ids({ status: 'Undelivered', iso_code: 'US' })).toEqual([]);
  });

  it('filters by how the deliveries ended: any dead, any pending, all done, none planned', async () => {
    const s = spool();
    const dead = report({ status: 'Undelivered' });
    const done = report({ status: 'Delivered', status_trace: '' });
    const pending = report({ status: 'Failed' });
    const nowhere = report({ status: 'Sent', status_trace: '' });
    await receive(s, dead, done, pending, nowhere);
    const [crmDead] = s.queue.due('webhook:crm', 10);
    s.queue.markDead(crmDead!.id, 'http_503', 'POST answered 503');
    const kafka = s.queue.due('kafka:events', 10);
    s.queue.markDone(kafka.filter((d) => d.eventId !== pending.event_id).map((d) => d.id));

    const ids = (delivery: EventListFilter['delivery']) => s.eventList.page({ delivery }).rows.map((r) => r.event_id);
    expect(ids('dead')).toEqual([dead.event_id]);
    expect(ids('pending')).toEqual([pending.event_id]);
    expect(ids('done')).toEqual([done.event_id]);
    expect(ids('none')).toEqual([nowhere.event_id]);
    expect(s.eventList.page({ delivery: 'dead' }).rows[0]!.deliveries).toEqual([
      { destination: 'webhook:crm', state: 'dead' },
      { destination: 'kafka:events', state: 'done' },
    ]);
  });

  it('reads every filter, every direction, with and without a cursor, off an index (EXPLAIN QUERY PLAN: never a bare SCAN)', () => {
    const db = openSpoolDb(':memory:');
    const s = spool(db);
    const filters: EventListFilter[] = [
      {},
      { status: 'Undelivered' },
      { status_class: 'failed' },
      { iso_code: 'IN' },
      { profile: 'default' },
      { message_id: 'm:1' },
      { request_id: 'r' },
      { from: T0 },
      { to: T0 },
      { from: T0, to: T0 + 1 },
      ...DELIVERY_OUTCOMES.map((delivery) => ({ delivery })),
      { iso_code: 'IN', from: T0, to: T0 + 1, delivery: 'dead' },
    ];
    for (const filter of filters) {
      for (const direction of ['older', 'newer'] as const) {
        for (const keyed of [false, true]) {
          const { sql, params } = s.eventList.query(filter, direction, keyed);
          const plan = db
            .prepare<Record<string, unknown>, { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
            .all({ ...params, key_at: T0, key_seq: 1, limit: 51 })
            .map((p) => p.detail);
          const where = `${JSON.stringify(filter)} ${direction}${keyed ? ' keyed' : ''}: ${plan.join(' | ')}`;
          expect(plan.filter((line) => /^SCAN \w+$/.test(line)), where).toEqual([]);
          expect(plan.some((line) => /^(SCAN|SEARCH) events USING (INDEX|INTEGER PRIMARY KEY)/.test(line)), where).toBe(true);
        }
      }
    }
    // Each column filter has an index of its own, ending in received_at, so a page is read in order.
    const plan = (filter: EventListFilter) =>
      db
        .prepare<Record<string, unknown>, { detail: string }>(`EXPLAIN QUERY PLAN ${s.eventList.query(filter, 'older', true).sql}`)
        .all({ ...s.eventList.query(filter, 'older', true).params, key_at: T0, key_seq: 1, limit: 51 })
        .map((p) => p.detail)
        .join(' | ');
    expect(plan({ iso_code: 'IN' })).toBe('SEARCH events USING INDEX events_iso (iso_code=? AND received_at<?)');
    expect(plan({ request_id: 'r' })).toBe('SEARCH events USING INDEX events_request (request_id=? AND received_at<?)');
    expect(plan({ status: 'Sent' })).toBe('SEARCH events USING INDEX events_status (status=? AND received_at<?)');
    expect(plan({ profile: 'p' })).toBe('SEARCH events USING INDEX events_profile (profile=? AND received_at<?)');
    expect(plan({ status_class: 'failed' })).toBe('SEARCH events USING INDEX events_class (status_class=? AND received_at<?)');
  });

  it('pages by keyset: Older pages neither overlap nor skip, also when events arrive between pages; Newer walks back', async () => {
    const s = spool();
    const first = Array.from({ length: 7 }, (_, i) => report({ status: 'Delivered', status_trace: '', ref: `r${i}` }));
    await receive(s, ...first);
    const seen: string[] = [];
    let page = s.eventList.page({}, { limit: 3 });
    const pages = [page];
    seen.push(...page.rows.map((r) => r.event_id));
    while (page.older !== null) {
      // New events arrive while the operator reads: they are newer than every page already cut.
      await receive(s, report({ status: 'Delivered', status_trace: '' }));
      page = s.eventList.page({}, { before: page.older, limit: 3 });
      pages.push(page);
      seen.push(...page.rows.map((r) => r.event_id));
    }
    expect(pages.map((p) => p.rows.length)).toEqual([3, 3, 1]);
    expect(seen).toEqual(first.map((e) => e.event_id).reverse());
    expect(pages.map((p) => p.newer === null)).toEqual([true, false, false]);

    // Newer from the second page: the first page's rows again, and now newer ones beyond them.
    const back = s.eventList.page({}, { after: pages[1]!.newer!, limit: 3 });
    expect(back.rows.map((r) => r.event_id)).toEqual(pages[0]!.rows.map((r) => r.event_id));
    expect(back.newer).not.toBeNull();
    expect(back.older).toBe(pages[0]!.older);
    const top = s.eventList.page({}, { after: back.newer!, limit: 3 });
    expect(top.rows).toHaveLength(2);
    expect(top.newer).toBeNull();
  });

  it('orders events received in the same millisecond by arrival, and pages through them without loss', async () => {
    const s = spool();
    const same = Array.from({ length: 5 }, () => report({ status: 'Delivered', status_trace: '' }));
    for (const e of same) await s.commits.accept(e);
    const a = s.eventList.page({}, { limit: 2 });
    const b = s.eventList.page({}, { before: a.older!, limit: 2 });
    const c = s.eventList.page({}, { before: b.older!, limit: 2 });
    expect([...a.rows, ...b.rows, ...c.rows].map((r) => r.event_id)).toEqual(same.map((e) => e.event_id).reverse());
    expect(c.older).toBeNull();
  });

  it('places a page by a cursor whose event was purged since, and answers an empty page past the oldest', async () => {
    const db = openSpoolDb(':memory:');
    const s = spool(db);
    const events = Array.from({ length: 4 }, () => report({ status: 'Sent', status_trace: '' }));
    await receive(s, ...events);
    const page = s.eventList.page({}, { limit: 2 });
    db.prepare('DELETE FROM events WHERE seq = ?').run(page.older);
    expect(s.eventList.page({}, { before: page.older!, limit: 2 }).rows.map((r) => r.event_id)).toEqual([events[1]!.event_id, events[0]!.event_id]);
    expect(s.eventList.page({}, { before: 1 })).toEqual({ rows: [], older: null, newer: null });
  });

  it('shows events in the time order they were received, also a dead letter copied in later with an older received_at', async () => {
    const s = spool();
    const local = [report({ status: 'Sent', status_trace: '' }), report({ status: 'Sent', status_trace: '' })];
    await receive(s, ...local);
    const mirrored = { ...report({ status: 'Undelivered' }), received_at: new Date(T0 + 1_500).toISOString() };
    s.deadMirror.dead({ event: mirrored, destination: 'webhook:crm', code: 'http_503', error: 'answered 503', at: clock });
    expect(s.eventList.page({}).rows.map((r) => r.event_id)).toEqual([local[1]!.event_id, mirrored.event_id, local[0]!.event_id]);
    expect(s.eventList.page({ from: T0 + 1_200, to: T0 + 1_800 }).rows.map((r) => r.event_id)).toEqual([mirrored.event_id]);
  });
});

describe('a version 4 spool (plain JSON bodies, indexes over json_extract) opened by version 5', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** The version 4 tables the migration changes, as that version made them, holding `events`. */
  function versionFour(path: string, events: DeliveryEvent[]): void {
    const old = new Database(path);
    old.exec(`
      CREATE TABLE events (seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, message_key TEXT NOT NULL, type TEXT NOT NULL,
        profile TEXT NOT NULL, status_class TEXT NOT NULL, received_at INTEGER NOT NULL, body TEXT NOT NULL, traceparent TEXT, route TEXT);
      CREATE INDEX events_iso ON events(json_extract(body, '$.iso_code'), received_at);
      CREATE INDEX events_request ON events(json_extract(body, '$.request_id'), received_at);
      CREATE INDEX events_status ON events(json_extract(body, '$.status'), received_at);
      CREATE TABLE deliveries (id INTEGER PRIMARY KEY, event_seq INTEGER NOT NULL REFERENCES events(seq) ON DELETE CASCADE,
        destination TEXT NOT NULL, message_key TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'dead')),
        attempts INTEGER NOT NULL DEFAULT 0, first_at INTEGER NOT NULL, next_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
        last_code TEXT, last_error TEXT);
      PRAGMA user_version = 4;`);
    const insert = old.prepare('INSERT INTO events (event_id, message_key, type, profile, status_class, received_at, body, route) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    const deliver = old.prepare("INSERT INTO deliveries (event_seq, destination, message_key, state, first_at, next_at, updated_at) VALUES (?, 'kafka:events', ?, 'done', ?, ?, ?)");
    events.forEach((e, i) => {
      const at = T0 + i * 1_000;
      const seq = insert.run(e.event_id, e.message_key, e.type, e.profile, e.status_class, at, JSON.stringify(e), JSON.stringify({ rules: ['r'], fallback: false, destinations: ['kafka:events'] })).lastInsertRowid;
      deliver.run(seq, e.message_key, at, at, at);
    });
    old.close();
  }

  it('fills the new columns from the old bodies, keeps those bodies readable, and filters old and new events alike off the new indexes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kcr-v4-'));
    dirs.push(dir);
    const path = join(dir, 'spool.db');
    const oldDelivered = report({ status: 'Delivered', status_trace: '', iso_code: 'US', country_name: 'United States', recipient: '12025550123' });
    const oldSent = report({ status: 'Sent', status_trace: '' });
    versionFour(path, [oldDelivered, oldSent]);

    const s = new Spool({ path, now: () => T0 + 10_000, plan: (e) => matchRoutes(e, config.table) });
    try {
      const fresh = report({ status: 'Undelivered', iso_code: 'US', country_name: 'United States', recipient: '12025550124' });
      await s.commits.accept(fresh);
      const db = new Database(path, { readonly: true });
      try {
        expect(db.pragma('user_version', { simple: true })).toBe(6);
        const rows = db.prepare('SELECT event_id, typeof(body) AS stored, iso_code, request_id, status, status_final FROM events ORDER BY seq').all();
        expect(rows).toEqual([
          { event_id: oldDelivered.event_id, stored: 'text', iso_code: 'US', request_id: oldDelivered.request_id, status: 'Delivered', status_final: 1 },
          { event_id: oldSent.event_id, stored: 'text', iso_code: 'IN', request_id: oldSent.request_id, status: 'Sent', status_final: 0 },
          { event_id: fresh.event_id, stored: 'blob', iso_code: 'US', request_id: fresh.request_id, status: 'Undelivered', status_final: 1 },
        ]);
        const indexes = db.prepare<[], { name: string; sql: string }>("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN ('events_iso', 'events_request', 'events_status')").all();
        expect(indexes.map((i) => i.sql).join('\n')).not.toMatch(/json_extract/);
        expect(indexes).toHaveLength(3);
        expect(db.pragma('table_info(deliveries)') as { name: string }[]).toContainEqual(expect.objectContaining({ name: 'latency_ms' }));
      } finally {
        db.close();
      }

      expect(s.operations.event(oldDelivered.event_id)).toEqual(oldDelivered);
      expect(s.operations.event(fresh.event_id)).toEqual(fresh);
      const ids = (filter: EventListFilter) => s.eventList.page(filter).rows.map((r) => r.event_id);
      expect(ids({ iso_code: 'US' })).toEqual([fresh.event_id, oldDelivered.event_id]);
      expect(ids({ status: 'Sent' })).toEqual([oldSent.event_id]);
      expect(ids({ request_id: oldDelivered.request_id! })).toEqual([oldDelivered.event_id]);
      expect(s.eventList.page({ status: 'Delivered' }).rows[0]).toMatchObject({ iso_code: 'US', status: 'Delivered', message_key: oldDelivered.message_key });
      expect(s.timeline.message(oldSent.message_key, 10)!.callbacks[0]).toMatchObject({ event_id: oldSent.event_id, status: 'Sent' });
      // The figures read the columns too: the old Sent report is not final, so India has none.
      expect(s.figures.countryRates(60)).toEqual([{ iso_code: 'US', final: 2, delivered: 1, rate: 0.5 }]);
    } finally {
      s.close();
    }
  });
});
