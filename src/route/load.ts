/** Finds and loads the routes config file (`--config`, ROUTES_CONFIG, or ./routes.config.ts). */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
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
    mod = (await tsImport(pathToFileURL(path).href, import.meta.url)) as { default?: unknown };
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
 * A file outside an ES-module package is compiled to CommonJS; importing it gives its
 * `module.exports`, which holds the `default` export one level down.
 */
function unwrapCommonJs(value: unknown): unknown {
  const esModule = value && typeof value === 'object' && (value as { __esModule?: unknown }).__esModule === true;
  return esModule ? (value as { default?: unknown }).default : value;
}
