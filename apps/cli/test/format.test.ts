import type { RuntimeInfo } from '@lazycluster/runtime';
import { describe, expect, it } from 'vitest';
import { commandExitCode } from '../src/commands/dask/dask-run.js';
import { daskUpJson, formatDaskUp } from '../src/commands/dask/format.js';
import { workersPerHost } from '../src/commands/dask/start-cluster.js';
import { execSummary, remoteCommandLine } from '../src/commands/exec/exec.js';
import { formatRuntimeList, runtimeListJson } from '../src/commands/list-runtimes/format.js';
import { UsageError, exitCodeFor, formatError } from '../src/lib/errors.js';
import { painter } from '../src/lib/output.js';
import { signalExitCode } from '../src/lib/signals.js';
import { ConnectionError } from '@lazycluster/runtime';

const plain = painter(false);
const info = (host: string, extra: Partial<RuntimeInfo> = {}): RuntimeInfo => ({
  host,
  os: 'Linux (Debian GNU/Linux 12 (bookworm))',
  cpuCores: 2,
  memoryBytes: 8 * 1024 ** 3,
  pythonVersion: '3.11.2',
  gpus: [],
  ...extra,
});

describe('list-runtimes output', () => {
  it('has exactly the documented JSON fields', () => {
    const json = runtimeListJson([info('h1', { gpus: ['NVIDIA A100'] })], [{ host: 'h2', reason: 'refused' }]);
    expect(json).toEqual({
      active: [{ host: 'h1', os: 'Linux (Debian GNU/Linux 12 (bookworm))', cpuCores: 2, memoryBytes: 8 * 1024 ** 3, pythonVersion: '3.11.2', gpus: ['NVIDIA A100'] }],
      inactive: [{ host: 'h2', reason: 'refused' }],
    });
  });

  it('lists hosts with their state, inactive ones with the reason on one line', () => {
    expect(formatRuntimeList([info('h1'), info('host-two')], [{ host: 'h3', reason: 'no answer\nwithin 8000 ms' }], { long: false, paint: plain })).toEqual([
      'h1        active',
      'host-two  active',
      'h3        inactive  no answer within 8000 ms',
    ]);
  });

  it('shows an aligned table of facts with --long', () => {
    const lines = formatRuntimeList([info('h1'), info('h2', { cpuCores: 16, pythonVersion: null, gpus: ['A100', 'A100'] })], [{ host: 'h3', reason: 'refused' }], { long: true, paint: plain });
    expect(lines).toEqual([
      'HOST  OS                                      CORES  MEMORY   PYTHON  GPUS',
      'h1    Linux (Debian GNU/Linux 12 (bookworm))  2      8.0 GiB  3.11.2  -',
      'h2    Linux (Debian GNU/Linux 12 (bookworm))  16     8.0 GiB  -       A100, A100',
      '',
      'INACTIVE',
      'h3  refused',
    ]);
  });
});

describe('dask up output', () => {
  const workers = [
    { index: 1, host: 'h2', port: 60002, pid: 12, process: 'ignored' },
    { index: 0, host: 'h1', port: 60001, pid: 11 },
  ];

  it('has the documented JSON fields, workers in index order, null for no dashboard', () => {
    expect(daskUpJson('tcp://127.0.0.1:8786', undefined, workers)).toEqual({
      schedulerAddress: 'tcp://127.0.0.1:8786',
      dashboardLink: null,
      workers: [
        { index: 0, host: 'h1', port: 60001, pid: 11 },
        { index: 1, host: 'h2', port: 60002, pid: 12 },
      ],
    });
  });

  it('prints the scheduler, the dashboard and a worker table', () => {
    expect(formatDaskUp(daskUpJson('tcp://127.0.0.1:8786', 'http://127.0.0.1:8787/status', workers), plain)).toEqual([
      'Scheduler  tcp://127.0.0.1:8786',
      'Dashboard  http://127.0.0.1:8787/status',
      '',
      'WORKER  HOST  PORT   PID',
      '0       h1    60001  11',
      '1       h2    60002  12',
    ]);
  });

  it('places workers round-robin, as the launcher does', () => {
    expect([...workersPerHost(['h1', 'h2', 'h3'], 4)]).toEqual([['h1', 2], ['h2', 1], ['h3', 1]]);
    expect([...workersPerHost(['h1', 'h2'], 1)]).toEqual([['h1', 1], ['h2', 0]]);
  });
});

describe('exec', () => {
  it('joins the words with spaces and no quoting, as ssh does', () => {
    expect(remoteCommandLine(['echo', '$HOME', 'a b'])).toBe('echo $HOME a b');
  });

  it('sums up every host in one line', () => {
    expect(execSummary([{ host: 'h1', ok: true, detail: 'exit code 0' }, { host: 'h2', ok: true, detail: 'exit code 0' }])).toBe('exec: succeeded on all 2 hosts');
    expect(execSummary([{ host: 'h1', ok: true, detail: '' }, { host: 'h2', ok: false, detail: 'exit code 3' }])).toBe('exec: failed on 1 of 2 hosts: h2 (exit code 3)');
  });
});

describe('exit codes and errors', () => {
  it('are 2 for usage errors and 1 for everything else', () => {
    expect(exitCodeFor(new UsageError('bad'))).toBe(2);
    expect(exitCodeFor(new ConnectionError({ host: 'h1' }))).toBe(1);
    expect(exitCodeFor(new Error('boom'))).toBe(1);
  });

  it('follow the shell for signals: 128 + the signal number', () => {
    expect(signalExitCode('SIGINT')).toBe(130);
    expect(signalExitCode('SIGTERM')).toBe(143);
    expect(commandExitCode(3, null)).toBe(3);
    expect(commandExitCode(null, 'SIGKILL')).toBe(137);
  });

  it('print one line naming the host, the stack only with --debug', () => {
    const error = new ConnectionError({ host: 'h1', address: '10.0.0.1', port: 22, cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    const short = formatError(error, { debug: false });
    expect(short.trimEnd().split('\n')).toHaveLength(1);
    expect(short).toMatch(/^lazycluster: SSH connection to h1 \(10\.0\.0\.1 port 22\) failed.*sshd is running/);
    const long = formatError(error, { debug: true });
    expect(long).toMatch(/\n\s+at /);
    expect(long).toContain('Caused by: Error: connect ECONNREFUSED');
  });

  it('point at --help for usage errors and at --debug for unexpected ones', () => {
    expect(formatError(new UsageError('bad flag'), { debug: false, command: 'dask up' })).toBe('lazycluster: bad flag\nSee `lazycluster dask up --help`.\n');
    expect(formatError(new TypeError('x is undefined'), { debug: false })).toContain('run again with --debug');
  });
});
