import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { formatEventLine, parseDeliveryEvent } from '../src/consumer.js';
import { sampleEvent } from './sample-event.js';

describe('parseDeliveryEvent', () => {
  it('reads a Kafka message value (a Buffer) back into the typed event', () => {
    const event = parseDeliveryEvent(Buffer.from(JSON.stringify(sampleEvent())));
    expect(event).toEqual(sampleEvent());
    expect(event.status_class).toBe('undelivered');
  });

  it('reads a string too', () => {
    expect(parseDeliveryEvent(JSON.stringify(sampleEvent())).message_key).toBe('ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1');
  });

  it('throws a SyntaxError for a value that is not JSON', () => {
    expect(() => parseDeliveryEvent('not json')).toThrow(SyntaxError);
  });

  it('throws a ZodError naming the field for JSON that is not a delivery event', () => {
    const { price: _price, ...withoutPrice } = sampleEvent();
    expect(() => parseDeliveryEvent(JSON.stringify(withoutPrice))).toThrow(ZodError);
    expect(() => parseDeliveryEvent(JSON.stringify(withoutPrice))).toThrow(/price/);
    expect(() => parseDeliveryEvent(JSON.stringify({ ...sampleEvent(), price: 0.001354 }))).toThrow(ZodError);
  });
});

describe('formatEventLine', () => {
  it("prints the POST sample's event on one line: when, where, who, status, class, trace, key", () => {
    expect(formatEventLine(sampleEvent())).toBe(
      '2022-04-05T08:55:50.000Z IN 919620838XXX Undelivered -> undelivered (final) REJECTED-MULTIPART ' +
        'msg=ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1 profile=default "Validation fail [SMS over 160 characters]"',
    );
  });

  it('falls back to received_at, the E.164 number and flags a stale interim report', () => {
    const line = formatEventLine(
      sampleEvent({ status_time: null, recipient_e164: '+919620838123', status: 'Sent', status_class: 'pending', status_final: false, stale: true, status_trace: null, description: null, iso_code: null }),
    );
    expect(line).toBe('2022-04-05T08:55:51.000Z -- +919620838123 Sent -> pending (interim,stale) msg=ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1 profile=default');
  });
});
