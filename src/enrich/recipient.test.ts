import { describe, expect, it } from 'vitest';
import { toE164 } from './recipient.js';

describe('toE164', () => {
  it("Kaleyra's sample recipient '919620838XXX' is masked and has no E.164 form", () => {
    expect(toE164('919620838XXX', 'IN')).toEqual({ e164: null, masked: true });
  });

  describe('an MSISDN with its country code and no "+", as Kaleyra sends it', () => {
    it.each<[string, string | null, string]>([
      ['919620838123', 'IN', '+919620838123'],
      ['919620838123', null, '+919620838123'],
      ['18830907123', 'US', '+18830907123'],
      ['447946095812', 'GB', '+447946095812'],
    ])('%s with iso_code %s is %s', (raw, iso, e164) => {
      expect(toE164(raw, iso)).toEqual({ e164, masked: false });
    });

    it('an iso_code this library does not know is ignored', () => {
      expect(toE164('919620838123', 'ZZ')).toEqual({ e164: '+919620838123', masked: false });
    });
  });

  describe('a number already in international form', () => {
    it.each<[string, string | null, string]>([
      ['+18830907123', null, '+18830907123'],
      ['+18830907123', 'IN', '+18830907123'],
      ['+1 883-090-7123', null, '+18830907123'],
      ['+91 (962) 083.8123', 'IN', '+919620838123'],
      // A "+" turned into a space by form-decoding a GET callback.
      [' 18830907123', 'IN', '+18830907123'],
      [' 919620838123', null, '+919620838123'],
      // 00 is the international prefix.
      ['0044 20 7946 0958', 'IN', '+442079460958'],
      ['00919620838123', null, '+919620838123'],
    ])('%j (iso_code %s) is %s', (raw, iso, e164) => {
      expect(toE164(raw, iso)).toEqual({ e164, masked: false });
    });
  });

  describe('a national number is completed with the iso_code', () => {
    it.each<[string, string, string]>([
      ['09620838123', 'IN', '+919620838123'],
      ['9620838123', 'IN', '+919620838123'],
      ['07946 095812', 'GB', '+447946095812'],
      ['(883) 090-7123', 'US', '+18830907123'],
    ])('%j in %s is %s', (raw, iso, e164) => {
      expect(toE164(raw, iso)).toEqual({ e164, masked: false });
    });

    it('a national number that happens to start with the country code digits is still national', () => {
      expect(toE164('9123456789', 'IN')).toEqual({ e164: '+919123456789', masked: false });
    });

    it('a national number without an iso_code cannot be completed', () => {
      expect(toE164('9620838123', null).e164).toBeNull();
    });
  });

  describe('masked numbers', () => {
    it.each([['919620838XXX'], ['919620838xxx'], ['+91 96208 38***'], ['9196208####']])('%j is masked', (raw) => {
      expect(toE164(raw, 'IN')).toEqual({ e164: null, masked: true });
    });
  });

  describe('what is not a phone number has no E.164 form', () => {
    it.each<[string, string | null]>([
      ['null', null],
      ['an empty string', ''],
      ['words', 'unknown'],
      ['too short', '12345'],
      ['too long', '1234567890123456'],
      ['a letter among digits', '91962083812a'],
      ['just a plus', '+'],
    ])('%s', (_what, raw) => {
      expect(toE164(raw, 'IN')).toEqual({ e164: null, masked: false });
    });

    it('text that merely contains an "x" is not a masked number', () => {
      expect(toE164('text', null)).toEqual({ e164: null, masked: false });
    });
  });
});
