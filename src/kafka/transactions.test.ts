import { KafkaJSNonRetriableError, KafkaJSProtocolError } from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import {
  isConcurrentTransactions,
  isProducerFenced,
  refusedUnwritten,
  nextOffset,
  retryConcurrentTransactions,
  transactionalIdFor,
} from './transactions.js';

/** The errors kafkajs 2.2.4 really throws: a KafkaJSProtocolError built from the protocol's error entry. */
function protocolError(type: string, code: number, retriable: boolean): KafkaJSProtocolError {
  return new KafkaJSProtocolError(Object.assign(new Error(`${type} from the broker`), { type, code, retriable }));
}
const concurrent = (): KafkaJSProtocolError => protocolError('CONCURRENT_TRANSACTIONS', 51, true);
const fenced = (): KafkaJSProtocolError => protocolError('INVALID_PRODUCER_EPOCH', 47, false);
/** What kafkajs' own retrier rejects with when it gives up on a non-retriable error: the original as `cause`. */
const wrapped = (cause: Error): KafkaJSNonRetriableError => Object.assign(new KafkaJSNonRetriableError(cause), { cause });

/** A fake `sendOffsets`: refused `failures` times with `error()`, then resolved. */
function flaky(failures: number, error: () => Error): { fn: () => Promise<string>; calls: () => number } {
  let calls = 0;
  return {
    fn: async () => {
      calls += 1;
      if (calls <= failures) throw error();
      return 'ok';
    },
    calls: () => calls,
  };
}

describe('retryConcurrentTransactions', () => {
  it('retries CONCURRENT_TRANSACTIONS with doubling pauses, capped, until the call succeeds', async () => {
    const pauses: number[] = [];
    const onRetry = vi.fn();
    const op = flaky(4, concurrent);
    const result = await retryConcurrentTransactions(op.fn, { initialDelayMs: 10, maxDelayMs: 50, onRetry, sleep: async (ms) => void pauses.push(ms) });
    expect(result).toBe('ok');
    expect(op.calls()).toBe(5);
    expect(pauses).toEqual([10, 20, 40, 50]);
    expect(onRetry.mock.calls.map(([n, e]) => [n, (e as KafkaJSProtocolError).type])).toEqual([1, 2, 3, 4].map((n) => [n, 'CONCURRENT_TRANSACTIONS']));
  });

  it('gives up after `retries` and rethrows the last error as is', async () => {
    const op = flaky(10, concurrent);
    const error = await retryConcurrentTransactions(op.fn, { retries: 2, sleep: async () => undefined }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KafkaJSProtocolError);
    expect((error as KafkaJSProtocolError).type).toBe('CONCURRENT_TRANSACTIONS');
    expect(op.calls()).toBe(3);
  });

  it('does not retry any other error (a fenced producer must be dropped, not retried)', async () => {
    const op = flaky(1, fenced);
    const sleep = vi.fn(async () => undefined);
    await expect(retryConcurrentTransactions(op.fn, { sleep })).rejects.toMatchObject({ type: 'INVALID_PRODUCER_EPOCH' });
    expect(op.calls()).toBe(1);
    expect(sleep).not.toHaveBeenCalled();
  });

  it('also recognises CONCURRENT_TRANSACTIONS wrapped by kafkajs retrier (as `cause`)', async () => {
    const op = flaky(1, () => wrapped(concurrent()));
    await expect(retryConcurrentTransactions(op.fn, { sleep: async () => undefined })).resolves.toBe('ok');
    expect(op.calls()).toBe(2);
  });

  it('waits for real by default (a short pause)', async () => {
    const op = flaky(1, concurrent);
    const t0 = Date.now();
    await expect(retryConcurrentTransactions(op.fn, { initialDelayMs: 5 })).resolves.toBe('ok');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(4);
  });
});

describe('error classification', () => {
  it('tells the two transactional errors apart, and ignores anything else', () => {
    expect(isConcurrentTransactions(concurrent())).toBe(true);
    expect(isProducerFenced(concurrent())).toBe(false);
    expect(isProducerFenced(fenced())).toBe(true);
    expect(isProducerFenced({ type: 'PRODUCER_FENCED' })).toBe(true);
    expect(isConcurrentTransactions(fenced())).toBe(false);
    for (const other of [new Error('boom'), null, undefined, 'CONCURRENT_TRANSACTIONS', { type: 42 }]) {
      expect(isConcurrentTransactions(other)).toBe(false);
      expect(isProducerFenced(other)).toBe(false);
    }
  });
});

describe('refusedUnwritten', () => {
  it('trusts a retry only after a refusal that wrote nothing', () => {
    expect(refusedUnwritten('Failed to send messages: This server is not the leader for that topic-partition')).toBe(true);
    expect(refusedUnwritten('Failed to send messages: The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing')).toBe(true);
    // The request may have been written before the connection or the wait gave out.
    expect(refusedUnwritten('Failed to send messages: Connection error: read ECONNRESET')).toBe(false);
    expect(refusedUnwritten('Request Produce(key: 0, version: 7) timed out')).toBe(false);
    expect(refusedUnwritten('Messages are written to the log, but to fewer in-sync replicas than required')).toBe(false);
  });
});

describe('transactionalIdFor and nextOffset', () => {
  it('derives one stable id per input partition', () => {
    expect(transactionalIdFor('kcr', 'callbacks.intake', 2)).toBe('kcr.callbacks.intake.2');
    expect(transactionalIdFor('kcr', 'callbacks.intake', 2)).toBe(transactionalIdFor('kcr', 'callbacks.intake', 2));
    expect(transactionalIdFor('kcr', 'callbacks.intake', 1)).not.toBe(transactionalIdFor('kcr', 'callbacks.intake', 2));
  });

  it('commits the next offset to read, exact beyond 2^53', () => {
    expect(nextOffset('0')).toBe('1');
    expect(nextOffset('41')).toBe('42');
    expect(nextOffset('9223372036854775806')).toBe('9223372036854775807');
  });
});
