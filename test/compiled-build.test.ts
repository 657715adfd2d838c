/**
 * The image's build, laid out as the Dockerfile lays it out but in a temporary directory: the
 * router compiled by tsc (tsconfig.build.json) where its sources were, the event contract built
 * to its dist/, the repository's own routes.config.ts still TypeScript. Started with plain
 * `node src/server.js` (no tsx loader for the router), it takes the provider's sample and writes
 * it to its local sink, and a SIGHUP loads an edited config.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImageLayout } from '../scripts/image-layout.js';
import { postSample } from '../src/testing/samples.js';
import { waitFor } from './support/kafka.js';
import { ROOT, tempDir } from './support/router.js';

describe('the compiled build (what the Docker image runs)', () => {
  const dir = tempDir('kcr-compiled-');
  let app: string;
  let proc: ChildProcess;
  let out = '';
  const port = 18_500 + Math.floor(Math.random() * 400);
  const url = `http://127.0.0.1:${port}`;

  beforeAll(async () => {
    app = await buildImageLayout(dir.path, ROOT);
    proc = spawn(process.execPath, ['src/server.js'], {
      cwd: app,
      env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: join(dir.path, 'data'), ROUTES_CONFIG: join(app, 'routes.config.ts'), LOG_LEVEL: 'info', NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const up = await waitFor(async () => proc.exitCode !== null || (await fetch(`${url}/healthz`).catch(() => null))?.ok === true, 30_000);
    if (!up || proc.exitCode !== null) throw new Error(`the compiled router did not start:\n${out}`);
  }, 120_000);

  afterAll(() => {
    proc?.kill('SIGKILL');
    dir.remove();
  });

  it('compiled every module to JavaScript, and runs it without a TypeScript loader', () => {
    expect(existsSync(join(app, 'src', 'server.js'))).toBe(true);
    expect(existsSync(join(app, 'src', 'route', 'define-routes.js'))).toBe(true);
    expect(readdirSync(join(app, 'src')).some((f) => f.endsWith('.ts'))).toBe(false);
    expect(proc.spawnargs.slice(1)).toEqual(['src/server.js']);
  });

  it('loads the TypeScript routes.config.ts and says which URL to give Kaleyra', () => {
    expect(out).toContain('give Kaleyra this callback URL');
    expect(out).toContain(`/callbacks/default`);
  });

  it('accepts the provider sample and writes it to the local sink', async () => {
    const res = await fetch(`${url}/callbacks/default`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(postSample()) });
    expect(res.status).toBe(200);
    const { event_id } = (await res.json()) as { event_id: string };
    const sink = join(dir.path, 'data', 'sink', 'kaleyra.sms.events.jsonl');
    expect(await waitFor(() => existsSync(sink) && readFileSync(sink, 'utf8').includes(event_id), 15_000), out).toBe(true);
  });

  it('reloads an edited routes.config.ts on SIGHUP', async () => {
    const config = join(app, 'routes.config.ts');
    writeFileSync(config, readFileSync(config, 'utf8').replace("events: 'kaleyra.sms.events'", "events: 'kaleyra.sms.reloaded'"));
    proc.kill('SIGHUP');
    expect(await waitFor(() => /config reloaded|routes reloaded/i.test(out), 20_000), out).toBe(true);
    const res = await fetch(`${url}/callbacks/default`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(postSample({ message_id: 'reloaded-1:1' })) });
    expect(res.status).toBe(200);
    const sink = join(dir.path, 'data', 'sink', 'kaleyra.sms.reloaded.jsonl');
    expect(await waitFor(() => existsSync(sink) && readFileSync(sink, 'utf8').includes('reloaded-1:1'), 15_000), out).toBe(true);
  });
});
