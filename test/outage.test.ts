/**
 * Issue 3: the broker goes away for 30 s while callbacks keep arriving. Everything answered
 * 2xx reaches its topic once the broker is back: the counts are equal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRouter } from '../src/router.js';
import { broker, createTopics, readTopics, sleep, uniqueTopic, waitFor } from './support/kafka.js';
import { postCallback, postSample, startTestRouter, tempDir } from './support/router.js';

describe('Kafka outage', () => {
  const topic = uniqueTopic('outage');
  const dir = tempDir();
  let router: RunningRouter;

  beforeAll(async () => {
    await createTopics([topic]);
    router = await startTestRouter(
      {
        profiles: { default: {} },
        kafka: { topics: { all: topic } },
        rules: [{ name: 'all', to: ['kafka:all'] }],
        // Short waits so recovery is seen soon after the broker returns.
        retry: { initialDelayMs: 200, maxDelayMs: 2_000 },
      },
      { dataDir: dir.path, env: { KAFKA_REQUEST_TIMEOUT_MS: '3000' } },
    );
  });

  afterAll(async () => {
    await router?.close();
    dir.remove();
  });

  it('delivers every accepted callback after the broker was stopped for 30 s', async () => {
    const accepted = new Set<string>();
    let sent = 0;
    let sending = true;
    const sender = (async () => {
      while (sending) {
        const i = sent++;
        const res = await postCallback(router.url, postSample({
          id: `outage-${i}`,
          message_id: `outage-msg-${i % 50}`,
          status: i % 2 ? 'Delivered' : 'Sent',
          // Each report at its own time: the same message, status and time would be a resend.
          status_time: new Date(Date.UTC(2022, 3, 5, 8, 0, 0) + i * 1000).toISOString(),
        }));
        if (res.status === 200) accepted.add(((await res.json()) as { event_id: string }).event_id);
        await sleep(50);
      }
    })();

    await sleep(2_000);
    const beforeStop = accepted.size;
    broker('stop');
    const stoppedAt = Date.now();
    await sleep(30_000);
    const duringOutage = accepted.size;
    broker('start');
    const downFor = Date.now() - stoppedAt;
    await sleep(2_000);
    sending = false;
    await sender;

    // Callbacks kept being accepted while Kafka was down.
    expect(duringOutage - beforeStop).toBeGreaterThan(100);
    expect(downFor).toBeGreaterThanOrEqual(30_000);
    expect(accepted.size).toBe(sent);

    const read = await readTopics([topic], (m) => new Set(m.map((x) => x.json.event_id)).size >= accepted.size, 120_000);
    const got = new Set(read.map((x) => String(x.json.event_id)));
    const missing = [...accepted].filter((id) => !got.has(id));
    expect(missing).toEqual([]);
    expect(got.size).toBe(accepted.size);
    // A record is readable before its producer has the ack and the delivery is settled (and a batch
    // that timed out but was written is retried): wait for the spool, not only for the topic.
    await waitFor(() => router.spool.operations.listDeliveries('pending').length === 0, 30_000);
    expect(router.spool.operations.listDeliveries('pending')).toEqual([]);
  });
});
