import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Destination, DestinationSet } from './destinations/index.js';
import { WebhookDestination } from './destinations/webhook.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicyOptions } from './retry/policy.js';
import { Dispatcher } from './dispatch/dispatcher.js';
import { NonRetriableError } from './errors.js';
import { createLogger } from './log.js';
import { Metrics } from './metrics.js';
import { REDACTED, maskPhone, redactFields, redactText, redactUrl } from './redact.js';
import { Spool, type PendingDelivery } from './spool/spool.js';
import { postSample } from './testing/samples.js';
import { eventFrom } from './testing/events.js';

describe('redactUrl', () => {
  it.each<[string, string, string]>([
    ['a URL without secrets stays as it is', 'https://hooks.example/sms', 'https://hooks.example/sms'],
    ['userinfo is masked', 'https://user:pass@hooks.example/sms', 'https://***@hooks.example/sms'],
    ['a user name alone is masked', 'https://token@hooks.example/sms', 'https://***@hooks.example/sms'],
    ['every query value is masked, keys stay', 'https://hooks.example/sms?token=abc&v=2', 'https://hooks.example/sms?token=***&v=***'],
    ['host, port and path stay', 'http://127.0.0.1:8080/a/b?secret=s3cr3t', 'http://127.0.0.1:8080/a/b?secret=***'],
    ['a parameter without "=" is masked whole', 'https://h.example/x?s3cr3t&v=1', 'https://h.example/x?***&v=***'],
    ['a value holding "=" is masked whole', 'https://h.example/x?t=a=b', 'https://h.example/x?t=***'],
    ['an encoded key stays encoded', 'https://h.example/x?api%5Fkey=k', 'https://h.example/x?api%5Fkey=***'],
    ['an empty query stays empty', 'https://h.example/x?', 'https://h.example/x?'],
    ['empty parameters stay empty', 'https://h.example/x?a=1&&b=2', 'https://h.example/x?a=***&&b=***'],
    ['the fragment is masked', 'https://h.example/cb#access_token=abc', 'https://h.example/cb#***'],
    ['query and fragment', 'https://u:p@h.example/x?k=v#f', 'https://***@h.example/x?k=***#***'],
    ['an "@" in the path is not userinfo', 'https://h.example/users/@me?k=v', 'https://h.example/users/@me?k=***'],
    ['an unparseable URL with "/" in its password is masked up to the last "@"', 'https://user:pa/ss@h.example/x', 'https://***@h.example/x'],
    ['a URL without a scheme still loses its query values', 'h.example/x?k=v', 'h.example/x?k=***'],
  ])('%s: %s', (_what, url, expected) => {
    expect(redactUrl(url)).toBe(expected);
    expect(redactUrl(expected)).toBe(expected);
  });
});

describe('redactText', () => {
  it.each<[string, string, string]>([
    ['text without URLs stays as it is', 'connect ECONNREFUSED 127.0.0.1:9', 'connect ECONNREFUSED 127.0.0.1:9'],
    ['a URL followed by a colon', 'POST https://h.example/x?key=abc: timed out', 'POST https://h.example/x?key=***: timed out'],
    ['fetch quoting an unparseable URL', 'Failed to parse URL from https://u:p@h.example/x?k=v', 'Failed to parse URL from https://***@h.example/x?k=***'],
    ['a URL in quotes', 'fetch "https://h.example/x?k=v" failed', 'fetch "https://h.example/x?k=***" failed'],
    ['a URL at the end of a sentence', 'could not reach http://h.example/x?k=v.', 'could not reach http://h.example/x?k=***.'],
    ['a URL in parentheses', 'gone (https://h.example/x?k=v)', 'gone (https://h.example/x?k=***)'],
    ['several URLs', 'redirect from https://a.example/?t=1 to https://b.example/?t=2', 'redirect from https://a.example/?t=*** to https://b.example/?t=***'],
    ['other schemes too', 'broker at kafka://u:p@broker:9092 failed', 'broker at kafka://***@broker:9092 failed'],
  ])('%s', (_what, text, expected) => {
    expect(redactText(text)).toBe(expected);
    expect(redactText(expected)).toBe(expected);
  });

  it('returns on a long text of letters with no URL in it', () => {
    const text = `${'a'.repeat(1 << 20)}:/ ${'b:'.repeat(1 << 18)}`;
    expect(redactText(text)).toBe(text);
  });
});

const POLICY: RetryPolicyOptions = { ...DEFAULT_RETRY_POLICY, initialDelayMs: 10, maxDelayMs: 50, maxAttempts: 1 };

function delivery(): PendingDelivery {
  return { id: 1, eventId: randomUUID(), messageKey: 'm-1', type: 'sms.undelivered', attempts: 0, firstAt: Date.now(), body: '{}' };
}

/** A real HTTP server on 127.0.0.1 answering every request with `status`; records the request URLs. */
async function answering(status: number): Promise<{ base: string; urls: string[]; server: Server }> {
  const urls: string[] = [];
  const server = createServer((req, res) => {
    urls.push(req.url ?? '');
    req.resume().on('end', () => res.writeHead(status, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, urls, server };
}

describe('WebhookDestination keeps the secrets of its URL out of its errors', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  it.each([500, 400, 410])('a %d answer names the URL with its query values masked', async (status) => {
    const peer = await answering(status);
    servers.push(peer.server);
    const hook = new WebhookDestination('webhook:crm', { url: `${peer.base}/hooks?secret=s3cr3t` });
    const [outcome] = await hook.deliver([delivery()], new AbortController().signal);
    await hook.close();

    // The secret still goes on the wire: only the messages are redacted.
    expect(peer.urls).toEqual(['/hooks?secret=s3cr3t']);
    expect(outcome).toMatchObject({ kind: 'failed', error: { code: `http_${status}` } });
    const message = (outcome as { error: Error }).error.message;
    expect(message).toContain(`POST ${peer.base}/hooks?secret=*** answered ${status}`);
    expect(message).not.toContain('s3cr3t');
  });

  it('a refused connection names the URL with its query values masked', async () => {
    const closed = await answering(200);
    await new Promise((r) => closed.server.close(r));
    const hook = new WebhookDestination('webhook:crm', { url: `${closed.base}/hooks?key=abc` });
    const [outcome] = await hook.deliver([delivery()], new AbortController().signal);

    expect(outcome).toMatchObject({ kind: 'failed', error: { code: 'connection_error' } });
    const message = (outcome as { error: Error }).error.message;
    expect(message).toBe(`POST ${closed.base}/hooks?key=***: ECONNREFUSED`);
    expect(message).not.toContain('abc');
  });
});

describe('the dispatcher redacts what it logs and stores, whatever a destination says', () => {
  const LEAKY_URL = 'https://hooks.example/sms?token=s3cr3t';

  /** A destination that (wrongly) puts its full URL in its error messages. */
  function leaky(message: string): Destination {
    return {
      ref: 'webhook:leaky',
      maxBatch: 1,
      lingerMs: 0,
      deliver: async (batch) => batch.map(() => ({ kind: 'failed' as const, error: new NonRetriableError(message, 'http_400') })),
      close: async () => undefined,
    };
  }

  it('keeps the token out of last_error and out of the log', async () => {
    const spool = new Spool({ path: ':memory:', plan: () => ({ destinations: ['webhook:leaky'], rules: ['all'], fallback: false }) });
    const lines: string[] = [];
    const destinations: DestinationSet = {
      destinations: new Map([['webhook:leaky', leaky(`POST ${LEAKY_URL} answered 400`)]]),
      policies: new Map([['webhook:leaky', POLICY]]),
      start: async () => undefined,
      close: async () => undefined,
    };
    const dispatcher = new Dispatcher({ queue: spool.queue, destinations, logger: createLogger('debug', (l) => lines.push(l) > 0), metrics: new Metrics(), pollMs: 10 });
    try {
      await spool.commits.accept(eventFrom(postSample()));
      dispatcher.start();
      const until = Date.now() + 4_000;
      while (spool.operations.listDeliveries('dead').length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));

      const [dead] = spool.operations.listDeliveries('dead');
      expect(dead?.last_error).toMatch(/^POST https:\/\/hooks\.example\/sms\?token=\*\*\* answered 400/);
      expect(lines.join('')).toContain('token=***');
      expect(lines.join('')).not.toContain('s3cr3t');
    } finally {
      await dispatcher.stop(0);
      spool.close();
    }
  });
});

describe('maskPhone', () => {
  it.each<[string, string]>([
    ['919620838123', '********8123'],
    ['+919620838123', '+********8123'],
    ['+91 96208 38123', '+** ***** *8123'],
    ['1234', '****'],
  ])('%s -> %s', (phone, masked) => {
    expect(maskPhone(phone)).toBe(masked);
  });
});

describe('redactFields', () => {
  it('replaces credentials at any depth, whatever the case of their key', () => {
    expect(
      redactFields({ headers: { AUTHORIZATION: 'Basic x', Cookie: 'a=b', 'Set-Cookie': ['s=1'] }, kafka: { sasl_password: 'p' }, nested: [{ access_token: 't', webhook_secret: 'w' }] }),
    ).toEqual({ headers: { AUTHORIZATION: REDACTED, Cookie: REDACTED, 'Set-Cookie': REDACTED }, kafka: { sasl_password: REDACTED }, nested: [{ access_token: REDACTED, webhook_secret: REDACTED }] });
  });

  it('masks phone numbers under phone-like keys and leaves other values of those keys alone', () => {
    expect(redactFields({ msisdn: 919620838123, mobile: '9620838123', to: 'webhook:crm', recipient_e164: '+919620838123' })).toEqual({
      msisdn: '********8123',
      mobile: '******8123',
      to: 'webhook:crm',
      recipient_e164: '+********8123',
    });
  });

  it('leaves ordinary fields, numbers and nulls as they are and does not change its input', () => {
    const input = { destination: 'kafka:events', attempts: 3, error: null, token_count: 2, authorization: '' };
    expect(redactFields(input)).toEqual(input);
    const secret = { password: 'x' };
    redactFields(secret);
    expect(secret.password).toBe('x');
  });
});
