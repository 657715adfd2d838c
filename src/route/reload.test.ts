import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { silentLogger } from '../log.js';
import { Metrics } from '../metrics.js';
import { sleep } from '../sleep.js';
import { compileRoutes, type CompiledConfig } from './compile.js';
import type { RoutesConfig } from './define-routes.js';
import { LiveConfig } from './live-config.js';
import type { LoadedRoutes } from './load.js';
import { Reloader, carryOver, diffConfigs, summarize, watchConfig, type AppliedConfig, type ReloaderDeps } from './reload.js';

const BASE: RoutesConfig = {
  profiles: { default: {}, templated: { fieldMap: { message_id: 'msgid' } } },
  kafka: { topics: { events: 'sms.events' } },
  webhooks: { crm: { url: 'https://crm.example/sms' }, ops: { url: 'https://ops.example/sms' } },
  rules: [
    { name: 'everything', to: ['kafka:events'] },
    { name: 'failures', match: { status: 'failed' }, to: ['webhook:ops'] },
  ],
};

const compile = (over: Partial<RoutesConfig>): CompiledConfig => compileRoutes({ ...BASE, ...over } as RoutesConfig, 'test');

describe('diffConfigs', () => {
  it('says "no change" for the same config compiled again', () => {
    const diff = diffConfigs(compile({}), compile({}));
    expect(diff.unchanged).toBe(true);
    expect(summarize(diff)).toBe('no change');
  });

  it('names a rule added, one removed and one changed, and the destinations they bring and leave', () => {
    const next = compile({
      webhooks: { crm: { url: 'https://crm.example/sms' }, audit: { url: 'https://audit.example/in' } },
      rules: [
        { name: 'everything', to: ['kafka:events', 'webhook:crm'] },
        { name: 'audit', to: ['webhook:audit'] },
      ],
    });
    const diff = diffConfigs(compile({}), next);
    expect(diff.rules).toEqual({ added: ['audit'], removed: ['failures'], changed: ['everything'], reordered: false });
    expect(diff.destinations).toEqual({ added: ['webhook:audit'], removed: ['webhook:ops'], changed: [] });
    expect(summarize(diff)).toBe('rules +1 (audit) -1 (failures) ~1 (everything); destinations +1 (webhook:audit) -1 (webhook:ops)');
  });

  it('sees rules that only swapped places, since the first match can stop the others', () => {
    const diff = diffConfigs(compile({}), compile({ rules: [...BASE.rules].reverse() }));
    expect(diff.rules).toMatchObject({ added: [], removed: [], changed: [], reordered: true });
    expect(summarize(diff)).toBe('rules reordered');
  });

  it('sees a destination whose URL, secret or retry policy changed, without saying the values', () => {
    const next = compile({
      webhooks: { crm: { url: 'https://crm.example/sms', secret: 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=' }, ops: { url: 'https://ops.example/sms' } },
      retry: { maxAttempts: 3 },
    });
    const diff = diffConfigs(compile({}), next);
    // The shared policy is layered into every destination: all of them change with it.
    expect(diff.destinations.changed).toEqual(['kafka:events', 'webhook:crm', 'webhook:ops']);
    expect(diff.sections).toEqual(['retry']);
    expect(summarize(diff)).not.toContain('whsec_');
  });

  it('names profiles added, removed and changed, and the fallback', () => {
    const next = compile({ profiles: { default: { bearerToken: 'a-token' }, promo: {} }, fallback: ['kafka:events'] });
    const diff = diffConfigs(compile({}), next);
    expect(diff.profiles).toEqual({ added: ['promo'], removed: ['templated'], changed: ['default'] });
    expect(diff.fallbackChanged).toBe(true);
    expect(summarize(diff)).toBe('fallback changed; profiles +1 (promo) -1 (templated) ~1 (default)');
    expect(summarize(diff)).not.toContain('a-token');
  });

  it('compares other sections whole, so a block another part of the router reads (kafka.clientId) shows too', () => {
    const diff = diffConfigs(compile({}), compile({ kafka: { topics: { events: 'sms.events' }, clientId: 'router-2' } }));
    expect(diff.sections).toEqual(['kafka.clientId']);
    expect(diff.unchanged).toBe(false);
  });
});

describe('carryOver', () => {
  it('keeps the compiled profiles that did not change (their token issuer and key cache), and takes the new ones', () => {
    const before = compile({});
    const after = compile({ profiles: { default: {}, templated: { fieldMap: { message_id: 'id2' } } } });
    const merged = carryOver(before, after);
    expect(merged.profiles.get('default')).toBe(before.profiles.get('default'));
    expect(merged.profiles.get('templated')).toBe(after.profiles.get('templated'));
    expect(merged.table).toBe(after.table);
  });
});

describe('Reloader', () => {
  const applied: AppliedConfig = { destinations: { started: [], replaced: [], stopped: [] }, pendingForUnconfigured: [] };

  function reloader(load: ReloaderDeps['load'], over: Partial<ReloaderDeps> = {}) {
    const live = new LiveConfig(compile({}), { hash: 'first' });
    const metrics = new Metrics();
    const steps: string[] = [];
    const r = new Reloader({
      path: '/etc/kcr/routes.config.ts',
      live,
      load,
      prepare: () => {
        steps.push(`prepare (serving v${live.info.version})`);
        return async () => {
          steps.push(`finish (serving v${live.info.version})`);
          return applied;
        };
      },
      logger: silentLogger,
      metrics,
      ...over,
    });
    return { r, live, metrics, steps };
  }

  it('refuses an invalid config with the loader\'s own error text and keeps serving the old one', async () => {
    const message = '/etc/kcr/routes.config.ts is invalid:\n  - rule "to-ops" (rules[1]), field "to[0]": unknown webhook "opz" (declared: webhook:crm)';
    const { r, live, metrics, steps } = reloader(() => Promise.reject(new ConfigError(message)));
    const before = live.current;

    expect(await r.reload('SIGHUP')).toEqual({ ok: false, trigger: 'SIGHUP', error: 'invalid_config', message });
    expect(live.current).toBe(before);
    expect(live.info.version).toBe(0);
    expect(steps).toEqual([]);
    expect(metrics.get('config_reloads_total', { result: 'refused' })).toBe(1);
  });

  it('opens the new destinations before the swap and moves the workers after it, then says what changed', async () => {
    const next = compile({ rules: [{ name: 'everything', to: ['kafka:events'] }] });
    const { r, live, metrics, steps } = reloader(async (): Promise<LoadedRoutes> => ({ config: next, hash: 'second' }));

    const result = await r.reload('admin');
    expect(result).toMatchObject({ ok: true, trigger: 'admin', version: 1, hash: 'second', summary: 'rules -1 (failures)' });
    expect(steps).toEqual(['prepare (serving v0)', 'finish (serving v1)']);
    expect(live.current.table).toBe(next.table);
    expect(live.info.hash).toBe('second');
    expect(metrics.get('config_reloads_total', { result: 'ok' })).toBe(1);
    const text = await metrics.render();
    expect(text).toMatch(/^kcr_config_info\{(?=[^}]*hash="second")(?=[^}]*version="1")[^}]*\} 1$/m);
    expect(text).toMatch(/^kcr_config_loaded_timestamp_seconds \d+(\.\d+)?$/m);
  });

  it('runs one reload at a time, in the order they were asked for', async () => {
    const order: string[] = [];
    let n = 0;
    const { r } = reloader(async () => {
      const i = ++n;
      order.push(`load ${i}`);
      await sleep(i === 1 ? 50 : 0);
      order.push(`loaded ${i}`);
      return { config: compile({}), hash: `h${i}` };
    });
    const results = await Promise.all([r.reload('SIGHUP'), r.reload('watch')]);
    expect(order).toEqual(['load 1', 'loaded 1', 'load 2', 'loaded 2']);
    expect(results.map((x) => x.ok && x.version)).toEqual([1, 2]);
  });

  it('waits for a prepare that takes time (cluster mode creates topics) and refuses, serving the old config, when it fails', async () => {
    const next = compile({ rules: [{ name: 'everything', to: ['kafka:events'] }] });
    const load = async (): Promise<LoadedRoutes> => ({ config: next, hash: 'second' });
    const slow = reloader(load, {
      prepare: async () => {
        await sleep(20);
        return async () => applied;
      },
    });
    expect(await slow.r.reload('admin')).toMatchObject({ ok: true, version: 1 });
    expect(slow.live.current.table).toBe(next.table);

    const failing = reloader(load, { prepare: () => Promise.reject(new Error('the new output topics (audit) could not be created: Connection error')) });
    const before = failing.live.current;
    expect(await failing.r.reload('SIGHUP')).toEqual({
      ok: false,
      trigger: 'SIGHUP',
      error: 'reload_unavailable',
      message: 'the config could not be applied: the new output topics (audit) could not be created: Connection error',
    });
    expect(failing.live.current).toBe(before);
    expect(failing.metrics.get('config_reloads_total', { result: 'refused' })).toBe(1);
  });

  it('refuses, saying why, where the router cannot swap its config (no prepare, or no file)', async () => {
    const load = () => Promise.reject(new Error('not called'));
    const cluster = reloader(load, { prepare: null, unavailable: 'this router cannot swap its config' });
    expect(await cluster.r.reload('SIGHUP')).toMatchObject({ ok: false, error: 'reload_unavailable', message: 'this router cannot swap its config' });
    const noFile = reloader(load, { path: null });
    expect(await noFile.r.reload('admin')).toMatchObject({ ok: false, error: 'reload_unavailable' });
  });
});

describe('watchConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kcr-watch-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('calls once for a burst of saves, including a file replaced by a rename (as editors save), and ignores other files', async () => {
    const path = join(dir, 'routes.config.ts');
    writeFileSync(path, 'v1');
    let calls = 0;
    const stop = watchConfig(path, () => calls++, { debounceMs: 150, logger: silentLogger });
    try {
      writeFileSync(join(dir, 'notes.txt'), 'not the config');
      await sleep(300);
      expect(calls).toBe(0);

      writeFileSync(path, 'v2');
      writeFileSync(`${path}.tmp`, 'v3');
      renameSync(`${path}.tmp`, path);
      await sleep(400);
      expect(calls).toBe(1);

      // The watch is on the directory: the replaced file is still watched.
      writeFileSync(`${path}.tmp`, 'v4');
      renameSync(`${path}.tmp`, path);
      await sleep(400);
      expect(calls).toBe(2);
    } finally {
      stop();
    }
  });
});
