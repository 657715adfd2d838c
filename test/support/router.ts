/** Starts the real router for integration tests: in-process, or as a child process to kill. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, type Logger } from '../../src/log.js';
import { compileRoutes } from '../../src/route/compile.js';
import type { RoutesConfig } from '../../src/route/define-routes.js';
import { startRouter, type RunningRouter } from '../../src/router.js';
import { loadSettings } from '../../src/settings.js';
import { sleep } from './kafka.js';

export const ROOT = join(import.meta.dirname, '..', '..');

export function tempDir(prefix = 'kcr-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Fast retries so tests see several attempts in well under a second. */
export const FAST_RETRY = { initialDelayMs: 20, maxDelayMs: 200, maxAttempts: 6 };

export async function startTestRouter(
  config: RoutesConfig,
  opts: { dataDir: string; env?: Record<string, string>; logger?: Logger },
): Promise<RunningRouter> {
  const settings = loadSettings({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: opts.dataDir,
    KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '',
    DISPATCH_POLL_MS: '50',
    KAFKA_REQUEST_TIMEOUT_MS: '5000',
    SHUTDOWN_TIMEOUT_MS: '5000',
    ...opts.env,
  });
  return startRouter({ config: compileRoutes(config, 'test config'), settings, logger: opts.logger ?? silentLogger });
}

export interface ChildRouter {
  port: number;
  url: string;
  proc: ChildProcess;
  output: () => string;
  /** Resolves with the exit code or signal. */
  exited: Promise<number | string>;
}

/** Writes `source` as a routes.config.ts in `dir` (importing defineRoutes by absolute path). */
export function writeConfig(dir: string, body: string): string {
  const path = join(dir, 'routes.config.ts');
  writeFileSync(path, `import { defineRoutes } from ${JSON.stringify(join(ROOT, 'src/route/define-routes.ts'))};\nexport default defineRoutes(${body});\n`);
  return path;
}

/** Runs `node --import tsx src/server.ts --config <path>` and waits until /healthz answers. */
export async function spawnRouter(configPath: string, env: Record<string, string>, port: number): Promise<ChildRouter> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/server.ts'), '--config', configPath], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, signal) => resolve(signal ?? code ?? -1)));
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`router exited at start-up:\n${out}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`router did not start within 30 s:\n${out}`);
    await sleep(100);
  }
  return { port, url, proc, output: () => out, exited };
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** The provider's own samples (from the reference page), shared with the unit tests. */
export { GET_SAMPLE_QUERY, postSample } from '../../src/testing/samples.js';

export async function postCallback(url: string, body: Record<string, unknown>, profile = 'default'): Promise<Response> {
  return fetch(`${url}/callbacks/${profile}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}
