import { describe, expect, it } from 'vitest';
import { GET_SAMPLE_QUERY, postSample } from '../testing/samples.js';
import { fieldsFromQuery, parseCallbackBody, type ParseResult } from './parse.js';

const SAMPLE_JSON = JSON.stringify(postSample());

function fields(result: ParseResult): Record<string, unknown> {
  if (!result.ok) throw new Error(`expected the body to parse: ${result.message}`);
  return result.fields;
}

describe('fieldsFromQuery', () => {
  it("reads the provider's GET sample, free text and empty values included", () => {
    expect(fieldsFromQuery(GET_SAMPLE_QUERY)).toMatchObject({
      status: 'Not Sent',
      status_trace: 'BLACKLIST',
      description: 'Rejected as the number is blacklisted by operator.',
      id: '84352649-f610-4fd7-b7de-c163be9b1XXX',
      flash: '0',
      price: '0.001354',
      ref: '',
      ref1: '',
      ref2: '',
    });
  });

  it('decodes a raw "+" to a space, as form rules say (status_time "+00:00" becomes " 00:00")', () => {
    expect(fieldsFromQuery('status_time=2022-04-05%2008:55:50+00:00').status_time).toBe('2022-04-05 08:55:50 00:00');
  });

  it('keeps a "+" that was percent-encoded', () => {
    expect(fieldsFromQuery('status_time=2022-04-05%2008:55:50%2B00:00').status_time).toBe('2022-04-05 08:55:50+00:00');
  });

  it('keeps the first value of a repeated key', () => {
    expect(fieldsFromQuery('status=Delivered&status=Sent&id=1')).toEqual({ status: 'Delivered', id: '1' });
  });

  it('accepts a leading "?"', () => {
    expect(fieldsFromQuery('?status=Delivered')).toEqual({ status: 'Delivered' });
  });

  it.each([[''], ['?']])('an empty query %j has no fields', (q) => {
    expect(fieldsFromQuery(q)).toEqual({});
  });

  it('a key without "=" has an empty value', () => {
    expect(fieldsFromQuery('ref&status=Sent')).toEqual({ ref: '', status: 'Sent' });
  });
});

describe('parseCallbackBody', () => {
  describe("JSON, the provider's POST form", () => {
    it.each([
      ['application/json', 'application/json'],
      ['application/json with a charset', 'application/json; charset=utf-8'],
      ['no content-type', null],
      ['text/plain', 'text/plain'],
      // curl -d sends a JSON body with the form content-type.
      ['the form content-type (curl -d)', 'application/x-www-form-urlencoded'],
      ['the form content-type in capitals', 'Application/X-WWW-Form-Urlencoded; charset=UTF-8'],
    ])('with %s is read as JSON', (_what, contentType) => {
      expect(fields(parseCallbackBody(SAMPLE_JSON, contentType))).toEqual(postSample());
    });

    it('keeps value types as sent (numbers stay numbers)', () => {
      expect(fields(parseCallbackBody(SAMPLE_JSON, 'application/json'))).toMatchObject({ flash: 0, total: 1, price: '0.001354' });
    });

    it('skips a byte-order mark', () => {
      expect(fields(parseCallbackBody(`\uFEFF${SAMPLE_JSON}`, 'application/json'))).toEqual(postSample());
    });

    it('skips a byte-order mark before a JSON body sent as a form (curl -d)', () => {
      expect(fields(parseCallbackBody(`\uFEFF${SAMPLE_JSON}`, 'application/x-www-form-urlencoded'))).toEqual(postSample());
    });

    it('allows whitespace around the JSON', () => {
      expect(fields(parseCallbackBody(`\n  ${SAMPLE_JSON}  \n`, 'application/x-www-form-urlencoded'))).toEqual(postSample());
    });

    it('ignores the query string when the body has fields', () => {
      expect(fields(parseCallbackBody('{"status":"Delivered","id":"1"}', null, 'status=Sent&extra=1'))).toEqual({
        status: 'Delivered',
        id: '1',
      });
    });
  });

  describe('form bodies', () => {
    it('x-www-form-urlencoded is read like a GET query, "+" as a space', () => {
      expect(fields(parseCallbackBody(GET_SAMPLE_QUERY, 'application/x-www-form-urlencoded'))).toEqual(
        fieldsFromQuery(GET_SAMPLE_QUERY),
      );
    });

    it.each([
      ['no content-type', null],
      ['text/plain', 'text/plain'],
      ['application/octet-stream', 'application/octet-stream'],
    ])('a form-looking body with %s is read as a form', (_what, contentType) => {
      expect(fields(parseCallbackBody('status=Not+Sent&id=1&ref=', contentType))).toEqual({
        status: 'Not Sent',
        id: '1',
        ref: '',
      });
    });

    it('a form-looking body declared as JSON is an error, not a form', () => {
      const result = parseCallbackBody('status=Delivered&id=1', 'application/json');
      expect(result).toEqual({ ok: false, error: 'invalid_body', message: expect.stringContaining('JSON') });
    });

    it('a form body keeps the first value of a repeated key', () => {
      expect(fields(parseCallbackBody('status=Delivered&status=Sent', 'application/x-www-form-urlencoded'))).toEqual({
        status: 'Delivered',
      });
    });
  });

  describe('an empty body', () => {
    it.each([[''], ['   \n'], ['\uFEFF']])('%j with no query is an error', (body) => {
      expect(parseCallbackBody(body, 'application/json')).toEqual({
        ok: false,
        error: 'invalid_body',
        message: expect.stringContaining('empty'),
      });
    });

    it('takes the fields from the query string when it has any (POST with the fields in the URL)', () => {
      expect(fields(parseCallbackBody('', 'application/json', GET_SAMPLE_QUERY))).toEqual(fieldsFromQuery(GET_SAMPLE_QUERY));
    });

    it('with an empty query is still an error', () => {
      expect(parseCallbackBody('', null, '?').ok).toBe(false);
    });
  });

  describe('what is not a JSON object is an error', () => {
    it.each([
      ['not JSON at all', 'not json', 'application/json'],
      ['truncated JSON', SAMPLE_JSON.slice(0, -1), 'application/json'],
      ['truncated JSON with no content-type', SAMPLE_JSON.slice(0, -1), null],
      ['truncated JSON sent as a form', SAMPLE_JSON.slice(0, -1), 'application/x-www-form-urlencoded'],
      ['free text with no content-type', 'Delivered', null],
    ])('%s: the message says JSON', (_what, body, contentType) => {
      expect(parseCallbackBody(body, contentType)).toEqual({
        ok: false,
        error: 'invalid_body',
        message: expect.stringMatching(/not valid JSON/),
      });
    });

    it.each([
      ['an array', '[{"status":"Delivered"}]', 'the body is an array, not a JSON object'],
      ['null', 'null', 'the body is null, not a JSON object'],
      ['a number', '42', 'the body is a number, not a JSON object'],
      ['a string', '"Delivered"', 'the body is a string, not a JSON object'],
      ['a boolean', 'true', 'the body is a boolean, not a JSON object'],
    ])('%s is "not a JSON object"', (_what, body, message) => {
      expect(parseCallbackBody(body, 'application/json')).toEqual({ ok: false, error: 'invalid_body', message });
    });
  });
});
