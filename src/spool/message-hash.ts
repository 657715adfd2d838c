/**
 * The key a delivery keeps its message by (`deliveries.message_hash`, spool version 6): 48 bits
 * of two FNV-1a hashes of the message_key, 6 bytes a row instead of the key itself. The queue
 * uses it only to hold a delivery behind an earlier one of the same message (same destination)
 * that waits for a retry. Two messages whose keys share a hash (about one pair in 10^14) wait for
 * each other: a delay, never a reordering or a loss. Readers that show or filter by the message
 * join its event, which keeps the key.
 *
 * Stored values depend on it: never change it (registered as the SQL function message_hash()).
 * @example messageHash('ebcccXXf-6311-4c52-b23d-afeXXX5fc336:1') // an integer below 2^48
 */
export function messageHash(key: string): number {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193);
  }
  b = Math.imul(b ^ (b >>> 15), 0x2c1b3c6d);
  return (a >>> 16) * 0x1_0000_0000 + (b >>> 0);
}
