/**
 * Fills a spool with N delivered events shaped as the router stores them (compressed body, the
 * routing decision, a traceparent, the filter columns, two done deliveries, the message's state),
 * spread over the last 6 days of the 7-day retention: to measure the router on a large spool
 * ("cost flat as the spool grows", issue 11). About 90 s per million events on the 2-core
 * machine.
 *
 *   node --import tsx bench/seed-spool.ts <DATA_DIR>/spool.db 10000000
 *
 * then start the router with that DATA_DIR and load it as usual (bench/load.ts).
 */
import { randomUUID } from 'node:crypto';
import { encodeBody } from '../src/spool/body-codec.js';
import { openSpoolDb } from '../src/spool/db.js';
import { encodeStoredId } from '../src/spool/stored-id.js';
import { callbackContext, encodeStoredTrace } from '../src/trace/context.js';
import { postSample } from '../src/testing/samples.js';
import { eventFrom } from '../src/testing/events.js';

const [path, count] = process.argv.slice(2);
const total = Number(count);
if (!path || !Number.isInteger(total) || total <= 0) {
  process.stderr.write('usage: seed-spool.ts <spool.db> <events>\n');
  process.exit(2);
}
const db = openSpoolDb(path);
db.pragma('synchronous = OFF'); // a throw-away fill: no flush per transaction
const putEvent = db.prepare(
  `INSERT INTO events (event_id, message_key, type, profile, status_class, received_at, body, route_id, traceparent, iso_code, request_id, status, status_final)
   VALUES (?, ?, 'sms.delivered', 'default', 'delivered', ?, ?, ?, ?, 'IN', ?, 'Delivered', 1)`,
);
const putDelivery = db.prepare(
  `INSERT INTO deliveries (event_seq, destination, message_hash, state, attempts, first_at, next_at, updated_at, latency_ms) VALUES (?, ?, 0, 'done', 1, ?, 0, ?, 5)`,
);
const putState = db.prepare(`INSERT OR REPLACE INTO message_state (message_key, rank, status, event_id, updated_at, profile) VALUES (?, 2, 'Delivered', ?, ?, 'default')`);
const route = JSON.stringify({ destinations: ['kafka:events', 'kafka:failures'], rules: ['every-report', 'failures'], fallback: false });
db.prepare('INSERT OR IGNORE INTO route_decisions (decision) VALUES (?)').run(route);
const routeId = (db.prepare('SELECT id FROM route_decisions WHERE decision = ?').get(route) as { id: number }).id;
const from = Date.now() - 6 * 86_400_000;
const started = Date.now();
for (let done = 0; done < total; ) {
  const n = Math.min(50_000, total - done);
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const request = randomUUID();
      const event = eventFrom(postSample({ id: request, message_id: `${request}:1` }));
      const at = from + Math.floor(((done + i) / total) * 5 * 86_400_000);
      const trace = encodeStoredTrace(callbackContext(null, null));
      const seq = putEvent.run(event.event_id, event.message_key, at, encodeBody(JSON.stringify(event), event), routeId, trace, request).lastInsertRowid;
      for (const destination of ['kafka:events', 'kafka:failures']) putDelivery.run(seq, destination, at, at);
      putState.run(event.message_key, encodeStoredId(event.event_id), at);
    }
  })();
  done += n;
  if (done % 500_000 === 0 || done === total) process.stderr.write(`seed-spool: ${done} events, ${Math.round((Date.now() - started) / 1000)} s\n`);
}
db.pragma('wal_checkpoint(TRUNCATE)');
db.close();
