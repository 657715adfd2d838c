/**
 * The input of every operator operation, one zod schema each, shared by the admin API and the
 * CLI. Every field has a bound, so a bad input is refused naming the field, never a 500 from
 * SQLite (a limit of 1e20, 40,000 ids bound as parameters). Field names are the API's; the CLI
 * maps its options onto them.
 */
import { z } from 'zod';

export const MAX_IDS = 1_000;
export const MAX_LIMIT = 1_000;
export const MAX_STRING = 512;

const LIMIT_MESSAGE = `must be a whole number from 1 to ${MAX_LIMIT}`;

const text = () =>
  z
    .string({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be text') })
    .min(1, 'must not be empty')
    .max(MAX_STRING, `must be at most ${MAX_STRING} characters`);
const datetime = () => z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time such as 2024-01-31T12:00:00Z' });
// Not a whole number ends the check: 1e20 is said once, not once per bound it breaks.
const limit = () =>
  z.number({ error: LIMIT_MESSAGE }).int({ error: LIMIT_MESSAGE, abort: true }).min(1, LIMIT_MESSAGE).max(MAX_LIMIT, LIMIT_MESSAGE);
const ids = () =>
  z
    .array(z.number({ error: 'must be a number' }).int('must be a whole number').positive('must be positive'), { error: 'must be a list of delivery ids' })
    .max(MAX_IDS, `at most ${MAX_IDS} ids per request; send them in batches`);

/** The fields that select deliveries, shared by listing and replaying them. */
const deliverySelection = {
  destination: text().optional(),
  event_id: text().optional(),
  message_key: text().optional(),
  code: text().optional(),
  since: datetime().optional(),
  until: datetime().optional(),
  limit: limit().optional(),
};

/** Which dead letters to list (newest first; 100 unless `limit` says). */
export const ListDeadLettersInput = z.strictObject(deliverySelection);
export type ListDeadLettersInput = z.output<typeof ListDeadLettersInput>;

/** Which dead (or, with `state: "done"`, delivered) deliveries to queue again. */
export const ReplayInput = z.strictObject({
  ids: ids().optional(),
  ...deliverySelection,
  state: z.enum(['dead', 'done']).optional(),
  all: z.boolean().optional(),
  /** Count what would be replayed, per destination, and change nothing. */
  dry_run: z.boolean().optional(),
});
export type ReplayInput = z.output<typeof ReplayInput>;

/** A destination, and which stored events to send it. */
export const BackfillInput = z.strictObject(
  {
    destination: text(),
    event_id: text().optional(),
    message_key: text().optional(),
    since: datetime().optional(),
    until: datetime().optional(),
    limit: limit().optional(),
    /** Count what would be added and change nothing. */
    dry_run: z.boolean().optional(),
  },
  { error: (iss) => (iss.code === 'unrecognized_keys' ? `backfill selects events: use event_id, message_key, since, until, limit, dry_run (not ${iss.keys.slice(0, 5).join(', ')})` : undefined) },
);
export type BackfillInput = z.output<typeof BackfillInput>;

/** The fields that select refused payloads, shared by listing and re-ingesting them. */
const rejectedSelection = {
  profile: text().optional(),
  since: datetime().optional(),
  until: datetime().optional(),
  limit: limit().optional(),
};

/** Which refused payloads to list (newest first; 50 unless `limit` says). */
export const ListRejectedInput = z.strictObject(rejectedSelection);
export type ListRejectedInput = z.output<typeof ListRejectedInput>;

/** Which refused payloads to take in again, as if they had just arrived. */
export const ReingestInput = z.strictObject({
  ids: ids().optional(),
  ...rejectedSelection,
  all: z.boolean().optional(),
});
export type ReingestInput = z.output<typeof ReingestInput>;

/** The destination to enable again (one a 410 disabled). */
export const EnableInput = z.strictObject({ ref: text() });
export type EnableInput = z.output<typeof EnableInput>;

/** One message, by its message_id (`<uuid>:<n>`) or its message_key; how many of its newest reports (100 unless said). */
export const MessageTimelineInput = z.strictObject({ message_id: text(), limit: limit().optional() });
export type MessageTimelineInput = z.output<typeof MessageTimelineInput>;

/** Digits only: "1e3", "0x10", " 5" or "1.5" stay text, for the schema to refuse. */
const DIGITS = /^\d+$/;
const number = (v: unknown): unknown => (typeof v === 'string' && DIGITS.test(v) ? Number(v) : v);

/**
 * Reads fields that arrived as text (a query string, command-line arguments) as the schemas'
 * JSON types: a `limit` or an id made of digits becomes a number. Anything else is left as it
 * came, so the schema refuses it naming the field rather than reading a guess.
 * @example fromText({ limit: '0050', ids: ['3', '4'], code: 'http_500' }) // { limit: 50, ids: [3, 4], code: 'http_500' }
 */
export function fromText(fields: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...fields };
  if ('limit' in out) out.limit = number(out.limit);
  if (Array.isArray(out.ids)) out.ids = out.ids.map(number);
  return out;
}
