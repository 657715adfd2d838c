/**
 * The image's build, laid out as the Dockerfile lays it out but in a temporary directory: the
 * router compiled by tsc (tsconfig.build.json) where its sources were, the event contract built
 * to its dist/, the repository's own routes.config.ts still TypeScript. Started with plain
 * `node src/server.js` (no tsx loader for the router), it takes the provider's sample and writes
 * it to its local sink, and a SIGHUP loads an edited config.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postSample } from '../src/testing/samples.js';
import { waitFor } from './support/kafka.js';
import { ROOT, tempDir } from './support/router.js';

const run = promisify(execFile);
const PACKAGE = '@kaleyra-callback-router/delivery-events';
const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** Builds what the image holds into `app/`: compiled src/, node_modules, the package's dist, the config. */
async function buildImageLayout(root: string): Promise<string> {
  const app = join(root, 'app');
  // As in the image: the workspace package under packages/, linked from node_modules.
  const pkg = join(app, 'packages', 'delivery-events');
  mkdirSync(join(app, 'node_modules', '@kaleyra-callback-router'), { recursive: true });
  // The event contract as `npm run build:events` makes it.
  await run(process.execPath, [tsc, '-p', join(ROOT, 'packages/delivery-events/tsconfig.json'), '--outDir', join(pkg, 'dist')]);
  copyFileSync(join(ROOT, 'packages/delivery-events/package.json'), join(pkg, 'package.json'));
  symlinkSync(pkg, join(app, 'node_modules', PACKAGE));
  // The router as `tsc -p tsconfig.build.json` compiles it, resolving the package to that dist/.
  const buildConfig = join(root, 'tsconfig.build.json');
  writeFileSync(
    buildConfig,
    JSON.stringify({
      extends: join(ROOT, 'tsconfig.build.json'),
      compilerOptions: { outDir: join(app, 'src'), typeRoots: [join(ROOT, 'node_modules/@types')], paths: { [PACKAGE]: [join(pkg, 'dist/index.d.ts')] } },
      include: [join(ROOT, 'src')],
      exclude: [join(ROOT, 'src/**/*.test.ts'), join(ROOT, 'src/**/*.test-d.ts'), join(ROOT, 'src/testing')],
    }),
  );
  await run(process.execPath, [tsc, '-p', buildConfig]);
  for (const dep of readdirSync(join(ROOT, 'node_modules'))) {
    if (dep !== '@kaleyra-callback-router' && dep !== '.bin') symlinkSync(join(ROOT, 'node_modules', dep), join(app, 'node_modules', dep));
  }
  copyFileSync(join(ROOT, 'package.json'), join(app, 'package.json'));
  copyFileSync(join(ROOT, 'routes.config.ts'), join(app, 'routes.config.ts'));
  return app;
}

describe('the compiled build (what the Docker image runs)', () => {
  const dir = tempDir('kcr-compiled-');
  let app: string;
  let proc: ChildProcess;
  let out = '';
  const port = 18_500 + Math.floor(Math.random() * 400);
  const url = `http://127.0.0.1:${port}`;

  beforeAll(async () => {
    app = await buildImageLayout(dir.path);
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
