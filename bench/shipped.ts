/**
 * The router as the Docker image runs it: compiled by tsc, started with plain `node
 * src/server.js` (scripts/image-layout.ts builds the same layout as the Dockerfile). Built once
 * per run into a temporary directory. Measured this way, and not through `npm start`'s tsx
 * loader, which adds its own thread and transform caches (about 25 MB of RSS, measured).
 */
import { buildImageLayout } from '../scripts/image-layout.js';
import { REPO, tempDir } from './processes.js';

export interface ShippedRouter {
  /** The app directory: the process's cwd. */
  cwd: string;
  /** Its entry point. */
  script: string;
}

let built: Promise<ShippedRouter> | null = null;

/** @example const { cwd, script } = await shippedRouter(); await startTarget('router', script, env, '/readyz', cwd) */
export function shippedRouter(): Promise<ShippedRouter> {
  built ??= buildImageLayout(tempDir('kcr-bench-image-'), REPO).then((app) => ({ cwd: app, script: `${app}/src/server.js` }));
  return built;
}
