/** The destination registry: one line per kind. */
import type { Logger } from '../log.js';
import { resolvePolicy, type RetryPolicyOptions } from '../dispatch/retry.js';
import type { CompiledConfig } from '../route/compile.js';
import { KafkaConnection, KafkaTopicDestination } from './kafka.js';
import { LocalSinkDestination } from './local-sink.js';
import type { Destination } from './types.js';
import { WebhookDestination } from './webhook.js';

export type { Destination, DeliveryOutcome } from './types.js';

export interface DestinationSet {
  destinations: Map<string, Destination>;
  /** The retry policy for each destination ref (shared policy plus its overrides). */
  policies: Map<string, RetryPolicyOptions>;
  kafka: KafkaConnection | null;
  close(): Promise<void>;
}

export interface DestinationEnv {
  /** Kafka bootstrap brokers; empty: Kafka topics go to the local sink. */
  kafkaBrokers: string[];
  sinkDir: string;
  logger: Logger;
  kafkaRequestTimeoutMs?: number;
}

export function createDestinations(cfg: CompiledConfig, env: DestinationEnv): DestinationSet {
  const destinations = new Map<string, Destination>();
  const policies = new Map<string, RetryPolicyOptions>();
  const kafka =
    env.kafkaBrokers.length > 0
      ? new KafkaConnection({
          brokers: env.kafkaBrokers,
          clientId: cfg.kafkaClientId,
          logger: env.logger,
          requestTimeoutMs: env.kafkaRequestTimeoutMs,
        })
      : null;
  for (const [ref, topic] of cfg.topics) {
    destinations.set(ref, kafka ? new KafkaTopicDestination(ref, topic, kafka) : new LocalSinkDestination(ref, topic, env.sinkDir));
    policies.set(ref, resolvePolicy(cfg.retry, topic.retry));
  }
  for (const [ref, hook] of cfg.webhooks) {
    const policy = resolvePolicy(cfg.retry, hook.retry);
    destinations.set(ref, new WebhookDestination(ref, hook, policy));
    policies.set(ref, policy);
  }
  return {
    destinations,
    policies,
    kafka,
    async close() {
      await Promise.allSettled([...destinations.values()].map((d) => d.close()));
      await kafka?.close();
    },
  };
}
