/** Opens the destinations a compiled config declares, each through its kind. */
import type { CompiledConfig } from '../route/compile.js';
import type { RetryPolicyOptions } from '../retry/policy.js';
import { DESTINATION_KINDS } from './registry.js';
import type { Destination, DestinationConfigBase, DestinationEnv, OpenDestinations } from './types.js';

export type { DeliveryItem, DeliveryOutcome, Destination, DestinationEnv, DestinationKind } from './types.js';

export interface DestinationSet {
  /** ref -> destination, for every destination of the config. */
  destinations: ReadonlyMap<string, Destination>;
  /** ref -> its retry policy, as compileRoutes resolved it (shared policy plus overrides). */
  policies: ReadonlyMap<string, RetryPolicyOptions>;
  /** Each kind's start-up work (creating Kafka topics, saying they go to the local sink); never rejects. */
  start(): Promise<void>;
  /** Waits for in-flight work, then releases every connection. */
  close(): Promise<void>;
}

/**
 * @example
 * const set = createDestinations(config, { kafkaBrokers: [], sinkDir: 'data/sink', logger });
 * void set.start();
 */
export function createDestinations(cfg: CompiledConfig, env: DestinationEnv): DestinationSet {
  const destinations = new Map<string, Destination>();
  const policies = new Map<string, RetryPolicyOptions>();
  const opened: OpenDestinations[] = [];
  for (const kind of DESTINATION_KINDS) {
    const configs = new Map<string, DestinationConfigBase>();
    for (const [ref, d] of cfg.destinations) if (d.kind === kind.prefix) configs.set(ref, d.config);
    if (configs.size === 0) continue;
    const open = kind.open(configs, env);
    opened.push(open);
    for (const [ref, dest] of open.destinations) {
      destinations.set(ref, dest);
      policies.set(ref, cfg.destinations.get(ref)!.policy);
    }
  }
  return {
    destinations,
    policies,
    async start() {
      await Promise.allSettled(opened.map((o) => o.start?.()));
    },
    async close() {
      await Promise.allSettled([...destinations.values()].map((d) => d.close()));
      await Promise.allSettled(opened.map((o) => o.close?.()));
    },
  };
}
