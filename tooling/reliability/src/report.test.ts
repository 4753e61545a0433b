import { describe, expect, it } from 'vitest';
import { soakVerdict } from './load/verdict.js';
import { faultTable, formatTable, parseVitestJson } from './report.js';

const report = {
  testResults: [
    {
      name: '/repo/packages/dask/test/reliability/worker-killed.integration.test.ts',
      status: 'passed',
      assertionResults: [
        {
          title: 'is reported within seconds',
          status: 'passed',
          duration: 1234,
          failureMessages: [],
          meta: { fault: { fault: 'worker SIGKILL', expected: 'worker-exited', observed: 'worker-exited after 40 ms', detectMs: 40, leftovers: 0 } },
        },
        { title: 'a plain test', status: 'passed', duration: 5, failureMessages: [], meta: {} },
      ],
    },
    {
      name: '/repo/packages/runtime/test/reliability/hostile-input.integration.test.ts',
      status: 'failed',
      assertionResults: [{ title: 'keeps working after a NUL path', status: 'failed', duration: 9, failureMessages: ['AssertionError: hung\n    at x'], meta: {} }],
    },
    { name: '/repo/packages/dask/test/reliability/broken.integration.test.ts', status: 'failed', message: 'Cannot find module x\nstack', assertionResults: [] },
  ],
};

describe('the reliability report', () => {
  it('reads tests, their fault observations and failures from vitest\'s JSON report', () => {
    const rows = parseVitestJson(JSON.stringify(report), '/repo');
    expect(rows.map((r) => [r.file, r.status])).toEqual([
      ['packages/dask/test/reliability/worker-killed.integration.test.ts', 'passed'],
      ['packages/dask/test/reliability/worker-killed.integration.test.ts', 'passed'],
      ['packages/runtime/test/reliability/hostile-input.integration.test.ts', 'failed'],
      ['packages/dask/test/reliability/broken.integration.test.ts', 'failed'],
    ]);
    expect(rows[0]?.fault?.detectMs).toBe(40);
    expect(rows[1]?.fault).toBeUndefined();
    expect(rows[2]?.failure).toBe('AssertionError: hung');
    expect(rows[3]?.failure).toBe('Cannot find module x');
  });

  it('lists failures first, then faults, with time to detect and leftovers', () => {
    const table = faultTable(parseVitestJson(JSON.stringify(report), '/repo')).split('\n');
    expect(table[0]).toMatch(/^fault +\| expected +\| observed +\| time to detect \| leftovers$/);
    expect(table[2]).toContain('FAILED: AssertionError: hung');
    expect(table.at(-1)).toMatch(/^worker SIGKILL .*\| 0\.04 s +\| 0$/);
    expect(table).toHaveLength(2 + 3);
  });

  it('pads columns to their widest cell', () => {
    expect(formatTable(['a', 'bb'], [['ccc', 'd']])).toBe('a   | bb\n----|---\nccc | d');
  });
});

describe('the soak verdict', () => {
  const sample = (heapMb: number, fds: number, handles: number) => ({ atMs: 0, rssBytes: 0, heapUsedBytes: heapMb * 2 ** 20, openFds: fds, fdKinds: { socket: fds }, activeResources: handles });

  it('is stable when descriptors, handles and heap stay flat', () => {
    expect(soakVerdict([sample(30, 40, 20), sample(35, 42, 21), sample(31, 41, 20)]).stable).toBe(true);
  });

  it('is not stable when descriptors or handles grow, or the heap keeps growing', () => {
    expect(soakVerdict([sample(30, 40, 20), sample(30, 60, 20)])).toMatchObject({ stable: false, why: 'open fds 40 -> 60' });
    expect(soakVerdict([sample(30, 40, 20), sample(30, 40, 40)]).stable).toBe(false);
    expect(soakVerdict([sample(30, 40, 20), sample(90, 40, 20)]).stable).toBe(false);
    expect(soakVerdict([sample(30, 40, 20)]).stable).toBe(false);
  });
});
