/**
 * Issue 9, "what happened to message X?": a report whose webhook answers 503 until the retry
 * policy gives up, and whose Kafka topic takes it at once, read back as one timeline from the
 * admin API and from the CLI (a real process on the same DATA_DIR): the rules it matched, every
 * attempt with its status code and latency, the dead letter, the Kafka delivery, the final state.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRouter } from '../src/router.js';
import type { MessageTimeline } from '../src/spool/timeline.js';
import { createTopics, kafkaBrokers, readTopics, uniqueTopic, waitFor } from './support/kafka.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { ROOT, postCallback, postSample, startTestRouter, tempDir } from './support/router.js';

const run = promisify(execFile);
const TOKEN = 'test-admin-token-timeline-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
/** Three attempts, a few ms apart: the third 503 makes the dead letter. */
const SMALL_RETRY = { initialDelayMs: 20, maxDelayMs: 50, maxAttempts: 3 };

describe('the timeline of one message', () => {
  const topic = uniqueTopic('timeline');
  const dir = tempDir();
  const messageId = `${randomUUID()}:1`;
  const body = postSample({ message_id: messageId, id: randomUUID(), status: 'Undelivered' });
  let router: RunningRouter;
  let hook: Receiver;
  let eventId: string;

  async function fromApi(): Promise<MessageTimeline> {
    const res = await fetch(`${router.url}/admin/messages/${encodeURIComponent(messageId)}`, { headers: auth });
    expect(res.status).toBe(200);
    return (await res.json()) as MessageTimeline;
  }

  beforeAll(async () => {
    kafkaBrokers();
    await createTopics([topic]);
    hook = await startReceiver(() => 503);
    router = await startTestRouter(
      {
        profiles: { default: {} },
        kafka: { topics: { events: topic } },
        webhooks: { crm: { url: hook.url } },
        rules: [
          { name: 'every-report', to: ['kafka:events'] },
          { name: 'failures-to-crm', match: { status: ['undelivered', 'failed'] }, to: ['webhook:crm'] },
          { name: 'otp-only', match: { route_type: 'OTP' }, to: ['webhook:crm'] },
        ],
        retry: SMALL_RETRY,
      },
      { dataDir: dir.path, env: { ADMIN_TOKEN: TOKEN } },
    );
    const res = await postCallback(router.url, body);
    expect(res.status).toBe(200);
    eventId = ((await res.json()) as { event_id: string }).event_id;
    const settled = await waitFor(
      () => router.spool.operations.listDeliveries('dead', { eventId }).length === 1 && router.spool.operations.listDeliveries('done', { eventId }).length === 1,
      30_000,
    );
    expect(settled).toBe(true);
  });

  afterAll(async () => {
    await router?.close();
    await hook?.close();
    dir.remove();
  });

  it('is read from the admin API: the report raw and enriched, the rules it matched, every 503 with its latency, the dead letter, the Kafka delivery, the final state', async () => {
    const timeline = await fromApi();
    expect(timeline).toMatchObject({ message_key: messageId, message_id: messageId, truncated: false });
    expect(timeline.state).toMatchObject({ status: 'Undelivered', rank: 2, final: true, event_id: eventId, profile: 'default' });
    expect(timeline.callbacks).toHaveLength(1);
    const [callback] = timeline.callbacks;
    expect(callback).toMatchObject({ event_id: eventId, type: 'sms.undelivered', status: 'Undelivered', stale: false, raw: body, raw_query: null });
    expect(callback!.route).toEqual({ rules: ['every-report', 'failures-to-crm'], fallback: false, destinations: ['kafka:events', 'webhook:crm'] });
    expect(callback!.event).toMatchObject({ event_id: eventId, message_id: messageId, status_class: 'undelivered', recipient: body.recipient });

    const byRef = new Map(callback!.deliveries.map((d) => [d.destination, d]));
    const crm = byRef.get('webhook:crm')!;
    expect(crm).toMatchObject({ state: 'dead', last_code: 'http_503', next_at: null });
    expect(crm.attempts.map((a) => [a.attempt, a.outcome, a.status_code, a.code])).toEqual([
      [1, 'retry', 503, 'http_503'],
      [2, 'retry', 503, 'http_503'],
      [3, 'dead', 503, 'http_503'],
    ]);
    for (const a of crm.attempts) {
      expect(a.latency_ms).toBeGreaterThanOrEqual(0);
      expect(a.latency_ms).toBeLessThan(10_000);
      expect(a.error).toContain(`POST ${hook.url} answered 503`);
      expect(Date.parse(a.at)).toBeGreaterThanOrEqual(Date.parse(callback!.received_at));
    }
    // One attempt per request the receiver saw: nothing missed, nothing counted twice.
    expect(hook.received.filter((r) => r.json.data.event_id === eventId)).toHaveLength(3);
    expect(crm.attempts.map((a) => a.at)).toEqual([...crm.attempts.map((a) => a.at)].sort());

    const kafka = byRef.get('kafka:events')!;
    expect(kafka.state).toBe('done');
    expect(kafka.attempts).toEqual([expect.objectContaining({ attempt: 1, outcome: 'delivered', status_code: null, code: null, error: null })]);
    expect(kafka.attempts[0]!.latency_ms).toBeGreaterThanOrEqual(0);
    const read = await readTopics([topic], (m) => m.some((x) => x.key === messageId), 30_000);
    expect(read.filter((m) => m.key === messageId).map((m) => m.json.event_id)).toEqual([eventId]);
  });

  it('is printed by `kcr show` (a real process on the same DATA_DIR): one line per report and per attempt, then the deliveries and the state; --json is the API answer', async () => {
    const env = { ...process.env, DATA_DIR: dir.path };
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'show', messageId], { cwd: ROOT, env });
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`message ${messageId}`);
    const timeline = lines.slice(1, lines.indexOf('deliveries:'));
    expect(timeline).toHaveLength(5);
    expect(timeline[0]).toMatch(new RegExp(`^\\S+Z  received  sms\\.undelivered "Undelivered"  event ${eventId}  rules every-report, failures-to-crm -> kafka:events, webhook:crm$`));
    const attempts = timeline.slice(1).map((l) => l.replace(/^\S+Z  attempt   /, '').replace(/  \d+ ms/, '  N ms'));
    const crm = attempts.filter((l) => l.startsWith('webhook:crm'));
    expect(crm.slice(0, 2)).toEqual([
      `webhook:crm #1 retry 503  N ms  http_503: POST ${hook.url} answered 503`,
      `webhook:crm #2 retry 503  N ms  http_503: POST ${hook.url} answered 503`,
    ]);
    // The dead letter's error also says why it was not retried again.
    expect(crm[2]?.startsWith(`webhook:crm #3 dead 503  N ms  http_503: POST ${hook.url} answered 503`), crm[2]).toBe(true);
    expect(attempts.filter((l) => l.startsWith('kafka:events'))).toEqual(['kafka:events #1 delivered  N ms']);
    expect(lines.at(-1)).toMatch(/^state: Undelivered \(final\) since \S+Z$/);
    expect(lines.slice(lines.indexOf('deliveries:') + 1, -1).map((l) => l.trim().split(/\s+/).slice(0, 2).join(' ')).sort()).toEqual(['kafka:events done', 'webhook:crm dead']);

    const json = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'show', messageId, '--json'], { cwd: ROOT, env });
    expect(JSON.parse(json.stdout)).toEqual(await fromApi());
  });

  it('answers 401 without the token, 404 for a message it keeps nothing of, 400 for a bad limit', async () => {
    const url = `${router.url}/admin/messages/${encodeURIComponent(messageId)}`;
    expect((await fetch(url)).status).toBe(401);
    const unknown = await fetch(`${router.url}/admin/messages/no-such-message:0`, { headers: auth });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: 'unknown_message', message: expect.stringMatching(/^no message "no-such-message:0" is kept/) });
    const bad = await fetch(`${url}?limit=0`, { headers: auth });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'invalid_filter', message: 'limit: must be a whole number from 1 to 1000' });
    const long = await fetch(`${router.url}/admin/messages/${'x'.repeat(600)}`, { headers: auth });
    expect(long.status).toBe(400);
  });

  it('finds a message Kaleyra sent without a message_id by its message_key (request id / recipient), slash and all', async () => {
    const requestId = randomUUID();
    const res = await postCallback(router.url, postSample({ message_id: null, id: requestId, recipient: '919620838123', status: 'Delivered', status_trace: '' }));
    expect(res.status).toBe(200);
    const key = `${requestId}/919620838123`;
    for (const path of [key, encodeURIComponent(key)]) {
      const found = await fetch(`${router.url}/admin/messages/${path}`, { headers: auth });
      expect(found.status, path).toBe(200);
      expect(((await found.json()) as MessageTimeline).callbacks.map((c) => c.route?.rules)).toEqual([['every-report']]);
    }
  });
});
