/**
 * Issue 2, end to end: real HTTP callbacks in, real Kafka topics and real webhook receivers out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { consumeDeliveryEvents } from '../src/consume/consumer.js';
import type { DeliveryEvent } from '../src/event.js';
import type { RunningRouter } from '../src/router.js';
import { createTopics, kafkaBrokers, readTopics, uniqueTopic, waitFor } from './support/kafka.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { GET_SAMPLE_QUERY, postCallback, postSample, startTestRouter, tempDir } from './support/router.js';

const SECRET = `whsec_${Buffer.from('kaleyra-callback-router-test-key').toString('base64')}`;

describe('callback pipeline against a real Kafka broker', () => {
  const topics = { events: uniqueTopic('events'), failures: uniqueTopic('failures'), india: uniqueTopic('india'), unrouted: uniqueTopic('unrouted') };
  const dir = tempDir();
  let router: RunningRouter;
  let crm: Receiver;
  let audit: Receiver;

  beforeAll(async () => {
    kafkaBrokers();
    await createTopics(Object.values(topics));
    crm = await startReceiver();
    audit = await startReceiver();
    router = await startTestRouter(
      {
        profiles: { default: {}, secured: { headers: { 'x-api-key': 'k-123' } } },
        kafka: { topics },
        webhooks: { crm: { url: crm.url, secret: SECRET }, audit: { url: audit.url } },
        rules: [
          { name: 'drop-stale', match: { stale: true }, to: [], stop: true },
          { name: 'finals', match: { status: '*', final: true }, to: ['kafka:events'] },
          { name: 'failures', match: { status: ['undelivered', 'failed', 'rejected'] }, to: ['kafka:failures', 'webhook:crm'] },
          { name: 'india-not-sent', match: { status: 'Not Sent', iso_code: 'IN' }, to: ['kafka:india', 'webhook:audit'], stop: true },
          { name: 'india', match: { iso_code: 'IN' }, to: ['kafka:india'] },
        ],
        fallback: ['kafka:unrouted'],
      },
      { dataDir: dir.path },
    );
  });

  afterAll(async () => {
    await router?.close();
    await crm?.close();
    await audit?.close();
    dir.remove();
  });

  it("routes the provider's POST sample to the topics and webhooks its rules name", async () => {
    const res = await postCallback(router.url, postSample());
    expect(res.status).toBe(200);
    const { event_id } = (await res.json()) as { event_id: string };

    const read = await readTopics([topics.events, topics.failures, topics.india, topics.unrouted], (m) => m.filter((x) => x.json.event_id === event_id).length >= 3, 60_000, 500);
    const mine = read.filter((m) => m.json.event_id === event_id);
    // finals + failures + india: fan-out to three topics, and nothing to the fallback.
    expect(mine.map((m) => m.topic).sort()).toEqual([topics.events, topics.failures, topics.india].sort());
    for (const m of mine) {
      expect(m.key).toBe('ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1');
      expect(m.headers['event-type']).toBe('sms.undelivered');
      expect(m.headers['schema-version']).toBe('2');
      expect(m.json).toMatchObject({
        status: 'Undelivered',
        status_class: 'undelivered',
        status_final: true,
        status_trace_group: 'not_sent',
        iso_code: 'IN',
        country: 'India',
        price: '0.001354',
        status_time: '2022-04-05T08:55:50.000Z',
        sent_time: null,
        sent_time_local: '2022-04-05T09:55:50',
        request_id: 'ebccc6ff-6311-4XXc-b23d-afe6fXXXXXf6',
        message_index: 1,
        profile: 'default',
        raw: postSample(),
      });
    }

    await waitFor(() => crm.received.some((r) => r.json.data.event_id === event_id));
    const hook = crm.received.find((r) => r.json.data.event_id === event_id)!;
    expect(hook.json.type).toBe('sms.undelivered');
    expect(hook.headers['webhook-id']).toBe(event_id);
    // The Standard Webhooks signature verifies with the shared secret.
    expect(() => new Webhook(SECRET).verify(hook.body, hook.headers as Record<string, string>)).not.toThrow();
    expect(audit.received.some((r) => r.json.data.event_id === event_id)).toBe(false);
  });

  it("routes the provider's GET sample, with its raw + in status_time, and stops at the stop rule", async () => {
    const res = await fetch(`${router.url}/callbacks/default?${GET_SAMPLE_QUERY}`);
    expect(res.status).toBe(200);
    const { event_id } = (await res.json()) as { event_id: string };

    const read = await readTopics([topics.events, topics.failures, topics.india, topics.unrouted], (m) => m.filter((x) => x.json.event_id === event_id).length >= 3, 60_000, 500);
    const mine = read.filter((m) => m.json.event_id === event_id);
    // finals + failures + india-not-sent (stop): the later "india" rule adds nothing new.
    expect(mine.map((m) => m.topic).sort()).toEqual([topics.events, topics.failures, topics.india].sort());
    expect(mine[0]!.json).toMatchObject({
      status: 'Not Sent',
      status_class: 'rejected',
      status_trace: 'BLACKLIST',
      status_time: '2022-04-05T08:55:50.000Z',
      description: 'Rejected as the number is blacklisted by operator.',
      ref: null,
      flash: false,
      price: '0.001354',
    });
    await waitFor(() => audit.received.some((r) => r.json.data.event_id === event_id) && crm.received.some((r) => r.json.data.event_id === event_id));
    expect(audit.received.find((r) => r.json.data.event_id === event_id)!.json.type).toBe('sms.rejected');
    // No secret on the audit webhook: no signature.
    expect(audit.received[0]!.headers['webhook-signature']).toBeUndefined();
  });

  it('sends an event no rule matches to the fallback topic', async () => {
    const res = await postCallback(router.url, postSample({ status: 'Sent', status_trace: '', iso_code: 'GB', id: 'fallback-1', message_id: 'fallback-msg-1' }));
    expect(res.status).toBe(200);
    const { event_id } = (await res.json()) as { event_id: string };
    const read = await readTopics([topics.events, topics.failures, topics.india, topics.unrouted], (m) => m.some((x) => x.json.event_id === event_id), 60_000, 500);
    expect(read.filter((m) => m.json.event_id === event_id).map((m) => m.topic)).toEqual([topics.unrouted]);
  });

  it('keeps all reports of one message in arrival order, on one partition', async () => {
    const n = 200;
    const responses = await Promise.all(
      Array.from({ length: n }, (_, i) => postCallback(router.url, postSample({
            id: `order-${i}`,
            message_id: `order-msg-${i % 20}`,
            status: i % 2 ? 'Undelivered' : 'Failed',
            iso_code: 'GB',
            // Each report at its own time: the same message, status and time would be a resend.
            status_time: new Date(Date.UTC(2022, 3, 5, 8, 0, 0) + i * 1000).toISOString(),
          }))),
    );
    expect(responses.every((r) => r.status === 200)).toBe(true);
    const read = await readTopics([topics.events], (m) => m.filter((x) => String(x.key).startsWith('order-msg-')).length >= n, 60_000);
    const mine = read.filter((m) => String(m.key).startsWith('order-msg-'));
    expect(mine).toHaveLength(n);
    for (let k = 0; k < 20; k++) {
      const key = `order-msg-${k}`;
      const forKey = mine.filter((m) => m.key === key);
      expect(new Set(forKey.map((m) => m.partition)).size).toBe(1);
      // The order the router accepted them in (delivery ids grow with arrival) is the order in Kafka.
      const accepted = router.spool.operations.listDeliveries(null, { destination: 'kafka:events', messageKey: key }).reverse().map((d) => d.event_id);
      expect(forKey.map((m) => m.json.event_id)).toEqual(accepted);
    }
  });

  it('gives downstream consumers typed events through the consumer helper', async () => {
    const res = await postCallback(router.url, postSample({ id: 'typed-1', message_id: 'typed-msg-1', status: 'DELIVRD', status_trace: 'DELIVRD', recipient: '919620838123' }));
    const { event_id } = (await res.json()) as { event_id: string };
    const got: DeliveryEvent[] = [];
    const c = await consumeDeliveryEvents({ brokers: kafkaBrokers(), groupId: `typed-${Date.now()}`, topics: [topics.events], fromBeginning: true, onEvent: (e) => void got.push(e) });
    try {
      await waitFor(() => got.some((e) => e.event_id === event_id), 60_000);
    } finally {
      await c.stop();
    }
    const e = got.find((x) => x.event_id === event_id)!;
    expect(e.status_class).toBe('delivered');
    expect(e.recipient_e164).toBe('+919620838123');
  });

  it('enforces static profile headers', async () => {
    const denied = await postCallback(router.url, postSample({ id: 'sec-1' }), 'secured');
    expect(denied.status).toBe(401);
    const ok = await fetch(`${router.url}/callbacks/secured`, { method: 'POST', headers: { 'x-api-key': 'k-123' }, body: JSON.stringify(postSample({ id: 'sec-2' })) });
    expect(ok.status).toBe(200);
  });
});
