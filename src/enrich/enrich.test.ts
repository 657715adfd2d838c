import { describe, expect, it } from 'vitest';
import { DeliveryEventSchema, deliveryEventJsonSchema, type DeliveryEvent } from '../event.js';
import { GET_SAMPLE_QUERY, postSample } from '../testing/samples.js';
import { fieldsFromQuery } from '../ingest/parse.js';
import { validateCallback } from '../validate/callback.js';
import { STATUS_CLASSES, TRACE_GROUPS } from './status.js';
import { enrichEvent, type EnrichContext } from './enrich.js';

const CTX: EnrichContext = {
  profile: 'default',
  eventId: '01900000-0000-7000-8000-000000000001',
  receivedAt: new Date('2022-04-05T08:56:00.000Z'),
  sentTimeZone: 'UTC',
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
      schema_version: 1,
      event_id: CTX.eventId,
      type: 'sms.undelivered',
      profile: 'default',
      received_at: '2022-04-05T08:56:00.000Z',
      message_id: 'ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1',
      callback_id: 'ebccc6ff-6311-4XXc-b23d-afe6fXXXXXf6',
      message_key: 'ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1',
      status: 'Undelivered',
      status_class: 'undelivered',
      status_final: true,
      status_trace: 'REJECTED-MULTIPART',
      status_trace_group: 'not_sent',
      description: 'Validation fail [SMS over 160 characters]',
      stale: false,
      status_time: '2022-04-05T08:55:50.000Z',
      sent_time: '2022-04-05T09:55:50.000Z',
      iso_code: 'IN',
      country: 'India',
      recipient: '919620838XXX',
      recipient_e164: null,
      recipient_masked: true,
      sender: 'TEST',
      route_type: 'DEFAULT',
      source: 'API',
      campaign_name: null,
      flash: false,
      price: 0.001354,
      total: 1,
      length: 5,
      units: 1,
      ref: null,
      ref1: null,
      ref2: null,
      raw,
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
      price: 0.001354,
    });
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
      status_time: '2022-04-05T08:55:50.000Z',
    });
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
    ['id when there is no message_id', { message_id: '', id: 'cb-1' }, 'cb-1'],
  ])('message_key is %s', (_what, ids, key) => {
    expect(enrich(postSample(ids)).message_key).toBe(key);
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
