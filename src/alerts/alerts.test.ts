/** The router's alert conditions, against fake sources and a real receiver: what raises what, and what /metrics shows. */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import { Metrics } from '../metrics.js';
import type { CompiledAlerts } from '../route/compile.js';
import { startReceiver, type Receiver } from '../testing/receiver.js';
import { waitFor } from '../testing/wait.js';
import { formatAge, OperationalAlerts } from './alerts.js';

let receiver: Receiver | undefined;
let alerts: OperationalAlerts | undefined;
afterEach(async () => {
  await alerts?.close();
  await receiver?.close();
});

interface Sent {
  type: string;
  destination: string | null;
  severity: string;
  data: Record<string, unknown>;
}

async function setUp(oldestPendingMs = 60_000) {
  receiver = await startReceiver();
  const metrics = new Metrics();
  let failingListener: ((failing: boolean, error: string | null) => void) | null = null;
  const commits = { onFailingChange: (l: (failing: boolean, error: string | null) => void) => ((failingListener = l), () => (failingListener = null)) };
  alerts = new OperationalAlerts({ metrics, logger: silentLogger, commits, identity: { mode: 'embedded' }, sender: { retry: { attempts: 2, initialDelayMs: 10, maxDelayMs: 20 } } });
  const cfg: CompiledAlerts = { url: receiver.url, secret: null, headers: {}, timeoutMs: 1_000, oldestPendingMs, checkEveryMs: 3_600_000, repeatAfterMs: 0 };
  alerts.configure(cfg);
  const pending = new Map<string, number | null>([['webhook:crm', null], ['kafka:events', null]]);
  const disabled = new Map<string, unknown>();
  alerts.watch({ destinations: () => pending.keys(), oldestPendingAt: (d) => pending.get(d) ?? null, disabledDestinations: () => disabled });
  const sent = (): Sent[] => receiver!.received.map((r) => JSON.parse(r.body) as Sent);
  return { alerts, metrics, pending, disabled, sent, failing: (f: boolean, e: string | null = null) => failingListener!(f, e) };
}

describe('the operational alerts', () => {
  it('alert once when a destination\'s oldest pending delivery passes the threshold, and once when it is back under', async () => {
    const { alerts, pending, sent } = await setUp(60_000);
    const now = Date.parse('2026-05-01T10:00:00Z');
    pending.set('webhook:crm', now - 90_000);
    pending.set('kafka:events', now - 1_000);
    alerts.check(now);
    alerts.check(now + 10_000);
    await waitFor(() => sent().length === 1);
    expect(sent()[0]).toMatchObject({ type: 'deliveries.oldest_pending', destination: 'webhook:crm', severity: 'warning', data: { age_seconds: 90, threshold_seconds: 60 } });

    pending.set('webhook:crm', null);
    alerts.check(now + 20_000);
    await waitFor(() => sent().length === 2);
    expect(sent()[1]).toMatchObject({ type: 'deliveries.oldest_pending_resolved', destination: 'webhook:crm', severity: 'info' });
  });

  it('says a destination reloaded away is resolved, rather than leaving the on-call waiting', async () => {
    const { alerts, pending, sent } = await setUp(60_000);
    pending.set('webhook:crm', Date.now() - 120_000);
    alerts.check();
    pending.delete('webhook:crm');
    alerts.check();
    await waitFor(() => sent().length === 2);
    expect(sent().map((s) => s.type)).toEqual(['deliveries.oldest_pending', 'deliveries.oldest_pending_resolved']);
  });

  it('turns the spool failing and recovering into critical and info alerts', async () => {
    const { failing, sent } = await setUp();
    failing(true, 'SQLITE_FULL: database or disk is full');
    failing(false);
    await waitFor(() => sent().length === 2);
    expect(sent()).toMatchObject([
      { type: 'spool.commit_failing', destination: null, severity: 'critical', data: { error: 'SQLITE_FULL: database or disk is full' } },
      { type: 'spool.commit_recovered', destination: null, severity: 'info' },
    ]);
  });

  it('turns what the dispatcher observes into alerts, and keeps the circuit gauge', async () => {
    const { alerts, metrics, sent, disabled } = await setUp();
    const o = alerts.observer;
    o.dead!('webhook:crm', { id: 7, eventId: 'evt_7', messageKey: 'msg-7', type: 'sms.undelivered', attempts: 5, firstAt: 0, body: '{}' }, 'http_503', 'POST … answered 503');
    o.disabled!('webhook:crm', 'answered 410 Gone');
    o.circuit!('kafka:events', true, 3);
    disabled.set('webhook:crm', { reason: 'gone' });
    await waitFor(() => sent().length === 3);
    expect(sent()).toMatchObject([
      { type: 'delivery.dead_lettered', destination: 'webhook:crm', severity: 'critical', data: { event_id: 'evt_7', attempts: 6, code: 'http_503' } },
      { type: 'destination.disabled', destination: 'webhook:crm', severity: 'critical', data: { reason: 'answered 410 Gone' } },
      { type: 'destination.circuit_opened', destination: 'kafka:events', severity: 'warning', data: { consecutive_failures: 3 } },
    ]);
    const text = await metrics.render();
    expect(text).toContain('kcr_destination_circuit_open{destination="kafka:events"} 1');
    expect(text).toContain('kcr_destination_circuit_open{destination="webhook:crm"} 0');
    expect(text).toContain('kcr_destination_disabled{destination="webhook:crm"} 1');
    o.circuit!('kafka:events', false, 0);
    expect(await metrics.render()).toContain('kcr_destination_circuit_open{destination="kafka:events"} 0');
  });

  it('shows each destination\'s oldest pending age in /metrics, 0 when none is pending', async () => {
    const { metrics, pending } = await setUp();
    pending.set('webhook:crm', Date.now() - 30_000);
    const text = await metrics.render();
    expect(Number(/kcr_deliveries_oldest_pending_seconds\{destination="webhook:crm"\} ([\d.]+)/.exec(text)?.[1])).toBeCloseTo(30, 0);
    expect(text).toContain('kcr_deliveries_oldest_pending_seconds{destination="kafka:events"} 0');
  });

  it('formats ages for people', () => {
    expect([formatAge(42_000), formatAge(90_000), formatAge(2 * 3_600_000 + 5 * 60_000)]).toEqual(['42s', '1m 30s', '2h 5m']);
  });
});
