/** Finds and loads the routes config file (`--config`, ROUTES_CONFIG, or ./routes.config.ts). */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';
import { ConfigError } from '../errors.js';
import { compileRoutes, type CompiledConfig } from './compile.js';
import type { RoutesConfig } from './define-routes.js';

export function configPath(argv: readonly string[] = process.argv, env = process.env): string {
  const i = argv.indexOf('--config');
  const fromArg = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--config='))?.slice('--config='.length);
  return resolve(fromArg ?? env.ROUTES_CONFIG ?? 'routes.config.ts');
}

/** A compiled config and the sha256 of the text it was compiled from. */
export interface LoadedRoutes {
  config: CompiledConfig;
  hash: string;
}

/** Imports the file (TypeScript works under tsx) and compiles it; throws ConfigError. */
export async function loadRoutes(path: string): Promise<CompiledConfig> {
  return (await loadRoutesFile(path)).config;
}

/**
 * Like loadRoutes, fresh each call: a reload must see the file as it is now. Node caches an ES
 * module by URL for the life of the process, and a `?v=` query only busts the file itself (the
 * helpers it imports stay cached, and a CommonJS-format file ignores it). tsx's tsImport loads
 * under a namespace of its own each call, so the file and the local modules it imports are read
 * again. Node cannot unload modules: each load stays in memory (a few KiB).
 * @example const { config, hash } = await loadRoutesFile('/etc/kcr/routes.config.ts');
 */
export async function loadRoutesFile(path: string): Promise<LoadedRoutes> {
  if (!existsSync(path)) throw new ConfigError(`routes config not found: ${path}`);
  let text: string;
  let mod: { default?: unknown };
  try {
    text = readFileSync(path, 'utf8');
    mod = await importConfig(pathToFileURL(path).href);
  } catch (err) {
    throw new ConfigError(`${path} could not be loaded: ${err instanceof Error ? err.message : String(err)}`);
  }
  const exported = unwrapCommonJs(mod.default);
  if (!exported || typeof exported !== 'object') {
    throw new ConfigError(`${path} must default-export defineRoutes({...})`);
  }
  return { config: compileRoutes(exported as RoutesConfig, path), hash: createHash('sha256').update(text).digest('hex') };
}

/**
 * The config file's module, imported under tsx on a worker thread of its own and cloned back:
 * tsx's loader (a module-hooks thread, its compiler's code) ends with the worker instead of
 * holding ~10 MB of the router's memory for good. A config that is not plain data all through
 * (a function, a class instance, a Date in it: what a clone would refuse or change) is imported
 * here instead, as it always was.
 */
async function importConfig(url: string): Promise<{ default?: unknown }> {
  const worker = new Worker(CONFIG_LOADER, { eval: true, workerData: { api: import.meta.resolve('tsx/esm/api'), url, parent: import.meta.url } });
  try {
    const reply = await new Promise<{ module?: { default?: unknown }; error?: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the config loader's thread stopped (exit code ${code})`)));
    });
    if (reply.error !== undefined) throw new Error(reply.error);
    return reply.module ?? ((await tsImport(url, import.meta.url)) as { default?: unknown });
  } finally {
    await worker.terminate();
  }
}

/** The config loader's thread (CommonJS, evaluated: no loader needed to start it). */
const CONFIG_LOADER = `
const { parentPort, workerData } = require('node:worker_threads');
// Plain objects and arrays of primitives, every key enumerable: what a clone carries unchanged.
const plain = (v, seen = new Set()) => {
  if (typeof v === 'function' || typeof v === 'symbol') return false;
  if (v === null || typeof v !== 'object' || seen.has(v)) return true;
  seen.add(v);
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null && proto !== Array.prototype) return false;
  return Reflect.ownKeys(v).every((k) => {
    const d = Object.getOwnPropertyDescriptor(v, k);
    return typeof k === 'string' && d.enumerable && (d.get === undefined ? plain(d.value, seen) : false);
  });
};
import(workerData.api)
  .then(({ tsImport }) => tsImport(workerData.url, workerData.parent))
  .then(
    (mod) => {
      // A CommonJS-format file's exports hold the default one level down (unwrapCommonJs below);
      // their __esModule mark is not enumerable, so it would not survive the clone.
      const value = mod.default && mod.default.__esModule === true ? mod.default.default : mod.default;
      parentPort.postMessage(plain(value) ? { module: { default: value } } : {});
    },
    (err) => parentPort.postMessage({ error: err instanceof Error ? err.message : String(err) }),
  );
`;

/**
 * A file outside an ES-module package is compiled to CommonJS; importing it gives its
 * `module.exports`, which holds the `default` export one level down.
 */
function unwrapCommonJs(value: unknown): unknown {
  const esModule = value && typeof value === 'object' && (value as { __esModule?: unknown }).__esModule === true;
  return esModule ? (value as { default?: unknown }).default : value;
}
