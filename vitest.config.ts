import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
    // expect.poll waits for something to happen: a generous deadline, since two suites on two
    // busy cores can slow a step tenfold (the default is 1 s)
    expect: { poll: { timeout: 10_000 } },
  },
});
