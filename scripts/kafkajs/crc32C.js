/**
 * Installed over kafkajs 2.2.4's src/protocol/recordBatch/crc32C/crc32C.js by
 * scripts/patch-kafkajs.mjs (npm's postinstall). The same CRC-32C (Castagnoli) as kafkajs' own,
 * which reads one byte a step through one table; this one reads eight bytes a step through eight
 * tables ("slicing-by-8"), about 3x faster on a record batch (measured). Every produced batch is checksummed
 * whole, so this is on the path of every record (issue 11). Pinned by
 * src/kafka/record-encoding.test.ts against the byte-wise algorithm and the standard check value.
 */
'use strict'

const KCR_PATCHED = true
const POLYNOMIAL = 0x82f63b78 // CRC-32C, reflected

/** T[0] is the classic byte table; T[k][b] is the CRC of byte b followed by k zero bytes. */
const T = Array.from({ length: 8 }, () => new Int32Array(256))
for (let b = 0; b < 256; b++) {
  let c = b
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1
  T[0][b] = c
}
for (let b = 0; b < 256; b++) {
  for (let k = 1; k < 8; k++) T[k][b] = T[0][T[k - 1][b] & 0xff] ^ (T[k - 1][b] >>> 8)
}
const [T0, T1, T2, T3, T4, T5, T6, T7] = T

const crc32C = (buffer) => {
  let crc = -1
  let i = 0
  const n = buffer.length
  for (const end = n - (n % 8); i < end; i += 8) {
    const lo = crc ^ (buffer[i] | (buffer[i + 1] << 8) | (buffer[i + 2] << 16) | (buffer[i + 3] << 24))
    crc =
      T7[lo & 0xff] ^
      T6[(lo >>> 8) & 0xff] ^
      T5[(lo >>> 16) & 0xff] ^
      T4[lo >>> 24] ^
      T3[buffer[i + 4]] ^
      T2[buffer[i + 5]] ^
      T1[buffer[i + 6]] ^
      T0[buffer[i + 7]]
  }
  for (; i < n; i++) crc = T0[(crc ^ buffer[i]) & 0xff] ^ (crc >>> 8)
  return (crc ^ -1) >>> 0
}

module.exports = crc32C
module.exports.KCR_PATCHED = KCR_PATCHED
