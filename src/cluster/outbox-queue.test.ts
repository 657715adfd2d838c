import { afterEach, describe, expect, it } from 'vitest';
import type { DeliveryItem, DeliveryOutcome, Destination } from '../destinations/types.js';
import { Dispatcher } from '../dispatch/dispatcher.js';
import { NonRetriableError, RetriableError, type RouterError } from '../errors.js';
import { createLogger } from '../log.js';
import { Metrics } from '../metrics.js';
import { resolvePolicy } from '../retry/policy.js';
import { waitFor } from '../testing/wait.js';
import { OutboxQueue, type BatchResult, type OutboxDelivery } from './outbox-queue.js';

const FAST_RETRY = resolvePolicy({ initialDelayMs: 10, maxDelayMs: 50, maxAttempts: 50 });

/** One outbox record for `destination`: event `id`, report of message `key`. */
function record(id: string, key: string, opts: { destination?: string; partition?: number; firstAt?: number } = {}): OutboxDelivery {
  const { destination = 'webhook:crm', partition = 0, firstAt = Date.now() } = opts;
  return { eventId: id, messageKey: key, type: 'sms.delivered', body: JSON.stringify({ event_id: id }), destination, partition, offset: '0', firstAt };
}

type Answer = 'ok' | RouterError;

/**
 * A webhook-like destination answering each attempt as `answer` says (a promise holds it). Like
 * the webhook, after one item of a message fails, its later items in the batch are skipped.
 */
class ScriptedDestination implements Destination {
  readonly lingerMs = 0;
  /** `<event id> <ok|code|skipped>`, in the order the outcomes came. */
  readonly log: string[] = [];
  readonly started: string[] = [];
  private readonly tries = new Map<string, number>();

  constructor(
    readonly ref: string,
    private readonly answer: (item: DeliveryItem, attempt: number) => Answer | Promise<Answer> = () => 'ok',
    readonly maxBatch = 10,
  ) {}

  async deliver(batch: readonly DeliveryItem[], signal: AbortSignal): Promise<DeliveryOutcome[]> {
    const onAbort = new AbortController();
    const aborted = new Promise<Answer>((resolve) => signal.addEventListener('abort', () => resolve(new RetriableError('aborted', 'aborted')), { signal: onAbort.signal }));
    try {
      return await this.attempt(batch, aborted);
    } finally {
      onAbort.abort(); // removes the listener
    }
  }

  private async attempt(batch: readonly DeliveryItem[], aborted: Promise<Answer>): Promise<DeliveryOutcome[]> {
    const failedKeys = new Set<string>();
    const outcomes: DeliveryOutcome[] = [];
    for (const item of batch) {
      if (failedKeys.has(item.messageKey)) {
        this.log.push(`${item.eventId} skipped`);
        outcomes.push({ kind: 'skipped' });
        continue;
      }
      const attempt = (this.tries.get(item.eventId) ?? 0) + 1;
      this.tries.set(item.eventId, attempt);
      this.started.push(item.eventId);
      const a = await Promise.race([this.answer(item, attempt), aborted]);
      this.log.push(`${item.eventId} ${a === 'ok' ? 'ok' : a.code}`);
      if (a !== 'ok') failedKeys.add(item.messageKey);
      outcomes.push(a === 'ok' ? { kind: 'delivered' } : { kind: 'failed', error: a });
    }
    return outcomes;
  }

  async close(): Promise<void> {}
}

/** A promise the test opens. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** Tells whether a batch's promise has resolved yet. */
function track(p: Promise<BatchResult>): { result: BatchResult | null; done: Promise<BatchResult> } {
  const t: { result: BatchResult | null; done: Promise<BatchResult> } = { result: null, done: p.then((r) => (t.result = r)) };
  return t;
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

/** The real Dispatcher over the queue, delivering to the given destinations; returns the errors it logs. */
function dispatch(queue: OutboxQueue, ...dests: ScriptedDestination[]): string[] {
  const errors: string[] = [];
  const dispatcher = new Dispatcher({
    queue,
    destinations: { destinations: new Map(dests.map((d) => [d.ref, d])), policies: new Map(dests.map((d) => [d.ref, FAST_RETRY])) },
    logger: createLogger('error', (line) => errors.push(line) > 0),
    metrics: new Metrics(),
    pollMs: 20,
    random: () => 0.99,
  });
  dispatcher.start();
  stops.push(() => dispatcher.stop(0));
  return errors;
}

const noDeadLetters = async () => {
  throw new Error('no dead letter expected');
};

describe('OutboxQueue', () => {
  it('resolves a batch only once every item of it is delivered', async () => {
    const last = gate();
    const crm = new ScriptedDestination('webhook:crm', (item) => (item.eventId === 'e-3' ? last.opened.then(() => 'ok' as const) : 'ok'), 1);
    const queue = new OutboxQueue({ deadLetter: noDeadLetters });
    dispatch(queue, crm);

    const batch = track(queue.add([record('e-1', 'a'), record('e-2', 'b'), record('e-3', 'c')]));
    expect(await waitFor(() => crm.started.includes('e-3'), 5_000, 5), 'waiting for e-3 in flight').toBe(true);
    expect(crm.log).toEqual(['e-1 ok', 'e-2 ok']);
    expect(batch.result).toBeNull();
    expect(queue.depth('webhook:crm')).toBe(1);

    last.open();
    expect(await batch.done).toEqual({ done: 3, dead: 0, dropped: 0 });
    expect(queue.depth()).toBe(0);
    expect(queue.pendingDestinations()).toEqual([]);
  });

  it("holds a message's later reports while its first waits for a retry, and lets other messages go meanwhile", async () => {
    // maxBatch 1: the later reports could only be held back by the queue, not by the destination.
    const crm = new ScriptedDestination('webhook:crm', (item, attempt) => (item.eventId === 'o-1' && attempt === 1 ? new RetriableError('answered 503', 'http_503') : 'ok'), 1);
    const queue = new OutboxQueue({ deadLetter: noDeadLetters });
    dispatch(queue, crm);

    const result = await queue.add([record('o-1', 'order'), record('o-2', 'order'), record('o-3', 'order'), record('x-1', 'other')]);
    expect(result).toEqual({ done: 4, dead: 0, dropped: 0 });
    expect(crm.log).toEqual(['o-1 http_503', 'x-1 ok', 'o-1 ok', 'o-2 ok', 'o-3 ok']);
  });

  it('dead-letters a permanent failure through deadLetter, and the batch counts it dead', async () => {
    const crm = new ScriptedDestination('webhook:crm', (item) => (item.eventId === 'bad-1' ? new NonRetriableError('POST https://crm.example answered 400', 'http_400') : 'ok'));
    const letters: unknown[][] = [];
    const queue = new OutboxQueue({ deadLetter: async (...args) => void letters.push(args) });
    dispatch(queue, crm);

    const result = await queue.add([record('ok-1', 'a'), { ...record('bad-1', 'b', { partition: 3 }), offset: '42' }]);
    expect(result).toEqual({ done: 1, dead: 1, dropped: 0 });
    expect(letters).toEqual([[expect.objectContaining({ eventId: 'bad-1', partition: 3, offset: '42', attempts: 1 }), 'http_400', expect.stringContaining('permanent')]]);
    expect(crm.log).toEqual(['ok-1 ok', 'bad-1 http_400']);
  });

  it('writes a dead letter again until it succeeds; the item is not delivered again meanwhile', async () => {
    const crm = new ScriptedDestination('webhook:crm', () => new NonRetriableError('answered 400', 'http_400'));
    let batch: ReturnType<typeof track> | null = null;
    const settledAtCalls: boolean[] = [];
    const queue = new OutboxQueue({
      deadLetterRetryMs: 20,
      deadLetter: async () => {
        settledAtCalls.push(batch?.result != null);
        if (settledAtCalls.length < 3) throw new Error('dead-letter topic unavailable');
      },
    });
    dispatch(queue, crm);

    batch = track(queue.add([record('bad-1', 'b')]));
    expect(await batch.done).toEqual({ done: 0, dead: 1, dropped: 0 });
    expect(settledAtCalls).toEqual([false, false, false]);
    expect(crm.log).toEqual(['bad-1 http_400']);
  });

  it('dropPartition resolves the batch with what it dropped; outcomes that arrive later for those items change nothing', async () => {
    const held = gate();
    const crm = new ScriptedDestination('webhook:crm', (item) => (item.eventId === 'p0-1' ? held.opened.then(() => 'ok' as const) : 'ok'));
    const queue = new OutboxQueue({ deadLetter: noDeadLetters });
    const errors = dispatch(queue, crm);

    const p0 = queue.add([record('p0-1', 'a'), record('p0-2', 'b')]);
    expect(await waitFor(() => crm.started.includes('p0-1'), 5_000, 5), 'waiting for p0-1 in flight').toBe(true);
    expect(queue.dropPartition('webhook:crm', 0)).toBe(2);
    expect(await p0).toEqual({ done: 0, dead: 0, dropped: 2 });
    expect(queue.depth()).toBe(0);

    const p1 = queue.add([record('p1-1', 'c', { partition: 1 })]);
    held.open(); // the worker now marks the forgotten p0 items done
    expect(await p1).toEqual({ done: 1, dead: 0, dropped: 0 });
    expect(crm.log).toEqual(['p0-1 ok', 'p0-2 ok', 'p1-1 ok']);
    expect(queue.depth()).toBe(0);
    expect(errors).toEqual([]); // the worker's markDone for them did not throw
  });

  it("gives each attempt a new child span of the outbox record's, as the spool does; untraced records stay untraced", async () => {
    const queue = new OutboxQueue({ deadLetter: noDeadLetters });
    const seen: { id: string; trace: DeliveryItem['trace'] }[] = [];
    const hook = new ScriptedDestination('webhook:crm', (item, attempt) => {
      seen.push({ id: item.eventId, trace: item.trace });
      return attempt === 1 ? new RetriableError('http_503', 'HTTP 503') : 'ok';
    });
    dispatch(queue, hook);
    const owners = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', parentId: null, flags: '01', tracestate: 'vendor=abc' };
    await queue.add([{ ...record('traced', 'm1'), trace: owners }, record('untraced', 'm2')]);

    const traced = seen.filter((s) => s.id === 'traced').map((s) => s.trace!);
    expect(traced).toHaveLength(2);
    for (const t of traced) expect(t).toMatchObject({ traceId: owners.traceId, parentId: owners.spanId, flags: '01', tracestate: 'vendor=abc' });
    expect(new Set([owners.spanId, ...traced.map((t) => t.spanId)]).size).toBe(3);
    expect(seen.filter((s) => s.id === 'untraced').map((s) => s.trace ?? null)).toEqual([null, null]);
  });

  it('does not let a failing destination hold up another', async () => {
    const down = new ScriptedDestination('webhook:down', () => new RetriableError('answered 503', 'http_503'));
    const crm = new ScriptedDestination('webhook:crm');
    const queue = new OutboxQueue({ deadLetter: noDeadLetters });
    dispatch(queue, down, crm);

    const stuck = track(queue.add([record('d-1', 'a', { destination: 'webhook:down' })]));
    expect(await waitFor(() => down.started.length >= 2, 5_000, 5), 'waiting for a retry to webhook:down').toBe(true);
    expect(await queue.add([record('c-1', 'a'), record('c-2', 'b')])).toEqual({ done: 2, dead: 0, dropped: 0 });
    expect(stuck.result).toBeNull();
    expect(queue.depth('webhook:down')).toBe(1);
    expect(queue.pendingDestinations()).toEqual(['webhook:down']);
  });

  it('finishes 10,000 items in one batch, four reports per message, in order per message', async () => {
    // Every thousandth item fails once, so some messages wait for a retry amid the backlog.
    const crm = new ScriptedDestination('webhook:crm', (item, attempt) => (Number(item.eventId.slice(2)) % 1000 === 0 && attempt === 1 ? new RetriableError('503', 'http_503') : 'ok'), 100);
    const queue = new OutboxQueue({ deadLetter: noDeadLetters });
    dispatch(queue, crm);

    const items = Array.from({ length: 10_000 }, (_, i) => record(`e-${i}`, `m-${i % 2_500}`));
    expect(await queue.add(items)).toEqual({ done: 10_000, dead: 0, dropped: 0 });
    const delivered = crm.log.filter((l) => l.endsWith(' ok')).map((l) => Number(l.slice(2, -3)));
    expect(delivered).toHaveLength(10_000);
    // Message m's reports are m, m + 2500, m + 5000, m + 7500: each must go after the one before.
    const position = new Map(delivered.map((i, n) => [i, n]));
    const outOfOrder = delivered.filter((i) => i >= 2_500 && position.get(i - 2_500)! > position.get(i)!);
    expect(outOfOrder).toEqual([]);
  }, 30_000);
});

describe('OutboxQueue without a dispatcher', () => {
  it("hands out due items oldest first, never one behind an earlier report of its message that waits; nextDueAt says when", () => {
    let now = 1_000;
    const queue = new OutboxQueue({ deadLetter: noDeadLetters, now: () => now });
    void queue.add([record('a-1', 'a'), record('a-2', 'a'), record('b-1', 'b'), record('a-3', 'a')]);
    const due = () => queue.due('webhook:crm', 10).map((d) => d.eventId);
    const idOf = (eventId: string) => queue.due('webhook:crm', 10).find((d) => d.eventId === eventId)!.id;

    expect(due()).toEqual(['a-1', 'a-2', 'b-1', 'a-3']);
    expect(queue.due('webhook:crm', 2).map((d) => d.eventId)).toEqual(['a-1', 'a-2']);
    const [a1, a2] = [idOf('a-1'), idOf('a-2')];
    queue.markRetry(a1, 3_000, 'http_503', 'answered 503');
    queue.markRetry(a2, 2_000, 'http_503', 'answered 503');
    expect(due()).toEqual(['b-1']);
    queue.markDone([idOf('b-1')]);
    expect(due()).toEqual([]);
    // a-2 falls due first, but nothing can go before a-1 does.
    expect(queue.nextDueAt('webhook:crm')).toBe(3_000);
    now = 2_500;
    expect(due()).toEqual([]);
    now = 3_000;
    expect(due()).toEqual(['a-1', 'a-2', 'a-3']);
    expect(queue.due('webhook:crm', 10)[0]!.attempts).toBe(1);
    expect(queue.nextDueAt('webhook:crm')).toBe(3_000);
    expect(queue.nextDueAt('webhook:other')).toBeNull();
  });

  it('reports depth and the oldest firstAt per destination; outcomes for dropped items are no-ops', async () => {
    const letters: string[] = [];
    const queue = new OutboxQueue({ deadLetter: async (d) => void letters.push(d.eventId) });
    const p0 = queue.add([record('a-1', 'a', { firstAt: 500 }), record('b-1', 'b', { firstAt: 200 })]);
    void queue.add([record('c-1', 'c', { partition: 1, firstAt: 300 }), record('h-1', 'h', { destination: 'webhook:hr', firstAt: 100 })]);
    expect([queue.depth(), queue.depth('webhook:crm'), queue.depth('webhook:hr')]).toEqual([4, 3, 1]);
    expect(queue.oldestFirstAt('webhook:crm')).toBe(200);
    expect(queue.pendingDestinations()).toEqual(['webhook:crm', 'webhook:hr']);

    const [a1, b1] = queue.due('webhook:crm', 2).map((d) => d.id);
    expect(queue.dropPartition('webhook:crm', 0)).toBe(2);
    expect(await p0).toEqual({ done: 0, dead: 0, dropped: 2 });
    queue.markRetry(a1!, 0, 'http_503', 'late');
    queue.markDead(b1!, 'http_400', 'late');
    queue.markDone([a1!, b1!]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(letters).toEqual([]);
    expect(queue.due('webhook:crm', 10).map((d) => d.eventId)).toEqual(['c-1']);
    expect(queue.oldestFirstAt('webhook:crm')).toBe(300);
    expect(queue.dropPartition('webhook:crm', 0)).toBe(0);
  });

  it('keeps disabled destinations in memory and tells listeners which destinations got work', () => {
    const queue = new OutboxQueue({ deadLetter: noDeadLetters, now: () => 7 });
    const told: string[][] = [];
    const off = queue.onCommit((dests) => told.push([...dests]));
    void queue.add([record('a-1', 'a'), record('h-1', 'h', { destination: 'webhook:hr' })]);
    off();
    void queue.add([record('a-2', 'a')]);
    expect(told).toEqual([['webhook:crm', 'webhook:hr']]);

    queue.disableDestination('webhook:hr', 'answered 410');
    expect([...queue.disabledDestinations()]).toEqual([['webhook:hr', { disabledAt: 7, reason: 'answered 410' }]]);
  });
});

describe('OutboxQueue with a rate-limited webhook (cluster mode)', () => {
  it("the outbox's dispatcher keeps the webhook's rate limit: a batch of 8 at 40/s, burst 2, takes at least 150 ms", async () => {
    const crm = new ScriptedDestination('webhook:crm');
    const queue = new OutboxQueue({ deadLetter: noDeadLetters });
    // As WebhookOutbox gets it: the DestinationSet createDestinations builds, rate limits included.
    const dispatcher = new Dispatcher({
      queue,
      destinations: { destinations: new Map([[crm.ref, crm]]), policies: new Map([[crm.ref, FAST_RETRY]]), rateLimits: new Map([[crm.ref, { perSecond: 40, burst: 2 }]]) },
      logger: createLogger('error', () => true),
      metrics: new Metrics(),
      pollMs: 20,
    });
    dispatcher.start();
    stops.push(() => dispatcher.stop(0));
    const started = performance.now();
    const result = await queue.add(Array.from({ length: 8 }, (_, i) => record(`rl-${i}`, `k-${i}`)));
    expect(result).toEqual({ done: 8, dead: 0, dropped: 0 });
    // (8 - burst) / 40 per second = 150 ms at the least.
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
  });
});
