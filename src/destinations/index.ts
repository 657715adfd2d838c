/** Opens the destinations a compiled config declares, each through its kind; reopens on a reload. */
import type { CompiledConfig, CompiledDestination } from '../route/compile.js';
import { stableJson } from '../route/live-config.js';
import type { RetryPolicyOptions } from '../retry/policy.js';
import type { RateLimit } from '../dispatch/rate-limit.js';
import { DESTINATION_KINDS } from './registry.js';
import type { Destination, DestinationConfigBase, DestinationEnv, OpenDestinations } from './types.js';

export type { DeliveryItem, DeliveryOutcome, Destination, DestinationEnv, DestinationKind } from './types.js';

export interface DestinationSet {
  /** ref -> destination, for every destination of the config. */
  destinations: ReadonlyMap<string, Destination>;
  /** ref -> its retry policy, as compileRoutes resolved it (shared policy plus overrides). */
  policies: ReadonlyMap<string, RetryPolicyOptions>;
  /** ref -> its outgoing rate limit, for those that have one (compileRoutes resolved it); absent: none has. */
  rateLimits?: ReadonlyMap<string, RateLimit>;
  /** Each kind's start-up work (creating Kafka topics, saying they go to the local sink); never rejects. */
  start(): Promise<void>;
  /** Waits for in-flight work, then releases every connection. */
  close(): Promise<void>;
}

/** What a reload changed in the destinations, by ref. */
export interface DestinationChanges {
  /** Declared now and not before: opened. */
  added: string[];
  /** Declared before and now with another config or retry policy: a new one opened in its place. */
  changed: string[];
  /** No longer declared (or switched off). */
  removed: string[];
  /**
   * Closes the destinations that `changed` and `removed` replaced, and what they alone shared
   * (a Kafka connection). Call it once no worker uses them any more.
   */
  release(): Promise<void>;
}

/** A DestinationSet that can be brought in line with another config while it runs. */
export interface LiveDestinations extends DestinationSet {
  /**
   * Opens what `next` adds or changes and puts it in the maps at once; unchanged destinations
   * (and the Kafka connection they share) are kept as they are.
   */
  reconfigure(next: CompiledConfig): DestinationChanges;
}

/** One `kind.open` call: its destinations still in use decide when its shared parts close. */
interface OpenedGroup {
  open: OpenDestinations;
  live: Set<string>;
}

/** Everything that makes a destination what it is: a change to any of it opens a new one. */
const identity = (d: CompiledDestination): string => stableJson({ kind: d.kind, config: d.config, policy: d.policy, rateLimit: d.rateLimit });

/**
 * @example
 * const set = createDestinations(config, { kafkaBrokers: [], sinkDir: 'data/sink', logger });
 * void set.start();
 * const changes = set.reconfigure(nextConfig); // then move the workers, then changes.release()
 */
export function createDestinations(cfg: CompiledConfig, env: DestinationEnv): LiveDestinations {
  return new OpenedDestinations(cfg, env);
}

/** The destinations of a config, each opened through its kind, with what each one shares. */
class OpenedDestinations implements LiveDestinations {
  readonly destinations = new Map<string, Destination>();
  readonly policies = new Map<string, RetryPolicyOptions>();
  readonly rateLimits = new Map<string, RateLimit>();
  private readonly identities = new Map<string, string>();
  private readonly groupOf = new Map<string, OpenedGroup>();
  private readonly groups: OpenedGroup[] = [];

  constructor(
    cfg: CompiledConfig,
    private readonly env: DestinationEnv,
  ) {
    this.openAll(cfg.destinations);
  }

  async start(): Promise<void> {
    await startAll(this.groups);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.destinations.values()].map((d) => d.close()));
    await Promise.allSettled(this.groups.map((g) => g.open.close?.()));
  }

  reconfigure(next: CompiledConfig): DestinationChanges {
    const added: string[] = [];
    const changed: string[] = [];
    const removed = [...this.destinations.keys()].filter((ref) => !next.destinations.has(ref));
    const wanted = new Map<string, CompiledDestination>();
    for (const [ref, d] of next.destinations) {
      if (!this.destinations.has(ref)) added.push(ref);
      else if (this.identities.get(ref) !== identity(d)) changed.push(ref);
      else continue;
      wanted.set(ref, d);
    }
    const retired = [...changed, ...removed].map((ref) => ({ ref, dest: this.destinations.get(ref)!, group: this.groupOf.get(ref)! }));
    for (const ref of removed) {
      for (const map of [this.destinations, this.policies, this.rateLimits, this.identities, this.groupOf]) map.delete(ref);
    }
    // Each reload that adds Kafka topics opens one connection for them: the connection the
    // unchanged topics share is left alone, so a reload never interrupts their sends.
    void startAll(this.openAll(wanted));
    let released: Promise<void> | null = null;
    return { added, changed, removed, release: () => (released ??= this.closeRetired(retired)) };
  }

  /** Opens `wanted` through their kinds, one group per kind, and puts them in the maps. */
  private openAll(wanted: ReadonlyMap<string, CompiledDestination>): OpenedGroup[] {
    const made: OpenedGroup[] = [];
    for (const kind of DESTINATION_KINDS) {
      const configs = new Map<string, DestinationConfigBase>();
      for (const [ref, d] of wanted) if (d.kind === kind.prefix) configs.set(ref, d.config);
      if (configs.size === 0) continue;
      const group: OpenedGroup = { open: kind.open(configs, this.env), live: new Set() };
      for (const [ref, dest] of group.open.destinations) {
        const d = wanted.get(ref)!;
        this.destinations.set(ref, dest);
        this.policies.set(ref, d.policy);
        if (d.rateLimit) this.rateLimits.set(ref, d.rateLimit);
        else this.rateLimits.delete(ref);
        this.identities.set(ref, identity(d));
        this.groupOf.set(ref, group);
        group.live.add(ref);
      }
      made.push(group);
    }
    this.groups.push(...made);
    return made;
  }

  /** Closes replaced destinations, then each group none of its destinations uses any more. */
  private async closeRetired(retired: readonly { ref: string; dest: Destination; group: OpenedGroup }[]): Promise<void> {
    await Promise.allSettled(retired.map((r) => r.dest.close()));
    const emptied = new Set<OpenedGroup>();
    for (const r of retired) {
      r.group.live.delete(r.ref);
      if (r.group.live.size === 0) emptied.add(r.group);
    }
    await Promise.allSettled([...emptied].map((g) => g.open.close?.()));
    for (const g of emptied) this.groups.splice(this.groups.indexOf(g), 1);
  }
}

/** Each group's start-up work (creating Kafka topics); best effort, never rejects. */
async function startAll(groups: readonly OpenedGroup[]): Promise<void> {
  await Promise.allSettled(groups.map((g) => g.open.start?.()));
}
