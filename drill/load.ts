/**
 * The drill's Kaleyra: POSTs callbacks to the replicas over keep-alive HTTP and, like Kaleyra,
 * retries a callback that was not answered 2xx (refused, reset, timed out, 5xx) on the next live
 * replica. Only a 2xx counts as accepted; its answer's event_id is what the checks look for.
 */
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { postSample } from '../src/testing/samples.js';
import { sleep } from '../src/sleep.js';

/** A replica as the load sees it (drill/replicas.ts's Replica is one). */
export interface Target {
  n: number;
  url: string;
  alive(): boolean;
}

export type Attempt = { ok: true; eventId: string } | { ok: false; reason: string; retriable: boolean };

/** What one load run saw besides its 2xx answers: failed attempts by reason, callbacks given up. */
export class LoadStats {
  readonly failures = new Map<string, number>();
  gaveUp = 0;
  retried = 0;

  fail(reason: string): void {
    this.failures.set(reason, (this.failures.get(reason) ?? 0) + 1);
  }

  /** e.g. `ECONNREFUSED 12, timeout 3`, or `none`. */
  describe(): string {
    const parts = [...this.failures].sort((a, b) => b[1] - a[1]).map(([r, n]) => `${r} ${n}`);
    return parts.length ? parts.join(', ') : 'none';
  }
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/**
 * One POST of a JSON callback to `<url>/callbacks/default`.
 * @example const a = await postOnce(replica.url, JSON.stringify(postSample()), 10_000);
 */
export function postOnce(url: string, body: string, timeoutMs: number): Promise<Attempt> {
  return new Promise((resolve) => {
    const req = request(`${url}/callbacks/default`, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    const timer = setTimeout(() => req.destroy(new Error('timeout')), timeoutMs);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e) => resolve({ ok: false, reason: errorName(e), retriable: true }));
      res.on('end', () => {
        clearTimeout(timer);
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299) {
          resolve({ ok: false, reason: `http ${status}`, retriable: status >= 500 || status === 408 || status === 429 });
          return;
        }
        const eventId = eventIdOf(Buffer.concat(chunks).toString('utf8'));
        if (eventId) resolve({ ok: true, eventId });
        else resolve({ ok: false, reason: 'no event_id in the 2xx answer', retriable: false });
      });
    });
    req.on('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, reason: errorName(e), retriable: true });
    });
    req.end(body);
  });
}

function eventIdOf(body: string): string | undefined {
  try {
    const id = (JSON.parse(body) as { event_id?: unknown }).event_id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

function errorName(e: Error): string {
  return (e as { code?: string }).code ?? e.message;
}

/** The live target after replica `n` (cyclic by number), or undefined when none is left. */
export function nextLive(targets: readonly Target[], n: number): Target | undefined {
  const sorted = [...targets].sort((a, b) => a.n - b.n);
  return [...sorted.filter((t) => t.n > n), ...sorted.filter((t) => t.n <= n)].find((t) => t.alive());
}

export interface Delivery {
  eventId: string;
  /** The replica that answered 2xx. */
  n: number;
  at: number;
}

export interface SendOptions {
  targets: readonly Target[];
  stats: LoadStats;
  /** Give up on a callback after this long (Kaleyra itself retries for longer). */
  giveUpMs: number;
  attemptTimeoutMs: number;
}

/**
 * Sends `body` to replica `first` (or the next live one) until one answers 2xx, moving on to the
 * next live replica after each failure. Null when it gives up or the answer is a 4xx.
 */
export async function deliver(body: string, first: number, o: SendOptions): Promise<Delivery | null> {
  const until = Date.now() + o.giveUpMs;
  let target = o.targets.find((t) => t.n === first && t.alive()) ?? nextLive(o.targets, first);
  for (let attempt = 0; target; attempt++) {
    if (attempt > 0) o.stats.retried++;
    const a = await postOnce(target.url, body, o.attemptTimeoutMs);
    if (a.ok) return { eventId: a.eventId, n: target.n, at: Date.now() };
    o.stats.fail(a.reason);
    if (!a.retriable || Date.now() > until) break;
    if (attempt % o.targets.length === o.targets.length - 1) await sleep(200); // every replica failed once: back off a little
    target = nextLive(o.targets, target.n);
  }
  o.stats.gaveUp++;
  return null;
}

/** A report of the provider's POST sample shape; `statusTime` is a Date, written as Kaleyra does. */
export function report(status: 'Delivered' | 'Sent', messageId: string, requestId: string, statusTime: Date): string {
  return JSON.stringify(
    postSample({
      message_id: messageId,
      id: requestId,
      status,
      status_trace: status === 'Delivered' ? 'DELIVRD' : '',
      description: status === 'Delivered' ? 'Delivered' : 'Sent to operator',
      sent_time: kaleyraTime(new Date(statusTime.getTime() - 5_000)),
      status_time: `${kaleyraTime(statusTime)}+00:00`,
    }),
  );
}

/** `2022-04-05 09:55:50`: Kaleyra's time format (UTC here). */
function kaleyraTime(d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

/** Fresh message ids (`<uuid>:1`) sharing a request id in batches of `batch`, like a send request. */
export function messageIds(batch = 10): () => { messageId: string; requestId: string } {
  let requestId = randomUUID();
  let i = 0;
  return () => {
    if (i++ % batch === 0) requestId = randomUUID();
    return { messageId: `${randomUUID()}:1`, requestId };
  };
}

export interface Accepted {
  status: 'Delivered' | 'Sent';
  messageId: string;
  /** The replica that answered 2xx, and when. */
  n: number;
  at: number;
}

/**
 * Throughput: `concurrency` senders post one Delivered report per fresh message, round-robin over
 * `targets`, for `durationMs`. Returns what was accepted (event id -> report).
 */
export async function loadFor(targets: readonly Target[], durationMs: number, concurrency: number, stats: LoadStats): Promise<Map<string, Accepted>> {
  const accepted = new Map<string, Accepted>();
  const ids = messageIds();
  const until = Date.now() + durationMs;
  const statusTime = new Date(Date.now() - 3_600_000);
  let next = 0;
  const sender = async () => {
    while (Date.now() < until) {
      const { messageId, requestId } = ids();
      const first = targets[next++ % targets.length]!.n;
      const d = await deliver(report('Delivered', messageId, requestId, statusTime), first, { targets, stats, giveUpMs: 10_000, attemptTimeoutMs: 10_000 });
      if (d) accepted.set(d.eventId, { status: 'Delivered', messageId, n: d.n, at: d.at });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, sender));
  return accepted;
}

export interface PairLoad {
  pairs: number;
  concurrency: number;
  /** Pair j starts no earlier than start + j * durationMs / pairs, so faults land mid-load. */
  durationMs: number;
  /** Called as pair j starts (0-based): the drill injects its faults from here. */
  onStart?: (j: number) => void;
}

/**
 * The fault-phase load: per message, `Delivered` (status_time T + 60 s) to replica j % 3 (or the
 * next live one) and, once that is answered 2xx, `Sent` (status_time T, so it is stale) to the
 * next live replica after the one that took the Delivered.
 */
export async function runPairs(targets: readonly Target[], p: PairLoad, stats: LoadStats): Promise<Map<string, Accepted>> {
  const accepted = new Map<string, Accepted>();
  const ids = messageIds();
  const t = new Date(Date.now() - 3_600_000);
  const later = new Date(t.getTime() + 60_000);
  const o = { targets, stats, giveUpMs: 45_000, attemptTimeoutMs: 10_000 };
  const t0 = Date.now();
  let next = 0;
  const sender = async () => {
    for (let j = next++; j < p.pairs; j = next++) {
      const wait = t0 + (j * p.durationMs) / p.pairs - Date.now();
      if (wait > 0) await sleep(wait);
      p.onStart?.(j);
      const { messageId, requestId } = ids();
      const first = targets[j % targets.length]!.n;
      const delivered = await deliver(report('Delivered', messageId, requestId, later), first, o);
      if (!delivered) continue;
      accepted.set(delivered.eventId, { status: 'Delivered', messageId, n: delivered.n, at: delivered.at });
      const after = nextLive(targets, delivered.n)?.n ?? delivered.n;
      const sent = await deliver(report('Sent', messageId, requestId, t), after, o);
      if (sent) accepted.set(sent.eventId, { status: 'Sent', messageId, n: sent.n, at: sent.at });
    }
  };
  await Promise.all(Array.from({ length: p.concurrency }, sender));
  return accepted;
}
