/**
 * What kafkajs 2.2.4 can do for exactly-once consume-transform-produce (issue 8, cluster mode),
 * pinned against the real broker; CI runs it on Kafka 3.9.2, and it passes on 4.1.2 as well
 * (KAFKA_VERSION=4.1.2 bash scripts/kafka.sh start). Findings, the same on both versions:
 *
 * 1. Consume-transform-produce is exactly once with one transactional producer per input
 *    partition (`idempotent: true`, `maxInFlightRequests: 1`, stable `transactionalId`):
 *    send + `sendOffsets` (last + 1) + commit per chunk; read_committed readers see each record
 *    once and the group's committed offsets end at the input's end offsets.
 * 2. An aborted transaction's records stay in the log: kafkajs' default read_committed consumer
 *    hides them (it filters aborted batches itself), a `readUncommitted: true` one shows them.
 *    The offsets sent in that transaction are not committed, so a re-run reprocesses from the
 *    start and the committed output is still exactly once.
 * 3. Fencing: `transaction()` on a second producer with the same transactionalId (InitProducerId)
 *    bumps the epoch and aborts the first one's open transaction. The first producer's send (to a
 *    partition already in the transaction or a new one), sendOffsets and commit all reject with
 *    KafkaJSProtocolError, type INVALID_PRODUCER_EPOCH, code 47, retriable false: never
 *    PRODUCER_FENCED (code 90, which kafkajs does not even know), because kafkajs sends request
 *    versions older than KIP-588's. Nothing the zombie wrote becomes visible to read_committed. The
 *    zombie is unusable afterwards (its `transaction()` throws KafkaJSNonRetriableError "Cannot
 *    call beginTransaction in state COMMITTING"): drop it.
 * 4. KIP-447: kafkajs' `sendOffsets({ consumerGroupId, topics })` takes no group metadata, and the
 *    code (src/producer/eosManager/index.js; there is no transactionManager.js in 2.2.4) only has
 *    TxnOffsetCommit v0/v1: it sends v1, which has no generation_id / member_id /
 *    group_instance_id (those came in v3). So the coordinator cannot fence by group generation:
 *    it takes transactional offsets for a group from a producer that is not a member while the
 *    group is Stable with another member. Fencing rests on the transactionalId alone, hence
 *    the per-input-partition transactionalId (src/kafka/transactions.ts, transactionalIdFor),
 *    and consumer-side KIP-447 (OffsetFetch require_stable) is not available either.
 *    Versions kafkajs negotiates on both brokers: InitProducerId 1, AddPartitionsToTxn 1,
 *    AddOffsetsToTxn 1, TxnOffsetCommit 1, EndTxn 1, Produce 7. Kafka 4.x (KIP-896) still serves
 *    all of them.
 * 5. CONCURRENT_TRANSACTIONS (kafkajs #430) is easy to provoke on a single node: a transaction
 *    that calls `sendOffsets` first, right after the same producer's previous commit, is refused
 *    (KafkaJSProtocolError, type CONCURRENT_TRANSACTIONS, code 51, retriable true) about half the
 *    time, because kafkajs does not retry AddOffsetsToTxn. One retry after ~20-50 ms clears it
 *    (`retryConcurrentTransactions`). A transaction that sends records first does not see it:
 *    kafkajs retries AddPartitionsToTxn inside `send` (with its producer retry backoff, 300 ms
 *    by default, which is latency after every commit). The router's offsets-only transactions
 *    (a batch routed nowhere) need the retry.
 */
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Admin, type Consumer, type KafkaMessage, type Producer } from 'kafkajs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isConcurrentTransactions, isProducerFenced, nextOffset, retryConcurrentTransactions, transactionalIdFor } from '../src/kafka/transactions.js';
import { createTopics, kafkaBrokers, sleep, uniqueTopic, waitFor } from './support/kafka.js';

const N = 60; // input records, 20 per partition
const CHUNK = 5; // records per transaction
const SETTLE_MS = 1_000; // after the expected records arrived, time for anything extra to arrive too
const prefix = `kcr-test-txn-${randomBytes(4).toString('hex')}`;

const topics = {
  in1: uniqueTopic('txn-in'),
  out1: uniqueTopic('txn-out'),
  in2: uniqueTopic('txn-abort-in'),
  out2: uniqueTopic('txn-abort-out'),
  fence: uniqueTopic('txn-fence'),
  offsets: uniqueTopic('txn-offsets'), // only ever named in sendOffsets
};
const outputs = [topics.out1, topics.out2, topics.fence];

interface Seen {
  topic: string;
  partition: number;
  value: string;
}

let kafka: Kafka;
let admin: Admin;
const open: { disconnect(): Promise<void> }[] = [];

function producer(transactionalId: string): Producer {
  const p = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
  open.push(p);
  return p;
}

function consumer(groupId: string, readUncommitted = false): Consumer {
  const c = kafka.consumer({ groupId, readUncommitted, sessionTimeout: 10_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 200 });
  open.push(c);
  return c;
}

/** A reader of the output topics for the whole file (one group join, not one per check). */
async function tail(readUncommitted: boolean): Promise<Seen[]> {
  const seen: Seen[] = [];
  const c = consumer(`${prefix}-tail-${readUncommitted ? 'uncommitted' : 'committed'}`, readUncommitted);
  await c.connect();
  await c.subscribe({ topics: outputs, fromBeginning: true });
  await c.run({ eachMessage: async ({ topic, partition, message }) => void seen.push({ topic, partition, value: message.value?.toString() ?? '' }) });
  return seen;
}

const valuesIn = (seen: Seen[], topic: string): string[] => seen.filter((s) => s.topic === topic).map((s) => s.value).sort();
const expectedValues = (attempt: string): string[] => Array.from({ length: N }, (_, i) => `k-${i}|${attempt}`).sort();

/** Committed offsets of `groupId` on `topic` and the topic's end offsets, by partition. */
/**
 * The group's offsets once `settled` holds for them (bounded): a commit returns before the
 * coordinator has written its markers, and OffsetFetch (kafkajs cannot ask require_stable) can
 * show the previous offsets for a moment.
 */
async function offsetsOnce(
  groupId: string,
  topic: string,
  settled: (o: { committed: Record<number, string>; end: Record<number, string> }) => boolean,
): Promise<{ committed: Record<number, string>; end: Record<number, string> }> {
  const seen = await waitFor(async () => {
    const o = await groupOffsets(groupId, topic);
    return settled(o) ? o : null;
  }, 10_000, 100);
  return seen ?? groupOffsets(groupId, topic);
}

async function groupOffsets(groupId: string, topic: string): Promise<{ committed: Record<number, string>; end: Record<number, string> }> {
  const [fetched] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const committed = Object.fromEntries(fetched!.partitions.map((p) => [p.partition, p.offset]));
  const end = Object.fromEntries((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p.high]));
  return { committed, end };
}

interface PipelineRun {
  groupId: string;
  input: string;
  output: string;
  /** Tag appended to each transformed value, to tell runs apart downstream. */
  attempt: string;
  /** false: every transaction is aborted (a replica that fails before commit). */
  commit: boolean;
}

/**
 * The consume-transform-produce loop the router will run: a consumer in `groupId` (no auto
 * commit), one transactional producer per input partition, one transaction per CHUNK records:
 * send the transformed records, send the input offsets (last + 1), commit (or abort).
 * Stops once N records went through. Returns the request versions the producers used.
 */
async function runPipeline(run: PipelineRun): Promise<{ transactions: number; versions: Map<string, number> }> {
  const versions = new Map<string, number>();
  const producers = new Map<number, Producer>();
  const producerFor = async (partition: number): Promise<Producer> => {
    let p = producers.get(partition);
    if (!p) {
      p = producer(transactionalIdFor(prefix, run.input, partition));
      p.on(p.events.REQUEST, (e) => void versions.set(e.payload.apiName, e.payload.apiVersion));
      producers.set(partition, p);
      await p.connect();
    }
    return p;
  };
  const transform = (m: KafkaMessage) => ({ key: m.key, value: `${m.value?.toString()}|${run.attempt}` });
  let processed = 0;
  let transactions = 0;
  const c = consumer(run.groupId);
  await c.connect();
  await c.subscribe({ topics: [run.input], fromBeginning: true });
  await c.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      const p = await producerFor(batch.partition);
      for (let i = 0; i < batch.messages.length; i += CHUNK) {
        const chunk = batch.messages.slice(i, i + CHUNK);
        const last = chunk[chunk.length - 1]!.offset;
        const offsets = { consumerGroupId: run.groupId, topics: [{ topic: run.input, partitions: [{ partition: batch.partition, offset: nextOffset(last) }] }] };
        const tx = await p.transaction();
        try {
          await tx.send({ topic: run.output, messages: chunk.map(transform) });
          await retryConcurrentTransactions(() => tx.sendOffsets(offsets));
          await (run.commit ? tx.commit() : tx.abort());
        } catch (e) {
          if (tx.isActive()) await tx.abort().catch(() => undefined);
          throw e;
        }
        transactions += 1;
        processed += chunk.length;
        resolveOffset(last);
        await heartbeat();
      }
    },
  });
  try {
    await waitFor(() => processed >= N, 30_000);
    expect(processed).toBe(N);
    return { transactions, versions };
  } finally {
    await c.disconnect();
    await Promise.all([...producers.values()].map((p) => p.disconnect()));
  }
}

async function produceInput(topic: string): Promise<void> {
  const p = kafka.producer();
  await p.connect();
  await p.send({ topic, messages: Array.from({ length: N }, (_, i) => ({ key: `k-${i}`, value: `k-${i}`, partition: i % 3 })) });
  await p.disconnect();
}

describe('Kafka transactions with kafkajs (exactly once, for cluster mode)', () => {
  let committed: Seen[];
  let uncommitted: Seen[];
  let pipelineVersions: Map<string, number> | undefined;

  // Without a broker every test fails with the reason (a throwing beforeAll would only skip them).
  let setupFailed: unknown = null;
  beforeAll(async () => {
    try {
      kafka = new Kafka({ clientId: 'kcr-test-txn', brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
      await createTopics(Object.values(topics));
      admin = kafka.admin();
      await admin.connect();
      open.push(admin);
      await Promise.all([produceInput(topics.in1), produceInput(topics.in2)]);
      [committed, uncommitted] = await Promise.all([tail(false), tail(true)]);
    } catch (err) {
      setupFailed = err;
    }
  });
  beforeEach(() => {
    if (setupFailed) throw setupFailed;
  });

  afterAll(async () => {
    await Promise.all(open.map((c) => c.disconnect().catch(() => undefined)));
  });

  it('consume-transform-produce: each record once downstream, offsets committed with it', async () => {
    const groupId = `${prefix}-ctp`;
    const { transactions, versions } = await runPipeline({ groupId, input: topics.in1, output: topics.out1, attempt: 'attempt-1', commit: true });
    pipelineVersions = versions;
    expect(transactions).toBeGreaterThanOrEqual(N / CHUNK);

    // Two consumers, each at its own pace: wait for both before asserting on both.
    await waitFor(() => valuesIn(committed, topics.out1).length >= N && valuesIn(uncommitted, topics.out1).length >= N, 20_000);
    await sleep(SETTLE_MS);
    expect(valuesIn(committed, topics.out1)).toEqual(expectedValues('attempt-1'));
    expect(valuesIn(uncommitted, topics.out1)).toEqual(expectedValues('attempt-1')); // nothing aborted here
    const { committed: offsets, end } = await offsetsOnce(groupId, topics.in1, (o) => JSON.stringify(o.committed) === JSON.stringify(o.end));
    expect(offsets).toEqual(end);
    expect(end).toEqual({ 0: '20', 1: '20', 2: '20' });
  });

  it('an aborted transaction: hidden from read_committed, shown to read_uncommitted, offsets not committed, re-run exactly once', async () => {
    const groupId = `${prefix}-abort`;
    await runPipeline({ groupId, input: topics.in2, output: topics.out2, attempt: 'aborted', commit: false });
    expect((await groupOffsets(groupId, topics.in2)).committed).toEqual({ 0: '-1', 1: '-1', 2: '-1' });
    await waitFor(() => valuesIn(uncommitted, topics.out2).length >= N, 20_000);
    await sleep(SETTLE_MS);
    expect(valuesIn(uncommitted, topics.out2)).toEqual(expectedValues('aborted'));
    expect(valuesIn(committed, topics.out2)).toEqual([]);

    // The same group again (its producers, same transactionalIds, fence the previous ones): from the start, committing.
    await runPipeline({ groupId, input: topics.in2, output: topics.out2, attempt: 'retry', commit: true });
    await waitFor(() => valuesIn(committed, topics.out2).length >= N && valuesIn(uncommitted, topics.out2).length >= 2 * N, 20_000);
    await sleep(SETTLE_MS);
    expect(valuesIn(committed, topics.out2)).toEqual(expectedValues('retry'));
    expect(valuesIn(uncommitted, topics.out2)).toEqual([...expectedValues('aborted'), ...expectedValues('retry')].sort());
    const { committed: offsets, end } = await offsetsOnce(groupId, topics.in2, (o) => JSON.stringify(o.committed) === JSON.stringify(o.end));
    expect(offsets).toEqual(end);
  });

  it('zombie fencing: a second producer with the same transactionalId fences the first (INVALID_PRODUCER_EPOCH)', async () => {
    const transactionalId = transactionalIdFor(prefix, 'fence-input', 0);
    const zombie = producer(transactionalId);
    await zombie.connect();
    const zombieTx = await zombie.transaction();
    await zombieTx.send({ topic: topics.fence, messages: [{ value: 'zombie-before-fencing', partition: 0 }] });

    const successor = producer(transactionalId);
    await successor.connect();
    const tx = await successor.transaction(); // InitProducerId: new epoch, the zombie's open transaction is aborted

    const attempts = {
      'send to a partition in the transaction': () => zombieTx.send({ topic: topics.fence, messages: [{ value: 'zombie-after-0', partition: 0 }] }),
      'send to a new partition': () => zombieTx.send({ topic: topics.fence, messages: [{ value: 'zombie-after-1', partition: 1 }] }),
      sendOffsets: () => zombieTx.sendOffsets({ consumerGroupId: `${prefix}-fence`, topics: [{ topic: topics.offsets, partitions: [{ partition: 0, offset: '1' }] }] }),
      commit: () => zombieTx.commit(),
    };
    for (const [what, attempt] of Object.entries(attempts)) {
      const error = await attempt().then(() => undefined, (e: unknown) => e);
      expect(error, what).toMatchObject({ name: 'KafkaJSProtocolError', type: 'INVALID_PRODUCER_EPOCH', code: 47, retriable: false });
      expect(isProducerFenced(error), what).toBe(true);
    }
    // The zombie's transaction state is stuck: it must be dropped, not reused.
    await expect(zombie.transaction()).rejects.toMatchObject({ name: 'KafkaJSNonRetriableError', message: expect.stringContaining('COMMITTING') });

    await tx.send({ topic: topics.fence, messages: [{ value: 'successor', partition: 0 }] });
    await tx.commit();
    await waitFor(() => valuesIn(committed, topics.fence).length >= 1 && valuesIn(uncommitted, topics.fence).length >= 2, 20_000);
    await sleep(SETTLE_MS);
    expect(valuesIn(committed, topics.fence)).toEqual(['successor']);
    // Written before the fencing and aborted by it; what the zombie tried after never reached the log.
    expect(valuesIn(uncommitted, topics.fence)).toEqual(['successor', 'zombie-before-fencing']);
  });

  it('KIP-447: kafkajs sends TxnOffsetCommit v1 (no group generation or member), so only the transactionalId fences', async () => {
    // What the pipeline above negotiated (the first test must have run).
    expect(Object.fromEntries(['InitProducerId', 'AddPartitionsToTxn', 'AddOffsetsToTxn', 'TxnOffsetCommit', 'EndTxn'].map((api) => [api, pipelineVersions?.get(api)]))).toEqual({
      InitProducerId: 1,
      AddPartitionsToTxn: 1,
      AddOffsetsToTxn: 1,
      TxnOffsetCommit: 1, // generation_id / member_id / group_instance_id need v3+
      EndTxn: 1,
    });

    // The group coordinator takes transactional offsets from a producer that is no member of a Stable group.
    const groupId = `${prefix}-kip447`;
    const member = consumer(groupId);
    let joined = false;
    member.on(member.events.GROUP_JOIN, () => void (joined = true));
    await member.connect();
    await member.subscribe({ topics: [topics.in1], fromBeginning: false });
    await member.run({ autoCommit: false, eachMessage: async () => undefined });
    expect(await waitFor(() => joined, 20_000)).toBe(true);
    const group = await admin.describeGroups([groupId]);
    expect(group.groups[0]).toMatchObject({ state: 'Stable', members: [expect.anything()] });

    const outsider = producer(transactionalIdFor(prefix, 'outsider', 0));
    await outsider.connect();
    const tx = await outsider.transaction();
    await tx.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: topics.offsets, partitions: [{ partition: 0, offset: '7' }] }] });
    await tx.commit();
    expect((await offsetsOnce(groupId, topics.offsets, (o) => o.committed[0] === '7')).committed[0]).toBe('7');
    await member.disconnect();
  });

  it('CONCURRENT_TRANSACTIONS on sendOffsets right after a commit (kafkajs #430): a short retry resolves it', async () => {
    const p = producer(transactionalIdFor(prefix, 'concurrent', 0));
    await p.connect();
    const groupId = `${prefix}-concurrent`;
    const offsetsAt = (offset: number) => ({ consumerGroupId: groupId, topics: [{ topic: topics.offsets, partitions: [{ partition: 1, offset: String(offset) }] }] });

    // Offsets-only transactions back to back, until one is refused (bounded).
    let provoked: unknown;
    let offset = 0;
    while (!provoked && offset < 40) {
      offset += 1;
      const tx = await p.transaction();
      const error = await tx.sendOffsets(offsetsAt(offset)).then(() => undefined, (e: unknown) => e);
      if (error) {
        provoked = error;
        if (!isConcurrentTransactions(error)) throw error;
        await retryConcurrentTransactions(() => tx.sendOffsets(offsetsAt(offset))); // same transaction, still usable
      }
      await tx.commit();
    }
    expect(provoked, `not provoked in ${offset} transactions`).toMatchObject({ name: 'KafkaJSProtocolError', type: 'CONCURRENT_TRANSACTIONS', code: 51, retriable: true });

    // With the helper, every one of 10 back-to-back offsets-only transactions commits.
    for (let i = 0; i < 10; i++) {
      offset += 1;
      const tx = await p.transaction();
      await retryConcurrentTransactions(() => tx.sendOffsets(offsetsAt(offset)));
      await tx.commit();
    }
    expect((await offsetsOnce(groupId, topics.offsets, (o) => o.committed[1] === String(offset))).committed[1]).toBe(String(offset));
  });
});
