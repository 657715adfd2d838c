import { describe, expect, it } from 'vitest';
import { toIsoUtc } from './time.js';

describe('toIsoUtc', () => {
  describe("Kaleyra's own samples", () => {
    it('status_time "2022-04-05 08:55:50+00:00" is 08:55:50 UTC', () => {
      expect(toIsoUtc('2022-04-05 08:55:50+00:00')).toBe('2022-04-05T08:55:50.000Z');
    });

    it('status_time after GET form-decoding ("+" became a space) reads the same', () => {
      expect(toIsoUtc('2022-04-05 08:55:50 00:00')).toBe('2022-04-05T08:55:50.000Z');
    });

    it('sent_time "2022-04-05 09:55:50" (no zone) is read in UTC by default', () => {
      expect(toIsoUtc('2022-04-05 09:55:50')).toBe('2022-04-05T09:55:50.000Z');
    });

    it('sent_time "2022-04-05 09:55:50" read in Asia/Kolkata is 04:25:50 UTC', () => {
      expect(toIsoUtc('2022-04-05 09:55:50', 'Asia/Kolkata')).toBe('2022-04-05T04:25:50.000Z');
    });
  });

  describe('explicit offsets win over the default zone', () => {
    it.each([
      ['2022-04-05 09:55:50+05:30', '2022-04-05T04:25:50.000Z'],
      ['2022-04-05 09:55:50 05:30', '2022-04-05T04:25:50.000Z'], // "+05:30" form-decoded
      ['2022-04-05 09:55:50+0530', '2022-04-05T04:25:50.000Z'],
      ['2022-04-05 09:55:50 0530', '2022-04-05T04:25:50.000Z'],
      ['2022-04-05 09:55:50+05', '2022-04-05T04:55:50.000Z'],
      ['2022-04-05 04:55:50-0400', '2022-04-05T08:55:50.000Z'],
      ['2022-04-05 04:55:50-04:00', '2022-04-05T08:55:50.000Z'],
      ['2022-04-05 08:55:50Z', '2022-04-05T08:55:50.000Z'],
      ['2022-04-05 08:55:50z', '2022-04-05T08:55:50.000Z'],
      ['2022-04-05 08:55:50 Z', '2022-04-05T08:55:50.000Z'],
    ])('%j is %s', (input, iso) => {
      expect(toIsoUtc(input, 'Asia/Kolkata')).toBe(iso);
    });

    it('an offset that crosses midnight moves the date', () => {
      expect(toIsoUtc('2022-04-05 02:00:00+05:30')).toBe('2022-04-04T20:30:00.000Z');
    });
  });

  describe('the ISO "T" form', () => {
    it.each([
      ['2022-04-05T08:55:50Z', '2022-04-05T08:55:50.000Z'],
      ['2022-04-05T08:55:50+00:00', '2022-04-05T08:55:50.000Z'],
      ['2022-04-05T14:25:50+05:30', '2022-04-05T08:55:50.000Z'],
      ['2022-04-05t08:55:50z', '2022-04-05T08:55:50.000Z'],
      ['2022-04-05T08:55', '2022-04-05T08:55:00.000Z'],
    ])('%j is %s', (input, iso) => {
      expect(toIsoUtc(input)).toBe(iso);
    });
  });

  describe('fractions of a second are kept to the millisecond', () => {
    it.each([
      ['2022-04-05T08:55:50.123Z', '2022-04-05T08:55:50.123Z'],
      ['2022-04-05T08:55:50.5Z', '2022-04-05T08:55:50.500Z'],
      ['2022-04-05T08:55:50.123456789Z', '2022-04-05T08:55:50.123Z'],
      ['2022-04-05 08:55:50,25+00:00', '2022-04-05T08:55:50.250Z'],
      ['2022-04-05 08:55:50.999 00:00', '2022-04-05T08:55:50.999Z'],
    ])('%j is %s', (input, iso) => {
      expect(toIsoUtc(input)).toBe(iso);
    });
  });

  describe('epoch numbers', () => {
    it('10 digits are epoch seconds', () => {
      expect(toIsoUtc('1649148950')).toBe('2022-04-05T08:55:50.000Z');
    });

    it('13 digits are epoch milliseconds', () => {
      expect(toIsoUtc('1649148950123')).toBe('2022-04-05T08:55:50.123Z');
    });

    it('an epoch ignores the default zone', () => {
      expect(toIsoUtc('1649148950', 'Asia/Kolkata')).toBe('2022-04-05T08:55:50.000Z');
    });
  });

  it('surrounding whitespace is ignored', () => {
    expect(toIsoUtc('  2022-04-05 08:55:50+00:00 \n')).toBe('2022-04-05T08:55:50.000Z');
  });

  it('a zone-less stamp in a zone with daylight saving uses that day\'s offset', () => {
    expect(toIsoUtc('2022-07-01 12:00:00', 'America/New_York')).toBe('2022-07-01T16:00:00.000Z');
    expect(toIsoUtc('2022-01-15 12:00:00', 'America/New_York')).toBe('2022-01-15T17:00:00.000Z');
  });

  it('a zone-less stamp just after a daylight-saving change uses the new offset', () => {
    expect(toIsoUtc('2022-03-13 05:00:00', 'America/New_York')).toBe('2022-03-13T09:00:00.000Z');
  });

  describe('what is not a timestamp is null', () => {
    it.each([
      ['null', null],
      ['an empty string', ''],
      ['garbage', 'yesterday'],
      ['a date alone', '2022-04-05'],
      ['a US-style date', '04/05/2022 08:55:50'],
      ['an invalid month', '2022-13-05 08:55:50'],
      ['an invalid hour', '2022-04-05 24:00:00'],
      ['an invalid minute', '2022-04-05 08:60:00'],
      ['an invalid second', '2022-04-05 08:55:60'],
      ['day 32', '2022-04-32 08:55:50'],
      ['9 digits (not an epoch)', '164914895'],
      ['a trailing word', '2022-04-05 08:55:50 UTC+1'],
    ])('%s', (_what, input) => {
      expect(toIsoUtc(input)).toBeNull();
    });

    it.each([
      ['month 00 (rolls back to the previous December)', '2022-00-10 08:55:50'],
      ['day 00 (rolls back to the previous month)', '2022-04-00 08:55:50'],
      ['30 February (rolls into March)', '2022-02-30 08:55:50'],
      ['31 April (rolls into May)', '2022-04-31 08:55:50'],
    ])('%s', (_what, input) => {
      expect(toIsoUtc(input)).toBeNull();
    });
  });
});
