/**
 * Concurrent events leave in one produce request, not one request per callback: the
 * dispatcher hands the Kafka destination whole batches, and the real broker takes them.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createDestinations } from '../src/destinations/index.js';
import { Dispatcher } from '../src/dispatch/dispatcher.js';
import { enrichEvent } from '../src/enrich/enrich.js';
import { uuidv7 } from '../src/enrich/ids.js';
import { silentLogger } from '../src/log.js';
import { Metrics } from '../src/metrics.js';
import { compileRoutes } from '../src/route/compile.js';
import { matchRoutes } from '../src/route/match.js';
import { Spool } from '../src/spool/spool.js';
import { validateCallback, type KaleyraCallback } from '../src/validate/callback.js';
import { createTopics, kafkaBrokers, readTopics, uniqueTopic, waitFor } from './support/kafka.js';
import { postSample, tempDir } from './support/router.js';


/** A distinct status_time for report i. */
const reportTime = (i: number): string => new Date(Date.UTC(2022, 3, 5, 8, 0, 0) + i * 1000).toISOString();

describe('Kafka batching', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('delivers 300 concurrently accepted events in one produce request, keys in order', async () => {
    const topic = uniqueTopic('batch');
    await createTopics([topic]);
    const config = compileRoutes({ profiles: { default: {} }, kafka: { topics: { t: topic } }, rules: [{ name: 'all', to: ['kafka:t'] }] });
    const spool = new Spool({ path: `${dir.path}/spool.db`, plan: (e) => matchRoutes(e, config.table) });
    const accepted = await Promise.all(
      Array.from({ length: 300 }, (_, i) => {
        // Ten reports of each message, each at its own status_time (the same time would be a resend).
        const fields = postSample({ id: `b-${i}`, message_id: `b-msg-${i % 30}`, status: 'Delivered', status_time: reportTime(i) });
        const cb = validateCallback(fields) as { ok: true; callback: KaleyraCallback };
        return spool.commits.accept(enrichEvent(cb.callback, fields, { profile: 'default', eventId: uuidv7(), receivedAt: new Date(), sentTimeZone: null }));
      }),
    );
    const metrics = new Metrics();
    const destinations = createDestinations(config, { kafkaBrokers: kafkaBrokers(), sinkDir: dir.path, logger: silentLogger });
    const dispatcher = new Dispatcher({ queue: spool.queue, destinations, logger: silentLogger, metrics, pollMs: 50 });
    dispatcher.start();
    try {
      await waitFor(() => spool.operations.listDeliveries('done', { limit: 1000 }).length === 300, 30_000);
      expect(metrics.get('dispatch_batches_total', { destination: 'kafka:t' })).toBe(1);
      const read = await readTopics([topic], (m) => m.length >= 300);
      expect(read).toHaveLength(300);
      for (let k = 0; k < 30; k++) {
        const expected = accepted.filter((_, i) => i % 30 === k).map((a) => a.eventId);
        expect(read.filter((m) => m.key === `b-msg-${k}`).map((m) => m.json.event_id)).toEqual(expected);
      }
    } finally {
      await dispatcher.stop(1_000);
      await destinations.close();
      spool.close();
    }
  });
  it('splits a batch larger than the broker accepts in one request, keeping one message\'s reports in order', async () => {
    const topic = uniqueTopic('big');
    await createTopics([topic]);
    const config = compileRoutes({ profiles: { default: {} }, kafka: { topics: { t: topic } }, rules: [{ name: 'all', to: ['kafka:t'] }] });
    const spool = new Spool({ path: `${dir.path}/big.db`, plan: (e) => matchRoutes(e, config.table) });
    // 40 reports of one message (one partition), ~40 KB each (in a field of the profile's own, kept in raw): 1.6 MB, over the broker's 1 MiB message.max.bytes.
    const accepted = await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const fields = postSample({ id: `big-${i}`, message_id: 'big-msg', status: 'Delivered', status_time: reportTime(i), note: `${i} `.padEnd(40_000, 'x') });
        const cb = validateCallback(fields) as { ok: true; callback: KaleyraCallback };
        return spool.commits.accept(enrichEvent(cb.callback, fields, { profile: 'default', eventId: uuidv7(), receivedAt: new Date(), sentTimeZone: null }));
      }),
    );
    const destinations = createDestinations(config, { kafkaBrokers: kafkaBrokers(), sinkDir: dir.path, logger: silentLogger });
    const dispatcher = new Dispatcher({ queue: spool.queue, destinations, logger: silentLogger, metrics: new Metrics(), pollMs: 50 });
    dispatcher.start();
    try {
      await waitFor(() => spool.operations.listDeliveries('done', { limit: 100 }).length === 40, 30_000);
      expect(spool.operations.listDeliveries('dead')).toEqual([]);
      const read = await readTopics([topic], (m) => m.length >= 40);
      expect(read.map((m) => m.json.event_id)).toEqual(accepted.map((a) => a.eventId));
    } finally {
      await dispatcher.stop(1_000);
      await destinations.close();
      spool.close();
    }
  });
});
