/**
 * "Try a payload": what the router would do with one callback, without storing or sending
 * anything. It takes the request path's own steps (the profile's methods, parse, decrypt, field
 * map, validate, enrich, match) and stops before the spool, so the console's Try page and
 * `kcr test` answer exactly what a real callback would get, bar what only storing can know.
 */
import { eventIdOf } from '../accept/accept.js';
import { enrichEvent } from '../enrich/enrich.js';
import type { DeliveryEvent } from '../event.js';
import type { CompiledConfig } from '../route/compile.js';
import type { CallbackMethod } from '../route/define-routes.js';
import { matchRoutes, type RouteMatch } from '../route/match.js';
import type { FieldProblem } from '../validate/callback.js';
import { readCallback, type CallbackInput } from './read.js';

/** The router's default largest callback body (MAX_BODY_BYTES), used when the caller names none. */
export const DEFAULT_TRY_MAX_BODY_BYTES = 256 * 1024;

/**
 * What storing decides and a try cannot: both depend on the reports the router already took.
 * Said once here so the page and the CLI say the same.
 */
export const UNKNOWABLE =
  'Whether it would be a resend (duplicate: answered, not delivered again) or stale (an earlier status after a later one) ' +
  'depends on the reports already stored, so a try cannot know: it is matched as a new, not stale report.';

/** Profile credentials are not asked for: the operator pastes the payload, not the request. */
export const AUTH_NOT_CHECKED =
  "The profile's credentials (headers, basic auth, bearer or advanced-auth token) are not checked; an encrypted payload is decrypted with the profile's key.";

export type TryResult =
  | {
      accepted: true;
      /** What the router answers: 200 with the event id. */
      status: 200;
      profile: string;
      /** The event as it would be stored and sent (its event_id is the one it would get). */
      event: DeliveryEvent;
      /** The rules it matches and the destinations it would reach, as a new report. */
      route: RouteMatch;
      /** Where it would go if it turned out stale, when that differs (a rule says `stale`). */
      if_stale?: RouteMatch;
    }
  | {
      accepted: false;
      /** The 4xx the router would answer. */
      status: 400 | 404 | 405 | 413;
      error: string;
      message: string;
      problems?: FieldProblem[];
    };

export interface TryOptions {
  /** Zone of a zone-less sent_time when the profile sets none (SENT_TIME_ZONE); default null. */
  sentTimeZone?: string | null;
  /** Largest body the router takes (MAX_BODY_BYTES). */
  maxBodyBytes?: number;
  /** When it is taken to arrive; default now. */
  receivedAt?: Date;
}

const sameRoute = (a: RouteMatch, b: RouteMatch): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * What the router would answer a callback to `profileName`, and where the event would go. Pure
 * but for the clock: it touches no spool and no destination.
 * @example tryCallback(config, 'default', { method: 'POST', contentType: 'application/json', body: '{"status":"DELIVRD","id":"1"}', query: '' })
 * // { accepted: true, status: 200, event: {...}, route: { rules: ['every-report'], destinations: ['kafka:events'], fallback: false } }
 */
export function tryCallback(config: CompiledConfig, profileName: string, input: CallbackInput, opts: TryOptions = {}): TryResult {
  const profile = config.profiles.get(profileName);
  if (!profile) {
    const names = [...config.profiles.keys()].join(', ');
    return { accepted: false, status: 404, error: 'unknown_profile', message: `no callback profile named "${profileName.slice(0, 64)}" is configured (${names})` };
  }
  if (!profile.methods.has(input.method as CallbackMethod)) {
    return { accepted: false, status: 405, error: 'method_not_allowed', message: `profile "${profile.name}" takes ${[...profile.methods].join(', ')}, not ${input.method}` };
  }
  const max = opts.maxBodyBytes ?? DEFAULT_TRY_MAX_BODY_BYTES;
  if (Buffer.byteLength(input.body, 'utf8') > max) {
    return { accepted: false, status: 413, error: 'body_too_large', message: `the body is over the limit of ${max} bytes` };
  }
  const read = readCallback(profile, input);
  if (!read.ok) {
    const { status, error, message, problems } = read;
    return { accepted: false, status, error, message, ...(problems ? { problems } : {}) };
  }
  const event = enrichEvent(read.callback, read.raw, {
    profile: profile.name,
    eventId: '',
    receivedAt: opts.receivedAt ?? new Date(),
    sentTimeZone: profile.config.sentTimeZone ?? opts.sentTimeZone ?? null,
    rawQuery: read.rawQuery,
  });
  event.event_id = eventIdOf(event);
  const route = matchRoutes(event, config.table);
  const ifStale = matchRoutes({ ...event, stale: true }, config.table);
  return { accepted: true, status: 200, profile: profile.name, event, route, ...(sameRoute(route, ifStale) ? {} : { if_stale: ifStale }) };
}

/**
 * The content type a pasted payload most likely came with, read from its first character as
 * the router reads an untyped body: JSON, XML, a query string or form, else text.
 * @example guessContentType('{"status":"DELIVRD"}') // 'application/json'
 * @example guessContentType('status=DELIVRD&id=1') // 'application/x-www-form-urlencoded'
 */
export function guessContentType(payload: string): string {
  const text = payload.replace(/^\uFEFF/, '').trim();
  if (text.startsWith('{') || text.startsWith('[')) return 'application/json';
  if (text.startsWith('<')) return 'application/xml';
  if (!/[\r\n]/.test(text) && /^\??[\w.[\]%-]+=/.test(text)) return 'application/x-www-form-urlencoded';
  return 'text/plain';
}

/**
 * The request a pasted payload stands for: GET and DELETE carry it as the query string (a whole
 * URL or a leading "?" is cut to the query), the other methods as the body.
 * @example tryInput('GET', null, 'https://x.example/cb?status=DELIVRD&id=1') // { method: 'GET', contentType: null, body: '', query: 'status=DELIVRD&id=1' }
 */
export function tryInput(method: string, contentType: string | null, payload: string): CallbackInput {
  if (method === 'GET' || method === 'DELETE') {
    const text = payload.trim();
    // Only a URL or a leading "?" is cut: a "?" inside a value is data.
    const q = /^(https?:\/\/|\/|\?)/i.test(text) ? text.indexOf('?') : -1;
    return { method, contentType: null, body: '', query: q >= 0 ? text.slice(q + 1) : text };
  }
  return { method, contentType: contentType ?? guessContentType(payload), body: payload, query: '' };
}
