import { describe, expect, it } from 'vitest';
import { DeliveryEventSchema, deliveryEventJsonSchema, type DeliveryEvent } from '../event.js';
import { GET_SAMPLE_QUERY, postSample } from '../testing/samples.js';
import { fieldsFromQuery } from '../ingest/parse.js';
import { validateCallback } from '../validate/callback.js';
import { STATUS_CLASSES, TRACE_GROUPS } from '../vocabulary/status.js';
import { enrichEvent, type EnrichContext } from './enrich.js';

const CTX: EnrichContext = {
  profile: 'default',
  eventId: '01900000-0000-7000-8000-000000000001',
  receivedAt: new Date('2022-04-05T08:56:00.000Z'),
  // No zone declared: the zone-less sent_time stays local.
  sentTimeZone: null,
};

function enrich(raw: Record<string, unknown>, ctx: Partial<EnrichContext> = {}): DeliveryEvent {
  const v = validateCallback(raw);
  if (!v.ok) throw new Error(`sample does not validate: ${JSON.stringify(v.problems)}`);
  return enrichEvent(v.callback, raw, { ...CTX, ...ctx });
}

describe('enrichEvent', () => {
  it("turns the provider's POST sample into the full delivery event", () => {
    const raw = postSample();
    expect(enrich(raw)).toEqual({
      schema_version: 2,
      event_id: CTX.eventId,
      type: 'sms.undelivered',
      profile: 'default',
      received_at: '2022-04-05T08:56:00.000Z',
      message_id: 'ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1',
      request_id: 'ebccc6ff-6311-4XXc-b23d-afe6fXXXXXf6',
      message_index: 1,
      message_key: 'ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1',
      status: 'Undelivered',
      status_class: 'undelivered',
      status_final: true,
      status_trace: 'REJECTED-MULTIPART',
      status_trace_group: 'not_sent',
      description: 'Validation fail [SMS over 160 characters]',
      stale: false,
      status_time: '2022-04-05T08:55:50.000Z',
      // The provider's sample: a UTC guess would put sent_time an hour after status_time.
      sent_time: null,
      sent_time_local: '2022-04-05T09:55:50',
      iso_code: 'IN',
      country: 'India',
      country_name: 'India',
      recipient: '919620838XXX',
      recipient_e164: null,
      recipient_masked: true,
      sender: 'TEST',
      route_type: 'DEFAULT',
      source: 'API',
      campaign_name: null,
      flash: false,
      price: '0.001354',
      total: 1,
      length: 5,
      units: 1,
      ref: null,
      ref1: null,
      ref2: null,
      raw,
      raw_query: null,
    });
  });

  it('the event satisfies the emitted contract, DeliveryEventSchema', () => {
    const event = enrich(postSample());
    expect(DeliveryEventSchema.parse(event)).toEqual(event);
  });

  it("the provider's GET sample also satisfies the contract", () => {
    const event = enrich(fieldsFromQuery(GET_SAMPLE_QUERY));
    expect(DeliveryEventSchema.safeParse(event).success).toBe(true);
    expect(event).toMatchObject({
      type: 'sms.rejected',
      status_class: 'rejected',
      status_trace_group: 'not_sent',
      status_time: '2022-04-05T08:55:50.000Z',
      flash: false,
      price: '0.001354',
    });
  });

  it('keeps the query string exactly as received when the context gives it', () => {
    expect(enrich(fieldsFromQuery(GET_SAMPLE_QUERY), { rawQuery: GET_SAMPLE_QUERY }).raw_query).toBe(GET_SAMPLE_QUERY);
  });

  it("keeps Kaleyra's own country_name beside the name derived from iso_code", () => {
    expect(enrich(postSample({ iso_code: 'GB', country_name: 'UK' }))).toMatchObject({ country: 'United Kingdom', country_name: 'UK' });
  });

  it('keeps raw exactly as given, the same object', () => {
    const raw = postSample({ extra: { nested: true }, price: '0.001354' });
    const event = enrich(raw);
    expect(event.raw).toBe(raw);
    expect(event.raw).toEqual(postSample({ extra: { nested: true } }));
  });

  it('upper-cases iso_code and names the country from it', () => {
    expect(enrich(postSample({ iso_code: 'in', country_name: '' }))).toMatchObject({ iso_code: 'IN', country: 'India' });
  });

  it.each([
    ['GB', 'Kaleyra name', 'United Kingdom'],
    ['us', null, 'United States'],
    ['XX', 'Nowhere', 'Nowhere'],
    ['', 'India', 'India'],
    ['IND', 'India', 'India'],
  ])('iso_code %j with country_name %j gives country %j', (iso, name, country) => {
    expect(enrich(postSample({ iso_code: iso, country_name: name })).country).toBe(country);
  });

  it('reads the zone-less sent_time in the profile\'s sentTimeZone; status_time keeps its own offset', () => {
    expect(enrich(postSample(), { sentTimeZone: 'Asia/Kolkata' })).toMatchObject({
      sent_time: '2022-04-05T04:25:50.000Z',
      sent_time_local: '2022-04-05T09:55:50',
      status_time: '2022-04-05T08:55:50.000Z',
    });
  });

  it('with no zone declared, keeps sent_time local instead of presenting it as UTC', () => {
    expect(enrich(postSample(), { sentTimeZone: null })).toMatchObject({ sent_time: null, sent_time_local: '2022-04-05T09:55:50' });
  });

  it('an unreadable time becomes null', () => {
    expect(enrich(postSample({ sent_time: 'yesterday', status_time: '' }))).toMatchObject({ sent_time: null, status_time: null });
  });

  it('derives recipient_e164 from an unmasked MSISDN and the iso_code', () => {
    expect(enrich(postSample({ recipient: '919620838123' }))).toMatchObject({
      recipient: '919620838123',
      recipient_e164: '+919620838123',
      recipient_masked: false,
    });
  });

  it.each([
    ['message_id when present', { message_id: 'm-1:1', id: 'cb-1' }, 'm-1:1'],
    ['the request id and recipient when there is no message_id', { message_id: '', id: 'cb-1', recipient: '919620838123' }, 'cb-1/919620838123'],
    ['the request id alone when there is neither message_id nor recipient', { message_id: '', id: 'cb-1', recipient: '' }, 'cb-1'],
  ])('message_key is %s', (_what, ids, key) => {
    expect(enrich(postSample(ids)).message_key).toBe(key);
  });

  it('splits the request id and the recipient/part index out of a campaign message_id', () => {
    const a = enrich(postSample({ id: 'req-1', message_id: '0b8a2c1e-6311-4c52-b23d-afe2b35fc336:17' }));
    expect(a).toMatchObject({ request_id: 'req-1', message_index: 17, message_key: '0b8a2c1e-6311-4c52-b23d-afe2b35fc336:17' });
    expect(enrich(postSample({ message_id: 'no-suffix' })).message_index).toBeNull();
  });

  it('recipients of one campaign without message_ids get keys of their own', () => {
    const one = enrich(postSample({ message_id: '', id: 'req-1', recipient: '919620838001' }));
    const two = enrich(postSample({ message_id: '', id: 'req-1', recipient: '919620838002' }));
    expect(one.message_key).not.toBe(two.message_key);
  });

  it('keeps the price as the exact decimal it was sent as', () => {
    expect(enrich(postSample({ price: '0.10000000000000000555' })).price).toBe('0.10000000000000000555');
    expect(enrich(postSample({ price: 0.001354 })).price).toBe('0.001354');
  });

  it.each([
    ['Delivered', 'DELIVRD', 'sms.delivered', true],
    ['Sent', null, 'sms.pending', false],
    ['Failed', 'NUM-LIMIT', 'sms.failed', true],
    ['Not Sent', 'BLACKLIST', 'sms.rejected', true],
    ['Brand-New', 'BRAND-NEW', 'sms.unknown', false],
  ])('status %s (trace %s) gives type %s, final %s', (status, trace, type, final) => {
    const event = enrich(postSample({ status, status_trace: trace }));
    expect(event).toMatchObject({ type, status_final: final, status });
    expect(DeliveryEventSchema.safeParse(event).success).toBe(true);
  });

  it('passes the context through: profile, event_id, received_at', () => {
    const event = enrich(postSample(), {
      profile: 'IN_09b3dfa7',
      eventId: 'e-2',
      receivedAt: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
    });
    expect(event).toMatchObject({ profile: 'IN_09b3dfa7', event_id: 'e-2', received_at: '2024-01-02T03:04:05.000Z' });
  });
});

describe('deliveryEventJsonSchema', () => {
  it('is an object schema whose status_class is the enum of status classes', () => {
    const schema = deliveryEventJsonSchema();
    expect(schema.type).toBe('object');
    const props = schema.properties as Record<string, { enum?: unknown[] }>;
    expect(props.status_class?.enum).toEqual([...STATUS_CLASSES]);
  });

  it('requires every field of the event and lists the trace groups', () => {
    const schema = deliveryEventJsonSchema();
    const event = enrich(postSample());
    expect([...(schema.required as string[])].sort()).toEqual(Object.keys(event).sort());
    expect(JSON.stringify((schema.properties as Record<string, unknown>).status_trace_group)).toContain(
      JSON.stringify([...TRACE_GROUPS]).slice(1, -1),
    );
  });
});
