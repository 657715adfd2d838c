/**
 * Issue 3: webhook receivers that fail. Real HTTP receivers on 127.0.0.1, the real router,
 * a real Kafka topic beside them (a failing webhook must not hold it up).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRouter } from '../src/router.js';
import { createTopics, readTopics, sleep, uniqueTopic, waitFor } from './support/kafka.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { FAST_RETRY, postCallback, postSample, startTestRouter, tempDir } from './support/router.js';

describe('webhook faults', () => {
  const topic = uniqueTopic('faults');
  const dir = tempDir();
  let router: RunningRouter;
  let flaky: Receiver;
  let broken: Receiver;
  let gone: Receiver;
  let healthy: Receiver;

  beforeAll(async () => {
    await createTopics([topic]);
    // 503 + Retry-After: 1 on the first request, then 200.
    flaky = await startReceiver((n) => (n === 0 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 200 }));
    broken = await startReceiver(() => ({ status: 400 }));
    gone = await startReceiver(() => ({ status: 410 }));
    healthy = await startReceiver();
    router = await startTestRouter(
      {
        profiles: { default: {} },
        kafka: { topics: { all: topic } },
        webhooks: { flaky: { url: flaky.url }, broken: { url: broken.url }, gone: { url: gone.url }, healthy: { url: healthy.url } },
        rules: [
          { name: 'kafka', to: ['kafka:all'] },
          { name: 'flaky', match: { route_type: 'FLAKY' }, to: ['webhook:flaky'] },
          { name: 'broken', match: { route_type: 'BROKEN' }, to: ['webhook:broken'] },
          { name: 'gone', match: { route_type: 'GONE' }, to: ['webhook:gone', 'webhook:healthy'] },
        ],
        retry: FAST_RETRY,
      },
      { dataDir: dir.path },
    );
  });

  afterAll(async () => {
    await router?.close();
    await Promise.all([flaky, broken, gone, healthy].map((r) => r?.close()));
    dir.remove();
  });

  it('503 with Retry-After, then 200: delivered once it recovers, and the wait is honoured', async () => {
    const res = await postCallback(router.url, postSample({ id: 'flaky-1', message_id: 'flaky-1:1', type: 'FLAKY' }));
    expect(res.status).toBe(200);
    await waitFor(() => router.spool.operations.listDeliveries('done', { destination: 'webhook:flaky' }).length === 1, 15_000);
    expect(flaky.received).toHaveLength(2);
    // Our own backoff would retry after at most 20 ms; the receiver asked for 1 s.
    expect(flaky.received[1]!.at - flaky.received[0]!.at).toBeGreaterThanOrEqual(950);
    expect(flaky.received[1]!.headers['webhook-id']).toBe(flaky.received[0]!.headers['webhook-id']);
    const [d] = router.spool.operations.listDeliveries('done', { destination: 'webhook:flaky' });
    expect(d!.attempts).toBe(2);
  });

  it('400: a dead letter at once, kept with its error, never retried', async () => {
    const res = await postCallback(router.url, postSample({ id: 'broken-1', message_id: 'broken-1:1', type: 'BROKEN' }));
    const { event_id } = (await res.json()) as { event_id: string };
    await waitFor(() => router.spool.operations.listDeliveries('dead', { destination: 'webhook:broken' }).length === 1, 15_000);
    await sleep(500);
    expect(broken.received).toHaveLength(1);
    const [dead] = router.spool.operations.listDeliveries('dead', { destination: 'webhook:broken' });
    expect(dead).toMatchObject({ event_id, attempts: 1, last_code: 'http_400' });
    expect(dead!.last_error).toContain('400');
    // The Kafka delivery of the same event went through regardless.
    const read = await readTopics([topic], (m) => m.some((x) => x.json.event_id === event_id));
    expect(read.some((x) => x.json.event_id === event_id)).toBe(true);
  });

  it('410: the webhook is disabled, counted, logged and visible, and other webhooks carry on', async () => {
    const first = await postCallback(router.url, postSample({ id: 'gone-1', message_id: 'gone-1:1', type: 'GONE' }));
    expect(first.status).toBe(200);
    await waitFor(() => router.spool.queue.disabledDestinations().has('webhook:gone'), 15_000);
    expect(router.metrics.get('destinations_disabled_total', { destination: 'webhook:gone' })).toBe(1);
    const ready = (await (await fetch(`${router.url}/readyz`)).json()) as { disabled_destinations: Record<string, unknown> };
    expect(Object.keys(ready.disabled_destinations)).toEqual(['webhook:gone']);
    expect(await (await fetch(`${router.url}/metrics`)).text()).toContain('kcr_destinations_disabled_total{destination="webhook:gone"} 1');

    // Later events are not sent to a disabled webhook; they are kept as dead letters to replay.
    await postCallback(router.url, postSample({ id: 'gone-2', message_id: 'gone-2:1', type: 'GONE' }));
    await waitFor(() => healthy.received.length === 2, 15_000);
    await waitFor(() => router.spool.operations.listDeliveries('dead', { destination: 'webhook:gone', code: 'destination_disabled' }).length === 1, 15_000);
    expect(gone.received).toHaveLength(1);
    expect(healthy.received).toHaveLength(2);
  });
});
