/**
 * The Kaleyra callback as it arrives, GET or POST alike. Liberal: every value may come as a
 * string, empty strings mean "absent", unknown fields are kept, and a value we do not
 * understand becomes null rather than a rejection. Only what cannot be an event is refused.
 */
import { z } from 'zod';

/** Scalars become trimmed strings; "" and non-scalars (objects, arrays) become null. */
function toText(v: unknown): string | null {
  if (typeof v === 'string') {
    const t = v.trim();
    return t === '' ? null : t;
  }
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'boolean') return String(v);
  return null;
}

/**
 * A price as an exact decimal string: "0.001354", 0.001354, " .5 " become "0.001354", "0.001354",
 * "0.5". Money never goes through a binary float on its way out; anything else is null (the raw value stays).
 */
function toDecimal(v: unknown): string | null {
  let t: string;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return null;
    // A JSON number has already been through a double: its shortest round-trip form is what was sent.
    t = String(v);
    if (/e/i.test(t)) return null;
  } else if (typeof v === 'string') {
    t = v.trim();
  } else {
    return null;
  }
  const m = /^([+-]?)(\d*)(?:\.(\d+))?$/.exec(t);
  if (!m || (m[2] === '' && m[3] === undefined)) return null;
  const whole = m[2] === '' ? '0' : m[2]!;
  return `${m[1] === '-' ? '-' : ''}${whole}${m[3] !== undefined ? `.${m[3]}` : ''}`;
}

/** "5", 5 and " 5 " are numbers; anything else is null (the raw value stays). */
function toNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  // Decimal only: Number() would also take "0x10" and "0b1".
  if (typeof v === 'string' && /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(v.trim())) {
    const n = Number(v.trim());
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

const FLASH_TRUE = new Set(['1', 'true', 'yes', 'y']);
const FLASH_FALSE = new Set(['0', 'false', 'no', 'n']);

function toFlag(v: unknown): boolean | null {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v === 1 ? true : v === 0 ? false : null;
  if (typeof v === 'string') {
    const t = v.trim().toLowerCase();
    if (FLASH_TRUE.has(t)) return true;
    if (FLASH_FALSE.has(t)) return false;
  }
  return null;
}

/**
 * No Kaleyra field comes near these; a longer value is not a delivery report, and capping it
 * keeps rule matching and storage cheap for everyone else.
 */
export const MAX_FIELD_CHARS = 1_024;
export const MAX_DESCRIPTION_CHARS = 4_096;
const TEXT_FIELDS = [
  'id', 'message_id', 'status', 'status_trace', 'description', 'status_time', 'sent_time', 'sender', 'recipient',
  'type', 'source', 'iso_code', 'country_name', 'campaign_name', 'ref', 'ref1', 'ref2',
] as const;

// `.optional()` before the transform: a missing key is as good as an empty one.
const text = z.unknown().optional().transform(toText);
const num = z.unknown().optional().transform(toNumber);
const decimal = z.unknown().optional().transform(toDecimal);
const flag = z.unknown().optional().transform(toFlag);

export const KaleyraCallbackSchema = z
  .looseObject({
    id: text,
    message_id: text,
    status: text,
    status_trace: text,
    description: text,
    status_time: text,
    sent_time: text,
    sender: text,
    recipient: text,
    type: text,
    source: text,
    iso_code: text,
    country_name: text,
    campaign_name: text,
    price: decimal,
    flash: flag,
    total: num,
    length: num,
    units: num,
    ref: text,
    ref1: text,
    ref2: text,
  })
  .check((ctx) => {
    const cb = ctx.value;
    for (const field of TEXT_FIELDS) {
      const v = cb[field];
      const max = field === 'description' ? MAX_DESCRIPTION_CHARS : MAX_FIELD_CHARS;
      if (v !== null && v.length > max) {
        ctx.issues.push({
          code: 'custom',
          path: [field],
          message: `is ${v.length} characters long: over the limit of ${max} for a Kaleyra field`,
          input: undefined,
        });
      }
    }
    if (cb.status === null) {
      ctx.issues.push({
        code: 'custom',
        path: ['status'],
        message: 'is missing or empty: a delivery report needs a status',
        input: cb.status,
      });
    }
    if (cb.id === null && cb.message_id === null) {
      ctx.issues.push({
        code: 'custom',
        path: ['id'],
        message: 'neither id nor message_id is present: the report cannot be tied to a message',
        input: cb.id,
      });
    }
  });

export type KaleyraCallback = z.output<typeof KaleyraCallbackSchema> & { status: string };

export interface FieldProblem {
  field: string;
  problem: string;
}

export type ValidationResult =
  | { ok: true; callback: KaleyraCallback }
  | { ok: false; problems: FieldProblem[] };

/**
 * What KaleyraCallbackSchema makes of a callback that passes it, made directly: the same
 * transforms, the same object (the fields in the shape's order, then the unknown ones as they
 * came), without zod's per-field machinery, which was the largest allocation of the callback
 * path (issue 11). Null for anything else (not a plain object, a `__proto__` key, a check that
 * fails), which then goes through the schema itself for its errors. The schema stays the
 * definition; src/validate/callback.test.ts holds the two equal over generated callbacks.
 */
function commonCallback(fields: Record<string, unknown>): KaleyraCallback | null {
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return null;
  const proto = Object.getPrototypeOf(fields) as unknown;
  if (proto !== Object.prototype && proto !== null) return null;
  // One literal: every callback's object gets the same shape.
  const out: Record<string, unknown> = {
    id: toText(fields.id),
    message_id: toText(fields.message_id),
    status: toText(fields.status),
    status_trace: toText(fields.status_trace),
    description: toText(fields.description),
    status_time: toText(fields.status_time),
    sent_time: toText(fields.sent_time),
    sender: toText(fields.sender),
    recipient: toText(fields.recipient),
    type: toText(fields.type),
    source: toText(fields.source),
    iso_code: toText(fields.iso_code),
    country_name: toText(fields.country_name),
    campaign_name: toText(fields.campaign_name),
    price: toDecimal(fields.price),
    flash: toFlag(fields.flash),
    total: toNumber(fields.total),
    length: toNumber(fields.length),
    units: toNumber(fields.units),
    ref: toText(fields.ref),
    ref1: toText(fields.ref1),
    ref2: toText(fields.ref2),
  };
  if (out.status === null || (out.id === null && out.message_id === null)) return null;
  for (const field of TEXT_FIELDS) {
    const v = out[field] as string | null;
    if (v !== null && v.length > (field === 'description' ? MAX_DESCRIPTION_CHARS : MAX_FIELD_CHARS)) return null;
  }
  for (const key of Object.keys(fields)) {
    if (Object.hasOwn(out, key)) continue;
    if (key === '__proto__') return null;
    out[key] = fields[key];
  }
  return out as KaleyraCallback;
}

/**
 * Validates a parsed callback (an object of fields).
 * @example validateCallback({ status: 'Delivered', id: 'x' }).ok === true
 */
export function validateCallback(fields: Record<string, unknown>): ValidationResult {
  const common = commonCallback(fields);
  if (common) return { ok: true, callback: common };
  const parsed = KaleyraCallbackSchema.safeParse(fields);
  if (parsed.success) return { ok: true, callback: parsed.data as KaleyraCallback };
  return {
    ok: false,
    problems: parsed.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', problem: i.message })),
  };
}
