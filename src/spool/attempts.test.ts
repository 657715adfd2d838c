import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { DeliveryOutcome, Destination } from '../destinations/types.js';
import { Dispatcher } from '../dispatch/dispatcher.js';
import type { QueuedDelivery } from '../dispatch/queue.js';
import { DestinationGoneError } from '../errors.js';
import { silentLogger } from '../log.js';
import { Metrics } from '../metrics.js';
import { DEFAULT_RETRY_POLICY, HttpStatusError } from '../retry/policy.js';
import { eventFrom } from '../testing/events.js';
import { postSample } from '../testing/samples.js';
import { waitFor } from '../testing/wait.js';
import { DISABLED_CODE, statusCodeOf } from './attempts.js';
import { openSpoolDb, type SpoolDb } from './db.js';
import { Spool } from './spool.js';

const REF = 'webhook:crm';
const T0 = Date.parse('2026-11-01T10:00:00Z');

/** A spool (in memory, its clock in the test's hands) whose every event goes to REF; the db is the test's window on its tables. */
function spoolFor(now: () => number = Date.now): { spool: Spool; db: SpoolDb } {
  const db = openSpoolDb(':memory:');
  const spool = new Spool({ path: ':memory:', db, now, retentionMs: 60_000, dedupeWindowMs: 60_000, plan: () => ({ destinations: [REF], rules: ['crm'], fallback: false }) });
  return { spool, db };
}

const attemptRows = (db: SpoolDb) =>
  db.prepare('SELECT delivery_id, destination, attempt, at, latency_ms, outcome, status_code, code, error FROM attempts ORDER BY id').all() as Record<string, unknown>[];

async function acceptReports(spool: Spool, n: number): Promise<QueuedDelivery[]> {
  for (let i = 0; i < n; i++) await spool.commits.accept(eventFrom(postSample({ message_id: `msg-${i}:0`, id: randomUUID() })));
  return spool.queue.due(REF, 10);
}

describe('AttemptLog: every delivery attempt written down', () => {
  it('writes one row per failed attempt of a batch, with its attempt number, outcome, status code and the batch latency; a skipped one is no attempt, a delivered one is kept by its delivery', async () => {
    let clock = T0;
    const { spool, db } = spoolFor(() => clock);
    const [a, b, c, d] = await acceptReports(spool, 4);
    clock += 1_000;
    spool.attempts.batch(
      REF,
      [
        { delivery: a!, result: 'delivered', code: null, error: null },
        { delivery: { ...b!, attempts: 2 }, result: 'retry', code: 'http_503', error: 'POST http://127.0.0.1/hooks answered 503' },
        { delivery: c!, result: 'dead', code: 'timeout', error: 'POST http://127.0.0.1/hooks: timed out (retries exhausted)' },
        { delivery: d!, result: 'skipped', code: null, error: null },
      ],
      12.4,
    );
    const sent = T0 + 1_000 - 12;
    expect(attemptRows(db)).toEqual([
      { delivery_id: b!.id, destination: REF, attempt: 3, at: sent, latency_ms: 12, outcome: 'retry', status_code: 503, code: 'http_503', error: 'POST http://127.0.0.1/hooks answered 503' },
      { delivery_id: c!.id, destination: REF, attempt: 1, at: sent, latency_ms: 12, outcome: 'dead', status_code: null, code: 'timeout', error: 'POST http://127.0.0.1/hooks: timed out (retries exhausted)' },
    ]);
    spool.close();
  });

  it('cuts a long error to the size the deliveries table keeps, and writes nothing for a batch of skips', async () => {
    const { spool, db } = spoolFor();
    const [a, b] = await acceptReports(spool, 2);
    spool.attempts.batch(REF, [{ delivery: b!, result: 'skipped', code: null, error: null }], 5);
    expect(attemptRows(db)).toEqual([]);
    spool.attempts.batch(REF, [{ delivery: a!, result: 'retry', code: 'connection_error', error: 'x'.repeat(5_000) }], 5);
    expect((attemptRows(db)[0]!.error as string).length).toBe(2_000);
    spool.close();
  });

  it.each([
    ['http_503', 503],
    ['http_410', 410],
    ['http_429', 429],
    ['timeout', null],
    ['topic_not_found', null],
    ['http_5030', null],
    [null, null],
  ])('reads the status code of %s as %s', (code, status) => {
    expect(statusCodeOf(code)).toBe(status);
  });

  it('through the real dispatcher: a 410 is one dead attempt, and a delivery dead-lettered because its destination is disabled is one more, without a round trip', async () => {
    const { spool, db } = spoolFor();
    const outcomes: DeliveryOutcome[] = [{ kind: 'failed', error: new DestinationGoneError('POST http://127.0.0.1/hooks answered 410 (Gone): webhook disabled') }];
    const dest: Destination = { ref: REF, maxBatch: 10, lingerMs: 0, deliver: async (batch) => batch.map(() => outcomes.shift() ?? { kind: 'delivered' }), close: async () => undefined };
    const dispatcher = new Dispatcher({
      queue: spool.queue,
      destinations: { destinations: new Map([[REF, dest]]), policies: new Map([[REF, DEFAULT_RETRY_POLICY]]) },
      logger: silentLogger,
      metrics: new Metrics(),
      pollMs: 10,
      observers: [spool.attempts],
    });
    dispatcher.start();
    try {
      await acceptReports(spool, 1);
      await waitFor(() => attemptRows(db).length === 1, 5_000);
      await spool.commits.accept(eventFrom(postSample({ message_id: 'msg-later:0', id: randomUUID() })));
      await waitFor(() => attemptRows(db).length === 2, 5_000);
    } finally {
      await dispatcher.stop(0);
    }
    const rows = attemptRows(db);
    expect(rows.map((r) => [r.outcome, r.status_code, r.code, r.attempt])).toEqual([
      ['dead', 410, 'http_410', 1],
      ['dead', null, DISABLED_CODE, 1],
    ]);
    expect(rows[1]!.latency_ms).toBe(0);
    expect(rows[1]!.error).toMatch(/^destination disabled: POST .* answered 410/);
    spool.close();
  });

  it('through the real dispatcher: every retry of a failing delivery is one row, numbered 1, 2, 3, the last one dead', async () => {
    const { spool, db } = spoolFor();
    const dest: Destination = {
      ref: REF,
      maxBatch: 10,
      lingerMs: 0,
      deliver: async (batch) => batch.map(() => ({ kind: 'failed', error: new HttpStatusError('POST http://127.0.0.1/hooks answered 503', 503) })),
      close: async () => undefined,
    };
    const policy = { ...DEFAULT_RETRY_POLICY, initialDelayMs: 1, maxDelayMs: 5, maxAttempts: 3 };
    const dispatcher = new Dispatcher({
      queue: spool.queue,
      destinations: { destinations: new Map([[REF, dest]]), policies: new Map([[REF, policy]]) },
      logger: silentLogger,
      metrics: new Metrics(),
      pollMs: 5,
      breakerThreshold: 100,
      observers: [spool.attempts],
    });
    dispatcher.start();
    try {
      await acceptReports(spool, 1);
      await waitFor(() => attemptRows(db).length === 3, 5_000);
    } finally {
      await dispatcher.stop(0);
    }
    expect(attemptRows(db).map((r) => [r.attempt, r.outcome, r.status_code])).toEqual([
      [1, 'retry', 503],
      [2, 'retry', 503],
      [3, 'dead', 503],
    ]);
    spool.close();
  });

  it('through the real dispatcher: a batch\'s attempts are written in the same transaction as its outcomes (one commit, one disk flush)', async () => {
    const { spool, db } = spoolFor();
    const dest: Destination = { ref: REF, maxBatch: 10, lingerMs: 0, deliver: async (batch) => batch.map((_, i): DeliveryOutcome => (i === 0 ? { kind: 'delivered' } : { kind: 'failed', error: new HttpStatusError('POST http://127.0.0.1/hooks answered 503', 503) })), close: async () => undefined };
    const seen: { inTransaction: boolean; pending: number }[] = [];
    const pendingNow = () => (db.prepare("SELECT COUNT(*) AS n FROM deliveries WHERE state = 'pending' AND attempts = 0").get() as { n: number }).n;
    // Told after the attempt log: by then the outcomes are written, but not yet committed.
    const after = { batch: () => seen.push({ inTransaction: db.inTransaction, pending: pendingNow() }) };
    await acceptReports(spool, 2);
    // The failed one is not tried again while the test looks (a busy machine polls late).
    const policy = { ...DEFAULT_RETRY_POLICY, initialDelayMs: 60_000, maxDelayMs: 60_000 };
    const dispatcher = new Dispatcher({
      queue: spool.queue,
      destinations: { destinations: new Map([[REF, dest]]), policies: new Map([[REF, policy]]) },
      logger: silentLogger,
      metrics: new Metrics(),
      pollMs: 10_000,
      observers: [spool.attempts, after],
    });
    dispatcher.start();
    try {
      await waitFor(() => seen.length >= 1, 5_000);
    } finally {
      await dispatcher.stop(0);
    }
    expect(seen).toEqual([{ inTransaction: true, pending: 0 }]);
    expect(db.inTransaction).toBe(false);
    expect(attemptRows(db).map((r) => r.outcome)).toEqual(['retry']);
    // The success is on its delivery, written in the same transaction: done, with the round trip.
    const done = db.prepare("SELECT attempts, latency_ms FROM deliveries WHERE state = 'done'").all() as { attempts: number; latency_ms: number | null }[];
    expect(done).toHaveLength(1);
    expect(done[0]!.attempts).toBe(1);
    expect(done[0]!.latency_ms).toEqual(expect.any(Number));
    spool.close();
  });

  it('goes with its event when retention purges it (foreign keys on: ON DELETE CASCADE holds)', async () => {
    let clock = T0;
    const { spool, db } = spoolFor(() => clock);
    const [a] = await acceptReports(spool, 1);
    spool.attempts.batch(REF, [{ delivery: a!, result: 'retry', code: 'http_503', error: 'answered 503' }], 3);
    spool.queue.markDone([a!.id], 3);
    expect(attemptRows(db)).toHaveLength(1);
    clock += 60_001;
    expect(spool.operations.purge()).toBe(1);
    expect(attemptRows(db)).toEqual([]);
    spool.close();
  });
});
