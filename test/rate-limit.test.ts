/**
 * Issue 9, "change it without a restart": a destination's outgoing rate limit holds during a
 * replay, callbacks are answered while it runs, and a dry run (CLI and admin API) changes
 * nothing. Real router, real webhook receiver on 127.0.0.1, the real CLI process.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRouter } from '../src/router.js';
import { sleep, waitFor } from '../src/testing/wait.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { FAST_RETRY, ROOT, postCallback, postSample, startTestRouter, tempDir } from './support/router.js';

const run = promisify(execFile);
const TOKEN = 'test-admin-token-rate-limit';
const PER_SECOND = 20;
/** The default burst: one second's worth. */
const BURST = 20;
const DEAD = 40;
/** Timer and scheduling slack on a busy 2-core machine; the bound below is a floor on spacing, not a speed. */
const TOLERANCE_MS = 150;

describe('a rate-limited webhook during a replay', () => {
  const dir = tempDir();
  let router: RunningRouter;
  let hook: Receiver;
  let hookUp = false;

  const admin = async (path: string, body: unknown): Promise<unknown> => {
    const res = await fetch(`${router.url}/admin${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    return res.json();
  };
  const dead = () => router.spool.operations.listDeliveries('dead', { destination: 'webhook:crm', limit: 1_000 });

  beforeAll(async () => {
    // Down (400, not retried) until the test says otherwise: every delivery becomes a dead letter.
    hook = await startReceiver(() => ({ status: hookUp ? 200 : 400 }));
    router = await startTestRouter(
      {
        profiles: { default: {} },
        webhooks: { crm: { url: hook.url, rateLimit: { perSecond: PER_SECOND } } },
        rules: [{ name: 'crm', to: ['webhook:crm'] }],
        retry: FAST_RETRY,
      },
      { dataDir: dir.path, env: { ADMIN_TOKEN: TOKEN } },
    );
    for (let i = 0; i < DEAD; i++) {
      expect((await postCallback(router.url, postSample({ id: `rl-${i}`, message_id: `rl-msg-${i}` }))).status).toBe(200);
    }
    await waitFor(() => dead().length === DEAD, 20_000);
    expect(dead()).toHaveLength(DEAD);
  });

  afterAll(async () => {
    await router?.close();
    await hook?.close();
    dir.remove();
  });

  it('a --dry-run replay from the CLI prints what it would queue, per destination, and changes nothing', async () => {
    const before = hook.received.length;
    const env = { ...process.env, DATA_DIR: dir.path };
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'replay', '--all', '--dry-run'], { cwd: ROOT, env });
    expect(stdout).toBe(`dry run: ${DEAD} deliveries would be queued again; nothing changed\n  webhook:crm  ${DEAD}\n`);
    // The router polls its spool every 50 ms: had anything been queued, it would have been sent by now.
    await sleep(500);
    expect(dead()).toHaveLength(DEAD);
    expect(hook.received.length).toBe(before);
  });

  it('a dry run through the admin API answers the counts and changes nothing', async () => {
    const before = hook.received.length;
    expect(await admin('/replay', { all: true, dry_run: true })).toEqual({ replayed: 0, dry_run: true, would_replay: DEAD, destinations: { 'webhook:crm': DEAD } });
    expect(await admin('/backfill', { destination: 'webhook:crm', dry_run: true })).toEqual({ added: 0, dry_run: true, would_add: 0, destinations: {} });
    await sleep(300);
    expect(dead()).toHaveLength(DEAD);
    expect(hook.received.length).toBe(before);
  });

  it('the replayed dead letters reach the receiver no faster than the limit, while callbacks sent meanwhile are answered 200', async () => {
    hookUp = true;
    const from = hook.received.length;
    expect(await admin('/replay', { all: true })).toEqual({ replayed: DEAD });

    // Callbacks during the replay: each answered (200), none waits for the replay's deliveries.
    const during = 10;
    const answers: number[] = [];
    for (let i = 0; i < during; i++) {
      const res = await postCallback(router.url, postSample({ id: `rl-during-${i}`, message_id: `rl-during-msg-${i}` }), 'default');
      answers.push(res.status);
      await sleep(50);
    }
    expect(answers).toEqual(Array(during).fill(200));

    await waitFor(() => hook.received.length - from >= DEAD + during, 20_000);
    const arrivals = hook.received.slice(from).map((r) => r.at);
    expect(arrivals).toHaveLength(DEAD + during);
    // From any arrival on, the n-th one after it comes no sooner than (n - burst) / perSecond:
    // the bucket holds at most `burst` tokens at any moment and refills at perSecond.
    for (let i = 0; i < arrivals.length; i++) {
      for (let j = i + BURST; j < arrivals.length; j++) {
        const n = j - i + 1;
        expect(arrivals[j]! - arrivals[i]!, `arrivals ${i}..${j}`).toBeGreaterThanOrEqual(((n - BURST) / PER_SECOND) * 1_000 - TOLERANCE_MS);
      }
    }
    // Every replayed dead letter and every new callback was delivered.
    const ids = new Set(hook.received.slice(from).map((r) => r.json.data.message_id));
    expect(ids.size).toBe(DEAD + during);
    expect(dead()).toHaveLength(0);
    expect(router.metrics.get('rate_limited_seconds_total', { destination: 'webhook:crm' })).toBeGreaterThan(0);
  });
});
