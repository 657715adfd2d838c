import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The workspace package @kaleyra-callback-router/delivery-events runs from its source here,
  // as under tsc and tsx: tsconfig.json's `paths` is the one mapping (no build before tests).
  resolve: { tsconfigPaths: true },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
          typecheck: { enabled: true, include: ['src/**/*.test-d.ts'] },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          // One broker and fixed ports: integration files run one at a time.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
