/**
 * The one place the running router keeps its routes config, so a reload can swap it while
 * callbacks keep coming. Readers hold the holder, not the config, and read `current` once per
 * request or event: whatever they do next uses that one config, even if a swap lands meanwhile.
 */

/** Something that has a config now (a LiveConfig, or a fixed one in tests). */
export interface ConfigSource<C> {
  readonly current: C;
}

/** What is known of the config being served, for /metrics and the admin API. */
export interface LoadedConfig<C> {
  config: C;
  /** Swaps since start-up (0: the config it started with). */
  version: number;
  /** When it was swapped in (ms epoch). */
  loadedAt: number;
  /** sha256 of the file's text, when it came from a file. */
  hash: string | null;
}

/**
 * Holds the current config and swaps it whole. Generic, so every part of the config (the rules,
 * the profiles, an `alerts` block, per-destination rate limits) is swapped by the same step.
 * @example
 * const live = new LiveConfig(config);
 * app.use((c, next) => { const cfg = live.current; ... });
 * live.swap(next);
 */
export class LiveConfig<C> implements ConfigSource<C> {
  private loaded: LoadedConfig<C>;
  private readonly listeners = new Set<(next: C, previous: C) => void>();

  constructor(config: C, meta: { hash?: string | null; now?: number } = {}) {
    this.loaded = { config, version: 0, loadedAt: meta.now ?? Date.now(), hash: meta.hash ?? null };
  }

  get current(): C {
    return this.loaded.config;
  }

  /** The config with its version, load time and hash. */
  get info(): Readonly<LoadedConfig<C>> {
    return this.loaded;
  }

  /** Puts `next` in place in one assignment and tells the listeners; returns the previous one. */
  swap(next: C, meta: { hash?: string | null; now?: number } = {}): C {
    const previous = this.loaded.config;
    this.loaded = { config: next, version: this.loaded.version + 1, loadedAt: meta.now ?? Date.now(), hash: meta.hash ?? null };
    for (const listener of this.listeners) listener(next, previous);
    return previous;
  }

  /** Calls `listener` after each swap; returns the unsubscribe. */
  onSwap(listener: (next: C, previous: C) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/**
 * A source for either a holder or a plain config, so modules built with a fixed config (tests,
 * the CLI) and the running router's holder read the same way.
 * @example const source = configSource(deps.config); const cfg = source.current;
 */
export function configSource<C extends object>(config: C | ConfigSource<C>): ConfigSource<C> {
  return config instanceof LiveConfig || config instanceof FixedConfig ? (config as ConfigSource<C>) : new FixedConfig(config as C);
}

/** A config that never changes, as a source (a class, so configSource knows it when handed one back). */
class FixedConfig<C> implements ConfigSource<C> {
  constructor(readonly current: C) {}
}

/**
 * JSON with object keys sorted and Maps as sorted entries, so two configs built by the same code
 * from equal input compare equal. Functions and compiled patterns are skipped: compare inputs.
 * @example stableJson({ b: 1, a: [new Map([['x', 2]])] }) // '{"a":[[["x",2]]],"b":1}'
 */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Map) return [...v].sort(([a], [b]) => (String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0));
    if (v instanceof Set) return [...v].sort();
    if (v instanceof RegExp) return v.source;
    if (typeof v === 'function') return undefined;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

/**
 * A map that reads the current one at each call: for modules that look one key up per request
 * (the profile a callback names), so they follow a reload without knowing of it.
 * @example callbackRoutes({ profiles: liveMap(() => live.current.profiles), ... })
 */
export function liveMap<K, V>(read: () => ReadonlyMap<K, V>): ReadonlyMap<K, V> {
  return {
    get: (key) => read().get(key),
    has: (key) => read().has(key),
    get size() {
      return read().size;
    },
    forEach: (fn, thisArg) => read().forEach(fn, thisArg),
    entries: () => read().entries(),
    keys: () => read().keys(),
    values: () => read().values(),
    [Symbol.iterator]: () => read()[Symbol.iterator](),
  };
}
