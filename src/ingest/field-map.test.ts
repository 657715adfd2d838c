import { describe, expect, expectTypeOf, it } from 'vitest';
import { postSample } from '../testing/samples.js';
import { STANDARD_FIELDS, applyFieldMap, fieldMapSchema, type FieldMap } from './field-map.js';

describe('STANDARD_FIELDS', () => {
  it("are the provider's POST sample fields, in its order", () => {
    expect(STANDARD_FIELDS).toEqual(Object.keys(postSample()));
  });
});

describe('fieldMapSchema', () => {
  it('accepts standard fields mapped to dotted paths', () => {
    const map = { message_id: 'msgid', status: 'data.st', recipient: 'to.0' };
    expect(fieldMapSchema.parse(map)).toEqual(map);
    expectTypeOf(fieldMapSchema.parse(map)).toEqualTypeOf<FieldMap>();
  });

  it('accepts an empty map', () => {
    expect(fieldMapSchema.parse({})).toEqual({});
  });

  it('refuses a key that is not a standard field, naming it', () => {
    const result = fieldMapSchema.safeParse({ status: 'st', msgid: 'message_id', stauts: 'x' });
    expect(result.success).toBe(false);
    expect(result.error?.issues).toEqual([
      expect.objectContaining({ code: 'unrecognized_keys', message: expect.stringMatching(/^not a standard field: "msgid", "stauts" \(a field map's keys are sender, recipient/) }),
    ]);
  });

  it.each([[''], ['.st'], ['data.'], ['data..st']])('refuses the path %j, naming the field', (path) => {
    const result = fieldMapSchema.safeParse({ status: path });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({ path: ['status'], message: expect.stringContaining('names or indexes joined by dots') });
  });

  it('refuses a path that is not a string', () => {
    expect(fieldMapSchema.safeParse({ status: 3 }).success).toBe(false);
  });
});

describe('applyFieldMap', () => {
  /** The provider's sample as a custom template might nest and rename it. */
  const templated = {
    msgid: 'ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1',
    data: { st: 'Undelivered', trace: 'REJECTED-MULTIPART', when: { sent: '2022-04-05 09:55:50' } },
    to: ['919620838XXX'],
    id: 'ebccc6ff-6311-4XXc-b23d-afe6fXXXXXf6',
  };

  it('sets each mapped field from its path and keeps every original field', () => {
    const got = applyFieldMap(templated, {
      message_id: 'msgid',
      status: 'data.st',
      status_trace: 'data.trace',
      sent_time: 'data.when.sent',
      recipient: 'to.0',
    });
    expect(got).toEqual({
      ...templated,
      message_id: 'ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1',
      status: 'Undelivered',
      status_trace: 'REJECTED-MULTIPART',
      sent_time: '2022-04-05 09:55:50',
      recipient: '919620838XXX',
    });
  });

  it('does not change its input', () => {
    const input = { msgid: 'a:1' };
    applyFieldMap(input, { message_id: 'msgid' });
    expect(input).toEqual({ msgid: 'a:1' });
  });

  it('reads every path from the fields as they came, so a map can swap two names', () => {
    expect(applyFieldMap({ id: 'a:1', message_id: 'req' }, { id: 'message_id', message_id: 'id' })).toEqual({ id: 'req', message_id: 'a:1' });
  });

  it('leaves a field absent when its path leads nowhere, so validation reports it', () => {
    const got = applyFieldMap({ status: 'top-level', data: {} }, { status: 'data.st', message_id: 'nope', recipient: 'status.0' });
    expect(got).toEqual({ data: {} });
  });

  it('takes a value that is an object as it is (validation decides about it)', () => {
    expect(applyFieldMap({ data: { st: { code: '1' } } }, { status: 'data.st' }).status).toEqual({ code: '1' });
  });

  it('reads arrays by canonical index only', () => {
    const fields = { to: ['a', 'b'] };
    expect(applyFieldMap(fields, { recipient: 'to.1' }).recipient).toBe('b');
    expect(applyFieldMap(fields, { recipient: 'to.2' })).not.toHaveProperty('recipient');
    expect(applyFieldMap(fields, { recipient: 'to.01' })).not.toHaveProperty('recipient');
    expect(applyFieldMap(fields, { recipient: 'to.length' })).not.toHaveProperty('recipient');
    expect(applyFieldMap(fields, { recipient: 'to.-1' })).not.toHaveProperty('recipient');
  });

  it('walks own properties only, never into a prototype', () => {
    const fields = { data: { st: 'x' }, text: 'abc' };
    for (const path of ['constructor', 'data.constructor', 'data.__proto__', 'data.toString', 'text.length', '__proto__.polluted', 'data.hasOwnProperty']) {
      expect(applyFieldMap(fields, { status: path }), path).not.toHaveProperty('status');
    }
  });

  it('reads a field that is really named like a prototype property', () => {
    const fields = JSON.parse('{"__proto__":{"st":"Delivered"},"constructor":"a:1"}') as Record<string, unknown>;
    const got = applyFieldMap(fields, { status: '__proto__.st', message_id: 'constructor' });
    expect(got).toMatchObject({ status: 'Delivered', message_id: 'a:1' });
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(got, '__proto__')?.value).toEqual({ st: 'Delivered' });
  });

  it('prefers a flat key spelled like the whole path (form and query bodies)', () => {
    expect(applyFieldMap({ 'data.st': 'flat', data: { st: 'nested' } }, { status: 'data.st' }).status).toBe('flat');
  });

  it('with no mapped field returns the fields untouched', () => {
    const fields = { status: 'Delivered' };
    expect(applyFieldMap(fields, {})).toBe(fields);
  });

  it('ignores what a map has only through its prototype', () => {
    const map = Object.create({ status: 'st' }) as FieldMap;
    expect(applyFieldMap({ st: 'x', status: 'y' }, map)).toEqual({ st: 'x', status: 'y' });
  });
});
