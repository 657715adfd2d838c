/**
 * The cluster mode's own topics and consumer groups, named from one prefix, and the start-up
 * step that creates them (or checks the ones that exist) before any replica produces.
 */
import type { Admin } from 'kafkajs';
import { ConfigError } from '../errors.js';
import { sleep } from '../sleep.js';

export interface ClusterNames {
  /** Callbacks as accepted at the edge (enriched events), key = message_key. */
  intake: string;
  /** Each message's state (resends seen, furthest status): compacted, co-partitioned with intake. */
  state: string;
  /** Webhook deliveries planned by the partition owner, written in its transaction. */
  webhooks: string;
  /** Dead letters of webhook deliveries. */
  dead: string;
  /** The consumer group of the partition owners (resend, lifecycle, routing). */
  group: string;
  /** The transactionalId prefix of the partition owners' producers. */
  transactional: string;
  /** The consumer group that delivers to one webhook destination. */
  webhookGroup(destination: string): string;
}

/** @example clusterNames('kcr').intake === 'kcr.intake' */
export function clusterNames(prefix: string): ClusterNames {
  return {
    intake: `${prefix}.intake`,
    state: `${prefix}.state`,
    webhooks: `${prefix}.webhooks`,
    dead: `${prefix}.dead`,
    group: `${prefix}-router`,
    transactional: prefix,
    webhookGroup: (destination) => `${prefix}-webhook-${destination.replace(/^webhook:/, '')}`,
  };
}

export interface TopicPlan {
  partitions: number;
  /** -1: the broker's default. */
  replicationFactor: number;
  /** How long intake, outbox and dead letters are kept, and state not updated since. */
  retentionMs: number;
  /** The output topics the rules name (transactions do not create topics), with their partitions if set. */
  outputs: readonly { name: string; partitions?: number }[];
}

/**
 * Creates the four topics (and the output topics) if missing and waits until every partition has a leader. The state
 * topic must have as many partitions as the intake (a message's state lives on the partition
 * its callbacks do): a mismatch is a start-up error, not something to repair silently.
 */
export async function ensureClusterTopics(admin: Admin, names: ClusterNames, plan: TopicPlan, deadlineMs = 60_000): Promise<void> {
  const retention = { name: 'retention.ms', value: String(plan.retentionMs) };
  // With 3 copies or more, an acks=all write needs 2 of them: one broker may die, and no ack is
  // given by a lone survivor. Below that, the broker's setting stands.
  const durable = plan.replicationFactor >= 3 ? [{ name: 'min.insync.replicas', value: '2' }] : [];
  const specs = [
    { topic: names.intake, configEntries: [retention, ...durable] },
    // compact keeps each message's latest state; delete drops messages not heard of for the retention.
    { topic: names.state, configEntries: [{ name: 'cleanup.policy', value: 'compact,delete' }, retention, ...durable] },
    { topic: names.webhooks, configEntries: [retention, ...durable] },
    { topic: names.dead, configEntries: [retention, ...durable] },
  ].map((s) => ({ ...s, numPartitions: plan.partitions }));
  const outputs = plan.outputs.map((o) => ({ topic: o.name, numPartitions: o.partitions ?? -1, configEntries: durable }));
  const existing = new Set(await admin.listTopics());
  const missing = [...specs, ...outputs].filter((s) => !existing.has(s.topic));
  if (missing.length > 0) {
    try {
      await admin.createTopics({ waitForLeaders: false, topics: missing.map((s) => ({ ...s, replicationFactor: plan.replicationFactor })) });
    } catch (err) {
      // Another replica created them first: fine, as long as they are there now.
      if ((err as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') throw err;
    }
  }
  const counts = await waitForLeaders(admin, [...specs, ...outputs].map((s) => s.topic), Date.now() + deadlineMs);
  if (counts.get(names.intake) !== counts.get(names.state)) {
    throw new ConfigError(`topic ${names.state} has ${counts.get(names.state)} partitions but ${names.intake} has ${counts.get(names.intake)}: they must match (a message's state lives on its intake partition)`);
  }
}

/** Partition counts once every partition of `topics` has a leader. kafkajs' own wait gives up on a cluster while metadata spreads. */
async function waitForLeaders(admin: Admin, topics: string[], deadline: number): Promise<Map<string, number>> {
  for (;;) {
    try {
      const meta = await admin.fetchTopicMetadata({ topics });
      if (meta.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) {
        return new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
      }
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) throw new Error(`cluster topics have no leader after the start-up deadline: ${topics.join(', ')}`);
    await sleep(250);
  }
}
