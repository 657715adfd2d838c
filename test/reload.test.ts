/**
 * Changing the routes without a restart, end to end: a real router process reloads its
 * routes.config.ts on SIGHUP (and through the admin API) while callbacks keep coming.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRoutesFile } from '../src/route/load.js';
import { startRouter, type RunningRouter } from '../src/router.js';
import { loadSettings } from '../src/settings.js';
import { silentLogger } from '../src/log.js';
import { createTopics, kafkaBrokers, readTopics, sleep, uniqueTopic, waitFor } from './support/kafka.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { FAST_RETRY, ROOT, freePort, postCallback, postSample, spawnRouter, tempDir, writeConfig, type ChildRouter } from './support/router.js';

const ADMIN_TOKEN = 'reload-test-admin-token';
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
// A receiver that keeps failing, retried only after a minute: its deliveries stay pending.
const STUCK_RETRY = { initialDelayMs: 60_000, maxDelayMs: 60_000, maxAttempts: 100 };

/** What `npm run cli -- check` prints for the file (its error text, without the `kcr: ` prefix). */
async function checkOutput(path: string): Promise<{ code: number; text: string }> {
  const run = promisify(execFile);
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), 'check', '--config', path], { cwd: ROOT, timeout: 60_000 });
    return { code: 0, text: stdout.trim() };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, text: e.stderr.trim().replace(/^kcr: /, '') };
  }
}

/** Posts callbacks from `workers` loops until stopped, each a new message; records every answer. */
function steadyStream(url: string, workers = 3) {
  const answers: { id: string; status: number; at: number }[] = [];
  let running = true;
  let n = 0;
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      const id = `stream-${++n}`;
      const res = await postCallback(url, postSample({ id, message_id: id }));
      await res.arrayBuffer();
      answers.push({ id, status: res.status, at: Date.now() });
      await sleep(5);
    }
  });
  return {
    answers,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

const ids = (r: Receiver) => r.received.map((x) => x.json.data.message_id);

describe('config reload in a running router process (SIGHUP and the admin API)', () => {
  const dir = tempDir('kcr-reload-');
  let receivers: { old: Receiver; added: Receiver; stuck: Receiver };
  let router: ChildRouter;
  let path: string;

  beforeAll(async () => {
    receivers = { old: await startReceiver(), added: await startReceiver(), stuck: await startReceiver(() => 503) };
    path = writeConfig(
      dir.path,
      JSON.stringify({
        profiles: { default: {} },
        webhooks: { old: { url: receivers.old.url }, stuck: { url: receivers.stuck.url, retry: STUCK_RETRY } },
        rules: [{ name: 'everything', to: ['webhook:old', 'webhook:stuck'] }],
        retry: FAST_RETRY,
      }),
    );
    router = await spawnRouter(path, { DATA_DIR: join(dir.path, 'data'), ADMIN_TOKEN, KAFKA_BROKERS: '', LOG_LEVEL: 'info', DISPATCH_POLL_MS: '50' }, await freePort());
  });
  afterAll(async () => {
    router?.proc.kill('SIGTERM');
    await router?.exited;
    await Promise.all(Object.values(receivers ?? {}).map((r) => r.close()));
    dir.remove();
  });

  const configStatus = async () => (await (await fetch(`${router.url}/admin/config`, { headers: admin })).json()) as Record<string, unknown>;

  it('refuses a broken config with the errors `check` gives, keeps the old routes, then swaps in a good one; no callback refused throughout', async () => {
    const stream = steadyStream(router.url);
    try {
      expect(await waitFor(() => receivers.old.received.length >= 10, 10_000, 20), 'waiting for the stream to reach the old receiver').toBeTruthy();

      // A rule naming a webhook that is not declared: a check error, which tsx alone would not catch.
      writeConfig(
        dir.path,
        JSON.stringify({
          profiles: { default: {} },
          webhooks: { old: { url: receivers.old.url } },
          rules: [{ name: 'everything', to: ['webhook:old'] }, { name: 'to-new', to: ['webhook:neww'] }],
        }),
      );
      const check = await checkOutput(path);
      expect(check.code).toBe(2);
      expect(check.text).toContain('rule "to-new" (rules[1]), field "to[0]": unknown webhook "neww" (declared: webhook:old)');
      router.proc.kill('SIGHUP');
      expect(await waitFor(() => router.output().includes('routes config reload refused'), 15_000, 20), 'waiting for the refusal in the log').toBeTruthy();
      const refusal = router
        .output()
        .split('\n')
        .filter((l) => l.includes('routes config reload refused'))
        .map((l) => JSON.parse(l) as { trigger: string; error: string; message: string })[0]!;
      expect(refusal).toMatchObject({ trigger: 'SIGHUP', error: 'invalid_config', message: check.text });
      expect(await configStatus()).toMatchObject({ version: 0, rules: ['everything'], destinations: ['webhook:old', 'webhook:stuck'] });

      // Still the old routes (webhook:stuck's circuit is open by now, so only webhook:old answers).
      const marker = 'after-refusal';
      expect((await postCallback(router.url, postSample({ id: marker, message_id: marker }))).status).toBe(200);
      expect(await waitFor(() => ids(receivers.old).includes(marker), 10_000, 20)).toBeTruthy();

      // A good config: a new rule to a new webhook; webhook:stuck removed with deliveries pending.
      writeConfig(
        dir.path,
        JSON.stringify({
          profiles: { default: {} },
          webhooks: { old: { url: receivers.old.url }, added: { url: receivers.added.url } },
          rules: [{ name: 'everything', to: ['webhook:old'] }, { name: 'to-added', to: ['webhook:added'] }],
          retry: FAST_RETRY,
        }),
      );
      router.proc.kill('SIGHUP');
      // The version changes at the swap; the log line comes after the old workers have stopped.
      expect(await waitFor(async () => (await configStatus()).version === 1 && router.output().includes('routes config reloaded'), 15_000, 50), 'waiting for the reload and its log line').toBeTruthy();
      const reloaded = router
        .output()
        .split('\n')
        .find((l) => l.includes('routes config reloaded'));
      expect(JSON.parse(reloaded!)).toMatchObject({
        trigger: 'SIGHUP',
        summary: 'rules +1 (to-added) ~1 (everything); destinations +1 (webhook:added) -1 (webhook:stuck)',
        destinations: { started: ['webhook:added'], replaced: [], stopped: ['webhook:stuck'] },
        pendingForUnconfigured: ['webhook:stuck'],
      });

      const after = 'after-reload';
      expect((await postCallback(router.url, postSample({ id: after, message_id: after }))).status).toBe(200);
      expect(await waitFor(() => ids(receivers.added).includes(after) && ids(receivers.old).includes(after), 10_000, 20)).toBeTruthy();
      await sleep(300);
      expect(ids(receivers.stuck)).not.toContain(after);
      expect(ids(receivers.added)).not.toContain(marker);
    } finally {
      await stream.stop();
    }
    expect(stream.answers.length).toBeGreaterThan(50);
    expect(stream.answers.filter((a) => a.status !== 200)).toEqual([]);
    // webhook:old is in every config: each accepted callback reaches it, before, during and after the swaps.
    const accepted = new Set(stream.answers.map((a) => a.id));
    expect(await waitFor(() => [...accepted].every((id) => ids(receivers.old).includes(id)), 15_000, 50), 'waiting for every streamed callback at webhook:old').toBeTruthy();

    // The removed destination's deliveries are kept and reported, not delivered and not deleted.
    const ready = (await (await fetch(`${router.url}/readyz`)).json()) as Record<string, unknown>;
    expect(ready.pending_for_unconfigured).toEqual(['webhook:stuck']);
    expect((await configStatus()).pending_for_unconfigured).toEqual(['webhook:stuck']);
    const stats = (await (await fetch(`${router.url}/admin/destinations`, { headers: admin })).json()) as { counts: { destination: string; state: string; n: number }[] };
    expect(stats.counts.find((c) => c.destination === 'webhook:stuck' && c.state === 'pending')?.n).toBeGreaterThan(10);
  });

  it('answers POST /admin/config/reload with 422 and the check errors for a syntax error, and counts reloads in /metrics', async () => {
    writeConfig(dir.path, '{ profiles: { default: {} }, rules: [ }');
    const check = await checkOutput(path);
    const res = await fetch(`${router.url}/admin/config/reload`, { method: 'POST', headers: admin });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { ok: boolean; error: string; message: string };
    expect(body).toMatchObject({ ok: false, trigger: 'admin', error: 'invalid_config' });
    expect(body.message).toBe(check.text);
    expect(body.message).toContain(`${path} could not be loaded`);
    expect(await configStatus()).toMatchObject({ version: 1 });

    // An operator needs no token to see the reload count, but does to trigger one.
    expect((await fetch(`${router.url}/admin/config/reload`, { method: 'POST' })).status).toBe(401);
    const metrics = await (await fetch(`${router.url}/metrics`)).text();
    expect(metrics).toMatch(/^kcr_config_reloads_total\{result="ok"\} 1$/m);
    expect(metrics).toMatch(/^kcr_config_reloads_total\{result="refused"\} 2$/m);
    expect(metrics).toMatch(/^kcr_config_loaded_timestamp_seconds \d+(\.\d+)?$/m);
  });
});

describe('config reload on a change to the file (CONFIG_WATCH=true)', () => {
  const dir = tempDir('kcr-reload-watch-');
  let router: ChildRouter | undefined;
  afterAll(async () => {
    router?.proc.kill('SIGTERM');
    await router?.exited;
    dir.remove();
  });

  it('reloads once the saved file has been quiet for the debounce', async () => {
    const config = (rule: string) => JSON.stringify({ profiles: { default: {} }, kafka: { topics: { events: 'sms.events' } }, rules: [{ name: rule, to: ['kafka:events'] }] });
    const path = writeConfig(dir.path, config('first'));
    router = await spawnRouter(path, { DATA_DIR: join(dir.path, 'data'), ADMIN_TOKEN, KAFKA_BROKERS: '', CONFIG_WATCH: 'true', CONFIG_WATCH_DEBOUNCE_MS: '100' }, await freePort());
    writeConfig(dir.path, config('second'));
    const status = async () => (await (await fetch(`${router!.url}/admin/config`, { headers: admin })).json()) as { version: number; rules: string[] };
    expect(await waitFor(async () => (await status()).version === 1, 15_000, 50), 'waiting for the watched reload').toBeTruthy();
    expect(await status()).toMatchObject({ version: 1, rules: ['second'] });
  });
});

describe('config reload in process, with Kafka', () => {
  const dir = tempDir('kcr-reload-kafka-');
  let router: RunningRouter;
  let first: Receiver;
  let second: Receiver;
  const topic = uniqueTopic('reload');

  beforeAll(async () => {
    [first, second] = await Promise.all([startReceiver(), startReceiver()]);
    await createTopics([topic], 1);
  });
  afterAll(async () => {
    await router?.close();
    await Promise.all([first?.close(), second?.close()]);
    dir.remove();
  });

  it('keeps the Kafka destination (and its connection) when only rules change, and replaces a webhook whose URL changed', async () => {
    const write = (rules: unknown[], crmUrl: string) =>
      writeConfig(dir.path, JSON.stringify({ profiles: { default: {} }, kafka: { topics: { events: topic } }, webhooks: { crm: { url: crmUrl } }, rules, retry: FAST_RETRY }));
    const path = write([{ name: 'everything', to: ['kafka:events'] }], first.url);
    const { config, hash } = await loadRoutesFile(path);
    const settings = loadSettings({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: join(dir.path, 'data'), KAFKA_BROKERS: kafkaBrokers().join(','), DISPATCH_POLL_MS: '50', ADMIN_TOKEN });
    router = await startRouter({ config, settings, logger: silentLogger, configPath: path, configHash: hash });
    const kafkaBefore = router.destinations.destinations.get('kafka:events');

    write([{ name: 'everything', to: ['kafka:events'] }, { name: 'crm', match: { status: 'delivered' }, to: ['webhook:crm'] }], first.url);
    expect(await router.reload('admin')).toMatchObject({ ok: true, summary: 'rules +1 (crm)', destinations: { started: [], replaced: [], stopped: [] } });
    expect(router.destinations.destinations.get('kafka:events')).toBe(kafkaBefore);
    expect((await postCallback(router.url, postSample({ id: 'k-1', message_id: 'k-1', status: 'Delivered' }))).status).toBe(200);
    expect(await waitFor(() => ids(first).includes('k-1'), 10_000, 20)).toBeTruthy();

    write([{ name: 'everything', to: ['kafka:events'] }, { name: 'crm', match: { status: 'delivered' }, to: ['webhook:crm'] }], second.url);
    const res = await fetch(`${router.url}/admin/config/reload`, { method: 'POST', headers: admin });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, version: 2, summary: 'destinations ~1 (webhook:crm)', destinations: { replaced: ['webhook:crm'] } });
    expect((await postCallback(router.url, postSample({ id: 'k-2', message_id: 'k-2', status: 'Delivered' }))).status).toBe(200);
    expect(await waitFor(() => ids(second).includes('k-2'), 10_000, 20)).toBeTruthy();
    expect(ids(first)).not.toContain('k-2');

    const messages = await readTopics([topic], (m) => ['k-1', 'k-2'].every((id) => m.some((x) => x.json.message_id === id)), 30_000);
    expect(messages.map((m) => m.json.message_id)).toEqual(expect.arrayContaining(['k-1', 'k-2']));
  });
});
