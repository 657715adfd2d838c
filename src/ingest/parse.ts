/**
 * Turns a callback request into its fields: GET query string, JSON body (with or without a
 * content-type), or an x-www-form-urlencoded body. Nothing here judges the fields themselves.
 */

export type ParseResult =
  | { ok: true; fields: Record<string, unknown> }
  | { ok: false; error: 'invalid_body'; message: string };

/** Fields of a query string; a repeated key keeps its first value. "+" decodes to a space. */
export function fieldsFromQuery(search: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(search)) if (!(k in out)) out[k] = v;
  return out;
}

/**
 * @example parseCallbackBody('{"status":"Delivered","id":"1"}', null) // { ok: true, fields: {...} }
 */
export function parseCallbackBody(body: string, contentType: string | null, query = ''): ParseResult {
  const text = body.charCodeAt(0) === 0xfeff ? body.slice(1) : body;
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (text.trim() === '') {
    // Some profiles POST with the fields in the URL and an empty body.
    const q = fieldsFromQuery(query);
    if (Object.keys(q).length > 0) return { ok: true, fields: q };
    return { ok: false, error: 'invalid_body', message: 'the body is empty: expected a JSON object or form fields' };
  }
  // A form content-type with a JSON object in it (curl -d sends that) is JSON.
  if (type === 'application/x-www-form-urlencoded' && !text.trimStart().startsWith('{')) {
    return { ok: true, fields: fieldsFromQuery(text) };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // No or a generic content-type, and it looks like a form: take it as one.
    if (!type.includes('json') && !text.trimStart().startsWith('{') && /^[\w.[\]%-]+=[^&]*(&[\w.[\]%-]+=[^&]*)*$/.test(text.trim())) {
      return { ok: true, fields: fieldsFromQuery(text.trim()) };
    }
    return { ok: false, error: 'invalid_body', message: `the body is not valid JSON (${(err as Error).message})` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    return { ok: false, error: 'invalid_body', message: `the body is ${kind}, not a JSON object` };
  }
  return { ok: true, fields: value as Record<string, unknown> };
}
