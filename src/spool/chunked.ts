/**
 * The machinery of a replay or a backfill that must not stall the router: the selection is
 * planned first (a read), then changed in chunks, each one short statement (one transaction),
 * keyed on the row id so no row is taken twice, with the dispatcher told after each chunk.
 */
import type { WorkNotifier } from './types.js';

/** How a replay or a backfill goes about it. */
export interface BulkOptions {
  /** Rows per transaction; default 500. */
  chunkSize?: number;
  /** Count what would be touched, per destination, and change nothing. */
  dryRun?: boolean;
  /** After each chunk: how many so far, of how many the selection had when it began. */
  onProgress?: (done: number, total: number) => void;
}

/** What a replay or a backfill did (with `dryRun`: would do). */
export interface BulkResult {
  /** Rows changed (dry run: that would be). */
  count: number;
  /** The selection's size when it began. */
  total: number;
  /** `count` by destination. */
  destinations: Record<string, number>;
  /** Transactions it took (0 for a dry run). */
  chunks: number;
  dryRun?: true;
}

/** A chunk is at most this many rows: a few milliseconds of the write lock. */
export const DEFAULT_CHUNK = 500;

export interface PlanRow {
  destination: string;
  n: number;
  last: number | null;
}

/** A row a chunk changed: its key (delivery id, or event seq for a backfill) and destination. */
export interface ChunkRow {
  key: number;
  destination: string;
}

/** What a replay or backfill will take: how many, per destination, up to which key, at most how many. */
export interface Plan {
  total: number;
  destinations: Record<string, number>;
  through: number;
  limit: number;
}

export type RowsFn = (after: number, through: number, chunk: number) => ChunkRow[];

/**
 * A plan from the per-destination counts of a selection (and the last key of each).
 * @example plan([{ destination: 'webhook:crm', n: 3, last: 41 }], undefined) // { total: 3, destinations: { 'webhook:crm': 3 }, through: 41, limit: Infinity }
 */
export function plan(rows: readonly PlanRow[], limit: number | undefined): Plan {
  const live = rows.filter((r) => r.n > 0);
  return {
    total: live.reduce((sum, r) => sum + r.n, 0),
    destinations: Object.fromEntries(live.map((r) => [r.destination, r.n])),
    through: Math.max(0, ...live.map((r) => r.last ?? 0)),
    limit: limit ?? Infinity,
  };
}

/**
 * The chunks of a replay or backfill, one transaction each (a single statement), keyed on the
 * row id so no row is taken twice; yields the running result after each, returns it at the end.
 * Each chunk tells the dispatcher its destinations at once, so delivery starts while the rest waits.
 * A chunk is a single statement: a process killed between chunks (Ctrl-C) leaves each one done or not.
 * @example for (const sofar of chunked(p, (after, through, n) => updateRows(after, through, n), 500, notifier)) report(sofar.count, p.total)
 */
export function* chunked(p: Plan, rows: RowsFn, size: number, notifier: WorkNotifier): Generator<BulkResult, BulkResult> {
  const result: BulkResult = { count: 0, total: p.total, destinations: {}, chunks: 0 };
  let after = 0;
  while (p.total > 0 && result.count < p.limit) {
    const got = rows(after, p.through, Math.max(1, Math.min(size, p.limit - result.count)));
    if (got.length === 0) break;
    result.chunks++;
    result.count += got.length;
    for (const r of got) {
      after = Math.max(after, r.key);
      result.destinations[r.destination] = (result.destinations[r.destination] ?? 0) + 1;
    }
    notifier.notify(got.map((r) => r.destination));
    yield result;
  }
  return result;
}

/**
 * Runs a generator to its end, without yielding the event loop.
 * @example drain(chunked(p, rows, 500, notifier)).count
 */
export function drain<T>(g: Generator<unknown, T>): T {
  for (;;) {
    const step = g.next();
    if (step.done) return step.value;
  }
}
