/**
 * Issue 8: the cluster mode against the real broker. Several router replicas share one Kafka:
 * any replica takes any callback, a message's state lives with its intake partition and moves
 * with it, output topics get each event once, webhooks at least once with the event id as
 * webhook-id, and a replica whose Kafka does not ack falls back to its local spool.
 * (The 3-broker drill with kills is test/cluster-drill.test.ts.)
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningRouter } from '../src/router.js';
import type { RoutesConfig } from '../src/route/define-routes.js';
import { startReceiver, type Receiver } from '../src/testing/receiver.js';
import { broker, kafkaBrokers, sleep, waitFor } from './support/kafka.js';
import { runCli } from '../src/cli/run.js';
import { postCallback, postSample, startTestRouter, tempDir, writeConfig } from './support/router.js';
import { tailTopics, type TopicTail } from './support/topic-tail.js';

interface Run {
  prefix: string;
  events: string;
  receiver: Receiver;
  tail: TopicTail | null;
  routers: RunningRouter[];
  dirs: { remove(): void }[];
}

let run: Run;

function config(r: Run, late?: { url: string; topic: string }): RoutesConfig {
  return {
    profiles: { default: {} },
    kafka: { topics: { events: r.events, ...(late ? { late: late.topic } : {}) } },
    webhooks: {
      crm: { url: r.receiver.url, retry: { initialDelayMs: 20, maxDelayMs: 100, maxAttempts: 2 } },
      // Declared after the events came, and named by no rule: only a backfill sends to them.
      ...(late ? { late: { url: late.url } } : {}),
    },
    rules: [{ name: 'all', to: ['kafka:events', 'webhook:crm'] }],
  };
}

/** The backfill test's second config as a routes.config.ts file, for the CLI. */
function lateConfigPath(url: string, topic: string): string {
  const dir = tempDir('kcr-cluster-cli-');
  run.dirs.push(dir);
  const { rules, ...rest } = config(run, { url, topic });
  return writeConfig(dir.path, JSON.stringify({ ...rest, rules }));
}

async function replica(env: Record<string, string> = {}, routes = config(run)): Promise<RunningRouter> {
  const dir = tempDir('kcr-cluster-');
  run.dirs.push(dir);
  const router = await startTestRouter(routes, {
    dataDir: dir.path,
    env: { ROUTER_MODE: 'cluster', CLUSTER_PREFIX: run.prefix, CLUSTER_PARTITIONS: '4', CLUSTER_SESSION_TIMEOUT_MS: '6000', INTAKE_ACK_TIMEOUT_MS: '1500', ...env },
  });
  run.routers.push(router);
  return router;
}

/** Posts one report of `messageId` to `router`; returns the event id it was answered with. */
async function report(router: RunningRouter, messageId: string, status: string, statusTime: string): Promise<string> {
  const res = await postCallback(router.url, postSample({ id: `req-${messageId}`, message_id: messageId, status, status_time: statusTime }));
  const body = (await res.json()) as { event_id: string; duplicate: boolean | null; stale: boolean | null };
  expect(res.status, JSON.stringify(body)).toBe(200);
  // The edge cannot know these: the partition's owner decides them.
  expect(body).toMatchObject({ duplicate: null, stale: null });
  return body.event_id;
}

const DELIVERED_AT = '2026-11-27 08:00:10+00:00';
const SENT_AT = '2026-11-27 08:00:00+00:00';

beforeEach(async () => {
  kafkaBrokers(); // fails (not skips) without a broker
  const prefix = `kcr-test-${randomBytes(4).toString('hex')}`;
  run = { prefix, events: `${prefix}.events`, receiver: await startReceiver(), tail: null, routers: [], dirs: [] };
});

afterEach(async () => {
  await Promise.allSettled(run.routers.map((r) => r.close()));
  await run.tail?.stop();
  await run.receiver.close();
  for (const d of run.dirs) d.remove();
});

function recordsOf(tail: TopicTail, topic: string) {
  return tail.messages.filter((m) => m.topic === topic);
}

describe('cluster mode', () => {
  it('takes any callback on any replica, keeps state with the partition, and emits each event once', async () => {
    const [a, b] = [await replica(), await replica()];
    run.tail = await tailTopics([run.events]);
    const ids = Array.from({ length: 8 }, () => `${randomUUID()}:1`);
    const delivered = new Map<string, string>();
    const sent = new Map<string, string>();
    for (const id of ids) {
      delivered.set(id, await report(a, id, 'Delivered', DELIVERED_AT));
      // The late Sent goes to the other replica; Kaleyra's resend of the Delivered too.
      sent.set(id, await report(b, id, 'Sent', SENT_AT));
      expect(await report(b, id, 'Delivered', DELIVERED_AT)).toBe(delivered.get(id));
    }
    const records = await run.tail.until((m) => m.length >= 16, 60_000);
    await sleep(1_500); // anything extra (a resend delivered twice) would arrive by now
    expect(records).toHaveLength(16);
    for (const id of ids) {
      const ofMessage = records.filter((r) => r.key === id);
      expect(ofMessage.map((r) => [r.json.status, r.json.stale, r.headers['event-id']]).sort()).toEqual(
        [['Delivered', false, delivered.get(id)], ['Sent', true, sent.get(id)]].sort(),
      );
    }
    // Each deliver replica follows every message's state (the memory docs/cluster-mode.md sizes).
    // B follows the state topic with its own consumer, at its own pace: poll, not one look.
    const stateMessages = async (): Promise<number> => Number(/^kcr_cluster_state_messages (\d+)$/m.exec(await (await fetch(`${b.url}/metrics`)).text())?.[1]);
    expect(await waitFor(async () => (await stateMessages()) >= ids.length, 15_000)).toBe(true);
    // Webhooks: at least once, webhook-id = event id; every event reached the receiver.
    expect(await waitFor(() => new Set(run.receiver.received.map((r) => r.headers['webhook-id'])).size >= 16, 30_000)).toBe(true);
    expect(new Set(run.receiver.received.map((r) => r.headers['webhook-id']))).toEqual(new Set([...delivered.values(), ...sent.values()]));

    // Handover: reports taken by A, then A leaves; B owns every partition and knows A's messages.
    const later = Array.from({ length: 6 }, () => `${randomUUID()}:1`);
    for (const id of later) await report(a, id, 'Delivered', DELIVERED_AT);
    await run.tail.until((m) => m.length >= 16 + later.length, 60_000);
    await a.close();
    for (const id of later) await report(b, id, 'Sent', SENT_AT);
    await run.tail.until((m) => m.length >= 16 + 2 * later.length, 60_000);
    await sleep(1_000);
    const lateSents = run.tail.messages.filter((r) => later.includes(r.key ?? '') && r.json.status === 'Sent');
    expect(lateSents.map((r) => r.json.stale)).toEqual(later.map(() => true));
    expect(run.tail.messages).toHaveLength(16 + 2 * later.length);
  });

  it('splits the roles: an ingest replica takes callbacks, a deliver replica routes them', async () => {
    const ingest = await replica({ ROUTER_ROLE: 'ingest' });
    const deliver = await replica({ ROUTER_ROLE: 'deliver' });
    run.tail = await tailTopics([run.events]);
    const id = `${randomUUID()}:1`;
    const eventId = await report(ingest, id, 'Delivered', DELIVERED_AT);
    const [record] = await run.tail.until((m) => m.length >= 1, 60_000);
    expect(record!.headers['event-id']).toBe(eventId);
    expect(await waitFor(() => run.receiver.received.some((r) => r.headers['webhook-id'] === eventId), 30_000)).toBe(true);

    const refused = await postCallback(deliver.url, postSample({ message_id: `${randomUUID()}:1` }));
    expect(refused.status).toBe(404);
    expect(await refused.json()).toMatchObject({ error: 'not_ingest' });
    const ready = (await (await fetch(`${deliver.url}/readyz`)).json()) as { cluster: { role: string } };
    expect(ready.cluster.role).toBe('deliver');
  });

  it('dead-letters to the dead-letter topic; any replica lists it, replays it, and the others see it replayed', async () => {
    await run.receiver.close();
    // The receiver refuses the first request (400: not retried), then takes everything.
    run.receiver = await startReceiver((n) => (n === 0 ? 400 : 200));
    const env = { ADMIN_TOKEN: 'an-admin-token-for-tests' };
    const [a, b] = [await replica(env), await replica(env)];
    run.tail = await tailTopics([`${run.prefix}.dead`]);
    const eventId = await report(a, `${randomUUID()}:1`, 'Undelivered', DELIVERED_AT);
    const [dead] = await run.tail.until((m) => m.length >= 1, 60_000);
    expect(dead!.json).toMatchObject({ event_id: eventId, destination: 'webhook:crm', code: 'http_400', event: { event_id: eventId, status: 'Undelivered' } });

    const admin = (r: RunningRouter, path: string, body?: unknown) =>
      fetch(`${r.url}/admin${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { authorization: `Bearer ${env.ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      }).then((res) => res.json() as Promise<Record<string, unknown>>);
    const deadOn = async (r: RunningRouter) => ((await admin(r, '/dead-letters')).dead_letters as { event_id: string; last_code: string }[]);
    // Both replicas list it, whichever one gave up on it.
    for (const r of [a, b]) {
      expect(await waitFor(async () => (await deadOn(r)).some((d) => d.event_id === eventId && d.last_code === 'http_400'), 30_000)).toBe(true);
    }

    expect(await admin(b, '/replay', { event_id: eventId })).toEqual({ replayed: 1 });
    expect(await waitFor(() => run.receiver.received.length >= 2, 30_000)).toBe(true);
    expect(run.receiver.received.map((r) => r.headers['webhook-id'])).toEqual([eventId, eventId]);
    // The replay is noted on the topic: the replica that did not replay it stops listing it too.
    expect(await waitFor(async () => (await deadOn(a)).length === 0, 30_000)).toBe(true);
    expect(await deadOn(b)).toEqual([]);
  });

  it('backfills a webhook and a topic added later from the intake topic, stale flags and resends as the owners made them', async () => {
    const env = { ADMIN_TOKEN: 'an-admin-token-for-tests' };
    const first = await replica(env);
    const id = `${randomUUID()}:1`;
    const delivered = await report(first, id, 'Delivered', DELIVERED_AT);
    const sent = await report(first, id, 'Sent', SENT_AT);
    await report(first, id, 'Delivered', DELIVERED_AT); // a resend: one event
    const other = await report(first, `${randomUUID()}:1`, 'Delivered', DELIVERED_AT);
    expect(await waitFor(() => run.receiver.received.length >= 3, 30_000)).toBe(true);
    await first.close();

    const late = await startReceiver();
    try {
      const lateTopic = `${run.prefix}.late`;
      const second = await replica(env, config(run, { url: late.url, topic: lateTopic }));
      const backfill = (destination: string) =>
        fetch(`${second.url}/admin/backfill`, { method: 'POST', headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` }, body: JSON.stringify({ destination }) }).then((r) => r.json());
      expect(await backfill('webhook:late')).toEqual({ added: 3 });
      expect(await waitFor(() => late.received.length >= 3, 30_000)).toBe(true);
      expect(late.received.map((r) => [r.headers['webhook-id'], r.json.data.stale]).sort()).toEqual([[delivered, false], [sent, true], [other, false]].sort());
      // What it has, it does not get again; the CLI, on the replica's data dir, says the same.
      expect(await backfill('webhook:late')).toEqual({ added: 0 });
      const out: string[] = [];
      const cliEnv = { ROUTER_MODE: 'cluster', CLUSTER_PREFIX: run.prefix, KAFKA_BROKERS: kafkaBrokers().join(','), DATA_DIR: second.spool.path.replace(/\/spool\.db$/, '') };
      const code = await runCli(['backfill', '--to', 'webhook:late', '--config', lateConfigPath(late.url, lateTopic)], { out: (l) => out.push(l), err: (l) => out.push(l), env: cliEnv });
      expect([code, out.join('\n')]).toEqual([0, expect.stringMatching(/^0 deliveries to webhook:late queued/)]);
      expect(await backfill('kafka:late')).toEqual({ added: 3 });
      run.tail = await tailTopics([lateTopic]);
      const records = await run.tail.until((m) => m.length >= 3, 30_000);
      expect(records.map((m) => m.headers['event-id']).sort()).toEqual([delivered, sent, other].sort());
    } finally {
      await late.close();
    }
  });

  it('starts while Kafka is down, takes callbacks into its spool, and forwards them once Kafka is back', async () => {
    broker('stop');
    let r: RunningRouter;
    const answered: string[] = [];
    try {
      r = await replica();
      for (let i = 0; i < 3; i++) answered.push(await report(r, `${randomUUID()}:1`, 'Delivered', DELIVERED_AT));
      const ready = (await (await fetch(`${r.url}/readyz`)).json()) as { status: string; cluster: { topics: string } };
      expect(ready).toMatchObject({ status: 'ready', cluster: { topics: expect.stringMatching(/^not created yet/) } });
    } finally {
      broker('start');
    }
    // The replica creates the topics once Kafka answers (it tries every 5 s), then forwards.
    const topicsOk = await waitFor(async () => ((await (await fetch(`${r.url}/readyz`)).json()) as { cluster: { topics: string } }).cluster.topics === 'ok', 60_000, 250);
    expect(topicsOk).toBe(true);
    run.tail = await tailTopics([run.events]);
    const records = await run.tail.until((m) => m.length >= answered.length, 60_000);
    expect(records.map((m) => m.headers['event-id']).sort()).toEqual([...answered].sort());
  });

  it('falls back to the local spool when Kafka does not ack, and forwards in order once it is back', async () => {
    const r = await replica();
    run.tail = await tailTopics([run.events]);
    const first = `${randomUUID()}:1`;
    await report(r, first, 'Sent', SENT_AT);
    await run.tail.until((m) => m.length >= 1, 60_000);

    broker('stop');
    const ids = Array.from({ length: 5 }, () => `${randomUUID()}:1`);
    const answered: string[] = [];
    try {
      for (const id of ids) answered.push(await report(r, id, 'Delivered', DELIVERED_AT));
      // The same message's later report, spooled behind its first: forwarded after it.
      answered.push(await report(r, first, 'Delivered', DELIVERED_AT));
      const ready = (await (await fetch(`${r.url}/readyz`)).json()) as { status: string; cluster: { intake: string } };
      expect(ready.status).toBe('ready');
      expect(ready.cluster.intake).toMatch(/^local spool/);
    } finally {
      broker('start');
    }
    const records = await run.tail.until((m) => m.length >= 1 + answered.length, 90_000);
    expect(new Set(records.map((m) => m.headers['event-id']))).toEqual(new Set([records[0]!.headers['event-id'], ...answered]));
    const ofFirst = records.filter((m) => m.key === first);
    expect(ofFirst.map((m) => [m.json.status, m.json.stale])).toEqual([['Sent', false], ['Delivered', false]]);
    expect(recordsOf(run.tail, run.events)).toHaveLength(1 + answered.length);
  });
});
