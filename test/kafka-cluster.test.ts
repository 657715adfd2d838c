/**
 * Issue 8 (foundation): a real 3-node KRaft cluster, every node broker + controller, that this
 * file starts itself with `scripts/kafka.sh` (KAFKA_NODES=3) on private ports
 * (KCR_CLUSTER_TEST_PORT, default 19892..19894, controllers 19992..19994) and cleans at the end.
 * It needs no KAFKA_BROKERS, runs on the suite's KAFKA_VERSION (3.9.2 default, 4.1.2), and fails,
 * never skips, without Java or the Kafka jars. What it shows, with acks=all on one partition of a
 * topic made with the cluster defaults (replication factor 3, min.insync.replicas 2):
 * - produce survives one node down: the partition leader is killed (SIGKILL) and produce works
 *   again once the controller fences it and elects a new leader (about broker.session.timeout.ms,
 *   9 s; sends in between fail and are retried here);
 * - produce is refused with two nodes down. The second crash also costs the controller quorum
 *   (2 of 3 voters gone), so the ISR cannot shrink and the leader answers REQUEST_TIMED_OUT: such a
 *   record is in doubt (it may be committed once a replica returns), not cleanly refused. A
 *   controlled stop (`stop-node`) of the second node shrinks the ISR first and gives
 *   NOT_ENOUGH_REPLICAS instead; both are accepted here.
 * - restarted nodes rejoin: produce works again with two up, and with all three the ISR is 3.
 * - every acknowledged record is readable afterwards.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Admin, Producer } from 'kafkajs';
import { sleep, uniqueTopic, waitFor } from './support/kafka.js';
import { LocalCluster, partitionState, sendAll } from '../src/testing/local-cluster.js';

const REFUSED = ['REQUEST_TIMED_OUT', 'NOT_ENOUGH_REPLICAS', 'NOT_ENOUGH_REPLICAS_AFTER_APPEND'];

describe('3-node Kafka cluster drill (acks=all, min.insync.replicas 2)', () => {
  const cluster = new LocalCluster(Number(process.env.KCR_CLUSTER_TEST_PORT ?? 19892));
  const topic = uniqueTopic('cluster');
  const acked: string[] = [];
  let seq = 0;
  let admin: Admin | undefined;
  let producer: Producer | undefined;
  let crashedLeader = 0;
  let crashedFollower = 0;

  const leaderState = async () => {
    if (!admin) throw new Error('the cluster did not start (see the first test)');
    return (await partitionState(admin, topic).catch(() => undefined))?.[0];
  };

  /** acks=all sends until one is acknowledged, bounded in time; returns the failures seen. */
  async function sendUntilOk(label: string, withinMs: number): Promise<string[]> {
    const t0 = Date.now();
    const failures: string[] = [];
    for (;;) {
      const value = `${label}-${seq++}`;
      if (!producer) throw new Error('the cluster did not start (see the first test)');
      const r = await sendAll(producer, topic, value);
      if (r.ok) {
        acked.push(value);
        return failures;
      }
      failures.push(r.types.join(' < '));
      if (Date.now() - t0 > withinMs) throw new Error(`no acks=all produce within ${withinMs} ms (${label}): ${failures.join('; ')}`);
      await sleep(500);
    }
  }

  beforeAll(() => {
    cluster.clean(); // leftovers of an aborted run on these ports
  }, 60_000);

  afterAll(async () => {
    await producer?.disconnect().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    cluster.clean();
  }, 60_000);

  // Started in a test, not a hook, so a missing Java or jar fails the run as a failed test.
  it('starts 3 nodes, makes topics with 3 replicas and min.insync.replicas 2, takes acks=all produce', async () => {
    cluster.start();
    expect(cluster.brokers).toEqual([0, 1, 2].map((i) => `127.0.0.1:${cluster.port + i}`));
    const kafka = cluster.kafka('kcr-test-cluster');
    admin = cluster.kafka('kcr-test-cluster-admin', 5).admin();
    await admin.connect();
    // No replication factor given: the cluster's default.replication.factor (3) applies. Not
    // waitForLeaders: kafkajs then asks one broker for the topic's metadata and gives up on
    // UNKNOWN_TOPIC_OR_PARTITION if that broker has not seen the new topic yet.
    await admin.createTopics({ waitForLeaders: false, topics: [{ topic, numPartitions: 1 }] });
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const state = await waitFor(async () => {
      const s = await leaderState();
      return s && s.isr.length === 3 ? s : undefined;
    }, 15_000, 200);
    expect(state?.replicas).toEqual([1, 2, 3]);
    expect(state?.isr).toEqual([1, 2, 3]);
    const minIsr = await waitFor(async () => {
      const { resources } = await admin!
        .describeConfigs({ includeSynonyms: false, resources: [{ type: 2 /* TOPIC */, name: topic, configNames: ['min.insync.replicas'] }] })
        .catch(() => ({ resources: [] }));
      return resources[0]?.configEntries[0]?.configValue;
    }, 10_000, 200);
    expect(minIsr).toBe('2');
    await sendUntilOk('all-up', 10_000);
  });

  it('acks=all produce survives the partition leader crashing (2 of 3 up)', async () => {
    crashedLeader = (await leaderState())!.leader;
    cluster.killNode(crashedLeader);
    const t0 = Date.now();
    const failures = await sendUntilOk('leader-crashed', 30_000);
    console.info(`cluster drill: leader ${crashedLeader} killed; produce acknowledged after ${Date.now() - t0} ms, ${failures.length} failed sends before (${[...new Set(failures)].join('; ')})`);
    const live = [1, 2, 3].filter((n) => n !== crashedLeader);
    const state = await waitFor(async () => {
      const s = await leaderState();
      return s && s.isr.join() === live.join() ? s : undefined;
    }, 15_000, 200);
    expect(state?.isr).toEqual(live);
    expect(live).toContain(state?.leader);
  });

  it('acks=all produce is refused with two of three nodes down', async () => {
    const leader = (await leaderState())!.leader;
    crashedFollower = [1, 2, 3].find((n) => n !== crashedLeader && n !== leader)!;
    cluster.killNode(crashedFollower);
    const t0 = Date.now();
    const r = await sendAll(producer!, topic, `two-down-${seq++}`, 3_000);
    console.info(`cluster drill: node ${crashedFollower} killed too; produce ${r.ok ? 'ACKNOWLEDGED' : `refused after ${Date.now() - t0} ms: ${r.types.join(' < ')}`}`);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.types.filter((t) => REFUSED.includes(t)), r.types.join(' < ')).not.toEqual([]);
  });

  it('restarted nodes rejoin: produce works again and the ISR grows back to 3', async () => {
    cluster.startNode(crashedFollower);
    await sendUntilOk('follower-restarted', 30_000);
    cluster.startNode(crashedLeader);
    const state = await waitFor(async () => {
      const s = await leaderState();
      return s && s.isr.length === 3 ? s : undefined;
    }, 30_000, 200);
    expect(state?.isr).toEqual([1, 2, 3]);
    await sendUntilOk('all-restarted', 10_000);
  });

  it('every acknowledged record is readable afterwards', async () => {
    const consumer = cluster.kafka('kcr-test-cluster-reader').consumer({ groupId: `kcr-test-${randomBytes(6).toString('hex')}`, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
    const seen = new Set<string>();
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void seen.add(message.value?.toString() ?? '') });
      await waitFor(() => acked.every((v) => seen.has(v)), 30_000, 100);
    } finally {
      await consumer.disconnect().catch(() => undefined);
    }
    expect(acked.length).toBeGreaterThanOrEqual(4);
    expect(acked.filter((v) => !seen.has(v))).toEqual([]);
  });
});
