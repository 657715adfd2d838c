/**
 * The contract every destination kind keeps, as one vitest suite each kind runs against a real
 * peer (a temp dir, an HTTP receiver on 127.0.0.1, a Kafka broker): one outcome per item, in
 * order; never a throw; nothing of a message delivered after one of its items failed;
 * `close()` waits for work in flight; every record carries the event's id, type and key.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RouterError } from '../errors.js';
import { kafkaRecord, type KafkaRecord } from './kafka-record.js';
import type { DeliveryItem, DeliveryOutcome, Destination } from './types.js';

/** How the peer behind the destination answers: takes everything, refuses everything, or takes its time. */
export type PeerBehaviour = 'accepting' | 'failing' | 'slow';

/** One item as the peer got it, read back the same way whatever the kind. */
export interface PeerRecord {
  eventId: string;
  type: string;
  /** The message key it travelled under (Kafka's key; a webhook's `data.message_key`). */
  key: string | null;
  /** The event JSON as carried. */
  value: string;
  /** The whole Kafka record, for kinds that write one (Kafka, the local sink). */
  kafka?: KafkaRecord;
}

export interface ContractSubject {
  destination: Destination;
  /** What the peer holds so far, waiting (within reason) until it holds at least `atLeast`. */
  received(atLeast: number): Promise<PeerRecord[]>;
  /** Closes the destination (and what it shares), then stops the peer. */
  dispose(): Promise<void>;
}

export interface DestinationContractOptions {
  /** A destination of this kind, made as the router makes it, with a real peer behaving so. */
  open(peer: PeerBehaviour): Promise<ContractSubject>;
  /** Kafka and the local sink: each record must be exactly `kafkaRecord(item)`. */
  writesKafkaRecords: boolean;
  /** Per test; a dead Kafka broker takes a few seconds to give up on. */
  timeoutMs?: number;
}

/**
 * Six reports of three messages, interleaved the way the queue hands them over.
 * @example const batch = contractBatch(); // batch[0].messageKey === batch[3].messageKey
 */
export function contractBatch(): DeliveryItem[] {
  const run = randomUUID().slice(0, 8);
  return Array.from({ length: 6 }, (_, i) => {
    const eventId = randomUUID();
    const messageKey = `contract-${run}-msg-${i % 3}`;
    const body = JSON.stringify({ event_id: eventId, message_key: messageKey, status: 'Delivered', seq: i });
    return { eventId, messageKey, type: 'sms.delivered', body };
  });
}

/** The items' event ids, grouped by message key, in batch order. */
function idsByKey(items: readonly { eventId: string; key: string | null }[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const i of items) (out[i.key ?? ''] ??= []).push(i.eventId);
  return out;
}

/** The outcomes of one message's items, in order. */
function outcomesByKey(batch: readonly DeliveryItem[], outcomes: readonly DeliveryOutcome[]): DeliveryOutcome[][] {
  const out = new Map<string, DeliveryOutcome[]>();
  batch.forEach((d, i) => out.set(d.messageKey, [...(out.get(d.messageKey) ?? []), outcomes[i]!]));
  return [...out.values()];
}

/**
 * Defines the shared tests for one destination kind.
 * @example destinationContract('webhook', { open: openWebhook, writesKafkaRecords: false });
 */
export function destinationContract(kind: string, opts: DestinationContractOptions): void {
  const timeout = opts.timeoutMs ?? 10_000;
  const withSubject = (peer: PeerBehaviour, test: (s: ContractSubject) => Promise<void>) => async () => {
    const subject = await opts.open(peer);
    try {
      await test(subject);
    } finally {
      await subject.dispose();
    }
  };

  describe(`the destination contract: ${kind}`, () => {
    it('gives one `delivered` outcome per item, in order, and the peer gets each item once, with its id, type, key and body', withSubject('accepting', async (s) => {
      const batch = contractBatch();
      const outcomes = await s.destination.deliver(batch, new AbortController().signal);
      expect(outcomes).toEqual(batch.map(() => ({ kind: 'delivered' })));

      const got = await s.received(batch.length);
      expect(got).toHaveLength(batch.length);
      // One message's reports arrive in batch order (different messages may interleave).
      expect(idsByKey(got)).toEqual(idsByKey(batch.map((d) => ({ eventId: d.eventId, key: d.messageKey }))));
      for (const r of got) {
        const item = batch.find((d) => d.eventId === r.eventId)!;
        expect({ type: r.type, key: r.key, value: JSON.parse(r.value) }).toEqual({ type: item.type, key: item.messageKey, value: JSON.parse(item.body) });
        if (opts.writesKafkaRecords) expect(r.kafka).toEqual(kafkaRecord(item));
      }
    }), timeout);

    it('never throws when the peer fails: each item gets a failed or skipped outcome, the first of each message a failed one with a stable code', withSubject('failing', async (s) => {
      const batch = contractBatch();
      const outcomes = await s.destination.deliver(batch, new AbortController().signal);
      expect(outcomes).toHaveLength(batch.length);
      for (const perMessage of outcomesByKey(batch, outcomes)) {
        expect(perMessage[0]!.kind).toBe('failed');
        for (const o of perMessage) {
          expect(['failed', 'skipped']).toContain(o.kind);
          if (o.kind === 'failed') {
            expect(o.error).toBeInstanceOf(RouterError);
            expect(o.error.code).toMatch(/^[a-z0-9_]+$/);
          }
        }
      }
    }), timeout);

    it('sends nothing of a message after one of its items failed: the rest are skipped, or failed with it in the same request', withSubject('failing', async (s) => {
      const batch = contractBatch();
      const outcomes = await s.destination.deliver(batch, new AbortController().signal);
      for (const perMessage of outcomesByKey(batch, outcomes)) {
        const first = perMessage.findIndex((o) => o.kind !== 'delivered');
        expect(perMessage.slice(first).every((o) => o.kind !== 'delivered')).toBe(true);
      }
      // Whatever reached the peer was the first report of its message, and only that one.
      const firsts = new Set(Object.values(idsByKey(batch.map((d) => ({ eventId: d.eventId, key: d.messageKey })))).map((ids) => ids[0]));
      const got = await s.received(0);
      expect(got.every((r) => firsts.has(r.eventId))).toBe(true);
      expect(new Set(got.map((r) => r.eventId)).size).toBe(got.length);
    }), timeout);

    it('close() waits for the work in flight: the batch has settled, delivered, when it resolves', withSubject('slow', async (s) => {
      const batch = contractBatch();
      let outcomes: DeliveryOutcome[] | null = null;
      const delivering = s.destination.deliver(batch, new AbortController().signal).then((o) => (outcomes = o));
      await s.destination.close();
      expect(outcomes).toEqual(batch.map(() => ({ kind: 'delivered' })));
      await delivering;
      expect(await s.received(batch.length)).toHaveLength(batch.length);
    }), timeout);

    it('close() on an idle destination resolves, and may be called again', withSubject('accepting', async (s) => {
      await s.destination.close();
      await s.destination.close();
    }), timeout);
  });
}
