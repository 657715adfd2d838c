import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDestinations, type DestinationSet } from '../destinations/index.js';
import type { DeliveryEvent } from '../event.js';
import { silentLogger } from '../log.js';
import { Metrics } from '../metrics.js';
import { compileRoutes } from '../route/compile.js';
import type { RoutesConfig } from '../route/define-routes.js';
import { matchRoutes } from '../route/match.js';
import { Spool } from '../spool/spool.js';
import { postSample } from '../testing/samples.js';
import { startReceiver, type Answer, type Received, type Receiver } from '../testing/receiver.js';
import { Dispatcher } from './dispatcher.js';
import { eventFrom } from '../testing/events.js';
import { waitFor } from '../testing/wait.js';

const FAST_RETRY = { initialDelayMs: 10, maxDelayMs: 50, maxAttempts: 4 };



describe('Dispatcher', () => {
  let dir: string;
  let cleanups: (() => Promise<void> | void)[];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kcr-dispatch-'));
    cleanups = [];
  });
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    rmSync(dir, { recursive: true, force: true });
  });

  async function receiver(answer?: (n: number, r: Received) => Answer): Promise<Receiver> {
    const r = await startReceiver(answer);
    cleanups.push(() => r.close());
    return r;
  }

  interface Running {
    spool: Spool;
    destinations: DestinationSet;
    dispatcher: Dispatcher;
    sinkDir: string;
    dbPath: string;
    /** Accepts the callbacks (one group commit) and returns their event ids in order. */
    accept(...fields: Record<string, unknown>[]): Promise<string[]>;
    /** dispatcher.stop(deadline), after which cleanup does not stop it again. */
    stop(deadlineMs: number): Promise<void>;
  }

  function run(routes: Omit<RoutesConfig, 'profiles'>, opts: { start?: boolean } = {}): Running {
    const cfg = compileRoutes({ profiles: { default: {} }, retry: FAST_RETRY, ...routes } as RoutesConfig, 'dispatcher test config');
    const dbPath = join(dir, 'spool.db');
    const sinkDir = join(dir, 'sink');
    const spool = new Spool({ path: dbPath, plan: (e) => matchRoutes(e, cfg.table) });
    const destinations = createDestinations(cfg, { kafkaBrokers: [], sinkDir, logger: silentLogger });
    const dispatcher = new Dispatcher({ queue: spool.queue, destinations, logger: silentLogger, metrics: new Metrics(), pollMs: 20 });
    let stopped = false;
    cleanups.push(async () => {
      if (!stopped) await dispatcher.stop(0);
      await destinations.close();
      spool.close();
    });
    if (opts.start !== false) dispatcher.start();
    return {
      spool,
      destinations,
      dispatcher,
      sinkDir,
      dbPath,
      async accept(...fields) {
        const results = await Promise.all(fields.map((f) => spool.commits.accept(eventFrom(f))));
        return results.map((r) => r.eventId);
      },
      async stop(deadlineMs) {
        stopped = true;
        await dispatcher.stop(deadlineMs);
      },
    };
  }

  const deliveryOf = (spool: Spool, eventId: string, destination: string) =>
    spool.operations.listDeliveries(null, { eventId, destination })[0];

  describe('webhooks', () => {
    it('POSTs {type, timestamp, data} with webhook-id = event id, signed so standardwebhooks verifies it', async () => {
      const secret = `whsec_${randomBytes(24).toString('base64')}`;
      const crm = await receiver();
      const r = run({ webhooks: { crm: { url: crm.url, secret } }, rules: [{ name: 'all', to: ['webhook:crm'] }] });
      const [eventId] = await r.accept(postSample());

      expect(await waitFor(() => deliveryOf(r.spool, eventId!, 'webhook:crm')?.state === 'done', 5_000, 10), 'waiting for the delivery to be done').toBeTruthy();
      expect(crm.received).toHaveLength(1);
      const hit = crm.received[0]!;
      expect(hit.headers['content-type']).toBe('application/json');
      expect(hit.headers['webhook-id']).toBe(eventId);
      expect(hit.json.type).toBe('sms.undelivered');
      expect(Number.isNaN(Date.parse(hit.json.timestamp))).toBe(false);
      expect(hit.json.data).toEqual(r.spool.operations.event(eventId!));

      const headers = Object.fromEntries(Object.entries(hit.headers).map(([k, v]) => [k, String(v)]));
      expect(new Webhook(secret).verify(hit.body, headers)).toEqual(hit.json);
      const otherSecret = `whsec_${randomBytes(24).toString('base64')}`;
      expect(() => new Webhook(otherSecret).verify(hit.body, headers)).toThrow();
      expect(() => new Webhook(secret).verify(hit.body.replace('Undelivered', 'Delivered'), headers)).toThrow();
    });

    it('sends no signature when the webhook has no secret, and adds its static headers', async () => {
      const hook = await receiver();
      const r = run({ webhooks: { plain: { url: hook.url, headers: { 'x-team': 'sms' } } }, rules: [{ name: 'all', to: ['webhook:plain'] }] });
      await r.accept(postSample());
      expect(await waitFor(() => hook.received.length === 1, 5_000, 10), 'waiting for one request').toBeTruthy();
      expect(hook.received[0]!.headers['webhook-signature']).toBeUndefined();
      expect(hook.received[0]!.headers['x-team']).toBe('sms');
    });

    it('retries a 500 and marks the delivery done on the 200 that follows (attempts 3, 3 requests)', async () => {
      const flaky = await receiver((n) => (n < 2 ? 500 : 200));
      const r = run({ webhooks: { flaky: { url: flaky.url } }, rules: [{ name: 'all', to: ['webhook:flaky'] }] });
      const [eventId] = await r.accept(postSample());

      expect(await waitFor(() => deliveryOf(r.spool, eventId!, 'webhook:flaky')?.state === 'done', 5_000, 10), 'waiting for the delivery to be done').toBeTruthy();
      expect(deliveryOf(r.spool, eventId!, 'webhook:flaky')).toMatchObject({ state: 'done', attempts: 3, last_code: null });
      expect(flaky.received).toHaveLength(3);
      expect(new Set(flaky.received.map((h) => h.headers['webhook-id']))).toEqual(new Set([eventId]));
    });

    it('gives up after maxAttempts and dead-letters with the last failure code', async () => {
      const down = await receiver(() => 503);
      const r = run({ webhooks: { down: { url: down.url, retry: { maxAttempts: 2 } } }, rules: [{ name: 'all', to: ['webhook:down'] }] });
      const [eventId] = await r.accept(postSample());
      expect(await waitFor(() => deliveryOf(r.spool, eventId!, 'webhook:down')?.state === 'dead', 5_000, 10), 'waiting for a dead letter').toBeTruthy();
      expect(deliveryOf(r.spool, eventId!, 'webhook:down')).toMatchObject({ attempts: 2, last_code: 'http_503', last_error: expect.stringContaining('max_attempts') });
      expect(down.received).toHaveLength(2);
    });

    it("follows the webhook's own retryStatuses: a listed 409 is retried, an unlisted 503 is dead at once", async () => {
      const conflict = await receiver((n) => (n === 0 ? 409 : 200));
      const busy = await receiver(() => 503);
      const r = run({
        webhooks: { conflict: { url: conflict.url, retry: { retryStatuses: [409] } }, busy: { url: busy.url, retry: { retryStatuses: [409] } } },
        rules: [{ name: 'all', to: ['webhook:conflict', 'webhook:busy'] }],
      });
      const [eventId] = await r.accept(postSample());
      expect(await waitFor(() => deliveryOf(r.spool, eventId!, 'webhook:conflict')?.state === 'done', 5_000, 10), 'waiting for conflict done').toBeTruthy();
      expect(deliveryOf(r.spool, eventId!, 'webhook:conflict')).toMatchObject({ attempts: 2 });
      expect(await waitFor(() => deliveryOf(r.spool, eventId!, 'webhook:busy')?.state === 'dead', 5_000, 10), 'waiting for busy dead').toBeTruthy();
      expect(deliveryOf(r.spool, eventId!, 'webhook:busy')).toMatchObject({ attempts: 1, last_code: 'http_503', last_error: expect.stringContaining('permanent') });
    });

    it('dead-letters a 400 at once, with code http_400', async () => {
      const strict = await receiver(() => 400);
      const r = run({ webhooks: { strict: { url: strict.url } }, rules: [{ name: 'all', to: ['webhook:strict'] }] });
      const [eventId] = await r.accept(postSample());

      expect(await waitFor(() => deliveryOf(r.spool, eventId!, 'webhook:strict')?.state === 'dead', 5_000, 10), 'waiting for a dead letter').toBeTruthy();
      expect(deliveryOf(r.spool, eventId!, 'webhook:strict')).toMatchObject({ state: 'dead', attempts: 1, last_code: 'http_400' });
      expect(strict.received).toHaveLength(1);
      expect(r.spool.operations.listDeliveries('dead').map((d) => d.event_id)).toEqual([eventId]);
    });

    it('disables a webhook that answers 410, dead-letters what follows without sending it, and keeps serving the others', async () => {
      const gone = await receiver(() => 410);
      const crm = await receiver();
      const r = run({ webhooks: { gone: { url: gone.url }, crm: { url: crm.url } }, rules: [{ name: 'all', to: ['webhook:gone', 'webhook:crm'] }] });
      const [first] = await r.accept(postSample({ id: 'gone-1' }));

      expect(await waitFor(() => deliveryOf(r.spool, first!, 'webhook:gone')?.state === 'dead', 5_000, 10), 'waiting for the first delivery to be dead').toBeTruthy();
      expect(deliveryOf(r.spool, first!, 'webhook:gone')).toMatchObject({ last_code: 'http_410' });
      expect([...r.spool.queue.disabledDestinations().keys()]).toEqual(['webhook:gone']);

      const [second] = await r.accept(postSample({ id: 'gone-2', message_id: 'gone-msg-2' }));
      expect(await waitFor(() => deliveryOf(r.spool, second!, 'webhook:gone')?.state === 'dead', 5_000, 10), 'waiting for the second delivery to be dead').toBeTruthy();
      expect(deliveryOf(r.spool, second!, 'webhook:gone')).toMatchObject({ last_code: 'destination_disabled' });
      expect(gone.received).toHaveLength(1);

      expect(await waitFor(() => [first, second].every((id) => deliveryOf(r.spool, id!, 'webhook:crm')?.state === 'done'), 5_000, 10), 'waiting for crm deliveries done').toBeTruthy();
      expect(crm.received.map((h) => h.headers['webhook-id'])).toEqual([first, second]);
    });

    it("keeps one message's reports in order when the first attempt of the first one fails", async () => {
      const hook = await receiver((n) => (n === 0 ? 503 : 200));
      const r = run({ webhooks: { hook: { url: hook.url } }, rules: [{ name: 'all', to: ['webhook:hook'] }] }, { start: false });
      const msg = { message_id: 'order-msg-1' };
      const ids = await r.accept(
        postSample({ ...msg, id: 'o-1', status: 'Queued', status_trace: 'QUEUED' }),
        postSample({ ...msg, id: 'o-2', status: 'Sent', status_trace: 'SENT' }),
        postSample({ ...msg, id: 'o-3', status: 'Delivered', status_trace: 'DELIVRD' }),
      );
      r.dispatcher.start();

      expect(await waitFor(() => ids.every((id) => deliveryOf(r.spool, id, 'webhook:hook')?.state === 'done'), 5_000, 10), 'waiting for all three delivered').toBeTruthy();
      const sent = hook.received.map((h) => h.headers['webhook-id']);
      // The failed first attempt, then its retry, then the rest: never a later report first.
      expect(sent).toEqual([ids[0], ids[0], ids[1], ids[2]]);
      expect(hook.received.map((h) => h.json.data.status)).toEqual(['Queued', 'Queued', 'Sent', 'Delivered']);
    });

    it('retries a receiver that never answers with code timeout', async () => {
      const hang = await receiver(() => 'hang');
      const r = run({ webhooks: { hang: { url: hang.url, timeoutMs: 200, retry: { maxAttempts: 2 } } }, rules: [{ name: 'all', to: ['webhook:hang'] }] });
      const [eventId] = await r.accept(postSample());

      expect(await waitFor(() => deliveryOf(r.spool, eventId!, 'webhook:hang')?.state === 'dead', 5_000, 10), 'waiting for a dead letter').toBeTruthy();
      expect(deliveryOf(r.spool, eventId!, 'webhook:hang')).toMatchObject({ attempts: 2, last_code: 'timeout', last_error: expect.stringContaining('timed out') });
      expect(hang.received).toHaveLength(2);
    });

    it('does not let a hanging webhook hold up another destination', async () => {
      const hang = await receiver(() => 'hang');
      const fast = await receiver();
      const r = run({
        webhooks: { hang: { url: hang.url, timeoutMs: 10_000 }, fast: { url: fast.url } },
        rules: [{ name: 'all', to: ['webhook:hang', 'webhook:fast'] }],
      });
      const [a, b] = await r.accept(postSample({ id: 'h-1' }), postSample({ id: 'h-2', message_id: 'h-msg-2' }));
      expect(await waitFor(() => [a, b].every((id) => deliveryOf(r.spool, id!, 'webhook:fast')?.state === 'done'), 5_000, 10), 'waiting for both fast deliveries done').toBeTruthy();
      expect(fast.received).toHaveLength(2);
      expect(await waitFor(() => hang.received.length >= 1, 5_000, 10), 'waiting for the hanging requests to arrive').toBeTruthy();
      expect(deliveryOf(r.spool, a!, 'webhook:hang')).toMatchObject({ state: 'pending', attempts: 0 });
    });
  });

  describe('the local sink (no Kafka brokers)', () => {
    it('writes one JSON line per event to <sinkDir>/<topic>.jsonl, keyed by message_key', async () => {
      const r = run({ kafka: { topics: { events: 'kaleyra.sms.events' } }, rules: [{ name: 'all', to: ['kafka:events'] }] });
      const ids = await r.accept(postSample(), postSample({ id: 'sink-2', message_id: 'sink-msg-2', status: 'Delivered' }));

      expect(await waitFor(() => ids.every((id) => deliveryOf(r.spool, id, 'kafka:events')?.state === 'done'), 5_000, 10), 'waiting for both deliveries done').toBeTruthy();
      const lines = readFileSync(join(r.sinkDir, 'kaleyra.sms.events.jsonl'), 'utf8').trimEnd().split('\n');
      expect(lines).toHaveLength(2);
      const records = lines.map((l) => JSON.parse(l) as { topic: string; key: string; headers: Record<string, string>; value: DeliveryEvent });
      expect(records.map((x) => x.key)).toEqual(['ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1', 'sink-msg-2']);
      expect(records.map((x) => x.value.event_id)).toEqual(ids);
      expect(records[0]).toMatchObject({ topic: 'kaleyra.sms.events', headers: { 'event-type': 'sms.undelivered', 'event-id': ids[0] } });
      expect(records[0]!.value).toEqual(r.spool.operations.event(ids[0]!));
    });
  });

  describe('stop', () => {
    it('leaves what it could not deliver by the deadline pending on disk', async () => {
      const hang = await receiver(() => 'hang');
      const r = run({ webhooks: { hang: { url: hang.url, timeoutMs: 30_000 } }, rules: [{ name: 'all', to: ['webhook:hang'] }] });
      const [eventId] = await r.accept(postSample());
      expect(await waitFor(() => hang.received.length === 1, 5_000, 10), 'waiting for the request to be in flight').toBeTruthy();

      const started = Date.now();
      await r.stop(200);
      expect(Date.now() - started).toBeLessThan(5_000);
      r.spool.close();

      const reopened = new Spool({ path: r.dbPath });
      try {
        expect(reopened.operations.listDeliveries(null, { eventId })).toEqual([expect.objectContaining({ state: 'pending', attempts: 0, destination: 'webhook:hang' })]);
      } finally {
        reopened.close();
      }
    });

    it('delivers what is due before the deadline, then stops', async () => {
      const hook = await receiver();
      const r = run({ webhooks: { hook: { url: hook.url } }, rules: [{ name: 'all', to: ['webhook:hook'] }] }, { start: false });
      const ids = await r.accept(postSample(), postSample({ id: 'drain-2', message_id: 'drain-msg-2' }));
      r.dispatcher.start();
      await r.stop(5_000);
      expect(ids.map((id) => deliveryOf(r.spool, id, 'webhook:hook')?.state)).toEqual(['done', 'done']);
    });
  });
  describe('a failing destination is not hammered', () => {
    it('never has more requests in flight to a webhook than its concurrency', async () => {
      let inFlight = 0;
      let most = 0;
      let served = 0;
      const server = createServer((req, res) => {
        inFlight++;
        most = Math.max(most, inFlight);
        req.resume();
        setTimeout(() => {
          inFlight--;
          served++;
          res.writeHead(200).end();
        }, 30);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
      const r = run({ webhooks: { capped: { url, concurrency: 2 } }, rules: [{ name: 'all', to: ['webhook:capped'] }] });
      await r.accept(...Array.from({ length: 10 }, (_, i) => postSample({ id: `cap-${i}`, message_id: `cap-msg-${i}` })));
      expect(await waitFor(() => served === 10, 5_000, 10), 'waiting for all ten served').toBeTruthy();
      expect(most).toBe(2);
    });

    it('opens the circuit after repeated failures, sends nothing while open, then probes and recovers', async () => {
      let up = false;
      const hook = await receiver(() => (up ? 200 : 503));
      const r = run({
        webhooks: { down: { url: hook.url, concurrency: 1, retry: { initialDelayMs: 300, maxDelayMs: 300, maxAttempts: 50 } } },
        rules: [{ name: 'all', to: ['webhook:down'] }],
      });
      const ids = await r.accept(...Array.from({ length: 5 }, (_, i) => postSample({ id: `cb-${i}`, message_id: `cb-msg-${i}` })));
      expect(await waitFor(() => r.dispatcher.status()['webhook:down']!.circuit === 'open', 5_000, 10), 'waiting for the circuit to open').toBeTruthy();
      const status = r.dispatcher.status()['webhook:down']!;
      expect(status.consecutiveFailures).toBe(3);
      // While open, no request reaches the destination, though deliveries are due.
      const seen = hook.received.length;
      const openUntil = Date.parse(status.pausedUntil!);
      await new Promise((res) => setTimeout(res, Math.max(0, openUntil - Date.now() - 20)));
      expect(hook.received.length).toBe(seen);
      up = true;
      expect(await waitFor(() => ids.every((id) => deliveryOf(r.spool, id, 'webhook:down')?.state === 'done'), 5_000, 10), 'waiting for every delivery done').toBeTruthy();
      expect(r.dispatcher.status()['webhook:down']).toMatchObject({ circuit: 'closed', consecutiveFailures: 0 });
    });
  });
});

describe('Dispatcher.reconfigure (a config reload)', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('starts new destinations, replaces changed ones, stops removed ones and keeps their pending deliveries, reported', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kcr-reconfigure-'));
    const [kept, oldCrm, newCrm, added, gone] = await Promise.all([startReceiver(), startReceiver(), startReceiver(), startReceiver(), startReceiver(() => 503)]);
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    for (const r of [kept, oldCrm, newCrm, added, gone]) cleanups.push(() => r.close());
    const compile = (routes: Omit<RoutesConfig, 'profiles'>) => compileRoutes({ profiles: { default: {} }, retry: FAST_RETRY, ...routes } as RoutesConfig, 'reconfigure test');
    let cfg = compile({
      // A receiver that keeps failing, retried only after a minute: its deliveries stay pending.
      webhooks: { kept: { url: kept.url }, crm: { url: oldCrm.url }, gone: { url: gone.url, retry: { initialDelayMs: 60_000, maxDelayMs: 60_000, maxAttempts: 100 } } },
      rules: [{ name: 'all', to: ['webhook:kept', 'webhook:crm', 'webhook:gone'] }],
    });
    const spool = new Spool({ path: join(dir, 'spool.db'), plan: (e) => matchRoutes(e, cfg.table) });
    const destinations = createDestinations(cfg, { kafkaBrokers: [], sinkDir: join(dir, 'sink'), logger: silentLogger });
    const dispatcher = new Dispatcher({ queue: spool.queue, destinations, logger: silentLogger, metrics: new Metrics(), pollMs: 20 });
    cleanups.push(async () => {
      await dispatcher.stop(0);
      await destinations.close();
      spool.close();
    });
    dispatcher.start();
    const first = (await spool.commits.accept(eventFrom(postSample({ id: 'before-1', message_id: 'before-1' })))).eventId;
    expect(await waitFor(() => kept.received.length === 1 && oldCrm.received.length === 1 && gone.received.length === 1, 5_000, 10)).toBeTruthy();
    const keptDestination = destinations.destinations.get('webhook:kept');

    cfg = compile({
      webhooks: { kept: { url: kept.url }, crm: { url: newCrm.url }, added: { url: added.url } },
      rules: [{ name: 'all', to: ['webhook:kept', 'webhook:crm', 'webhook:added'] }],
    });
    const changes = destinations.reconfigure(cfg);
    expect(changes).toMatchObject({ added: ['webhook:added'], changed: ['webhook:crm'], removed: ['webhook:gone'] });
    expect(await dispatcher.reconfigure(changes)).toEqual({ started: ['webhook:added'], replaced: ['webhook:crm'], stopped: ['webhook:gone'], orphaned: ['webhook:gone'] });
    await changes.release();

    // The unchanged destination is the same object: not reopened, its worker not restarted.
    expect(destinations.destinations.get('webhook:kept')).toBe(keptDestination);
    expect(Object.keys(dispatcher.status()).sort()).toEqual(['webhook:added', 'webhook:crm', 'webhook:kept']);
    const second = (await spool.commits.accept(eventFrom(postSample({ id: 'after-1', message_id: 'after-1' })))).eventId;
    expect(await waitFor(() => kept.received.length === 2 && newCrm.received.length === 1 && added.received.length === 1, 5_000, 10)).toBeTruthy();
    expect(newCrm.received[0]!.headers['webhook-id']).toBe(second);
    expect(oldCrm.received).toHaveLength(1);
    expect(gone.received).toHaveLength(1);
    // Kept, not lost and not dead-lettered: pending until a config names webhook:gone again.
    expect(spool.operations.listDeliveries(null, { eventId: first, destination: 'webhook:gone' })[0]).toMatchObject({ state: 'pending', attempts: 1 });
    expect(dispatcher.orphaned()).toEqual(['webhook:gone']);
  });
});
