/**
 * Issue 9, readiness that tells the truth: the data volume fills up (a 3 MB tmpfs the test
 * mounts; the suite runs as root, here and in CI). Measured before the change: 2,965 of 3,000
 * callbacks answered 503 while /readyz kept answering 200, because its one-row probe still fit.
 * Now readiness writes as much as a group commit and turns 503 with the callbacks, says so in
 * /metrics, and recovers on its own once space is freed; nothing answered 200 is lost. The
 * operational webhook (a real receiver) is told, signed, that the spool cannot commit, and then
 * that it commits again.
 */
import { execFileSync } from 'node:child_process';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRouter } from '../src/router.js';
import { startReceiver, type Receiver } from '../src/testing/receiver.js';
import { createTopics, kafkaBrokers, readTopics, uniqueTopic, waitFor } from './support/kafka.js';
import { postCallback, postSample, startTestRouter, tempDir } from './support/router.js';

const volume = tempDir('kcr-disk-full-');
let mounted = false;
let router: RunningRouter | undefined;
let oncall: Receiver | undefined;
const SECRET = `whsec_${Buffer.from('disk-full drill on-call secret').toString('base64')}`;

beforeAll(() => {
  kafkaBrokers(); // fails (not skips) without a broker
  if (process.getuid?.() !== 0) throw new Error('this test mounts a tmpfs: run the suite as root (CI does)');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', volume.path]);
  mounted = true;
});

afterAll(async () => {
  await router?.close();
  await oncall?.close();
  if (mounted) execFileSync('umount', ['-l', volume.path]);
  volume.remove();
});

/** The operational alert of `type` the receiver got, its signature verified with the secret. */
const alerted = (type: string) =>
  oncall!.received.map((r) => new Webhook(SECRET).verify(r.body, r.headers as Record<string, string>) as { type: string; severity: string; data: Record<string, unknown> }).find((a) => a.type === type);

const readyz = async (r: RunningRouter) => {
  const res = await fetch(`${r.url}/readyz`);
  return { status: res.status, body: (await res.json()) as { store: string } };
};

describe('a full data volume', () => {
  it('answers 503 with Retry-After and turns /readyz 503 while full, then recovers and delivers everything it accepted', async () => {
    const topic = uniqueTopic('disk-full');
    await createTopics([topic]);
    oncall = await startReceiver();
    router = await startTestRouter(
      {
        profiles: { default: {} },
        kafka: { topics: { all: topic } },
        rules: [{ name: 'all', to: ['kafka:all'] }],
        retry: { initialDelayMs: 100, maxDelayMs: 1_000 },
        alerts: { url: oncall.url, secret: SECRET, repeatAfter: 500 },
      },
      { dataDir: volume.path },
    );
    expect((await readyz(router)).status).toBe(200);

    // Fill it: callbacks until the spool cannot commit (bounded).
    const accepted: string[] = [];
    let refused: Response | null = null;
    for (let i = 0; i < 5_000 && !refused; i++) {
      const res = await postCallback(router.url, postSample({ id: `full-${i}`, message_id: `full-msg-${i}`, description: 'x'.repeat(2_000) }));
      if (res.status === 200) accepted.push(((await res.json()) as { event_id: string }).event_id);
      else refused = res;
    }
    expect(refused?.status).toBe(503);
    expect(refused?.headers.get('retry-after')).toBe('5');
    expect(accepted.length).toBeGreaterThan(0);

    const full = await readyz(router);
    expect(full.status).toBe(503);
    expect(full.body.store).toMatch(/^cannot commit: .*(full|FULL)/);
    expect(await (await fetch(`${router.url}/metrics`)).text()).toMatch(/^kcr_spool_commit_failing 1$/m);
    // The on-call hears of it while the disk is still full.
    const failing = await waitFor(() => alerted('spool.commit_failing'), 10_000, 100);
    expect(failing).toMatchObject({ severity: 'critical', data: { error: expect.stringMatching(/full|FULL/) } });

    // Space comes back; readiness follows with no traffic to prove it.
    execFileSync('mount', ['-o', 'remount,size=64m', volume.path]);
    expect(await waitFor(async () => (await readyz(router!)).status === 200, 30_000, 250)).toBe(true);
    const again = await postCallback(router.url, postSample({ id: 'after-full', message_id: 'after-full-msg' }));
    expect(again.status).toBe(200);
    accepted.push(((await again.json()) as { event_id: string }).event_id);
    expect(await (await fetch(`${router.url}/metrics`)).text()).toMatch(/^kcr_spool_commit_failing 0$/m);
    expect(await waitFor(() => alerted('spool.commit_recovered'), 10_000, 100)).toMatchObject({ severity: 'info' });

    // Everything answered 200 reaches the topic (at least once: marks lost while full may repeat one).
    const messages = await readTopics([topic], (m) => accepted.every((id) => m.some((r) => r.headers['event-id'] === id)), 90_000);
    const seen = new Set(messages.map((m) => m.headers['event-id']));
    expect(accepted.filter((id) => !seen.has(id))).toEqual([]);
  });
});
