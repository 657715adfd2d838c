import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { WebhookVerificationError, verifyWebhook } from '../src/webhook.js';
import { sampleEvent } from './sample-event.js';

const SECRET = `whsec_${Buffer.from('kaleyra-callback-router-test-key').toString('base64')}`;
const OTHER_SECRET = `whsec_${Buffer.from('someone-else-entirely').toString('base64')}`;

/** A webhook exactly as the router sends it (src/destinations/webhook.ts): body, then headers. */
function signed(data: unknown = sampleEvent(), at = new Date(), secret = SECRET): { body: string; headers: Record<string, string> } {
  const id = (data as { event_id?: string }).event_id ?? 'evt-1';
  const body = `{"type":"sms.undelivered","timestamp":${JSON.stringify(at.toISOString())},"data":${JSON.stringify(data)}}`;
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign(id, at, body),
    },
  };
}

describe('verifyWebhook', () => {
  it('returns { type, timestamp, data } with data the typed event, for a webhook the router signed', () => {
    const at = new Date();
    const { body, headers } = signed(sampleEvent(), at);
    const hook = verifyWebhook(SECRET, body, headers);
    expect(hook).toEqual({ type: 'sms.undelivered', timestamp: at.toISOString(), data: sampleEvent() });
    expect(hook.data.status_trace_group).toBe('not_sent');
  });

  it('takes the body as bytes and the headers as Fetch Headers or Node req.headers in any case', () => {
    const { body, headers } = signed();
    expect(verifyWebhook(SECRET, Buffer.from(body), new Headers(headers)).data).toEqual(sampleEvent());
    expect(verifyWebhook(SECRET, new TextEncoder().encode(body), new Headers(headers)).data).toEqual(sampleEvent());
    const shouted = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    expect(verifyWebhook(SECRET, body, { ...shouted, 'x-absent': undefined }).data).toEqual(sampleEvent());
  });

  it('accepts any one of several signatures, as during a secret rotation', () => {
    const { body, headers } = signed();
    const rotated = signed(sampleEvent(), new Date(Number(headers['webhook-timestamp']) * 1000), OTHER_SECRET).headers['webhook-signature']!;
    expect(verifyWebhook(SECRET, body, { ...headers, 'webhook-signature': [rotated, headers['webhook-signature']!] }).data).toEqual(sampleEvent());
  });

  it('throws WebhookVerificationError when the body was changed after signing', () => {
    const { body, headers } = signed();
    expect(() => verifyWebhook(SECRET, body.replace('Undelivered', 'Delivered'), headers)).toThrow(WebhookVerificationError);
  });

  it('throws WebhookVerificationError for a signature made with another secret', () => {
    const { body, headers } = signed(sampleEvent(), new Date(), OTHER_SECRET);
    expect(() => verifyWebhook(SECRET, body, headers)).toThrow(WebhookVerificationError);
  });

  it('throws WebhookVerificationError for a stale timestamp (a replay more than 5 minutes old), signature and all', () => {
    const { body, headers } = signed(sampleEvent(), new Date(Date.now() - 6 * 60_000));
    expect(() => verifyWebhook(SECRET, body, headers)).toThrow(/too old/);
    expect(() => verifyWebhook(SECRET, body, headers)).toThrow(WebhookVerificationError);
  });

  it('throws WebhookVerificationError for a timestamp from the future or a missing header', () => {
    const future = signed(sampleEvent(), new Date(Date.now() + 6 * 60_000));
    expect(() => verifyWebhook(SECRET, future.body, future.headers)).toThrow(/too new/);
    const { body, headers } = signed();
    const { 'webhook-signature': _sig, ...unsigned } = headers;
    expect(() => verifyWebhook(SECRET, body, unsigned)).toThrow(WebhookVerificationError);
  });

  it('throws a ZodError for an authentic body that is not a delivery event of this schema version', () => {
    const { body, headers } = signed({ ...sampleEvent(), schema_version: 1 });
    expect(() => verifyWebhook(SECRET, body, headers)).toThrow(ZodError);
  });
});
