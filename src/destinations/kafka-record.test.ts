import { describe, expect, it } from 'vitest';
import { EVENT_SCHEMA_VERSION } from '../event.js';
import { kafkaRecord } from './kafka-record.js';

describe('kafkaRecord', () => {
  const item = { eventId: '0190a6c2-0000-7000-8000-000000000001', messageKey: 'msg-1:1', type: 'sms.delivered', body: '{"status":"Delivered"}' };

  it('keys the record by message_key and keeps the stored JSON as the value, untouched', () => {
    expect(kafkaRecord(item)).toMatchObject({ key: 'msg-1:1', value: '{"status":"Delivered"}' });
  });

  it('carries event-type, schema-version, event-id and content-type headers', () => {
    expect(kafkaRecord(item).headers).toEqual({
      'event-type': 'sms.delivered',
      'schema-version': String(EVENT_SCHEMA_VERSION),
      'event-id': '0190a6c2-0000-7000-8000-000000000001',
      'content-type': 'application/json',
    });
  });
});
