/** The spool's tables. Bump SPOOL_VERSION and add a migration when this changes. */
export const SPOOL_VERSION = 6;

/** From each older version to the next, run in order on open. */
export const SPOOL_MIGRATIONS: Record<number, string> = {
  // 1 -> 2: refused payloads keep how they came (to re-ingest them); the lifecycle knows its
  // profile and whether a missing final report was already announced.
  1: `
    ALTER TABLE rejected ADD COLUMN method TEXT;
    ALTER TABLE rejected ADD COLUMN query TEXT;
    ALTER TABLE rejected ADD COLUMN replayed_event_id TEXT;
    ALTER TABLE message_state ADD COLUMN profile TEXT;
    ALTER TABLE message_state ADD COLUMN missing_at INTEGER;
  `,
  // 2 -> 3: the readiness probe writes as much as a commit of callbacks does, in a table of its
  // own (GroupCommit.writable); the one-row table it used to write is gone.
  2: `
    DROP TABLE IF EXISTS probe;
  `,
  // 3 -> 4: the W3C trace context a callback came with (or was given), passed on with each of
  // its deliveries; the routing decision each callback got (the message timeline shows it). The
  // attempts table and the index by message are made by SPOOL_DDL.
  3: `
    ALTER TABLE events ADD COLUMN traceparent TEXT;
    ALTER TABLE events ADD COLUMN route TEXT;
  `,
  // 4 -> 5: bodies are compressed from now on (body-codec.ts; the old ones stay TEXT and read as
  // they are), so the Events filters and figures read columns filled at insert, backfilled here,
  // instead of indexes over json_extract(body) (SPOOL_LATE_DDL makes the new ones). A delivery
  // keeps its round trip itself (the first attempt's success writes no attempts row).
  4: `
    ALTER TABLE events ADD COLUMN iso_code TEXT;
    ALTER TABLE events ADD COLUMN request_id TEXT;
    ALTER TABLE events ADD COLUMN status TEXT;
    ALTER TABLE events ADD COLUMN status_final INTEGER;
    ALTER TABLE deliveries ADD COLUMN latency_ms INTEGER;
    DROP INDEX IF EXISTS events_iso;
    DROP INDEX IF EXISTS events_request;
    DROP INDEX IF EXISTS events_status;
    UPDATE events SET iso_code = json_extract(body, '$.iso_code'), request_id = json_extract(body, '$.request_id'),
      status = json_extract(body, '$.status'), status_final = json_extract(body, '$.status_final')
      WHERE typeof(body) = 'text' AND json_valid(body);
  `,
  // 5 -> 6: the same bytes kept once. An event names its routing decision by id (route_decisions,
  // made by SPOOL_DDL; older events keep theirs in \`route\`); a delivery keeps its message by
  // a hash (message-hash.ts; the key is its event's); message_state is keyed by its message_key
  // alone, without a rowid and a second index over the key; the state index over every delivery,
  // done ones included, gives way to one over dead letters (deliveries_dead). Every delivery is
  // rewritten once, which on a large spool takes a while at start-up.
  5: `
    ALTER TABLE events ADD COLUMN route_id INTEGER;
    DROP INDEX IF EXISTS deliveries_state;
    DROP INDEX IF EXISTS deliveries_order;
    ALTER TABLE deliveries ADD COLUMN message_hash INTEGER NOT NULL DEFAULT 0;
    UPDATE deliveries SET message_hash = message_hash(message_key);
    ALTER TABLE deliveries DROP COLUMN message_key;
    DROP INDEX IF EXISTS message_state_interim;
    CREATE TABLE message_state_6 (
      message_key TEXT PRIMARY KEY, rank INTEGER NOT NULL, status TEXT NOT NULL, event_id TEXT NOT NULL,
      updated_at INTEGER NOT NULL, profile TEXT, missing_at INTEGER
    ) WITHOUT ROWID;
    INSERT INTO message_state_6 (message_key, rank, status, event_id, updated_at, profile, missing_at)
      SELECT message_key, rank, status, event_id, updated_at, profile, missing_at FROM message_state;
    DROP TABLE message_state;
    ALTER TABLE message_state_6 RENAME TO message_state;
  `,
};

export const SPOOL_DDL = `
CREATE TABLE IF NOT EXISTS events (
  seq          INTEGER PRIMARY KEY,
  event_id     TEXT NOT NULL UNIQUE,
  message_key  TEXT NOT NULL,
  type         TEXT NOT NULL,
  profile      TEXT NOT NULL,
  status_class TEXT NOT NULL,
  received_at  INTEGER NOT NULL,
  -- The event's JSON as body-codec.ts stores it: a BLOB (format byte, then deflate) since version
  -- 5, plain JSON TEXT before. Format 2 is compressed against the row's own event_id,
  -- message_key and request_id, which must never change after the insert. TEXT affinity keeps a
  -- BLOB as it is.
  body         TEXT NOT NULL,
  -- The callback's W3C trace context (received or started here), as trace/context.ts stores it:
  -- 25 bytes (trace id, span id, flags) and the tracestate since version 6, the traceparent
  -- header's text before; null before version 4. TEXT affinity keeps a BLOB as it is.
  traceparent  TEXT,
  -- The routing decision at accept, JSON {rules, fallback, destinations}: the rules it matched
  -- under the config of the day. Written by versions 4 and 5; since 6 it is route_id.
  route        TEXT,
  -- Copied out of the event at insert (version 5; backfilled from the body for older rows), for
  -- the Events filters and figures: the body is compressed. status_final is 0 or 1, null when
  -- unknown (a row from before version 5 whose body lacks it).
  iso_code     TEXT,
  request_id   TEXT,
  status       TEXT,
  status_final INTEGER,
  -- The routing decision at accept (version 6): a config yields a handful of distinct ones, so
  -- each is kept once in route_decisions. Null for mirrored dead letters and older events.
  route_id     INTEGER
);
CREATE INDEX IF NOT EXISTS events_received ON events(received_at);
-- Every report of one message, for its timeline (GET /admin/messages/<id>, kcr show).
CREATE INDEX IF NOT EXISTS events_message ON events(message_key);
-- The console's Events page (event-list.ts): one index per filter, each ending in received_at
-- (and the rowid, seq) so a filtered page is read newest first off the index and a time range
-- narrows the same index. Those on columns added in version 5 are in SPOOL_LATE_DDL.
CREATE INDEX IF NOT EXISTS events_class ON events(status_class, received_at);
CREATE INDEX IF NOT EXISTS events_profile ON events(profile, received_at);

-- One row per (event, destination): the routing plan, and each delivery's fate.
CREATE TABLE IF NOT EXISTS deliveries (
  id          INTEGER PRIMARY KEY,
  event_seq   INTEGER NOT NULL REFERENCES events(seq) ON DELETE CASCADE,
  destination TEXT NOT NULL,
  -- Its message (message-hash.ts): the queue holds a delivery behind an earlier one of the same
  -- message waiting for a retry. The message_key itself is its event's (before version 6, here).
  -- 0 once done (as next_at): a done delivery is in no queue, and SQLite stores a 0 in no bytes.
  message_hash INTEGER NOT NULL DEFAULT 0,
  state       TEXT NOT NULL CHECK (state IN ('pending', 'done', 'dead')),
  attempts    INTEGER NOT NULL DEFAULT 0,
  first_at    INTEGER NOT NULL,
  -- When it is due; 0 once done (see message_hash).
  next_at     INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  last_code   TEXT,
  last_error  TEXT,
  -- The round trip of the attempt that delivered it; null until then (and before version 5).
  latency_ms  INTEGER
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(destination, next_at) WHERE state = 'pending';
-- The queue in arrival order: a dispatcher reads a batch off its head without sorting a backlog.
-- (Its per-message order, deliveries_waiting, is in SPOOL_LATE_DDL.)
CREATE INDEX IF NOT EXISTS deliveries_queue ON deliveries(destination, id) WHERE state = 'pending';
-- The dead letters, for the Events page's outcome filter: done deliveries, most of the table,
-- are in no index but deliveries_event.
CREATE INDEX IF NOT EXISTS deliveries_dead ON deliveries(event_seq) WHERE state = 'dead';
CREATE INDEX IF NOT EXISTS deliveries_event ON deliveries(event_seq);

-- Every delivery attempt, for the message timeline (GET /admin/messages/<id>); purged with its
-- event. \`attempt\`: the delivery's attempt number (1 again after a replay); \`at\`: when it was
-- sent; \`latency_ms\`: its batch's round trip (0 for a dead letter written without an attempt,
-- destination disabled); \`status_code\`: the HTTP status when the outcome says one (http_503).
CREATE TABLE IF NOT EXISTS attempts (
  id          INTEGER PRIMARY KEY,
  event_seq   INTEGER NOT NULL REFERENCES events(seq) ON DELETE CASCADE,
  delivery_id INTEGER NOT NULL,
  destination TEXT NOT NULL,
  attempt     INTEGER NOT NULL,
  at          INTEGER NOT NULL,
  latency_ms  INTEGER NOT NULL,
  outcome     TEXT NOT NULL CHECK (outcome IN ('delivered', 'retry', 'dead')),
  status_code INTEGER,
  code        TEXT,
  error       TEXT
);
CREATE INDEX IF NOT EXISTS attempts_event ON attempts(event_seq);

-- The routing decisions events were accepted with, each kept once (events.route_id): JSON
-- {destinations, rules, fallback}. A few per config; kept for as long as the spool.
CREATE TABLE IF NOT EXISTS route_decisions (
  id       INTEGER PRIMARY KEY,
  decision TEXT NOT NULL UNIQUE
);

-- The most advanced status seen per message, so a late "Sent" never looks newer than "Delivered".
-- Without a rowid (version 6): the rows live in the key's own index.
CREATE TABLE IF NOT EXISTS message_state (
  message_key  TEXT PRIMARY KEY,
  rank         INTEGER NOT NULL,
  status       TEXT NOT NULL,
  -- The event that set it, as stored-id.ts keeps it: a UUID's 16 bytes (the text in rows written
  -- by earlier builds, and for any other id). TEXT affinity keeps a BLOB as it is.
  event_id     TEXT NOT NULL,
  updated_at   INTEGER NOT NULL,
  profile      TEXT,
  -- When a "final report missing" event was made for it (finalAfter), so it is made once.
  missing_at   INTEGER
) WITHOUT ROWID;

-- Callbacks seen recently (same id and status), to answer a resend without delivering it twice.
CREATE TABLE IF NOT EXISTS dedupe (
  key      TEXT PRIMARY KEY,
  event_id TEXT NOT NULL,
  seen_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dedupe_seen ON dedupe(seen_at);

-- Callbacks refused with a 4xx, kept for operators.
CREATE TABLE IF NOT EXISTS rejected (
  id           INTEGER PRIMARY KEY,
  received_at  INTEGER NOT NULL,
  profile      TEXT NOT NULL,
  status_code  INTEGER NOT NULL,
  reason       TEXT NOT NULL,
  content_type TEXT,
  body         TEXT NOT NULL,
  method       TEXT,
  query        TEXT,
  -- Set once an operator re-ingested it and it was accepted.
  replayed_event_id TEXT
);
CREATE INDEX IF NOT EXISTS rejected_received ON rejected(received_at);

-- One row, rewritten by the readiness probe with as many bytes as a group commit of callbacks.
CREATE TABLE IF NOT EXISTS readiness_probe (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, pad BLOB NOT NULL);

-- Destinations switched off by the far end (webhook 410 Gone).
CREATE TABLE IF NOT EXISTS destination_state (
  destination TEXT PRIMARY KEY,
  disabled_at INTEGER NOT NULL,
  reason      TEXT NOT NULL
);
`;

/** Indexes over columns a migration may have just added: made after the migrations. */
export const SPOOL_LATE_DDL = `
-- The Events filters on columns of version 5 (see events_class above). Until version 5 these
-- names were indexes over json_extract(body, ...), which the migration drops.
CREATE INDEX IF NOT EXISTS events_iso ON events(iso_code, received_at);
CREATE INDEX IF NOT EXISTS events_request ON events(request_id, received_at);
CREATE INDEX IF NOT EXISTS events_status ON events(status, received_at);
-- Per message, the deliveries to a destination waiting for a retry: the queue keeps each
-- message's order with it (a later report waits behind them). Only a retry schedules a delivery
-- later than now, and it counts an attempt, so the deliveries never tried (nearly all of them)
-- are not in it: a new one costs no write to an index over random keys, and neither does its
-- success. Until this router it held every pending delivery, as deliveries_order.
DROP INDEX IF EXISTS deliveries_order;
CREATE INDEX IF NOT EXISTS deliveries_waiting ON deliveries(destination, message_hash, id) WHERE state = 'pending' AND attempts > 0;
CREATE INDEX IF NOT EXISTS message_state_interim ON message_state(profile, updated_at) WHERE rank = 1 AND missing_at IS NULL;
`;
