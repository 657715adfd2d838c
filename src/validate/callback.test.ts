import { describe, expect, it } from 'vitest';
import { fieldsFromQuery } from '../ingest/parse.js';
import { mulberry32 } from '../testing/random.js';
import { GET_SAMPLE_QUERY, postSample } from '../testing/samples.js';
import { KaleyraCallbackSchema, MAX_DESCRIPTION_CHARS, MAX_FIELD_CHARS, validateCallback, type KaleyraCallback, type ValidationResult } from './callback.js';

/** Kaleyra's POST sample, copied from ../shared/reference/kaleyra-callback-profiles.txt. */
const KALEYRA_POST_SAMPLE = {
  sender: 'TEST',
  recipient: '919620838XXX',
  type: 'DEFAULT',
  flash: 0,
  total: 1,
  source: 'API',
  price: '0.001354',
  iso_code: 'IN',
  message_id: 'ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1',
  country_name: 'India',
  campaign_name: '',
  length: 5,
  units: 1,
  sent_time: '2022-04-05 09:55:50',
  status_time: '2022-04-05 08:55:50+00:00',
  status_trace: 'REJECTED-MULTIPART',
  status: 'Undelivered',
  description: 'Validation fail [SMS over 160 characters]',
  id: 'ebccc6ff-6311-4XXc-b23d-afe6fXXXXXf6',
  ref: '',
  ref1: '',
  ref2: '',
};

function accepted(result: ValidationResult): KaleyraCallback {
  if (!result.ok) throw new Error(`expected the callback to validate: ${JSON.stringify(result.problems)}`);
  return result.callback;
}

describe('validateCallback', () => {
  it('the test helper postSample() is the reference sample, field for field', () => {
    expect(postSample()).toEqual(KALEYRA_POST_SAMPLE);
  });

  it("accepts the provider's POST sample, with numbers, flag and empty refs normalized", () => {
    expect(accepted(validateCallback(KALEYRA_POST_SAMPLE))).toEqual({
      sender: 'TEST',
      recipient: '919620838XXX',
      type: 'DEFAULT',
      flash: false,
      total: 1,
      source: 'API',
      price: '0.001354',
      iso_code: 'IN',
      message_id: 'ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1',
      country_name: 'India',
      campaign_name: null,
      length: 5,
      units: 1,
      sent_time: '2022-04-05 09:55:50',
      status_time: '2022-04-05 08:55:50+00:00',
      status_trace: 'REJECTED-MULTIPART',
      status: 'Undelivered',
      description: 'Validation fail [SMS over 160 characters]',
      id: 'ebccc6ff-6311-4XXc-b23d-afe6fXXXXXf6',
      ref: null,
      ref1: null,
      ref2: null,
    });
  });

  it('does not change the object it is given', () => {
    const fields = { ...KALEYRA_POST_SAMPLE };
    validateCallback(fields);
    expect(fields).toEqual(KALEYRA_POST_SAMPLE);
  });

  it("accepts the provider's GET sample, where every value is a string", () => {
    const cb = accepted(validateCallback(fieldsFromQuery(GET_SAMPLE_QUERY)));
    expect(cb).toMatchObject({
      status: 'Not Sent',
      status_trace: 'BLACKLIST',
      description: 'Rejected as the number is blacklisted by operator.',
      id: '84352649-f610-4fd7-b7de-c163be9b1XXX',
      flash: false,
      price: '0.001354',
      total: 1,
      length: 5,
      units: 1,
      campaign_name: null,
      ref: null,
      ref1: null,
      ref2: null,
      // The "+" of "+00:00" is a space after form-decoding; time parsing deals with it.
      status_time: '2022-04-05 08:55:50 00:00',
    });
  });

  it('the POST sample with every value sent as a string validates to the same callback', () => {
    const asStrings = Object.fromEntries(Object.entries(KALEYRA_POST_SAMPLE).map(([k, v]) => [k, String(v)]));
    expect(accepted(validateCallback(asStrings))).toEqual(accepted(validateCallback(KALEYRA_POST_SAMPLE)));
  });

  it('keeps fields it does not know, exactly as sent', () => {
    const cb = accepted(validateCallback({ ...KALEYRA_POST_SAMPLE, dlr_code: '000', extra: { nested: [1] } }));
    expect(cb).toMatchObject({ dlr_code: '000', extra: { nested: [1] } });
  });

  it('trims text values', () => {
    const cb = accepted(validateCallback({ ...KALEYRA_POST_SAMPLE, status: '  Delivered \n', iso_code: ' IN ' }));
    expect(cb.status).toBe('Delivered');
    expect(cb.iso_code).toBe('IN');
  });

  it('turns numbers and booleans in text fields into text', () => {
    const cb = accepted(validateCallback({ status: 'Delivered', id: 12345, ref: true, ref1: 0 }));
    expect(cb).toMatchObject({ id: '12345', ref: 'true', ref1: '0' });
  });

  describe('the price, an exact decimal', () => {
    it.each<[unknown, string]>([
      ['0.001354', '0.001354'],
      [0.001354, '0.001354'],
      [' 0.5 ', '0.5'],
      ['.5', '0.5'],
      ['+1.25', '1.25'],
      ['-0.02', '-0.02'],
      ['0', '0'],
      [3, '3'],
      // Digits a binary float would lose are kept.
      ['0.10000000000000000555', '0.10000000000000000555'],
    ])('%j is the decimal %j', (value, decimal) => {
      expect(accepted(validateCallback({ ...KALEYRA_POST_SAMPLE, price: value })).price).toBe(decimal);
    });

    it('a JSON number too small for plain notation is not a price (its exact digits are gone)', () => {
      expect(accepted(validateCallback({ ...KALEYRA_POST_SAMPLE, price: 1e-7 })).price).toBeNull();
    });
  });

  describe('field lengths', () => {
    it('refuses a standard field longer than any Kaleyra value, naming it', () => {
      const r = validateCallback({ ...KALEYRA_POST_SAMPLE, type: 'OTP'.repeat(80_000) });
      expect(r.ok).toBe(false);
      expect(!r.ok && r.problems).toEqual([{ field: 'type', problem: 'is 240000 characters long: over the limit of 1024 for a Kaleyra field' }]);
    });

    it('allows a longer description, up to its own limit', () => {
      expect(validateCallback({ ...KALEYRA_POST_SAMPLE, description: 'x'.repeat(4_000) }).ok).toBe(true);
      expect(validateCallback({ ...KALEYRA_POST_SAMPLE, description: 'x'.repeat(4_097) }).ok).toBe(false);
    });

    it('does not cap fields it does not know (they are only kept in raw)', () => {
      expect(validateCallback({ ...KALEYRA_POST_SAMPLE, note: 'x'.repeat(10_000) }).ok).toBe(true);
    });
  });

  describe('numeric fields', () => {
    it.each<[string, unknown, number]>([
      ['total', '1', 1],
      ['length', ' 5 ', 5],
      ['units', '2', 2],
      ['units', 2, 2],
    ])('%s %j is the number %d', (field, value, n) => {
      expect(accepted(validateCallback({ ...KALEYRA_POST_SAMPLE, [field]: value }))[field as 'price']).toBe(n);
    });

    it.each<[string, unknown]>([
      ['price', 'free'],
      ['price', '0,001354'],
      ['price', ''],
      ['price', '   '],
      ['price', 'Infinity'],
      ['price', Number.NaN],
      ['price', true],
      ['price', { amount: 1 }],
      ['total', [1]],
      ['length', null],
      ['units', '1 part'],
    ])('%s %j becomes null instead of rejecting the callback', (field, value) => {
      expect(accepted(validateCallback({ ...KALEYRA_POST_SAMPLE, [field]: value }))[field as 'price']).toBeNull();
    });

    it('hexadecimal text is not a price', () => {
      expect(accepted(validateCallback({ ...KALEYRA_POST_SAMPLE, price: '0x10' })).price).toBeNull();
    });
  });

  describe('text fields holding objects or arrays become null', () => {
    it.each<[string, unknown]>([
      ['description', { text: 'x' }],
      ['status_trace', ['REJECTED-MULTIPART']],
      ['ref', {}],
      ['recipient', null],
    ])('%s %j', (field, value) => {
      expect(accepted(validateCallback({ ...KALEYRA_POST_SAMPLE, [field]: value }))[field as 'ref']).toBeNull();
    });
  });

  describe('flash', () => {
    it.each<[unknown, boolean | null]>([
      [true, true],
      [1, true],
      ['1', true],
      ['true', true],
      ['TRUE', true],
      ['yes', true],
      [false, false],
      [0, false],
      ['0', false],
      ['false', false],
      ['no', false],
      ['', null],
      [2, null],
      ['maybe', null],
      [undefined, null],
    ])('%j is %j', (value, flag) => {
      expect(accepted(validateCallback({ ...KALEYRA_POST_SAMPLE, flash: value })).flash).toBe(flag);
    });
  });

  describe('what cannot be an event is refused, naming the field', () => {
    it('a missing status is a problem on field "status"', () => {
      const { status: _status, ...noStatus } = KALEYRA_POST_SAMPLE;
      const result = validateCallback(noStatus);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.problems).toEqual([{ field: 'status', problem: expect.stringMatching(/status/) }]);
    });

    it.each([[''], ['   '], [null], [{}]])('status %j is a problem on field "status"', (status) => {
      const result = validateCallback({ ...KALEYRA_POST_SAMPLE, status });
      expect(result).toEqual({ ok: false, problems: [{ field: 'status', problem: expect.any(String) }] });
    });

    it('neither id nor message_id is a problem on field "id"', () => {
      const result = validateCallback({ ...KALEYRA_POST_SAMPLE, id: '', message_id: undefined });
      expect(result).toEqual({ ok: false, problems: [{ field: 'id', problem: expect.stringMatching(/message_id/) }] });
    });

    it('an empty object reports both problems', () => {
      const result = validateCallback({});
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.problems.map((p) => p.field).sort()).toEqual(['id', 'status']);
    });
  });

  it.each([
    ['only message_id', { message_id: 'm-1:1' }, { message_id: 'm-1:1', id: null }],
    ['only id', { id: 'cb-1' }, { message_id: null, id: 'cb-1' }],
  ])('%s is enough to tie the report to a message', (_what, ids, expected) => {
    const cb = accepted(validateCallback({ status: 'Delivered', ...ids }));
    expect(cb).toMatchObject(expected);
  });

  it('a minimal callback has every known field, null when absent', () => {
    const cb = accepted(validateCallback({ status: 'Delivered', id: 'x' }));
    expect(cb).toEqual({
      id: 'x',
      message_id: null,
      status: 'Delivered',
      status_trace: null,
      description: null,
      status_time: null,
      sent_time: null,
      sender: null,
      recipient: null,
      type: null,
      source: null,
      iso_code: null,
      country_name: null,
      campaign_name: null,
      price: null,
      flash: null,
      total: null,
      length: null,
      units: null,
      ref: null,
      ref1: null,
      ref2: null,
    });
  });
});

describe('validateCallback without zod for a callback that passes (the schema stays the definition)', () => {
  /** What the schema alone answers, as validateCallback shapes it. */
  function bySchema(fields: unknown): ValidationResult {
    const parsed = KaleyraCallbackSchema.safeParse(fields);
    if (parsed.success) return { ok: true, callback: parsed.data as KaleyraCallback };
    return { ok: false, problems: parsed.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', problem: i.message })) };
  }
  /** Equal in every way a reader could see: result, values, key order, prototype. */
  function expectSame(fields: unknown): void {
    const direct = validateCallback(fields as Record<string, unknown>);
    const schema = bySchema(fields);
    expect(direct).toEqual(schema);
    if (direct.ok && schema.ok) {
      expect(Object.keys(direct.callback)).toEqual(Object.keys(schema.callback));
      expect(Object.getPrototypeOf(direct.callback)).toBe(Object.getPrototypeOf(schema.callback));
    }
  }

  const KNOWN = ['id', 'message_id', 'status', 'status_trace', 'description', 'status_time', 'sent_time', 'sender', 'recipient', 'type', 'source', 'iso_code', 'country_name', 'campaign_name', 'price', 'flash', 'total', 'length', 'units', 'ref', 'ref1', 'ref2'];
  const UNKNOWN = ['extra', 'custom_field', 'dlr_url', '1', '0', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'z'];

  it('makes what the schema makes for Kaleyra’s samples, POST and GET', () => {
    expectSame(KALEYRA_POST_SAMPLE);
    expectSame(postSample({ status: 'Delivered', status_trace: 'DELIVRD', flash: '1', price: 0.0042, total: '2', extra: { nested: [1] } }));
    expectSame(fieldsFromQuery(GET_SAMPLE_QUERY));
  });

  it('makes what the schema makes, or refuses as it does, over 20,000 generated callbacks', () => {
    const rand = mulberry32(20261127);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const values = (): unknown =>
      pick([
        () => '',
        () => '   ',
        () => ` ${Math.floor(rand() * 1e6)} `,
        () => 'Delivered',
        () => 'x'.repeat(pick([MAX_FIELD_CHARS, MAX_FIELD_CHARS + 1, MAX_DESCRIPTION_CHARS, MAX_DESCRIPTION_CHARS + 1])),
        () => pick(['0.001354', ' .5 ', '-3', '+2.50', '1e3', '0x10', 'abc', '.', '12.', 'yes', 'N', 'TRUE', '1', '0']),
        () => pick([0, 1, -0, 2.5, 1e21, 1e-7, NaN, Infinity, -Infinity, 0.001354, 42]),
        () => pick([true, false]),
        () => null,
        () => undefined,
        () => [1, 'a'],
        () => ({ a: 1 }),
        () => 'Ünïcödé ✓ 短信',
      ])();
    for (let n = 0; n < 20_000; n++) {
      const fields: Record<string, unknown> = {};
      const keys = [...KNOWN, ...UNKNOWN].filter(() => rand() < 0.5);
      // Most generated callbacks have what an event needs, so the direct path is exercised.
      if (rand() < 0.7) keys.push('status', pick(['id', 'message_id']));
      for (const k of keys.sort(() => rand() - 0.5)) fields[k] = k === 'status' || k === 'id' || k === 'message_id' ? (rand() < 0.8 ? `v${n}` : values()) : values();
      expectSame(fields);
    }
  });

  it('leaves to the schema what is not a plain object of fields, or has a __proto__ key', () => {
    for (const odd of [null, [], ['status'], 'status=x', 42, Object.assign(Object.create({ inherited: 1 }), { status: 'S', id: 'i' })]) expectSame(odd);
    expectSame(JSON.parse('{"__proto__": {"polluted": 1}, "status": "Delivered", "id": "i"}'));
    expectSame(Object.assign(Object.create(null), { status: 'Delivered', id: 'i', extra: 1 }));
  });
});
