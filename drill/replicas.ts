/**
 * Router replicas for drills: each `node --import tsx src/server.ts` in its own process, port and
 * data dir, its output in a file (shown when something goes wrong), killed for real (SIGKILL).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { sleep } from '../src/sleep.js';

export const ROOT = join(import.meta.dirname, '..');

export interface Replica {
  /** 1-based, as the drill's output names them. */
  n: number;
  url: string;
  logPath: string;
  proc: ChildProcess;
  /** Resolves with the exit code or signal name. */
  exited: Promise<number | string>;
  /** False once the process has exited (or the drill killed it). */
  alive(): boolean;
}

/** A free TCP port on 127.0.0.1 (the OS picks it; it is free until someone else takes it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * Spawns replica `n` with `env` on top of the drill's own environment; its stdout and stderr go
 * to `<dir>/replica-<n>.log`. Does not wait for it: see waitReady.
 * @example const r = await spawnReplica(1, dir, { ROUTES_CONFIG: config, KAFKA_BROKERS: brokers });
 */
export async function spawnReplica(n: number, dir: string, env: Record<string, string>): Promise<Replica> {
  const port = await freePort();
  const logPath = join(dir, `replica-${n}.log`);
  const fd = openSync(logPath, 'a');
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/server.ts')], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: join(dir, `replica-${n}`), ...env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd); // the child holds its own copy
  let running = true;
  const exited = new Promise<number | string>((resolve) =>
    proc.on('exit', (code, signal) => {
      running = false;
      resolve(signal ?? code ?? -1);
    }),
  );
  return { n, url: `http://127.0.0.1:${port}`, logPath, proc, exited, alive: () => running };
}

/** Polls GET /readyz until it answers 200; throws on exit or timeout (its output is in its log). */
export async function waitReady(r: Replica, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (!r.alive()) throw new Error(`replica ${r.n} exited during start-up (${String(await r.exited)})`);
    try {
      const res = await fetch(`${r.url}/readyz`, { signal: AbortSignal.timeout(2_000) });
      await res.body?.cancel();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`replica ${r.n} not ready within ${timeoutMs} ms`);
    await sleep(250);
  }
}

/** SIGKILL: a crash, nothing flushed, nothing closed. Resolves once the process is gone. */
export async function killReplica(r: Replica): Promise<void> {
  if (r.alive()) r.proc.kill('SIGKILL');
  await r.exited;
}

/** SIGTERM (the router's own orderly shutdown), SIGKILL after `graceMs`. */
export async function stopReplica(r: Replica, graceMs = 10_000): Promise<void> {
  if (!r.alive()) return;
  r.proc.kill('SIGTERM');
  const timer = setTimeout(() => r.proc.kill('SIGKILL'), graceMs);
  await r.exited;
  clearTimeout(timer);
}

/** The last `lines` lines of a replica's output, indented, for error messages. */
export function logTail(r: Replica, lines = 30): string {
  let text = '';
  try {
    text = readFileSync(r.logPath, 'utf8');
  } catch {
    return `  (no output at ${r.logPath})`;
  }
  return text
    .trimEnd()
    .split('\n')
    .slice(-lines)
    .map((l) => `  replica ${r.n} | ${l}`)
    .join('\n');
}

/** Counters the drill reports per replica (summed over labels), as /metrics names them. */
const FIGURES = [
  'cluster_intake_records_total',
  'cluster_intake_fallbacks_total',
  'cluster_fallback_depth',
  'cluster_rebalances_total',
  'cluster_partitions_assigned',
  'cluster_events_routed_total',
  'callbacks_duplicate_total',
  'callbacks_stale_total',
  'callbacks_accepted_total',
];

/**
 * A replica's own account from GET /metrics: e.g. `cluster_intake_fallbacks_total 2, ...`, or why
 * it could not be read. Names it does not export are left out.
 * @example o.print(`replica 1: ${await figures(replica)}`);
 */
export async function figures(r: Replica): Promise<string> {
  if (!r.alive()) return `exited (${String(await r.exited)})`;
  let text: string;
  try {
    text = await (await fetch(`${r.url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  } catch (e) {
    return `/metrics did not answer (${e instanceof Error ? e.message : String(e)})`;
  }
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^kcr_([a-z_]+)(?:\{[^}]*\})? ([-\d.e+]+)$/.exec(line);
    if (m && FIGURES.includes(m[1]!)) sums.set(m[1]!, (sums.get(m[1]!) ?? 0) + Number(m[2]));
  }
  return FIGURES.filter((f) => sums.has(f)).map((f) => `${f} ${sums.get(f)}`).join(', ') || 'none of the drill figures exported';
}
