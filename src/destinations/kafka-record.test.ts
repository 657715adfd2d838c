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

  it('carries the delivery trace context as traceparent and tracestate headers', () => {
    const trace = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', parentId: 'b7ad6b7169203331', flags: '01', tracestate: 'vendor=abc' };
    expect(kafkaRecord({ ...item, trace }).headers).toMatchObject({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'vendor=abc' });
    expect(kafkaRecord({ ...item, trace: { ...trace, tracestate: null } }).headers).not.toHaveProperty('tracestate');
  });
});
