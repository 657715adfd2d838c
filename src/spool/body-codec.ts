/**
 * How an event's JSON is kept in `events.body`: compressed against a dictionary, since a stored
 * event is read again only for a delivery, a replay or the console. A TEXT value is the plain
 * JSON that spools before version 5 wrote; it stays readable as it is.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { NonRetriableError } from '../errors.js';

/**
 * Format 1: raw deflate (zlib defaults: level 6, 32 KiB window) primed with DICTIONARY_1. Its
 * bytes are part of every body written with format 1 or 2: never edit them. A better dictionary
 * is a new format, with the older ones still read.
 */
const FORMAT_DEFLATE_DICT_1 = 1;
/**
 * Format 2: as format 1, with the row's own keys (BodyKeys) after DICTIONARY_1, so the ids its
 * columns already hold are not stored a second time: the event is stored once. It came without a
 * spool version of its own: the format byte says how a body is stored. Measured on 2,000 events
 * with UUID ids: 272 bytes a body with format 1, 225 with format 2.
 */
const FORMAT_DEFLATE_ROW_KEYS = 2;

/**
 * zlib's output buffer per call. Under half of Buffer.poolSize it comes from Node's shared pool
 * instead of a 16 KiB allocation of its own per call, which under load meant garbage collections
 * (3 calls an event with two destinations). A larger output just takes more chunks.
 */
const CHUNK = 2048;

/**
 * What the events have in common: the status words and vocabulary the router writes, then one
 * event as the router makes it (keys in DeliveryEvent's order, `raw` with Kaleyra's field names).
 * Deflate finds the fields, the names and most values here, so a body keeps little more than its
 * ids and times. Deliberately not the provider's sample that the benchmark sends: that would make
 * the benchmark's events look smaller than real traffic's. Measured on 2,000 events of mixed
 * statuses, countries and ids: 1,466 bytes of JSON -> 255 (561 without a dictionary; the
 * benchmark's sample: 1,413 -> 254). CPU: ~20 µs to compress, ~7 µs to inflate, most of it
 * zlib's fixed cost per call (level, window and memLevel made no difference).
 */
const DICTIONARY_1 = Buffer.from(
  'Not Sent Undelivered Failed Sent Queued AWAITED-DLR NO-DLR-OPTR UNDELIV EXPIRED REJECTED-MULTIPART ' +
    'BLACKLIST DND-NUMB ABSENT-SUB INV-NUMBER "status_class":"undelivered" "rejected" "pending" "failed" ' +
    '"unknown" "status_trace_group":"not_sent" "other" "sms.undelivered" "sms.rejected" "sms.pending" ' +
    '"sms.failed" "status_final":false "raw_query":"sender=' +
    '{"schema_version":2,"event_id":"3f6c1d2e-8a4b-8c5d-9e7f-0a1b2c3d4e5f","type":"sms.delivered",' +
    '"profile":"default","received_at":"2026-01-01T00:00:05.000Z","message_id":"7d2f3c4b-5a6e-4f80-9b1c-2d3e4f5a6b7c:1",' +
    '"request_id":"7d2f3c4b-5a6e-4f80-9b1c-2d3e4f5a6b7c","message_index":1,"message_key":"7d2f3c4b-5a6e-4f80-9b1c-2d3e4f5a6b7c:1",' +
    '"status":"Delivered","status_class":"delivered","status_final":true,"status_trace":"DELIVRD",' +
    '"status_trace_group":"other","description":"Message delivered","stale":false,"status_time":"2026-01-01T00:00:05.000Z",' +
    '"sent_time":"2026-01-01T00:00:00.000Z","sent_time_local":"2026-01-01T00:00:00","iso_code":"IN","country":"India",' +
    '"country_name":"India","recipient":"919620838123","recipient_e164":"+919620838123","recipient_masked":false,' +
    '"sender":"KLRHXA","route_type":"TXN","source":"API","campaign_name":null,"flash":false,"price":"0.001354",' +
    '"total":1,"length":5,"units":1,"ref":null,"ref1":null,"ref2":null,"raw":{"sender":"KLRHXA","recipient":"919620838123",' +
    '"type":"TXN","flash":0,"total":1,"source":"API","price":"0.001354","iso_code":"IN",' +
    '"message_id":"7d2f3c4b-5a6e-4f80-9b1c-2d3e4f5a6b7c:1","country_name":"India","campaign_name":"","length":5,' +
    '"units":1,"sent_time":"2026-01-01 00:00:00","status_time":"2026-01-01 00:00:05+00:00","status_trace":"DELIVRD",' +
    '"status":"Delivered","description":"Message delivered","id":"7d2f3c4b-5a6e-4f80-9b1c-2d3e4f5a6b7c","ref":"",' +
    '"ref1":"","ref2":""},"raw_query":null}',
);

/** How a new event's JSON is kept: `deflate` (format 2), or `none`: the JSON text as it is. */
export type BodyEncoding = 'deflate' | 'none';

/**
 * The event's keys as its row's columns hold them (`events.event_id`, `message_key`,
 * `request_id`), never changed after the insert: format 2 compresses the body against them, so
 * reading it back needs the same three.
 */
export interface BodyKeys {
  event_id: string;
  message_key: string;
  request_id: string | null;
}

/** DICTIONARY_1, then the row's keys: the ids a body repeats are found here, not stored again. */
function rowDictionary(keys: BodyKeys): Buffer {
  return Buffer.concat([DICTIONARY_1, Buffer.from(rowKeysText(keys))]);
}

/** The row's keys as format 2's dictionary ends with them. */
export function rowKeysText(keys: BodyKeys): string {
  return `${keys.request_id ?? ''} ${keys.message_key} ${keys.event_id}`;
}

/**
 * What format 2 is made of, for a compressor on another thread (body-compressor.ts), which makes
 * each body as `DICTIONARY_1 + rowKeysText(keys)` primes raw deflate, after the format byte.
 */
export const FORMAT_2 = { format: FORMAT_DEFLATE_ROW_KEYS, dictionary: DICTIONARY_1, chunkSize: CHUNK } as const;

/**
 * The stored form of an event's JSON: a format byte, then the compressed bytes; with `none`,
 * the text itself (what spools before version 5 kept, read the same way). `keys`: the row's own,
 * exactly as inserted beside it.
 * @example db.prepare('INSERT INTO events (..., body) VALUES (..., ?)').run(..., encodeBody(JSON.stringify(event), event))
 */
export function encodeBody(json: string, keys: BodyKeys): Buffer;
export function encodeBody(json: string, keys: BodyKeys, encoding: BodyEncoding | undefined): Buffer | string;
export function encodeBody(json: string, keys: BodyKeys, encoding: BodyEncoding = 'deflate'): Buffer | string {
  if (encoding === 'none') return json;
  const packed = deflateRawSync(json, { dictionary: rowDictionary(keys), chunkSize: CHUNK });
  const stored = Buffer.allocUnsafe(packed.length + 1);
  stored[0] = FORMAT_DEFLATE_ROW_KEYS;
  packed.copy(stored, 1);
  return stored;
}

/**
 * The event's JSON from `events.body`, whichever way it was stored; `keys` are its row's (format
 * 2 needs them). Throws on a format this version does not know (a spool written by a newer
 * router): better than guessing at bytes.
 * @example const event = JSON.parse(decodeBody(row.body, row)) as DeliveryEvent
 */
export function decodeBody(stored: string | Buffer, keys: BodyKeys): string {
  if (typeof stored === 'string') return stored;
  const format = stored[0];
  if (format === FORMAT_DEFLATE_ROW_KEYS) {
    return inflateRawSync(stored.subarray(1), { dictionary: rowDictionary(keys), chunkSize: CHUNK }).toString('utf8');
  }
  if (format === FORMAT_DEFLATE_DICT_1) {
    return inflateRawSync(stored.subarray(1), { dictionary: DICTIONARY_1, chunkSize: CHUNK }).toString('utf8');
  }
  throw new NonRetriableError(
    `events.body is stored in format ${format ?? '(empty)'}, which this router cannot read (written by a newer version?)`,
    'spool_body_format',
  );
}
