/**
 * From a request's parts to a validated callback, for one profile: parse (query or body),
 * decrypt, map fields, validate. HTTP and the re-ingest of refused payloads share this path, so
 * a payload refused yesterday is read today exactly as a new one would be.
 */
import type { CompiledProfile } from '../route/compile.js';
import { validateCallback, type FieldProblem, type KaleyraCallback } from '../validate/callback.js';
import { applyFieldMap } from './field-map.js';
import { parseCallbackBody, parseCallbackQuery } from './parse.js';

/** What a callback request carried, as kept for a refused payload too. */
export interface CallbackInput {
  method: string;
  contentType: string | null;
  /** The body as text; empty for GET and DELETE. */
  body: string;
  /** The raw query string, without "?". */
  query: string;
}

export type ReadResult =
  | {
      ok: true;
      callback: KaleyraCallback;
      /** The fields as received (after decryption, before the field map): the event's `raw`. */
      raw: Record<string, unknown>;
      rawQuery: string | null;
    }
  | { ok: false; status: 400; error: 'invalid_body' | 'invalid_callback' | 'undecryptable'; message: string; problems?: FieldProblem[] };

/** GET and DELETE callbacks carry their fields in the query string (Kaleyra's profile settings). */
export function fieldsInQuery(method: string): boolean {
  return method === 'GET' || method === 'DELETE';
}

/**
 * @example readCallback(profile, { method: 'GET', contentType: null, body: '', query: 'status=Delivered&id=1' })
 */
export function readCallback(profile: CompiledProfile, input: CallbackInput): ReadResult {
  const parsed = fieldsInQuery(input.method) ? parseCallbackQuery(input.query) : parseCallbackBody(input.body, input.contentType, input.query);
  if (!parsed.ok) return { ok: false, status: 400, error: 'invalid_body', message: parsed.message };

  let raw = parsed.fields;
  if (profile.decrypt) {
    const decrypted = profile.decrypt(raw);
    if (!decrypted.ok) {
      return {
        ok: false,
        status: 400,
        error: 'undecryptable',
        message: decrypted.problems.map((p) => `${p.field}: ${p.problem}`).join('; '),
        problems: decrypted.problems,
      };
    }
    raw = decrypted.fields;
  }
  const fields = profile.fieldMap ? applyFieldMap(raw, profile.fieldMap) : raw;
  const valid = validateCallback(fields);
  if (!valid.ok) {
    const message = valid.problems.map((p) => `${p.field}: ${p.problem}`).join('; ');
    return { ok: false, status: 400, error: 'invalid_callback', message, problems: valid.problems };
  }
  return { ok: true, callback: valid.callback, raw, rawQuery: input.query === '' ? null : input.query };
}
