/**
 * Issue 10, the Events and message pages over HTTP against a real router (no browser: the
 * browser tests are test/console-browser.test.ts): a callback just sent is listed and every
 * filter narrows to it, Older / Newer walk the list by keyset, a webhook that retried and died
 * shows each attempt, and a callback carrying HTML or script is shown as text.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRouter } from '../src/router.js';
import type { EventListResult } from '../src/spool/event-list.js';
import { waitFor } from './support/kafka.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { postCallback, postSample, startTestRouter, tempDir } from './support/router.js';

const TOKEN = 'console-events-test-admin-token-0123456789';
/** Three attempts a few ms apart: a report to the failing webhook is a dead letter within a second. */
const SMALL_RETRY = { initialDelayMs: 20, maxDelayMs: 50, maxAttempts: 3 };
const XSS = '<img src=x onerror=alert(1)>';
const SCRIPT = '<script>alert(2)</script>';

function report(over: Record<string, unknown>): Record<string, unknown> {
  return postSample({ message_id: `${randomUUID()}:1`, id: randomUUID(), status_trace: '', ...over });
}

/** The event ids of the rows an events page shows, top to bottom. */
function rowIds(html: string): string[] {
  return [...html.matchAll(/<tr data-event-id="([^"]+)"/g)].map((m) => m[1]!);
}

/** The href of a link the page shows by its id, entity-decoded. */
function linkHref(html: string, id: string): string | undefined {
  const m = new RegExp(`<a href="([^"]+)"[^>]*id="${id}"`).exec(html);
  return m?.[1]?.replaceAll('&amp;', '&');
}

describe('the console: Events and message pages', () => {
  const dir = tempDir();
  let router: RunningRouter;
  let hook: Receiver;
  let cookie: string;
  /** Sent first, in order; `target` last: every filter below narrows to it. */
  const seeded = [
    report({ status: 'Delivered', iso_code: 'IN' }),
    report({ status: 'Undelivered', iso_code: 'GB', country_name: 'United Kingdom' }),
    report({ status: 'Delivered', iso_code: 'GB', country_name: 'United Kingdom' }),
  ];
  const target = report({ status: 'Failed', iso_code: 'ZA', country_name: 'South Africa', description: 'The one to find' });
  const ids = new Map<Record<string, unknown>, string>();
  let targetSentAt = 0;

  async function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${router.url}${path}`, { headers: { cookie, ...headers }, redirect: 'manual' });
  }
  async function page(path: string): Promise<string> {
    const res = await get(path);
    expect(res.status, path).toBe(200);
    return res.text();
  }
  async function send(body: Record<string, unknown>, profile = 'default'): Promise<string> {
    const res = await postCallback(router.url, body, profile);
    expect(res.status).toBe(200);
    const id = ((await res.json()) as { event_id: string }).event_id;
    ids.set(body, id);
    return id;
  }

  beforeAll(async () => {
    hook = await startReceiver(() => 503);
    router = await startTestRouter(
      {
        profiles: { default: {}, za_1: {} },
        webhooks: { crm: { url: hook.url, retry: SMALL_RETRY } },
        rules: [
          { name: 'failures-to-crm', match: { status: ['undelivered', 'failed'] }, to: ['webhook:crm'] },
          { name: 'delivered-too', match: { status: ['delivered'] }, to: ['webhook:crm'] },
        ],
      },
      { dataDir: dir.path, env: { ADMIN_TOKEN: TOKEN } },
    );
    const login = await fetch(`${router.url}/console`, {
      method: 'POST',
      headers: { origin: router.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: TOKEN }),
      redirect: 'manual',
    });
    expect(login.status).toBe(303);
    cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    for (const body of seeded) await send(body);
    // The clock moves on past the last seeded report's arrival (its 2xx can come back within the
    // same millisecond), so a time window starting here holds the target alone.
    await new Promise((resolve) => setTimeout(resolve, 5));
    targetSentAt = Date.now();
    await send(target, 'za_1');
    const settled = await waitFor(() => router.spool.operations.listDeliveries('pending', {}).length === 0, 20_000);
    expect(settled).toBe(true);
  });

  afterAll(async () => {
    await router?.close();
    await hook?.close();
    dir.remove();
  });

  it('lists a callback just sent first, with its time, profile, status, country, message link, request id, description and deliveries', async () => {
    const html = await page('/console/events');
    expect(rowIds(html)).toEqual([target, ...[...seeded].reverse()].map((b) => ids.get(b)));
    const start = html.indexOf(`<tr data-event-id="${ids.get(target)}"`);
    const row = html.slice(start, html.indexOf('</tr>', start));
    for (const text of ['za_1', 'Failed', 'failed', 'ZA', String(target.id), 'The one to find', 'webhook:crm dead']) expect(row, text).toContain(text);
    expect(row).toContain(`href="/console/messages/${encodeURIComponent(String(target.message_id))}"`);
    expect(row).toContain(`href="/console/dead-letters?event_id=${ids.get(target)}&amp;destination=webhook%3Acrm"`);
  });

  it('narrows to the callback by each filter on its own (and the form shows the filter back)', async () => {
    const from = new Date(targetSentAt).toISOString();
    const filters: Record<string, string>[] = [
      { status: 'Failed' },
      { status_class: 'failed' },
      { iso_code: 'za' },
      { profile: 'za_1' },
      { message_id: String(target.message_id) },
      { request_id: String(target.id) },
      { from, to: new Date(Date.now() + 60_000).toISOString() },
      // As a datetime-local field sends it: no zone, read as UTC.
      { from: from.slice(0, 23), to: '2999-01-01T00:00:00' },
    ];
    for (const filter of filters) {
      const html = await page(`/console/events?${new URLSearchParams(filter)}`);
      expect(rowIds(html), JSON.stringify(filter)).toEqual([ids.get(target)]);
      // The form shows each filter back; times as its datetime-local fields take them (UTC, no zone).
      for (const value of Object.values(filter)) expect(html).toContain(`value="${value.replace(/(\.000)?Z$/, '')}"`);
    }
    // A bare time before the seeded reports: all of them; and the outcome: every one died at the webhook.
    expect(rowIds(await page('/console/events?to=2000-01-01T00:00'))).toEqual([]);
    expect(rowIds(await page('/console/events?delivery=dead'))).toEqual([target, ...[...seeded].reverse()].map((b) => ids.get(b)));
    expect(rowIds(await page('/console/events?delivery=done'))).toEqual([]);
    expect(rowIds(await page('/console/events?status_class=failed&iso_code=GB'))).toEqual([]);
    expect(rowIds(await page('/console/events?status=Nothing+like+it'))).toEqual([]);
    expect(await page('/console/events?status=Nothing+like+it')).toContain('No event matches these filters.');
  });

  it('walks the list by keyset: Older pages neither overlap nor skip while new callbacks arrive; Newer comes back', async () => {
    const all = rowIds(await page('/console/events'));
    const seen: string[] = [];
    let path: string | undefined = '/console/events?limit=2';
    const pages: string[] = [];
    while (path) {
      const html = await page(path);
      pages.push(html);
      seen.push(...rowIds(html));
      // A callback arrives between two pages: it is newer than every page cut, so it moves nothing.
      await send(report({ status: 'Sent' }));
      path = linkHref(html, 'events-older');
    }
    expect(seen).toEqual(all);
    expect(pages.map((p) => rowIds(p).length)).toEqual([2, 2]);
    expect(linkHref(pages[0]!, 'events-newer')).toBeUndefined();
    const back = await page(linkHref(pages[1]!, 'events-newer')!);
    expect(rowIds(back)).toEqual(rowIds(pages[0]!));
    // The newer callbacks are there now, one Newer away; the cursor keeps the filters.
    expect(rowIds(await page(linkHref(back, 'events-newer')!))).toHaveLength(2);
    const filtered = await page('/console/events?delivery=dead&limit=1');
    expect(linkHref(filtered, 'events-older')).toBe(`/console/events?delivery=dead&limit=1&before=${router.spool.eventList.page({ delivery: 'dead' }, { limit: 1 }).older}`);
  });

  it('answers the list as JSON for scripts, and 400 naming a filter it cannot read', async () => {
    const res = await get(`/console/events?${new URLSearchParams({ message_id: String(target.message_id) })}`, { accept: 'application/json' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as EventListResult;
    expect(body.rows).toEqual([
      expect.objectContaining({ event_id: ids.get(target), profile: 'za_1', status: 'Failed', iso_code: 'ZA', request_id: target.id, deliveries: [{ destination: 'webhook:crm', state: 'dead' }] }),
    ]);
    const bad = await get('/console/events?from=yesterday&delivery=lost', { accept: 'application/json' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'invalid_filter', message: expect.stringMatching(/^from: not a time.*; delivery: one of dead, pending, done, none$/) });
    const html = await get('/console/events?before=abc');
    expect(html.status).toBe(400);
    expect(await html.text()).toContain('before: a whole number');
  });

  it('shows the message page of a webhook that retried and died: each attempt with its status, latency and error, the dead letter linked, the state', async () => {
    const html = await page(`/console/messages/${encodeURIComponent(String(target.message_id))}`);
    expect(html).toContain(`<span class="mono" id="message-id">${target.message_id}</span>`);
    expect(html).toContain('Rules: failures-to-crm → webhook:crm');
    expect(html).toContain('The one to find');
    const attempts = [...html.matchAll(/<tr data-testid="attempt">([\s\S]*?)<\/tr>/g)].map((m) => m[1]!.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim());
    expect(attempts).toHaveLength(3);
    attempts.forEach((a, i) => {
      expect(a).toMatch(new RegExp(`^${i + 1} \\S+ \\S+ ${i < 2 ? 'retry' : 'dead'} 503 \\d+ ms http_503: POST ${hook.url.replace(/[.]/g, '\\.')} answered 503`));
    });
    expect(html).toContain(`<a href="/console/dead-letters?event_id=${ids.get(target)}&amp;destination=webhook%3Acrm" class="dead-letter-link">`);
    expect(html).toMatch(/<strong>webhook:crm<\/strong> <span class="badge bad">dead<\/span>/);
    expect(html).toMatch(/<dt>Status<\/dt><dd>Failed <span class="badge ok">final<\/span><\/dd>/);
    // The raw fields as received, and the enriched event as formatted JSON.
    expect(html).toContain('<th class="mono">status</th><td class="mono wrap-id">Failed</td>');
    expect(html).toContain('&quot;status_class&quot;: &quot;failed&quot;,\n');
    expect(html).toContain(`href="/console/events?message_id=${encodeURIComponent(String(target.message_id))}"`);
  });

  it('finds a message without a message_id by its message_key, slash and all, and answers 404 for one it keeps nothing of', async () => {
    const requestId = randomUUID();
    await send(report({ message_id: null, id: requestId, recipient: '919620838123', status: 'Delivered' }));
    const key = `${requestId}/919620838123`;
    for (const path of [key, encodeURIComponent(key)]) {
      const html = await page(`/console/messages/${path}`);
      expect(html, path).toContain(`id="message-id">${key}</span>`);
      expect(html).toContain('No message_id: found by its message_key.');
    }
    const missing = await get('/console/messages/no-such-message:0');
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('This router keeps nothing of that message');
    const json = await get('/console/messages/no-such-message:0', { accept: 'application/json' });
    expect(json.status).toBe(404);
    expect(await json.json()).toMatchObject({ error: 'unknown_message' });
  });

  it('shows a callback carrying HTML and script in its fields as text, on both pages', async () => {
    const body = report({ status: 'Delivered', description: XSS, ref: SCRIPT, campaign_name: '"><b onmouseover=alert(3)>x</b>' });
    await send(body);
    const messageId = String(body.message_id);
    for (const path of [`/console/events?message_id=${encodeURIComponent(messageId)}`, `/console/messages/${encodeURIComponent(messageId)}`]) {
      const html = await page(path);
      expect(html, path).toContain('&lt;img src=x onerror=alert(1)&gt;');
      expect(html).not.toContain('<img src=x');
      expect(html).not.toContain('<script>alert');
      expect(html).not.toContain('<b onmouseover');
      if (path.startsWith('/console/messages/')) expect(html).toContain('&lt;script&gt;alert(2)&lt;/script&gt;');
    }
  });

  it('is behind the login: without the session cookie the pages send the browser to the login form', async () => {
    for (const path of ['/console/events', `/console/messages/${encodeURIComponent(String(target.message_id))}`]) {
      const res = await fetch(`${router.url}${path}`, { redirect: 'manual' });
      expect(res.status, path).toBe(303);
      expect(res.headers.get('location')).toBe('/console');
    }
    const res = await fetch(`${router.url}/console/events`, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(401);
  });
});
