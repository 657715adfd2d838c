/**
 * What a Kaleyra callback profile can be set to (method, body type, body template, advanced
 * authentication, encryption), served over the app, and hostile callbacks beside honest ones.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encryptValue, type EncryptionConfig } from '../ingest/decrypt.js';
import { silentLogger } from '../log.js';
import { Metrics } from '../metrics.js';
import { compileRoutes, type CompiledConfig } from '../route/compile.js';
import type { RoutesConfig } from '../route/define-routes.js';
import { matchRoutes } from '../route/match.js';
import { Spool } from '../spool/spool.js';
import { GET_SAMPLE_QUERY, postSample } from '../testing/samples.js';
import { createApp } from './app.js';

const ADMIN_TOKEN = 'admin-token-for-profile-tests';
const SIGNING_KEY = 'profile-tests-signing-key-32-bytes-long';
const KEY_256 = 'kaleyra-profile-test-key-32bytes';
const JSON_HEADERS = { 'content-type': 'application/json' };

const routes: RoutesConfig = {
  profiles: {
    default: {},
    getonly: { methods: ['GET'] },
    template: { fieldMap: { message_id: 'msgid', status: 'data.st', status_time: 'data.ts', id: 'req' } },
    tokened: { tokenAuth: { issue: { clientId: 'kaleyra', clientSecret: 'client-s3cret', signingKey: SIGNING_KEY, ttlSeconds: 60 } } },
    other: { tokenAuth: { issue: { clientId: 'kaleyra', clientSecret: 'client-s3cret', signingKey: SIGNING_KEY } } },
    sealed: { encryption: { algorithm: 'aes-256-gcm', key: KEY_256 } },
  },
  kafka: { topics: { events: 'kaleyra.sms.events', otp: 'kaleyra.sms.otp' } },
  rules: [
    { name: 'otp', match: { route_type: '*OTP*' }, to: ['kafka:otp'] },
    { name: 'every-report', to: ['kafka:events'] },
  ],
};

describe('callback profiles over HTTP', () => {
  let dir: string;
  let spool: Spool;
  let metrics: Metrics;
  let config: CompiledConfig;
  let app: ReturnType<typeof createApp>;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kcr-profiles-'));
    config = compileRoutes(routes, 'profile tests');
    spool = new Spool({ path: join(dir, 'spool.db'), plan: (e) => matchRoutes(e, config.table) });
    metrics = new Metrics();
    app = createApp({ config, spool, logger: silentLogger, metrics, adminToken: ADMIN_TOKEN });
  });
  afterEach(() => {
    spool.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function accepted(res: Response | Promise<Response>): Promise<{ event_id: string; duplicate: boolean }> {
    const r = await res;
    const body = (await r.json()) as { event_id: string; duplicate: boolean; message?: string };
    expect(r.status, body.message).toBe(200);
    return body;
  }
  const eventOf = async (res: Response | Promise<Response>) => spool.operations.event((await accepted(res)).event_id)!;
  const admin = (path: string, body?: unknown) =>
    app.request(`/admin${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...JSON_HEADERS },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  describe('event ids made from the report', () => {
    it('two routers given the same callback make the same event id (the webhook-id), and a resend past the window is still the same event', async () => {
      const other = new Spool({ path: join(dir, 'other.db'), dedupeWindowMs: 1, plan: (e) => matchRoutes(e, config.table) });
      const replica = createApp({ config, spool: other, logger: silentLogger, metrics: new Metrics() });
      const body = JSON.stringify(postSample({ message_id: 'same:1' }));
      const send = (a: typeof app) => a.request('/callbacks/default', { method: 'POST', headers: JSON_HEADERS, body });
      const here = await accepted(send(app));
      const there = await accepted(send(replica));
      expect(there.event_id).toBe(here.event_id);
      await new Promise((r) => setTimeout(r, 5));
      // Past the 1 ms window: the event is still kept, so it is still a resend, with the same id.
      expect(await accepted(send(replica))).toMatchObject({ duplicate: true, event_id: there.event_id });
      expect(other.operations.listDeliveries('pending')).toHaveLength(1);
      other.close();
    });
  });

  describe('methods', () => {
    it('takes PUT with a JSON body and DELETE with the query string, like POST and GET', async () => {
      const put = await eventOf(app.request('/callbacks/default', { method: 'PUT', headers: JSON_HEADERS, body: JSON.stringify(postSample({ message_id: 'm-put:1' })) }));
      const del = await eventOf(app.request(`/callbacks/default?${GET_SAMPLE_QUERY}`, { method: 'DELETE' }));
      expect(put).toMatchObject({ message_id: 'm-put:1', status: 'Undelivered' });
      expect(del).toMatchObject({ status: 'Not Sent', raw_query: GET_SAMPLE_QUERY });
    });

    it('answers 405 with the profile\'s own Allow to a method the profile does not use, keeping the payload', async () => {
      const res = await app.request('/callbacks/getonly', { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(postSample()) });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('GET');
      expect(spool.rejected.list()[0]).toMatchObject({ profile: 'getonly', status_code: 405, method: 'POST' });
      expect((await app.request(`/callbacks/getonly?${GET_SAMPLE_QUERY}`)).status).toBe(200);
    });
  });

  describe('bodies', () => {
    it("reads the provider's sample as XML under any root element, entities decoded", async () => {
      const fields = postSample({ description: 'Tom & Jerry <3' });
      const xml = `<?xml version="1.0"?><DeliveryReport>${Object.entries(fields)
        .map(([k, v]) => `<${k}>${String(v).replaceAll('&', '&amp;').replaceAll('<', '&lt;')}</${k}>`)
        .join('')}</DeliveryReport>`;
      const event = await eventOf(app.request('/callbacks/default', { method: 'POST', headers: { 'content-type': 'application/xml' }, body: xml }));
      expect(event).toMatchObject({ status: 'Undelivered', message_id: fields.message_id, description: 'Tom & Jerry <3', price: '0.001354', length: 5 });
    });

    it('refuses an XML body with a DOCTYPE (an entity bomb) with 400, and keeps it for operators', async () => {
      const bomb = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]><r><status>&b;</status><id>1</id></r>';
      const res = await app.request('/callbacks/default', { method: 'POST', headers: { 'content-type': 'text/xml' }, body: bomb });
      expect(res.status).toBe(400);
      expect(spool.rejected.list()[0]).toMatchObject({ status_code: 400, body: bomb });
    });

    it('reads a text body of key=value lines, a "+" kept as sent', async () => {
      const text = 'status=Delivered\r\nmessage_id=m-text:1\nid=req-text\nstatus_time=2022-04-05 08:55:50+05:30\n';
      const event = await eventOf(app.request('/callbacks/default', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: text }));
      expect(event).toMatchObject({ status: 'Delivered', message_id: 'm-text:1', request_id: 'req-text', status_time: '2022-04-05T03:25:50.000Z' });
    });

    it('maps a custom body template onto the standard fields with the profile\'s field map, keeping the body as raw', async () => {
      const body = { msgid: 'tpl-1:3', req: 'req-tpl', data: { st: 'DELIVRD', ts: '2022-04-05 08:55:50+00:00' }, to: '919620838123' };
      const event = await eventOf(app.request('/callbacks/template', { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(body) }));
      expect(event).toMatchObject({ message_id: 'tpl-1:3', message_index: 3, request_id: 'req-tpl', status: 'DELIVRD', status_class: 'delivered', raw: body });
    });
  });

  it('keeps fields named like built-in object properties, in GET, JSON and XML alike', async () => {
    const get = await eventOf(app.request('/callbacks/default?status=Delivered&id=p-1&constructor=c&toString=t&__proto__=x'));
    expect(Object.entries(get.raw)).toEqual(expect.arrayContaining([['constructor', 'c'], ['toString', 't'], ['__proto__', 'x']]));
    const post = await eventOf(app.request('/callbacks/default', { method: 'POST', headers: JSON_HEADERS, body: '{"status":"Delivered","id":"p-2","constructor":"c","hasOwnProperty":"h"}' }));
    expect(post.raw).toMatchObject({ constructor: 'c', hasOwnProperty: 'h' });
    const xml = await eventOf(app.request('/callbacks/default', { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<r><status>Delivered</status><id>p-3</id><toString>t</toString></r>' }));
    expect(Object.entries(xml.raw)).toContainEqual(['toString', 't']);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  describe('advanced authentication', () => {
    async function token(profile = 'tokened', secret = 'client-s3cret'): Promise<Response> {
      return app.request(`/callbacks/${profile}/token`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ client_id: 'kaleyra', client_secret: secret }) });
    }

    it('issues a token in the provider\'s shape and accepts callbacks bearing it', async () => {
      const res = await token();
      expect(res.status).toBe(200);
      const t = (await res.json()) as Record<string, string>;
      expect(t).toMatchObject({ token_type: 'Bearer', expires_in: '60', resource: 'tokened', access_token: expect.any(String) });
      const event = await eventOf(postWith('tokened', `Bearer ${t.access_token}`));
      expect(event.profile).toBe('tokened');
    });

    function postWith(profile: string, authorization?: string): Promise<Response> {
      return Promise.resolve(
        app.request(`/callbacks/${profile}`, {
          method: 'POST',
          headers: { ...JSON_HEADERS, ...(authorization ? { authorization } : {}) },
          body: JSON.stringify(postSample()),
        }),
      );
    }

    it('refuses wrong client credentials with 401, counted and not stored', async () => {
      const res = await token('tokened', 'wrong');
      expect(res.status).toBe(401);
      expect(metrics.get('token_requests_refused_total', { profile: 'tokened' })).toBe(1);
      expect(spool.rejected.list()).toEqual([]);
    });

    it('refuses callbacks with no token, a forged one, or one issued for another profile; none is stored', async () => {
      const forged = await new SignJWT({ sub: 'kaleyra' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('kaleyra-callback-router')
        .setAudience('tokened')
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode('another-key-that-is-32-bytes-long!!'));
      const foreign = ((await (await token('other')).json()) as { access_token: string }).access_token;
      const answers = await Promise.all([postWith('tokened'), postWith('tokened', `Bearer ${forged}`), postWith('tokened', `Bearer ${foreign}`)]);
      expect(answers.map((r) => r.status)).toEqual([401, 401, 401]);
      const messages = await Promise.all(answers.map(async (r) => ((await r.json()) as { message: string }).message));
      expect(messages).toEqual([
        expect.stringContaining('bearer token is missing'),
        expect.stringContaining('signature is invalid'),
        expect.stringContaining('another profile'),
      ]);
      expect(spool.rejected.list()).toEqual([]);
      expect(spool.operations.listDeliveries(null)).toEqual([]);
    });

    it('the token endpoint of a profile without token auth is 404', async () => {
      expect((await token('default')).status).toBe(404);
    });
  });

  describe('encrypted values', () => {
    const cfg: EncryptionConfig = { algorithm: 'aes-256-gcm', key: KEY_256 };
    const sealed = (fields: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, typeof v === 'string' && v !== '' ? encryptValue(cfg, v) : v]));

    it('decrypts every value before validation', async () => {
      const event = await eventOf(app.request('/callbacks/sealed', { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(sealed(postSample())) }));
      expect(event).toMatchObject({ status: 'Undelivered', message_id: 'ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1', recipient: '919620838XXX' });
      expect(event.raw).toEqual(postSample());
    });

    it('decrypts a GET whose base64 "+" became a space in the query string', async () => {
      // IV 12 bytes, ciphertext, 16-byte tag: built here with Node's crypto, not the module.
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', Buffer.from(KEY_256), iv);
      const enc = (v: string) => Buffer.concat([iv, c.update(v, 'utf8'), c.final(), c.getAuthTag()]).toString('base64');
      const status = enc('Delivered');
      const query = `status=${status.replaceAll('+', ' ')}&id=${encryptValue(cfg, 'req-get')}`.replaceAll(' ', '+');
      const event = await eventOf(app.request(`/callbacks/sealed?${query}`));
      expect(event).toMatchObject({ status: 'Delivered', request_id: 'req-get' });
    });

    it('refuses a value that does not decrypt with 400 undecryptable, and keeps it for re-ingest', async () => {
      const wrong: EncryptionConfig = { algorithm: 'aes-256-gcm', key: 'x'.repeat(32) };
      const body = JSON.stringify({ status: encryptValue(wrong, 'Delivered'), id: encryptValue(cfg, 'req-1') });
      const res = await app.request('/callbacks/sealed', { method: 'POST', headers: JSON_HEADERS, body });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'undecryptable', problems: [{ field: 'status', problem: expect.stringContaining('does not decrypt') }] });
      expect(spool.rejected.list()[0]).toMatchObject({ profile: 'sealed', status_code: 400, body });
    });
  });

  describe('re-ingesting refused payloads', () => {
    it('re-ingests what a fixed config now reads, once, and leaves what it still cannot', async () => {
      // Refused under a config whose field map was missing: no status at the top level.
      const templated = JSON.stringify({ msgid: 'fix-1:1', req: 'req-fix', data: { st: 'Delivered', ts: '2022-04-05 08:55:50+00:00' } });
      spool.rejected.record({ profile: 'template', statusCode: 400, reason: 'status: is missing', contentType: 'application/json', body: templated, method: 'POST', query: '' });
      spool.rejected.record({ profile: 'default', statusCode: 400, reason: 'status: is missing', contentType: null, body: '', method: 'GET', query: 'id=still-bad' });

      const res = await admin('/rejected/replay', { all: true });
      expect(res.status).toBe(200);
      const summary = (await res.json()) as { considered: number; accepted: number; refused: { error: string }[] };
      expect(summary).toMatchObject({ considered: 2, accepted: 1, refused: [{ error: 'invalid_callback' }] });
      const [replayed] = spool.rejected.list({ profile: 'template' });
      expect(spool.operations.event(replayed!.replayed_event_id!)).toMatchObject({ message_id: 'fix-1:1', status: 'Delivered', profile: 'template' });

      // Once accepted, it is not taken again.
      expect(await (await admin('/rejected/replay', { all: true })).json()).toMatchObject({ considered: 1, accepted: 0 });
    });

    it('needs a filter or all: true', async () => {
      expect((await admin('/rejected/replay', {})).status).toBe(400);
    });
  });

  describe('no callback can hurt another', () => {
    it('a body nested 10,000 deep gets its own 400; the 40 honest callbacks committed beside it are accepted', async () => {
      const deep = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
      const honest = Array.from({ length: 40 }, (_, i) =>
        app.request('/callbacks/default', { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(postSample({ message_id: `deep-${i}:1` })) }),
      );
      const hostile = app.request('/callbacks/default', { method: 'POST', headers: JSON_HEADERS, body: deep });
      const [bad, ...good] = await Promise.all([hostile, ...honest]);
      expect(bad!.status).toBe(400);
      expect(await bad!.json()).toMatchObject({ error: 'invalid_body', message: expect.stringContaining('deep') });
      expect(good.map((r) => r.status)).toEqual(Array(40).fill(200));
      expect(spool.operations.listDeliveries('pending', { destination: 'kafka:events', limit: 100 })).toHaveLength(40);
    });

    it('a 240 KB type against a *OTP* rule is refused by its length; honest OTP callbacks route', async () => {
      const huge = app.request('/callbacks/default', { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(postSample({ type: `${'x'.repeat(240_000)}OTP` })) });
      const honest = app.request('/callbacks/default', { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(postSample({ type: 'OTP', message_id: 'otp-1:1' })) });
      const [bad, good] = await Promise.all([huge, honest]);
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ error: 'invalid_callback', problems: [{ field: 'type' }] });
      expect(good.status).toBe(200);
      expect(spool.operations.listDeliveries('pending', { destination: 'kafka:otp' })).toHaveLength(1);
    });

    it('an event that cannot be stored fails alone in its group commit', async () => {
      // A planner that throws for one event stands in for any per-event storage failure.
      const local = new Spool({ path: join(dir, 'isolation.db'), plan: (e) => {
        if (e.message_id === 'poison:1') throw new Error('cannot plan this one');
        return matchRoutes(e, config.table);
      } });
      const isolated = createApp({ config, spool: local, logger: silentLogger, metrics: new Metrics() });
      const send = (id: string) => isolated.request('/callbacks/default', { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(postSample({ message_id: id })) });
      const answers = await Promise.all(['ok-1:1', 'poison:1', 'ok-2:1', 'ok-3:1'].map(send));
      expect(answers.map((r) => r.status)).toEqual([200, 503, 200, 200]);
      expect(local.operations.listDeliveries('pending', { destination: 'kafka:events' })).toHaveLength(3);
      local.close();
    });
  });
});
