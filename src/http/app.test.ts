import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import { Metrics } from '../metrics.js';
import { compileRoutes } from '../route/compile.js';
import { matchRoutes } from '../route/match.js';
import { openSpoolDb, type SpoolDb } from '../spool/db.js';
import { Spool } from '../spool/spool.js';
import { GET_SAMPLE_QUERY, postSample } from '../testing/samples.js';
import { createApp, type AppDeps } from './app.js';
import { mulberry32 } from '../testing/random.js';

const config = compileRoutes(
  {
    profiles: {
      default: {},
      keyed: { headers: { 'x-api-key': 'k-123' } },
      basic: { basicAuth: { username: 'kaleyra', password: 'pa:ss' } },
      bearer: { bearerToken: 'tok-abc' },
    },
    kafka: { topics: { events: 'kaleyra.sms.events', failures: 'kaleyra.sms.failures', audit: 'kaleyra.sms.audit' } },
    rules: [
      { name: 'every-report', match: { status: '*' }, to: ['kafka:events'] },
      { name: 'failures', match: { status: ['undelivered', 'failed', 'rejected'] }, to: ['kafka:failures'] },
    ],
  },
  'app test config',
);

const ADMIN_TOKEN = 'admin-token-for-tests';
const JSON_HEADERS = { 'content-type': 'application/json' };

interface Harness {
  app: ReturnType<typeof createApp>;
  spool: Spool;
  metrics: Metrics;
}

describe('HTTP app', () => {
  let dir: string;
  const spools: Spool[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kcr-app-'));
  });
  afterEach(() => {
    for (const s of spools.splice(0)) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The database each harness's spool runs on: the seam to make the disk read-only. */
  const dbs = new Map<Spool, SpoolDb>();

  function harness(over: Partial<AppDeps> = {}): Harness {
    const db = openSpoolDb(join(dir, `spool-${spools.length}.db`));
    const spool = new Spool({ path: db.name, db, plan: (e) => matchRoutes(e, config.table) });
    spools.push(spool);
    dbs.set(spool, db);
    const metrics = new Metrics();
    const app = createApp({ config, spool, logger: silentLogger, metrics, ...over });
    return { app, spool, metrics };
  }

  function postJson(h: Harness, body: unknown, profile = 'default', headers: Record<string, string> = {}): Promise<Response> {
    return Promise.resolve(h.app.request(`/callbacks/${profile}`, { method: 'POST', headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) }));
  }

  /** A body with no content-type at all: a string body would get text/plain from Request. */
  function rawBytes(text: string): Uint8Array {
    return new TextEncoder().encode(text);
  }

  /** The spool's own connection switched to read-only (root ignores chmod): every write fails as on a read-only disk. */
  function makeStoreReadOnly(spool: Spool): void {
    dbs.get(spool)!.pragma('query_only = ON');
  }

  describe('routing outcomes in the metrics', () => {
    it('counts an event dropped by a rule as dropped, and one no rule matches as unrouted', async () => {
      const cfg = compileRoutes({
        profiles: { default: {} },
        kafka: { topics: { otp: 'otp' } },
        rules: [
          { name: 'drop-stale', match: { stale: true }, to: [], stop: true },
          { name: 'otp', match: { route_type: 'OTP' }, to: ['kafka:otp'] },
        ],
      });
      const spool = new Spool({ path: join(dir, 'routing.db'), plan: (e) => matchRoutes(e, cfg.table) });
      spools.push(spool);
      const metrics = new Metrics();
      const h: Harness = { app: createApp({ config: cfg, spool, logger: silentLogger, metrics }), spool, metrics };
      await postJson(h, postSample({ id: 'r-1', message_id: 'r-msg', status: 'Delivered', type: 'OTP' }));
      await postJson(h, postSample({ id: 'r-2', message_id: 'r-msg', status: 'Sent', type: 'OTP' }));
      await postJson(h, postSample({ id: 'r-3', message_id: 'r-other', type: 'TXN' }));
      expect(metrics.get('callbacks_dropped_total', { profile: 'default', rule: 'drop-stale' })).toBe(1);
      expect(metrics.total('callbacks_unrouted_total')).toBe(1);
      expect(spool.operations.counts()).toEqual([{ destination: 'kafka:otp', state: 'pending', n: 1 }]);
    });
  });

  describe("the provider's samples", () => {
    it('accepts the POST JSON sample and stores it enriched', async () => {
      const h = harness();
      const res = await postJson(h, postSample());
      expect(res.status).toBe(200);
      const body = (await res.json()) as { status: string; event_id: string; duplicate: boolean; stale: boolean };
      expect(body).toEqual({ status: 'accepted', event_id: expect.any(String), duplicate: false, stale: false });

      const event = h.spool.operations.event(body.event_id);
      expect(event).toMatchObject({
        profile: 'default',
        status: 'Undelivered',
        status_class: 'undelivered',
        status_final: true,
        status_trace: 'REJECTED-MULTIPART',
        status_trace_group: 'not_sent',
        iso_code: 'IN',
        country: 'India',
        price: '0.001354',
        flash: false,
        status_time: '2022-04-05T08:55:50.000Z',
        // No SENT_TIME_ZONE: Kaleyra's zone-less sent_time is kept local, not guessed as UTC.
        sent_time: null,
        sent_time_local: '2022-04-05T09:55:50',
        message_key: 'ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1',
        request_id: 'ebccc6ff-6311-4XXc-b23d-afe6fXXXXXf6',
        message_index: 1,
        recipient_masked: true,
        ref: null,
      });
      expect(event!.raw).toEqual(postSample());
      expect(h.spool.operations.listDeliveries('pending', { eventId: body.event_id }).map((d) => d.destination).sort()).toEqual(['kafka:events', 'kafka:failures']);
    });

    it("accepts the GET sample, whose raw '+' in status_time decodes to a space", async () => {
      const h = harness();
      const res = await h.app.request(`/callbacks/default?${GET_SAMPLE_QUERY}`);
      expect(res.status).toBe(200);
      const { event_id } = (await res.json()) as { event_id: string };
      const event = h.spool.operations.event(event_id);
      expect(event).toMatchObject({
        status: 'Not Sent',
        status_class: 'rejected',
        status_trace_group: 'not_sent',
        status_time: '2022-04-05T08:55:50.000Z',
        sent_time_local: '2022-04-05T09:55:50',
        description: 'Rejected as the number is blacklisted by operator.',
        request_id: '84352649-f610-4fd7-b7de-c163be9b1XXX',
        price: '0.001354',
        raw_query: GET_SAMPLE_QUERY,
        length: 5,
        ref: null,
        ref2: null,
      });
      expect(event!.raw.status_time).toBe('2022-04-05 08:55:50 00:00');
    });
  });

  describe('body formats', () => {
    it('reads a JSON body sent with no content-type', async () => {
      const h = harness();
      const res = await h.app.request('/callbacks/default', { method: 'POST', body: rawBytes(JSON.stringify(postSample())) });
      expect(res.status).toBe(200);
      const { event_id } = (await res.json()) as { event_id: string };
      expect(h.spool.operations.event(event_id)).toMatchObject({ status_class: 'undelivered', price: '0.001354' });
    });

    it('reads a JSON body sent as text/plain', async () => {
      const h = harness();
      const res = await h.app.request('/callbacks/default', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(postSample()) });
      expect(res.status).toBe(200);
    });

    it('reads an x-www-form-urlencoded body, numbers as strings and a raw "+" included', async () => {
      const h = harness();
      const form =
        'status=Delivered&id=form-1&message_id=form-msg-1&price=0.0042&length=12&units=2&flash=1&iso_code=in' +
        '&status_time=2022-04-05 08:55:50+00:00&description=Delivered%20to%20handset';
      const res = await h.app.request('/callbacks/default', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body: form,
      });
      expect(res.status).toBe(200);
      const { event_id } = (await res.json()) as { event_id: string };
      expect(h.spool.operations.event(event_id)).toMatchObject({
        status_class: 'delivered',
        price: '0.0042',
        length: 12,
        units: 2,
        flash: true,
        iso_code: 'IN',
        status_time: '2022-04-05T08:55:50.000Z',
        description: 'Delivered to handset',
      });
    });

    it('reads a form body posted without a content-type', async () => {
      const h = harness();
      const res = await h.app.request('/callbacks/default', { method: 'POST', body: rawBytes('status=Delivered&id=form-2') });
      expect(res.status).toBe(200);
    });

    it('reads a JSON body whose numbers are all strings', async () => {
      const h = harness();
      const res = await postJson(h, postSample({ flash: '0', total: '1', length: '5', units: '1', price: '0.001354' }));
      const { event_id } = (await res.json()) as { event_id: string };
      expect(h.spool.operations.event(event_id)).toMatchObject({ flash: false, total: 1, length: 5, units: 1, price: '0.001354' });
    });

    it('takes the fields from the query string of a POST with an empty body', async () => {
      const h = harness();
      const res = await h.app.request(`/callbacks/default?${GET_SAMPLE_QUERY}`, { method: 'POST', body: '' });
      expect(res.status).toBe(200);
    });
  });

  describe('bad input', () => {
    interface BadCase {
      name: string;
      method?: string;
      path?: string;
      headers?: Record<string, string>;
      body?: string;
      status: number;
      error: string;
      message: RegExp;
      field?: string;
    }
    const cases: BadCase[] = [
      { name: 'a body that is not JSON', headers: JSON_HEADERS, body: '{"status": "Delivered",', status: 400, error: 'invalid_body', message: /not valid JSON/ },
      { name: 'a JSON array', headers: JSON_HEADERS, body: JSON.stringify([postSample()]), status: 400, error: 'invalid_body', message: /an array, not a JSON object/ },
      { name: 'a JSON string', headers: JSON_HEADERS, body: '"Delivered"', status: 400, error: 'invalid_body', message: /a string, not a JSON object/ },
      { name: 'JSON null', headers: JSON_HEADERS, body: 'null', status: 400, error: 'invalid_body', message: /null, not a JSON object/ },
      { name: 'a JSON number', headers: JSON_HEADERS, body: '42', status: 400, error: 'invalid_body', message: /a number, not a JSON object/ },
      { name: 'an empty body', headers: JSON_HEADERS, body: '', status: 400, error: 'invalid_body', message: /body is empty/ },
      { name: 'a blank body', body: '  \n ', status: 400, error: 'invalid_body', message: /body is empty/ },
      { name: 'no status', headers: JSON_HEADERS, body: JSON.stringify(postSample({ status: undefined })), status: 400, error: 'invalid_callback', message: /status: is missing/, field: 'status' },
      { name: 'a blank status', headers: JSON_HEADERS, body: JSON.stringify(postSample({ status: '  ' })), status: 400, error: 'invalid_callback', message: /status: is missing or empty/, field: 'status' },
      { name: 'neither id nor message_id', headers: JSON_HEADERS, body: JSON.stringify(postSample({ id: undefined, message_id: '' })), status: 400, error: 'invalid_callback', message: /id: neither id nor message_id/, field: 'id' },
      { name: 'a form body with no status', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'id=x&description=hi', status: 400, error: 'invalid_callback', message: /status/, field: 'status' },
      { name: 'a GET with no status', method: 'GET', path: '/callbacks/default?id=abc&ref=', status: 400, error: 'invalid_callback', message: /status: is missing/, field: 'status' },
      { name: 'a GET with no id', method: 'GET', path: '/callbacks/default?status=Delivered', status: 400, error: 'invalid_callback', message: /neither id nor message_id/, field: 'id' },
      { name: 'an unknown profile (POST)', path: '/callbacks/nope', headers: JSON_HEADERS, body: JSON.stringify(postSample()), status: 404, error: 'unknown_profile', message: /"nope"/ },
      { name: 'an unknown profile (GET)', method: 'GET', path: `/callbacks/nope?${GET_SAMPLE_QUERY}`, status: 404, error: 'unknown_profile', message: /"nope"/ },
      { name: 'a missing API key header', path: '/callbacks/keyed', headers: JSON_HEADERS, body: JSON.stringify(postSample()), status: 401, error: 'unauthorized', message: /header x-api-key is missing/ },
      { name: 'a wrong API key header', path: '/callbacks/keyed', headers: { ...JSON_HEADERS, 'x-api-key': 'k-124' }, body: JSON.stringify(postSample()), status: 401, error: 'unauthorized', message: /header x-api-key does not match/ },
      { name: 'missing basic credentials', path: '/callbacks/basic', headers: JSON_HEADERS, body: JSON.stringify(postSample()), status: 401, error: 'unauthorized', message: /basic credentials/ },
      { name: 'wrong basic credentials', path: '/callbacks/basic', headers: { ...JSON_HEADERS, authorization: `Basic ${Buffer.from('kaleyra:pa:sS').toString('base64')}` }, body: JSON.stringify(postSample()), status: 401, error: 'unauthorized', message: /basic credentials/ },
      { name: 'a missing bearer token', method: 'GET', path: `/callbacks/bearer?${GET_SAMPLE_QUERY}`, status: 401, error: 'unauthorized', message: /bearer token/ },
      { name: 'a wrong bearer token', path: '/callbacks/bearer', headers: { ...JSON_HEADERS, authorization: 'Bearer tok-abd' }, body: JSON.stringify(postSample()), status: 401, error: 'unauthorized', message: /bearer token/ },
      { name: 'a bearer token where basic is required', path: '/callbacks/basic', headers: { ...JSON_HEADERS, authorization: 'Bearer tok-abc' }, body: JSON.stringify(postSample()), status: 401, error: 'unauthorized', message: /basic credentials/ },
      ...['PATCH', 'OPTIONS'].map((method) => ({
        name: `${method} on a callback path`,
        method,
        headers: JSON_HEADERS,
        body: method === 'OPTIONS' ? undefined : JSON.stringify(postSample()),
        status: 405,
        error: 'method_not_allowed',
        message: new RegExp(`${method} is not a Kaleyra callback method`),
      })),
    ];

    it.each(cases)('refuses $name with $status $error, naming the problem', async (c) => {
      const h = harness();
      const res = await h.app.request(c.path ?? '/callbacks/default', { method: c.method ?? 'POST', headers: c.headers, body: c.body });
      expect(res.status).toBe(c.status);
      const body = (await res.json()) as { error: string; message: string; problems?: { field: string; problem: string }[] };
      expect(body.error).toBe(c.error);
      expect(body.message).toMatch(c.message);
      if (c.field) expect(body.problems?.[0]?.field).toBe(c.field);
      if (c.status === 405) expect(res.headers.get('allow')).toBe('GET, POST, PUT, DELETE');
      // No refusal leaves anything to deliver.
      expect(h.spool.operations.listDeliveries(null)).toEqual([]);
      if (c.status === 400) {
        const kept = h.spool.rejected.list({ limit: 1 })[0];
        const query = c.path ? new URL(c.path, 'http://x').search.slice(1) : '';
        const sent = c.method === 'GET' ? { body: '', query } : { body: c.body };
        expect(kept).toMatchObject({ status_code: 400, ...sent, profile: 'default', method: c.method ?? 'POST' });
        expect(kept!.reason).toMatch(c.message);
      }
    });

    it('stores nothing of a callback to an unknown profile: it is counted and noted, body-less', async () => {
      const h = harness({ adminToken: ADMIN_TOKEN });
      await h.app.request(`/callbacks/nope?${GET_SAMPLE_QUERY}`);
      const body = JSON.stringify(postSample());
      await h.app.request('/callbacks/nope2', { method: 'POST', headers: { ...JSON_HEADERS, 'content-length': String(body.length) }, body });
      expect(h.spool.rejected.list()).toEqual([]);
      expect(h.metrics.get('callbacks_rejected_total', { profile: '(unknown)', reason: 'unknown_profile' })).toBe(2);
      const seen = (await (await h.app.request('/admin/rejected', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as {
        refused_unstored: { profile: string; method: string; bytes: number | null; status: number }[];
      };
      expect(seen.refused_unstored).toMatchObject([
        { profile: 'nope2', method: 'POST', bytes: body.length, status: 404 },
        { profile: 'nope', method: 'GET', bytes: null, status: 404 },
      ]);
      expect(JSON.stringify(seen.refused_unstored)).not.toContain('Undelivered');
    });

    it('answers HEAD on a callback path with 405 and never ingests it', async () => {
      const h = harness();
      const res = await h.app.request(`/callbacks/default?${GET_SAMPLE_QUERY}`, { method: 'HEAD' });
      expect(h.spool.operations.listDeliveries(null)).toEqual([]);
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, POST, PUT, DELETE');
    });

    it('answers HEAD without a query with 405, not a validation error', async () => {
      const h = harness();
      const res = await h.app.request('/callbacks/default', { method: 'HEAD' });
      expect(res.status).toBe(405);
    });

    it('accepts each auth kind with the right credentials', async () => {
      const h = harness();
      const ok = [
        await postJson(h, postSample({ id: 'auth-1' }), 'keyed', { 'X-Api-Key': 'k-123' }),
        await postJson(h, postSample({ id: 'auth-2' }), 'basic', { authorization: `Basic ${Buffer.from('kaleyra:pa:ss').toString('base64')}` }),
        await postJson(h, postSample({ id: 'auth-3' }), 'bearer', { authorization: 'Bearer tok-abc' }),
        await h.app.request(`/callbacks/bearer?${GET_SAMPLE_QUERY}`, { headers: { authorization: 'bearer tok-abc' } }),
      ];
      expect(ok.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    });

    it('does not keep the payload of an unauthenticated request', async () => {
      const h = harness();
      await postJson(h, postSample(), 'keyed');
      expect(h.spool.rejected.list()).toEqual([]);
    });

    it('refuses a body over the limit with 413 when content-length says so', async () => {
      const h = harness({ maxBodyBytes: 1024 });
      const body = JSON.stringify(postSample({ description: 'x'.repeat(2000) }));
      const res = await h.app.request('/callbacks/default', {
        method: 'POST',
        headers: { ...JSON_HEADERS, 'content-length': String(Buffer.byteLength(body)) },
        body,
      });
      expect(res.status).toBe(413);
      expect(await res.json()).toMatchObject({ error: 'body_too_large', message: expect.stringContaining('1024 bytes') });
      expect(h.spool.operations.listDeliveries(null)).toEqual([]);
    });

    it('refuses a chunked body over the limit (no content-length) with 413', async () => {
      const h = harness({ maxBodyBytes: 1024 });
      const chunk = new TextEncoder().encode('x'.repeat(300));
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ < 10) controller.enqueue(chunk);
          else controller.close();
        },
      });
      const res = await h.app.request('/callbacks/default', { method: 'POST', headers: JSON_HEADERS, body: stream, duplex: 'half' } as RequestInit);
      expect(res.status).toBe(413);
      expect(await res.json()).toMatchObject({ error: 'body_too_large' });
    });

    it('accepts a chunked body under the limit', async () => {
      const h = harness({ maxBodyBytes: 4096 });
      const bytes = new TextEncoder().encode(JSON.stringify(postSample()));
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytes.subarray(0, 100));
          controller.enqueue(bytes.subarray(100));
          controller.close();
        },
      });
      const res = await h.app.request('/callbacks/default', { method: 'POST', headers: JSON_HEADERS, body: stream, duplex: 'half' } as RequestInit);
      expect(res.status).toBe(200);
    });

    it('still answers 400 (not 5xx) when the store cannot keep the rejected payload', async () => {
      const h = harness();
      makeStoreReadOnly(h.spool);
      const res = await postJson(h, { id: 'x' });
      expect(res.status).toBe(400);
    });

    it('never answers 5xx to random bodies, content-types, queries and profiles', async () => {
      const h = harness({ maxBodyBytes: 2048 });
      const rand = mulberry32(20240301);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
      const accepted: string[] = [];
      const statuses = new Set<number>();
      for (let i = 0; i < 300; i++) {
        const method = pick(['GET', 'POST', 'POST', 'POST']);
        const profile = pick(['default', 'default', 'default', 'keyed', 'nope', '%E0%A4%A', '__proto__', 'constructor']);
        const query = pick(['', `?${GET_SAMPLE_QUERY}`, `?${randomQuery(rand)}`, '?status=%ZZ&id=%', '?status&id', '?status=Sent&status=Delivered&id=1']);
        const headers: Record<string, string> = {};
        const ct = pick([null, 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', '*/*', ';;;']);
        if (ct) headers['content-type'] = ct;
        const body = method === 'POST' ? randomBody(rand) : undefined;
        const res = await h.app.request(`/callbacks/${profile}${query}`, { method, headers, body: body === undefined ? undefined : rawBytes(body) });
        statuses.add(res.status);
        expect(res.status, `${method} /callbacks/${profile}${query} [${ct}] ${body?.slice(0, 200)}`).toBeLessThan(500);
        if (res.status === 200) accepted.push(((await res.json()) as { event_id: string }).event_id);
      }
      // The loop exercised both sides: some accepted (and stored), some refused.
      expect(accepted.length).toBeGreaterThan(10);
      expect([...statuses].some((s) => s >= 400)).toBe(true);
      for (const id of accepted) expect(h.spool.operations.event(id)).not.toBeNull();
    });
  });

  it('answers a resent callback with 200, duplicate true and the first event id', async () => {
    const h = harness();
    const first = (await (await postJson(h, postSample())).json()) as { event_id: string };
    const res = await postJson(h, postSample());
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'accepted', event_id: first.event_id, duplicate: true, stale: false });
    expect(h.spool.operations.listDeliveries(null)).toHaveLength(2);
    expect(h.metrics.get('callbacks_duplicate_total', { profile: 'default' })).toBe(1);
  });

  it('flags a late Sent after Delivered as stale in its answer', async () => {
    const h = harness();
    await postJson(h, postSample({ id: 'a', status: 'Delivered' }));
    const res = await postJson(h, postSample({ id: 'b', status: 'Sent' }));
    expect(await res.json()).toMatchObject({ duplicate: false, stale: true });
  });

  describe('when the store cannot commit', () => {
    it('answers 503 with Retry-After so the sender retries, and /readyz turns 503', async () => {
      const h = harness();
      expect((await h.app.request('/readyz')).status).toBe(200);
      makeStoreReadOnly(h.spool);

      const res = await postJson(h, postSample());
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(await res.json()).toMatchObject({ error: 'unavailable' });

      const get = await h.app.request(`/callbacks/default?${GET_SAMPLE_QUERY}`);
      expect(get.status).toBe(503);

      const ready = await h.app.request('/readyz');
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: 'unavailable', store: expect.stringMatching(/^cannot commit/) });
      expect(h.metrics.total('callbacks_unavailable_total')).toBe(2);
    });
  });

  describe('operations endpoints', () => {
    it('answers /healthz and /readyz with 200, and /readyz 503 while not accepting', async () => {
      const h = harness();
      expect((await h.app.request('/healthz')).status).toBe(200);
      const ready = await h.app.request('/readyz');
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready', accepting: true, store: 'ok' });

      const closing = harness({ accepting: () => false });
      expect((await closing.app.request('/readyz')).status).toBe(503);
    });

    it('counts accepted callbacks at /metrics', async () => {
      const h = harness();
      await postJson(h, postSample());
      const res = await h.app.request('/metrics');
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toContain('kcr_callbacks_accepted_total{profile="default",status_class="undelivered"} 1');
    });

    it('answers an unknown path with 404 not_found', async () => {
      const h = harness();
      const res = await h.app.request('/nowhere');
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: 'not_found' });
    });
  });

  describe('admin API', () => {
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    function admin(h: Harness, path: string, body?: unknown): Promise<Response> {
      return Promise.resolve(
        h.app.request(`/admin${path}`, body === undefined ? { headers: auth } : { method: 'POST', headers: { ...auth, ...JSON_HEADERS }, body: typeof body === 'string' ? body : JSON.stringify(body) }),
      );
    }
    /** Accepts the POST sample and dead-letters its kafka:failures delivery. */
    async function withDeadLetter(h: Harness): Promise<{ eventId: string; deadId: number }> {
      const { event_id } = (await (await postJson(h, postSample())).json()) as { event_id: string };
      const [d] = h.spool.operations.listDeliveries('pending', { eventId: event_id, destination: 'kafka:failures' });
      h.spool.queue.markDead(d!.id, 'topic_not_found', 'produce failed');
      return { eventId: event_id, deadId: d!.id };
    }

    it('is off (404) when no admin token is configured', async () => {
      const h = harness();
      const res = await h.app.request('/admin/dead-letters', { headers: auth });
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: 'admin_disabled' });
    });

    it('refuses a wrong or missing token with 401', async () => {
      const h = harness({ adminToken: ADMIN_TOKEN });
      expect((await h.app.request('/admin/dead-letters', { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
      expect((await h.app.request('/admin/dead-letters')).status).toBe(401);
      expect((await h.app.request('/admin/replay', { method: 'POST', body: '{"all":true}' })).status).toBe(401);
    });

    it('lists dead letters', async () => {
      const h = harness({ adminToken: ADMIN_TOKEN });
      const { eventId, deadId } = await withDeadLetter(h);
      const res = await admin(h, '/dead-letters');
      expect(res.status).toBe(200);
      const { dead_letters } = (await res.json()) as { dead_letters: { id: number; event_id: string; last_code: string }[] };
      expect(dead_letters).toEqual([expect.objectContaining({ id: deadId, event_id: eventId, destination: 'kafka:failures', last_code: 'topic_not_found', state: 'dead' })]);
      const filtered = (await (await admin(h, '/dead-letters?code=http_500')).json()) as { dead_letters: unknown[] };
      expect(filtered.dead_letters).toEqual([]);
    });

    it.each(['/dead-letters?limit=abc', '/rejected?limit=abc'])('answers a non-numeric limit (%s) with a 4xx, not a 5xx', async (path) => {
      const h = harness({ adminToken: ADMIN_TOKEN });
      await withDeadLetter(h);
      const res = await admin(h, path);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    });

    it('replays dead letters by id', async () => {
      const h = harness({ adminToken: ADMIN_TOKEN });
      const { deadId } = await withDeadLetter(h);
      const res = await admin(h, '/replay', { ids: [deadId] });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ replayed: 1 });
      expect(h.spool.operations.listDeliveries(null, { ids: [deadId] })[0]).toMatchObject({ state: 'pending', attempts: 0 });
    });

    it.each([
      ['an empty filter', {}, /name what to replay/],
      ['an unknown field', { idz: [1] }, /idz|Unrecognized/i],
      ['ids that are not numbers', { ids: ['1'] }, /ids/],
      ['a body that is not JSON', '{ids:', /not valid JSON/],
    ])('refuses a replay with %s (400 invalid_filter)', async (_name, body, message) => {
      const h = harness({ adminToken: ADMIN_TOKEN });
      await withDeadLetter(h);
      const res = await admin(h, '/replay', body);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'invalid_filter', message: expect.stringMatching(message) });
      expect(h.spool.operations.listDeliveries('dead')).toHaveLength(1);
    });

    it('replays nothing when given an empty list of ids', async () => {
      const h = harness({ adminToken: ADMIN_TOKEN });
      await withDeadLetter(h);
      const res = await admin(h, '/replay', { ids: [] });
      expect(res.status).toBeLessThan(500);
      // An empty selection must not widen into "replay every dead letter".
      expect(h.spool.operations.listDeliveries('dead')).toHaveLength(1);
    });

    it('backfills a destination with stored events', async () => {
      const h = harness({ adminToken: ADMIN_TOKEN });
      const { eventId } = await withDeadLetter(h);
      const res = await admin(h, '/backfill', { destination: 'kafka:audit' });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ added: 1 });
      expect(h.spool.operations.listDeliveries('pending', { destination: 'kafka:audit' }).map((d) => d.event_id)).toEqual([eventId]);
      expect(await (await admin(h, '/backfill', { destination: 'kafka:audit' })).json()).toEqual({ added: 0 });
    });

    it('refuses a backfill to an undeclared destination, naming the declared ones', async () => {
      const h = harness({ adminToken: ADMIN_TOKEN });
      const res = await admin(h, '/backfill', { destination: 'kafka:nope' });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'invalid_filter', message: expect.stringContaining('kafka:audit') });
    });

    it('answers a backfill filter with ids or code with a 4xx or by applying it, never a 5xx', async () => {
      const h = harness({ adminToken: ADMIN_TOKEN });
      const { deadId } = await withDeadLetter(h);
      const withIds = await admin(h, '/backfill', { destination: 'kafka:audit', ids: [deadId] });
      expect([200, 400]).toContain(withIds.status);
      const withCode = await admin(h, '/backfill', { destination: 'kafka:audit', code: 'topic_not_found' });
      expect([200, 400]).toContain(withCode.status);
    });

    it('shows rejected payloads and destination counts', async () => {
      const h = harness({ adminToken: ADMIN_TOKEN });
      await postJson(h, { id: 'no-status' });
      await postJson(h, postSample());
      const rejected = (await (await admin(h, '/rejected')).json()) as { rejected: { body: string }[] };
      expect(rejected.rejected.map((r) => r.body)).toEqual(['{"id":"no-status"}']);
      const dests = (await (await admin(h, '/destinations')).json()) as { counts: unknown[] };
      expect(dests.counts).toEqual([
        { destination: 'kafka:events', state: 'pending', n: 1 },
        { destination: 'kafka:failures', state: 'pending', n: 1 },
      ]);
    });
  });
});


const WEIRD_VALUES: unknown[] = [
  '', ' ', null, 0, -1, 1e308, -0, 3.14, true, false, [], {}, [1, [2]], { nested: { deep: 'x' } },
  '\u0000', '\ud800', '😀', 'x'.repeat(500), '9999-99-99 99:99:99', '1970-01-01 00:00:00+99:99', '0000-01-01 00:00:00',
  '99999999999999', '1649148950', '+919620838123', '00919620838123', 'XXXX', 'Not Sent', 'NO-DLR-OPTR', 'DELIVRD', '%', '&=&=',
];
const FIELDS = ['status', 'id', 'message_id', 'status_time', 'sent_time', 'recipient', 'iso_code', 'price', 'flash', 'total', 'length', 'units', 'type', 'status_trace', '__proto__', 'constructor', 'toString'];

function randomBody(rand: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  switch (Math.floor(rand() * 7)) {
    case 0: {
      // The sample with some fields set to odd values or removed.
      const fields = postSample({ id: `fuzz-${Math.floor(rand() * 1e9)}` });
      for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) {
        const f = pick(FIELDS);
        if (rand() < 0.2) delete fields[f];
        else fields[f] = pick(WEIRD_VALUES);
      }
      return JSON.stringify(fields);
    }
    case 1:
      return randomQuery(rand);
    case 2:
      return JSON.stringify(pick(WEIRD_VALUES));
    case 3: {
      const len = Math.floor(rand() * 200);
      let s = '';
      for (let i = 0; i < len; i++) s += String.fromCharCode(Math.floor(rand() * 0x3000));
      return s;
    }
    case 4:
      return `{"status":"Delivered","id":"${'['.repeat(Math.floor(rand() * 3))}`;
    case 5:
      return '\ufeff' + JSON.stringify(postSample({ id: `bom-${Math.floor(rand() * 1e9)}` }));
    default:
      return JSON.stringify(postSample({ description: 'y'.repeat(Math.floor(rand() * 4000)), id: `big-${Math.floor(rand() * 1e9)}` }));
  }
}

/** encodeURIComponent, but a lone surrogate (which it refuses) goes through raw. */
function encodeLoosely(v: string): string {
  try {
    return encodeURIComponent(v);
  } catch {
    return v;
  }
}

function randomQuery(rand: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const parts: string[] = [];
  for (let i = 0; i < Math.floor(rand() * 8); i++) {
    const v = pick(WEIRD_VALUES);
    parts.push(`${pick(FIELDS)}=${typeof v === 'string' && rand() < 0.5 ? v : encodeLoosely(String(v))}`);
  }
  if (rand() < 0.7) parts.push(`status=${pick(['Delivered', 'Sent', 'Not%20Sent', 'weird', ''])}`, `id=q-${Math.floor(rand() * 1e9)}`);
  return parts.join('&');
}
