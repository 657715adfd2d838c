/**
 * Changing routes without a restart in cluster mode, against the real broker: a replica reloads
 * its routes.config.ts (POST /admin/config/reload, the path SIGHUP takes too); its edge and
 * partition owners route by the new rules from the next callback and batch, the outbox starts the
 * group of a webhook the reload added (and stops one it removed), a Kafka topic it added is
 * created first; a broken file is refused and the old config keeps serving.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/log.js';
import { loadRoutesFile } from '../src/route/load.js';
import { startRouter, type RunningRouter } from '../src/router.js';
import { loadSettings } from '../src/settings.js';
import { startReceiver, type Receiver } from '../src/testing/receiver.js';
import { kafkaBrokers, readTopics, sleep, waitFor } from './support/kafka.js';
import { postCallback, postSample, tempDir, writeConfig } from './support/router.js';

const ADMIN_TOKEN = 'cluster-reload-test-admin-token';
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const RETRY = { initialDelayMs: 20, maxDelayMs: 100, maxAttempts: 5 };
const AUDIT_PARTITIONS = 5;

async function partitionsOf(topic: string): Promise<number> {
  const admin = new Kafka({ clientId: 'kcr-test-admin', brokers: kafkaBrokers(), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.length;
  } finally {
    await admin.disconnect();
  }
}

interface Run {
  prefix: string;
  dir: { path: string; remove(): void };
  receivers: Record<'crm' | 'crmMoved' | 'ops', Receiver>;
  router: RunningRouter | null;
}

let run: Run;

const messageIds = (r: Receiver) => r.received.map((x) => x.json.data.message_id);

/**
 * Writes the replica's routes.config.ts: `crm` at `crmUrl` always; `ops` and the audit topic when
 * asked (`opsRetry`: ops's retry policy, and no audit topic).
 */
function writeRoutes(o: { crmUrl: string; ops?: boolean; opsRetry?: typeof RETRY }): string {
  const audit = o.ops && !o.opsRetry;
  // 5 partitions, not the broker's default of 3: the router created it (before the swap), not a produce.
  const topics = { events: `${run.prefix}.events`, ...(audit ? { audit: { name: `${run.prefix}.audit`, partitions: AUDIT_PARTITIONS } } : {}) };
  const webhooks = { crm: { url: o.crmUrl, retry: RETRY }, ...(o.ops ? { ops: { url: run.receivers.ops.url, retry: o.opsRetry ?? RETRY } } : {}) };
  const rules = [{ name: 'all', to: ['kafka:events', 'webhook:crm'] }, ...(o.ops ? [{ name: 'to-ops', to: audit ? ['webhook:ops', 'kafka:audit'] : ['webhook:ops'] }] : [])];
  return writeConfig(run.dir.path, JSON.stringify({ profiles: { default: {} }, kafka: { topics }, webhooks, rules }));
}

async function replica(path: string): Promise<RunningRouter> {
  const { config, hash } = await loadRoutesFile(path);
  const settings = loadSettings({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: join(run.dir.path, 'data'),
    KAFKA_BROKERS: kafkaBrokers().join(','),
    DISPATCH_POLL_MS: '50',
    KAFKA_REQUEST_TIMEOUT_MS: '5000',
    SHUTDOWN_TIMEOUT_MS: '5000',
    ADMIN_TOKEN,
    ROUTER_MODE: 'cluster',
    CLUSTER_PREFIX: run.prefix,
    CLUSTER_PARTITIONS: '4',
    CLUSTER_SESSION_TIMEOUT_MS: '6000',
    INTAKE_ACK_TIMEOUT_MS: '5000',
  });
  run.router = await startRouter({ config, settings, logger: silentLogger, configPath: path, configHash: hash });
  return run.router;
}

/** Posts one report of a new message; returns its message id. */
async function report(router: RunningRouter): Promise<string> {
  const id = `${randomUUID()}:1`;
  const res = await postCallback(router.url, postSample({ id: `req-${id}`, message_id: id }));
  expect(res.status, await res.text()).toBe(200);
  return id;
}

async function reload(router: RunningRouter): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${router.url}/admin/config/reload`, { method: 'POST', headers: admin });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** What the ops receiver answers (the second test makes it fail for a while). */
let opsAnswer = 200;

beforeEach(async () => {
  kafkaBrokers(); // fails (not skips) without a broker
  opsAnswer = 200;
  run = {
    prefix: `kcr-reload-${randomBytes(4).toString('hex')}`,
    dir: tempDir('kcr-cluster-reload-'),
    receivers: { crm: await startReceiver(), crmMoved: await startReceiver(), ops: await startReceiver(() => opsAnswer) },
    router: null,
  };
});

afterEach(async () => {
  await run.router?.close();
  await Promise.all(Object.values(run.receivers).map((r) => r.close()));
  run.dir.remove();
});

describe('config reload in cluster mode', () => {
  it('refuses a broken config (the old one keeps serving), then swaps in one that adds a webhook and a topic, then one that removes it and moves another', async () => {
    const { crm, crmMoved, ops } = run.receivers;
    const router = await replica(writeRoutes({ crmUrl: crm.url }));
    const before = await report(router);
    expect(await waitFor(() => messageIds(crm).includes(before), 60_000)).toBe(true);

    // A rule naming a webhook that does not exist: refused as `kcr check` would, nothing changes.
    writeConfig(run.dir.path, JSON.stringify({ profiles: { default: {} }, webhooks: { crm: { url: crm.url } }, rules: [{ name: 'all', to: ['webhook:opz'] }] }));
    const broken = await reload(router);
    expect(broken.status).toBe(422);
    expect(broken.body).toMatchObject({ ok: false, error: 'invalid_config', message: expect.stringContaining('unknown webhook "opz"') });
    const config = (await (await fetch(`${router.url}/admin/config`, { headers: admin })).json()) as Record<string, unknown>;
    expect(config).toMatchObject({ version: 0, reload: 'available', rules: ['all'] });
    const whileBroken = await report(router);
    expect(await waitFor(() => messageIds(crm).includes(whileBroken), 30_000)).toBe(true);

    // A new rule to a new webhook and a new topic: callbacks after the reload reach both.
    writeRoutes({ crmUrl: crm.url, ops: true });
    const added = await reload(router);
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    expect(added.body).toMatchObject({ ok: true, version: 1, summary: 'rules +1 (to-ops); destinations +2 (kafka:audit, webhook:ops)' });
    expect(added.body.destinations).toMatchObject({ started: ['kafka:audit', 'webhook:ops'], replaced: [], stopped: [] });
    expect(await partitionsOf(`${run.prefix}.audit`)).toBe(AUDIT_PARTITIONS);
    const after = [await report(router), await report(router), await report(router)];
    expect(await waitFor(() => after.every((id) => messageIds(ops).includes(id)), 60_000)).toBe(true);
    expect(await waitFor(() => after.every((id) => messageIds(crm).includes(id)), 30_000)).toBe(true);
    const audit = await readTopics([`${run.prefix}.audit`], (m) => after.every((id) => m.some((r) => r.key === id)), 60_000, 500);
    expect(audit.map((r) => r.key).sort()).toEqual([...after].sort());
    // Reports from before the reload were routed by the old rules: none went to ops.
    expect(messageIds(ops)).not.toContain(before);
    expect(messageIds(ops)).not.toContain(whileBroken);

    // ops removed (its group stopped), crm moved to another URL (its worker replaced).
    writeRoutes({ crmUrl: crmMoved.url });
    const moved = await reload(router);
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    expect(moved.body.destinations).toMatchObject({ started: [], replaced: ['webhook:crm'], stopped: ['kafka:audit', 'webhook:ops'] });
    const last = await report(router);
    expect(await waitFor(() => messageIds(crmMoved).includes(last), 60_000)).toBe(true);
    await sleep(1_000); // anything sent to the old places would have arrived by now
    expect(messageIds(crm)).not.toContain(last);
    expect(messageIds(ops)).not.toContain(last);
  });

  it("keeps a removed webhook's undelivered reports in Kafka and delivers them once a reload names it again", async () => {
    const { crm, ops } = run.receivers;
    // ops fails, and its retry comes only after a minute: the report waits in the outbox, uncommitted.
    const stuck = { initialDelayMs: 60_000, maxDelayMs: 60_000, maxAttempts: 100 };
    opsAnswer = 503;
    const router = await replica(writeRoutes({ crmUrl: crm.url, ops: true, opsRetry: stuck }));
    const waiting = await report(router);
    expect(await waitFor(() => messageIds(ops).includes(waiting), 60_000)).toBe(true);

    writeRoutes({ crmUrl: crm.url });
    const removed = await reload(router);
    expect(removed.body).toMatchObject({ ok: true, destinations: { stopped: ['webhook:ops'] } });
    opsAnswer = 200;
    const meanwhile = await report(router);
    expect(await waitFor(() => messageIds(crm).includes(meanwhile), 30_000)).toBe(true);
    expect(messageIds(ops)).toEqual([waiting]);

    // Named again (with a quick retry): its group resumes from the offset it committed.
    writeRoutes({ crmUrl: crm.url, ops: true, opsRetry: RETRY });
    expect((await reload(router)).body).toMatchObject({ ok: true, destinations: { started: ['webhook:ops'] } });
    expect(await waitFor(() => ops.received.filter((r) => r.json.data.message_id === waiting).length >= 2, 60_000)).toBe(true);
    // The report taken while ops was not configured was routed without it.
    await sleep(500);
    expect(messageIds(ops)).not.toContain(meanwhile);
  });
});
