/**
 * The HTTP edge. `createApp` builds the Hono app and never listens (server.ts does), so tests
 * call `app.request(...)` directly. `app.onError` is the one place that shapes error bodies.
 */
import { Hono, type Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { HttpBindings } from '@hono/node-server';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { enrichEvent } from '../enrich/enrich.js';
import { uuidv7 } from '../enrich/ids.js';
import { StoreUnavailableError, errorMessage } from '../errors.js';
import { fieldsFromQuery, parseCallbackBody } from '../ingest/parse.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { CompiledConfig } from '../route/compile.js';
import type { Spool } from '../spool/spool.js';
import { validateCallback, type FieldProblem } from '../validate/callback.js';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import { checkProfileAuth } from './auth.js';
import { adminRoutes } from './admin.js';

declare module 'hono' {
  interface ContextVariableMap {
    profile: string;
  }
}

export interface AppDeps {
  config: CompiledConfig;
  spool: Spool;
  logger: Logger;
  metrics: Metrics;
  dispatcher?: Dispatcher;
  /** Largest accepted body; default 256 KiB. */
  maxBodyBytes?: number;
  /** Zone of zone-less sent_time when the profile sets none; default UTC. */
  sentTimeZone?: string;
  /** Bearer token for /admin; unset disables the admin API. */
  adminToken?: string;
  /** False while shutting down: /readyz answers 503. */
  accepting?: () => boolean;
}

/** An error that is the client's: answered with its status and a JSON body naming the problem. */
export class CallbackError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly error: string,
    message: string,
    readonly problems?: FieldProblem[],
    readonly headers: Record<string, string> = {},
  ) {
    super(status, { message });
  }

  override getResponse(): Response {
    const body = { error: this.error, message: this.message, ...(this.problems ? { problems: this.problems } : {}) };
    return Response.json(body, { status: this.status, headers: this.headers });
  }
}

/**
 * The body as text, with `over: true` when it is larger than `max` bytes (then only the first
 * `max` bytes are read). Served by @hono/node-server it reads Node's request stream directly:
 * building a Web Request and stream for every callback was the largest cost on the hot path.
 */
async function readBody(c: Context, max: number): Promise<{ text: string; over: boolean }> {
  const declared = Number(c.req.header('content-length') ?? NaN);
  if (declared > max) return { text: '', over: true };
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
  const chunks: Uint8Array[] = [];
  let size = 0;
  const source: AsyncIterable<Uint8Array> | null = incoming ?? (c.req.raw.body as AsyncIterable<Uint8Array> | null);
  if (source) {
    for await (const chunk of source) {
      chunks.push(chunk);
      size += chunk.length;
      if (size > max) break;
    }
  }
  return { text: Buffer.concat(chunks).subarray(0, max).toString('utf8'), over: size > max };
}

/** The raw query string (no "?"). Slicing the request line is enough; a full URL parse is not. */
function rawQuery(c: Context): string {
  const url = c.req.url;
  const q = url.indexOf('?');
  return q < 0 ? '' : url.slice(q + 1);
}

export function createApp(deps: AppDeps): Hono {
  const { config, spool, logger, metrics } = deps;
  const maxBodyBytes = deps.maxBodyBytes ?? 256 * 1024;
  const app = new Hono();

  function reject(c: Context, err: CallbackError, body: string | null): never {
    const profile = c.get('profile') ?? c.req.param('profile') ?? '';
    // Unknown profile names come from the URL: keep them out of metric labels (unbounded).
    metrics.inc('callbacks_rejected_total', { profile: config.profiles.has(profile) ? profile : '(unknown)', reason: err.error });
    logger.warn('callback rejected', { profile, status: err.status, error: err.error, message: err.message });
    if (body !== null) {
      spool.recordRejected({ profile, statusCode: err.status, reason: err.message, contentType: c.req.header('content-type') ?? null, body });
    }
    throw err;
  }

  const callbackPath = '/callbacks/:profile';

  const notAllowed = (method: string) =>
    new CallbackError(405, 'method_not_allowed', `${method} is not supported: Kaleyra callbacks use GET or POST`, undefined, { allow: 'GET, POST' });

  app.use(callbackPath, async function resolveProfile(c, next) {
    // Hono runs the GET handler for HEAD; a HEAD must never ingest a callback.
    if (c.req.method !== 'GET' && c.req.method !== 'POST') throw notAllowed(c.req.method);
    const name = c.req.param('profile');
    const profile = config.profiles.get(name);
    if (!profile) {
      // Kept for operators: a profile missing from the config is a misconfiguration to fix and replay.
      const body = c.req.method === 'GET' ? rawQuery(c) : (await readBody(c, maxBodyBytes)).text;
      reject(c, new CallbackError(404, 'unknown_profile', `no callback profile named "${name}" is configured`), body);
    }
    const denied = checkProfileAuth(profile, (h) => c.req.header(h));
    if (denied) reject(c, new CallbackError(401, 'unauthorized', `profile "${name}": ${denied}`), null);
    c.set('profile', name);
    await next();
  });

  app.post(callbackPath, async (c) => {
    const { text: body, over } = await readBody(c, maxBodyBytes);
    if (over) reject(c, new CallbackError(413, 'body_too_large', `the body is over the limit of ${maxBodyBytes} bytes`), '');
    const parsed = parseCallbackBody(body, c.req.header('content-type') ?? null, rawQuery(c));
    if (!parsed.ok) reject(c, new CallbackError(400, parsed.error, parsed.message), body);
    return ingest(c, parsed.fields, body);
  });

  app.get(callbackPath, (c) => {
    const query = rawQuery(c);
    return ingest(c, fieldsFromQuery(query), query);
  });

  async function ingest(c: Context, fields: Record<string, unknown>, rawBody: string): Promise<Response> {
    const profileName = c.get('profile');
    const valid = validateCallback(fields);
    if (!valid.ok) {
      const message = valid.problems.map((p) => `${p.field}: ${p.problem}`).join('; ');
      reject(c, new CallbackError(400, 'invalid_callback', message, valid.problems), rawBody);
    }
    const event = enrichEvent(valid.callback, fields, {
      profile: profileName,
      eventId: uuidv7(),
      receivedAt: new Date(),
      sentTimeZone: config.profiles.get(profileName)?.sentTimeZone ?? deps.sentTimeZone ?? 'UTC',
    });
    const result = await spool.accept(event);
    if (result.duplicate) {
      metrics.inc('callbacks_duplicate_total', { profile: profileName });
    } else {
      metrics.inc('callbacks_accepted_total', { profile: profileName, status_class: event.status_class });
      if (result.stale) metrics.inc('callbacks_stale_total', { profile: profileName });
      if (result.route.rules.length === 0 && !result.route.fallback) {
        metrics.inc('callbacks_unrouted_total', { profile: profileName });
        logger.warn('callback matched no rule and there is no fallback', { event_id: result.eventId, status: event.status, iso_code: event.iso_code });
      } else if (result.route.destinations.length === 0) {
        metrics.inc('callbacks_dropped_total', { profile: profileName, rule: result.route.rules.at(-1)! });
      }
    }
    return c.json({ status: 'accepted', event_id: result.eventId, duplicate: result.duplicate, stale: result.stale });
  }

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', (c) => {
    const accepting = deps.accepting?.() ?? true;
    const storeOk = spool.writable();
    const disabled = Object.fromEntries(spool.disabledDestinations());
    const body = {
      status: accepting && storeOk ? 'ready' : 'unavailable',
      accepting,
      store: storeOk ? 'ok' : `cannot commit: ${spool.lastCommitError ?? 'not writable'}`,
      destinations: deps.dispatcher?.status() ?? {},
      disabled_destinations: disabled,
    };
    return c.json(body, accepting && storeOk ? 200 : 503);
  });
  app.get('/metrics', (c) => c.text(metrics.render(), 200, { 'content-type': 'text/plain; version=0.0.4' }));

  app.route('/admin', adminRoutes(deps));

  app.notFound((c) => c.json({ error: 'not_found', message: `no route for ${c.req.method} ${new URL(c.req.url).pathname}` }, 404));

  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    if (err instanceof StoreUnavailableError) {
      logger.error('callback not accepted: the spool cannot commit', { error: err.message });
      metrics.inc('callbacks_unavailable_total');
      return c.json({ error: 'unavailable', message: 'the router cannot store callbacks right now; retry later' }, 503, { 'retry-after': '5' });
    }
    logger.error('unexpected error', { error: errorMessage(err), stack: err instanceof Error ? err.stack : undefined });
    return c.json({ error: 'internal', message: 'unexpected error' }, 500);
  });

  return app;
}
