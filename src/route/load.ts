/** Finds and loads the routes config file (`--config`, ROUTES_CONFIG, or ./routes.config.ts). */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { compileRoutes, type CompiledConfig } from './compile.js';
import type { RoutesConfig } from './define-routes.js';

export function configPath(argv: readonly string[] = process.argv, env = process.env): string {
  const i = argv.indexOf('--config');
  const fromArg = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--config='))?.slice('--config='.length);
  return resolve(fromArg ?? env.ROUTES_CONFIG ?? 'routes.config.ts');
}

/** Imports the file (TypeScript works under tsx) and compiles it; throws ConfigError. */
export async function loadRoutes(path: string): Promise<CompiledConfig> {
  if (!existsSync(path)) throw new ConfigError(`routes config not found: ${path}`);
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (err) {
    throw new ConfigError(`${path} could not be loaded: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!mod.default || typeof mod.default !== 'object') {
    throw new ConfigError(`${path} must default-export defineRoutes({...})`);
  }
  return compileRoutes(mod.default as RoutesConfig, path);
}
