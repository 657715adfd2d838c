/**
 * Installed over kafkajs 2.2.4's src/consumer/filterAbortedMessages.js by
 * scripts/patch-kafkajs.mjs (npm's postinstall). What it fixes: kafkajs enters at most one
 * aborted transaction per message, so when a fetch starts after two aborted transactions began
 * (several transactional producers writing one partition, as the cluster mode's partition owners
 * do), records of the second leak to read_committed consumers. This follows the Java client
 * (Fetcher / CompletedFetch): every aborted transaction whose first offset is at or before the
 * end of the current record batch is entered, in offset order, and left at its producer's abort
 * marker. Pinned by src/kafka/aborted-filter.test.ts.
 */
'use strict'

/** A control record's key is int16 version + int16 type; type 0 is ABORT. */
const ABORT_KEY = Buffer.from([0, 0, 0, 0])
const KCR_PATCHED = true

const isAbortMarker = (message) =>
  Boolean(message.isControlRecord) && message.key != null && Buffer.from(message.key).equals(ABORT_KEY)

/** The last offset of the record batch a message came in (its own offset if unknown). */
const lastOffsetOfBatch = (message) => {
  const context = message.batchContext || {}
  if (context.firstOffset == null) return BigInt(message.offset)
  return BigInt(context.firstOffset) + BigInt(context.lastOffsetDelta || 0)
}

/** Offsets come as decimal strings (int64). */
const compareOffsets = (a, b) => (BigInt(a.firstOffset) < BigInt(b.firstOffset) ? -1 : BigInt(a.firstOffset) > BigInt(b.firstOffset) ? 1 : 0)

module.exports = ({ messages, abortedTransactions }) => {
  if (!abortedTransactions || abortedTransactions.length === 0) return messages
  const pending = [...abortedTransactions].sort(compareOffsets)
  const aborted = new Set()
  return messages.filter((message) => {
    const end = lastOffsetOfBatch(message)
    while (pending.length > 0 && BigInt(pending[0].firstOffset) <= end) {
      aborted.add(String(pending.shift().producerId))
    }
    const context = message.batchContext || {}
    const producerId = String(context.producerId)
    if (isAbortMarker(message)) {
      aborted.delete(producerId)
      return true
    }
    return !(context.inTransaction && aborted.has(producerId))
  })
}
module.exports.KCR_PATCHED = KCR_PATCHED
