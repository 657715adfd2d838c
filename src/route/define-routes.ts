/**
 * The typed routing config users write in routes.config.ts. `defineRoutes` returns its input
 * unchanged, but its const generics make a rule that names an undeclared topic or webhook a
 * compile error. The same object is checked again at start-up by `compileRoutes`.
 */
import type { RetryPolicyOptions } from '../retry/policy.js';
import type { RateLimitOptions } from '../dispatch/rate-limit.js';
import type { TokenAuthConfig } from '../http/token-auth.js';
import type { EncryptionConfig } from '../ingest/decrypt.js';
import type { FieldMap } from '../ingest/field-map.js';

/** The HTTP methods a Kaleyra callback profile can use. */
export const CALLBACK_METHODS = ['GET', 'POST', 'PUT', 'DELETE'] as const;
export type CallbackMethod = (typeof CALLBACK_METHODS)[number];

/** A duration: milliseconds, or a number with a unit (`'90s'`, `'30m'`, `'72h'`, `'3d'`). */
export type Duration = number | `${number}${'s' | 'm' | 'h' | 'd'}`;

/** One callback profile: how its callbacks prove who they are, and how to read them. */
export interface ProfileConfig {
  /**
   * Methods this profile's callbacks use (Kaleyra: GET and DELETE carry the fields in the query
   * string, POST and PUT in the body). Default: all four; another method gets 405.
   */
  methods?: readonly CallbackMethod[];
  /** Static headers the profile adds to every callback (API key and the like); all must match. */
  headers?: Record<string, string>;
  /** HTTP basic credentials set on the profile. */
  basicAuth?: { username: string; password: string };
  /** A static bearer token (`Authorization: Bearer ...`). */
  bearerToken?: string;
  /**
   * Kaleyra "advanced authentication": the router serves the profile's auth URL at
   * `POST /callbacks/<profile>/token` and accepts only its own unexpired tokens (`issue`), or
   * tokens of the customer's own identity provider (`external`).
   */
  tokenAuth?: TokenAuthConfig;
  /** Kaleyra "callback encryption": each parameter value encrypted with AES (GCM or CFB). */
  encryption?: EncryptionConfig;
  /**
   * Where a custom body template puts the standard fields, as dotted paths into the body:
   * `{ message_id: 'msgid', status: 'data.st' }`. Unmapped fields are read by their own names.
   */
  fieldMap?: FieldMap;
  /**
   * IANA zone of this profile's zone-less sent_time; default SENT_TIME_ZONE. With neither,
   * sent_time stays a local time (`sent_time_local`) and `sent_time` is null.
   */
  sentTimeZone?: string;
  /**
   * A message whose last report is still interim (Sent, Queued, AWAITED-DLR) this long after it
   * gets one `sms.final_missing` event of its own, so consumers stop waiting for a lost DLR.
   */
  finalAfter?: Duration;
}

export interface TopicConfig {
  /** The Kafka topic name. */
  name: string;
  /** Partitions when the router creates the topic (default: the broker's). */
  partitions?: number;
  /** Overrides of the shared retry policy for this topic. */
  retry?: Partial<RetryPolicyOptions>;
  /** At most this many records per second to the topic (a replay or backfill cannot flood its consumers); default unlimited. */
  rateLimit?: RateLimitOptions;
}

export interface WebhookConfig {
  url: string;
  /** Standard Webhooks secret (`whsec_...`); when set every request is signed. */
  secret?: string;
  /** Extra static request headers. */
  headers?: Record<string, string>;
  /** Per-request timeout; default 10 s. */
  timeoutMs?: number;
  /** Requests in flight at once; default 4. */
  concurrency?: number;
  /** Overrides of the shared retry policy for this webhook. */
  retry?: Partial<RetryPolicyOptions>;
  /** At most this many requests per second to the webhook (a replay or backfill cannot flood it); default unlimited. */
  rateLimit?: RateLimitOptions;
  /** false: rules naming this webhook skip it (no deliveries are created). Default true. */
  enabled?: boolean;
}

/**
 * The operational webhook: told when a delivery is dead-lettered, a destination is disabled or
 * its circuit opens or closes, the spool cannot commit (and can again), and when a
 * destination's oldest pending delivery is older than `oldestPending` (and back under). Signed
 * like the other webhooks; at most one alert per (condition, destination) per `repeatAfter`.
 */
export interface AlertsConfig {
  url: string;
  /** Standard Webhooks secret (`whsec_...`); when set every alert is signed. */
  secret?: string;
  /** Extra static request headers. */
  headers?: Record<string, string>;
  /** Per-request timeout; default 5 s. */
  timeoutMs?: number;
  /** A destination whose oldest pending delivery is older than this is alerted; default '15m'. */
  oldestPending?: Duration;
  /** How often the oldest pending deliveries are looked at; default '10s'. */
  checkEvery?: Duration;
  /** At most one alert per condition and destination in this window; the rest are summed into the next; default '1m'. */
  repeatAfter?: Duration;
  /** false: nothing is sent (the conditions still show in /metrics). Default true. */
  enabled?: boolean;
}

/**
 * A value pattern: an exact value, a glob with `*`, or either prefixed with `!` to negate.
 * A list matches when any positive pattern matches (or there is none) and no negated one does.
 */
export type Pattern = string;
export type Patterns = Pattern | readonly Pattern[];

export interface RuleMatch {
  /** Raw Kaleyra status ("Not Sent") or normalized class ("rejected"); case, space, -, _ ignored. */
  status?: Patterns;
  /** ISO 3166 alpha-2 country code, case-insensitive. */
  iso_code?: Patterns;
  /** Callback profile name from the URL. */
  profile?: Patterns;
  /** Kaleyra route type (`type`): DEFAULT, OTP, TXN, MKT. */
  route_type?: Patterns;
  /** Kaleyra status_trace detail code. */
  status_trace?: Patterns;
  /** Only final (or only interim) reports. */
  final?: boolean;
  /** Only reports that move their message backwards (or only those that do not). */
  stale?: boolean;
}

export type DestinationRef<T extends string, W extends string> = `kafka:${T}` | `webhook:${W}`;

export interface RouteRule<D extends string = string> {
  /** Shown in logs, metrics and config errors. */
  name: string;
  /** Omitted: matches every event. */
  match?: RuleMatch;
  /** Destinations; an empty list with `stop: true` drops the event. */
  to: readonly D[];
  /** Stop matching further rules once this one matches. */
  stop?: boolean;
}

export interface RoutesConfig<P extends string = string, T extends string = string, W extends string = string> {
  profiles: Record<P, ProfileConfig>;
  kafka?: {
    /** Topic aliases used by rules, to topic names (or options). */
    topics: Record<T, string | TopicConfig>;
    /** Kafka client id; default "kaleyra-callback-router". */
    clientId?: string;
  };
  webhooks?: Record<W, WebhookConfig>;
  rules: readonly RouteRule<NoInfer<DestinationRef<T, W>>>[];
  /** Where events that match no rule go; without it they are counted and logged as unrouted. */
  fallback?: readonly NoInfer<DestinationRef<T, W>>[];
  /** The retry policy shared by every destination. */
  retry?: Partial<RetryPolicyOptions>;
  /** The operational alert webhook (dead letters, disabled destinations, a spool that cannot commit...). */
  alerts?: AlertsConfig;
}

/**
 * Declares the routes with full type checking of destination names.
 * @example
 * export default defineRoutes({
 *   profiles: { default: {} },
 *   kafka: { topics: { events: 'sms.delivery-events' } },
 *   webhooks: { crm: { url: 'https://crm.example/hooks/sms' } },
 *   rules: [{ name: 'everything', to: ['kafka:events', 'webhook:crm'] }],
 * });
 */
export function defineRoutes<const P extends string, const T extends string = never, const W extends string = never>(
  config: RoutesConfig<P, T, W>,
): RoutesConfig<P, T, W> {
  return config;
}
