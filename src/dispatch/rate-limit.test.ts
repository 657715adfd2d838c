import { describe, expect, it } from 'vitest';
import type { Destination } from '../destinations/types.js';
import { silentLogger } from '../log.js';
import { Metrics } from '../metrics.js';
import { DEFAULT_RETRY_POLICY } from '../retry/policy.js';
import { sleep } from '../sleep.js';
import { waitFor } from '../testing/wait.js';
import { Dispatcher } from './dispatcher.js';
import type { DeliveryQueue, QueuedDelivery } from './queue.js';
import { TokenBucket, pause, rateLimitSchema, resolveRateLimit, type RateLimit } from './rate-limit.js';

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('resolveRateLimit', () => {
  it.each([
    [{ perSecond: 20 }, { perSecond: 20, burst: 20 }],
    [{ perSecond: 2.5 }, { perSecond: 2.5, burst: 3 }],
    [{ perSecond: 0.2 }, { perSecond: 0.2, burst: 1 }],
    [{ perSecond: 100, burst: 5 }, { perSecond: 100, burst: 5 }],
  ])('%j resolves to %j (burst defaults to one second, at least 1)', (given, resolved) => {
    expect(resolveRateLimit(given)).toEqual(resolved);
  });
});

describe('rateLimitSchema', () => {
  it.each([
    [{ perSecond: 0 }, ['perSecond', 'must be more than 0']],
    [{ perSecond: -3 }, ['perSecond', 'must be more than 0']],
    [{ perSecond: '20' }, ['perSecond', 'must be a number of deliveries per second']],
    [{ perSecond: 5, burst: 0.5 }, ['burst', 'must be a whole number of deliveries']],
    [{ perSecond: 5, burst: 0 }, ['burst', 'must be at least 1']],
  ])('refuses %j naming the field', (input, [field, message]) => {
    const r = rateLimitSchema.safeParse(input);
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]).toMatchObject({ path: [field], message });
  });

  it('refuses a field it does not know (a typo such as perSec)', () => {
    expect(rateLimitSchema.safeParse({ perSecond: 5, perSec: 5 }).success).toBe(false);
  });

  it('takes a fractional rate and a whole burst', () => {
    expect(rateLimitSchema.parse({ perSecond: 0.5, burst: 2 })).toEqual({ perSecond: 0.5, burst: 2 });
  });
});

describe('TokenBucket', () => {
  it('starts full: a burst may leave at once, then nothing until tokens refill', () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ perSecond: 20, burst: 5 }, clock.now);
    expect(bucket.available()).toBe(5);
    bucket.take(5);
    expect(bucket.available()).toBe(0);
    expect(bucket.waitMs(1)).toBe(50);
  });

  it('refills at perSecond: one token every 1/perSecond seconds, never above the burst', () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ perSecond: 20, burst: 5 }, clock.now);
    bucket.take(5);
    clock.advance(49);
    expect(bucket.available()).toBe(0);
    clock.advance(1);
    expect(bucket.available()).toBe(1);
    clock.advance(100);
    expect(bucket.available()).toBe(3);
    clock.advance(60_000);
    expect(bucket.available()).toBe(5);
  });

  it('waiting exactly what waitMs says always yields the tokens (no rounding short of one)', () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ perSecond: 3, burst: 1 }, clock.now);
    for (let i = 0; i < 50; i++) {
      bucket.take(1);
      clock.advance(bucket.waitMs(1));
      expect(bucket.available()).toBe(1);
    }
  });

  it('sustains perSecond over a long run: 10 s of taking what is available sends burst + 10 * perSecond', () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ perSecond: 20, burst: 20 }, clock.now);
    let sent = 0;
    for (let ms = 0; ms <= 10_000; ms += 7) {
      const n = bucket.available();
      bucket.take(n);
      sent += n;
      clock.advance(7);
    }
    expect(sent).toBeGreaterThanOrEqual(20 + 200 - 1);
    expect(sent).toBeLessThanOrEqual(20 + 201);
  });

  it('taking more than is there leaves a debt the refill pays first', () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ perSecond: 10, burst: 2 }, clock.now);
    bucket.take(4);
    expect(bucket.waitMs(1)).toBe(300);
    clock.advance(299);
    expect(bucket.available()).toBe(0);
    clock.advance(1);
    expect(bucket.available()).toBe(1);
  });

  it('asking for more than the burst waits for a full bucket, not forever', () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ perSecond: 10, burst: 2 }, clock.now);
    bucket.take(2);
    expect(bucket.waitMs(50)).toBe(200);
  });

  it('a clock that steps back refills nothing and takes nothing away', () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ perSecond: 10, burst: 3 }, clock.now);
    bucket.take(1);
    clock.advance(-5_000);
    expect(bucket.available()).toBe(2);
    clock.advance(5_100);
    expect(bucket.available()).toBe(3);
  });
});

describe('pause', () => {
  it('resolves after the time, or at once when its signal aborts', async () => {
    const abort = new AbortController();
    const started = performance.now();
    const waiting = pause(10_000, abort.signal);
    setTimeout(() => abort.abort(), 20);
    await waiting;
    expect(performance.now() - started).toBeLessThan(5_000);
    await pause(5, new AbortController().signal);
    await pause(10_000, abort.signal); // already aborted: at once
  });
});

/** A queue of `n` deliveries for one destination that counts how often it is asked. */
function countingQueue(n: number) {
  let pending: QueuedDelivery[] = Array.from({ length: n }, (_, i) => ({ id: i + 1, eventId: `e-${i + 1}`, messageKey: `m-${i + 1}`, type: 'sms.delivered', body: '{}', attempts: 0, firstAt: Date.now() }));
  const asked = { due: 0 };
  const queue: DeliveryQueue = {
    due: (_d, limit) => (asked.due++, pending.slice(0, limit)),
    nextDueAt: () => null,
    markDone: (ids) => void (pending = pending.filter((d) => !ids.includes(d.id))),
    markRetry: () => undefined,
    markDead: () => undefined,
    disabledDestinations: () => new Map(),
    disableDestination: () => undefined,
    pendingDestinations: () => [],
    onCommit: () => () => undefined,
  };
  return { queue, asked, left: () => pending.length };
}

/** A destination that notes when each batch came and how large it was. */
function timedDestination(maxBatch = 50) {
  const batches: { at: number; size: number }[] = [];
  const dest: Destination = {
    ref: 'webhook:limited',
    maxBatch,
    lingerMs: 0,
    deliver: async (batch) => (batches.push({ at: performance.now(), size: batch.length }), batch.map(() => ({ kind: 'delivered' as const }))),
    close: async () => undefined,
  };
  return { dest, batches };
}

function limitedDispatcher(queue: DeliveryQueue, dest: Destination, limit: RateLimit, metrics = new Metrics()) {
  return new Dispatcher({
    queue,
    destinations: { destinations: new Map([[dest.ref, dest]]), policies: new Map([[dest.ref, DEFAULT_RETRY_POLICY]]), rateLimits: new Map([[dest.ref, limit]]) },
    logger: silentLogger,
    metrics,
    pollMs: 1_000,
  });
}

describe('a rate-limited worker', () => {
  it('sends no more than the burst at once, then no faster than perSecond, and counts its waits', async () => {
    const q = countingQueue(20);
    const { dest, batches } = timedDestination();
    const metrics = new Metrics();
    const dispatcher = limitedDispatcher(q.queue, dest, { perSecond: 50, burst: 5 }, metrics);
    dispatcher.start();
    const until = Date.now() + 5_000;
    while (q.left() > 0 && Date.now() < until) await sleep(10);
    await dispatcher.stop(0);
    expect(q.left()).toBe(0);
    expect(batches[0]!.size).toBe(5);
    expect(Math.max(...batches.map((b) => b.size))).toBeLessThanOrEqual(5);
    // The n-th delivery leaves no earlier than (n - burst) / perSecond after the first batch.
    let sent = 0;
    for (const b of batches) {
      sent += b.size;
      expect(b.at - batches[0]!.at).toBeGreaterThanOrEqual(((sent - 5) / 50) * 1_000 - 5);
    }
    expect(metrics.get('rate_limited_seconds_total', { destination: 'webhook:limited' })).toBeGreaterThan(0.2);
  });

  it('waits on a timer, not in a loop: the queue is asked a handful of times during a long wait', async () => {
    const q = countingQueue(3);
    const { dest, batches } = timedDestination();
    // The second token comes at 1 s: a loaded machine's late timers cannot bring it inside the 300 ms.
    const dispatcher = limitedDispatcher(q.queue, dest, { perSecond: 1, burst: 1 });
    dispatcher.start();
    await sleep(300);
    expect(batches).toHaveLength(1);
    expect(q.asked.due).toBeLessThanOrEqual(4);
    await dispatcher.stop(0);
  });

  it('a stopped worker stops waiting for tokens at once', async () => {
    const q = countingQueue(3);
    const { dest, batches } = timedDestination();
    const dispatcher = limitedDispatcher(q.queue, dest, { perSecond: 0.1, burst: 1 });
    dispatcher.start();
    expect(await waitFor(() => batches.length === 1, 5_000)).toBe(true);
    await sleep(20); // now waiting for the next token, 10 s away
    const started = performance.now();
    await dispatcher.stop(0);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(batches).toHaveLength(1);
    expect(q.left()).toBe(2);
  });

  it('a destination without a limit takes full batches at once', async () => {
    const q = countingQueue(20);
    const { dest, batches } = timedDestination(50);
    const dispatcher = new Dispatcher({
      queue: q.queue,
      destinations: { destinations: new Map([[dest.ref, dest]]), policies: new Map([[dest.ref, DEFAULT_RETRY_POLICY]]) },
      logger: silentLogger,
      metrics: new Metrics(),
    });
    dispatcher.start();
    expect(await waitFor(() => batches.length >= 1, 5_000)).toBe(true);
    await sleep(50); // a split batch's second part would come now
    await dispatcher.stop(0);
    expect(batches.map((b) => b.size)).toEqual([20]);
  });
});
