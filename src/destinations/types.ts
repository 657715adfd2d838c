/**
 * What a destination is, and what a destination kind (Kafka topic, webhook) tells the rest of
 * the router about itself. One file per kind exports one `DestinationKind`; `registry.ts`
 * lists them, one line each.
 */
import type { z } from 'zod';
import type { RouterError } from '../errors.js';
import type { KafkaClientSettings } from '../kafka/client-config.js';
import type { Logger } from '../log.js';
import type { RetryPolicyOptions } from '../retry/policy.js';
import type { TraceContext } from '../trace/context.js';
import type { RateLimitOptions } from '../dispatch/rate-limit.js';

/** What a destination needs to know of one delivery. */
export interface DeliveryItem {
  eventId: string;
  /** The message the report is about: reports of one message leave in order. */
  messageKey: string;
  /** The event type (`sms.delivered`). */
  type: string;
  /** The enriched event as JSON, exactly as stored. */
  body: string;
  /** This delivery's W3C trace context, a child span of the callback's: passed on as `traceparent`. */
  trace?: TraceContext | null;
}

/**
 * What happened to one item: a report, not a decision. Whether a failure is retried,
 * dead-lettered or disables the destination is the dispatcher's call alone.
 * `skipped`: not attempted (an earlier item of the same message failed first); no attempt counts.
 */
export type DeliveryOutcome = { kind: 'delivered' } | { kind: 'failed'; error: RouterError } | { kind: 'skipped' };

/** A place events go. */
export interface Destination {
  /** `kafka:<alias>` or `webhook:<name>`. */
  readonly ref: string;
  /** Deliveries handed over in one call (a produce request; concurrent webhook requests). */
  readonly maxBatch: number;
  /** How long to let new work gather before a batch leaves (Kafka's linger.ms). */
  readonly lingerMs: number;
  /**
   * Delivers a batch; never throws: each item gets an outcome, in order. Items of one
   * message_key are in arrival order within the batch and must leave in that order; after one
   * of them fails, no later one of that key is delivered (it is skipped, or fails with it).
   */
  deliver(batch: readonly DeliveryItem[], signal: AbortSignal): Promise<DeliveryOutcome[]>;
  /** Waits for in-flight work, then releases what this destination holds. */
  close(): Promise<void>;
}

/** What the process gives every kind at start-up. */
export interface DestinationEnv {
  /** Kafka bootstrap brokers; empty: Kafka topics go to the local sink. */
  kafkaBrokers: string[];
  /** Where the local sink writes. */
  sinkDir: string;
  logger: Logger;
  kafkaRequestTimeoutMs?: number;
  /** SASL, TLS and compression of the Kafka clients (settings.kafka); default: plaintext, uncompressed. */
  kafka?: KafkaClientSettings;
}

/** What compileRoutes reads of every destination's config, whatever its kind. */
export interface DestinationConfigBase {
  /** Overrides of the shared retry policy, layered over it once, at compile time. */
  retry?: Partial<RetryPolicyOptions>;
  /** The outgoing rate limit (deliveries per second), resolved at compile time; none: unlimited. */
  rateLimit?: RateLimitOptions;
  /** false: declared but switched off; rules naming it skip it (no deliveries are made). */
  enabled?: boolean;
}

/** A kind's destinations, opened for one router run. */
export interface OpenDestinations {
  /** ref -> destination, one for each config it was given. */
  destinations: ReadonlyMap<string, Destination>;
  /** Start-up work (creating Kafka topics); best effort, never rejects. */
  start?(): Promise<void>;
  /** After every destination closed: releases what they shared (a Kafka connection). */
  close?(): Promise<void>;
}

/**
 * One kind of destination: everything the rest of the router needs to know of it.
 * `S`: its section of routes.config.ts as parsed; `C`: the config of one destination.
 * @example
 * export const webhookKind: DestinationKind<Record<string, WebhookConfig>, WebhookConfig> = {
 *   prefix: 'webhook', placeholder: 'name', noun: 'webhook', section: 'webhooks',
 *   sectionSchema: z.record(z.string().min(1), webhookSchema),
 *   declared: (section) => section,
 *   open: (configs) => ({ destinations: new Map([...configs].map(([ref, c]) => [ref, new WebhookDestination(ref, c)])) }),
 * };
 */
export interface DestinationKind<S = unknown, C extends DestinationConfigBase = DestinationConfigBase> {
  /** The ref prefix: 'kafka' for 'kafka:<alias>'. */
  readonly prefix: string;
  /** What follows the prefix, as config errors show it: 'topic' for "kafka:<topic>". */
  readonly placeholder: string;
  /** One of them in config errors: 'Kafka topic' for 'unknown Kafka topic "audit"'. */
  readonly noun: string;
  /** The key of routes.config.ts it is declared under ('kafka', 'webhooks'). */
  readonly section: string;
  /** That section's schema; checked with the rest of the config, so an error names the field. */
  readonly sectionSchema: z.ZodType<S>;
  /** The destinations the parsed section declares: name (after the prefix) -> config. */
  declared(section: S): Record<string, C>;
  /** Creates the destinations of this kind, given ref -> config, sharing what they can. */
  open(configs: ReadonlyMap<string, C>, env: DestinationEnv): OpenDestinations;
}

/** Every item of a batch failed the same way. */
export function allFailed(batch: readonly unknown[], error: RouterError): DeliveryOutcome[] {
  return batch.map(() => ({ kind: 'failed', error }));
}
