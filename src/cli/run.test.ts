import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compileRoutes } from '../route/compile.js';
import { matchRoutes } from '../route/match.js';
import { Spool } from '../spool/spool.js';
import { eventFrom } from '../testing/events.js';
import { postSample } from '../testing/samples.js';
import { cliSpelling, toInput } from './command.js';
import { COMMANDS } from './commands/index.js';
import { replay } from './commands/replay.js';
import { runCli } from './run.js';

const ROUTES = { profiles: { default: {} }, kafka: { topics: { events: 'kaleyra.sms.events', audit: 'kaleyra.sms.audit' } }, rules: [{ name: 'all', to: ['kafka:events'] }] } as const;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh DATA_DIR, and ROUTES_CONFIG naming a file that is not there (a command that loads it fails loudly). */
function dataDir(): { dir: string; env: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'kcr-run-'));
  dirs.push(dir);
  return { dir, env: { DATA_DIR: dir, ROUTES_CONFIG: join(dir, 'missing.config.ts') } };
}

/** Runs `kcr` in process with these arguments; collects what it prints. */
async function kcr(args: string[], env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (l) => void (out += `${l}\n`), err: (l) => void (err += `${l}\n`), env });
  return { code, out, err };
}

/** Stores one accepted report in DATA_DIR's spool and dead-letters (or delivers) its delivery; returns the delivery's id. */
async function withDeadLetter(dir: string, end: 'dead' | 'done' = 'dead'): Promise<number> {
  const config = compileRoutes(ROUTES, 'cli test');
  const spool = new Spool({ path: join(dir, 'spool.db'), plan: (e) => matchRoutes(e, config.table) });
  try {
    await spool.commits.accept(eventFrom(postSample()));
    const [d] = spool.operations.listDeliveries('pending');
    if (end === 'dead') spool.queue.markDead(d!.id, 'topic_not_found', 'produce failed');
    else spool.queue.markDone([d!.id]);
    return d!.id;
  } finally {
    spool.close();
  }
}

function readSpool<T>(dir: string, read: (s: Spool) => T): T {
  const spool = new Spool({ path: join(dir, 'spool.db') });
  try {
    return read(spool);
  } finally {
    spool.close();
  }
}

describe('kcr: finding the command', () => {
  it.each([[[]], [['help']], [['--help']], [['-h']]])('prints the overview of every command for %j, exit 0', async (args) => {
    const { out, code } = await kcr(args, dataDir().env);
    expect(code).toBe(0);
    for (const c of COMMANDS) expect(out).toMatch(new RegExp(`^  ${c.name}\\b.*${c.summary.slice(0, 20).replace(/[()]/g, '\\$&')}`, 'm'));
  });

  it.each([[['bogus']], [['help', 'bogus']], [['help', 'dead', 'extra']]])('answers an unknown command (%j) with the overview and exit 2', async (args) => {
    const r = await kcr(args, dataDir().env);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^kcr: unknown command/);
    expect(r.out).toContain('kcr <command> [options]');
  });

  it('prints every command\'s help, by --help and by kcr help, without opening the spool or loading the config', async () => {
    const { dir, env } = dataDir();
    for (const c of COMMANDS) {
      for (const args of [[...c.name.split(' '), '--help'], ['help', ...c.name.split(' ')], [...c.name.split(' '), '--since', 'yesterday', '-h']]) {
        const r = await kcr(args, env);
        expect(r, args.join(' ')).toMatchObject({ code: 0, err: '' });
        expect(r.out).toMatch(new RegExp(`^kcr ${c.name}\\b`));
        expect(r.out).toContain(c.summary);
        for (const o of c.options) expect(r.out).toContain(`--${o.flag}`);
      }
    }
    expect(existsSync(join(dir, 'spool.db'))).toBe(false);
  });
});

describe('kcr: arguments are checked by the operation\'s schema, named as options', () => {
  it.each<[string[], RegExp]>([
    [['dead', '--since', 'yesterday'], /^kcr dead: --since: must be an ISO 8601 date-time/],
    [['dead', '--limit', '1e3'], /^kcr dead: --limit: must be a whole number from 1 to 1000/],
    [['replay', '--limit', '5000', '--all'], /^kcr replay: --limit: must be a whole number from 1 to 1000/],
    [['replay', '--id', '3', '--id', 'x'], /^kcr replay: --id: must be a number/],
    [['replay', '--code', ''], /^kcr replay: --code: must not be empty/],
    [['replay'], /^kcr replay: name what to replay \(--id, --destination, --event, --message-key, --code, --since, --until\), or pass --all/],
    [['rejected', 'replay'], /^kcr rejected replay: name what to re-ingest \(--id, --profile, --since, --until\), or pass --all/],
    [['backfill', '--since', '2026-11-01'], /^kcr backfill: --to: is required; --since: must be an ISO 8601 date-time/],
    [['enable'], /^kcr enable: REF: is required/],
    [['rejected', '--until', 'tomorrow'], /^kcr rejected: --until: must be an ISO 8601 date-time/],
  ])('refuses %j with exit 2, naming the option, touching nothing', async (args, message) => {
    const { dir, env } = dataDir();
    const r = await kcr(args, env);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.out).toBe('');
    expect(existsSync(join(dir, 'spool.db'))).toBe(false);
  });

  it.each<[string[], RegExp]>([
    [['dead', '--bogus'], /^kcr dead: Unknown option '--bogus'/],
    [['dead', '--limit'], /^kcr dead: Option '--limit <value>' argument missing/],
    [['stats', 'extra'], /^kcr stats: Unexpected argument 'extra'/],
    [['enable', 'webhook:a', 'webhook:b'], /^kcr enable: takes one REF, not 2/],
    [['tail', 'kaleyra.sms.events'], /^kcr tail: tail needs a topic and --brokers/],
  ])('refuses a malformed command line %j with exit 2 and a pointer to its help', async (args, message) => {
    const r = await kcr(args, dataDir().env);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).toMatch(/see kcr \w+ --help\n$/);
  });

  it('maps options onto the schema\'s fields: --event is event_id, --id is ids, --delivered is state "done"', () => {
    expect(toInput(replay, { event: 'e1', id: ['3', '4'], delivered: true, limit: '5' }, [])).toEqual({ event_id: 'e1', ids: ['3', '4'], state: 'done', limit: '5' });
    expect(toInput(replay, { delivered: false }, [])).toEqual({});
    expect(cliSpelling(replay).field(['ids', 1])).toBe('--id');
    expect(cliSpelling(replay).field(['message_key'])).toBe('--message-key');
  });
});

describe('kcr: the operations', () => {
  it('lists dead letters, then replays one by id: it is queued again', async () => {
    const { dir, env } = dataDir();
    const id = await withDeadLetter(dir);
    const listed = await kcr(['dead', '--destination', 'kafka:events', '--since', '2000-01-01T00:00:00Z', '--limit', '5'], env);
    expect(listed.out).toMatch(new RegExp(`^#${id} kafka:events event=\\S+ msg=\\S+ attempts=\\d+ topic_not_found: produce failed \\(`));
    expect(listed.out).toMatch(/^1 dead letter\(s\)$/m);

    const replayed = await kcr(['replay', '--id', String(id)], env);
    expect(replayed).toMatchObject({ code: 0, err: '' });
    expect(replayed.out).toMatch(/^1 delivery queued again; a running router picks them up within a second/);
    expect(readSpool(dir, (s) => s.operations.listDeliveries(null))).toMatchObject([{ id, state: 'pending', attempts: 0 }]);
    expect((await kcr(['replay', '--id', String(id)], env)).out).toMatch(/^0 deliveries queued again/);
  });

  it('replays delivered events with --delivered', async () => {
    const { dir, env } = dataDir();
    await withDeadLetter(dir, 'done');
    expect((await kcr(['replay', '--all'], env)).out).toMatch(/^0 deliveries/);
    expect((await kcr(['replay', '--all', '--delivered'], env)).out).toMatch(/^1 delivery queued again/);
  });

  it('backfills a destination the config declares, and refuses one it does not, naming those it does', async () => {
    const { dir, env } = dataDir();
    await withDeadLetter(dir);
    const config = join(dir, 'routes.config.mjs');
    writeFileSync(config, `export default ${JSON.stringify(ROUTES)};\n`);
    const refused = await kcr(['backfill', '--to', 'webhook:nope', '--config', config], env);
    expect(refused.code).toBe(2);
    expect(refused.err).toBe('kcr backfill: "--to" must name a configured destination (kafka:events, kafka:audit)\n');
    const done = await kcr(['backfill', '--to', 'kafka:audit', '--since', '2000-01-01T00:00:00Z', '--config', config], env);
    expect(done).toMatchObject({ code: 0, out: '1 delivery to kafka:audit queued\n' });
  });

  it('--dry-run counts what a replay or a backfill would queue, and queues nothing', async () => {
    const { dir, env } = dataDir();
    const id = await withDeadLetter(dir);
    const config = join(dir, 'routes.config.mjs');
    writeFileSync(config, `export default ${JSON.stringify(ROUTES)};\n`);
    expect(await kcr(['replay', '--all', '--dry-run'], env)).toMatchObject({ code: 0, err: '', out: 'dry run: 1 delivery would be queued again; nothing changed\n  kafka:events  1\n' });
    expect(await kcr(['backfill', '--to', 'kafka:audit', '--dry-run', '--config', config], env)).toMatchObject({ code: 0, out: 'dry run: 1 delivery to kafka:audit would be queued; nothing changed\n' });
    expect(readSpool(dir, (s) => s.operations.listDeliveries(null))).toMatchObject([{ id, state: 'dead' }]);
  });

  it('enables a disabled destination, and says so when it was not disabled', async () => {
    const { dir, env } = dataDir();
    readSpool(dir, (s) => s.queue.disableDestination('webhook:crm', 'POST answered 410 (Gone)'));
    expect((await kcr(['stats'], env)).out).toMatch(/^webhook:crm\tDISABLED since \S+: POST answered 410 \(Gone\)$/m);
    expect((await kcr(['enable', 'webhook:crm'], env)).out).toBe('webhook:crm enabled\n');
    expect((await kcr(['enable', 'webhook:crm'], env)).out).toBe('webhook:crm was not disabled\n');
  });

  it('counts deliveries per destination and state', async () => {
    const { dir, env } = dataDir();
    await withDeadLetter(dir);
    expect(await kcr(['stats'], env)).toMatchObject({ code: 0, out: 'kafka:events\tdead\t1\n' });
  });

  it('answers a config that cannot be found with exit 2 and its path', async () => {
    const { env } = dataDir();
    const r = await kcr(['check'], env);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^kcr: routes config not found: .*missing\.config\.ts/);
  });
});
