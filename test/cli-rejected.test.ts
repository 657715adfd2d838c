/**
 * `kcr rejected` and `kcr rejected replay`, run as an operator runs them: a refused payload is
 * listed, the config is fixed, and the replay turns it into an event a router delivers.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { Spool } from '../src/spool/spool.js';
import { ROOT, tempDir, writeConfig } from './support/router.js';

const run = promisify(execFile);

async function kcr(args: string[], env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    return { code: 0, out: stdout, err: stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout, err: err.stderr };
  }
}

describe('kcr rejected', () => {
  const dir = tempDir('kcr-cli-');
  afterAll(() => dir.remove());

  it('lists a refused payload, then re-ingests it once the profile\'s field map is fixed', async () => {
    const env = { DATA_DIR: dir.path, LOG_LEVEL: 'silent' };
    // What the router kept when the profile had no field map: a templated body with no top-level status.
    const body = JSON.stringify({ msgid: 'cli-1:2', req: 'req-cli', data: { st: 'Delivered', ts: '2022-04-05 08:55:50+00:00' } });
    const spool = new Spool({ path: join(dir.path, 'spool.db') });
    spool.recordRejected({ profile: 'templated', statusCode: 400, reason: 'status: is missing', contentType: 'application/json', body, method: 'POST', query: '' });
    spool.close();

    const listed = await kcr(['rejected', '--profile', 'templated'], env);
    expect(listed.code).toBe(0);
    expect(listed.out).toContain('400 POST profile=templated status: is missing');
    expect(listed.out).toContain('"msgid":"cli-1:2"');

    const refuses = await kcr(['rejected', 'replay'], env);
    expect(refuses.code).toBe(2);
    expect(refuses.err).toContain('name what to re-ingest');

    const fixed = writeConfig(
      dir.path,
      `{ profiles: { templated: { fieldMap: { message_id: 'msgid', id: 'req', status: 'data.st', status_time: 'data.ts' } } },
         kafka: { topics: { events: 'kaleyra.sms.events' } }, rules: [{ name: 'all', to: ['kafka:events'] }] }`,
    );
    const replayed = await kcr(['rejected', 'replay', '--profile', 'templated', '--config', fixed], env);
    expect(replayed.err).toBe('');
    expect(replayed.code).toBe(0);
    expect(replayed.out).toContain('1 of 1 accepted (0 as resends)');

    const after = new Spool({ path: join(dir.path, 'spool.db') });
    try {
      const [row] = after.listRejected({ profile: 'templated' });
      expect(after.event(row!.replayed_event_id!)).toMatchObject({ message_id: 'cli-1:2', message_index: 2, request_id: 'req-cli', status: 'Delivered' });
      expect(after.listDeliveries('pending')).toMatchObject([{ destination: 'kafka:events', message_key: 'cli-1:2' }]);
    } finally {
      after.close();
    }
    // Done once: a second replay finds nothing left to take.
    expect((await kcr(['rejected', 'replay', '--profile', 'templated', '--config', fixed], env)).out).toContain('0 of 0 accepted');
  });
});
