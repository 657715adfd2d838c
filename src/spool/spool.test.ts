import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../errors.js';
import type { DeliveryEvent } from '../event.js';
import { compileRoutes } from '../route/compile.js';
import { matchRoutes } from '../route/match.js';
import { eventFrom } from '../testing/events.js';
import { postSample } from '../testing/samples.js';
import { planSpoolTest } from '../testing/spool-routes.js';
import { openSpoolDb, type SpoolDb } from './db.js';
import { Spool, type PendingDelivery, type SpoolOptions } from './spool.js';
import { SPOOL_VERSION } from './schema.sql.js';

const plan = planSpoolTest;


/** A report for `message_id` with its own callback id. */
function report(messageId: string, status: string, id: string = randomUUID()): DeliveryEvent {
  return eventFrom(postSample({ message_id: messageId, id, status }));
}

const DAY = 86_400_000;

describe('Spool', () => {
  let dir: string;
  let path: string;
  let clock: number;
  const open: Spool[] = [];
  function spoolAt(opts: Partial<SpoolOptions> = {}): Spool {
    const s = new Spool({ path, now: () => clock, ...opts, plan: plan });
    open.push(s);
    return s;
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kcr-spool-'));
    path = join(dir, 'spool.db');
    clock = Date.parse('2024-03-01T10:00:00Z');
  });
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('accept', () => {
    it("stores the provider's sample and one pending delivery per planned destination once the commit resolves", async () => {
      const spool = spoolAt();
      const event = eventFrom(postSample());
      const r = await spool.commits.accept(event);

      expect(r).toMatchObject({ eventId: event.event_id, duplicate: false, stale: false });
      expect(r.route.destinations).toEqual(['kafka:events', 'kafka:failures', 'webhook:crm']);
      expect(spool.operations.event(event.event_id)).toEqual(event);
      // Committed, not just visible inside the spool's own connection: another reader sees it.
      const reader = new Database(path, { readonly: true });
      try {
        expect(reader.prepare('SELECT COUNT(*) AS n FROM deliveries').get()).toEqual({ n: 3 });
      } finally {
        reader.close();
      }
      const pending = spool.operations.listDeliveries('pending', { eventId: event.event_id });
      expect(pending.map((d) => d.destination).sort()).toEqual(['kafka:events', 'kafka:failures', 'webhook:crm']);
      expect(pending.every((d) => d.attempts === 0 && d.message_key === 'ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1')).toBe(true);
      const due = spool.queue.due('webhook:crm', 10);
      expect(due).toHaveLength(1);
      expect(due[0]).toMatchObject({ eventId: event.event_id, type: 'sms.undelivered', attempts: 0 });
      expect(JSON.parse(due[0]!.body)).toEqual(event);
    });

    it('keeps accepted events and deliveries across a reopen of the same file', async () => {
      const first = spoolAt();
      const event = eventFrom(postSample());
      await first.commits.accept(event);
      first.close();

      const reopened = spoolAt();
      expect(reopened.operations.event(event.event_id)).toEqual(event);
      expect(reopened.queue.due('kafka:events', 10).map((d) => d.eventId)).toEqual([event.event_id]);
      expect(reopened.operations.listDeliveries('pending')).toHaveLength(3);
    });

    it('commits 200 concurrent accepts in fewer transactions than requests, storing every one', async () => {
      const spool = spoolAt();
      let commits = 0;
      spool.queue.onCommit(() => commits++);
      const events = Array.from({ length: 200 }, (_, i) => report(`msg-${i}`, 'Delivered'));
      const results = await Promise.all(events.map((e) => spool.commits.accept(e)));

      expect(results.map((r) => r.eventId)).toEqual(events.map((e) => e.event_id));
      for (const e of events) expect(spool.operations.event(e.event_id)?.message_key).toBe(e.message_key);
      expect(spool.operations.listDeliveries('pending', { destination: 'kafka:events', limit: 1000 })).toHaveLength(200);
      expect(commits).toBeGreaterThanOrEqual(1);
      expect(commits).toBeLessThan(200);
    });

    it('fails only the event that cannot be stored, never the callbacks sharing its group commit, and keeps nothing of it', async () => {
      const spool = spoolAt();
      const good = [report('m-good-1', 'Delivered'), report('m-good-2', 'Failed')];
      // No message key: the accept step records it, then its event row breaks NOT NULL.
      const bad = { ...report('m-bad', 'Delivered'), message_key: null as unknown as string };
      const settled = await Promise.allSettled([good[0]!, bad, good[1]!].map((e) => spool.commits.accept(e)));

      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((settled[1] as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError);
      for (const e of good) expect(spool.operations.event(e.event_id)?.message_key).toBe(e.message_key);
      expect(spool.operations.event(bad.event_id)).toBeNull();
      expect(spool.operations.listDeliveries('pending', { limit: 100 }).map((d) => d.event_id).sort()).toEqual(
        [good[0]!.event_id, good[1]!.event_id, good[1]!.event_id, good[1]!.event_id].sort(),
      );
      // Its resend key went with it: the same report, fixed, is a new report, not a resend.
      const fixed = await spool.commits.accept({ ...bad, message_key: 'm-bad' });
      expect(fixed).toMatchObject({ duplicate: false, eventId: bad.event_id });
    });

    it('tells onCommit listeners which destinations got new work', async () => {
      const spool = spoolAt();
      const seen: string[][] = [];
      spool.queue.onCommit((d) => seen.push([...d].sort()));
      await spool.commits.accept(report('m-1', 'Delivered'));
      await spool.commits.accept(report('m-2', 'Failed'));
      expect(seen).toEqual([['kafka:events'], ['kafka:events', 'kafka:failures', 'webhook:crm']]);
    });
  });

  describe('duplicates', () => {
    it('answers a resend of the same callback (same message, status and status_time) inside the window with the first event id and stores nothing new', async () => {
      const spool = spoolAt({ dedupeWindowMs: 10 * 60_000 });
      const first = await spool.commits.accept(eventFrom(postSample()));
      const stored = spool.operations.event(first.eventId);
      clock += 9 * 60_000;
      const again = eventFrom(postSample({ description: 'sent again' }));
      const second = await spool.commits.accept(again);

      expect(second).toMatchObject({ duplicate: true, eventId: first.eventId });
      expect(second.route.destinations).toEqual([]);
      expect(spool.operations.event(first.eventId)).toEqual(stored);
      expect(spool.operations.listDeliveries(null)).toHaveLength(3);
    });

    it('remembers a resend as long as it keeps the event, past the window too, and accepts it again once the event is purged', async () => {
      const spool = spoolAt({ dedupeWindowMs: 10 * 60_000, retentionMs: DAY });
      const first = await spool.commits.accept(eventFrom(postSample()));
      clock += 10 * 60_000 + 1;
      expect(await spool.commits.accept(eventFrom(postSample()))).toMatchObject({ duplicate: true, eventId: first.eventId });

      spool.queue.markDone(spool.operations.listDeliveries('pending').map((d) => d.id));
      clock += DAY;
      expect(spool.operations.purge()).toBe(1);
      const later = eventFrom(postSample());
      const second = await spool.commits.accept(later);
      expect(second).toMatchObject({ duplicate: false, eventId: first.eventId });
      expect(spool.operations.listDeliveries('pending')).toHaveLength(3);
    });

    it('keeps events at least as long as the resend window, even with a shorter retention', async () => {
      const spool = spoolAt({ dedupeWindowMs: 2 * DAY, retentionMs: DAY });
      const first = await spool.commits.accept(eventFrom(postSample()));
      spool.queue.markDone(spool.operations.listDeliveries('pending').map((d) => d.id));
      clock += DAY + 1;
      expect(spool.operations.purge()).toBe(0);
      expect(await spool.commits.accept(eventFrom(postSample()))).toMatchObject({ duplicate: true, eventId: first.eventId });
      clock += DAY;
      expect(spool.operations.purge()).toBe(1);
    });

    it('treats a new status for the same message as a new report; a respelling of the same one is a resend', async () => {
      const spool = spoolAt();
      const sent = await spool.commits.accept(eventFrom(postSample({ status: 'Sent' })));
      const delivered = await spool.commits.accept(eventFrom(postSample({ status: 'Delivered' })));
      const respelt = await spool.commits.accept(eventFrom(postSample({ status: 'DELIVERED ' })));

      expect(sent.duplicate).toBe(false);
      expect(delivered.duplicate).toBe(false);
      expect(delivered.eventId).not.toBe(sent.eventId);
      expect(respelt).toMatchObject({ duplicate: true, eventId: delivered.eventId });
    });

    it('is tracked per profile: the same callback on another profile is not a duplicate', async () => {
      const spool = spoolAt();
      const a = await spool.commits.accept(eventFrom(postSample(), { profile: 'default' }));
      const b = await spool.commits.accept(eventFrom(postSample(), { profile: 'other' }));
      expect(a.duplicate).toBe(false);
      expect(b.duplicate).toBe(false);
    });

    it('delivers every recipient of a campaign: 50 message_ids sharing one request id and status are 50 reports', async () => {
      const spool = spoolAt();
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          spool.commits.accept(eventFrom(postSample({ id: 'campaign-1', message_id: `5f0c2a3e-6311-4c52-b23d-afe0a05fc336:${i + 1}`, status: 'Delivered' }))),
        ),
      );
      expect(results.filter((r) => r.duplicate)).toEqual([]);
      expect(new Set(results.map((r) => r.eventId)).size).toBe(50);
      expect(spool.operations.listDeliveries('pending', { destination: 'kafka:events', limit: 100 })).toHaveLength(50);
    });

    it('a later report of the same message and status at another status_time is new, not a resend', async () => {
      const spool = spoolAt();
      const first = await spool.commits.accept(eventFrom(postSample({ status: 'Sent' })));
      const again = await spool.commits.accept(eventFrom(postSample({ status: 'Sent', status_time: '2022-04-05 09:10:00+00:00' })));
      expect(first.duplicate).toBe(false);
      expect(again.duplicate).toBe(false);
    });

    it('keeps the lifecycle per message: a Delivered for one recipient never makes another recipient\'s Sent stale', async () => {
      const spool = spoolAt();
      await spool.commits.accept(eventFrom(postSample({ id: 'campaign-2', message_id: 'c2:1', status: 'Delivered' })));
      const other = await spool.commits.accept(eventFrom(postSample({ id: 'campaign-2', message_id: 'c2:2', status: 'Sent' })));
      expect(other.stale).toBe(false);
    });

    it('catches a duplicate arriving in the same group commit as the original', async () => {
      const spool = spoolAt();
      const [a, b] = await Promise.all([spool.commits.accept(eventFrom(postSample())), spool.commits.accept(eventFrom(postSample()))]);
      expect(a!.duplicate).toBe(false);
      expect(b).toMatchObject({ duplicate: true, eventId: a!.eventId });
    });
  });

  describe('out-of-order reports', () => {
    function latestStatus(messageKey: string): string | undefined {
      const db = new Database(path, { readonly: true });
      try {
        return db.prepare<[string], { status: string }>('SELECT status FROM message_state WHERE message_key = ?').get(messageKey)?.status;
      } finally {
        db.close();
      }
    }

    it('marks a Sent that arrives after Delivered as stale, stores it so, and keeps Delivered as the latest state', async () => {
      const spool = spoolAt();
      const delivered = await spool.commits.accept(report('m-ooo', 'Delivered'));
      const sent = report('m-ooo', 'Sent');
      const late = await spool.commits.accept(sent);

      expect(delivered.stale).toBe(false);
      expect(late.stale).toBe(true);
      expect(spool.operations.event(sent.event_id)?.stale).toBe(true);
      expect(latestStatus('m-ooo')).toBe('Delivered');

      const laterStill = await spool.commits.accept(eventFrom(postSample({ message_id: 'm-ooo', status: 'Sent', status_time: '2022-04-05 08:57:00+00:00' })));
      expect(laterStill.stale).toBe(true);
      expect(latestStatus('m-ooo')).toBe('Delivered');
    });

    it('marks neither report stale when Sent comes before Delivered', async () => {
      const spool = spoolAt();
      const sent = await spool.commits.accept(report('m-io', 'Sent'));
      const delivered = await spool.commits.accept(report('m-io', 'Delivered'));
      expect(sent.stale).toBe(false);
      expect(delivered.stale).toBe(false);
      expect(spool.operations.event(delivered.eventId)?.stale).toBe(false);
      expect(latestStatus('m-io')).toBe('Delivered');
    });

    it('routes on the stored (stale) event, so rules can drop stale reports', async () => {
      const dropStale = compileRoutes({
        profiles: { default: {} },
        kafka: { topics: { events: 'e' } },
        rules: [
          { name: 'drop-stale', match: { stale: true }, to: [], stop: true },
          { name: 'all', to: ['kafka:events'] },
        ],
      });
      const spool = new Spool({ path, now: () => clock, plan: (e) => matchRoutes(e, dropStale.table) });
      open.push(spool);
      await spool.commits.accept(report('m-drop', 'Delivered'));
      const late = await spool.commits.accept(report('m-drop', 'Sent'));
      expect(late.route).toEqual({ destinations: [], rules: ['drop-stale'], fallback: false });
      expect(spool.operations.listDeliveries(null, { eventId: late.eventId })).toEqual([]);
    });
  });

  describe('per-message order', () => {
    /**
     * The ordering promise of due(): a delivery of a message comes out only after every earlier
     * pending delivery of that message to that destination, in the same result and before it.
     */
    function expectMessageOrder(spool: Spool, destination: string, due: PendingDelivery[]): void {
      const pending = spool.operations.listDeliveries('pending', { destination, limit: 10_000 });
      due.forEach((d, i) => {
        const earlier = pending.filter((p) => p.message_key === d.messageKey && p.id < d.id).map((p) => p.id);
        const before = due.slice(0, i).map((x) => x.id);
        for (const id of earlier) expect(before, `delivery ${d.id} left before earlier delivery ${id} of ${d.messageKey}`).toContain(id);
      });
    }

    it('never hands out a later delivery of a message to a destination while an earlier one is pending', async () => {
      const spool = spoolAt();
      const a1 = await spool.commits.accept(report('m-A', 'Sent'));
      const a2 = await spool.commits.accept(report('m-A', 'Delivered'));
      const b1 = await spool.commits.accept(report('m-B', 'Delivered'));

      const due = spool.queue.due('kafka:events', 10);
      expect(due[0]!.eventId).toBe(a1.eventId);
      expect(due.map((d) => d.eventId)).toContain(b1.eventId);
      expectMessageOrder(spool, 'kafka:events', due);

      // The first report of m-A waits for a retry: m-B still goes, the second report of m-A does not.
      spool.queue.markRetry(due[0]!.id, clock + 60_000, 'http_503', 'busy');
      expect(spool.queue.due('kafka:events', 10).map((d) => d.eventId)).toEqual([b1.eventId]);
      expect(spool.queue.due('kafka:events', 1).map((d) => d.eventId)).toEqual([b1.eventId]);

      clock += 60_000;
      const again = spool.queue.due('kafka:events', 10);
      expect(again[0]!.eventId).toBe(a1.eventId);
      expectMessageOrder(spool, 'kafka:events', again);

      spool.queue.markDone([again[0]!.id]);
      expect(spool.queue.due('kafka:events', 10).map((d) => d.eventId)).toEqual([a2.eventId, b1.eventId]);
    });

    it('lets a dead letter stop blocking the later reports of its message', async () => {
      const spool = spoolAt();
      await spool.commits.accept(report('m-D', 'Sent'));
      const d2 = await spool.commits.accept(report('m-D', 'Delivered'));
      const [first] = spool.queue.due('kafka:events', 1);
      spool.queue.markRetry(first!.id, clock + 60_000, 'http_503', 'busy');
      expect(spool.queue.due('kafka:events', 10)).toEqual([]);
      spool.queue.markDead(first!.id, 'http_400', 'bad');
      expect(spool.queue.due('kafka:events', 10).map((d) => d.eventId)).toEqual([d2.eventId]);
    });

    it('orders each destination on its own: a pending delivery to one does not hold back another', async () => {
      const spool = spoolAt();
      const f1 = await spool.commits.accept(report('m-F', 'Failed'));
      const f2 = await spool.commits.accept(report('m-F', 'Undelivered'));
      const [crm] = spool.queue.due('webhook:crm', 10);
      spool.queue.markRetry(crm!.id, clock + 60_000, 'timeout', 'timed out');

      expect(spool.queue.due('webhook:crm', 10)).toEqual([]);
      const failures = spool.queue.due('kafka:failures', 10);
      expect(failures[0]!.eventId).toBe(f1.eventId);
      expectMessageOrder(spool, 'kafka:failures', failures);
      spool.queue.markDone([failures[0]!.id]);
      expect(spool.queue.due('kafka:failures', 10).map((d) => d.eventId)).toEqual([f2.eventId]);
    });

    it('indexes only the deliveries waiting for a retry for the order, and drops the older index over every pending one', async () => {
      let spool = spoolAt();
      await spool.commits.accept(report('m-i', 'Sent'));
      spool.close();
      // As a router before this one left it.
      const old = new Database(path);
      old.exec("DROP INDEX deliveries_waiting; CREATE INDEX deliveries_order ON deliveries(destination, message_hash, id) WHERE state = 'pending'");
      old.close();

      spool = spoolAt();
      const look = new Database(path, { readonly: true });
      const indexes = look.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN ('deliveries_order', 'deliveries_waiting')").all();
      look.close();
      expect(indexes).toEqual([{ name: 'deliveries_waiting', sql: expect.stringContaining("WHERE state = 'pending' AND attempts > 0") }]);
      // The order holds on the upgraded spool: a report waits behind its message's retry.
      const [first] = spool.queue.due('kafka:events', 10);
      spool.queue.markRetry(first!.id, clock + 60_000, 'http_503', 'busy');
      await spool.commits.accept(report('m-i', 'Delivered'));
      expect(spool.queue.due('kafka:events', 10)).toEqual([]);
      clock += 60_000;
      expect(spool.queue.due('kafka:events', 10)).toHaveLength(2);
    });

    it('reports when the next pending delivery falls due', async () => {
      const spool = spoolAt();
      expect(spool.queue.nextDueAt('kafka:events')).toBeNull();
      await spool.commits.accept(report('m-n', 'Delivered'));
      const [d] = spool.queue.due('kafka:events', 1);
      spool.queue.markRetry(d!.id, clock + 5_000, 'kafka_unavailable', 'down');
      expect(spool.queue.nextDueAt('kafka:events')).toBe(clock + 5_000);
    });

    it('counts a destination\'s pending deliveries, waiting ones included, done ones not', async () => {
      const spool = spoolAt();
      for (const id of ['m-c1', 'm-c2', 'm-c3']) await spool.commits.accept(report(id, 'Delivered'));
      const [first, second] = spool.queue.due('kafka:events', 2);
      spool.queue.markDone([first!.id]);
      spool.queue.markRetry(second!.id, clock + 5_000, 'kafka_unavailable', 'down');
      expect(spool.queue.pendingCount('kafka:events')).toBe(2);
      expect(spool.queue.pendingCount('webhook:nowhere')).toBe(0);
    });
  });

  describe('delivery outcomes, replay and backfill', () => {
    it('records done, retry and dead outcomes with attempts, codes and errors', async () => {
      const spool = spoolAt();
      await spool.commits.accept(eventFrom(postSample()));
      const byDest = (dest: string) => spool.operations.listDeliveries(null, { destination: dest })[0]!;

      spool.queue.markDone([byDest('kafka:events').id]);
      spool.queue.markRetry(byDest('kafka:failures').id, clock + 1_000, 'http_503', 'POST answered 503');
      spool.queue.markDead(byDest('webhook:crm').id, 'http_400', 'POST answered 400 (permanent)');

      expect(byDest('kafka:events')).toMatchObject({ state: 'done', attempts: 1, last_code: null });
      expect(byDest('kafka:failures')).toMatchObject({ state: 'pending', attempts: 1, next_at: clock + 1_000, last_code: 'http_503' });
      expect(byDest('webhook:crm')).toMatchObject({ state: 'dead', attempts: 1, last_code: 'http_400', last_error: 'POST answered 400 (permanent)' });
      expect(spool.operations.listDeliveries('dead').map((d) => d.destination)).toEqual(['webhook:crm']);
      expect(spool.operations.counts()).toEqual([
        { destination: 'kafka:events', state: 'done', n: 1 },
        { destination: 'kafka:failures', state: 'pending', n: 1 },
        { destination: 'webhook:crm', state: 'dead', n: 1 },
      ]);
    });

    it('does not change a delivery that is no longer pending', async () => {
      const spool = spoolAt();
      await spool.commits.accept(report('m-once', 'Delivered'));
      const [d] = spool.queue.due('kafka:events', 1);
      spool.queue.markDead(d!.id, 'http_400', 'bad');
      spool.queue.markDone([d!.id]);
      spool.queue.markRetry(d!.id, clock, 'timeout', 'late');
      expect(spool.operations.listDeliveries(null)[0]).toMatchObject({ state: 'dead', attempts: 1, last_code: 'http_400' });
    });

    it('replays dead letters back to pending with fresh attempts, matching the filter only', async () => {
      const spool = spoolAt();
      await spool.commits.accept(eventFrom(postSample()));
      for (const d of spool.operations.listDeliveries('pending')) {
        spool.queue.markRetry(d.id, clock, 'http_500', 'boom');
        spool.queue.markDead(d.id, d.destination === 'webhook:crm' ? 'http_400' : 'timeout', 'gave up');
      }
      const notified: string[][] = [];
      spool.queue.onCommit((d) => notified.push([...d]));

      expect(spool.operations.replay({ code: 'http_400' })).toBe(1);
      const crm = spool.operations.listDeliveries(null, { destination: 'webhook:crm' })[0]!;
      expect(crm).toMatchObject({ state: 'pending', attempts: 0 });
      expect(spool.queue.due('webhook:crm', 10)).toHaveLength(1);
      expect(spool.operations.listDeliveries('dead').map((d) => d.destination).sort()).toEqual(['kafka:events', 'kafka:failures']);
      expect(notified).toEqual([['webhook:crm']]);
    });

    it("replays delivered ('done') deliveries when asked for that state", async () => {
      const spool = spoolAt();
      const { eventId } = await spool.commits.accept(report('m-done', 'Delivered'));
      spool.queue.markDone(spool.queue.due('kafka:events', 10).map((d) => d.id));

      expect(spool.operations.replay({ eventId })).toBe(0);
      expect(spool.operations.replay({ eventId }, 'done')).toBe(1);
      expect(spool.operations.listDeliveries(null, { eventId })[0]).toMatchObject({ state: 'pending', attempts: 0 });
    });

    it('replays only the listed ids; an empty id list replays nothing', async () => {
      const spool = spoolAt();
      await spool.commits.accept(eventFrom(postSample()));
      for (const d of spool.operations.listDeliveries('pending')) spool.queue.markDead(d.id, 'http_400', 'bad');
      const [one] = spool.operations.listDeliveries('dead', { destination: 'webhook:crm' });

      expect(spool.operations.replay({ ids: [one!.id] })).toBe(1);
      // An empty selection selects nothing: it must not widen into "every dead letter".
      expect(spool.operations.replay({ ids: [] })).toBe(0);
      expect(spool.operations.listDeliveries('dead')).toHaveLength(2);
    });

    it('backfills a new destination with the stored events it has not had, once', async () => {
      const spool = spoolAt();
      const a = await spool.commits.accept(report('m-bf1', 'Delivered'));
      const b = await spool.commits.accept(report('m-bf2', 'Failed'));
      const notified: string[][] = [];
      spool.queue.onCommit((d) => notified.push([...d]));

      expect(spool.operations.backfill('webhook:audit')).toBe(2);
      expect(spool.operations.backfill('webhook:audit')).toBe(0);
      const audit = spool.operations.listDeliveries('pending', { destination: 'webhook:audit' });
      expect(audit.map((d) => d.event_id).sort()).toEqual([a.eventId, b.eventId].sort());
      expect(audit.map((d) => d.message_key).sort()).toEqual(['m-bf1', 'm-bf2']);
      // m-bf2 already went to webhook:crm: nothing to add there.
      expect(spool.operations.backfill('webhook:crm')).toBe(1);
      expect(spool.operations.backfill('webhook:other', { messageKey: 'm-bf2' })).toBe(1);
      expect(notified).toEqual([['webhook:audit'], ['webhook:crm'], ['webhook:other']]);
    });
  });

  describe('retention', () => {
    it('purges old events that have nothing pending, keeps pending ones and rejected payloads', async () => {
      const spool = spoolAt({ retentionMs: 7 * DAY, dedupeWindowMs: 10 * 60_000 });
      const done = await spool.commits.accept(report('m-old-done', 'Delivered', 'cb-done'));
      const dead = await spool.commits.accept(report('m-old-dead', 'Delivered', 'cb-dead'));
      const waiting = await spool.commits.accept(report('m-old-pending', 'Delivered', 'cb-pending'));
      const [dDone] = spool.operations.listDeliveries('pending', { eventId: done.eventId });
      const [dDead] = spool.operations.listDeliveries('pending', { eventId: dead.eventId });
      spool.queue.markDone([dDone!.id]);
      spool.queue.markDead(dDead!.id, 'http_400', 'bad');
      spool.rejected.record({ profile: 'default', statusCode: 400, reason: 'old', contentType: null, body: 'x' });

      clock += 7 * DAY + 1;
      const fresh = await spool.commits.accept(report('m-new', 'Delivered', 'cb-new'));
      expect(spool.operations.purge()).toBe(2);

      expect(spool.operations.event(done.eventId)).toBeNull();
      expect(spool.operations.event(dead.eventId)).toBeNull();
      expect(spool.operations.event(waiting.eventId)).not.toBeNull();
      expect(spool.operations.event(fresh.eventId)).not.toBeNull();
      expect(spool.operations.listDeliveries(null).map((d) => d.event_id).sort()).toEqual([waiting.eventId, fresh.eventId].sort());
      expect(spool.rejected.list()).toEqual([]);

    });

    it('forgets the out-of-order state of purged messages but not of kept ones', async () => {
      const spool = spoolAt({ retentionMs: DAY });
      const delivered = await spool.commits.accept(report('m-purged', 'Delivered'));
      spool.queue.markDone(spool.queue.due('kafka:events', 10).map((d) => d.id));
      clock += DAY + 1;
      spool.operations.purge();
      expect(spool.operations.event(delivered.eventId)).toBeNull();
      // With the message gone, a late Sent has nothing to be compared with.
      expect((await spool.commits.accept(report('m-purged', 'Sent'))).stale).toBe(false);
    });
  });

  describe('rejected callbacks', () => {
    it('keeps the payload, reason and content type of a refused callback, newest first', () => {
      const spool = spoolAt();
      spool.rejected.record({ profile: 'default', statusCode: 400, reason: 'status: is missing', contentType: 'application/json', body: '{"id":"x"}' });
      spool.rejected.record({ profile: 'other', statusCode: 400, reason: 'status: is missing', contentType: null, body: '', method: 'GET', query: 'id=1' });

      const rows = spool.rejected.list();
      const kept = { replayed_event_id: null };
      expect(rows.map(({ id: _id, ...r }) => r)).toEqual([
        { received_at: clock, profile: 'other', status_code: 400, reason: 'status: is missing', content_type: null, body: '', method: 'GET', query: 'id=1', ...kept },
        { received_at: clock, profile: 'default', status_code: 400, reason: 'status: is missing', content_type: 'application/json', body: '{"id":"x"}', method: null, query: null, ...kept },
      ]);
      expect(spool.rejected.list({ limit: 1 })).toHaveLength(1);
      expect(spool.rejected.list({ profile: 'default' }).map((r) => r.body)).toEqual(['{"id":"x"}']);
    });

    it('lists only payloads not re-ingested yet when asked, oldest first', () => {
      const spool = spoolAt();
      spool.rejected.record({ profile: 'p', statusCode: 400, reason: 'r', contentType: null, body: 'a' });
      spool.rejected.record({ profile: 'p', statusCode: 400, reason: 'r', contentType: null, body: 'b' });
      spool.rejected.record({ profile: 'p', statusCode: 400, reason: 'r', contentType: null, body: 'c' });
      const [, b] = spool.rejected.list({ oldestFirst: true });
      spool.rejected.markReplayed(b!.id, 'evt-1');
      expect(spool.rejected.list({ pending: true, oldestFirst: true }).map((r) => r.body)).toEqual(['a', 'c']);
      expect(spool.rejected.list({ ids: [b!.id] })[0]!.replayed_event_id).toBe('evt-1');
    });
  });

  describe('opening a version 1 spool', () => {
    it('migrates it in place, keeping its events and refused payloads', async () => {
      const old = new Database(path);
      old.exec(`
        CREATE TABLE rejected (id INTEGER PRIMARY KEY, received_at INTEGER NOT NULL, profile TEXT NOT NULL,
          status_code INTEGER NOT NULL, reason TEXT NOT NULL, content_type TEXT, body TEXT NOT NULL);
        CREATE TABLE message_state (message_key TEXT PRIMARY KEY, rank INTEGER NOT NULL, status TEXT NOT NULL,
          event_id TEXT NOT NULL, updated_at INTEGER NOT NULL);
        INSERT INTO rejected VALUES (1, 5, 'default', 400, 'why', NULL, '{}');
        INSERT INTO message_state VALUES ('m', 1, 'Sent', 'e', 5);
        PRAGMA user_version = 1;`);
      old.close();

      const spool = spoolAt();
      expect(spool.rejected.list()).toEqual([
        { id: 1, received_at: 5, profile: 'default', status_code: 400, reason: 'why', content_type: null, body: '{}', method: null, query: null, replayed_event_id: null },
      ]);
      await spool.commits.accept(report('m-2', 'Sent'));
      expect(spool.operations.interimSince('default', clock + 1, 10).map((r) => r.messageKey)).toEqual(['m-2']);
    });
  });

  it('refuses a spool written by a newer router, saying so, and leaves it as it was', () => {
    const newer = new Database(path);
    newer.exec(`CREATE TABLE events (seq INTEGER PRIMARY KEY, body BLOB); INSERT INTO events VALUES (1, x'09'); PRAGMA user_version = ${SPOOL_VERSION + 1};`);
    newer.close();

    expect(() => openSpoolDb(path)).toThrow(new RegExp(`at version ${SPOOL_VERSION + 1}, written by a newer router; this one reads versions up to ${SPOOL_VERSION}`));
    const after = new Database(path, { readonly: true });
    try {
      expect(after.pragma('user_version', { simple: true })).toBe(SPOOL_VERSION + 1);
      expect(after.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all()).toEqual(['events']);
    } finally {
      after.close();
    }
  });

  describe('a store that cannot commit', () => {
    /**
     * Root ignores file permissions, so chmod cannot make the file read-only here. Instead the
     * spool's own connection is switched to query_only: SQLite then refuses every write with
     * SQLITE_READONLY, exactly as it does for a read-only file or mount.
     */
    const dbs = new Map<Spool, SpoolDb>();
    /** A spool on a database the test holds: the seam to switch its connection read-only. */
    function spoolWithDb(): Spool {
      const db = openSpoolDb(path);
      const spool = spoolAt({ db });
      dbs.set(spool, db);
      return spool;
    }
    function makeReadOnly(spool: Spool, on = true): void {
      dbs.get(spool)!.pragma(`query_only = ${on ? 'ON' : 'OFF'}`);
    }

    it('rejects accept() with StoreUnavailableError, records why, and reports itself not writable', async () => {
      const spool = spoolWithDb();
      expect(spool.commits.writable()).toBe(true);
      makeReadOnly(spool);
      const event = eventFrom(postSample());

      const err = await spool.commits.accept(event).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as StoreUnavailableError).retriable).toBe(true);
      expect(spool.commits.lastError).toMatch(/readonly/);
      expect(spool.commits.writable()).toBe(false);
      expect(spool.operations.event(event.event_id)).toBeNull();
    });

    it('fails every request of the batch and recovers on the next successful commit', async () => {
      const spool = spoolWithDb();
      makeReadOnly(spool);
      const outcomes = await Promise.allSettled([spool.commits.accept(report('m-r1', 'Delivered')), spool.commits.accept(report('m-r2', 'Delivered'))]);
      expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);

      makeReadOnly(spool, false);
      const ok = await spool.commits.accept(report('m-r3', 'Delivered'));
      expect(ok.duplicate).toBe(false);
      expect(spool.commits.lastError).toBeNull();
      expect(spool.commits.writable()).toBe(true);
    });

    it('reports itself writable again once the disk recovers, with no traffic needed, after a short hold', async () => {
      const spool = spoolWithDb();
      makeReadOnly(spool);
      await spool.commits.accept(report('m-q1', 'Delivered')).catch(() => undefined);
      expect([spool.commits.writable(), spool.commits.failing, spool.commits.failures]).toEqual([false, true, 1]);
      makeReadOnly(spool, false);
      // The probe would pass now, but a commit failed a moment ago: still unready (no flapping).
      expect(spool.commits.writable()).toBe(false);
      clock += 5_000;
      expect(spool.commits.writable()).toBe(true);
      // The last commit is still the failed one until a callback commits.
      expect(spool.commits.lastError).toMatch(/readonly/);
      await spool.commits.accept(report('m-q2', 'Delivered'));
      expect([spool.commits.lastError, spool.commits.failing, spool.commits.failures]).toEqual([null, false, 1]);
    });

    it('swallows a failure to record a rejected payload (a 4xx must not become a 5xx)', () => {
      const spool = spoolWithDb();
      makeReadOnly(spool);
      expect(() => spool.rejected.record({ profile: 'default', statusCode: 400, reason: 'x', contentType: null, body: 'x' })).not.toThrow();
    });
  });
});
