/** The processes a run starts: each target on its own free port, and the load generator. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onCleanup } from './cleanup.js';
import type { LoadResult } from './load/loops.js';

export const REPO = join(import.meta.dirname, '..');
const TSX = ['--import', 'tsx'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer().once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A free port on 127.0.0.1 in 20000..29999 (and its `companion`, e.g. a controller port, free too).
 * @example await freePort((p) => p + 100)
 */
export async function freePort(companion?: (port: number) => number): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 9_900);
    if ((await portFree(port)) && (!companion || (await portFree(companion(port))))) return port;
  }
  throw new Error('no free port found');
}

export interface Target {
  name: string;
  port: number;
  base: string;
  pid: number;
  /** SIGTERM, then SIGKILL after 15 s; resolves when it has exited. */
  stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

async function terminate(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited(child);
  clearTimeout(killer);
}

/**
 * Starts `node --import tsx <script>` from the repo (or, for an absolute `.js` path, plain
 * `node <script>` from its app directory `cwd`: the router as the image runs it, see
 * bench/shipped.ts) on a free port and waits until `ready` answers 200 (60 s at most). Its
 * stderr is kept in the bench's stderr for post-mortems.
 * @example await startTarget('ceiling', 'bench/targets/ceiling.ts', {}, '/healthz')
 */
export async function startTarget(name: string, script: string, env: Record<string, string>, ready: string, cwd: string = REPO): Promise<Target> {
  const port = await freePort();
  const args = script.endsWith('.js') ? [script] : [...TSX, join(REPO, script)];
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, KAFKA_BROKERS: '', ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'error' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const stop = onCleanup(() => terminate(child));
  const base = `http://127.0.0.1:${port}`;
  for (const until = Date.now() + 60_000; ; await sleep(200)) {
    if (child.exitCode !== null) throw new Error(`${name} exited during start-up (code ${child.exitCode})`);
    if (Date.now() > until) throw new Error(`${name} did not answer ${ready} within 60 s`);
    if (await fetch(base + ready).then((r) => r.ok, () => false)) break;
  }
  return { name, port, base, pid: child.pid!, stop };
}

/** The process's resident set, from /proc/<pid>/status (VmRSS), in MB; null once it is gone. */
export function rssMb(pid: number): number | null {
  try {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return kb ? Number(kb[1]) / 1024 : null;
  } catch {
    return null;
  }
}

export interface LoadOptions {
  port: number;
  prefix: string;
  mode: 'closed' | 'open';
  connections: number;
  rps?: number;
  warmupS: number;
  durationS: number;
}

export interface LoadRun {
  result: Promise<LoadResult>;
  /** Ends the load early; `result` then resolves with what was measured so far. */
  stop(): void;
}

/**
 * Runs bench/load.ts in its own process and parses the JSON it prints.
 * @example const { result } = generateLoad({ port, prefix, mode: 'closed', connections: 64, warmupS: 1, durationS: 5 })
 */
export function generateLoad(o: LoadOptions): LoadRun {
  const args = ['--port', o.port, '--prefix', o.prefix, '--mode', o.mode, '--connections', o.connections, '--warmup', o.warmupS, '--duration', o.durationS];
  if (o.rps) args.push('--rps', o.rps);
  const child = spawn(process.execPath, [...TSX, join(REPO, 'bench/load.ts'), ...args.map(String)], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
  const release = onCleanup(() => terminate(child));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  // 'close', not 'exit': the last of stdout may arrive after the exit.
  const closed = new Promise((r) => child.once('close', r));
  const result = closed.then(async () => {
    await release();
    if (child.exitCode !== 0) throw new Error(`the load generator failed (exit ${child.exitCode ?? child.signalCode})`);
    return JSON.parse(out) as LoadResult;
  });
  return { result, stop: () => child.kill('SIGTERM') };
}

/**
 * A new directory under the system's temp dir, deleted at clean-up.
 * @example DATA_DIR: tempDir('kcr-bench-router-')
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
