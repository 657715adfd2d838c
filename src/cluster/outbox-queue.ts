/**
 * Cluster mode's in-memory delivery queue: the webhook outbox consumer hands it each fetched batch of
 * a partition and commits the offset once the batch is finished (delivered, or dead letter written).
 * The Dispatcher works from it as from the spool, same order rules; the uncommitted offsets are the durable copy.
 */
import type { DeliveryQueue, QueuedDelivery } from '../dispatch/queue.js';
import type { DeliveryItem } from '../destinations/types.js';
import { WorkNotifier, type WorkListener } from '../spool/types.js';
import { childContext } from '../trace/context.js';

/** One webhook delivery read from the outbox topic. */
export interface OutboxDelivery extends DeliveryItem {
  destination: string; // the ref: `webhook:<name>`
  partition: number;
  offset: string; // the record's, as kafkajs gives it
  firstAt: number; // when the event was accepted (ms epoch): the retry policy's maxAgeMs counts from here
}

/** An outbox delivery as the queue holds it: what the dead letter can say of it. */
export type QueuedOutboxDelivery = OutboxDelivery & QueuedDelivery;

/** What became of a batch handed to `add`; `dropped`: its partition was revoked, the new owner delivers them. */
export interface BatchResult { done: number; dead: number; dropped: number }

export interface OutboxQueueOptions {
  /** Writes one dead letter; the item is finished when it resolves, and retried while it rejects. */
  deadLetter: (d: QueuedOutboxDelivery, code: string, error: string) => Promise<void>;
  now?: () => number;
  deadLetterRetryMs?: number; // before writing a dead letter again after it failed
}

type Batch = BatchResult & { remaining: number; resolve: (r: BatchResult) => void };

/**
 * `dying`: its dead letter is being written; `gone`: finished or dropped. `prev`/`next` chain the
 * pending reports of one message for one destination, oldest first. Only the first of a chain sits
 * in a heap (ready: due; waiting: for a retry): the others go only with (after) it, in one batch.
 */
interface Entry {
  d: QueuedOutboxDelivery;
  state: 'pending' | 'dying' | 'gone';
  nextAt: number;
  last: { code: string; error: string } | null;
  batch: Batch;
  lane: Lane;
  prev: Entry | null;
  next: Entry | null;
  token: number; // bumped on every move: a heap node with an older one is stale, skipped (lazy deletion)
}

type Node = { key: number; token: number; e: Entry };

/** One destination's work; `tails`: message_key -> the newest pending report of it. */
interface Lane {
  ready: MinHeap; // by id: oldest first
  waiting: MinHeap; // by due time
  tails: Map<string, Entry>;
  partitions: Map<number, Set<Entry>>;
}

/** A binary min-heap of nodes by key; `peek` drops stale nodes on its way to the smallest current one. */
class MinHeap {
  private readonly a: Node[] = [];

  push(n: Node): void {
    let i = this.a.push(n) - 1;
    for (let p = (i - 1) >> 1; i > 0 && this.a[p]!.key > n.key; i = p, p = (i - 1) >> 1) this.a[i] = this.a[p]!;
    this.a[i] = n;
  }

  peek(): Node | undefined {
    while (this.a.length > 0 && this.a[0]!.token !== this.a[0]!.e.token) this.pop();
    return this.a[0];
  }

  pop(): Node | undefined {
    const [a, top, last] = [this.a, this.a[0], this.a.pop()];
    if (a.length === 0 || !last) return top;
    let i = 0;
    for (let c = 1; c < a.length; i = c, c = 2 * i + 1) {
      if (c + 1 < a.length && a[c + 1]!.key < a[c]!.key) c++;
      if (a[c]!.key >= last.key) break;
      a[i] = a[c]!;
    }
    a[i] = last;
    return top;
  }
}

/**
 * @example
 * const queue = new OutboxQueue({ deadLetter: (d, code, error) => produceDeadLetter(d, code, error) });
 * const dispatcher = new Dispatcher({ queue, destinations, logger, metrics });
 * const result = await queue.add(deliveries); // then commit the partition's offset
 */
export class OutboxQueue implements DeliveryQueue {
  private readonly entries = new Map<number, Entry>();
  private readonly lanes = new Map<string, Lane>();
  private readonly disabled = new Map<string, { disabledAt: number; reason: string }>();
  private readonly notifier = new WorkNotifier();
  private readonly now: () => number;
  private lastId = 0;

  constructor(private readonly opts: OutboxQueueOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Queues a fetched batch; resolves once every item of it is finished. */
  add(items: readonly OutboxDelivery[]): Promise<BatchResult> {
    return new Promise((resolve) => {
      const batch: Batch = { done: 0, dead: 0, dropped: 0, remaining: items.length, resolve };
      if (items.length === 0) return resolve({ done: 0, dead: 0, dropped: 0 });
      for (const item of items) {
        const lane = this.lane(item.destination);
        const e: Entry = { d: { ...item, id: ++this.lastId, attempts: 0 }, state: 'pending', nextAt: this.now(), last: null, batch, lane, prev: null, next: null, token: 0 };
        this.entries.set(e.d.id, e);
        const tail = lane.tails.get(item.messageKey);
        if (tail) [tail.next, e.prev] = [e, tail];
        else lane.ready.push({ key: e.d.id, token: e.token, e });
        lane.tails.set(item.messageKey, e);
        if (!lane.partitions.has(item.partition)) lane.partitions.set(item.partition, new Set());
        lane.partitions.get(item.partition)!.add(e);
      }
      this.notifier.notify(new Set(items.map((i) => i.destination)));
    });
  }

  /**
   * Due deliveries, as the spool's queue hands them out: each carries a new child span of the
   * outbox record's (`trace`), this attempt's, passed on in the webhook request's headers.
   */
  due(destination: string, limit: number): QueuedDelivery[] {
    return this.take(destination, limit).map((e) => (e.d.trace ? { ...e.d, trace: childContext(e.d.trace) } : e.d));
  }

  private take(destination: string, limit: number): Entry[] {
    const lane = this.lanes.get(destination);
    if (!lane) return [];
    const now = this.now();
    for (let n = lane.waiting.peek(); n && n.key <= now; n = lane.waiting.peek()) {
      lane.waiting.pop();
      lane.ready.push({ key: n.e.d.id, token: ++n.e.token, e: n.e });
    }
    // Takes in id order from the first reports and, once one is taken, the report after it if due.
    const [taken, heads, after] = [[] as Entry[], [] as Node[], new MinHeap()];
    while (taken.length < limit) {
      const [h, x] = [lane.ready.peek(), after.peek()];
      const n = h && (!x || h.key < x.key) ? lane.ready.pop()! : after.pop();
      if (!n) break;
      if (n === h) heads.push(n);
      taken.push(n.e);
      const next = n.e.next;
      if (next && next.nextAt <= now) after.push({ key: next.d.id, token: next.token, e: next });
    }
    for (const n of heads) lane.ready.push(n); // `due` hands out, it does not take away
    return taken;
  }

  /** When the next delivery can go: now, or when a message's first report falls due (not a later one: the worker would spin). */
  nextDueAt(destination: string): number | null {
    if (this.take(destination, 1).length > 0) return this.now();
    return this.lanes.get(destination)?.waiting.peek()?.key ?? null;
  }

  markDone(ids: readonly number[]): void {
    for (const e of ids.map((id) => this.entries.get(id))) if (e && e.state !== 'dying') this.finish(e, 'done');
  }

  markRetry(id: number, at: number, code: string, error: string): void {
    const e = this.entries.get(id);
    if (!e || e.state === 'dying') return;
    [e.nextAt, e.last, e.d.attempts] = [at, { code, error: error.slice(0, 2000) }, e.d.attempts + 1];
    if (!e.prev) e.lane.waiting.push({ key: at, token: ++e.token, e }); // a later report waits in no heap till it is first
  }

  markDead(id: number, code: string, error: string): void {
    const e = this.entries.get(id);
    if (!e || e.state === 'dying') return;
    // Out of `due` and out of its message's chain: a dead report holds up no later one (as in the spool).
    this.unlink(e);
    [e.state, e.last, e.d.attempts] = ['dying', { code, error: error.slice(0, 2000) }, e.d.attempts + 1];
    this.writeDeadLetter(e, code, error);
  }

  /** The partition was revoked: forgets its items (in flight or not); returns how many. */
  dropPartition(destination: string, partition: number): number {
    const items = [...(this.lanes.get(destination)?.partitions.get(partition) ?? [])];
    for (const e of items) this.finish(e, 'dropped');
    return items.length;
  }

  /** Items not finished yet (pending, retrying, or their dead letter being written). */
  depth(destination?: string): number {
    if (destination === undefined) return this.entries.size;
    return [...(this.lanes.get(destination)?.partitions.values() ?? [])].reduce((n, items) => n + items.size, 0);
  }

  /** The oldest firstAt among the destination's unfinished items, or null. A scan: for /metrics only. */
  oldestFirstAt(destination: string): number | null {
    const firstAts = [...(this.lanes.get(destination)?.partitions.values() ?? [])].flatMap((items) => [...items].map((e) => e.d.firstAt));
    return firstAts.reduce<number | null>((oldest, t) => (oldest === null || t < oldest ? t : oldest), null);
  }

  pendingDestinations(): string[] {
    return [...this.lanes].filter(([, lane]) => lane.partitions.size > 0).map(([d]) => d);
  }

  disabledDestinations(): ReadonlyMap<string, { disabledAt: number; reason: string }> {
    return this.disabled;
  }

  disableDestination(destination: string, reason: string): void {
    this.disabled.set(destination, { disabledAt: this.now(), reason });
  }

  onCommit(listener: WorkListener): () => void {
    return this.notifier.on(listener);
  }

  private lane(destination: string): Lane {
    if (!this.lanes.has(destination)) this.lanes.set(destination, { ready: new MinHeap(), waiting: new MinHeap(), tails: new Map(), partitions: new Map() });
    return this.lanes.get(destination)!;
  }

  /** Takes the entry out of its message's chain (and its heap, by the token). */
  private unlink(e: Entry): void {
    const tails = e.lane.tails;
    if (e.next) e.next.prev = e.prev;
    if (e.prev) e.prev.next = e.next;
    else if (e.next) e.lane.waiting.push({ key: e.next.nextAt, token: ++e.next.token, e: e.next }); // now its message's first
    if (tails.get(e.d.messageKey) === e) void (e.prev ? tails.set(e.d.messageKey, e.prev) : tails.delete(e.d.messageKey));
    e.prev = e.next = null;
    e.token++;
  }

  private finish(e: Entry, outcome: keyof BatchResult): void {
    if (e.state === 'gone') return;
    if (e.state !== 'dying') this.unlink(e);
    e.state = 'gone';
    this.entries.delete(e.d.id);
    const inPartition = e.lane.partitions.get(e.d.partition)!;
    if (inPartition.delete(e) && inPartition.size === 0) e.lane.partitions.delete(e.d.partition);
    const b = e.batch;
    b[outcome]++;
    if (--b.remaining === 0) b.resolve({ done: b.done, dead: b.dead, dropped: b.dropped });
  }

  /** Until it is written (or the item dropped): the offset must not pass an unwritten dead letter. */
  private writeDeadLetter(e: Entry, code: string, error: string): void {
    const again = () => e.state === 'dying' && this.writeDeadLetter(e, code, error);
    Promise.resolve()
      .then(() => this.opts.deadLetter(e.d, code, error))
      .then(() => e.state === 'dying' && this.finish(e, 'dead'), () => setTimeout(again, this.opts.deadLetterRetryMs ?? 1_000).unref());
  }
}
