/**
 * An event id as `message_state.event_id` keeps it: the 16 bytes of a UUID in its canonical text
 * (every id the router makes, enrich/ids.ts), 20 fewer than the text; any other id as its text.
 * Rows written before keep their text and read as they are.
 */
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** @example stmt.run(messageKey, encodeStoredId(event.event_id)) */
export function encodeStoredId(id: string): Buffer | string {
  return CANONICAL_UUID.test(id) ? Buffer.from(id.replaceAll('-', ''), 'hex') : id;
}

/** The id's text, however it was stored. */
export function decodeStoredId(stored: string | Buffer): string {
  if (typeof stored === 'string') return stored;
  const hex = stored.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
