/**
 * What the Docker image holds, laid out in a directory without Docker: the router compiled by
 * tsc (tsconfig.build.json) where its sources were, the event contract built to its dist/, the
 * node_modules linked, the repository's routes.config.ts still TypeScript. The image runs it as
 * `node src/server.js` from `app/`. Used by test/compiled-build.test.ts and by `npm run bench`,
 * which measures the router as the image runs it.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PACKAGE = '@kaleyra-callback-router/delivery-events';

/**
 * Builds the image's layout of the repository at `repo` into `<root>/app` and returns that path.
 * @example const app = await buildImageLayout(tempDir, REPO) // then: node src/server.js, cwd app
 */
export async function buildImageLayout(root: string, repo: string): Promise<string> {
  const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  const app = join(root, 'app');
  // As in the image: the workspace package under packages/, linked from node_modules.
  const pkg = join(app, 'packages', 'delivery-events');
  mkdirSync(join(app, 'node_modules', '@kaleyra-callback-router'), { recursive: true });
  // The event contract as `npm run build:events` makes it.
  await run(process.execPath, [tsc, '-p', join(repo, 'packages/delivery-events/tsconfig.json'), '--outDir', join(pkg, 'dist')]);
  copyFileSync(join(repo, 'packages/delivery-events/package.json'), join(pkg, 'package.json'));
  symlinkSync(pkg, join(app, 'node_modules', PACKAGE));
  // The router as `tsc -p tsconfig.build.json` compiles it, resolving the package to that dist/.
  const buildConfig = join(root, 'tsconfig.build.json');
  writeFileSync(
    buildConfig,
    JSON.stringify({
      extends: join(repo, 'tsconfig.build.json'),
      compilerOptions: { outDir: join(app, 'src'), typeRoots: [join(repo, 'node_modules/@types')], paths: { [PACKAGE]: [join(pkg, 'dist/index.d.ts')] } },
      include: [join(repo, 'src')],
      exclude: [join(repo, 'src/**/*.test.ts'), join(repo, 'src/**/*.test.tsx'), join(repo, 'src/**/*.test-d.ts'), join(repo, 'src/testing')],
    }),
  );
  await run(process.execPath, [tsc, '-p', buildConfig]);
  for (const dep of readdirSync(join(repo, 'node_modules'))) {
    if (dep !== '@kaleyra-callback-router' && dep !== '.bin') symlinkSync(join(repo, 'node_modules', dep), join(app, 'node_modules', dep));
  }
  copyFileSync(join(repo, 'package.json'), join(app, 'package.json'));
  copyFileSync(join(repo, 'routes.config.ts'), join(app, 'routes.config.ts'));
  return app;
}
