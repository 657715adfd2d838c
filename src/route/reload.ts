/**
 * Changing the routes without a restart: load and check routes.config.ts again (on SIGHUP, a
 * change to the file, or POST /admin/config/reload), refuse it with the same errors as
 * `kcr check` when it is invalid, and otherwise hand it to the router to swap in, saying what
 * changed. One reload runs at a time.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ConfigError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { CompiledConfig, CompiledDestination, CompiledProfile } from './compile.js';
import type { LiveConfig } from './live-config.js';
import { stableJson } from './live-config.js';
import type { LoadedRoutes } from './load.js';

/** Names added, removed and changed in one part of the config. */
export interface PartDiff {
  added: string[];
  removed: string[];
  changed: string[];
}

/** What a new config changes, by name: never a value (they hold credentials). */
export interface ConfigDiff {
  rules: PartDiff & { reordered: boolean };
  fallbackChanged: boolean;
  profiles: PartDiff;
  destinations: PartDiff;
  /** Other top-level sections that changed (`retry`, `alerts`, `kafka.clientId`...). */
  sections: string[];
  unchanged: boolean;
}

/** Sections the diff names part by part; every other top-level key is compared whole. */
const ITEMISED = new Set(['rules', 'fallback', 'profiles', 'webhooks', 'kafka']);

function partDiff(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): PartDiff {
  return {
    added: [...after.keys()].filter((k) => !before.has(k)),
    removed: [...before.keys()].filter((k) => !after.has(k)),
    changed: [...after].filter(([k, v]) => before.has(k) && before.get(k) !== v).map(([k]) => k),
  };
}

/** Each rule as written (or, without the source, as compiled: its name, refs and stop), by name. */
function rulesOf(cfg: CompiledConfig): Map<string, string> {
  const written = cfg.source?.rules;
  if (written) return new Map(written.map((r) => [r.name, stableJson(r)]));
  return new Map(cfg.table.rules.map((r) => [r.name, stableJson({ to: r.to, stop: r.stop, index: r.index })]));
}

const profilesOf = (cfg: CompiledConfig): Map<string, string> => new Map([...cfg.profiles].map(([n, p]) => [n, stableJson(p.config)]));
const destinationsOf = (cfg: CompiledConfig): Map<string, string> =>
  new Map([...cfg.destinations].map(([ref, d]: [string, CompiledDestination]) => [ref, stableJson(d)]));

/** The top-level sections other than those itemised, with the Kafka section's own settings. */
function sectionsOf(cfg: CompiledConfig): Map<string, string> {
  const source = (cfg.source ?? { retry: cfg.retry }) as unknown as Record<string, unknown>;
  const out = new Map(Object.entries(source).filter(([k]) => !ITEMISED.has(k)).map(([k, v]) => [k, stableJson(v)]));
  const kafka = source.kafka as Record<string, unknown> | undefined;
  if (kafka) for (const [k, v] of Object.entries(kafka)) if (k !== 'topics') out.set(`kafka.${k}`, stableJson(v));
  return out;
}

/**
 * What changed between two configs, by rule, profile and destination name.
 * @example diffConfigs(before, after).rules.added // ['failures-to-ops']
 */
export function diffConfigs(before: CompiledConfig, after: CompiledConfig): ConfigDiff {
  const rb = rulesOf(before);
  const ra = rulesOf(after);
  const kept = (order: Map<string, string>, other: Map<string, string>) => [...order.keys()].filter((n) => other.has(n));
  const rules = { ...partDiff(rb, ra), reordered: stableJson(kept(rb, ra)) !== stableJson(kept(ra, rb)) };
  const sb = sectionsOf(before);
  const sa = sectionsOf(after);
  const s = partDiff(sb, sa);
  const diff: ConfigDiff = {
    rules,
    fallbackChanged: stableJson(before.source?.fallback ?? before.table.fallback) !== stableJson(after.source?.fallback ?? after.table.fallback),
    profiles: partDiff(profilesOf(before), profilesOf(after)),
    destinations: partDiff(destinationsOf(before), destinationsOf(after)),
    sections: [...s.added, ...s.removed, ...s.changed].sort(),
    unchanged: false,
  };
  const parts = [diff.rules, diff.profiles, diff.destinations];
  diff.unchanged = !rules.reordered && !diff.fallbackChanged && diff.sections.length === 0 && parts.every((p) => p.added.length + p.removed.length + p.changed.length === 0);
  return diff;
}

/**
 * One line for logs and the reload's answer.
 * @example summarize(diff) // 'rules +1 (to-ops); destinations +1 (webhook:ops)'
 */
export function summarize(diff: ConfigDiff): string {
  if (diff.unchanged) return 'no change';
  const part = (label: string, p: PartDiff): string[] => {
    const bits = [
      p.added.length ? `+${p.added.length} (${p.added.join(', ')})` : '',
      p.removed.length ? `-${p.removed.length} (${p.removed.join(', ')})` : '',
      p.changed.length ? `~${p.changed.length} (${p.changed.join(', ')})` : '',
    ].filter(Boolean);
    return bits.length ? [`${label} ${bits.join(' ')}`] : [];
  };
  return [
    ...part('rules', diff.rules),
    ...(diff.rules.reordered ? ['rules reordered'] : []),
    ...(diff.fallbackChanged ? ['fallback changed'] : []),
    ...part('profiles', diff.profiles),
    ...part('destinations', diff.destinations),
    ...(diff.sections.length ? [`changed: ${diff.sections.join(', ')}`] : []),
  ].join('; ');
}

/**
 * `next` with the compiled profiles that did not change taken from `previous`, so a profile's
 * token issuer and its cache of the customer's signing keys live on across a reload.
 * @example live.swap(carryOver(live.current, next))
 */
export function carryOver(previous: CompiledConfig, next: CompiledConfig): CompiledConfig {
  const profiles = new Map<string, CompiledProfile>();
  for (const [name, p] of next.profiles) {
    const old = previous.profiles.get(name);
    profiles.set(name, old && stableJson(old.config) === stableJson(p.config) ? old : p);
  }
  return { ...next, profiles };
}

/** How a reload was asked for. */
export type ReloadTrigger = 'SIGHUP' | 'watch' | 'admin';

/** What the router did with a checked config: which destinations it started, replaced and stopped. */
export interface AppliedConfig {
  destinations: { started: string[]; replaced: string[]; stopped: string[] };
  /** Destinations no longer configured whose pending deliveries are kept (not delivered, not deleted). */
  pendingForUnconfigured: string[];
}

export type ReloadResult =
  | ({ ok: true; trigger: ReloadTrigger; version: number; hash: string; summary: string; changes: ConfigDiff } & AppliedConfig)
  | { ok: false; trigger: ReloadTrigger; error: 'invalid_config' | 'reload_unavailable'; message: string };

export interface ReloaderDeps {
  /** The routes file; null: the router was given a config object, so there is nothing to reload. */
  path: string | null;
  live: LiveConfig<CompiledConfig>;
  load(path: string): Promise<LoadedRoutes>;
  /**
   * Readies the router for `next` (opens the destinations it adds or changes) before the holder
   * swaps; the returned `finish` then moves the workers and closes what was replaced. It may
   * resolve later (cluster mode creates the new config's Kafka topics first); if it rejects, the
   * reload is refused and the current config keeps serving, so it must change nothing before
   * the step that can fail.
   */
  prepare: ((next: CompiledConfig, changes: ConfigDiff) => (() => Promise<AppliedConfig>) | Promise<() => Promise<AppliedConfig>>) | null;
  /** Set when this router cannot swap its config: said in every refusal. */
  unavailable?: string | null;
  /** Destinations no longer configured whose pending deliveries are kept (the dispatcher's). */
  orphaned?: () => string[];
  logger: Logger;
  metrics: Metrics;
}

/**
 * Loads, checks and applies the routes file on request; one reload at a time, in order.
 * @example process.on('SIGHUP', () => void reloader.reload('SIGHUP'));
 */
export class Reloader {
  private last: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: ReloaderDeps) {
    const { metrics, live } = deps;
    metrics.define('config_reloads_total', 'Reloads of routes.config.ts by result: ok (swapped in) or refused (the old one kept serving).', ['result']);
    metrics.gauge('config_loaded_timestamp_seconds', 'When the routes config being served was loaded (start-up or the last reload).', () => [[{}, live.info.loadedAt / 1000]]);
    metrics.gauge('config_info', 'The routes config being served: its version (reloads since start-up) and the sha256 of its file.', () => [
      [{ version: String(live.info.version), hash: live.info.hash ?? 'unknown' }, 1],
    ]);
  }

  /** The config being served, for GET /admin/config: never its values (they hold credentials). */
  status(): Record<string, unknown> {
    const { live, path } = this.deps;
    const { config, version, loadedAt, hash } = live.info;
    return {
      config: path,
      version,
      hash,
      loaded_at: new Date(loadedAt).toISOString(),
      reload: this.deps.unavailable ?? (path ? 'available' : 'no config file'),
      rules: config.table.rules.map((r) => r.name),
      profiles: [...config.profiles.keys()],
      destinations: [...config.destinations.keys()],
      pending_for_unconfigured: this.deps.orphaned?.() ?? [],
    };
  }

  reload(trigger: ReloadTrigger): Promise<ReloadResult> {
    const run = this.last.then(() => this.once(trigger));
    this.last = run.catch(() => undefined);
    return run;
  }

  private async once(trigger: ReloadTrigger): Promise<ReloadResult> {
    const { path, live, logger, metrics } = this.deps;
    const refuse = (error: 'invalid_config' | 'reload_unavailable', message: string): ReloadResult => {
      metrics.inc('config_reloads_total', { result: 'refused' });
      logger.error('routes config reload refused; the current config keeps serving', { trigger, error, message });
      return { ok: false, trigger, error, message };
    };
    const { prepare, unavailable } = this.deps;
    if (!prepare || unavailable) return refuse('reload_unavailable', unavailable ?? 'this router cannot swap its config');
    if (!path) return refuse('reload_unavailable', 'the router was started with a config object, not a file: there is nothing to reload');
    let loaded: LoadedRoutes;
    try {
      loaded = await this.deps.load(path);
    } catch (err) {
      // The same text `kcr check` prints: load and compile are the ones it runs.
      return refuse('invalid_config', err instanceof ConfigError ? err.message : `${path} could not be loaded: ${errorMessage(err)}`);
    }
    const next = carryOver(live.current, loaded.config);
    const changes = diffConfigs(live.current, next);
    // Opened first, so that a callback routed by the new rules finds its destination's worker;
    // swapped next, in one assignment; the old workers finish their batches after that.
    let finish: () => Promise<AppliedConfig>;
    try {
      finish = await prepare(next, changes);
    } catch (err) {
      return refuse('reload_unavailable', `the config could not be applied: ${errorMessage(err)}`);
    }
    live.swap(next, { hash: loaded.hash });
    const applied = await finish();
    metrics.inc('config_reloads_total', { result: 'ok' });
    const summary = summarize(changes);
    logger.info('routes config reloaded', { trigger, config: path, version: live.info.version, hash: loaded.hash, summary, ...applied });
    return { ok: true, trigger, version: live.info.version, hash: loaded.hash, summary, changes, ...applied };
  }
}

/**
 * Calls `onChange` once the file has been quiet for `debounceMs` after a change. Watches the
 * directory, not the file: editors and `kubectl` replace a file (write a new one, rename it over),
 * and a watch on the old file would see nothing after the first save.
 * @example const stop = watchConfig('/etc/kcr/routes.config.ts', () => void reloader.reload('watch'), { debounceMs: 500, logger });
 */
export function watchConfig(path: string, onChange: () => void, { debounceMs, logger }: { debounceMs: number; logger: Logger }): () => void {
  const name = basename(path);
  let timer: NodeJS.Timeout | null = null;
  let watcher: FSWatcher;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
      // Some platforms do not say which file; then any change in the directory counts.
      // A Kubernetes ConfigMap volume swaps its `..data` link instead of touching the file.
      if (file !== null && file !== name && !String(file).startsWith('..')) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        onChange();
      }, debounceMs);
      timer.unref();
    });
  } catch (err) {
    logger.warn('cannot watch the routes config; reload it with SIGHUP', { config: path, error: errorMessage(err) });
    return () => undefined;
  }
  watcher.on('error', (err) => logger.warn('watching the routes config failed; reload it with SIGHUP', { config: path, error: errorMessage(err) }));
  logger.info('watching the routes config for changes', { config: path, debounce_ms: debounceMs });
  return () => {
    if (timer) clearTimeout(timer);
    watcher.close();
  };
}
