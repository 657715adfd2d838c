/**
 * The admin API: dead letters, replay, backfill, refused payloads, disabled destinations, all
 * behind Bearer ADMIN_TOKEN. The operations, their input schemas and their rules are the ones
 * the CLI uses (src/ops); this file only reads requests and answers in HTTP's words.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Hono, type MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { OperationError, type OperationErrorCode, type Spelling } from '../ops/errors.js';
import { createOperations } from '../ops/operations.js';
import { fromText } from '../ops/schemas.js';
import type { OperationsStore, Reingester } from '../ops/store.js';
import { CallbackError } from './errors.js';

/** Largest admin request body. Roomy enough that an over-long `ids` list gets the 400 naming the limit. */
export const MAX_ADMIN_BODY_BYTES = 1024 * 1024;

/** What the admin API asks of the router: each field the narrowest thing it uses. */
export interface AdminDeps {
  /** Bearer token for /admin; unset: every admin path answers 404 admin_disabled. */
  adminToken?: string;
  /** The destinations the config declares (a CompiledConfig is one). */
  config: { destinations: ReadonlyMap<string, unknown> };
  /** The store's parts the operations use (a Spool is one). */
  spool: OperationsStore;
  /** Re-ingests refused payloads (an Intake is one); absent: /rejected/replay answers 404. */
  intake?: Reingester;
  /** Refused callbacks that were not stored, metadata only (a RefusedSample is one). */
  refused?: { list(): readonly unknown[] };
  /** Woken after a replay, so queued work starts at once; its circuits are shown (a Dispatcher is one). */
  dispatcher?: { wakeAll(): void; status(): Record<string, unknown> };
  /** Reloads routes.config.ts and says which one is served (a Reloader is one); absent: /config answers 404. */
  reloader?: ConfigReloader;
}

/** What the admin API asks of the config reload (src/route/reload.ts). */
export interface ConfigReloader {
  reload(trigger: 'admin'): Promise<{ ok: true } | { ok: false; error: 'invalid_config' | 'reload_unavailable' }>;
  status(): Record<string, unknown>;
}

/** The API names a field by its JSON path; "all" is a body field. */
const API_SPELLING: Spelling = {
  field: (path) => (path.length ? path.map(String).join('.') : '(body)'),
  all: 'send {"all": true}',
};

const STATUS: Record<OperationErrorCode, ContentfulStatusCode> = { invalid_filter: 400, unknown_destination: 404, unknown_message: 404, not_available: 404 };

/** Runs an operation, answering its refusal as a CallbackError (a 4xx naming the field). */
async function answer<T>(operation: () => T | Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    if (err instanceof OperationError) throw new CallbackError(STATUS[err.code], err.code, err.describe(API_SPELLING));
    throw err;
  }
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

function reloaderOf(deps: AdminDeps): ConfigReloader {
  if (!deps.reloader) throw new CallbackError(404, 'not_available', 'this router has no config file to reload');
  return deps.reloader;
}

/**
 * The admin routes, to mount under /admin. The token is checked before any body is read.
 * @example app.route('/admin', adminRoutes({ adminToken, config, spool, intake, refused, dispatcher }))
 */
export function adminRoutes(deps: AdminDeps): Hono {
  const admin = new Hono();
  admin.use('*', async function adminGate(c, next) {
    if (!deps.adminToken) throw new CallbackError(404, 'admin_disabled', 'the admin API is off: set ADMIN_TOKEN to enable it');
    return next();
  });
  if (deps.adminToken) admin.use('*', bearerToken(deps.adminToken));

  const ops = createOperations({
    store: deps.spool,
    intake: deps.intake,
    // Read at each operation: a reload changes the destinations.
    configured: () => [...deps.config.destinations.keys()],
    wake: () => deps.dispatcher?.wakeAll(),
  });
  const body = (req: Request) => readJson(req, MAX_ADMIN_BODY_BYTES);

  admin.get('/dead-letters', async (c) => c.json({ dead_letters: await answer(() => ops.listDeadLetters(fromText(c.req.query()))) }));
  // Replay and backfill run in short transactions, yielding between them, so callbacks keep being
  // committed meanwhile; `"dry_run": true` answers the counts per destination and changes nothing.
  admin.post('/replay', async (c) => {
    const input = await body(c.req.raw);
    return c.json(await answer(() => ops.replay(input)));
  });
  admin.post('/backfill', async (c) => {
    const input = await body(c.req.raw);
    return c.json(await answer(() => ops.backfill(input)));
  });
  admin.get('/rejected', async (c) =>
    c.json({
      rejected: await answer(() => ops.listRejected(fromText(c.req.query()))),
      // Refused before proving anything (unknown profile, failed auth): metadata only, never stored.
      refused_unstored: deps.refused?.list() ?? [],
    }),
  );
  admin.post('/rejected/replay', async (c) => {
    const input = await body(c.req.raw);
    return c.json(await answer(() => ops.reingestRejected(input)));
  });
  admin.get('/destinations', (c) => c.json({ ...ops.stats(), circuits: deps.dispatcher?.status() ?? {} }));
  admin.get('/config', (c) => c.json(reloaderOf(deps).status()));
  // 422: the file is invalid (the errors `kcr check` prints); 409: this router cannot reload.
  admin.post('/config/reload', async (c) => {
    const result = await reloaderOf(deps).reload('admin');
    return c.json(result, result.ok ? 200 : result.error === 'invalid_config' ? 422 : 409);
  });
  admin.post('/destinations/:ref/enable', async (c) => c.json(await answer(() => ops.enable(c.req.param()))));
  // The rest of the path is the id: a message_key without a message_id has a "/" (`<id>/<recipient>`).
  admin.get('/messages/:message_id{.+}', async (c) => c.json(await answer(() => ops.messageTimeline(fromText({ ...c.req.query(), message_id: c.req.param('message_id') })))));
  return admin;
}
