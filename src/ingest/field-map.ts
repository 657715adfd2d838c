/**
 * Where a profile's body template puts the standard Kaleyra fields. A callback profile's owner
 * writes the body with placeholders, so names and nesting are theirs: a field map says, per
 * standard field, which dotted path of the parsed body holds it.
 */
import { z } from 'zod';
import { newFields, setField } from './budget.js';

/** The 22 fields of the provider's POST sample, in its order. */
export const STANDARD_FIELDS = [
  'sender',
  'recipient',
  'type',
  'flash',
  'total',
  'source',
  'price',
  'iso_code',
  'message_id',
  'country_name',
  'campaign_name',
  'length',
  'units',
  'sent_time',
  'status_time',
  'status_trace',
  'status',
  'description',
  'id',
  'ref',
  'ref1',
  'ref2',
] as const;

export type StandardField = (typeof STANDARD_FIELDS)[number];

/**
 * Standard field -> dotted path into the parsed body: names through objects, indexes through
 * arrays. Unmapped fields are read by their own names.
 *
 * @example const map: FieldMap = { message_id: 'msgid', status: 'data.st', recipient: 'to.0' };
 */
export type FieldMap = Partial<Record<StandardField, string>>;

const fieldPath = z
  .string()
  .regex(/^[^.]+(\.[^.]+)*$/, 'a path is names or indexes joined by dots, e.g. "data.st" or "to.0" (no empty part)');

/**
 * A field map as config gives it. Strict: a key that is not a standard field is an error naming
 * it, since a typo there would otherwise silently leave the field unmapped.
 *
 * @example fieldMapSchema.parse({ status: 'data.st' }) // { status: 'data.st' }
 */
export const fieldMapSchema = z.strictObject(
  Object.fromEntries(STANDARD_FIELDS.map((f) => [f, fieldPath.optional()])) as {
    [K in StandardField]: z.ZodOptional<typeof fieldPath>;
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `not a standard field: ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} (a field map's keys are ${STANDARD_FIELDS.join(', ')})`
        : undefined,
  },
);

const INDEX = /^(0|[1-9]\d*)$/;

/**
 * The value at `path` in `fields`, or undefined. Own properties only, so `constructor` or
 * `__proto__` in a path can only ever name a field the body really has. A top-level key spelled
 * exactly like the whole path wins: form and query bodies carry `data.st=...` as one flat key.
 */
function resolvePath(fields: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(fields, path)) return fields[path];
  let at: unknown = fields;
  for (const part of path.split('.')) {
    if (Array.isArray(at)) {
      // Only a canonical index: "length" or "01" would be own properties or aliases, not elements.
      if (!INDEX.test(part) || !Object.hasOwn(at, part)) return undefined;
      at = at[Number(part)];
    } else if (at !== null && typeof at === 'object') {
      if (!Object.hasOwn(at, part)) return undefined;
      at = (at as Record<string, unknown>)[part];
    } else {
      return undefined;
    }
  }
  return at;
}

/**
 * The fields with each mapped standard field taken from its path; every other field stays as it
 * is (so a template's extras still reach `raw`). All paths are read from the fields as they came,
 * so maps may swap names. A path that leads nowhere leaves the field absent, and validation then
 * says so. Nesting is only ever reached through a map: a body that wraps the standard fields in
 * `{"data": {...}}` is not flattened by guesswork.
 *
 * @example applyFieldMap({ msgid: 'a:1', data: { st: 'Delivered' } }, { message_id: 'msgid', status: 'data.st' })
 * // { msgid: 'a:1', data: { st: 'Delivered' }, message_id: 'a:1', status: 'Delivered' }
 */
export function applyFieldMap(fields: Record<string, unknown>, map: FieldMap): Record<string, unknown> {
  const taken: [StandardField, unknown][] = [];
  for (const field of STANDARD_FIELDS) {
    const path = Object.hasOwn(map, field) ? map[field] : undefined;
    if (path !== undefined) taken.push([field, resolvePath(fields, path)]);
  }
  if (taken.length === 0) return fields;
  const out = newFields();
  for (const key of Object.keys(fields)) setField(out, key, fields[key]);
  for (const [field, value] of taken) {
    if (value === undefined) delete out[field];
    else setField(out, field, value);
  }
  return out;
}
