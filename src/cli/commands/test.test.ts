/**
 * `kcr test FILE` run as an operator runs it, a child process through its real entry, against a
 * routes config on disk: accepted payloads exit 0 with their rules and destinations, refused ones
 * exit 1 saying why, and no spool is ever opened.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET_SAMPLE_QUERY, postSample } from '../../testing/samples.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const run = promisify(execFile);

let dir: string;
let env: Record<string, string>;

/** Writes `name` in the test's directory and returns its path. */
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function kcr(args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'silent', ...env } });
    return { code: 0, out: stdout, err: stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout, err: err.stderr };
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kcr-test-cmd-'));
  const config = file(
    'routes.config.ts',
    `import { defineRoutes } from ${JSON.stringify(join(ROOT, 'src/route/define-routes.ts'))};
export default defineRoutes({
  profiles: { default: {}, legacy: { methods: ['GET'], bearerToken: 'not-asked-for-by-kcr-test' } },
  kafka: { topics: { events: 'kaleyra.sms.events', failures: 'kaleyra.sms.failures' } },
  webhooks: { crm: { url: 'https://crm.example/sms' } },
  rules: [
    { name: 'every-report', to: ['kafka:events'] },
    { name: 'failures', match: { status: ['undelivered', 'failed'] }, to: ['kafka:failures', 'webhook:crm'] },
  ],
});
`,
  );
  env = { DATA_DIR: join(dir, 'data'), ROUTES_CONFIG: config };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('kcr test FILE', () => {
  it("exits 0 for the provider's POST sample, printing the rules, the destinations and the enriched event", { timeout: 30_000 }, async () => {
    const r = await kcr(['test', file('sample.json', JSON.stringify(postSample(), null, 2))]);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^accepted: 200 by profile "default" as event [0-9a-f-]{36} \(sms\.undelivered\)$/);
    expect(lines[1]).toBe('rules: every-report, failures');
    expect(lines[2]).toBe('destinations: kafka:events, kafka:failures, webhook:crm');
    expect(r.out).toMatch(/cannot know/);
    expect(r.out).toContain('"status_class": "undelivered"');
    expect(existsSync(join(dir, 'data', 'spool.db'))).toBe(false);
  });

  it('reads a query string by GET for a profile that takes GET, without its credentials, and prints JSON with --json', { timeout: 30_000 }, async () => {
    const r = await kcr(['test', file('get.txt', `${GET_SAMPLE_QUERY}\n`), '--profile', 'legacy', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({
      accepted: true,
      profile: 'legacy',
      event: { status: 'Not Sent', raw_query: GET_SAMPLE_QUERY },
      route: { rules: ['every-report'], destinations: ['kafka:events'], fallback: false },
    });
  });

  it('reads XML, and takes --method and --content-type as given', { timeout: 30_000 }, async () => {
    const xml = file('dlr.xml', '<DLR><status>Failed</status><id>req-9</id><recipient>919620838123</recipient></DLR>');
    const [guessed, told] = await Promise.all([kcr(['test', xml]), kcr(['test', xml, '--method', 'put', '--content-type', 'application/json'])]);
    expect(guessed.code).toBe(0);
    expect(guessed.out).toContain('rules: every-report, failures');
    // Declared JSON is held to JSON, as the router holds it.
    expect(told.code).toBe(1);
    expect(told.out).toMatch(/^refused: 400 invalid_body: the body is not valid JSON/);
  });

  it('exits 1 for a callback the router would refuse, naming each field and why', { timeout: 30_000 }, async () => {
    const [noStatus, wrongMethod, noProfile] = await Promise.all([
      kcr(['test', file('bad.json', JSON.stringify({ id: 'req-1', recipient: '919620838123' }))]),
      kcr(['test', file('post.json', JSON.stringify(postSample())), '--profile', 'legacy']),
      kcr(['test', file('any.json', JSON.stringify(postSample())), '--profile', 'nope']),
    ]);
    expect(noStatus.code).toBe(1);
    expect(noStatus.out).toMatch(/^refused: 400 invalid_callback: status: /);
    expect(noStatus.out).toMatch(/\n {2}status: /);
    expect(wrongMethod).toMatchObject({ code: 1, out: expect.stringMatching(/^refused: 405 method_not_allowed: profile "legacy" takes GET, not POST/) });
    expect(noProfile).toMatchObject({ code: 1, out: expect.stringMatching(/^refused: 404 unknown_profile: no callback profile named "nope" is configured \(default, legacy\)/) });
  });

  it('exits 2 when the file cannot be read, the method is not a callback method, or the config is missing', { timeout: 30_000 }, async () => {
    const sample = file('ok.json', JSON.stringify(postSample()));
    const [missing, method, config] = await Promise.all([
      kcr(['test', join(dir, 'missing.json')]),
      kcr(['test', sample, '--method', 'PATCH']),
      kcr(['test', sample, '--config', join(dir, 'nowhere.config.ts')]),
    ]);
    expect(missing).toMatchObject({ code: 2, err: expect.stringMatching(/kcr test: cannot read .*missing\.json: ENOENT/) });
    expect(method).toMatchObject({ code: 2, err: expect.stringMatching(/--method takes GET, POST, PUT, DELETE, not "PATCH"/) });
    expect(config).toMatchObject({ code: 2, err: expect.stringMatching(/routes config not found/) });
  });
});
