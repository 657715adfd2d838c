import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../http/app.js';
import { silentLogger } from '../log.js';
import { Metrics } from '../metrics.js';
import { compileRoutes, type CompiledConfig } from '../route/compile.js';
import { LiveConfig } from '../route/live-config.js';
import { matchRoutes } from '../route/match.js';
import { Spool } from '../spool/spool.js';
import { postSample } from '../testing/samples.js';
import type { OverviewFigures } from './pages/overview-figures.js';

const ADMIN_TOKEN = 'console-admin-token-for-tests';
// Credentials the Config page must name but never show.
const SECRETS = {
  webhookSecret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  urlToken: 'URL-TOKEN-d41d8cd98f',
  webhookHeader: 'WEBHOOK-HEADER-SECRET-1a2b',
  password: 'PROFILE-PASSWORD-3c4d',
  bearer: 'PROFILE-BEARER-5e6f',
  profileHeader: 'PROFILE-HEADER-SECRET-7a8b',
  alertSecret: 'ALERT-SECRET-9c0d',
  alertToken: 'ALERT-URL-TOKEN-e1f2',
};

const config = compileRoutes(
  {
    profiles: {
      default: {},
      secured: { basicAuth: { username: 'kaleyra', password: SECRETS.password }, headers: { 'x-api-key': SECRETS.profileHeader } },
      bearer: { bearerToken: SECRETS.bearer, finalAfter: '30m' },
    },
    kafka: { topics: { events: 'kaleyra.sms.events' } },
    webhooks: {
      crm: {
        url: `https://hooks:${SECRETS.password}@crm.example/sms?token=${SECRETS.urlToken}`,
        secret: SECRETS.webhookSecret,
        headers: { authorization: `Bearer ${SECRETS.webhookHeader}` },
        rateLimit: { perSecond: 20 },
      },
    },
    rules: [
      { name: 'every-report', to: ['kafka:events'] },
      { name: 'failures', match: { status: ['undelivered', 'failed'], final: true }, to: ['webhook:crm'] },
      { name: 'never', match: { iso_code: 'ZZ' }, to: ['kafka:events'], stop: true },
    ],
    alerts: { url: `https://alerts.example/hook?key=${SECRETS.alertToken}`, secret: SECRETS.alertSecret },
  },
  'console test config',
);

interface Console {
  spool: Spool;
  live: LiveConfig<CompiledConfig>;
  /** GET a console path with the session cookie (or without one). */
  get(path: string, opts?: { session?: boolean; json?: boolean }): Promise<Response>;
  /** Sends a callback to /callbacks/default. */
  callback(fields: Record<string, unknown>): Promise<void>;
}

const spools: Spool[] = [];
afterEach(() => {
  for (const s of spools.splice(0)) s.close();
});

async function login(): Promise<Console> {
  const spool = new Spool({ path: ':memory:', plan: (e) => matchRoutes(e, config.table) });
  spools.push(spool);
  const live = new LiveConfig<CompiledConfig>(config, { hash: 'f'.repeat(64) });
  const app = createApp({ config: live, spool, local: spool, logger: silentLogger, metrics: new Metrics(), adminToken: ADMIN_TOKEN });
  const res = await app.request('/console', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: ADMIN_TOKEN }).toString(),
  });
  expect(res.status).toBe(303);
  expect(res.headers.get('location')).toBe('/console/overview');
  const cookie = /kcr_console=[^;]+/.exec(res.headers.get('set-cookie') ?? '')?.[0];
  expect(cookie).toBeDefined();
  return {
    spool,
    live,
    get: (path, opts = {}) =>
      Promise.resolve(
        app.request(path, {
          headers: { ...(opts.session === false ? {} : { cookie: cookie! }), ...(opts.json ? { accept: 'application/json' } : {}) },
        }),
      ),
    callback: async (fields) => {
      const r = await app.request('/callbacks/default', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fields) });
      expect(r.status, await r.clone().text()).toBe(200);
    },
  };
}

let messages = 0;
const message = (): string => `ebcccXXf-6311-4c52-b23d-afeXXX5fc336:${++messages}`;
const delivered = (iso: string) => postSample({ message_id: message(), status: 'Delivered', status_trace: '', description: '', iso_code: iso });
const undelivered = (iso: string) => postSample({ message_id: message(), iso_code: iso });

/** The text cells of a table row the page rendered, by its first cell (`data-key`). */
function row(html: string, table: string, key: string): string[] {
  const t = new RegExp(`<table[^>]*id="table-${table}"[\\s\\S]*?</table>`).exec(html)?.[0] ?? '';
  const tr = new RegExp(`<tr data-key="${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}">([\\s\\S]*?)</tr>`).exec(t)?.[1];
  if (tr === undefined) throw new Error(`no row "${key}" in table ${table}`);
  return [...tr.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((m) => m[1]!.replace(/<[^>]+>/g, ''));
}

describe('console Overview', () => {
  it('shows the callbacks just accepted: per status class and profile, the delivery rate per country, each destination', async () => {
    const c = await login();
    for (let i = 0; i < 3; i++) await c.callback(delivered('IN'));
    await c.callback(undelivered('IN'));
    await c.callback(undelivered('GB'));
    const [head] = c.spool.queue.due('webhook:crm', 1);
    c.spool.queue.markRetry(head!.id, Date.now() + 60_000, 'http_503', 'answered 503');

    const res = await c.get('/console/overview');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(row(html, 'byClass', 'delivered').slice(0, 2)).toEqual(['delivered', '3']);
    expect(row(html, 'byClass', 'undelivered').slice(0, 2)).toEqual(['undelivered', '2']);
    expect(row(html, 'byProfile', 'default').slice(0, 2)).toEqual(['default', '5']);
    expect(row(html, 'countries', 'IN')).toEqual(['IN', '75.0%', '3', '4']);
    expect(row(html, 'countries', 'GB')).toEqual(['GB', '0.0%', '0', '1']);
    const crm = row(html, 'destinations', 'webhook:crm');
    expect(crm.slice(0, 4)).toEqual(['webhook:crm', 'retrying', '2', '0']);
    expect(crm[4]).toMatch(/^\d+ (ms|s)$/);
    expect(crm[6]).toBe('http_503');
    expect(row(html, 'destinations', 'kafka:events').slice(0, 4)).toEqual(['kafka:events', 'healthy', '5', '0']);
    // The charts' script and library come from the router, not inline.
    expect(html).toContain('<script src="/console/assets/overview.js" defer=""></script>');
    expect(html).toContain('<script src="/console/assets/uplot.js" defer=""></script>');
    expect(html).not.toMatch(/<script>/);
  });

  it('shows a disabled destination as disabled with its reason, and one a reload removed as not in the config', async () => {
    const c = await login();
    await c.callback(undelivered('IN'));
    c.spool.queue.disableDestination('webhook:crm', 'http_410: the endpoint is gone');
    const html = await (await c.get('/console/overview')).text();
    expect(row(html, 'destinations', 'webhook:crm')).toEqual(['webhook:crm', 'disabled', '1', '0', expect.any(String), '–', 'http_410: the endpoint is gone']);

    c.spool.queue.enableDestination('webhook:crm');
    const { webhooks: _, ...rest } = config.source!;
    c.live.swap(compileRoutes({ ...rest, rules: [{ name: 'every-report', to: ['kafka:events'] }] }, 'reloaded'));
    const after = await (await c.get('/console/overview')).text();
    expect(row(after, 'destinations', 'webhook:crm')).toEqual(['webhook:crm', 'healthy', '1', '0', expect.any(String), '–', 'not in the config']);
  });

  it('answers its figures as JSON for the live refresh, and 401 without a session', async () => {
    const c = await login();
    await c.callback(delivered('IN'));
    const res = await c.get('/console/overview/figures', { json: true });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const figures = (await res.json()) as OverviewFigures;
    expect(figures.perMinute.minutes).toHaveLength(60);
    expect(figures.perMinute.byClass.delivered!.at(-1)).toBe(1);
    expect(figures.countries).toEqual([{ iso_code: 'IN', final: 1, delivered: 1, rate: 1 }]);
    expect(figures.destinations.map((d) => [d.ref, d.state])).toEqual([
      ['kafka:events', 'healthy'],
      ['webhook:crm', 'healthy'],
    ]);
    expect(figures.tables.destinations.head[1]).toBe('State');

    const anonymous = await c.get('/console/overview/figures', { session: false, json: true });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: 'unauthorized' });
    const page = await c.get('/console/overview', { session: false });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/console');
  });

  it('shows a callback carrying HTML in its fields as text', async () => {
    const c = await login();
    await c.callback(delivered('<img src=x onerror=alert(1)>'));
    await c.callback(postSample({ message_id: message(), iso_code: '<script>alert(1)</script>', description: '<img src=x onerror=alert(1)>' }));
    const html = await (await c.get('/console/overview')).text();
    expect(html).not.toMatch(/<img/i);
    expect(html).not.toMatch(/<script>alert/i);
    expect(html).toContain('&lt;IMG SRC=X ONERROR=ALERT(1)&gt;');
    expect(html).toContain('&lt;SCRIPT&gt;ALERT(1)&lt;/SCRIPT&gt;');
    const config = await (await c.get('/console/config')).text();
    expect(config).not.toMatch(/<img|<script>alert/i);
  });
});

describe('console Config', () => {
  it('shows the rules as loaded with how many events each matched in the last hour, and the fallback', async () => {
    const c = await login();
    await c.callback(delivered('IN'));
    await c.callback(undelivered('IN'));
    const html = await (await c.get('/console/config')).text();
    expect(row(html, 'rules', 'every-report')).toEqual(['1', 'every-report', 'every event', 'kafka:events', '', '2']);
    expect(row(html, 'rules', 'failures')).toEqual(['2', 'failures', 'status: undelivered, failed · final: true', 'webhook:crm', '', '1']);
    expect(row(html, 'rules', 'never')).toEqual(['3', 'never', 'iso_code: ZZ', 'kafka:events', 'stop', '0']);
    expect(html).toContain(`sha256 <code id="config-hash" class="wrap-id">${'f'.repeat(64)}</code>`);
  });

  it('names profiles, destinations and alerts with the credentials they use, never their values; webhook URLs redacted', async () => {
    const c = await login();
    const html = await (await c.get('/console/config')).text();
    for (const [what, secret] of Object.entries(SECRETS)) expect(html, what).not.toContain(secret);
    expect(row(html, 'profiles', 'secured')[2]).toBe('basic auth; headers: x-api-key');
    expect(row(html, 'profiles', 'bearer')[2]).toBe('bearer token');
    expect(row(html, 'profiles', 'bearer')[3]).toBe('final report expected within 30 min');
    expect(row(html, 'profiles', 'default')[2]).toBe('none: anyone with the URL');
    const crm = row(html, 'destinations', 'webhook:crm');
    expect(crm[1]).toBe('https://***@crm.example/sms?token=***; signed (standard-webhooks); headers: authorization');
    expect(crm[3]).toBe('20/s, burst 20');
    expect(row(html, 'destinations', 'kafka:events')[1]).toBe('topic kaleyra.sms.events');
    expect(html).toContain('https://alerts.example/hook?key=***');
  });
});
