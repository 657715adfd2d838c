/**
 * The gate in front of every callback: which profile the URL names, whether the method is a
 * Kaleyra callback method, and whether the request carries the profile's credentials.
 */
import type { MiddlewareHandler } from 'hono';
import type { CompiledProfile } from '../route/compile.js';
import { CALLBACK_METHODS } from '../route/define-routes.js';
import { checkProfileAuth } from './auth.js';
import type { AppEnv } from './env.js';
import { CallbackError } from './errors.js';
import type { Refuse } from './refused.js';
import { KEYS_UNAVAILABLE } from './token-auth.js';

export interface ProfileAuthDeps {
  profiles: ReadonlyMap<string, CompiledProfile>;
  /** How a request that fails the gate is refused (counted, noted, never stored). */
  refuse: Refuse;
}

/**
 * Resolves `:profile`, admits only Kaleyra callback methods, checks the profile's static
 * credentials (headers, basic, bearer) and its advanced-auth tokens, then sets `profile`.
 * @example callbacks.use('/:profile', profileAuth({ profiles: config.profiles, refuse }))
 */
export function profileAuth(deps: ProfileAuthDeps): MiddlewareHandler<AppEnv, '/:profile'> {
  const { profiles } = deps;
  // Annotated, so TypeScript knows code after a refusal is unreachable.
  const refuse: Refuse = deps.refuse;
  const allowed: readonly string[] = CALLBACK_METHODS;
  return async function profileAuth(c, next) {
    const method = c.req.method;
    // Hono runs the GET handler for HEAD; a HEAD must never ingest a callback.
    if (!allowed.includes(method)) {
      refuse(c, new CallbackError(405, 'method_not_allowed', `${method} is not a Kaleyra callback method`, undefined, { allow: CALLBACK_METHODS.join(', ') }), null);
    }
    const name = c.req.param('profile');
    const profile = profiles.get(name);
    if (!profile) refuse(c, new CallbackError(404, 'unknown_profile', `no callback profile named "${name.slice(0, 64)}" is configured`), null);
    const denied =
      checkProfileAuth(profile.config, (h) => c.req.header(h)) ?? (profile.tokenAuth ? await profile.tokenAuth.verify(c.req.header('authorization') ?? null) : null);
    if (denied === KEYS_UNAVAILABLE) {
      // The customer's key server is down, not the token bad: Kaleyra should retry.
      throw new CallbackError(503, 'unavailable', `profile "${name}": ${denied}; retry later`, undefined, { 'retry-after': '5' });
    }
    if (denied) refuse(c, new CallbackError(401, 'unauthorized', `profile "${name}": ${denied}`), null);
    c.set('profile', profile);
    await next();
  };
}
