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
          include: ['src/**/*.test.ts', 'src/**/*.test.tsx', 'bench/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
          // Unit tests first, then the integration files: those start brokers, replicas and a
          // 3-node drill that take both cores, and unit tests that wait on real timers (a webhook
          // timeout, a retry) must not share the machine with them.
          sequence: { groupOrder: 0 },
          // Waits inside tests are bounded by their own waitFor; this only stops a hung one.
          testTimeout: 20_000,
          typecheck: { enabled: true, include: ['src/**/*.test-d.ts'] },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          sequence: { groupOrder: 1 },
          // One broker and fixed ports: integration files run one at a time.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
