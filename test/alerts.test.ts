/**
 * Issue 9, alerts: the operational webhook configured in routes.config.ts is told, signed like
 * the other webhooks, when a delivery is dead-lettered, a destination is disabled, a circuit
 * opens (and closes), and a destination's oldest pending delivery passes its threshold (and is
 * back under). Real HTTP receivers on 127.0.0.1, the real router. An alert receiver that is
 * down delays nothing: callbacks are answered 200 and deliveries settle as usual.
 */
import { hostname } from 'node:os';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRouter } from '../src/router.js';
import { startReceiver, type Receiver } from '../src/testing/receiver.js';
import { waitFor } from '../src/testing/wait.js';
import { postCallback, postSample, startTestRouter, tempDir } from './support/router.js';

const SECRET = `whsec_${Buffer.from('on-call secret for the alerts test').toString('base64')}`;

interface AlertBody {
  type: string;
  timestamp: string;
  severity: string;
  destination: string | null;
  summary: string;
  router: { host: string; pid: number; mode: string };
  data: Record<string, unknown>;
}

/** The alerts a receiver got, each verified against the secret (a bad signature throws). */
function alertsOf(r: Receiver): AlertBody[] {
  return r.received.map((got) => new Webhook(SECRET).verify(got.body, got.headers as Record<string, string>) as AlertBody);
}

const waitForAlert = (r: Receiver, type: string, destination: string | null, timeoutMs = 20_000) =>
  waitFor(() => alertsOf(r).find((a) => a.type === type && a.destination === destination), timeoutMs);

describe('the operational alert webhook', () => {
  const dir = tempDir('kcr-alerts-');
  const receivers: Receiver[] = [];
  let oncall: Receiver;
  let stuckAnswer = 503;
  let router: RunningRouter;
  let eventId: string;

  beforeAll(async () => {
    oncall = await startReceiver();
    const failing = await startReceiver(() => 503);
    const gone = await startReceiver(() => 410);
    const stuck = await startReceiver(() => stuckAnswer);
    receivers.push(oncall, failing, gone, stuck);
    router = await startTestRouter(
      {
        profiles: { default: {} },
        webhooks: {
          failing: { url: failing.url, retry: { initialDelayMs: 20, maxDelayMs: 50, maxAttempts: 2 } },
          gone: { url: gone.url },
          stuck: { url: stuck.url, retry: { initialDelayMs: 50, maxDelayMs: 200, maxAttempts: 10_000 } },
        },
        rules: [{ name: 'all', to: ['webhook:failing', 'webhook:gone', 'webhook:stuck'] }],
        alerts: { url: oncall.url, secret: SECRET, oldestPending: 1_500, checkEvery: 100, repeatAfter: 200 },
      },
      { dataDir: dir.path },
    );
    const res = await postCallback(router.url, postSample({ id: 'alerts-1', message_id: 'alerts-msg-1' }));
    expect(res.status).toBe(200);
    eventId = ((await res.json()) as { event_id: string }).event_id;
  });

  afterAll(async () => {
    await router?.close();
    for (const r of receivers) await r.close();
    dir.remove();
  });

  it('is told, signed, when a delivery is dead-lettered after its retries, with the event and the error', async () => {
    const alert = await waitForAlert(oncall, 'delivery.dead_lettered', 'webhook:failing');
    expect(alert).toMatchObject({
      severity: 'critical',
      router: { host: hostname(), pid: process.pid, mode: 'embedded' },
      data: { event_id: eventId, attempts: 2, code: 'http_503' },
    });
    expect(alert?.data.error).toMatch(/answered 503/);
    expect(Date.now() - Date.parse(alert!.timestamp)).toBeLessThan(60_000);
  });

  it('is told when a destination answers 410 Gone and is disabled', async () => {
    const alert = await waitForAlert(oncall, 'destination.disabled', 'webhook:gone');
    expect(alert).toMatchObject({ severity: 'critical', data: { reason: expect.stringMatching(/410/) } });
    expect(await (await fetch(`${router.url}/metrics`)).text()).toMatch(/^kcr_destination_disabled\{destination="webhook:gone"\} 1$/m);
  });

  it('is told when a failing destination\'s circuit opens, and /metrics shows it open', async () => {
    const alert = await waitForAlert(oncall, 'destination.circuit_opened', 'webhook:stuck');
    expect(alert).toMatchObject({ severity: 'warning', data: { consecutive_failures: 3 } });
    expect(await (await fetch(`${router.url}/metrics`)).text()).toMatch(/^kcr_destination_circuit_open\{destination="webhook:stuck"\} 1$/m);
  });

  it('is told when the oldest pending delivery passes the threshold, then that it is resolved and the circuit closed once it gets through', async () => {
    const alert = await waitForAlert(oncall, 'deliveries.oldest_pending', 'webhook:stuck');
    expect(alert).toMatchObject({ severity: 'warning', data: { threshold_seconds: 1.5 } });
    expect(alert!.data.age_seconds).toBeGreaterThanOrEqual(1);
    const gauge = /^kcr_deliveries_oldest_pending_seconds\{destination="webhook:stuck"\} ([\d.]+)$/m.exec(await (await fetch(`${router.url}/metrics`)).text());
    expect(Number(gauge?.[1])).toBeGreaterThan(1.5);

    stuckAnswer = 200;
    expect(await waitForAlert(oncall, 'deliveries.oldest_pending_resolved', 'webhook:stuck')).toMatchObject({ severity: 'info' });
    expect(await waitForAlert(oncall, 'destination.circuit_closed', 'webhook:stuck')).toMatchObject({ severity: 'info' });
    expect(await (await fetch(`${router.url}/metrics`)).text()).toMatch(/^kcr_deliveries_oldest_pending_seconds\{destination="webhook:stuck"\} 0$/m);
    expect(router.metrics.total('alerts_sent_total')).toBeGreaterThanOrEqual(6);
  });
});

describe('an alert webhook that does not answer', () => {
  it('delays no callback and no delivery: every callback is answered 200 at once and every delivery is settled', async () => {
    const dir = tempDir('kcr-alerts-down-');
    // The alert receiver takes every request and never answers; the sender waits out its timeout.
    const hanging = await startReceiver(() => 'hang');
    const refusing = await startReceiver(() => 400);
    const router = await startTestRouter(
      {
        profiles: { default: {} },
        // Fast retries: the circuit that dead letters in a row open stays shut only milliseconds.
        webhooks: { refusing: { url: refusing.url, retry: { initialDelayMs: 10, maxDelayMs: 20 } } },
        rules: [{ name: 'all', to: ['webhook:refusing'] }],
        alerts: { url: hanging.url, timeoutMs: 10_000, repeatAfter: 1 },
      },
      { dataDir: dir.path },
    );
    try {
      const slowest: number[] = [];
      for (let i = 0; i < 30; i++) {
        const started = performance.now();
        const res = await postCallback(router.url, postSample({ id: `down-${i}`, message_id: `down-msg-${i}` }));
        slowest.push(performance.now() - started);
        expect(res.status).toBe(200);
      }
      // Each one dead-lettered (400 is not retried), each one an alert stuck behind the hanging one.
      // The first alert reaches the hanging receiver independently of the dead letters: wait for it too.
      expect(await waitFor(() => router.metrics.get('deliveries_total', { destination: 'webhook:refusing', outcome: 'dead' }) === 30 && hanging.received.length >= 1, 10_000)).toBe(true);
      expect(Math.max(...slowest)).toBeLessThan(1_000);
      expect(hanging.received.length).toBe(1);
      expect(router.alerts.sender.depth()).toBeGreaterThan(1);
    } finally {
      await router.close();
      await hanging.close();
      await refusing.close();
      dir.remove();
    }
  });
});
