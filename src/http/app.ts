/**
 * The HTTP edge. `createApp` builds the Hono app and never listens (server.ts does), so tests
 * call `app.request(...)` directly. `app.onError` is the one place that shapes error bodies.
 */
import { Hono, type Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { HttpBindings } from '@hono/node-server';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { StoreUnavailableError, errorMessage } from '../errors.js';
import { Intake } from '../ingest/intake.js';
import { fieldsInQuery, type CallbackInput } from '../ingest/read.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { CompiledConfig, CompiledProfile } from '../route/compile.js';
import { CALLBACK_METHODS, type CallbackMethod } from '../route/define-routes.js';
import type { Spool } from '../spool/spool.js';
import type { FieldProblem } from '../validate/callback.js';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import { checkProfileAuth } from './auth.js';
import { adminRoutes } from './admin.js';
import { RefusedSample } from './refused.js';
import { KEYS_UNAVAILABLE } from './token-auth.js';

declare module 'hono' {
  interface ContextVariableMap {
    profile: CompiledProfile;
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
  /** Zone of zone-less sent_time when the profile sets none; null or unset: kept local. */
  sentTimeZone?: string | null;
  /** The accept step; built from the deps above when not given. */
  intake?: Intake;
  /** Where refused-but-unstored callbacks are noted; one is made when not given. */
  refused?: RefusedSample;
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
  const intake = deps.intake ?? new Intake({ config, spool, metrics, logger, sentTimeZone: deps.sentTimeZone ?? null });
  const refused = deps.refused ?? new RefusedSample();
  const app = new Hono();

  /**
   * Answers a refused callback. Payloads of a known, authenticated profile are kept for
   * operators (to fix the config and re-ingest); anything else is only counted and noted.
   */
  function reject(c: Context, err: CallbackError, kept: CallbackInput | null): never {
    const name = c.req.param('profile') ?? '';
    const profile = config.profiles.has(name) ? name : '(unknown)';
    // Unknown profile names come from the URL: keep them out of metric labels (unbounded).
    metrics.inc('callbacks_rejected_total', { profile, reason: err.error });
    logger.warn('callback rejected', { profile: name.slice(0, 64), status: err.status, error: err.error, message: err.message.slice(0, 500) });
    if (kept) {
      spool.recordRejected({ profile: name, statusCode: err.status, reason: err.message, contentType: kept.contentType, body: kept.body, method: kept.method, query: kept.query });
    } else {
      const bytes = Number(c.req.header('content-length') ?? NaN);
      refused.note({
        at: new Date().toISOString(),
        status: err.status,
        error: err.error,
        profile: name,
        method: c.req.method,
        content_type: c.req.header('content-type') ?? null,
        bytes: Number.isFinite(bytes) ? bytes : null,
      });
    }
    throw err;
  }

  const callbackPath = '/callbacks/:profile';

  app.post(`${callbackPath}/token`, async (c) => {
    const profile = config.profiles.get(c.req.param('profile'));
    if (!profile?.tokenAuth) {
      reject(c, new CallbackError(404, 'token_endpoint_disabled', `profile "${c.req.param('profile')}" does not issue tokens`), null);
    }
    const { text, over } = await readBody(c, 16 * 1024);
    if (over) reject(c, new CallbackError(413, 'body_too_large', 'a token request is at most 16 KiB'), null);
    const answer = await profile.tokenAuth.handleTokenRequest({
      method: c.req.method,
      contentType: c.req.header('content-type') ?? null,
      authorization: c.req.header('authorization') ?? null,
      body: text,
    });
    // Wrong client credentials: counted, never stored.
    if (answer.status === 401) metrics.inc('token_requests_refused_total', { profile: profile.name });
    else if (answer.status === 200) metrics.inc('tokens_issued_total', { profile: profile.name });
    return c.json(answer.body, answer.status as ContentfulStatusCode, answer.headers);
  });

  app.use(callbackPath, async function resolveProfile(c, next) {
    const method = c.req.method;
    // Hono runs the GET handler for HEAD; a HEAD must never ingest a callback.
    if (!(CALLBACK_METHODS as readonly string[]).includes(method)) {
      reject(c, new CallbackError(405, 'method_not_allowed', `${method} is not a Kaleyra callback method`, undefined, { allow: CALLBACK_METHODS.join(', ') }), null);
    }
    const name = c.req.param('profile');
    const profile = config.profiles.get(name);
    if (!profile) reject(c, new CallbackError(404, 'unknown_profile', `no callback profile named "${name.slice(0, 64)}" is configured`), null);
    const denied =
      checkProfileAuth(profile.config, (h) => c.req.header(h)) ?? (profile.tokenAuth ? await profile.tokenAuth.verify(c.req.header('authorization') ?? null) : null);
    if (denied === KEYS_UNAVAILABLE) {
      // The customer's key server is down, not the token bad: Kaleyra should retry.
      throw new CallbackError(503, 'unavailable', `profile "${name}": ${denied}; retry later`, undefined, { 'retry-after': '5' });
    }
    if (denied) reject(c, new CallbackError(401, 'unauthorized', `profile "${name}": ${denied}`), null);
    c.set('profile', profile);
    await next();
  });

  app.on(CALLBACK_METHODS as unknown as string[], callbackPath, async (c) => {
    const profile = c.get('profile');
    const method = c.req.method as CallbackMethod;
    const query = rawQuery(c);
    let body = '';
    if (!fieldsInQuery(method)) {
      const read = await readBody(c, maxBodyBytes);
      if (read.over) {
        reject(c, new CallbackError(413, 'body_too_large', `the body is over the limit of ${maxBodyBytes} bytes`), { method, contentType: c.req.header('content-type') ?? null, body: '', query });
      }
      body = read.text;
    }
    const input: CallbackInput = { method, contentType: c.req.header('content-type') ?? null, body, query };
    if (!profile.methods.has(method)) {
      const allow = [...profile.methods].join(', ');
      reject(c, new CallbackError(405, 'method_not_allowed', `profile "${profile.name}" takes ${allow}, not ${method}`, undefined, { allow }), input);
    }
    const out = await intake.ingest(profile, input);
    if (!out.ok) reject(c, new CallbackError(out.status, out.error, out.message, out.problems), input);
    const { result } = out;
    return c.json({ status: 'accepted', event_id: result.eventId, duplicate: result.duplicate, stale: result.stale });
  });

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

  app.route('/admin', adminRoutes({ ...deps, intake, refused }));

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
