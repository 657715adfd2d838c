/**
 * The typed routing config users write in routes.config.ts. `defineRoutes` returns its input
 * unchanged, but its const generics make a rule that names an undeclared topic or webhook a
 * compile error. The same object is checked again at start-up by `compileRoutes`.
 */
import type { RetryPolicyOptions } from '../dispatch/retry.js';

/** One callback profile: how its callbacks prove who they are, and how to read their times. */
export interface ProfileConfig {
  /** Static headers the profile adds to every callback (API key and the like); all must match. */
  headers?: Record<string, string>;
  /** HTTP basic credentials set on the profile. */
  basicAuth?: { username: string; password: string };
  /** A static bearer token (`Authorization: Bearer ...`). */
  bearerToken?: string;
  /** IANA zone of this profile's zone-less sent_time; default SENT_TIME_ZONE or UTC. */
  sentTimeZone?: string;
}

export interface TopicConfig {
  /** The Kafka topic name. */
  name: string;
  /** Partitions when the router creates the topic (default: the broker's). */
  partitions?: number;
  /** Overrides of the shared retry policy for this topic. */
  retry?: Partial<RetryPolicyOptions>;
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
  /** false: rules naming this webhook skip it (no deliveries are created). Default true. */
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
