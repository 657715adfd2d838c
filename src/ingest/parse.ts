/**
 * Turns a callback request into its fields (query, JSON, XML, key=value text, form), bounded by
 * PARSE_LIMITS; every key, however it is named, becomes an own field. Nothing here judges the fields.
 */
import { BodyRefused, Budget, PARSE_LIMITS, UNLIMITED, invalid, newFields, setField, type Fields, type ParseLimits } from './budget.js';
import { applyFieldMap, type FieldMap } from './field-map.js';
import { readXml } from './xml.js';

export { PARSE_LIMITS, type ParseLimits } from './budget.js';

export interface ParseOptions {
  /** Overrides of PARSE_LIMITS. */
  limits?: Partial<ParseLimits>;
  /** The profile's field map, applied to the fields read. */
  fieldMap?: FieldMap | null;
}

export type ParseResult =
  | { ok: true; fields: Record<string, unknown> }
  | { ok: false; error: 'invalid_body' | 'body_too_complex'; message: string };

/** Form rules: "+" is a space, %XX decoded, a repeated key keeps its first value. */
function readForm(search: string, budget: Budget): Record<string, string> {
  const out = newFields() as Record<string, string>;
  for (const [k, v] of new URLSearchParams(search)) {
    budget.entry(k);
    if (!Object.hasOwn(out, k)) setField(out, k, v);
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
    if (!Object.hasOwn(out, key)) setField(out, key, line.slice(eq + 1));
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
 * recursion of whatever reads the value next (JSON.stringify, zod) does not. JSON.parse already
 * makes every key, "__proto__" included, an own data property.
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
