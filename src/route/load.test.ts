import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { configPath, loadRoutes, loadRoutesFile } from './load.js';

const DEFINE_ROUTES = fileURLToPath(new URL('./define-routes.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'kcr-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** Writes a config file in a fresh temp path and returns the path. */
function configFile(ext: string, text: string): string {
  const path = join(dir, `routes-${++n}.config.${ext}`);
  writeFileSync(path, text);
  return path;
}

describe('loadRoutes', () => {
  it('loads and compiles a TypeScript config that uses defineRoutes', async () => {
    const path = configFile(
      'ts',
      `import { defineRoutes } from ${JSON.stringify(DEFINE_ROUTES)};
export default defineRoutes({
  profiles: { default: {} },
  kafka: { topics: { events: 'kaleyra.sms.events' } },
  webhooks: { crm: { url: 'https://crm.example/sms' } },
  rules: [{ name: 'everything', to: ['kafka:events', 'webhook:crm'] }],
  fallback: ['kafka:events'],
});
`,
    );
    const cfg = await loadRoutes(path);
    expect(cfg.table.rules.map((r) => [r.name, r.to])).toEqual([['everything', ['kafka:events', 'webhook:crm']]]);
    expect(cfg.table.fallback).toEqual(['kafka:events']);
    expect([...cfg.destinations.keys()]).toEqual(['kafka:events', 'webhook:crm']);
  });

  it('loads a plain JavaScript config (no defineRoutes)', async () => {
    const path = configFile(
      'mjs',
      `export default { profiles: { default: {} }, kafka: { topics: { events: 'e' } }, rules: [{ name: 'all', to: ['kafka:events'] }] };\n`,
    );
    expect((await loadRoutes(path)).table.rules).toHaveLength(1);
  });

  it('a missing file is a ConfigError naming the path', async () => {
    const path = join(dir, 'no-such-routes.config.ts');
    await expect(loadRoutes(path)).rejects.toThrow(ConfigError);
    await expect(loadRoutes(path)).rejects.toThrow(`routes config not found: ${path}`);
  });

  it('an invalid config is a ConfigError naming the file, the rule and the field', async () => {
    const path = configFile(
      'mjs',
      `export default { profiles: { default: {} }, rules: [{ name: 'to-nowhere', to: ['webhook:ops'] }] };\n`,
    );
    const err = await loadRoutes(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(`${path} is invalid`);
    expect((err as Error).message).toContain('rule "to-nowhere" (rules[0]), field "to[0]": unknown webhook "ops"');
  });

  it('sees the environment as it is when it loads', async () => {
    const path = configFile('ts', `export default { profiles: { default: {} }, kafka: { topics: { events: process.env.KCR_LOAD_TEST_TOPIC! } }, rules: [{ name: 'all', to: ['kafka:events'] }] };\n`);
    process.env.KCR_LOAD_TEST_TOPIC = `topic-${n}`;
    try {
      expect((await loadRoutes(path)).destinations.get('kafka:events')).toMatchObject({ config: { name: `topic-${n}` } });
    } finally {
      delete process.env.KCR_LOAD_TEST_TOPIC;
    }
  });

  it('a config with a function in it is refused naming the rule and the field', async () => {
    const path = configFile(
      'mjs',
      `export default { profiles: { default: {} }, kafka: { topics: { events: 'e' } }, rules: [{ name: 'fn', match: { status: () => 'delivered' }, to: ['kafka:events'] }] };\n`,
    );
    const err = await loadRoutes(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(`${path} is invalid`);
    expect((err as Error).message).toMatch(/rule "fn" \(rules\[0\]\), field "match\.status"/);
  });

  it('a config made of class instances reads through their getters', async () => {
    const path = configFile(
      'mjs',
      `class Hook { get url() { return 'https://crm.example/from-a-getter'; } }
export default { profiles: { default: {} }, webhooks: { crm: new Hook() }, rules: [{ name: 'all', to: ['webhook:crm'] }] };\n`,
    );
    expect((await loadRoutes(path)).destinations.get('webhook:crm')).toMatchObject({ config: { url: 'https://crm.example/from-a-getter' } });
  });

  it('a file without a default export is a ConfigError', async () => {
    const path = configFile('mjs', `export const routes = { profiles: {}, rules: [] };\n`);
    await expect(loadRoutes(path)).rejects.toThrow(`${path} must default-export defineRoutes({...})`);
  });

  it('a file that throws while loading is a ConfigError carrying the reason', async () => {
    const path = configFile('mjs', `throw new Error('ALERTS_WEBHOOK_URL is not set');\n`);
    const err = await loadRoutes(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(`${path} could not be loaded`);
    expect((err as Error).message).toContain('ALERTS_WEBHOOK_URL is not set');
  });
});

describe('loadRoutesFile, as a reload calls it', () => {
  it('reads the file as it is now each time, and the local modules it imports too (an ES-module package)', async () => {
    const pkg = join(dir, 'esm-package');
    mkdirSync(pkg);
    writeFileSync(join(pkg, 'package.json'), '{"type":"module"}');
    const path = join(pkg, 'routes.config.ts');
    const write = (rule: string, url: string) => {
      writeFileSync(join(pkg, 'hooks.ts'), `export const crmUrl: string = ${JSON.stringify(url)};\n`);
      writeFileSync(
        path,
        `import { defineRoutes } from ${JSON.stringify(DEFINE_ROUTES)};
import { crmUrl } from './hooks.js';
export default defineRoutes({ profiles: { default: {} }, webhooks: { crm: { url: crmUrl } }, rules: [{ name: ${JSON.stringify(rule)}, to: ['webhook:crm'] }] });
`,
      );
    };
    write('first', 'https://crm.example/one');
    const one = await loadRoutesFile(path);
    write('second', 'https://crm.example/two');
    const two = await loadRoutesFile(path);

    expect(one.config.table.rules.map((r) => r.name)).toEqual(['first']);
    expect(two.config.table.rules.map((r) => r.name)).toEqual(['second']);
    expect(two.config.destinations.get('webhook:crm')?.config).toMatchObject({ url: 'https://crm.example/two' });
    expect(one.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(two.hash).not.toBe(one.hash);
  });

  it('reads a file again outside an ES-module package too (compiled as CommonJS)', async () => {
    const path = configFile('ts', `import { defineRoutes } from ${JSON.stringify(DEFINE_ROUTES)};\nexport default defineRoutes({ profiles: { default: {} }, rules: [{ name: 'one', to: [], stop: true }] });\n`);
    expect((await loadRoutesFile(path)).config.table.rules.map((r) => r.name)).toEqual(['one']);
    writeFileSync(path, `import { defineRoutes } from ${JSON.stringify(DEFINE_ROUTES)};\nexport default defineRoutes({ profiles: { default: {} }, rules: [{ name: 'two', to: [], stop: true }] });\n`);
    expect((await loadRoutesFile(path)).config.table.rules.map((r) => r.name)).toEqual(['two']);
  });

  it('a syntax error is a ConfigError naming the file and the place', async () => {
    const path = configFile('ts', `export default defineRoutes({ profiles: { default: {} }, rules: [ }`);
    const err = await loadRoutesFile(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(`${path} could not be loaded`);
    expect((err as Error).message).toMatch(/routes-\d+\.config\.ts:1:\d+/);
  });
});

describe('configPath', () => {
  it.each<[string, string[], Record<string, string>, string]>([
    ['--config <path>', ['node', 'server.ts', '--config', 'conf/a.ts'], { ROUTES_CONFIG: 'b.ts' }, 'conf/a.ts'],
    ['--config=<path>', ['node', 'server.ts', '--config=conf/a.ts'], { ROUTES_CONFIG: 'b.ts' }, 'conf/a.ts'],
    ['ROUTES_CONFIG', ['node', 'server.ts'], { ROUTES_CONFIG: 'b.ts' }, 'b.ts'],
    ['the default', ['node', 'server.ts'], {}, 'routes.config.ts'],
  ])('comes from %s, resolved to an absolute path', (_from, argv, env, path) => {
    expect(configPath(argv, env)).toBe(resolve(path));
  });
});
