import { afterEach, describe, expect, it } from 'vitest';
import { GET_SAMPLE_QUERY, postSample } from '../testing/samples.js';
import { PARSE_LIMITS, fieldsFromQuery, parseCallbackBody, parseCallbackQuery, type ParseResult } from './parse.js';

const SAMPLE_JSON = JSON.stringify(postSample());

function fields(result: ParseResult): Record<string, unknown> {
  if (!result.ok) throw new Error(`expected the body to parse: ${result.message}`);
  return result.fields;
}

/** The POST sample's values as every text-only body type carries them: strings. */
function sampleAsText(over: Record<string, unknown> = {}): Record<string, string> {
  return Object.fromEntries(Object.entries(postSample(over)).map(([k, v]) => [k, String(v)]));
}

const xmlEscape = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The provider's POST sample as an XML body template would render it: one element a field. */
function sampleXml(over: Record<string, unknown> = {}, root = 'DLR'): string {
  const elements = Object.entries(postSample(over)).map(([k, v]) => `  <${k}>${xmlEscape(String(v))}</${k}>`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}>\n${elements.join('\n')}\n</${root}>\n`;
}

/** The POST sample as a Text body template written one pair a line. */
function sampleText(eol = '\n', over: Record<string, unknown> = {}): string {
  return Object.entries(postSample(over))
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(eol);
}

function refused(result: ParseResult): { error: string; message: string } {
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.fields)}`);
  return { error: result.error, message: result.message };
}

/** Field names that are also Object.prototype's: they must stay ordinary fields. */
const PROTO_NAMES = ['constructor', 'toString', 'hasOwnProperty', 'valueOf', '__proto__'];

afterEach(() => {
  // Nothing a body says may reach Object.prototype.
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

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

describe('field names that Object.prototype also has', () => {
  const query = PROTO_NAMES.map((k) => `${k}=${k}-value`).join('&');
  const expected = Object.fromEntries(PROTO_NAMES.map((k) => [k, `${k}-value`]));

  function expectOwnFields(got: Record<string, unknown>): void {
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
    for (const k of PROTO_NAMES) expect(Object.getOwnPropertyDescriptor(got, k)?.value).toBe(`${k}-value`);
    expect(Object.keys(got)).toEqual(PROTO_NAMES);
  }

  it('are kept as own fields of a query', () => {
    expectOwnFields(fieldsFromQuery(query));
  });

  it('are kept as own fields of a form body', () => {
    expectOwnFields(fields(parseCallbackBody(query, 'application/x-www-form-urlencoded')));
  });

  it('are kept as own fields of a text body', () => {
    expectOwnFields(fields(parseCallbackBody(PROTO_NAMES.map((k) => `${k}=${k}-value`).join('\n'), 'text/plain')));
  });

  it('are kept as own fields of an XML body, as elements and as attributes', () => {
    const elements = PROTO_NAMES.map((k) => `<${k}>${k}-value</${k}>`).join('');
    expectOwnFields(fields(parseCallbackBody(`<DLR>${elements}</DLR>`, 'application/xml')));
    const attributes = PROTO_NAMES.map((k) => `${k}="${k}-value"`).join(' ');
    expectOwnFields(fields(parseCallbackBody(`<DLR ${attributes}/>`, 'application/xml')));
  });

  it('are kept as own fields of a JSON body, "__proto__" included', () => {
    expectOwnFields(fields(parseCallbackBody(JSON.stringify(expected), 'application/json')));
  });

  it('a JSON "__proto__" object stays data at every level and pollutes nothing', () => {
    const got = fields(parseCallbackBody('{"status":"Delivered","data":{"__proto__":{"polluted":true}},"__proto__":{"polluted":true}}', null));
    expect(Object.getOwnPropertyDescriptor(got, '__proto__')?.value).toEqual({ polluted: true });
    const data = got.data as Record<string, unknown>;
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(data, '__proto__')?.value).toEqual({ polluted: true });
    expect(JSON.parse(JSON.stringify(got))).toEqual(JSON.parse('{"status":"Delivered","data":{"__proto__":{"polluted":true}},"__proto__":{"polluted":true}}'));
  });

  it('a field map can read a field named like a prototype property, and only an own one', () => {
    expect(fields(parseCallbackBody('constructor=Delivered', null, '', { fieldMap: { status: 'constructor' } })).status).toBe('Delivered');
    expect(fields(parseCallbackBody('id=1', null, '', { fieldMap: { status: 'constructor' } }))).not.toHaveProperty('status');
  });
});

describe('XML bodies', () => {
  it.each([
    ['application/xml', 'application/xml'],
    ['text/xml with a charset', 'text/xml; charset=utf-8'],
    ['a +xml type', 'application/dlr+xml'],
    ['no content-type', null],
    ['text/plain', 'text/plain'],
    ['the form content-type (curl -d)', 'application/x-www-form-urlencoded'],
  ])("the provider's POST sample as XML, with %s, gives all 22 fields as strings", (_what, contentType) => {
    expect(fields(parseCallbackBody(sampleXml(), contentType))).toEqual(sampleAsText());
  });

  it('any root element name will do', () => {
    expect(fields(parseCallbackBody(sampleXml({}, 'deliveryReport'), 'text/xml'))).toEqual(sampleAsText());
  });

  it('skips a byte-order mark and whitespace before the document', () => {
    expect(fields(parseCallbackBody(`\uFEFF \n${sampleXml()}`, null))).toEqual(sampleAsText());
  });

  it('numbers stay strings (the validator converts them)', () => {
    expect(fields(parseCallbackBody('<DLR><flash>0</flash><price>0.001354</price><total>1e3</total></DLR>', 'text/xml'))).toEqual({
      flash: '0',
      price: '0.001354',
      total: '1e3',
    });
  });

  it('reads the fields from the root element\'s attributes too', () => {
    const attributes = Object.entries(sampleAsText())
      .map(([k, v]) => `${k}="${xmlEscape(v)}"`)
      .join(' ');
    expect(fields(parseCallbackBody(`<report ${attributes}/>`, 'application/xml'))).toEqual(sampleAsText());
  });

  it('attributes and child elements share one set of names; the first wins (attributes come first)', () => {
    expect(fields(parseCallbackBody('<DLR status="Delivered" id="1"><status>Sent</status><ref>r</ref></DLR>', 'text/xml'))).toEqual({
      status: 'Delivered',
      id: '1',
      ref: 'r',
    });
  });

  it('namespace declarations are not fields; prefixed names are kept as written', () => {
    expect(fields(parseCallbackBody('<k:DLR xmlns:k="urn:kaleyra" xmlns="urn:x"><k:status>Delivered</k:status></k:DLR>', 'text/xml'))).toEqual({
      'k:status': 'Delivered',
    });
  });

  it('decodes the predefined entities and character references in text and attributes', () => {
    const got = fields(
      parseCallbackBody(
        '<DLR ref="a &quot;b&quot; &apos;c&apos;"><description>Tom &amp; Jerry &lt;3 &gt; &#43;00:00 &#x2B;00:00 &#x1F600;</description></DLR>',
        'text/xml',
      ),
    );
    expect(got).toEqual({ ref: `a "b" 'c'`, description: 'Tom & Jerry <3 > +00:00 +00:00 \u{1F600}' });
  });

  it('the sample with "&" and "<" in its description round-trips', () => {
    const description = 'Validation fail [SMS over 160 characters] & <more>';
    expect(fields(parseCallbackBody(sampleXml({ description }), 'text/xml'))).toEqual(sampleAsText({ description }));
  });

  it('leaves any other entity reference as written: no custom entities, no HTML ones', () => {
    expect(fields(parseCallbackBody('<DLR><description>&nbsp;&custom;&#0;</description></DLR>', 'text/xml')).description).toBe('&nbsp;&custom;&#0;');
  });

  it('takes CDATA as written, entity-looking text included', () => {
    const got = fields(parseCallbackBody('<DLR><description><![CDATA[Tom &amp; Jerry <b>bold</b> ]]></description></DLR>', 'text/xml'));
    expect(got.description).toBe('Tom &amp; Jerry <b>bold</b> ');
  });

  it('joins text and CDATA, dropping indentation but not what CDATA holds', () => {
    expect(fields(parseCallbackBody('<DLR><d>\n  a &amp; <![CDATA[ b ]]> c\n</d></DLR>', 'text/xml')).d).toBe('a &  b  c');
  });

  it('an empty element is an empty string, as an empty value in the GET sample', () => {
    expect(fields(parseCallbackBody('<DLR><ref/><ref1></ref1><ref2>  </ref2></DLR>', 'text/xml'))).toEqual({ ref: '', ref1: '', ref2: '' });
  });

  it('nested elements become nested objects; an element with attributes keeps its text under "#text"', () => {
    const got = fields(
      parseCallbackBody('<DLR><msgid>a:1</msgid><data><st code="1">Delivered</st><to><n>9196</n></to></data></DLR>', 'text/xml'),
    );
    expect(got).toEqual({ msgid: 'a:1', data: { st: { code: '1', '#text': 'Delivered' }, to: { n: '9196' } } });
    expect(Object.getPrototypeOf(got.data)).toBe(Object.prototype);
  });

  it('a repeated element keeps its first occurrence, like a repeated form key', () => {
    expect(fields(parseCallbackBody('<DLR><status>Delivered</status><status>Sent</status></DLR>', 'text/xml'))).toEqual({ status: 'Delivered' });
  });

  it('ignores comments and processing instructions', () => {
    expect(fields(parseCallbackBody('<?xml version="1.0"?><!-- <status>x</status> --><DLR><?pi x?><status>Delivered</status></DLR>', null))).toEqual({
      status: 'Delivered',
    });
  });

  it('an empty root element has no fields (validation then says what is missing)', () => {
    expect(fields(parseCallbackBody('<DLR/>', 'text/xml'))).toEqual({});
  });

  it('with a field map, a nested template is read', () => {
    const body = '<DLR><msgid>a:1</msgid><data><st>Delivered</st></data><to><n>919620838XXX</n><n>1</n></to></DLR>';
    const got = fields(parseCallbackBody(body, 'text/xml', '', { fieldMap: { message_id: 'msgid', status: 'data.st', recipient: 'to.n' } }));
    expect(got).toMatchObject({ message_id: 'a:1', status: 'Delivered', recipient: '919620838XXX' });
  });

  describe('what is refused', () => {
    const billionLaughs =
      '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n' +
      Array.from({ length: 9 }, (_, i) => ` <!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('\n') +
      '\n]>\n<lolz><status>&lol9;</status></lolz>';

    it('a DOCTYPE with an entity bomb (billion laughs), quickly and without expanding it', () => {
      const started = performance.now();
      expect(refused(parseCallbackBody(billionLaughs, 'application/xml'))).toEqual({
        error: 'invalid_body',
        message: expect.stringMatching(/DOCTYPE declaration: refused/),
      });
      expect(performance.now() - started).toBeLessThan(100);
    });

    it.each([
      ['a DOCTYPE with no content-type', '<!DOCTYPE DLR><DLR><status>Delivered</status></DLR>', null, /DOCTYPE/],
      ['an external entity', '<!DOCTYPE DLR [<!ENTITY x SYSTEM "file:///etc/passwd">]><DLR><status>&x;</status></DLR>', 'text/xml', /DOCTYPE/],
      ['a DOCTYPE inside the root', '<DLR><!DOCTYPE x><status>Delivered</status></DLR>', 'text/xml', /DOCTYPE/],
      ['a bare ENTITY declaration', '<DLR><!ENTITY x "y"><status>Delivered</status></DLR>', 'text/xml', /ENTITY/],
    ])('%s', (_what, body, contentType, message) => {
      expect(refused(parseCallbackBody(body, contentType))).toEqual({ error: 'invalid_body', message: expect.stringMatching(message) });
    });

    it('but "<!DOCTYPE" inside CDATA is only text', () => {
      expect(fields(parseCallbackBody('<DLR><description><![CDATA[<!DOCTYPE x>]]></description></DLR>', 'text/xml')).description).toBe('<!DOCTYPE x>');
    });

    it.each([
      ['a mismatched closing tag', '<DLR><status>Delivered</stat></DLR>', /not well-formed XML \(line 1, column \d+: Expected closing tag 'status'/],
      ['an unclosed root', sampleXml().replace('</DLR>', ''), /not well-formed XML \(line \d+, column \d+: Unclosed tag 'DLR'/],
      ['a bare "&"', '<DLR><description>Tom & Jerry</description></DLR>', /not well-formed XML/],
      ['a repeated attribute', '<DLR status="a" status="b"/>', /not well-formed XML.*repeated/],
      ['text that is not XML', 'status: Delivered', /not well-formed XML/],
    ])('malformed XML (%s), with a message saying where', (_what, body, message) => {
      expect(refused(parseCallbackBody(body, 'application/xml'))).toEqual({ error: 'invalid_body', message: expect.stringMatching(message) });
    });

    it('keeps the message short when the parser quotes the body', () => {
      const { message } = refused(parseCallbackBody(`<DLR>${'<b'.repeat(5000)}`, 'application/xml'));
      expect(message.length).toBeLessThan(300);
    });

    it('two root elements', () => {
      expect(refused(parseCallbackBody('<DLR/><DLR/>', 'text/xml')).message).toBe('the XML body has 2 root elements: expected one');
    });

    it('a root that holds only text', () => {
      expect(refused(parseCallbackBody('<status>Delivered</status>', 'text/xml')).message).toMatch(/root <status> holds only text/);
    });

    it('XML declared as JSON is a JSON error, and JSON declared as XML an XML one', () => {
      expect(refused(parseCallbackBody(sampleXml(), 'application/json')).message).toMatch(/not valid JSON/);
      expect(refused(parseCallbackBody(SAMPLE_JSON, 'application/xml')).message).toMatch(/not well-formed XML/);
    });
  });
});

describe('text bodies', () => {
  it.each([
    ['"\\n"', '\n'],
    ['"\\r\\n"', '\r\n'],
  ])("the provider's POST sample one pair a line (%s) gives all 22 fields, values as written", (_what, eol) => {
    expect(fields(parseCallbackBody(sampleText(eol), 'text/plain'))).toEqual(sampleAsText());
  });

  it('keeps "+", "&", "%" and "=" in a value as written: nothing is form-decoded', () => {
    const body = 'status_time=2022-04-05 08:55:50+00:00\ndescription=Tom & Jerry 100%25 a=b\nstatus=Delivered';
    expect(fields(parseCallbackBody(body, 'text/plain'))).toEqual({
      status_time: '2022-04-05 08:55:50+00:00',
      description: 'Tom & Jerry 100%25 a=b',
      status: 'Delivered',
    });
  });

  it('skips blank lines, trims the key, keeps the first of a repeated key', () => {
    expect(fields(parseCallbackBody('\n status = Delivered\r\n\r\nstatus=Sent\nref=\n', null))).toEqual({ status: ' Delivered', ref: '' });
  });

  it('on one line it is a form, as a GET profile sends it ("+" is a space)', () => {
    expect(fields(parseCallbackBody('status=Not+Sent&status_time=2022-04-05%2008:55:50%2B00:00', 'text/plain'))).toEqual({
      status: 'Not Sent',
      status_time: '2022-04-05 08:55:50+00:00',
    });
  });

  it.each([
    ['key=value lines', sampleText('\n'), sampleAsText()],
    ['a JSON template', SAMPLE_JSON, postSample()],
    ['an XML (XHTML) template', sampleXml(), sampleAsText()],
  ])('text/html is read like text/plain: %s', (_what, body, expected) => {
    expect(fields(parseCallbackBody(body, 'text/html; charset=utf-8'))).toEqual(expected);
  });

  it('HTML that is not well-formed XML is refused with the XML message', () => {
    expect(refused(parseCallbackBody('<html><body>status=Delivered<br></body></html>', 'text/html')).message).toMatch(/not well-formed XML/);
  });

  it('free text with a line break is refused: every line must be key=value', () => {
    expect(refused(parseCallbackBody('status=Delivered\nthe message was delivered', 'text/plain'))).toEqual({
      error: 'invalid_body',
      message: expect.stringMatching(/not valid JSON .*, XML or key=value text/),
    });
  });
});

describe('a JSON body wrapped by its template', () => {
  it('is not flattened without a field map: nesting is addressed by a map, not guessed', () => {
    const body = JSON.stringify({ data: postSample() });
    expect(fields(parseCallbackBody(body, 'application/json'))).toEqual({ data: postSample() });
  });

  it('is read with a field map', () => {
    const body = JSON.stringify({ msgid: 'a:1', data: { st: 'Delivered' }, to: ['919620838XXX'] });
    const got = fields(parseCallbackBody(body, 'application/json', '', { fieldMap: { message_id: 'msgid', status: 'data.st', recipient: 'to.0' } }));
    expect(got).toEqual({ msgid: 'a:1', data: { st: 'Delivered' }, to: ['919620838XXX'], message_id: 'a:1', status: 'Delivered', recipient: '919620838XXX' });
  });
});

describe('structure limits', () => {
  it('are 32 levels, 1,000 fields and 256-character names', () => {
    expect(PARSE_LIMITS).toEqual({ maxDepth: 32, maxFields: 1000, maxKeyLength: 256 });
  });

  const nestedJson = (levels: number) => '{"a":'.repeat(levels - 1) + '{"status":"Delivered"}' + '}'.repeat(levels - 1);
  const nestedXml = (levels: number) => '<DLR>' + '<a>'.repeat(levels - 1) + '<status>Delivered</status>' + '</a>'.repeat(levels - 1) + '</DLR>';

  it.each([
    ['JSON', nestedJson],
    ['XML', nestedXml],
  ])('%s nested 32 levels is read; 33 is refused', (_what, nested) => {
    expect(parseCallbackBody(nested(32), null).ok).toBe(true);
    expect(refused(parseCallbackBody(nested(33), null))).toEqual({ error: 'body_too_complex', message: 'the body nests deeper than 32 levels' });
  });

  it.each([
    ['JSON objects', nestedJson(10_000)],
    ['JSON arrays inside an object', `{"a":${'['.repeat(10_000)}${']'.repeat(10_000)}}`],
    ['XML', nestedXml(10_000)],
  ])('%s nested 10,000 deep is refused quickly, without recursion', (_what, body) => {
    const started = performance.now();
    expect(refused(parseCallbackBody(body, null)).error).toBe('body_too_complex');
    expect(performance.now() - started).toBeLessThan(500);
  });

  const many = (n: number) => Array.from({ length: n }, (_, i) => `f${i}`);

  it.each([
    ['a query', (keys: string[]) => parseCallbackQuery(keys.map((k) => `${k}=1`).join('&'))],
    ['a form body', (keys: string[]) => parseCallbackBody(keys.map((k) => `${k}=1`).join('&'), 'application/x-www-form-urlencoded')],
    ['a text body', (keys: string[]) => parseCallbackBody(keys.map((k) => `${k}=1`).join('\n'), 'text/plain')],
    ['a JSON body', (keys: string[]) => parseCallbackBody(JSON.stringify(Object.fromEntries(keys.map((k) => [k, 1]))), null)],
    ['a JSON array', (keys: string[]) => parseCallbackBody(JSON.stringify({ list: keys.slice(1) }), null)],
    ['an XML body', (keys: string[]) => parseCallbackBody(`<DLR>${keys.map((k) => `<${k}>1</${k}>`).join('')}</DLR>`, null)],
    ['an empty body with the fields in the query', (keys: string[]) => parseCallbackBody('', null, keys.map((k) => `${k}=1`).join('&'))],
  ])('%s with 1,000 fields is read; 1,001 is refused', (_what, parse) => {
    expect(parse(many(1000)).ok).toBe(true);
    expect(refused(parse(many(1001)))).toEqual({ error: 'body_too_complex', message: 'the body has more than 1000 fields' });
  });

  it('repeats count: a flood of one repeated key is refused too', () => {
    expect(refused(parseCallbackBody('status=x&'.repeat(1001), 'application/x-www-form-urlencoded')).error).toBe('body_too_complex');
    expect(refused(parseCallbackBody(`<DLR>${'<status>x</status>'.repeat(1001)}</DLR>`, 'text/xml')).error).toBe('body_too_complex');
  });

  it.each([
    ['a query', (k: string) => parseCallbackQuery(`${k}=1`)],
    ['a form body', (k: string) => parseCallbackBody(`${k}=1&id=1`, 'application/x-www-form-urlencoded')],
    ['a text body', (k: string) => parseCallbackBody(`${k}=1\nid=1`, 'text/plain')],
    ['a JSON body', (k: string) => parseCallbackBody(JSON.stringify({ data: { [k]: 1 } }), null)],
    ['an XML element', (k: string) => parseCallbackBody(`<DLR><${k}>1</${k}></DLR>`, null)],
    ['an XML attribute', (k: string) => parseCallbackBody(`<DLR ${k}="1"/>`, null)],
  ])('%s with a 256-character name is read; 257 is refused', (_what, parse) => {
    expect(parse('k'.repeat(256)).ok).toBe(true);
    expect(refused(parse('k'.repeat(257)))).toEqual({
      error: 'body_too_complex',
      message: expect.stringMatching(/^a field name is longer than 256 characters/),
    });
  });

  it('can be set per call', () => {
    const limits = { maxDepth: 2, maxFields: 3, maxKeyLength: 6 };
    expect(parseCallbackBody('{"status":{"code":"1"}}', null, '', { limits }).ok).toBe(true);
    expect(refused(parseCallbackBody('{"status":{"code":{"x":1}}}', null, '', { limits })).message).toBe('the body nests deeper than 2 levels');
    expect(refused(parseCallbackBody('a=1&b=2&c=3&d=4', null, '', { limits })).message).toBe('the body has more than 3 fields');
    expect(refused(parseCallbackQuery('status=1', { limits: { maxKeyLength: 5 } })).error).toBe('body_too_complex');
    expect(parseCallbackBody(nestedXml(3), 'text/xml', '', { limits: { maxDepth: 3 } }).ok).toBe(true);
    expect(parseCallbackBody(nestedXml(4), 'text/xml', '', { limits: { maxDepth: 3 } }).ok).toBe(false);
  });

  it('fieldsFromQuery, which cannot refuse, applies none', () => {
    expect(Object.keys(fieldsFromQuery(many(1001).map((k) => `${k}=1`).join('&')))).toHaveLength(1001);
  });
});

describe('parseCallbackQuery', () => {
  it("reads the provider's GET sample like fieldsFromQuery", () => {
    expect(parseCallbackQuery(GET_SAMPLE_QUERY)).toEqual({ ok: true, fields: fieldsFromQuery(GET_SAMPLE_QUERY) });
  });

  it('applies a field map', () => {
    expect(fields(parseCallbackQuery('st=Delivered&msgid=a:1', { fieldMap: { status: 'st', message_id: 'msgid' } }))).toEqual({
      st: 'Delivered',
      msgid: 'a:1',
      status: 'Delivered',
      message_id: 'a:1',
    });
  });

  it('a map path spelled like a flat query key reads that key', () => {
    expect(fields(parseCallbackQuery('data.st=Delivered', { fieldMap: { status: 'data.st' } })).status).toBe('Delivered');
  });
});
