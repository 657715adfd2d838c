/**
 * Our partitioner against kafkajs 2.2.4's own: its murmur2.js (Java Kafka's murmur2 on a BigInt
 * Long) and `Partitioners.DefaultPartitioner`. A key's partition must never change, so any
 * difference on any key fails here.
 */
import { createRequire } from 'node:module';
import { Partitioners, type Message, type PartitionMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../testing/random.js';
import { javaCompatiblePartitioner, murmur2 } from './partitioner.js';

const kafkajsMurmur2 = createRequire(import.meta.url)('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: unknown) => number;

const rand = mulberry32(20250611);
const int = (n: number) => Math.floor(rand() * n);
const hex = (n: number) => Array.from({ length: n }, () => int(16).toString(16)).join('');

/** Every ASCII character, 0x00 to 0x7f, is as likely. */
function asciiString(length: number): string {
  return String.fromCharCode(...Array.from({ length }, () => int(0x80)));
}

function uuidKey(): string {
  return `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}:${1 + int(9)}`;
}

// 1-, 2-, 3- and 4-byte UTF-8, a lone surrogate (UTF-8 EF BF BD) and the ASCII edge.
const NON_ASCII = ['é', 'ß', '€', '短', '信', '📨', '😀', '\u0080', '\u07ff', '\u0800', '\uffff', '\ud800', '\u007f'];

/** ASCII with non-ASCII characters in it: first, in a 4-byte word, in the last 1-3 bytes. */
function mixedString(): string {
  const parts = Array.from({ length: 1 + int(8) }, () => (rand() < 0.4 ? NON_ASCII[int(NON_ASCII.length)]! : asciiString(int(6))));
  return parts.join('');
}

function metadata(leaders: number[]): PartitionMetadata[] {
  return leaders.map((leader, partitionId) => ({ partitionId, leader, partitionErrorCode: 0, replicas: [], isr: [] }));
}

describe('murmur2', () => {
  it.each<[string, string | Buffer, number]>([
    ['the empty key', '', 275646681],
    ['a message key as the router writes it', 'ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1', -922605154],
    ['a UUID message key', '7d2f3c4b-5a6e-4f80-9b1c-2d3e4f5a6b7c:1', -796377982],
    ['a non-ASCII key', '短信', 453485692],
    ['the same key as a Buffer', Buffer.from('短信'), 453485692],
  ])('hashes %s to the pinned value', (_, key, expected) => {
    expect(murmur2(key)).toBe(expected);
    expect(kafkajsMurmur2(key)).toBe(expected);
  });

  it('agrees with kafkajs on 2,600 random ASCII strings of every length 0..64', () => {
    for (let length = 0; length <= 64; length++) {
      for (let n = 0; n < 40; n++) {
        const key = asciiString(length);
        expect(murmur2(key), JSON.stringify(key)).toBe(kafkajsMurmur2(key));
      }
    }
  });

  it('agrees with kafkajs on 2,000 UUID message keys', () => {
    for (let n = 0; n < 2_000; n++) {
      const key = uuidKey();
      expect(murmur2(key), key).toBe(kafkajsMurmur2(key));
    }
  });

  it('agrees with kafkajs on non-ASCII strings (hashing their UTF-8 bytes)', () => {
    const keys = [...NON_ASCII, 'é'.repeat(5), 'abcé', 'abcdé', 'abcdefé', 'é' + 'a'.repeat(37), '短信:1', '📨 sms.delivered'];
    for (let n = 0; n < 2_000; n++) keys.push(mixedString());
    for (const key of keys) expect(murmur2(key), JSON.stringify(key)).toBe(kafkajsMurmur2(key));
  });

  it('agrees with kafkajs on 2,600 random Buffers (bytes 0x00..0xff) of every length 0..64', () => {
    for (let length = 0; length <= 64; length++) {
      for (let n = 0; n < 40; n++) {
        const key = Buffer.from(Array.from({ length }, () => int(256)));
        expect(murmur2(key), key.toString('hex')).toBe(kafkajsMurmur2(key));
      }
    }
  });

  it('hashes a number as its String(), as kafkajs does', () => {
    for (const key of [0, 7, -1, 1234567890, 3.25]) {
      expect(murmur2(key)).toBe(kafkajsMurmur2(key));
      expect(murmur2(key)).toBe(murmur2(String(key)));
    }
  });
});

describe('javaCompatiblePartitioner', () => {
  it("puts keyed messages on kafkajs DefaultPartitioner's partition for 1..24 partitions", () => {
    for (let count = 1; count <= 24; count++) {
      // Some partitions without a leader: a keyed message ignores that, in both.
      const partitionMetadata = metadata(Array.from({ length: count }, (_, p) => (p % 3 === 1 ? -1 : p)));
      const ours = javaCompatiblePartitioner();
      const theirs = Partitioners.DefaultPartitioner();
      for (let n = 0; n < 200; n++) {
        const key = n % 10 === 0 ? mixedString() : n % 10 === 1 ? Buffer.from(uuidKey()) : uuidKey();
        const args = { topic: 'sms.events', partitionMetadata, message: { key, value: '{}' } };
        expect(ours(args), `${String(key)} over ${count}`).toBe(theirs(args));
      }
    }
  });

  it("keeps a message's own partition, 0 included, key or not", () => {
    const partition = javaCompatiblePartitioner();
    const partitionMetadata = metadata([0, 1, 2, 3]);
    expect(partition({ topic: 't', partitionMetadata, message: { key: 'k', value: null, partition: 3 } })).toBe(3);
    expect(partition({ topic: 't', partitionMetadata, message: { key: 'k', value: null, partition: 0 } })).toBe(0);
    expect(partition({ topic: 't', partitionMetadata, message: { value: null, partition: 2 } })).toBe(2);
  });

  it('sends keyless messages round-robin over the partitions that have a leader', () => {
    const partition = javaCompatiblePartitioner();
    const partitionMetadata = metadata([1, -1, 2, 1, -1, 3, 2]);
    const available = [0, 2, 3, 5, 6];
    const chosen = Array.from({ length: 3 * available.length }, (_, n) => {
      const message: Message = n % 2 === 0 ? { value: '{}' } : { key: null, value: '{}' };
      return partition({ topic: 'sms.events', partitionMetadata, message });
    });
    expect(chosen.every((p) => available.includes(p))).toBe(true);
    expect(new Set(chosen)).toEqual(new Set(available));
    // One after another, in order: each choice is the next available partition after the last.
    for (let n = 1; n < chosen.length; n++) {
      expect(chosen[n]).toBe(available[(available.indexOf(chosen[n - 1]!) + 1) % available.length]);
    }
  });

  it('still chooses a partition for a keyless message when none has a leader', () => {
    const partition = javaCompatiblePartitioner();
    const partitionMetadata = metadata([-1, -1, -1]);
    const chosen = Array.from({ length: 6 }, () => partition({ topic: 'sms.events', partitionMetadata, message: { value: '{}' } }));
    for (const p of chosen) expect([0, 1, 2]).toContain(p);
    expect(new Set(chosen).size).toBe(3);
  });
});
