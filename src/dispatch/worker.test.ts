import { describe, expect, it } from 'vitest';
import type { DeliveryOutcome, Destination } from '../destinations/types.js';
import { DestinationGoneError, NonRetriableError, RetriableError } from '../errors.js';
import { silentLogger } from '../log.js';
import { Metrics } from '../metrics.js';
import { DEFAULT_RETRY_POLICY, HttpStatusError } from '../retry/policy.js';
import { Dispatcher } from './dispatcher.js';
import type { DeliveryQueue, QueuedDelivery } from './queue.js';
import { PROBE_EVERY_MS, probeAfterMs } from './worker.js';

/**
 * An in-memory DeliveryQueue that records what the dispatcher wrote down. Like the spool, it
 * holds back a message's later reports while an earlier one waits for its retry.
 */
function fakeQueue(items: QueuedDelivery[]) {
  const log: string[] = [];
  const disabled = new Map<string, { reason: string }>();
  const waiting = new Set<string>();
  let pending = [...items];
  const queue: DeliveryQueue = {
    due: (_dest, limit) => pending.filter((d) => !waiting.has(d.messageKey)).slice(0, limit),
    nextDueAt: () => null,
    markDone: (ids) => {
      log.push(`done ${ids.join(',')}`);
      pending = pending.filter((d) => !ids.includes(d.id));
    },
    markRetry: (id, _at, code) => {
      log.push(`retry ${id} ${code}`);
      waiting.add(pending.find((d) => d.id === id)!.messageKey);
      pending = pending.filter((d) => d.id !== id);
    },
    markDead: (id, code) => {
      log.push(`dead ${id} ${code}`);
      pending = pending.filter((d) => d.id !== id);
    },
    disabledDestinations: () => disabled,
    disableDestination: (dest, reason) => void disabled.set(dest, { reason }),
    pendingDestinations: () => [],
    onCommit: () => () => undefined,
  };
  return { queue, log, disabled, isEmpty: () => pending.length === 0 };
}

const item = (id: number, key = `m-${id}`): QueuedDelivery => ({ id, eventId: `e-${id}`, messageKey: key, type: 'sms.delivered', body: '{}', attempts: 0, firstAt: Date.now() });

/** A destination that answers each item with the outcome scripted for its id. */
function scripted(outcomes: Record<number, DeliveryOutcome>): Destination {
  return {
    ref: 'webhook:scripted',
    maxBatch: 10,
    lingerMs: 0,
    deliver: async (batch) => batch.map((d) => outcomes[(d as QueuedDelivery).id]!),
    close: async () => undefined,
  };
}

async function dispatch(items: QueuedDelivery[], outcomes: Record<number, DeliveryOutcome>) {
  const q = fakeQueue(items);
  const dispatcher = new Dispatcher({
    queue: q.queue,
    destinations: { destinations: new Map([['webhook:scripted', scripted(outcomes)]]), policies: new Map([['webhook:scripted', DEFAULT_RETRY_POLICY]]) },
    logger: silentLogger,
    metrics: new Metrics(),
    pollMs: 5,
  });
  dispatcher.start();
  const until = Date.now() + 2_000;
  while (q.log.length < items.length - Object.values(outcomes).filter((o) => o.kind === 'skipped').length && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
  await dispatcher.stop(0);
  return q;
}

describe('the dispatcher works from any DeliveryQueue and alone decides what an outcome means', () => {
  it('delivered: done; skipped: left pending; a passing failure: retry; a permanent one: dead', async () => {
    const q = await dispatch([item(1), item(2, 'm-2'), item(3, 'm-2'), item(4)], {
      1: { kind: 'delivered' },
      2: { kind: 'failed', error: new RetriableError('busy', 'timeout') },
      3: { kind: 'skipped' },
      4: { kind: 'failed', error: new NonRetriableError('bad', 'http_400') },
    });
    expect(q.log).toEqual(['retry 2 timeout', 'dead 4 http_400', 'done 1']);
  });

  it('an HTTP status is judged by the retry policy: 503 retried, 404 dead', async () => {
    const q = await dispatch([item(1), item(2)], {
      1: { kind: 'failed', error: new HttpStatusError('answered 503', 503) },
      2: { kind: 'failed', error: new HttpStatusError('answered 404', 404) },
    });
    expect(q.log).toEqual(['retry 1 http_503', 'dead 2 http_404']);
  });

  it('a destination that reports itself gone is disabled, and its delivery dead-lettered', async () => {
    const q = await dispatch([item(1)], { 1: { kind: 'failed', error: new DestinationGoneError('answered 410 (Gone)') } });
    expect(q.log).toEqual(['dead 1 http_410']);
    expect([...q.disabled.keys()]).toEqual(['webhook:scripted']);
  });
});

describe('a destination that breaks its contract', () => {
  it('answering every item `skipped` does not make the worker spin: it waits for the next poll', async () => {
    let calls = 0;
    const q = fakeQueue([item(1)]);
    const lazy: Destination = { ref: 'webhook:lazy', maxBatch: 10, lingerMs: 0, deliver: async (b) => (calls++, b.map(() => ({ kind: 'skipped' as const }))), close: async () => undefined };
    const dispatcher = new Dispatcher({
      queue: q.queue,
      destinations: { destinations: new Map([['webhook:lazy', lazy]]), policies: new Map([['webhook:lazy', DEFAULT_RETRY_POLICY]]) },
      logger: silentLogger,
      metrics: new Metrics(),
      pollMs: 50,
    });
    dispatcher.start();
    await new Promise((r) => setTimeout(r, 120));
    await dispatcher.stop(0);
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(calls).toBeLessThanOrEqual(4);
    expect(q.log).toEqual([]);
  });

  it('giving fewer outcomes than items: the missing ones count as passing failures, retried', async () => {
    const q = fakeQueue([item(1), item(2)]);
    const short: Destination = { ref: 'webhook:short', maxBatch: 10, lingerMs: 0, deliver: async () => [{ kind: 'delivered' }], close: async () => undefined };
    const dispatcher = new Dispatcher({
      queue: q.queue,
      destinations: { destinations: new Map([['webhook:short', short]]), policies: new Map([['webhook:short', DEFAULT_RETRY_POLICY]]) },
      logger: silentLogger,
      metrics: new Metrics(),
      pollMs: 5,
    });
    dispatcher.start();
    const until = Date.now() + 2_000;
    while (q.log.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    await dispatcher.stop(0);
    expect(q.log).toEqual(['retry 2 no_outcome', 'done 1']);
  });
});

describe('how long a failing destination is left alone before the next probe', () => {
  const policy = { ...DEFAULT_RETRY_POLICY, initialDelayMs: 1_000, multiplier: 2, maxDelayMs: 5 * 60_000 };

  it('grows with the retry backoff at first', () => {
    expect(probeAfterMs(policy, 1, () => 0.5)).toBe(1_000);
    expect(probeAfterMs(policy, 3, () => 0.5)).toBe(2_000);
  });

  it('never passes PROBE_EVERY_MS, however long the destination has been failing, so a destination back from an outage is found within seconds', () => {
    expect(PROBE_EVERY_MS).toBe(5_000);
    for (const failures of [10, 50, 500]) expect(probeAfterMs(policy, failures, () => 0.999)).toBe(PROBE_EVERY_MS);
  });

  it("keeps a policy's initialDelayMs when that is longer", () => {
    expect(probeAfterMs({ ...policy, initialDelayMs: 30_000 }, 20, () => 0.999)).toBe(30_000);
  });
});
