/**
 * The record encoder and CRC-32C installed over kafkajs 2.2.4's (scripts/kafkajs/record-v0.js and
 * crc32C.js, by scripts/patch-kafkajs.mjs): byte for byte what kafkajs' own write. The oracles
 * below are kafkajs' original record encoding, made with kafkajs' own Encoder and Header
 * modules, and the byte-wise CRC-32C kafkajs computed.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

interface KafkajsEncoder {
  buffer: Buffer;
  writeVarInt(v: number): KafkajsEncoder;
  writeInt8(v: number): KafkajsEncoder;
  writeVarLong(v: number): KafkajsEncoder;
  writeVarIntBytes(v: unknown): KafkajsEncoder;
  writeVarIntArray(v: KafkajsEncoder[]): KafkajsEncoder;
}
interface EncoderClass {
  new (size?: number): KafkajsEncoder;
  sizeOfVarLong(v: number): number;
  sizeOfVarInt(v: number): number;
  sizeOfVarIntBytes(v: unknown): number;
}
interface RecordInput {
  offsetDelta?: number;
  timestampDelta?: number;
  key: unknown;
  value: unknown;
  headers?: Record<string, unknown>;
}

const require = createRequire(import.meta.url);
const Encoder = require('kafkajs/src/protocol/encoder.js') as EncoderClass;
const Header = require('kafkajs/src/protocol/recordBatch/header/v0/index.js') as (h: { key: string; value: unknown }) => KafkajsEncoder;
const installed = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as ((r: RecordInput) => KafkajsEncoder) & { KCR_PATCHED?: boolean };

/** kafkajs 2.2.4's own record encoding. */
function original({ offsetDelta = 0, timestampDelta = 0, key, value, headers = {} }: RecordInput): Buffer {
  const list = Object.keys(headers).flatMap((k) => {
    const v = headers[k];
    return Array.isArray(v) ? v.map((one: unknown) => ({ key: k, value: one })) : [{ key: k, value: v }];
  });
  let headerSize = Encoder.sizeOfVarInt(list.length);
  for (const h of list) {
    const keySize = Buffer.byteLength(h.key);
    const valueSize = Buffer.byteLength(h.value as string);
    headerSize += Encoder.sizeOfVarInt(keySize) + keySize + Encoder.sizeOfVarInt(valueSize) + valueSize;
  }
  const size = 1 + Encoder.sizeOfVarLong(timestampDelta) + Encoder.sizeOfVarInt(offsetDelta) + Encoder.sizeOfVarIntBytes(key) + Encoder.sizeOfVarIntBytes(value) + headerSize;
  return new Encoder()
    .writeVarInt(size)
    .writeInt8(0)
    .writeVarLong(timestampDelta)
    .writeVarInt(offsetDelta)
    .writeVarIntBytes(key)
    .writeVarIntBytes(value)
    .writeVarIntArray(list.map(Header)).buffer;
}

const routerHeaders = {
  'event-type': 'sms.delivered',
  'schema-version': '2',
  'event-id': '5cc5c10c-ec89-80ff-b11a-4e37cc7a4f6b',
  'content-type': 'application/json',
  traceparent: '00-7b892374ac643da61475ac4f157b1293-250347931ff83d93-01',
};

describe("kafkajs' record encoder, as installed", () => {
  it('is ours (npm install ran the postinstall patch)', () => {
    expect(installed.KCR_PATCHED).toBe(true);
  });

  it.each<[string, RecordInput]>([
    ['a record as the router sends it', { offsetDelta: 3, timestampDelta: 12, key: 'ebcccXXf-6311:1', value: JSON.stringify({ status: 'Delivered', n: 1 }), headers: routerHeaders }],
    ['no headers', { key: 'k', value: 'v' }],
    ['a null key', { key: null, value: '{}', headers: { a: 'b' } }],
    ['a null value (a tombstone)', { key: 'k', value: null }],
    ['Buffer key, value and header value', { key: Buffer.from([0, 1, 2]), value: Buffer.alloc(300, 7), headers: { bin: Buffer.from([255, 0]) } }],
    ['a header given as an array of values', { key: 'k', value: 'v', headers: { many: ['one', 'two', Buffer.from('three')], one: 'x' } }],
    ['non-ASCII text', { key: 'ключ', value: '{"description":"Доставлено ✓ 送達"}', headers: { 'ä-key': 'välue' } }],
    ['a value over 16 KB (a three-byte length)', { offsetDelta: 200, key: 'k', value: 'x'.repeat(20_000), headers: routerHeaders }],
    ['large deltas', { offsetDelta: 70_000, timestampDelta: 5_000_000, key: 'k', value: 'v' }],
    ['a negative timestamp delta', { timestampDelta: -250, key: 'k', value: 'v' }],
    ['a timestamp delta past 32 bits', { timestampDelta: 2 ** 40 + 3, key: 'k', value: 'v' }],
    ['an empty key and value', { key: '', value: '' }],
  ])('writes the same bytes as kafkajs for %s', (_, record) => {
    expect(installed(record).buffer.equals(original(record))).toBe(true);
  });

  it('fails on a null header value, as kafkajs does', () => {
    const record = { key: 'k', value: 'v', headers: { a: null } };
    expect(() => original(record)).toThrow(TypeError);
    expect(() => installed(record)).toThrow(TypeError);
  });
});

const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as ((b: Buffer) => number) & { KCR_PATCHED?: boolean };

/** The byte-wise CRC-32C (Castagnoli, reflected 0x82F63B78), as kafkajs computed it. */
function byteWise(buffer: Buffer): number {
  let crc = -1;
  for (const byte of buffer) {
    let c = (crc ^ byte) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    crc = c ^ (crc >>> 8);
  }
  return (crc ^ -1) >>> 0;
}

describe("kafkajs' CRC-32C, as installed", () => {
  it('is ours (npm install ran the postinstall patch)', () => {
    expect(crc32C.KCR_PATCHED).toBe(true);
  });

  it('gives the standard check value for "123456789"', () => {
    expect(crc32C(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('agrees with the byte-wise algorithm for every length up to 64 and a record batch', () => {
    for (let n = 0; n <= 64; n++) {
      const b = randomBytes(n);
      expect(crc32C(b)).toBe(byteWise(b));
    }
    const batch = randomBytes(100_003);
    expect(crc32C(batch)).toBe(byteWise(batch));
    expect(crc32C(batch.subarray(5, 5 + 4_097))).toBe(byteWise(batch.subarray(5, 5 + 4_097)));
  });
});
