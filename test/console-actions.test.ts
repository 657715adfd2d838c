/**
 * Issue 10, the console's actions over HTTP against the real router and real webhook receivers
 * on 127.0.0.1 (the browser drives the same pages in console-browser.test.ts): a dead letter
 * replayed after a confirmation that counts it, a disabled destination enabled, a refused
 * callback re-ingested after the config is fixed and reloaded, payloads tried without anything
 * stored or sent, and cross-site or token-less POSTs refused with nothing changed.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/log.js';
import { loadRoutesFile } from '../src/route/load.js';
import { startRouter, type RunningRouter } from '../src/router.js';
import { loadSettings } from '../src/settings.js';
import { waitFor } from './support/kafka.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { postCallback, postSample, tempDir, writeConfig } from './support/router.js';

const ADMIN_TOKEN = 'console-actions-test-admin-token-0123456789';
/** Two quick attempts: a report to a failing webhook is a dead letter well within a second. */
const SMALL_RETRY = { initialDelayMs: 20, maxDelayMs: 50, maxAttempts: 2 };
const XSS = '<img src=x onerror=alert(1)>';

type Form = Record<string, string | string[]>;

/** Every report to the CRM webhook; GONE reports to a webhook that may answer 410; a templated profile whose status path may be wrong. */
function routes(crm: string, gone: string, statusPath: string): string {
  return JSON.stringify({
    profiles: { default: {}, templated: { fieldMap: { status: statusPath, message_id: 'dlr.msg' } } },
    webhooks: { crm: { url: crm }, gone: { url: gone } },
    rules: [
      { name: 'to-crm', match: { route_type: '!GONE' }, to: ['webhook:crm'] },
      { name: 'to-gone', match: { route_type: 'GONE' }, to: ['webhook:gone'] },
    ],
    retry: SMALL_RETRY,
  });
}

describe('console actions over HTTP', () => {
  const dir = tempDir('kcr-console-actions-');
  let router: RunningRouter;
  let crm: Receiver;
  let gone: Receiver;
  let configPath: string;
  let crmStatus = 503;
  let goneStatus = 410;
  let cookie = '';

  /** The console's pages as a logged-in browser asks for them: the session cookie, a same-origin Origin. */
  async function page(path: string, form?: Form, headers: Record<string, string> = {}): Promise<{ status: number; html: string }> {
    let init: RequestInit = { headers: { cookie, ...headers }, redirect: 'manual' };
    if (form) {
      const body = new URLSearchParams();
      for (const [k, v] of Object.entries(form)) for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
      init = { method: 'POST', body, redirect: 'manual', headers: { cookie, origin: router.url, 'content-type': 'application/x-www-form-urlencoded', ...headers } };
    }
    const res = await fetch(`${router.url}${path}`, init);
    return { status: res.status, html: await res.text() };
  }

  /** The CSRF token the console put in its forms. */
  async function csrf(): Promise<string> {
    const { html } = await page('/console/try');
    return /name="_csrf" value="([^"]+)"/.exec(html)![1]!;
  }

  /** Row counts of the spool, read from its file by another connection. */
  function rows(): Record<string, number> {
    const db = new Database(join(dir.path, 'spool.db'), { readonly: true });
    try {
      return Object.fromEntries(['events', 'deliveries', 'attempts', 'rejected', 'message_state'].map((t) => [t, (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n]));
    } finally {
      db.close();
    }
  }

  async function deadLetterOf(eventId: string): Promise<number> {
    expect(await waitFor(() => router.spool.operations.listDeliveries('dead', { eventId }).length === 1, 10_000)).toBe(true);
    return router.spool.operations.listDeliveries('dead', { eventId })[0]!.id;
  }

  async function accepted(body: Record<string, unknown>, profile = 'default'): Promise<string> {
    const res = await postCallback(router.url, body, profile);
    expect(res.status).toBe(200);
    return ((await res.json()) as { event_id: string }).event_id;
  }

  beforeAll(async () => {
    crm = await startReceiver(() => crmStatus);
    gone = await startReceiver(() => goneStatus);
    configPath = writeConfig(dir.path, routes(crm.url, gone.url, 'dlr.status'));
    const { config, hash } = await loadRoutesFile(configPath);
    const settings = loadSettings({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dir.path, KAFKA_BROKERS: '', DISPATCH_POLL_MS: '50', ADMIN_TOKEN });
    router = await startRouter({ config, settings, logger: silentLogger, configPath, configHash: hash });
    const login = await fetch(`${router.url}/console`, { method: 'POST', body: new URLSearchParams({ token: ADMIN_TOKEN }), headers: { origin: router.url }, redirect: 'manual' });
    expect(login.status).toBe(303);
    cookie = /kcr_console=[^;]+/.exec(login.headers.get('set-cookie') ?? '')![0];
  });

  afterAll(async () => {
    await router?.close();
    await Promise.all([crm?.close(), gone?.close()]);
    dir.remove();
  });

  it('replays a ticked dead letter after a confirmation that counts it, and the receiver gets it', async () => {
    crmStatus = 503;
    const eventId = await accepted(postSample({ message_id: `${randomUUID()}:1` }));
    const id = await deadLetterOf(eventId);

    const list = await page('/console/dead-letters?destination=webhook:crm');
    expect(list.status).toBe(200);
    expect(list.html).toContain(`data-testid="dead-letter-${id}"`);
    expect(list.html).toContain('http_503');

    const token = await csrf();
    const ask = await page('/console/dead-letters/replay', { _csrf: token, scope: 'selected', ids: String(id), destination: 'webhook:crm' });
    expect(ask.status).toBe(200);
    expect(ask.html).toContain('Replay 1 dead letter to webhook:crm?');
    // Asking changes nothing.
    expect(router.spool.operations.listDeliveries('dead', { eventId })).toHaveLength(1);
    const before = crm.received.length;

    crmStatus = 200;
    const done = await page('/console/dead-letters/replay', { _csrf: token, scope: 'selected', ids: String(id), destination: 'webhook:crm', confirm: 'yes' });
    expect(done.status).toBe(200);
    expect(done.html).toContain('Replayed 1 dead letter');
    expect(await waitFor(() => crm.received.slice(before).some((r) => r.json.data.event_id === eventId), 10_000)).toBe(true);
    expect(await waitFor(() => router.spool.operations.listDeliveries('done', { eventId }).length === 1, 10_000)).toBe(true);
  });

  it('replays every dead letter matching a filter, counted per destination first', async () => {
    crmStatus = 503;
    const ids = await Promise.all([1, 2].map(async () => deadLetterOf(await accepted(postSample({ message_id: `${randomUUID()}:1` })))));
    const token = await csrf();
    const ticked = await page('/console/dead-letters/replay', { _csrf: token, scope: 'selected', ids: ids.map(String) });
    expect(ticked.html).toContain('Replay 2 dead letters to webhook:crm?');
    const ask = await page('/console/dead-letters/replay', { _csrf: token, scope: 'matching', destination: 'webhook:crm' });
    expect(ask.html).toContain('Replay 2 dead letters to webhook:crm?');
    // The confirmation carries the same selection: the filter, not the rows shown.
    expect(ask.html).toMatch(/<input type="hidden" name="destination" value="webhook:crm"\/>/);
    crmStatus = 200;
    const done = await page('/console/dead-letters/replay', { _csrf: token, scope: 'matching', destination: 'webhook:crm', confirm: 'yes' });
    expect(done.html).toContain('Replayed 2 dead letters');
    expect(await waitFor(() => ids.every((id) => router.spool.operations.listDeliveries('done', { ids: [id] }).length === 1), 10_000)).toBe(true);
  });

  it('refuses a filter it cannot read, naming the field as the page labels it', async () => {
    const res = await page('/console/dead-letters?since=yesterday');
    expect(res.status).toBe(400);
    expect(res.html).toContain('That filter is not valid: &quot;Since (UTC)&quot;: must be an ISO 8601 date-time');
    const nothing = await page('/console/dead-letters/replay', { _csrf: await csrf(), scope: 'selected' });
    expect(nothing.status).toBe(400);
    expect(nothing.html).toContain('Nothing was selected');
  });

  it('enables a destination a 410 disabled, after a confirmation, and it receives again', async () => {
    goneStatus = 410;
    await deadLetterOf(await accepted(postSample({ message_id: `${randomUUID()}:1`, type: 'GONE' })));
    expect(await waitFor(() => router.spool.queue.disabledDestinations().has('webhook:gone'), 10_000)).toBe(true);
    const list = await page('/console/dead-letters');
    expect(list.html).toContain('data-testid="disabled-webhook:gone"');

    const token = await csrf();
    const ask = await page('/console/dead-letters/enable', { _csrf: token, ref: 'webhook:gone' });
    expect(ask.html).toContain('Enable webhook:gone again?');
    expect(router.spool.queue.disabledDestinations().has('webhook:gone')).toBe(true);

    goneStatus = 200;
    const done = await page('/console/dead-letters/enable', { _csrf: token, ref: 'webhook:gone', confirm: 'yes' });
    expect(done.html).toContain('Enabled webhook:gone');
    expect(router.spool.queue.disabledDestinations().has('webhook:gone')).toBe(false);
    const before = gone.received.length;
    const eventId = await accepted(postSample({ message_id: `${randomUUID()}:1`, type: 'GONE' }));
    expect(await waitFor(() => gone.received.slice(before).some((r) => r.json.data.event_id === eventId), 10_000)).toBe(true);
  });

  it('re-ingests a refused callback once the config is fixed and reloaded, showing its body as text', async () => {
    crmStatus = 200;
    const messageId = `${randomUUID()}:1`;
    const body = { dlr: { state: 'Delivered', msg: messageId }, id: randomUUID(), recipient: '919620838123', description: XSS };
    const refused = await postCallback(router.url, body, 'templated');
    expect(refused.status).toBe(400);
    const [kept] = router.spool.rejected.list({ profile: 'templated', pending: true });
    expect(kept).toBeDefined();

    const list = await page('/console/refused?profile=templated');
    expect(list.html).toContain(`data-testid="refused-${kept!.id}"`);
    expect(list.html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(list.html).not.toContain(XSS);

    // Re-ingesting before the fix refuses it again and keeps it.
    const token = await csrf();
    const early = await page('/console/refused/reingest', { _csrf: token, scope: 'selected', ids: String(kept!.id), confirm: 'yes' });
    expect(early.html).toContain('Re-ingested 1 refused callback: 0 accepted, 1 refused again.');

    writeConfig(dir.path, routes(crm.url, gone.url, 'dlr.state'));
    expect(await router.reload('admin')).toMatchObject({ ok: true });

    const ask = await page('/console/refused/reingest', { _csrf: token, scope: 'matching', profile: 'templated' });
    expect(ask.html).toContain('Re-ingest 1 refused callback?');
    const before = crm.received.length;
    const done = await page('/console/refused/reingest', { _csrf: token, scope: 'matching', profile: 'templated', confirm: 'yes' });
    expect(done.html).toContain('Re-ingested 1 refused callback: 1 accepted, 0 refused again.');
    expect(await waitFor(() => crm.received.slice(before).some((r) => r.json.data.message_id === messageId), 10_000)).toBe(true);
    const [after] = router.spool.rejected.list({ ids: [kept!.id] });
    expect(after!.replayed_event_id).not.toBeNull();
    expect((await page('/console/refused?profile=templated')).html).toContain(`as event ${after!.replayed_event_id}`);
  });

  it('refuses a POST without the CSRF token or from another origin with 403, and changes nothing', async () => {
    crmStatus = 503;
    const eventId = await accepted(postSample({ message_id: `${randomUUID()}:1` }));
    const id = await deadLetterOf(eventId);
    router.spool.queue.disableDestination('webhook:gone', 'disabled by the test');
    // A kept payload that a re-ingest would accept now (as if refused under an older config).
    router.spool.rejected.record({ profile: 'default', statusCode: 400, reason: 'refused by an older config', contentType: 'application/json', body: JSON.stringify(postSample({ message_id: `${randomUUID()}:1` })), method: 'POST', query: '' });
    const token = await csrf();
    const actions: [string, Form][] = [
      ['/console/dead-letters/replay', { scope: 'selected', ids: String(id), confirm: 'yes' }],
      ['/console/dead-letters/enable', { ref: 'webhook:gone', confirm: 'yes' }],
      ['/console/refused/reingest', { scope: 'matching', confirm: 'yes' }],
    ];
    const before = rows();
    for (const [path, form] of actions) {
      expect((await page(path, form)).status, `${path} without _csrf`).toBe(403);
      expect((await page(path, { ...form, _csrf: 'x'.repeat(43) })).status, `${path} with a wrong _csrf`).toBe(403);
      expect((await page(path, { ...form, _csrf: token }, { origin: 'https://evil.example' })).status, `${path} from another origin`).toBe(403);
    }
    expect(rows()).toEqual(before);
    expect(router.spool.operations.listDeliveries('dead', { eventId })).toHaveLength(1);
    expect(router.spool.queue.disabledDestinations().has('webhook:gone')).toBe(true);
    expect(router.spool.rejected.list({ profile: 'default', pending: true })).toHaveLength(1);
    router.spool.queue.enableDestination('webhook:gone');
  });

  it('tries a payload: the enriched event, the rules and destinations, and nothing stored or sent', async () => {
    crmStatus = 200;
    const before = rows();
    const sent = crm.received.length;
    const token = await csrf();
    const payload = JSON.stringify(postSample({ message_id: `${randomUUID()}:1`, description: XSS }));
    const ok = await page('/console/try', { _csrf: token, profile: 'default', method: 'POST', content_type: 'application/json', payload });
    expect(ok.status).toBe(200);
    expect(ok.html).toContain('data-outcome="accepted"');
    expect(ok.html).toMatch(/<dd id="try-rules">to-crm<\/dd>/);
    expect(ok.html).toMatch(/<dd id="try-destinations" class="mono">webhook:crm<\/dd>/);
    expect(ok.html).toContain('&quot;status_class&quot;: &quot;undelivered&quot;');
    expect(ok.html).toContain('cannot know');
    expect(ok.html).not.toContain(XSS);

    const bad = await page('/console/try', { _csrf: token, profile: 'templated', method: 'POST', content_type: '', payload: '{"dlr":{"status":"Delivered"},"id":"r-1"}' });
    expect(bad.html).toContain('data-outcome="refused"');
    expect(bad.html).toMatch(/Would be refused: <span class="badge bad">400<\/span> <span class="mono">invalid_callback<\/span>/);
    expect(bad.html).toMatch(/<td class="mono">status<\/td>/);

    const get = await page('/console/try', { _csrf: token, profile: 'default', method: 'GET', content_type: '', payload: `?status=DELIVRD&id=${randomUUID()}&recipient=919620838123` });
    expect(get.html).toContain('data-outcome="accepted"');

    expect(rows()).toEqual(before);
    expect(crm.received.length).toBe(sent);
    expect(router.spool.rejected.list({ profile: 'templated', pending: true })).toHaveLength(0);
  });
});
