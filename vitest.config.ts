import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests import workspace packages by name; resolve them to src/ so no build is needed.
const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));
const alias = {
  '@lazycluster/ports': src('ports'),
  '@lazycluster/runtime': src('runtime'),
  '@lazycluster/core': src('core'),
  '@lazycluster/dask': src('dask'),
  '@lazycluster/lab': fileURLToPath(new URL('./tooling/lab/src/index.ts', import.meta.url)),
};
const include = ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'tooling/*/src/**/*.test.ts', 'tooling/*/test/**/*.test.ts'];

export default defineConfig({
  test: {
    projects: [
      {
        resolve: { alias },
        test: { name: 'unit', include, exclude: ['**/*.integration.test.ts', '**/node_modules/**'], sequence: { groupOrder: 0 } },
      },
      {
        resolve: { alias },
        test: {
          name: 'integration',
          include: include.map((p) => p.replace('*.test.ts', '*.integration.test.ts')),
          globalSetup: ['tooling/lab/src/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // One file at a time: every file shares the lab's hosts, and port leases protect
          // against collisions only inside one process (two test processes could pick the
          // same port on a host between probe and bind). 2 cores gain little from more.
          maxWorkers: 1,
          // Projects with different worker limits must run as separate groups: units first.
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
