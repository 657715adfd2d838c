/**
 * The two ways of offering load. Closed loop: N connections, each posting its next callback as
 * soon as the last one is answered (throughput at a concurrency). Open loop: callbacks due at a
 * fixed rate whatever the answers, each latency counted from when it was due, so a stalled server
 * shows in the percentiles instead of slowing the load (no coordinated omission).
 */
import { Connection, type Target } from './connection.js';
import { Histogram, type LatencySummary } from './histogram.js';

export interface LoadResult {
  mode: 'closed' | 'open';
  /** Seconds measured, after the warm-up. */
  seconds: number;
  /** Answers in the measured window, per second. */
  rps: number;
  offeredRps: number | null;
  connections: number;
  /** Answers by HTTP status, warm-up included; `error` counts failed connections. */
  statuses: Record<string, number>;
  /** Failed connections by error message. */
  errors: Record<string, number>;
  /** The load generator's own CPU over the run, in % of one core: near 100, it was the limit. */
  generatorCpuPct: number;
  latency: LatencySummary;
}

export interface LoadWindow {
  warmupS: number;
  durationS: number;
  /** Ends the run early (the outage phase stops the load when the backlog has drained). */
  stop: AbortSignal;
}

/** Counts answers and records the latency of those that fall in the measured window. */
class Tally {
  readonly histogram = new Histogram();
  readonly statuses: Record<string, number> = {};
  readonly errors: Record<string, number> = {};
  measuredFrom = Infinity;
  measuredUntil = Infinity;
  answered = 0;
  private readonly cpuAtStart = process.cpuUsage();
  private readonly startedAt = performance.now();

  settle(status: number | Error, startedAt: number): void {
    const key = status instanceof Error ? 'error' : status;
    this.statuses[key] = (this.statuses[key] ?? 0) + 1;
    if (status instanceof Error) this.errors[status.message] = (this.errors[status.message] ?? 0) + 1;
    const now = performance.now();
    if (now >= this.measuredFrom && now <= this.measuredUntil) this.answered++;
    if (startedAt >= this.measuredFrom && startedAt <= this.measuredUntil) this.histogram.record(now - startedAt);
  }

  result(mode: LoadResult['mode'], seconds: number, offeredRps: number | null, connections: number): LoadResult {
    const cpu = process.cpuUsage(this.cpuAtStart);
    const generatorCpuPct = Math.round(((cpu.user + cpu.system) / 1000 / (performance.now() - this.startedAt)) * 100);
    return { mode, seconds, rps: Math.round(this.answered / seconds), offeredRps, connections, statuses: this.statuses, errors: this.errors, generatorCpuPct, latency: this.histogram.summary() };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends one body on `conn` (a new one if it broke) and tallies the answer. */
async function send(target: Target, conn: Connection, body: string, startedAt: number, tally: Tally): Promise<Connection> {
  try {
    tally.settle(await conn.post(body), startedAt);
  } catch (err) {
    tally.settle(err instanceof Error ? err : new Error(String(err)), startedAt);
  }
  if (conn.usable) return conn;
  conn.close();
  return new Connection(target);
}

/** Measured window [from, until], cut short by the stop signal; returns the seconds measured. */
function window(tally: Tally, w: LoadWindow): { ends: Promise<void>; seconds: () => number } {
  const start = performance.now();
  tally.measuredFrom = start + w.warmupS * 1000;
  tally.measuredUntil = tally.measuredFrom + w.durationS * 1000;
  const ends = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, tally.measuredUntil - start);
    w.stop.addEventListener('abort', () => {
      clearTimeout(timer);
      tally.measuredUntil = Math.min(tally.measuredUntil, performance.now());
      resolve();
    });
  });
  return { ends, seconds: () => Math.max(0.001, (tally.measuredUntil - tally.measuredFrom) / 1000) };
}

/**
 * N connections posting back to back for warm-up + duration seconds.
 * @example await closedLoop({ port, path: '/callbacks/default' }, nextBody, 64, { warmupS: 1, durationS: 5, stop })
 */
export async function closedLoop(target: Target, next: () => string, connections: number, w: LoadWindow): Promise<LoadResult> {
  const tally = new Tally();
  const { ends, seconds } = window(tally, w);
  let done = false;
  void ends.then(() => (done = true));
  await Promise.all(
    Array.from({ length: connections }, async () => {
      let conn = new Connection(target);
      while (!done) conn = await send(target, conn, next(), performance.now(), tally);
      conn.close();
    }),
  );
  return tally.result('closed', seconds(), null, connections);
}

/** The oldest idle connection still open; those the server closed are dropped. */
function takeIdle(idle: Connection[]): Connection | undefined {
  for (let conn = idle.shift(); conn; conn = idle.shift()) {
    if (conn.usable) return conn;
    conn.close();
  }
  return undefined;
}

/**
 * Callbacks due at `rps` per second for warm-up + duration seconds, on up to `maxConnections`
 * connections; a callback due when all are busy waits for one, and its wait counts.
 * @example await openLoop(target, nextBody, 5000, 256, { warmupS: 1, durationS: 10, stop })
 */
export async function openLoop(target: Target, next: () => string, rps: number, maxConnections: number, w: LoadWindow): Promise<LoadResult> {
  const tally = new Tally();
  const { ends, seconds } = window(tally, w);
  const idle: Connection[] = [];
  const due: number[] = [];
  let peak = 0;
  let inFlight = 0;
  const dispatch = (conn: Connection) => {
    const startedAt = due.shift()!;
    inFlight++;
    void send(target, conn, next(), startedAt, tally).then((c) => {
      inFlight--;
      if (due.length) dispatch(c);
      else idle.push(c);
    });
  };
  const start = performance.now();
  let issued = 0;
  let done = false;
  void ends.then(() => (done = true));
  while (!done) {
    const now = performance.now();
    for (; issued < ((now - start) / 1000) * rps; issued++) due.push(start + (issued * 1000) / rps);
    while (due.length) {
      // Oldest idle first: each connection is reused often enough that the server's keep-alive
      // timeout never closes it under our feet.
      const conn = takeIdle(idle) ?? (inFlight + idle.length < maxConnections ? new Connection(target) : null);
      if (!conn) break;
      dispatch(conn);
      peak = Math.max(peak, inFlight + idle.length);
    }
    await sleep(1);
  }
  due.length = 0;
  for (let i = 0; inFlight > 0 && i < 10_000; i++) await sleep(1);
  for (const c of idle) c.close();
  return tally.result('open', seconds(), rps, peak);
}
