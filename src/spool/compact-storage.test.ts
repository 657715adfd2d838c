import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeliveryEvent } from '../event.js';
import { eventFrom } from '../testing/events.js';
import { postSample } from '../testing/samples.js';
import { callbackContext } from '../trace/context.js';
import { planSpoolTest } from '../testing/spool-routes.js';
import { openSpoolDb } from './db.js';
import { messageHash } from './message-hash.js';
import { Spool } from './spool.js';


const T0 = Date.parse('2026-11-01T10:00:00Z');
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

function report(over: Record<string, unknown> = {}): DeliveryEvent {
  const id = randomUUID();
  return eventFrom(postSample({ id, message_id: `${id}:1`, ...over }));
}

describe('spool version 6: each stored byte kept once', () => {
  const dirs: string[] = [];
  const spools: Spool[] = [];
  function dir(): string {
    const d = mkdtempSync(join(tmpdir(), 'kcr-compact-'));
    dirs.push(d);
    return d;
  }
  function spoolAt(path: string, plan = (e: DeliveryEvent) => planSpoolTest(e)): Spool {
    const s = new Spool({ path, now: () => T0, plan });
    spools.push(s);
    return s;
  }
  afterEach(() => {
    for (const s of spools.splice(0)) s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('keeps each routing decision once, names it from every event, and shows it in the timeline and the figures', async () => {
    const path = join(dir(), 'spool.db');
    const s = spoolAt(path);
    const failed = [report({ status: 'Undelivered' }), report({ status: 'Undelivered' })];
    const delivered = report({ status: 'Delivered', status_trace: 'DELIVRD', description: 'Delivered' });
    for (const e of [...failed, delivered]) await s.commits.accept(e);

    const db = new Database(path, { readonly: true });
    try {
      expect(db.prepare('SELECT decision FROM route_decisions ORDER BY id').pluck().all().map((d) => JSON.parse(d as string))).toEqual([
        { destinations: ['kafka:events', 'kafka:failures', 'webhook:crm'], rules: ['every-report', 'failures'], fallback: false },
        { destinations: ['kafka:events'], rules: ['every-report'], fallback: false },
      ]);
      expect(db.prepare('SELECT route, route_id FROM events ORDER BY seq').all()).toEqual([
        { route: null, route_id: 1 },
        { route: null, route_id: 1 },
        { route: null, route_id: 2 },
      ]);
    } finally {
      db.close();
    }
    expect(s.timeline.message(failed[1]!.message_key, 10)!.callbacks[0]!.route).toEqual({
      destinations: ['kafka:events', 'kafka:failures', 'webhook:crm'],
      rules: ['every-report', 'failures'],
      fallback: false,
    });
    expect(s.timeline.message(delivered.message_key, 10)!.callbacks[0]!.route).toMatchObject({ rules: ['every-report'] });
    expect(s.figures.ruleMatches(60)).toEqual({ byRule: { 'every-report': 3, failures: 2 }, fallback: 0, events: 3 });
  });

  it('stores a decision again when the commit that first stored it rolled back', async () => {
    const path = join(dir(), 'spool.db');
    const poison = report({ status: 'Undelivered' });
    // One event of the group commit fails alone: the batch is rolled back (with the decision the
    // first event had just stored) and stored again one event at a time.
    const s = spoolAt(path, (e) => {
      if (e.event_id === poison.event_id) throw new Error('this event cannot be planned');
      return planSpoolTest(e);
    });
    const first = report({ status: 'Undelivered' });
    const outcomes = await Promise.allSettled([s.commits.accept(first), s.commits.accept(poison)]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected']);
    const later = report({ status: 'Undelivered' });
    await s.commits.accept(later);

    for (const e of [first, later]) expect(s.timeline.message(e.message_key, 10)!.callbacks[0]!.route).toMatchObject({ rules: ['every-report', 'failures'] });
    const db = new Database(path, { readonly: true });
    try {
      expect(db.prepare('SELECT COUNT(*) FROM events e LEFT JOIN route_decisions r ON r.id = e.route_id WHERE r.id IS NULL').pluck().get()).toBe(0);
    } finally {
      db.close();
    }
  });

  it("stores the callback's trace context in 25 bytes and its tracestate, and gives each delivery a child span of it", async () => {
    const path = join(dir(), 'spool.db');
    const s = spoolAt(path);
    const ctx = callbackContext(`00-${TRACE}-00f067aa0ba902b7-01`, 'vendor=1');
    await s.commits.accept(report({ status: 'Undelivered' }), ctx);
    await s.commits.accept(report({ status: 'Undelivered' }));

    const db = new Database(path, { readonly: true });
    try {
      expect(db.prepare('SELECT typeof(traceparent) AS type, length(traceparent) AS bytes FROM events ORDER BY seq').all()).toEqual([
        { type: 'blob', bytes: 25 + 'vendor=1'.length },
        { type: 'blob', bytes: 25 },
      ]);
    } finally {
      db.close();
    }
    const [traced, started] = s.queue.due('kafka:events', 10);
    expect(traced!.trace).toMatchObject({ traceId: TRACE, parentId: ctx.spanId, flags: '01', tracestate: 'vendor=1' });
    expect(traced!.trace!.spanId).not.toBe(ctx.spanId);
    expect(started!.trace).toMatchObject({ flags: '01', tracestate: null });
    expect(started!.trace!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(started!.trace!.traceId).not.toBe(TRACE);
  });

  it('opens a version 5 spool: its events keep their route and trace, its deliveries their message order, its message states move to a table without rowid', async () => {
    const d = dir();
    const path = join(d, 'v5.db');
    const old = report({ status: 'Sent', status_trace: '' });
    const v5 = new Database(path);
    v5.exec(`
      CREATE TABLE events (seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, message_key TEXT NOT NULL, type TEXT NOT NULL,
        profile TEXT NOT NULL, status_class TEXT NOT NULL, received_at INTEGER NOT NULL, body TEXT NOT NULL, traceparent TEXT,
        route TEXT, iso_code TEXT, request_id TEXT, status TEXT, status_final INTEGER);
      CREATE TABLE deliveries (id INTEGER PRIMARY KEY, event_seq INTEGER NOT NULL REFERENCES events(seq) ON DELETE CASCADE,
        destination TEXT NOT NULL, message_key TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'dead')),
        attempts INTEGER NOT NULL DEFAULT 0, first_at INTEGER NOT NULL, next_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
        last_code TEXT, last_error TEXT, latency_ms INTEGER);
      CREATE INDEX deliveries_state ON deliveries(state, updated_at);
      CREATE TABLE message_state (message_key TEXT PRIMARY KEY, rank INTEGER NOT NULL, status TEXT NOT NULL, event_id TEXT NOT NULL,
        updated_at INTEGER NOT NULL, profile TEXT, missing_at INTEGER);
      CREATE INDEX message_state_interim ON message_state(profile, updated_at) WHERE rank = 1 AND missing_at IS NULL;
      PRAGMA user_version = 5;`);
    v5.prepare(
      `INSERT INTO events (event_id, message_key, type, profile, status_class, received_at, body, traceparent, route, iso_code, request_id, status, status_final)
       VALUES (?, ?, ?, 'default', ?, ?, ?, ?, ?, 'IN', ?, 'Sent', 0)`,
    ).run(old.event_id, old.message_key, old.type, old.status_class, T0 - 60_000, JSON.stringify(old), `00-${TRACE}-00f067aa0ba902b7-01\nvendor=1`, JSON.stringify({ destinations: ['kafka:events'], rules: ['every-report'], fallback: false }), old.request_id);
    v5.prepare(`INSERT INTO deliveries (event_seq, destination, message_key, state, first_at, next_at, updated_at) VALUES (1, 'kafka:events', ?, 'pending', ?, ?, ?)`).run(old.message_key, T0 - 60_000, T0 - 60_000, T0 - 60_000);
    v5.prepare(`INSERT INTO message_state VALUES (?, 1, 'Sent', ?, ?, 'default', NULL)`).run(old.message_key, old.event_id, T0 - 60_000);
    v5.close();

    const s = spoolAt(path);
    const [delivery] = s.queue.due('kafka:events', 10);
    expect(delivery).toMatchObject({ eventId: old.event_id, trace: { traceId: TRACE, parentId: '00f067aa0ba902b7', tracestate: 'vendor=1' } });
    expect(s.timeline.message(old.message_key, 10)!.callbacks[0]!.route).toEqual({ destinations: ['kafka:events'], rules: ['every-report'], fallback: false });
    expect(s.timeline.message(old.message_key, 10)!.state).toMatchObject({ status: 'Sent' });
    expect(s.operations.interimSince('default', T0, 10).map((m) => m.messageKey)).toEqual([old.message_key]);
    // The migrated delivery keeps its message by the hash new ones get: the old message's next
    // report waits behind its delivery's retry, while another message's goes out.
    s.queue.markRetry(delivery!.id, T0 + 60_000, 'kafka_unavailable', 'broker down');
    const next = report({ message_id: old.message_id, id: old.request_id, status: 'Delivered', status_trace: 'DELIVRD', description: 'Delivered' });
    const other = report({ status: 'Delivered', status_trace: 'DELIVRD', description: 'Delivered' });
    await s.commits.accept(next);
    await s.commits.accept(other);
    expect(next.message_key).toBe(old.message_key);
    expect(s.queue.due('kafka:events', 10).map((d) => d.eventId)).toEqual([other.event_id]);
    const fresh = report({ status: 'Undelivered' });
    await s.commits.accept(fresh);
    expect(s.timeline.message(fresh.message_key, 10)!.callbacks[0]!.route).toMatchObject({ rules: ['every-report', 'failures'] });
    s.queue.markDead(s.queue.due('webhook:crm', 10)[0]!.id, 'http_410', 'gone');
    expect(s.eventList.page({ delivery: 'dead' }).rows.map((r) => r.event_id)).toEqual([fresh.event_id]);
    expect(s.eventList.page({ delivery: 'pending' }).rows.map((r) => r.event_id)).toEqual([fresh.event_id, other.event_id, next.event_id, old.event_id]);

    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(6);
      expect(db.prepare("SELECT sql FROM sqlite_master WHERE name = 'message_state'").pluck().get()).toMatch(/WITHOUT ROWID\s*$/);
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name IN ('deliveries_state', 'deliveries_dead', 'message_state_interim') ORDER BY name").pluck().all()).toEqual([
        'deliveries_dead',
        'message_state_interim',
      ]);
    } finally {
      db.close();
    }
    s.close();
    // The migrated file has the tables, columns and indexes a new one has.
    expect(shape(path)).toEqual(shape(join(d, 'fresh.db')));
  });

  it("stores each body against its own row's ids and each message's event id in 16 bytes, and every reader gives them back from disk", async () => {
    const path = join(dir(), 'spool.db');
    const sent = report({ status: 'Sent', status_trace: '', description: 'Sent' });
    const failed = report({ status: 'Undelivered' });
    const first = spoolAt(path);
    for (const e of [sent, failed]) await first.commits.accept(e);
    first.close();

    const db = new Database(path, { readonly: true });
    try {
      expect(db.prepare('SELECT hex(substr(body, 1, 1)) FROM events ORDER BY seq').pluck().all()).toEqual(['02', '02']);
      expect(db.prepare('SELECT typeof(event_id) AS type, length(event_id) AS bytes FROM message_state').all()).toEqual([
        { type: 'blob', bytes: 16 },
        { type: 'blob', bytes: 16 },
      ]);
    } finally {
      db.close();
    }
    // A new process: nothing in memory, each body inflated against its row's ids.
    const s = spoolAt(path);
    expect(s.queue.due('kafka:events', 10).map((d) => d.body)).toEqual([JSON.stringify(sent), JSON.stringify(failed)]);
    const { raw, raw_query, ...event } = failed;
    expect(s.timeline.message(failed.message_key, 10)!.callbacks[0]).toMatchObject({ event_id: failed.event_id, event, raw, raw_query });
    expect(s.timeline.message(failed.message_key, 10)!.state).toMatchObject({ event_id: failed.event_id, status: 'Undelivered' });
    expect(s.eventList.page({}).rows.map((r) => [r.event_id, r.status])).toEqual([
      [failed.event_id, 'Undelivered'],
      [sent.event_id, 'Sent'],
    ]);
    expect(s.operations.interimSince('default', T0 + 1, 10)).toEqual([{ messageKey: sent.message_key, last: sent }]);
  });

  it('keeps no schedule and no message order for a done delivery, and a replay gives both back', async () => {
    const path = join(dir(), 'spool.db');
    const s = spoolAt(path);
    const first = report({ status: 'Sent', status_trace: '', description: 'Sent' });
    await s.commits.accept(first);
    const [delivery] = s.queue.due('kafka:events', 10);
    s.queue.markDone([delivery!.id], 12);
    const row = new Database(path, { readonly: true }).prepare<[number], Record<string, unknown>>('SELECT state, next_at, message_hash, latency_ms FROM deliveries WHERE id = ?');
    try {
      expect(row.get(delivery!.id)).toEqual({ state: 'done', next_at: 0, message_hash: 0, latency_ms: 12 });
      expect(s.operations.replay({ eventId: first.event_id }, 'done')).toBe(1);
      expect(row.get(delivery!.id)).toEqual({ state: 'pending', next_at: T0, message_hash: messageHash(first.message_key), latency_ms: 12 });
    } finally {
      row.database.close();
    }
    // Its message's order holds again: the next report waits behind the replayed delivery's retry.
    s.queue.markRetry(delivery!.id, T0 + 60_000, 'kafka_unavailable', 'broker down');
    const next = report({ message_id: first.message_id, id: first.request_id, status: 'Delivered', status_trace: 'DELIVRD', description: 'Delivered' });
    const other = report({ status: 'Delivered', status_trace: 'DELIVRD', description: 'Delivered' });
    await s.commits.accept(next);
    await s.commits.accept(other);
    expect(s.queue.due('kafka:events', 10).map((d) => d.eventId)).toEqual([other.event_id]);
  });
});

/** Tables (with their columns and whether they have a rowid) and indexes of a spool opened at `path`. */
function shape(path: string): unknown {
  const db = openSpoolDb(path);
  try {
    const tables = db.prepare<[], { name: string; sql: string }>("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name").all();
    const columns = Object.fromEntries(
      tables.map((t) => [t.name, { rowid: !/WITHOUT ROWID\s*$/.test(t.sql), columns: (db.pragma(`table_info(${t.name})`) as { name: string; type: string }[]).map((c) => `${c.name} ${c.type}`).sort() }]),
    );
    const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all();
    return { columns, indexes };
  } finally {
    db.close();
  }
}
