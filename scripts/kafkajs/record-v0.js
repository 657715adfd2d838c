/**
 * Installed over kafkajs 2.2.4's src/protocol/recordBatch/record/v0/index.js by
 * scripts/patch-kafkajs.mjs (npm's postinstall). It writes the very same bytes as kafkajs' own
 * record encoder, but into one buffer sized up front. kafkajs' made a new Encoder (a zero-filled
 * 512-byte buffer) for each header, allocated a Buffer for every varint, and grew the record's
 * buffer by copying it: with the router's five headers that was about 15% of the router's time
 * under load, the largest part of it allocation and garbage collection (issue 11, measured).
 * Pinned byte for byte against kafkajs' own encoding by src/kafka/record-encoding.test.ts.
 *
 * Record =>
 *   Length => Varint
 *   Attributes => Int8
 *   TimestampDelta => Varlong
 *   OffsetDelta => Varint
 *   Key => varInt|Bytes
 *   Value => varInt|Bytes
 *   Headers => [HeaderKey HeaderValue]
 *     HeaderKey => VarInt|String
 *     HeaderValue => VarInt|Bytes
 */
'use strict'

const Encoder = require('../../../encoder')

const KCR_PATCHED = true
/** Up to this magnitude a varlong is a zigzag varint of the same bytes; beyond it, kafkajs' Long path. */
const SMALL = 2 ** 30

/** Bytes a zigzag-encoded 32-bit varint takes. */
function sizeOfUVarInt(u) {
  let bytes = 1
  while ((u & 0xffffff80) !== 0) {
    bytes++
    u >>>= 7
  }
  return bytes
}

const zigzag = (v) => (v << 1) ^ (v >> 31)

function writeUVarInt(buf, offset, u) {
  while ((u & 0xffffff80) !== 0) {
    buf[offset++] = (u & 0x7f) | 0x80
    u >>>= 7
  }
  buf[offset++] = u
  return offset
}

/** A key, value or header value as kafkajs writes it: a Buffer as is, anything else as UTF-8 text; null stays null. */
function bytesOf(value) {
  if (value == null) return { value: null, length: -1 }
  if (Buffer.isBuffer(value)) return { value, length: value.length }
  const text = String(value)
  return { value: text, length: Buffer.byteLength(text, 'utf8') }
}

const sizeOfBytes = (b) => (b.length < 0 ? 1 : sizeOfUVarInt(zigzag(b.length)) + b.length)

function writeBytes(buf, offset, b) {
  if (b.length < 0) return writeUVarInt(buf, offset, zigzag(-1))
  offset = writeUVarInt(buf, offset, zigzag(b.length))
  if (typeof b.value === 'string') buf.write(b.value, offset, b.length, 'utf8')
  else b.value.copy(buf, offset)
  return offset + b.length
}

/** The timestamp delta's varlong: small ones written here, others by kafkajs' own (Long) encoder. */
function varLongBytes(value) {
  if (Number.isInteger(value) && Math.abs(value) < SMALL) return null
  return new Encoder(10).writeVarLong(value).buffer
}

function headerList(headers) {
  const list = []
  for (const key of Object.keys(headers)) {
    const value = headers[key]
    if (Array.isArray(value)) for (const one of value) list.push({ key, value: one })
    else list.push({ key, value })
  }
  return list
}

/**
 * @param [offsetDelta=0] {Integer}
 * @param [timestampDelta=0] {Long}
 * @param key {Buffer}
 * @param value {Buffer}
 * @param [headers={}] {Object}
 */
module.exports = ({ offsetDelta = 0, timestampDelta = 0, key, value, headers = {} }) => {
  const k = bytesOf(key)
  const v = bytesOf(value)
  const list = headerList(headers).map((h) => {
    // As kafkajs does: a header's key is text, and a null header value fails (Buffer.byteLength(null)).
    Buffer.byteLength(h.value)
    return { key: bytesOf(h.key), value: bytesOf(h.value) }
  })
  const longDelta = varLongBytes(timestampDelta)
  let body = 1 + (longDelta ? longDelta.length : sizeOfUVarInt(zigzag(timestampDelta))) + sizeOfUVarInt(zigzag(offsetDelta))
  body += sizeOfBytes(k) + sizeOfBytes(v) + sizeOfUVarInt(zigzag(list.length))
  for (const h of list) body += sizeOfBytes(h.key) + sizeOfBytes(h.value)

  const total = sizeOfUVarInt(zigzag(body)) + body
  const buf = Buffer.allocUnsafe(total)
  let offset = writeUVarInt(buf, 0, zigzag(body))
  buf[offset++] = 0 // no record attributes in use
  if (longDelta) offset += longDelta.copy(buf, offset)
  else offset = writeUVarInt(buf, offset, zigzag(timestampDelta))
  offset = writeUVarInt(buf, offset, zigzag(offsetDelta))
  offset = writeBytes(buf, offset, k)
  offset = writeBytes(buf, offset, v)
  offset = writeUVarInt(buf, offset, zigzag(list.length))
  for (const h of list) offset = writeBytes(buf, writeBytes(buf, offset, h.key), h.value)
  if (offset !== total) throw new Error(`record encoding wrote ${offset} bytes of ${total}`)

  // An Encoder holding exactly these bytes, as kafkajs' callers expect (they read .buffer).
  const encoder = new Encoder(1)
  encoder.buf = buf
  encoder.offset = total
  return encoder
}
module.exports.KCR_PATCHED = KCR_PATCHED
