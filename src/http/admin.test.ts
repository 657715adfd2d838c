import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import { Metrics } from '../metrics.js';
import { compileRoutes } from '../route/compile.js';
import { matchRoutes } from '../route/match.js';
import { Spool } from '../spool/spool.js';
import { postSample } from '../testing/samples.js';
import { createApp } from './app.js';
import { MAX_ADMIN_BODY_BYTES } from './admin.js';

const config = compileRoutes(
  {
    profiles: { default: {} },
    kafka: { topics: { events: 'kaleyra.sms.events', failures: 'kaleyra.sms.failures', audit: 'kaleyra.sms.audit' } },
    webhooks: { crm: { url: 'https://crm.example/sms' } },
    rules: [
      { name: 'every-report', match: { status: '*' }, to: ['kafka:events'] },
      { name: 'failures', match: { status: ['undelivered', 'failed', 'rejected'] }, to: ['kafka:failures'] },
    ],
  },
  'admin test config',
);

const ADMIN_TOKEN = 'admin-token-for-tests';
const JSON_HEADERS = { 'content-type': 'application/json' };

interface Harness {
  app: ReturnType<typeof createApp>;
  spool: Spool;
  /** GET (no body) or POST (a body, sent as is when a string) to /admin with the token. */
  admin(path: string, body?: unknown): Promise<Response>;
}

const spools: Spool[] = [];
afterEach(() => {
  for (const s of spools.splice(0)) s.close();
});

function harness(adminToken: string = ADMIN_TOKEN): Harness {
  const spool = new Spool({ path: ':memory:', plan: (e) => matchRoutes(e, config.table) });
  spools.push(spool);
  const app = createApp({ config, spool, logger: silentLogger, metrics: new Metrics(), adminToken });
  const auth = { authorization: `Bearer ${adminToken}` };
  return {
    app,
    spool,
    admin: (path, body) =>
      Promise.resolve(
        app.request(
          `/admin${path}`,
          body === undefined ? { headers: auth } : { method: 'POST', headers: { ...auth, ...JSON_HEADERS }, body: typeof body === 'string' ? body : JSON.stringify(body) },
        ),
      ),
  };
}

let messages = 0;

/** Accepts the provider's POST sample (for a new message each time) and dead-letters its kafka:failures delivery. */
async function withDeadLetter(h: Harness): Promise<{ eventId: string; deadId: number }> {
  const sample = postSample({ message_id: `ebcccXXf-6311-4c52-b23d-afeXXX5fc336:${++messages}` });
  const res = await h.app.request('/callbacks/default', { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(sample) });
  const { event_id } = (await res.json()) as { event_id: string };
  const [d] = h.spool.operations.listDeliveries('pending', { eventId: event_id, destination: 'kafka:failures' });
  h.spool.queue.markDead(d!.id, 'topic_not_found', 'produce failed');
  return { eventId: event_id, deadId: d!.id };
}

async function expectError(res: Response, status: number, error: string, message: RegExp): Promise<void> {
  expect(res.status).toBe(status);
  expect(await res.json()).toMatchObject({ error, message: expect.stringMatching(message) });
}

describe('admin API: the bearer token', () => {
  it.each([
    ['a space and a quote', 'abc def"ghi!jklmnop'],
    ['base64 characters', 'a+b/c=d~e+f/g=h~i+j/k=='],
    ['backslash, comma and semicolon', 'x\\y,z;w:v@u%t{s}r[q]'],
    ['only the 16 characters the settings require', '0123456789abcdef'],
  ])('admits a token with %s', async (_what, token) => {
    const h = harness(token);
    expect((await h.admin('/dead-letters')).status).toBe(200);
  });

  it('admits a token with characters beyond latin1, sent as UTF-8 bytes (as Node hands them over)', async () => {
    const token = 'tøken-ünïcødé-✓-日本語-🔑';
    const h = harness(token);
    const asSent = Buffer.from(token, 'utf8').toString('latin1');
    const res = await h.app.request('/admin/dead-letters', { headers: { authorization: `Bearer ${asSent}` } });
    expect(res.status).toBe(200);
  });

  it('admits a unicode token over a real HTTP connection', async () => {
    const token = 'clé secrète «admin» ✓ 🔑 +/=';
    const h = harness(token);
    const server = serve({ fetch: h.app.fetch, port: 0, hostname: '127.0.0.1' });
    try {
      await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve())));
      const { port } = server.address() as AddressInfo;
      const status = (authorization: string) =>
        new Promise<number>((resolve, reject) => {
          const req = httpRequest({ host: '127.0.0.1', port, path: '/admin/dead-letters', headers: { authorization } }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject).end();
        });
      // Node's client writes a header string as latin1 bytes: this sends the token's UTF-8 bytes.
      expect(await status(`Bearer ${Buffer.from(token, 'utf8').toString('latin1')}`)).toBe(200);
      expect(await status(`Bearer ${Buffer.from(`${token}x`, 'utf8').toString('latin1')}`)).toBe(401);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('takes the scheme in any case and ignores whitespace around the token', async () => {
    const h = harness(' spaced token with inner  spaces ');
    for (const authorization of ['bearer spaced token with inner  spaces', 'BEARER   spaced token with inner  spaces  ']) {
      expect((await h.app.request('/admin/dead-letters', { headers: { authorization } })).status).toBe(200);
    }
  });

  it.each<[string, Record<string, string>]>([
    ['no Authorization header', {}],
    ['a wrong token of the same length', { authorization: `Bearer ${'x'.repeat(ADMIN_TOKEN.length)}` }],
    ['a longer token that starts with the right one', { authorization: `Bearer ${ADMIN_TOKEN}x` }],
    ['a prefix of the token', { authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}` }],
    ['the scheme alone', { authorization: 'Bearer' }],
    ['an empty token', { authorization: 'Bearer ' }],
    ['the token without a scheme', { authorization: ADMIN_TOKEN }],
    ['the Basic scheme', { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` }],
  ])('refuses %s with 401 and a WWW-Authenticate challenge', async (_what, headers) => {
    const h = harness();
    const res = await h.app.request('/admin/dead-letters', { headers });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="admin"');
    expect(await res.json()).toMatchObject({ error: 'unauthorized' });
  });

  it('checks the token before reading a body', async () => {
    const h = harness();
    const res = await h.app.request('/admin/replay', { method: 'POST', headers: JSON_HEADERS, body: 'x'.repeat(MAX_ADMIN_BODY_BYTES + 1) });
    expect(res.status).toBe(401);
  });
});

describe('admin API: query parameters', () => {
  it.each(['/dead-letters', '/rejected'])('%s takes a limit from 1 to 1000', async (path) => {
    const h = harness();
    for (const limit of ['1', '1000', '0050']) expect((await h.admin(`${path}?limit=${limit}`)).status).toBe(200);
  });

  it.each(['1e20', '-1', '1.5', 'abc', '0', '1001', '', ' 5', '0x10', '99999999999999999999'])('refuses limit=%j with 400 naming the field', async (limit) => {
    const h = harness();
    await withDeadLetter(h);
    for (const path of ['/dead-letters', '/rejected']) {
      await expectError(await h.admin(`${path}?limit=${encodeURIComponent(limit)}`), 400, 'invalid_filter', /^limit: must be a whole number from 1 to 1000/);
    }
  });

  it('limits the dead letters listed', async () => {
    const h = harness();
    await withDeadLetter(h);
    await withDeadLetter(h);
    const res = await h.admin('/dead-letters?limit=1');
    expect(((await res.json()) as { dead_letters: unknown[] }).dead_letters).toHaveLength(1);
  });

  it.each([
    ['an unknown parameter', '/dead-letters?destinaton=kafka:events', /destinaton/],
    ['an over-long destination', `/dead-letters?destination=${'d'.repeat(513)}`, /^destination: must be at most 512 characters/],
    ['an empty code', '/dead-letters?code=', /^code: must not be empty/],
    ['a parameter /rejected does not take', '/rejected?code=x', /code/],
  ])('refuses %s with 400', async (_what, path, message) => {
    await expectError(await harness().admin(path), 400, 'invalid_filter', message);
  });
});

describe('admin API: replay', () => {
  it('replays up to 1,000 ids in one request', async () => {
    const h = harness();
    const { deadId } = await withDeadLetter(h);
    const ids = [deadId, ...Array.from({ length: 999 }, (_, i) => 100_000 + i)];
    const res = await h.admin('/replay', { ids });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ replayed: 1 });
  });

  it('refuses 40,000 ids with 400 saying the limit, and replays none', async () => {
    const h = harness();
    const { deadId } = await withDeadLetter(h);
    const res = await h.admin('/replay', { ids: [deadId, ...Array.from({ length: 39_999 }, (_, i) => i + 1_000)] });
    await expectError(res, 400, 'invalid_filter', /^ids: at most 1000 ids per request/);
    expect(h.spool.operations.listDeliveries('dead')).toHaveLength(1);
  });

  it.each<[string, unknown, RegExp]>([
    ['a limit of 1e20', { all: true, limit: 1e20 }, /^limit: must be a whole number from 1 to 1000/],
    ['a limit of -1', { all: true, limit: -1 }, /^limit: /],
    ['a limit of 1.5', { all: true, limit: 1.5 }, /^limit: /],
    ['a limit of "abc"', { all: true, limit: 'abc' }, /^limit: /],
    ['a limit of 1001', { all: true, limit: 1001 }, /^limit: /],
    ['an id of 0', { ids: [0] }, /^ids\.0: must be positive/],
    ['a negative id', { ids: [1, -3] }, /^ids\.1: must be positive/],
    ['a fractional id', { ids: [1.5] }, /^ids\.0: must be a whole number/],
    ['an id beyond the safe integers', { ids: [2 ** 53] }, /^ids\.0: /],
    ['ids that are not a list', { ids: 7 }, /^ids: must be a list/],
    ['a since that is not a date-time', { since: 'yesterday' }, /^since: must be an ISO 8601 date-time/],
    ['an until that is only a date', { until: '2024-01-31' }, /^until: must be an ISO 8601 date-time/],
    ['an over-long event_id', { event_id: 'e'.repeat(513) }, /^event_id: must be at most 512 characters/],
    // An empty string used to mean "no condition", widening the replay to every dead letter.
    ['an empty destination', { destination: '' }, /^destination: must not be empty/],
    ['an empty code', { code: '' }, /^code: must not be empty/],
    ['a state other than dead or done', { all: true, state: 'pending' }, /^state: /],
    ['a body that is a list', [1, 2], /^\(body\): /],
    ['a body that is not JSON', '{ids:', /^the body is not valid JSON$/],
    ['a body that is only a string', '"all"', /^\(body\): /],
  ])('refuses %s with 400, replaying nothing', async (_what, body, message) => {
    const h = harness();
    await withDeadLetter(h);
    await expectError(await h.admin('/replay', body), 400, 'invalid_filter', message);
    expect(h.spool.operations.listDeliveries('dead')).toHaveLength(1);
  });

  it('keeps the message short when a body has many problems', async () => {
    const h = harness();
    const res = await h.admin('/replay', { ids: Array.from({ length: 900 }, () => 'x'.repeat(100)) });
    const { message } = (await res.json()) as { message: string };
    expect(res.status).toBe(400);
    expect(message).toMatch(/and 895 more$/);
    expect(message.length).toBeLessThan(1_500);
  });

  it('takes since and until with a zone offset', async () => {
    const h = harness();
    await withDeadLetter(h);
    const res = await h.admin('/replay', { since: '2000-01-01T00:00:00+05:30', until: '2999-01-01T00:00:00Z' });
    expect(await res.json()).toEqual({ replayed: 1 });
  });

  it(`refuses a body over ${MAX_ADMIN_BODY_BYTES} bytes with 413, declared or not`, async () => {
    const h = harness();
    await withDeadLetter(h);
    const big = JSON.stringify({ all: true, code: 'x'.repeat(MAX_ADMIN_BODY_BYTES) });
    await expectError(await h.admin('/replay', big), 413, 'body_too_large', /over the limit of 1048576 bytes/);
    const declared = await h.app.request('/admin/replay', {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-length': String(MAX_ADMIN_BODY_BYTES + 1) },
      body: '{"all":true}',
    });
    expect(declared.status).toBe(413);
    expect(h.spool.operations.listDeliveries('dead')).toHaveLength(1);
  });

  it('treats an empty body as an empty filter: it asks what to replay', async () => {
    await expectError(await harness().admin('/replay', ''), 400, 'invalid_filter', /name what to replay/);
  });
});

describe('admin API: backfill', () => {
  it('refuses fields that select deliveries, saying what it takes', async () => {
    const h = harness();
    const { deadId } = await withDeadLetter(h);
    await expectError(await h.admin('/backfill', { destination: 'kafka:audit', ids: [deadId] }), 400, 'invalid_filter', /backfill selects events: use event_id.*\(not ids\)/);
  });

  it.each<[string, unknown, RegExp]>([
    ['no destination', {}, /^destination: /],
    ['a limit of 1e20', { destination: 'kafka:audit', limit: 1e20 }, /^limit: /],
    ['a bad since', { destination: 'kafka:audit', since: 'now' }, /^since: /],
  ])('refuses %s with 400', async (_what, body, message) => {
    const h = harness();
    await withDeadLetter(h);
    await expectError(await h.admin('/backfill', body), 400, 'invalid_filter', message);
    expect(h.spool.operations.listDeliveries('pending', { destination: 'kafka:audit' })).toEqual([]);
  });

  it('backfills within a limit', async () => {
    const h = harness();
    await withDeadLetter(h);
    await withDeadLetter(h);
    expect(await (await h.admin('/backfill', { destination: 'kafka:audit', limit: 1 })).json()).toEqual({ added: 1 });
  });
});

describe('admin API: enabling a destination', () => {
  it('re-enables a disabled destination', async () => {
    const h = harness();
    h.spool.queue.disableDestination('webhook:crm', 'POST https://crm.example/sms answered 410 (Gone)');
    const res = await h.admin('/destinations/webhook:crm/enable', {});
    expect(await res.json()).toEqual({ enabled: true });
    expect(h.spool.queue.disabledDestinations().size).toBe(0);
  });

  it('answers enabled: false for a configured destination that was not disabled', async () => {
    expect(await (await harness().admin('/destinations/kafka:events/enable', {})).json()).toEqual({ enabled: false });
  });

  it('answers 404 for a destination the config does not name', async () => {
    await expectError(await harness().admin('/destinations/webhook:nope/enable', {}), 404, 'unknown_destination', /webhook:nope.*kafka:events/);
  });

  it('still clears one that was disabled and has since left the config', async () => {
    const h = harness();
    h.spool.queue.disableDestination('webhook:old', 'gone');
    expect(await (await h.admin('/destinations/webhook:old/enable', {})).json()).toEqual({ enabled: true });
  });

  it('refuses an over-long ref with 400', async () => {
    await expectError(await harness().admin(`/destinations/${'r'.repeat(513)}/enable`, {}), 400, 'invalid_filter', /^ref: must be at most 512/);
  });
});
