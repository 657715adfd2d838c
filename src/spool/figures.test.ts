import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeliveryEvent } from '../event.js';
import { FINAL_MISSING_TYPE } from '../ingest/intake.js';
import { compileRoutes } from '../route/compile.js';
import { matchRoutes } from '../route/match.js';
import { eventFrom } from '../testing/events.js';
import { postSample } from '../testing/samples.js';
import { openSpoolDb } from './db.js';
import { Spool } from './spool.js';

const config = compileRoutes(
  {
    profiles: { default: {}, IN_1: {} },
    kafka: { topics: { events: 'kaleyra.sms.events', failures: 'kaleyra.sms.failures' } },
    webhooks: { crm: { url: 'http://127.0.0.1:9/hooks' } },
    rules: [
      { name: 'india', match: { iso_code: 'IN' }, to: ['kafka:events'] },
      { name: 'failures', match: { status: ['undelivered', 'failed'] }, to: ['kafka:failures', 'webhook:crm'] },
    ],
    fallback: ['kafka:events'],
  },
  'figures test config',
);

const MINUTE = 60_000;
// 10:30:20: the current minute started 20 s ago.
const NOW = Date.parse('2026-11-01T10:30:20Z');

let clock = NOW;
const spools: Spool[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const s of spools.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  clock = NOW;
});

function spool(path = ':memory:'): Spool {
  const s = new Spool({ path, now: () => clock, plan: (e) => matchRoutes(e, config.table) });
  spools.push(s);
  return s;
}

/** One report of a new message, accepted at `at` (ms epoch). */
async function receive(s: Spool, at: number, over: Record<string, unknown>, profile = 'default'): Promise<DeliveryEvent> {
  const event = eventFrom(postSample({ id: randomUUID(), message_id: `${randomUUID()}:1`, ...over }), { profile });
  clock = at;
  await s.commits.accept(event);
  clock = NOW;
  return event;
}

const delivered = { status: 'Delivered', status_trace: '', description: '' };

describe('SpoolFigures.callbacksPerMinute: the last hour, minute by minute', () => {
  it('counts each minute by status class and by profile, with 0 for quiet minutes and nothing from before the window', async () => {
    const s = spool();
    await receive(s, NOW - 2 * 3_600_000, delivered); // two hours ago: outside
    await receive(s, NOW - 60 * MINUTE, delivered); // 09:30:20, the minute before the window's first
    await receive(s, NOW - 59 * MINUTE, delivered); // 09:31:20: the first minute
    await receive(s, NOW - 2 * MINUTE, delivered, 'IN_1'); // 10:28:20
    await receive(s, NOW - MINUTE + 30_000, {}, 'IN_1'); // Undelivered, 10:29:50
    await receive(s, NOW - 1_000, delivered);

    const f = s.figures.callbacksPerMinute(60);
    expect(f.minutes).toHaveLength(60);
    expect(new Date(f.minutes[0]!).toISOString()).toBe('2026-11-01T09:31:00.000Z');
    expect(new Date(f.minutes[59]!).toISOString()).toBe('2026-11-01T10:30:00.000Z');
    expect(f.total).toBe(4);
    expect(Object.keys(f.byClass).sort()).toEqual(['delivered', 'undelivered']);
    expect(f.byClass.delivered![0]).toBe(1);
    expect(f.byClass.delivered![57]).toBe(1);
    expect(f.byClass.undelivered![58]).toBe(1);
    expect(f.byClass.delivered![59]).toBe(1);
    expect(f.byClass.delivered!.reduce((a, b) => a + b)).toBe(3);
    expect(f.byProfile.IN_1!.reduce((a, b) => a + b)).toBe(2);
    expect(f.byProfile.default!.reduce((a, b) => a + b)).toBe(2);
  });

  it('leaves out the events the router makes itself (sms.final_missing): they are not callbacks', async () => {
    const s = spool();
    const last = await receive(s, NOW - 5 * MINUTE, { status: 'Sent', status_trace: '', description: '' });
    const missing: DeliveryEvent = { ...last, event_id: randomUUID(), type: FINAL_MISSING_TYPE, status_class: 'unknown', status_final: true };
    await s.commits.accept(missing);
    const f = s.figures.callbacksPerMinute(60);
    expect(f.total).toBe(1);
    expect(f.byClass.unknown).toBeUndefined();
  });

  it('is all zeros on an empty spool', () => {
    const f = spool().figures.callbacksPerMinute(10);
    expect(f).toMatchObject({ total: 0, byClass: {}, byProfile: {} });
    expect(f.minutes).toHaveLength(10);
  });
});

describe('SpoolFigures.countryRates: delivered ÷ final reports per country', () => {
  it('counts final reports per iso_code in the last hour, interim ones left out', async () => {
    const s = spool();
    await receive(s, NOW - 60 * MINUTE, { ...delivered, iso_code: 'GB' }); // the minute before the window
    for (let i = 0; i < 3; i++) await receive(s, NOW - i * MINUTE, { ...delivered, iso_code: 'IN' });
    await receive(s, NOW - 10 * MINUTE, { iso_code: 'IN' }); // Undelivered: final, not delivered
    await receive(s, NOW - 10 * MINUTE, { status: 'Sent', status_trace: '', iso_code: 'IN' }); // interim
    await receive(s, NOW - 10 * MINUTE, { ...delivered, iso_code: 'US', country_name: 'United States' });
    await receive(s, NOW - 10 * MINUTE, { ...delivered, iso_code: '', country_name: '' }); // no country

    expect(s.figures.countryRates(60)).toEqual([
      { iso_code: 'IN', final: 4, delivered: 3, rate: 0.75 },
      { iso_code: null, final: 1, delivered: 1, rate: 1 },
      { iso_code: 'US', final: 1, delivered: 1, rate: 1 },
    ]);
  });
});

describe('SpoolFigures.ruleMatches: what each rule matched, as decided at accept', () => {
  it('counts the rules each event matched in the last hour, and what the fallback took', async () => {
    const s = spool();
    await receive(s, NOW - 60 * MINUTE, { iso_code: 'IN' }); // the minute before the window
    await receive(s, NOW - MINUTE, { ...delivered, iso_code: 'IN' }); // india
    await receive(s, NOW - MINUTE, { iso_code: 'IN' }); // india + failures
    await receive(s, NOW - MINUTE, { iso_code: 'GB' }); // failures
    await receive(s, NOW - MINUTE, { ...delivered, iso_code: 'GB' }); // fallback
    expect(s.figures.ruleMatches(60)).toEqual({ byRule: { india: 2, failures: 2 }, fallback: 1, events: 4 });
  });
});

describe('SpoolFigures.queueHead: the oldest pending delivery of a destination', () => {
  it('says when the head was accepted and whether it is being retried; null once nothing is pending', async () => {
    const s = spool();
    expect(s.figures.queueHead('webhook:crm')).toBeNull();
    await receive(s, NOW - 5 * MINUTE, { iso_code: 'GB' });
    await receive(s, NOW - MINUTE, { iso_code: 'GB' });
    expect(s.figures.queueHead('webhook:crm')).toEqual({ firstAt: NOW - 5 * MINUTE, attempts: 0, lastCode: null });

    const [head, next] = s.queue.due('webhook:crm', 10);
    s.queue.markRetry(head!.id, NOW + MINUTE, 'http_503', 'answered 503');
    expect(s.figures.queueHead('webhook:crm')).toEqual({ firstAt: NOW - 5 * MINUTE, attempts: 1, lastCode: 'http_503' });

    s.queue.markDone([head!.id, next!.id]);
    expect(s.figures.queueHead('webhook:crm')).toBeNull();
  });
});

describe('SpoolFigures: counted from the events committed since the last read', () => {
  it('counts the events already in the file when a spool opens (a restart), then keeps counting', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kcr-figures-'));
    dirs.push(dir);
    const path = join(dir, 'spool.db');
    const first = spool(path);
    await receive(first, NOW - 90 * MINUTE, { ...delivered, iso_code: 'IN' }); // outside the hour
    await receive(first, NOW - 10 * MINUTE, { ...delivered, iso_code: 'IN' });
    await receive(first, NOW - 5 * MINUTE, { iso_code: 'GB' });
    const before = { perMinute: first.figures.callbacksPerMinute(60), countries: first.figures.countryRates(60), rules: first.figures.ruleMatches(60) };
    first.close();

    const reopened = spool(path);
    expect({ perMinute: reopened.figures.callbacksPerMinute(60), countries: reopened.figures.countryRates(60), rules: reopened.figures.ruleMatches(60) }).toEqual(before);
    expect(before.perMinute.total).toBe(2);
    await receive(reopened, NOW, { iso_code: 'GB' });
    expect(reopened.figures.countryRates(60)).toEqual([
      { iso_code: 'GB', final: 2, delivered: 0, rate: 0 },
      { iso_code: 'IN', final: 1, delivered: 1, rate: 1 },
    ]);
  });

  it('counts events another process committed to the file (a CLI re-ingest)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kcr-figures-'));
    dirs.push(dir);
    const path = join(dir, 'spool.db');
    const router = spool(path);
    await receive(router, NOW - MINUTE, delivered);
    expect(router.figures.callbacksPerMinute(60).total).toBe(1);
    const cli = spool(path);
    await receive(cli, NOW, { iso_code: 'GB' });
    expect(router.figures.callbacksPerMinute(60).total).toBe(2);
    expect(router.figures.ruleMatches(60)).toEqual({ byRule: { india: 1, failures: 1 }, fallback: 0, events: 2 });
  });

  it('never counts an event whose commit rolled back', async () => {
    const db = openSpoolDb(':memory:');
    const s = new Spool({ path: ':memory:', db, now: () => clock, plan: (e) => matchRoutes(e, config.table) });
    spools.push(s);
    await receive(s, NOW, delivered);
    expect(s.figures.callbacksPerMinute(60).total).toBe(1);
    const body = JSON.stringify(eventFrom(postSample({ id: randomUUID() })));
    const insert = db.prepare("INSERT INTO events (event_id, message_key, type, profile, status_class, received_at, body, route) VALUES (?, 'm', 'sms.undelivered', 'default', 'undelivered', ?, ?, ?)");
    expect(() =>
      db.transaction(() => {
        insert.run(randomUUID(), NOW, body, JSON.stringify({ rules: ['failures'], fallback: false, destinations: [] }));
        throw new Error('the disk is full');
      })(),
    ).toThrow('the disk is full');
    expect(s.figures.callbacksPerMinute(60).byClass).toEqual({ delivered: expect.any(Array) });
    expect(s.figures.ruleMatches(60)).toEqual({ byRule: { india: 1 }, fallback: 0, events: 1 });
    expect(s.figures.countryRates(60)).toEqual([{ iso_code: 'IN', final: 1, delivered: 1, rate: 1 }]);
  });

  it('drops minutes too old to be asked for as new events come', async () => {
    const s = spool();
    await receive(s, NOW - 3 * 3_600_000, delivered);
    await receive(s, NOW, delivered);
    // Asked for more than it keeps (90 minutes), it answers what it kept.
    expect(s.figures.callbacksPerMinute(240).total).toBe(1);
  });
});
