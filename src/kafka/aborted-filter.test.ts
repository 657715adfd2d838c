/**
 * The fix installed over kafkajs 2.2.4's aborted-transaction filter (scripts/patch-kafkajs.mjs,
 * run by npm's postinstall): the one kafkajs' read_committed consumers use. The real-broker
 * counterpart is test/kafka-aborted-filter.test.ts.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

type Filter = ((input: { messages: Msg[]; abortedTransactions?: { producerId: string; firstOffset: string }[] }) => Msg[]) & { KCR_PATCHED?: boolean };
interface Msg {
  offset: string;
  key: Buffer | null;
  isControlRecord?: boolean;
  batchContext: { firstOffset: string; lastOffsetDelta: number; producerId: string; inTransaction: boolean };
}

const filter = createRequire(import.meta.url)('kafkajs/src/consumer/filterAbortedMessages.js') as Filter;

/** One record alone in its batch, from `producer`. */
const record = (offset: number, producer: string, inTransaction = true): Msg => ({
  offset: String(offset),
  key: Buffer.from(`k${offset}`),
  batchContext: { firstOffset: String(offset), lastOffsetDelta: 0, producerId: producer, inTransaction },
});
const marker = (offset: number, producer: string, type: 0 | 1): Msg => ({
  ...record(offset, producer),
  key: Buffer.from([0, 0, 0, type]),
  isControlRecord: true,
});
const offsets = (ms: Msg[]) => ms.filter((m) => !m.isControlRecord).map((m) => Number(m.offset));

describe("kafkajs' aborted-transaction filter, as installed", () => {
  it('is the fixed one (npm install ran the postinstall patch)', () => {
    expect(filter.KCR_PATCHED).toBe(true);
  });

  it('hides both aborted transactions when a fetch starts after both began', () => {
    // A and B interleave and both abort; C commits. This fetch starts at offset 3 (B's second record).
    const messages = [record(3, 'B'), record(4, 'A'), record(5, 'B'), marker(6, 'A', 0), marker(7, 'B', 0), record(8, 'C'), marker(9, 'C', 1)];
    const aborted = [{ producerId: 'A', firstOffset: '0' }, { producerId: 'B', firstOffset: '1' }];
    expect(offsets(filter({ messages, abortedTransactions: aborted }))).toEqual([8]);
  });

  it('takes the list in any order, and leaves a producer\'s later committed transaction visible', () => {
    const messages = [record(0, 'A'), record(1, 'B'), marker(2, 'A', 0), record(3, 'A'), marker(4, 'A', 1), marker(5, 'B', 0), record(6, 'D', false)];
    const aborted = [{ producerId: 'B', firstOffset: '1' }, { producerId: 'A', firstOffset: '0' }];
    expect(offsets(filter({ messages, abortedTransactions: aborted }))).toEqual([3, 6]);
  });

  it('passes everything when nothing was aborted', () => {
    const messages = [record(0, 'A'), marker(1, 'A', 1)];
    expect(filter({ messages, abortedTransactions: [] })).toEqual(messages);
  });
});
