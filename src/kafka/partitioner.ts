/**
 * The partitioner of every producer the router makes: Java Kafka's default choice of partition
 * (murmur2 of the key), as kafkajs' `Partitioners.DefaultPartitioner` makes it, without its cost.
 * kafkajs hashes with a murmur2 built on its BigInt-backed `Long`: measured under load, ~8 % of
 * everything the router allocated was that hash. This one is int32 arithmetic, and reads an
 * ASCII key (every message key the router writes) straight from the string.
 *
 * The partition of a key must never change: downstream consumers rely on one key staying on one
 * partition, and Java producers writing the same topics agree with us on key -> partition.
 * src/kafka/partitioner.test.ts pins both functions against kafkajs' own.
 */
import { randomInt } from 'node:crypto';
import type { ICustomPartitioner } from 'kafkajs';

// Mixing constants of Kafka's Utils.murmur2 (kafkajs' murmur2.js has the same).
const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

/**
 * Java Kafka's murmur2 of a key's bytes (signed 32-bit, like `Utils.murmur2`): a string's UTF-8
 * bytes, a Buffer as it is, any other value as `String(key)` (kafkajs' `Buffer.from(String(key))`).
 * Only a string with a non-ASCII character is copied into a Buffer first.
 * @example (murmur2('7d2f3c4b-5a6e-4f80-9b1c-2d3e4f5a6b7c:1') & 0x7fffffff) % partitions
 */
export function murmur2(key: string | Buffer | number): number {
  if (typeof key === 'string') return hashString(key);
  return hashBytes(Buffer.isBuffer(key) ? key : Buffer.from(String(key)));
}

/** One 4-byte word (little-endian, as an int32) mixed into `h`. */
function mixWord(h: number, k: number): number {
  k = Math.imul(k, M);
  k ^= k >>> R;
  k = Math.imul(k, M);
  return Math.imul(h, M) ^ k;
}

/** The last 1-3 bytes (`rem` of them, `b0` first) and the final avalanche. */
function finish(h: number, rem: number, b0: number, b1: number, b2: number): number {
  switch (rem) {
    case 3:
      h ^= b2 << 16;
    // falls through
    case 2:
      h ^= b1 << 8;
    // falls through
    case 1:
      h ^= b0;
      h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h;
}

/** An ASCII string's char codes are its UTF-8 bytes; at the first other character, hash its UTF-8 encoding. */
function hashString(s: string): number {
  const length = s.length;
  const words = length & ~3;
  let h = SEED ^ length;
  for (let i = 0; i < words; i += 4) {
    const c0 = s.charCodeAt(i);
    const c1 = s.charCodeAt(i + 1);
    const c2 = s.charCodeAt(i + 2);
    const c3 = s.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) > 0x7f) return hashBytes(Buffer.from(s, 'utf8'));
    h = mixWord(h, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
  }
  const rem = length - words;
  const b0 = rem > 0 ? s.charCodeAt(words) : 0;
  const b1 = rem > 1 ? s.charCodeAt(words + 1) : 0;
  const b2 = rem > 2 ? s.charCodeAt(words + 2) : 0;
  if ((b0 | b1 | b2) > 0x7f) return hashBytes(Buffer.from(s, 'utf8'));
  return finish(h, rem, b0, b1, b2);
}

function hashBytes(data: Buffer): number {
  const length = data.length;
  const words = length & ~3;
  let h = SEED ^ length;
  for (let i = 0; i < words; i += 4) {
    h = mixWord(h, data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
  }
  const rem = length - words;
  return finish(h, rem, rem > 0 ? data[words]! : 0, rem > 1 ? data[words + 1]! : 0, rem > 2 ? data[words + 2]! : 0);
}

/**
 * kafkajs' `Partitioners.DefaultPartitioner` (its legacy/partitioner.js with the Java murmur2),
 * choice for choice: a message's own `partition` wins; a key goes to
 * `(murmur2(key) & 0x7fffffff) % partitions`; a message with neither goes round-robin over the
 * partitions that have a leader (all of them when none has), from a random start per topic.
 * Unlike kafkajs, the partitions with a leader are looked for only for a message without a key.
 * @example kafka.producer({ createPartitioner: javaCompatiblePartitioner })
 */
export const javaCompatiblePartitioner: ICustomPartitioner = () => {
  const counters = new Map<string, number>();
  return ({ topic, partitionMetadata, message }) => {
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    const numPartitions = partitionMetadata.length;
    if (message.key !== null && message.key !== undefined) return (murmur2(message.key) & 0x7fffffff) % numPartitions;

    // Kept as a uint32: `& 0x7fffffff` reads it mod 2^32 anyway, and it never loses precision.
    const counter = ((counters.get(topic) ?? randomInt(0, 2 ** 32)) + 1) >>> 0;
    counters.set(topic, counter);
    const available = partitionMetadata.filter((p) => p.leader >= 0);
    if (available.length > 0) return available[(counter & 0x7fffffff) % available.length]!.partitionId;
    // No partition has a leader: one of them anyway, as kafkajs does.
    return (counter & 0x7fffffff) % numPartitions;
  };
};
