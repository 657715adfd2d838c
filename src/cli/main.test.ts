/**
 * `kcr` run as an operator runs it, a child process through its real entry: help that needs no
 * spool, arguments refused by exit code, a dead letter replayed, and a refused payload listed,
 * then re-ingested once the config is fixed.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { compileRoutes } from '../route/compile.js';
import { matchRoutes } from '../route/match.js';
import { Spool } from '../spool/spool.js';
import { eventFrom } from '../testing/events.js';
import { postSample } from '../testing/samples.js';
import { COMMANDS } from './commands/index.js';

const ROOT = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kcr-cli-'));
  dirs.push(dir);
  return dir;
}

/** `node --import tsx <entry> ...args` in the repository, with DATA_DIR and friends in `env`. */
async function kcr(args: string[], env: Record<string, string>, entry = 'src/cli/main.ts'): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', entry, ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'silent', ...env } });
    return { code: 0, out: stdout, err: stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout, err: err.stderr };
  }
}

/** Writes `body` as a routes.config.ts in `dir`, importing defineRoutes by absolute path. */
function writeConfig(dir: string, body: string): string {
  const path = join(dir, 'routes.config.ts');
  writeFileSync(path, `import { defineRoutes } from ${JSON.stringify(join(ROOT, 'src/route/define-routes.ts'))};\nexport default defineRoutes(${body});\n`);
  return path;
}

describe('kcr, through its entry', () => {
  // `kcr help <command>` takes the same path in process (run.test.ts); one child per command is enough here.
  it('prints each command\'s --help with no spool and no config', { timeout: 60_000 }, async () => {
    const dir = tempDir();
    const env = { DATA_DIR: dir, ROUTES_CONFIG: join(dir, 'missing.config.ts') };
    const runs = await Promise.all(COMMANDS.map((c) => [...c.name.split(' '), '--help']).map(async (args) => ({ args, ...(await kcr(args, env)) })));
    for (const r of runs) {
      expect(r, r.args.join(' ')).toMatchObject({ code: 0, err: '' });
      expect(r.out).toMatch(/^kcr \w+/);
    }
    expect(existsSync(join(dir, 'spool.db'))).toBe(false);
  });

  it('keeps src/cli.ts as an entry (npm run schema and older scripts call it)', { timeout: 30_000 }, async () => {
    const r = await kcr(['schema'], { DATA_DIR: tempDir() }, 'src/cli.ts');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ type: 'object' });
  });

  it('answers an unknown command with the overview and exit 2', { timeout: 30_000 }, async () => {
    const r = await kcr(['bogus'], { DATA_DIR: tempDir() });
    expect(r.code).toBe(2);
    expect(r.err).toContain('kcr: unknown command "bogus"');
    expect(r.out).toContain('rejected replay');
  });

  it('refuses `dead --since yesterday` and a `replay` that names nothing with exit 2, then replays a dead letter by --id', { timeout: 60_000 }, async () => {
    const dir = tempDir();
    const env = { DATA_DIR: dir };
    const [since, nothing] = await Promise.all([kcr(['dead', '--since', 'yesterday'], env), kcr(['replay'], env)]);
    expect(since.code).toBe(2);
    expect(since.err).toMatch(/--since: must be an ISO 8601 date-time/);
    expect(nothing.code).toBe(2);
    expect(nothing.err).toMatch(/name what to replay .* or pass --all/);

    const config = compileRoutes({ profiles: { default: {} }, kafka: { topics: { events: 'kaleyra.sms.events' } }, rules: [{ name: 'all', to: ['kafka:events'] }] }, 'cli test');
    const spool = new Spool({ path: join(dir, 'spool.db'), plan: (e) => matchRoutes(e, config.table) });
    let id: number;
    try {
      await spool.commits.accept(eventFrom(postSample()));
      id = spool.operations.listDeliveries('pending')[0]!.id;
      spool.queue.markDead(id, 'http_500', 'POST answered 500');
    } finally {
      spool.close();
    }
    const replayed = await kcr(['replay', '--id', String(id)], env);
    expect(replayed).toMatchObject({ code: 0, err: '' });
    expect(replayed.out).toMatch(/^1 delivery queued again/);
    const after = new Spool({ path: join(dir, 'spool.db') });
    try {
      expect(after.operations.listDeliveries(null)).toMatchObject([{ id, state: 'pending', attempts: 0 }]);
    } finally {
      after.close();
    }
  });
});

describe('kcr rejected', () => {
  it('lists a refused payload, then re-ingests it once the profile\'s field map is fixed', { timeout: 60_000 }, async () => {
    const dir = tempDir();
    const env = { DATA_DIR: dir };
    // What the router kept when the profile had no field map: a templated body with no top-level status.
    const body = JSON.stringify({ msgid: 'cli-1:2', req: 'req-cli', data: { st: 'Delivered', ts: '2022-04-05 08:55:50+00:00' } });
    const spool = new Spool({ path: join(dir, 'spool.db') });
    spool.rejected.record({ profile: 'templated', statusCode: 400, reason: 'status: is missing', contentType: 'application/json', body, method: 'POST', query: '' });
    spool.close();

    const listed = await kcr(['rejected', '--profile', 'templated'], env);
    expect(listed.code).toBe(0);
    expect(listed.out).toContain('400 POST profile=templated status: is missing');
    expect(listed.out).toContain('"msgid":"cli-1:2"');

    const refuses = await kcr(['rejected', 'replay'], env);
    expect(refuses.code).toBe(2);
    expect(refuses.err).toContain('name what to re-ingest');

    const fixed = writeConfig(
      dir,
      `{ profiles: { templated: { fieldMap: { message_id: 'msgid', id: 'req', status: 'data.st', status_time: 'data.ts' } } },
         kafka: { topics: { events: 'kaleyra.sms.events' } }, rules: [{ name: 'all', to: ['kafka:events'] }] }`,
    );
    const replayed = await kcr(['rejected', 'replay', '--profile', 'templated', '--config', fixed], env);
    expect(replayed.err).toBe('');
    expect(replayed.code).toBe(0);
    expect(replayed.out).toContain('1 of 1 accepted (0 as resends)');

    const after = new Spool({ path: join(dir, 'spool.db') });
    try {
      const [row] = after.rejected.list({ profile: 'templated' });
      expect(after.operations.event(row!.replayed_event_id!)).toMatchObject({ message_id: 'cli-1:2', message_index: 2, request_id: 'req-cli', status: 'Delivered' });
      expect(after.operations.listDeliveries('pending')).toMatchObject([{ destination: 'kafka:events', message_key: 'cli-1:2' }]);
    } finally {
      after.close();
    }
    // Done once: a second replay finds nothing left to take.
    expect((await kcr(['rejected', 'replay', '--profile', 'templated', '--config', fixed], env)).out).toContain('0 of 0 accepted');
  });
});
