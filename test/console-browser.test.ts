/**
 * Issue 10's "must show", in real Chromium against a real router: an operator logs in, finds a
 * callback just sent and its message page, replays a dead letter to a real receiver, re-ingests
 * a refused callback after fixing the config, tries a payload, sees a callback carrying HTML as
 * text, and a wrong token gets nothing. Every page is photographed at desktop and phone widths.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/log.js';
import { loadRoutesFile } from '../src/route/load.js';
import { startRouter, type RunningRouter } from '../src/router.js';
import { loadSettings } from '../src/settings.js';
import { launchChromium, logIn, newContext, screenshot, VIEWPORTS, type ViewportName } from './support/browser.js';
import { createTopics, kafkaBrokers, uniqueTopic, waitFor } from './support/kafka.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { postCallback, postSample, tempDir, writeConfig } from './support/router.js';

const ADMIN_TOKEN = 'console-browser-test-admin-token-0123456789';
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
/** Two quick attempts: a report to a failing webhook is a dead letter within a second. */
const SMALL_RETRY = { initialDelayMs: 20, maxDelayMs: 50, maxAttempts: 2 };
const XSS = '<img src=x onerror=alert(1)>';
/** How long a page may take to show what an action did. */
const SOON = { timeout: 5_000, interval: 50 };

/** Kaleyra's status_time format, for a report sent `agoS` seconds ago. */
function statusTime(agoS = 0): string {
  return `${new Date(Date.now() - agoS * 1000).toISOString().slice(0, 19).replace('T', ' ')}+00:00`;
}

/** A report like the provider's sample, about a new message of its own, sent just now. */
function report(over: Record<string, unknown>): Record<string, unknown> {
  return postSample({ message_id: `${randomUUID()}:1`, id: randomUUID(), status_trace: '', status_time: statusTime(), ...over });
}

/** The routes file: a Kafka topic for every report, failures to a CRM webhook, a templated profile. */
function routesFile(topic: string, crmUrl: string, statusPath: string): string {
  return JSON.stringify({
    profiles: {
      default: {},
      // The customer's body template names the status `msg_status`; the first config gets it wrong.
      templated: { fieldMap: { status: statusPath } },
    },
    kafka: { topics: { events: topic } },
    webhooks: { crm: { url: crmUrl, retry: SMALL_RETRY } },
    rules: [
      { name: 'every-report', to: ['kafka:events'] },
      { name: 'failures-to-crm', match: { status: 'failed' }, to: ['webhook:crm'] },
    ],
  });
}

/** Posts a callback and answers its HTTP status; the test asserts it. */
async function send(url: string, body: Record<string, unknown>, profile = 'default'): Promise<number> {
  const res = await postCallback(url, body, profile);
  await res.arrayBuffer();
  return res.status;
}

describe('the operator console in real Chromium', () => {
  const dir = tempDir('kcr-console-');
  const topic = uniqueTopic('console');
  let router: RunningRouter;
  let browser: Browser;
  let crm: Receiver;
  /** The CRM webhook answers 500 until a test brings it up. */
  let crmUp = false;
  let configPath: string;
  const contexts: BrowserContext[] = [];
  /** Every JavaScript dialog any page opened: a callback's HTML must never run as script. */
  const dialogs: string[] = [];
  /** Script errors and CSP refusals on any page. */
  const pageErrors: string[] = [];

  /** The seeded callbacks, so the pages have something to show. */
  const seeded = {
    delivered: report({ status: 'Delivered', iso_code: 'IN', country_name: 'India', description: 'Delivered to handset' }),
    deliveredGb: report({ status: 'Delivered', iso_code: 'GB', country_name: 'United Kingdom', recipient: '447700900XXX', description: 'Delivered' }),
    undelivered: report({ status: 'Undelivered', iso_code: 'BR', country_name: 'Brazil', recipient: '5511987XXXXXX', status_trace: 'ABSENT-SUB' }),
    rejected: report({ status: 'Not Sent', iso_code: 'US', country_name: 'United States', recipient: '1202555XXXX', status_trace: 'BLACKLIST', description: 'Rejected as the number is blacklisted by operator.' }),
    pending: report({ status: 'Sent', iso_code: 'ZA', country_name: 'South Africa', recipient: '2782555XXXX', description: 'Sent to operator' }),
    /** Goes to the failing CRM webhook: the dead letter. */
    failed: report({ status: 'Failed', iso_code: 'IN', country_name: 'India', status_trace: 'MOB-NOTALLOWED', description: 'Handset not allowed' }),
  };
  /** The templated profile's body: its own names, status under `msg_status`. */
  const refusedMessageId = `${randomUUID()}:1`;
  const templatedBody = { ...report({ message_id: refusedMessageId, iso_code: 'IN', description: 'Delivered to handset' }), status: undefined, msg_status: 'Delivered' };

  /** A logged-in page at a width; its context is closed after the test. */
  async function consolePage(viewport: ViewportName = 'desktop', loggedIn = true): Promise<Page> {
    const context = await newContext(browser, viewport);
    contexts.push(context);
    const page = await context.newPage();
    page.on('dialog', (d) => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      void d.dismiss();
    });
    page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) pageErrors.push(`${page.url()}: ${m.text()}`);
    });
    if (loggedIn) await logIn(page, router.url, ADMIN_TOKEN);
    return page;
  }

  async function deadLetters(): Promise<{ id: number; destination: string; message_key?: string }[]> {
    const res = await fetch(`${router.url}/admin/dead-letters`, { headers: admin });
    return ((await res.json()) as { dead_letters: { id: number; destination: string; message_key?: string }[] }).dead_letters;
  }

  beforeAll(async () => {
    await createTopics([topic]);
    crm = await startReceiver(() => (crmUp ? 200 : 500));
    configPath = writeConfig(dir.path, routesFile(topic, crm.url, 'state'));
    const { config, hash } = await loadRoutesFile(configPath);
    const settings = loadSettings({
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: join(dir.path, 'data'),
      KAFKA_BROKERS: kafkaBrokers().join(','),
      DISPATCH_POLL_MS: '50',
      KAFKA_REQUEST_TIMEOUT_MS: '5000',
      SHUTDOWN_TIMEOUT_MS: '5000',
      ADMIN_TOKEN,
    });
    router = await startRouter({ config, settings, logger: silentLogger, configPath, configHash: hash });
    browser = await launchChromium();

    for (const body of Object.values(seeded)) expect(await send(router.url, body)).toBe(200);
    // The wrong field map finds no status: refused (400) and kept for re-ingest.
    expect(await send(router.url, templatedBody, 'templated')).toBe(400);
    // A profile nobody declared proves nothing: only a note of it, on the same page.
    expect(await send(router.url, report({}), 'no-such-profile')).toBe(404);
    const dead = await waitFor(async () => (await deadLetters()).length === 1, 15_000);
    expect(dead, 'the Failed report becomes a dead letter at webhook:crm').toBe(true);
    // Every other delivery (Kafka) done, so the pages show a settled router.
    expect(await waitFor(() => router.spool.operations.counts().every((c) => c.state !== 'pending'), 20_000)).toBe(true);
  });

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
    expect(dialogs.splice(0), 'no page opened a JavaScript dialog').toEqual([]);
    expect(pageErrors.splice(0), 'no script error or CSP refusal on any page').toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await router?.close();
    await crm?.close();
    dir.remove();
  });

  // First, while the seeded dead letter and refused callback are still there to be shown.
  describe.each(Object.keys(VIEWPORTS) as ViewportName[])('at %s width', (viewport) => {
    const { width } = VIEWPORTS[viewport];
    const fits = async (page: Page): Promise<number> => page.evaluate<number>('document.documentElement.scrollWidth');

    it(`shows the login form no wider than ${width} px, and saves its screenshot`, async () => {
      const page = await consolePage(viewport, false);
      await page.goto(`${router.url}/console`);
      expect(await page.getByLabel('Admin token').isVisible()).toBe(true);
      await screenshot(page, 'login', viewport);
      expect(await fits(page)).toBeLessThanOrEqual(width);
    });

    const pages: { name: string; path: string; title: RegExp; ready?: (page: Page) => Promise<void> }[] = [
      // The charts are drawn from the figures the page fetches after loading.
      { name: 'overview', path: '/console/overview', title: /^Overview$/, ready: (page) => page.locator('#overview-live[data-refreshed-at]').waitFor() },
      { name: 'events', path: '/console/events', title: /^Events$/ },
      { name: 'message', path: `/console/messages/${encodeURIComponent(String(seeded.failed.message_id))}`, title: /^Message / },
      { name: 'dead-letters', path: '/console/dead-letters', title: /^Dead letters$/ },
      { name: 'refused', path: '/console/refused', title: /^Refused/ },
      { name: 'config', path: '/console/config', title: /^Config$/ },
      { name: 'try', path: '/console/try', title: /^Try a payload$/, ready: (page) => tryPayload(page, seeded.failed) },
    ];
    it.each(pages.map((p) => [p.name, p] as const))(`shows the %s page no wider than ${width} px (tables scroll in their card), and saves its screenshot`, async (name, { path, title, ready }) => {
      const page = await consolePage(viewport);
      await page.goto(`${router.url}${path}`);
      expect((await page.getByRole('heading', { level: 1 }).first().textContent())?.trim()).toMatch(title);
      await ready?.(page);
      // The picture first: it is also what to look at when the page does not fit.
      await screenshot(page, name, viewport);
      expect(await fits(page), `${name} fits the screen`).toBeLessThanOrEqual(width);
    });
  });

  it('refuses a wrong token on the login form and sets no session cookie', async () => {
    const page = await consolePage('desktop', false);
    await page.goto(`${router.url}/console`);
    await page.getByLabel('Admin token').fill('not-the-admin-token');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.getByRole('status').textContent(), SOON).toContain('That is not the admin token.');
    expect(await page.context().cookies()).toEqual([]);
    // The pages stay closed: asking for one brings back the login form.
    await page.goto(`${router.url}/console/events`);
    expect(new URL(page.url()).pathname).toBe('/console');
    expect(await page.getByLabel('Admin token').isVisible()).toBe(true);
  });

  it('logs in with the admin token: an HttpOnly, SameSite=Strict session cookie and the overview', async () => {
    const page = await consolePage();
    const [cookie] = await page.context().cookies();
    expect(cookie).toMatchObject({ name: 'kcr_console', path: '/console', httpOnly: true, sameSite: 'Strict' });
    expect(cookie!.value).not.toContain(ADMIN_TOKEN);
    expect(await page.getByRole('heading', { level: 1 }).first().textContent()).toMatch(/Overview/);
    for (const link of ['Overview', 'Events', 'Dead letters', 'Refused', 'Try a payload', 'Config']) {
      expect(await page.getByRole('link', { name: link, exact: true }).isVisible(), `navigation has ${link}`).toBe(true);
    }
  });

  it('refreshes the overview live: a callback sent while it is open is counted without a reload', async () => {
    const page = await consolePage();
    await page.locator('#overview-live[data-refreshed-at]').waitFor();
    const before = Number(await page.locator('#overview-total').textContent());
    const loaded = await page.locator('#overview-at').textContent();
    expect(await send(router.url, report({ status: 'Delivered', iso_code: 'IN', country_name: 'India' }))).toBe(200);
    // The page asks for its figures every 5 s.
    await expect.poll(async () => Number(await page.locator('#overview-total').textContent()), { timeout: 8_000, interval: 200 }).toBe(before + 1);
    expect(await page.locator('#overview-at').textContent()).not.toBe(loaded);
  });

  it('lists a callback just sent in the events, filters to it, and opens its message page', async () => {
    const body = report({ status: 'Delivered', iso_code: 'DE', country_name: 'Germany', recipient: '4915112XXXXX', description: 'Just sent from the test' });
    const messageId = String(body.message_id);
    expect(await send(router.url, body)).toBe(200);

    const page = await consolePage();
    await page.goto(`${router.url}/console/events`);
    expect(await page.getByTestId('event-row').first().textContent(), 'the newest callback is listed first').toContain(messageId);
    expect(await page.getByText(String(seeded.delivered.message_id)).count(), 'with the older ones').toBeGreaterThan(0);

    await page.getByLabel('Message id').fill(messageId);
    await Promise.all([page.waitForURL(/message_id=/), page.getByRole('button', { name: 'Filter', exact: true }).click()]);
    const rows = page.getByTestId('event-row');
    await expect.poll(() => rows.count(), SOON).toBe(1);
    expect(await rows.first().textContent()).toContain(messageId);
    expect(await page.getByText(String(seeded.delivered.message_id)).count(), 'the filter leaves the others out').toBe(0);

    await Promise.all([page.waitForURL(/\/console\/messages\//), page.getByRole('link', { name: messageId }).first().click()]);
    expect(decodeURIComponent(new URL(page.url()).pathname)).toBe(`/console/messages/${messageId}`);
    expect(await page.locator('#message-id').textContent()).toBe(messageId);
    // Its current state, the rule it matched and where that sent it.
    expect(await page.locator('#message-state').textContent()).toContain('Delivered');
    expect(await page.getByTestId('callback').count()).toBe(1);
    expect(await page.getByTestId('callback').locator('.rules').textContent()).toBe('Rules: every-report → kafka:events');
    // Its delivery to Kafka, done once the dispatcher got to it (the page shows it as of loading).
    const kafka = page.locator('[data-testid="delivery"][data-destination="kafka:events"]');
    await expect
      .poll(async () => {
        await page.reload();
        return kafka.textContent();
      }, SOON)
      .toMatch(/kafka:events\s*done/);
    expect(await kafka.getByTestId('attempt').count()).toBe(1);
    // The report as received, one click away.
    await openDetails(page, 'Raw callback');
    expect(await page.locator('.raw-fields').getByText('Just sent from the test').isVisible()).toBe(true);
  });

  it(`shows a callback whose description is ${XSS} as text, on the events and message pages, and no dialog opens`, async () => {
    const body = report({ status: 'Delivered', iso_code: 'FR', country_name: 'France', description: XSS, ref: '<script>alert(2)</script>' });
    const messageId = String(body.message_id);
    expect(await send(router.url, body)).toBe(200);

    const page = await consolePage();
    await page.goto(`${router.url}/console/events?message_id=${encodeURIComponent(messageId)}`);
    const row = page.getByTestId('event-row');
    expect(await row.count()).toBe(1);
    expect(await row.locator('td.description').textContent(), 'the description is on the events page, literally').toBe(XSS);
    expect(await row.getByText(XSS).isVisible()).toBe(true);
    expect(await page.locator('img[src="x"]').count(), 'no <img> was made of it').toBe(0);

    await page.goto(`${router.url}/console/messages/${encodeURIComponent(messageId)}`);
    await openDetails(page, 'Raw callback');
    const raw = (field: string) => page.locator('.raw-fields tr', { has: page.locator('th', { hasText: new RegExp(`^${field}$`) }) }).locator('td');
    expect(await raw('description').textContent(), 'the description is on the message page, literally').toBe(XSS);
    expect(await raw('description').isVisible()).toBe(true);
    expect(await raw('ref').textContent()).toBe('<script>alert(2)</script>');
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    expect(await page.locator('main script').count(), 'no <script> was made of the ref').toBe(0);
    // An onerror would have fired by now; the afterEach also checks no dialog opened.
    await page.waitForTimeout(300);
    expect(dialogs).toEqual([]);
  });

  it('refuses a replay posted by a page of another origin, though the browser sends the session cookie with it', async () => {
    // Another port on the same host is the same *site*: SameSite=Strict lets the cookie go, so
    // the Origin check and the CSRF token are what stop it.
    const evil = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end(
        `<form method="post" action="${router.url}/console/dead-letters/replay"><input type="hidden" name="scope" value="matching"><input type="hidden" name="confirm" value="yes"><button>Win a prize</button></form>`,
      );
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    try {
      const page = await consolePage();
      await page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
      await Promise.all([page.waitForURL(`${router.url}/console/dead-letters/replay`), page.getByRole('button', { name: 'Win a prize' }).click()]);
      expect(await page.getByRole('status').textContent()).toContain('nothing was changed');
      expect(await deadLetters(), 'the dead letter is still there').toHaveLength(1);
    } finally {
      await new Promise((resolve) => evil.close(resolve));
    }
  });

  it('replays a dead letter from the console after a confirmation, and the real receiver gets it', async () => {
    const messageId = String(seeded.failed.message_id);
    expect(crm.received.every((r) => r.json.data.message_id === messageId)).toBe(true);
    const attemptsBefore = crm.received.length;
    crmUp = true;

    const page = await consolePage();
    await page.goto(`${router.url}/console/dead-letters`);
    const main = page.locator('main');
    expect(await main.textContent()).toContain(messageId);
    expect(await main.textContent()).toContain('webhook:crm');

    // Select by filter (the CRM webhook), then Replay: a confirmation page says how many first.
    await page.getByLabel('Destination', { exact: true }).fill('webhook:crm');
    await Promise.all([page.waitForURL(/destination=webhook/), page.getByRole('button', { name: 'Filter', exact: true }).click()]);
    expect(await page.locator('#dead-letters tbody tr').count()).toBe(1);
    await page.getByRole('button', { name: 'Replay all matching' }).click();
    await expect.poll(() => page.locator('#confirm-question').textContent(), SOON).toBe('Replay 1 dead letter to webhook:crm?');
    await page.waitForTimeout(200);
    expect(crm.received.length, 'nothing is replayed before the confirmation').toBe(attemptsBefore);
    await page.getByRole('button', { name: 'Replay 1 dead letter' }).click();
    await expect.poll(async () => (await page.getByRole('status').first().textContent()) ?? '', SOON).toMatch(/^Replayed 1 dead letter\b/);

    expect(await waitFor(() => crm.received.length > attemptsBefore, 10_000), 'the receiver gets the replayed report').toBe(true);
    const got = crm.received.at(-1)!;
    expect(got.json.data.message_id).toBe(messageId);
    expect(await waitFor(async () => (await deadLetters()).length === 0, 10_000)).toBe(true);

    await page.goto(`${router.url}/console/dead-letters`);
    expect(await main.textContent(), 'the dead letter is gone from the list').not.toContain(messageId);
  });

  it('re-ingests a refused callback from the Refused page once the config is fixed, and it is accepted', async () => {
    const page = await consolePage();
    await page.goto(`${router.url}/console/refused`);
    const main = page.locator('main');
    expect(await main.textContent()).toContain('templated');
    expect(await main.textContent()).toContain(refusedMessageId);

    // The fix: the field map names the template's own field; the running router loads it.
    writeConfig(dir.path, routesFile(topic, crm.url, 'msg_status'));
    const reload = await fetch(`${router.url}/admin/config/reload`, { method: 'POST', headers: admin });
    expect(reload.status).toBe(200);

    await page.goto(`${router.url}/console/refused`);
    await page.getByLabel('Profile', { exact: true }).fill('templated');
    await Promise.all([page.waitForURL(/profile=templated/), page.getByRole('button', { name: 'Filter', exact: true }).click()]);
    await page.getByRole('button', { name: 'Re-ingest all matching' }).click();
    await expect.poll(() => page.locator('#confirm-question').textContent(), SOON).toBe('Re-ingest 1 refused callback?');
    await page.getByRole('button', { name: 'Re-ingest 1 refused callback' }).click();
    await expect
      .poll(async () => (await page.getByRole('status').first().textContent()) ?? '', SOON)
      .toBe('Re-ingested 1 refused callback: 1 accepted, 0 refused again.');
    expect(await main.textContent(), 'the list says what it became').toMatch(/as event \S+/);

    // It is an event now, with the status the fixed map reads, routed like any other.
    await page.goto(`${router.url}/console/messages/${encodeURIComponent(refusedMessageId)}`);
    expect(await page.locator('#message-state').textContent()).toContain('Delivered');
    expect(await page.getByTestId('callback').locator('.rules').textContent()).toBe('Rules: every-report → kafka:events');
  });

  it('tries a payload: the enriched event, the rules and destinations it would reach, nothing stored or sent', async () => {
    const body = report({ status: 'Failed', iso_code: 'IN', country_name: 'India', description: 'Only tried, never sent' });
    const messageId = String(body.message_id);
    const received = crm.received.length;

    const page = await consolePage();
    await page.goto(`${router.url}/console/try`);
    await tryPayload(page, body);
    expect(await page.locator('#try-result').getAttribute('data-outcome')).toBe('accepted');
    expect(await page.locator('#try-result h2').textContent()).toMatch(/^Would be accepted: 200 as sms\.failed$/);
    expect(await page.locator('#try-rules').textContent()).toBe('every-report, failures-to-crm');
    expect(await page.locator('#try-destinations').textContent()).toBe('kafka:events, webhook:crm');
    const event = JSON.parse((await page.locator('#try-event').textContent()) ?? '') as Record<string, unknown>;
    expect(event).toMatchObject({ message_id: messageId, status: 'Failed', status_class: 'failed', iso_code: 'IN', description: 'Only tried, never sent', profile: 'default' });
    // What was pasted stays in the box, to change and try again.
    expect(JSON.parse(await page.getByLabel(/^Payload/).inputValue())).toEqual(body);

    // A payload the profile would refuse says why, as the router would answer.
    await tryPayload(page, { ...body, status: undefined });
    expect(await page.locator('#try-result').getAttribute('data-outcome')).toBe('refused');
    expect(await page.locator('#try-result h2').textContent()).toMatch(/400/);

    // Nothing stored, nothing sent.
    const res = await fetch(`${router.url}/admin/messages/${encodeURIComponent(messageId)}`, { headers: admin });
    expect(res.status).toBe(404);
    await page.waitForTimeout(300);
    expect(crm.received.length).toBe(received);
  });
});

/** Pastes a callback as JSON on the Try page, for the default profile, and waits for the answer. */
async function tryPayload(page: Page, body: Record<string, unknown>): Promise<void> {
  await page.getByLabel('Profile').selectOption('default');
  await page.getByLabel('Method').selectOption('POST');
  await page.getByLabel(/^Payload/).fill(JSON.stringify(body, null, 2));
  // The answer is a new page (the form posts to the server): wait for it, not for an old result.
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Try it' }).click()]);
  await page.locator('#try-result').waitFor();
}

/** Opens a <details> by its summary's words (left as it is when the page already shows it open). */
async function openDetails(page: Page, summary: string): Promise<void> {
  const details = page.locator('details', { has: page.locator('summary', { hasText: summary }) }).first();
  if (!(await details.evaluate((d) => (d as unknown as { open: boolean }).open))) await details.locator('summary').click();
}
