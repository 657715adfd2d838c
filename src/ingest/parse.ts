/**
 * Turns a callback request into its fields (query, JSON, XML, key=value text, form), bounded by
 * PARSE_LIMITS and built of null-prototype objects. Nothing here judges the fields themselves.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { applyFieldMap, type FieldMap } from './field-map.js';

export interface ParseLimits {
  /** Nesting levels; the fields object itself is level 1, an object inside it level 2. */
  readonly maxDepth: number;
  /** Entries read in the whole body (keys, pairs, elements, attributes, array items), repeats included. */
  readonly maxFields: number;
  /** Characters in one key, element or attribute name. */
  readonly maxKeyLength: number;
}

/** A delivery report has 22 flat fields; these leave room for any template and no room for abuse. */
export const PARSE_LIMITS: ParseLimits = Object.freeze({ maxDepth: 32, maxFields: 1000, maxKeyLength: 256 });

export interface ParseOptions {
  /** Overrides of PARSE_LIMITS. */
  limits?: Partial<ParseLimits>;
  /** The profile's field map, applied to the fields read. */
  fieldMap?: FieldMap | null;
}

export type ParseResult =
  | { ok: true; fields: Record<string, unknown> }
  | { ok: false; error: 'invalid_body' | 'body_too_complex'; message: string };

/** Why a body is refused; thrown inside this module only and returned as a ParseResult. */
class BodyRefused extends Error {
  constructor(
    readonly error: 'invalid_body' | 'body_too_complex',
    message: string,
  ) {
    super(message);
  }
}

const invalid = (message: string) => new BodyRefused('invalid_body', message);

/** Counts entries and checks names as a reader meets them. */
class Budget {
  private entries = 0;
  constructor(readonly limits: ParseLimits) {}

  entry(name: string): void {
    if (++this.entries > this.limits.maxFields) {
      throw new BodyRefused('body_too_complex', `the body has more than ${this.limits.maxFields} fields`);
    }
    if (name.length > this.limits.maxKeyLength) {
      throw new BodyRefused('body_too_complex', `a field name is longer than ${this.limits.maxKeyLength} characters (${JSON.stringify(name.slice(0, 32))}...)`);
    }
  }

  level(depth: number): void {
    if (depth > this.limits.maxDepth) {
      throw new BodyRefused('body_too_complex', `the body nests deeper than ${this.limits.maxDepth} levels`);
    }
  }
}

/** No limits: for callers that cannot report a refusal (fieldsFromQuery). */
const UNLIMITED: ParseLimits = { maxDepth: Infinity, maxFields: Infinity, maxKeyLength: Infinity };

type Fields = Record<string, unknown>;

/**
 * A fresh fields object. Null prototype: a template may name a field `constructor` or
 * `__proto__`, and assigning either here makes an ordinary own property, never a prototype.
 */
const newFields = (): Fields => Object.create(null) as Fields;

/** Form rules: "+" is a space, %XX decoded, a repeated key keeps its first value. */
function readForm(search: string, budget: Budget): Record<string, string> {
  const out = newFields() as Record<string, string>;
  for (const [k, v] of new URLSearchParams(search)) {
    budget.entry(k);
    if (!Object.hasOwn(out, k)) out[k] = v;
  }
  return out;
}

/**
 * Fields of a query string; a repeated key keeps its first value. "+" decodes to a space.
 * No limits (it cannot refuse): on the request path use parseCallbackQuery.
 *
 * @example fieldsFromQuery('status=Delivered&id=1') // { status: 'Delivered', id: '1' }
 */
export function fieldsFromQuery(search: string): Record<string, string> {
  return readForm(search, new Budget(UNLIMITED));
}

function finish(fields: Fields, options: ParseOptions): ParseResult {
  return { ok: true, fields: options.fieldMap ? applyFieldMap(fields, options.fieldMap) : fields };
}

function refusal(err: unknown): ParseResult {
  if (err instanceof BodyRefused) return { ok: false, error: err.error, message: err.message };
  throw err;
}

const limitsOf = (options: ParseOptions): ParseLimits =>
  options.limits ? { ...PARSE_LIMITS, ...options.limits } : PARSE_LIMITS;

/**
 * A GET callback's fields, with the limits and the field map applied.
 *
 * @example parseCallbackQuery('status=Delivered&id=1') // { ok: true, fields: { status: 'Delivered', id: '1' } }
 */
export function parseCallbackQuery(search: string, options: ParseOptions = {}): ParseResult {
  try {
    return finish(readForm(search, new Budget(limitsOf(options))), options);
  } catch (err) {
    return refusal(err);
  }
}

/**
 * A body's fields, chosen by content-type: JSON types are JSON only, XML types XML only, a form
 * is a form (or JSON or XML when it starts with "{"/"[" or "<": curl -d sends any body as a form).
 * Anything else (text/plain, text/html, none) is read by its first character: "{"/"[" JSON,
 * "<" XML, otherwise key=value text. An empty body takes its fields from the query string.
 *
 * @example parseCallbackBody('{"status":"Delivered","id":"1"}', null) // { ok: true, fields: {...} }
 * @example parseCallbackBody('<DLR><status>Delivered</status></DLR>', 'text/xml') // { ok: true, fields: { status: 'Delivered' } }
 */
export function parseCallbackBody(body: string, contentType: string | null, query = '', options: ParseOptions = {}): ParseResult {
  const budget = new Budget(limitsOf(options));
  try {
    return finish(readBody(body, contentType, query, budget), options);
  } catch (err) {
    return refusal(err);
  }
}

function readBody(body: string, contentType: string | null, query: string, budget: Budget): Fields {
  const text = (body.charCodeAt(0) === 0xfeff ? body.slice(1) : body).trim();
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (text === '') {
    // Some profiles POST with the fields in the URL and an empty body.
    const q = readForm(query, budget);
    if (Object.keys(q).length > 0) return q;
    throw invalid('the body is empty: expected a JSON object, XML, or key=value fields');
  }
  const first = text[0];
  // A declared JSON or XML type is held to it. text/html falls through to sniffing with
  // text/plain: HTML is a body type the provider offers, but its template is the owner's
  // text, most likely key=value lines, JSON or XHTML.
  if (/(^|[/+])json$/.test(type)) return readJson(text, budget);
  if (/(^|[/+])xml$/.test(type)) return readXml(text, budget);
  if (first === '{' || first === '[') return readJson(text, budget);
  if (first === '<') return readXml(text, budget);
  if (type === 'application/x-www-form-urlencoded') return readForm(text, budget);
  const pairs = readText(text, budget);
  if (pairs) return pairs;
  // Not key=value either: JSON.parse says what is wrong (a bare number, a string, free text).
  return readJson(text, budget, ', XML or key=value text');
}

// ---------------------------------------------------------------------------------------------
// Text

const FORM_LINE = /^[\w.[\]%-]+=[^&]*(&[\w.[\]%-]+=[^&]*)*$/;

/**
 * key=value text, or null when the body does not look like it. With line breaks it is one pair
 * a line and values are taken as written: a form encoder never leaves a raw line break, so this
 * is a hand-written template, where "+" in `08:55:50+00:00` and "&" in a description are data.
 * On one line it is read as a form (what a GET profile sends), "+" as a space.
 */
function readText(text: string, budget: Budget): Fields | null {
  if (!/[\r\n]/.test(text)) return FORM_LINE.test(text) ? readForm(text, budget) : null;
  const out = newFields();
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const eq = line.indexOf('=');
    const key = eq < 0 ? '' : line.slice(0, eq).trim();
    if (key === '') return null;
    budget.entry(key);
    if (!Object.hasOwn(out, key)) out[key] = line.slice(eq + 1);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// JSON

function readJson(text: string, budget: Budget, alternatives = ''): Fields {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalid(`the body is not valid JSON (${(err as Error).message})${alternatives}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    throw invalid(`the body is ${kind}, not a JSON object`);
  }
  checkJson(value as Fields, budget);
  return value as Fields;
}

/**
 * One walk over a parsed JSON value, with its own stack: JSON.parse takes any depth, but the
 * recursion of whatever reads the value next (JSON.stringify, zod) does not. Objects get a null
 * prototype on the way, like every other reader's; JSON.parse already made "__proto__" own.
 */
function checkJson(root: Fields, budget: Budget): void {
  const stack: [object, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (Array.isArray(value)) {
      for (const item of value) {
        budget.entry('');
        if (item !== null && typeof item === 'object') {
          budget.level(depth + 1);
          stack.push([item, depth + 1]);
        }
      }
      continue;
    }
    Object.setPrototypeOf(value, null);
    for (const key of Object.keys(value)) {
      budget.entry(key);
      const item = (value as Fields)[key];
      if (item !== null && typeof item === 'object') {
        budget.level(depth + 1);
        stack.push([item, depth + 1]);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// XML

/**
 * Element names go through the parser with a "$" in front ("$" cannot start an XML name, so
 * nothing collides): fast-xml-parser refuses `constructor` or `__proto__` as tag names and renames
 * `toString`, while a template may name an element anything. The walk below takes the "$" off.
 * Idempotent because the parser transforms a self-closing tag's name twice.
 */
const escapeName = (name: string) => (name.startsWith('$') ? name : `$${name}`);

const xmlParsers = new Map<number, XMLParser>();

function xmlParser(maxDepth: number): XMLParser {
  let parser = xmlParsers.get(maxDepth);
  if (!parser) {
    parser = new XMLParser({
      // Entities off: a callback has no use for them and they are how XML bombs work. The five
      // predefined ones and character references are decoded by decodeXmlText instead.
      processEntities: false,
      htmlEntities: false,
      // Values stay strings; the validator decides what is a number.
      parseTagValue: false,
      parseAttributeValue: false,
      ignoreAttributes: false,
      ignoreDeclaration: true,
      ignorePiTags: true,
      // Ordered output keeps text and CDATA apart (CDATA is not entity-decoded) and lets the
      // walk below build its own objects; the default output is built recursively.
      preserveOrder: true,
      cdataPropName: '#cdata',
      trimValues: false,
      transformTagName: escapeName,
      // +1: the root element is a wrapper, not a level of fields.
      maxNestedTags: Math.min(maxDepth, 10_000) + 1,
    });
    xmlParsers.set(maxDepth, parser);
  }
  return parser;
}

/** One node of the parser's ordered output. */
type XmlNode = { [name: string]: XmlNode[] | string | Record<string, string> | undefined; ':@'?: Record<string, string> };

const XML_REF = /&(?:(amp|lt|gt|quot|apos)|#([0-9]{1,7})|#x([0-9a-fA-F]{1,6}));/g;
const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** XML's Char production: a reference to anything else is not XML and is left as written. */
function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/** Decodes the five predefined entities and character references; any other "&name;" stays. */
function decodeXmlText(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(XML_REF, (ref, name: string | undefined, dec: string | undefined, hex: string | undefined) => {
    if (name) return PREDEFINED[name]!;
    const cp = dec !== undefined ? Number.parseInt(dec, 10) : Number.parseInt(hex!, 16);
    return isXmlChar(cp) ? String.fromCodePoint(cp) : ref;
  });
}

/**
 * Refuses any "<!" markup but comments and CDATA (DOCTYPE, ENTITY, ELEMENT...): a delivery
 * report has no use for a DTD, and a DTD is how entity bombs arrive. One linear scan.
 */
function refuseDeclarations(text: string): void {
  let i = text.indexOf('<!');
  while (i >= 0) {
    let end: number;
    if (text.startsWith('<!--', i)) end = text.indexOf('-->', i + 4);
    else if (text.startsWith('<![CDATA[', i)) end = text.indexOf(']]>', i + 9);
    else {
      const what = /^<!([A-Za-z]*)/.exec(text.slice(i, i + 12))![1]!.toUpperCase() || '<!';
      throw invalid(`the XML body has a ${what} declaration: refused, a delivery report has no use for a DTD or entities`);
    }
    if (end < 0) return; // unclosed: the validator says so
    i = text.indexOf('<!', end);
  }
}

function elementName(node: XmlNode): string | null {
  for (const key of Object.keys(node)) if (key.startsWith('$')) return key;
  return null;
}

const childrenOf = (node: XmlNode, name: string) => node[name] as XmlNode[];

const isXmlnsAttr = (name: string) => name === 'xmlns' || name.startsWith('xmlns:');

/** Attributes without the parser's "@_" prefix and without namespace declarations. */
function attributesOf(node: XmlNode): [string, string][] {
  const attrs = node[':@'];
  if (!attrs) return [];
  return Object.keys(attrs)
    .map((k) => [k.slice(2), attrs[k]!] as [string, string])
    .filter(([k]) => !isXmlnsAttr(k));
}

/** An element with attributes or child elements becomes an object; one with only text, a string. */
function hasStructure(node: XmlNode, name: string): boolean {
  return attributesOf(node).length > 0 || childrenOf(node, name).some((c) => elementName(c) !== null);
}

/**
 * An element's text: text parts decoded, CDATA as written, whitespace at the outer edges
 * dropped (it is indentation) unless CDATA holds it.
 */
function textOf(children: XmlNode[]): string {
  let out = '';
  const parts = children.filter((c) => '#text' in c || '#cdata' in c);
  parts.forEach((part, i) => {
    if ('#cdata' in part) {
      out += ((part['#cdata'] as XmlNode[])[0]?.['#text'] as string | undefined) ?? '';
      return;
    }
    let t = part['#text'] as string;
    if (i === 0) t = t.trimStart();
    if (i === parts.length - 1) t = t.trimEnd();
    out += decodeXmlText(t);
  });
  return out;
}

/** "line 3, column 7: ..." from the validator, cut short: its messages can quote the whole body. */
function xmlProblem(err: { msg: string; line: number; col: number }): string {
  const msg = err.msg.length > 160 ? `${err.msg.slice(0, 160)}...` : err.msg;
  return `the body is not well-formed XML (line ${err.line}, column ${err.col}: ${msg})`;
}

/**
 * XML fields: the root element, whatever its name, is the report; its attributes and child
 * elements are the fields (attributes first, both by their own names). An element with only
 * text is a string; one with children or attributes is a nested object, its text (if any) under
 * "#text". A repeated element keeps its first occurrence, like a repeated form key.
 */
function readXml(text: string, budget: Budget): Fields {
  refuseDeclarations(text);
  let check: ReturnType<typeof XMLValidator.validate>;
  try {
    check = XMLValidator.validate(text);
  } catch (err) {
    throw invalid(`the body is not well-formed XML (${(err as Error).message})`);
  }
  if (check !== true) throw invalid(xmlProblem(check.err));
  let doc: XmlNode[];
  try {
    doc = xmlParser(budget.limits.maxDepth).parse(text) as XmlNode[];
  } catch (err) {
    const message = (err as Error).message;
    if (/maximum nested tags/i.test(message)) budget.level(Infinity);
    throw invalid(`the body is not well-formed XML (${message})`);
  }
  const roots = doc.filter((n) => elementName(n) !== null);
  if (roots.length !== 1) throw invalid(`the XML body has ${roots.length} root elements: expected one`);
  const root = roots[0]!;
  const rootName = elementName(root)!;
  const fields = newFields();
  if (!hasStructure(root, rootName)) {
    if (textOf(childrenOf(root, rootName)) !== '') {
      throw invalid(`the XML root <${rootName.slice(1)}> holds only text: expected fields as child elements or attributes`);
    }
    return fields;
  }
  const stack: [XmlNode, string, Fields, number][] = [[root, rootName, fields, 1]];
  while (stack.length > 0) {
    const [node, name, target, depth] = stack.pop()!;
    for (const [attr, value] of attributesOf(node)) {
      budget.entry(attr);
      if (!Object.hasOwn(target, attr)) target[attr] = decodeXmlText(value);
    }
    const children = childrenOf(node, name);
    for (const child of children) {
      const childName = elementName(child);
      if (childName === null) continue;
      const key = childName.slice(1);
      budget.entry(key);
      if (Object.hasOwn(target, key)) continue;
      if (hasStructure(child, childName)) {
        budget.level(depth + 1);
        const nested = newFields();
        target[key] = nested;
        stack.push([child, childName, nested, depth + 1]);
      } else {
        target[key] = textOf(childrenOf(child, childName));
      }
    }
    const own = textOf(children);
    if (own.trim() !== '' && !Object.hasOwn(target, '#text')) target['#text'] = own;
  }
  return fields;
}
