/** The alert sender against a real HTTP receiver on 127.0.0.1: signing, retries, the bounded queue, throttling. */
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import { Metrics } from '../metrics.js';
import type { CompiledAlerts } from '../route/compile.js';
import { startReceiver, type Answer, type Receiver } from '../testing/receiver.js';
import { waitFor } from '../testing/wait.js';
import type { Alert } from './alert.js';
import { AlertSender } from './sender.js';

const SECRET = `whsec_${Buffer.from('the on-call alert secret').toString('base64')}`;
const FAST = { attempts: 3, initialDelayMs: 10, maxDelayMs: 50 };

let receiver: Receiver | undefined;
let sender: AlertSender | undefined;
afterEach(async () => {
  await sender?.close();
  await receiver?.close();
  sender = receiver = undefined;
});

function config(url: string, over: Partial<CompiledAlerts> = {}): CompiledAlerts {
  return { url, secret: SECRET, headers: {}, timeoutMs: 2_000, oldestPendingMs: 60_000, checkEveryMs: 10_000, repeatAfterMs: 60_000, ...over };
}

function dead(destination: string, eventId = 'evt_1'): Alert {
  return { type: 'delivery.dead_lettered', destination, summary: `a delivery to ${destination} was dead-lettered (http_503)`, details: { event_id: eventId, code: 'http_503' }, at: Date.parse('2026-05-01T10:00:00Z') };
}

async function start(answer: (n: number) => Answer, over: Partial<CompiledAlerts> = {}, opts: { maxQueue?: number } = {}) {
  receiver = await startReceiver(answer);
  const metrics = new Metrics();
  sender = new AlertSender({ metrics, logger: silentLogger, identity: { host: 'router-1' }, retry: FAST, ...opts });
  sender.configure(config(receiver.url, over));
  return { receiver, sender, metrics };
}

describe('the alert sender', () => {
  it('posts a Standard Webhooks signed alert: type, timestamp, severity, destination, router and details', async () => {
    const { receiver, sender, metrics } = await start(() => 200);
    sender.send(dead('webhook:crm'));
    const got = (await waitFor(() => receiver.received[0]))!;
    const verified = new Webhook(SECRET).verify(got.body, got.headers as Record<string, string>) as Record<string, unknown>;
    expect(verified).toEqual({
      type: 'delivery.dead_lettered',
      timestamp: '2026-05-01T10:00:00.000Z',
      severity: 'critical',
      destination: 'webhook:crm',
      summary: 'a delivery to webhook:crm was dead-lettered (http_503)',
      router: { host: 'router-1' },
      data: { event_id: 'evt_1', code: 'http_503', suppressed: 0 },
    });
    expect(got.headers['webhook-id']).toMatch(/^alert_/);
    await waitFor(() => metrics.get('alerts_sent_total', { type: 'delivery.dead_lettered' }) === 1);
    expect(metrics.get('alerts_sent_total', { type: 'delivery.dead_lettered' })).toBe(1);
  });

  it('retries a failed alert with the same webhook-id, and gives up after its tries, counting it', async () => {
    const { receiver, sender, metrics } = await start((n) => (n < 2 ? 503 : 200));
    sender.send(dead('webhook:a'));
    await waitFor(() => receiver.received.length === 3);
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    await waitFor(() => metrics.total('alerts_sent_total') === 1);

    sender.configure(config(receiver.url.replace('/hooks', '/gone'), {}));
    receiver.received.length = 0;
    await receiver.close();
    sender.send(dead('webhook:b'));
    await waitFor(() => metrics.get('alerts_failed_total') === 1, 5_000);
    expect(metrics.get('alerts_failed_total')).toBe(1);
    expect(metrics.total('alerts_sent_total')).toBe(1);
  });

  it('keeps at most maxQueue alerts while the webhook is stuck, dropping the oldest and counting them', async () => {
    // The first request hangs until its timeout; meanwhile ten more alerts arrive.
    const { receiver, sender, metrics } = await start((n) => (n === 0 ? 'hang' : 200), { timeoutMs: 300 }, { maxQueue: 3 });
    for (let i = 0; i < 11; i++) sender.send(dead(`webhook:d${i}`));
    expect(sender.depth()).toBe(3);
    expect(metrics.get('alerts_dropped_total')).toBe(8);
    await waitFor(() => metrics.total('alerts_sent_total') === 3, 5_000);
    expect(metrics.total('alerts_sent_total')).toBe(3);
    // The one in flight was kept (and retried), the newest ones were kept, the rest dropped.
    const destinations = receiver.received.map((r) => (JSON.parse(r.body) as { destination: string }).destination);
    expect(destinations).toEqual(['webhook:d0', 'webhook:d0', 'webhook:d9', 'webhook:d10']);
  });

  it('sends one alert per destination per window, then the latest with the count folded into it', async () => {
    const { receiver, sender } = await start(() => 200, { repeatAfterMs: 300 });
    for (let i = 0; i < 5; i++) sender.send(dead('webhook:crm', `evt_${i}`));
    sender.send(dead('webhook:other', 'evt_x'));
    await waitFor(() => receiver.received.length === 3, 3_000);
    const bodies = receiver.received.map((r) => JSON.parse(r.body) as { destination: string; data: { event_id: string; suppressed: number } });
    expect(bodies.map((b) => [b.destination, b.data.event_id, b.data.suppressed])).toEqual([
      ['webhook:crm', 'evt_0', 0],
      ['webhook:other', 'evt_x', 0],
      ['webhook:crm', 'evt_4', 3],
    ]);
    // The held one waited for its window.
    expect(receiver.received[2]!.at - receiver.received[0]!.at).toBeGreaterThanOrEqual(250);
  });

  it('returns at once and never throws, even with nothing listening', async () => {
    const metrics = new Metrics();
    sender = new AlertSender({ metrics, logger: silentLogger, identity: {}, retry: FAST });
    sender.configure(config('http://127.0.0.1:9/nothing-here'));
    const started = performance.now();
    for (let i = 0; i < 100; i++) sender.send(dead(`webhook:${i}`));
    expect(performance.now() - started).toBeLessThan(100);
    await waitFor(() => metrics.get('alerts_failed_total') > 0, 5_000);
    expect(metrics.get('alerts_failed_total')).toBeGreaterThan(0);
  });

  it('sends nothing without an alert webhook', async () => {
    const { receiver, sender } = await start(() => 200);
    sender.configure(null);
    sender.send(dead('webhook:crm'));
    expect(sender.depth()).toBe(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(receiver.received).toEqual([]);
  });
});
