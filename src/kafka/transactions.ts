/**
 * Small pieces for exactly-once consume-transform-produce with kafkajs 2.2.4 (cluster mode).
 * What they rely on is pinned against real brokers (3.9 and 4.1) by
 * test/kafka-transactions.test.ts; read its header before changing anything here.
 *
 * - One transactional producer per input partition, `transactionalId` from {@link transactionalIdFor}:
 *   kafkajs sends TxnOffsetCommit v1 (no group generation/member id), so KIP-447 fencing by the
 *   consumer group is not available; fencing comes from the stable transactionalId alone.
 * - The offset to commit in `transaction.sendOffsets` is the next one to read: {@link nextOffset}.
 * - `sendOffsets` may fail with CONCURRENT_TRANSACTIONS right after the previous commit of the
 *   same producer (kafkajs #430): wrap that call in {@link retryConcurrentTransactions}.
 * - A fenced producer ({@link isProducerFenced}) is a zombie: drop it (its kafkajs transaction
 *   state is left stuck), do not retry with it.
 */
import { sleep as realSleep } from '../sleep.js';

/** A kafkajs protocol error's `type`, also when wrapped (kafkajs' retrier keeps the original as `cause`). */
function errorTypes(error: unknown): string[] {
  const types: string[] = [];
  let e: unknown = error;
  for (let depth = 0; depth < 5 && typeof e === 'object' && e !== null; depth++) {
    const { type, cause } = e as { type?: unknown; cause?: unknown };
    if (typeof type === 'string') types.push(type);
    e = cause;
  }
  return types;
}

/** The coordinator is still completing this transactionalId's previous transaction: retry soon. */
export function isConcurrentTransactions(error: unknown): boolean {
  return errorTypes(error).includes('CONCURRENT_TRANSACTIONS');
}

/**
 * Another producer with the same transactionalId took over (or the transaction timed out): this
 * producer is a zombie. kafkajs 2.2.4 reports INVALID_PRODUCER_EPOCH (it sends protocol versions
 * that predate PRODUCER_FENCED, which it would not even name); PRODUCER_FENCED is accepted too.
 */
export function isProducerFenced(error: unknown): boolean {
  return errorTypes(error).some((t) => t === 'INVALID_PRODUCER_EPOCH' || t === 'PRODUCER_FENCED');
}

/**
 * The stable transactionalId of the producer that serves one input partition. The same input
 * partition always maps to the same id, so whichever replica owns it next fences the previous
 * owner (and aborts its open transaction) when it initialises its producer.
 * @example transactionalIdFor('kcr', 'callbacks.intake', 2) // 'kcr.callbacks.intake.2'
 */
export function transactionalIdFor(prefix: string, topic: string, partition: number): string {
  return `${prefix}.${topic}.${partition}`;
}

/**
 * The offset to commit after processing `lastOffset` (kafkajs offsets are decimal strings of int64).
 * @example nextOffset(batch.lastOffset()) // '42' for '41'
 */
export function nextOffset(lastOffset: string): string {
  return (BigInt(lastOffset) + 1n).toString();
}

export interface RetryConcurrentOptions {
  /** Retries after the first attempt (default 8). */
  retries?: number;
  /** First pause (default 20 ms), doubled each retry up to `maxDelayMs` (default 500 ms). */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Called before each pause, for a log line or a metric. */
  onRetry?: (retry: number, error: unknown) => void;
  /** For tests. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Runs `fn`, retrying it with exponential backoff while it fails with CONCURRENT_TRANSACTIONS
 * (kafkajs #430: AddOffsetsToTxn, sent by `transaction.sendOffsets`, is not retried inside
 * kafkajs; against a single broker it happens on most offsets-only transactions started right
 * after a commit, and one retry of ~50 ms clears it). Any other error, or the last
 * CONCURRENT_TRANSACTIONS, is rethrown as is.
 *
 * Wrap the single call that failed, not the whole transaction: a CONCURRENT_TRANSACTIONS refusal
 * leaves the kafkajs transaction open and usable.
 * @example await retryConcurrentTransactions(() => tx.sendOffsets({ consumerGroupId, topics }))
 */
export async function retryConcurrentTransactions<T>(fn: () => Promise<T>, opts: RetryConcurrentOptions = {}): Promise<T> {
  const { retries = 8, initialDelayMs = 20, maxDelayMs = 500, onRetry, sleep = realSleep } = opts;
  for (let retry = 0; ; retry++) {
    try {
      return await fn();
    } catch (error) {
      if (retry >= retries || !isConcurrentTransactions(error)) throw error;
      onRetry?.(retry + 1, error);
      await sleep(Math.min(initialDelayMs * 2 ** retry, maxDelayMs));
    }
  }
}

/**
 * kafkajs' messages for the errors with which a broker refuses a request without writing anything
 * (wrong or no leader, too few in-sync replicas before the append, a transaction step still under
 * way, coordinator moving): retrying after them cannot write a record twice. Any other failed
 * produce (a connection lost, a timeout) may have been written, so its retry is not trusted.
 */
const UNWRITTEN = [
  'This server is not the leader for that topic-partition',
  'There is no leader for this topic-partition',
  'This server does not host this topic-partition',
  'Messages are rejected since there are fewer in-sync replicas than required',
  'another concurrent operation on the same transaction was ongoing',
  'The group coordinator is not available',
  'This is not the correct coordinator',
];

/**
 * Whether a kafkajs error message is one of those refusals.
 * @example refusedUnwritten('This server is not the leader for that topic-partition') // true
 */
export function refusedUnwritten(message: string): boolean {
  return UNWRITTEN.some((m) => message.includes(m));
}
