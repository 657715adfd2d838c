/**
 * The admin API: dead letters, replay, backfill, disabled destinations. Bearer ADMIN_TOKEN.
 * Every input has one zod schema per endpoint and a bound, so a bad request is a 4xx naming
 * the field, never a 500 from SQLite (a limit of 1e20, 40,000 ids bound as parameters).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import type { AppDeps } from './app.js';
import { CallbackError } from './app.js';
import type { DeliveryFilter } from '../spool/spool.js';

/** Largest admin request body. Roomy enough that an over-long `ids` list gets the 400 naming the limit. */
export const MAX_ADMIN_BODY_BYTES = 1024 * 1024;
export const MAX_IDS = 1_000;
export const MAX_LIMIT = 1_000;
const MAX_STRING = 512;

const LIMIT_MESSAGE = `must be a whole number from 1 to ${MAX_LIMIT}`;
const text = () => z.string().min(1, 'must not be empty').max(MAX_STRING, `must be at most ${MAX_STRING} characters`);
const datetime = () => z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time such as 2024-01-31T12:00:00Z' });
const bodyLimit = z.number({ error: LIMIT_MESSAGE }).int(LIMIT_MESSAGE).min(1, LIMIT_MESSAGE).max(MAX_LIMIT, LIMIT_MESSAGE);
/** A query parameter is text: digits only, so "1e3", "0x10" or " 5" are refused rather than read as numbers. */
const queryLimit = z
  .string()
  .regex(/^\d{1,4}$/, LIMIT_MESSAGE)
  .transform(Number)
  .pipe(z.number().min(1, LIMIT_MESSAGE).max(MAX_LIMIT, LIMIT_MESSAGE));
const ids = z
  .array(z.number({ error: 'must be a number' }).int('must be a whole number').positive('must be positive'), { error: 'must be a list of delivery ids' })
  .max(MAX_IDS, `at most ${MAX_IDS} ids per request; send them in batches`);

const DeadLettersQuery = z.strictObject({ destination: text().optional(), event_id: text().optional(), code: text().optional(), limit: queryLimit.optional() });
const RejectedQuery = z.strictObject({
  profile: text().optional(),
  since: datetime().optional(),
  until: datetime().optional(),
  limit: queryLimit.optional(),
});

const RejectedReplayBody = z.strictObject({
  ids: ids.optional(),
  profile: text().optional(),
  since: datetime().optional(),
  until: datetime().optional(),
  limit: bodyLimit.optional(),
  all: z.boolean().optional(),
});

const ReplayBody = z.strictObject({
  ids: ids.optional(),
  destination: text().optional(),
  event_id: text().optional(),
  message_key: text().optional(),
  code: text().optional(),
  since: datetime().optional(),
  until: datetime().optional(),
  limit: bodyLimit.optional(),
  state: z.enum(['dead', 'done']).optional(),
  all: z.boolean().optional(),
});

const BackfillBody = z.strictObject(
  {
    destination: text(),
    event_id: text().optional(),
    message_key: text().optional(),
    since: datetime().optional(),
    until: datetime().optional(),
    limit: bodyLimit.optional(),
  },
  { error: (iss) => (iss.code === 'unrecognized_keys' ? `backfill selects events: use event_id, message_key, since, until, limit (not ${iss.keys.slice(0, 5).join(', ')})` : undefined) },
);

const EnableParams = z.strictObject({ ref: text() });

export function toFilter(f: z.infer<typeof ReplayBody>): DeliveryFilter {
  return {
    ids: f.ids,
    destination: f.destination,
    eventId: f.event_id,
    messageKey: f.message_key,
    code: f.code,
    since: f.since ? Date.parse(f.since) : undefined,
    until: f.until ? Date.parse(f.until) : undefined,
    limit: f.limit,
  };
}

function isEmpty(f: DeliveryFilter): boolean {
  return Object.values(f).every((v) => v === undefined);
}

/** The first few problems, each cut short: a message must stay small whatever was sent. */
function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const shown = issues.slice(0, 5).map((i) => {
    const line = `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`;
    return line.length > 200 ? `${line.slice(0, 199)}…` : line;
  });
  if (issues.length > shown.length) shown.push(`and ${issues.length - shown.length} more`);
  return shown.join('; ');
}

function parseWith<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new CallbackError(400, 'invalid_filter', describeIssues(parsed.error.issues));
  return parsed.data;
}

/** The JSON body (empty: `{}`), read no further than `max` bytes. */
async function readJson(req: Request, max: number): Promise<unknown> {
  const tooLarge = () => new CallbackError(413, 'body_too_large', `the body is over the limit of ${max} bytes`);
  if (Number(req.headers.get('content-length') ?? 0) > max) throw tooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (req.body) {
    for await (const chunk of req.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > max) throw tooLarge();
      chunks.push(chunk);
    }
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CallbackError(400, 'invalid_filter', 'the body is not valid JSON');
  }
}

const sha256 = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

/**
 * The bytes a header value arrived as. Node hands header bytes over as latin1, so a token sent
 * as UTF-8 arrives as one character per byte; a runtime that already decoded it gives wider
 * characters, which only UTF-8 can have come from.
 */
function headerBytes(value: string): Buffer {
  return /^[\u0000-\u00ff]*$/.test(value) ? Buffer.from(value, 'latin1') : Buffer.from(value, 'utf8');
}

/**
 * Admits a request carrying `Authorization: Bearer <token>`. Any token the settings accept
 * works (hono's bearerAuth refuses characters outside its token68 pattern, so such a token
 * could never log in). Whitespace at either end is ignored on both sides, as HTTP trims it.
 * Both sides are hashed first, so the comparison is constant-time and says nothing of the length.
 * @example admin.use('*', bearerToken(process.env.ADMIN_TOKEN!))
 */
export function bearerToken(token: string, realm = 'admin'): MiddlewareHandler {
  const expected = sha256(Buffer.from(token.trim(), 'utf8'));
  const unauthorized = () =>
    new CallbackError(401, 'unauthorized', 'a valid admin bearer token is required', undefined, { 'www-authenticate': `Bearer realm="${realm}"` });
  return async function bearerToken(c, next) {
    const m = /^Bearer\s+(.*)$/is.exec(c.req.header('authorization') ?? '');
    if (!m || !timingSafeEqual(sha256(headerBytes(m[1]!.trim())), expected)) throw unauthorized();
    await next();
  };
}

export function adminRoutes(deps: AppDeps): Hono {
  const admin = new Hono();
  const { spool, config } = deps;
  admin.use('*', async function adminGate(c, next) {
    if (!deps.adminToken) throw new CallbackError(404, 'admin_disabled', 'the admin API is off: set ADMIN_TOKEN to enable it');
    return next();
  });
  if (deps.adminToken) admin.use('*', bearerToken(deps.adminToken));

  const configured = () => [...config.topics.keys(), ...config.webhooks.keys()];

  admin.get('/dead-letters', (c) => {
    const q = parseWith(DeadLettersQuery, c.req.query());
    const rows = spool.listDeliveries('dead', { destination: q.destination, eventId: q.event_id, code: q.code, limit: q.limit ?? 100 });
    return c.json({ dead_letters: rows });
  });

  admin.post('/replay', async (c) => {
    const f = parseWith(ReplayBody, await readJson(c.req.raw, MAX_ADMIN_BODY_BYTES));
    const filter = toFilter(f);
    if (isEmpty(filter) && !f.all) throw new CallbackError(400, 'invalid_filter', 'name what to replay, or send {"all": true}');
    const replayed = spool.replay(filter, f.state ?? 'dead');
    deps.dispatcher?.wakeAll();
    return c.json({ replayed });
  });

  admin.post('/backfill', async (c) => {
    const f = parseWith(BackfillBody, await readJson(c.req.raw, MAX_ADMIN_BODY_BYTES));
    const to = f.destination;
    if (!(config.topics.has(to) || config.webhooks.has(to))) {
      throw new CallbackError(400, 'invalid_filter', `"destination" must name a configured destination (${configured().join(', ')})`);
    }
    const { eventId, messageKey, since, until, limit } = toFilter(f);
    const added = spool.backfill(to, { eventId, messageKey, since, until, limit });
    deps.dispatcher?.wakeAll();
    return c.json({ added });
  });

  const time = (iso: string | undefined): number | undefined => (iso === undefined ? undefined : Date.parse(iso));

  admin.get('/rejected', (c) => {
    const q = parseWith(RejectedQuery, c.req.query());
    return c.json({
      rejected: spool.listRejected({ profile: q.profile, since: time(q.since), until: time(q.until), limit: q.limit ?? 50 }),
      // Refused before proving anything (unknown profile, failed auth): metadata only, never stored.
      refused_unstored: deps.refused?.list() ?? [],
    });
  });

  admin.post('/rejected/replay', async (c) => {
    const f = parseWith(RejectedReplayBody, await readJson(c.req.raw, MAX_ADMIN_BODY_BYTES));
    const which = { ids: f.ids, profile: f.profile, since: time(f.since), until: time(f.until) };
    if (Object.values(which).every((v) => v === undefined) && !f.all) {
      throw new CallbackError(400, 'invalid_filter', 'name what to re-ingest (ids, profile, since, until), or send {"all": true}');
    }
    if (!deps.intake) throw new CallbackError(404, 'not_available', 're-ingest needs the router');
    const summary = await deps.intake.reingestRejected({ ...which, limit: f.limit ?? MAX_LIMIT });
    deps.dispatcher?.wakeAll();
    return c.json(summary);
  });
  admin.get('/destinations', (c) =>
    c.json({ counts: spool.counts(), disabled: Object.fromEntries(spool.disabledDestinations()), circuits: deps.dispatcher?.status() ?? {} }),
  );
  admin.post('/destinations/:ref/enable', (c) => {
    const { ref } = parseWith(EnableParams, c.req.param());
    // One disabled but since dropped from the config can still be cleared.
    if (!configured().includes(ref) && !spool.disabledDestinations().has(ref)) {
      throw new CallbackError(404, 'unknown_destination', `no destination "${ref}" is configured (${configured().join(', ')})`);
    }
    const enabled = spool.enableDestination(ref);
    deps.dispatcher?.wakeAll();
    return c.json({ enabled });
  });
  return admin;
}
