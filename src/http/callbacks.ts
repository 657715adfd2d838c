/**
 * The callback routes, mounted at /callbacks: `/:profile` takes Kaleyra's delivery reports,
 * `/:profile/token` issues tokens to profiles with advanced authentication.
 */
import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { IngestOptions, IntakeOutcome } from '../ingest/intake.js';
import { fieldsInQuery, type CallbackInput } from '../ingest/read.js';
import type { CompiledProfile } from '../route/compile.js';
import { CALLBACK_METHODS, type CallbackMethod } from '../route/define-routes.js';
import { readBody, rawQuery } from './body.js';
import type { AppEnv, Counters } from './env.js';
import { CallbackError } from './errors.js';
import { profileAuth } from './profile-auth.js';
import type { Refuse } from './refused.js';

/** The accept step (Intake is one): resolves with the 4xx to answer, or the stored event. */
export interface CallbackIntake {
  ingest(profile: CompiledProfile, input: CallbackInput, opts?: IngestOptions): Promise<IntakeOutcome>;
}

export interface CallbackDeps {
  profiles: ReadonlyMap<string, CompiledProfile>;
  intake: CallbackIntake;
  /** How a callback is refused: counted, logged, its payload kept or noted (see refused.ts). */
  refuse: Refuse;
  metrics: Counters;
  /** Largest accepted callback body, in bytes. */
  maxBodyBytes: number;
}

/** A token request is a small form or JSON body. */
const MAX_TOKEN_BODY_BYTES = 16 * 1024;

/**
 * The callback routes.
 * @example app.route('/callbacks', callbackRoutes({ profiles: config.profiles, intake, refuse, metrics, maxBodyBytes }))
 */
export function callbackRoutes(deps: CallbackDeps): Hono<AppEnv> {
  const { profiles, intake, metrics, maxBodyBytes } = deps;
  // Annotated, so TypeScript knows code after a refusal is unreachable.
  const refuse: Refuse = deps.refuse;
  const callbacks = new Hono<AppEnv>();

  callbacks.post('/:profile/token', async (c) => {
    const profile = profiles.get(c.req.param('profile'));
    if (!profile?.tokenAuth) {
      refuse(c, new CallbackError(404, 'token_endpoint_disabled', `profile "${c.req.param('profile')}" does not issue tokens`), null);
    }
    const { text, over } = await readBody(c, MAX_TOKEN_BODY_BYTES);
    if (over) refuse(c, new CallbackError(413, 'body_too_large', 'a token request is at most 16 KiB'), null);
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

  // Every method, so that one Kaleyra never sends (HEAD, PATCH) is refused with 405, not 404.
  callbacks.use('/:profile', profileAuth({ profiles, refuse }));

  callbacks.on(CALLBACK_METHODS as unknown as string[], '/:profile', async (c) => {
    const profile = c.get('profile');
    const method = c.req.method as CallbackMethod;
    const query = rawQuery(c);
    let body = '';
    if (!fieldsInQuery(method)) {
      const read = await readBody(c, maxBodyBytes);
      if (read.over) {
        refuse(c, new CallbackError(413, 'body_too_large', `the body is over the limit of ${maxBodyBytes} bytes`), { method, contentType: c.req.header('content-type') ?? null, body: '', query });
      }
      body = read.text;
    }
    const input: CallbackInput = { method, contentType: c.req.header('content-type') ?? null, body, query };
    if (!profile.methods.has(method)) {
      const allow = [...profile.methods].join(', ');
      refuse(c, new CallbackError(405, 'method_not_allowed', `profile "${profile.name}" takes ${allow}, not ${method}`, undefined, { allow }), input);
    }
    const out = await intake.ingest(profile, input, { trace: c.get('trace') });
    if (!out.ok) refuse(c, new CallbackError(out.status, out.error, out.message, out.problems), input);
    const { result } = out;
    return c.json({ status: 'accepted', event_id: result.eventId, duplicate: result.duplicate, stale: result.stale });
  });

  return callbacks;
}
