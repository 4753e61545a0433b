import { describe, expect, it } from 'vitest';
import { schedulerCommand, tcpAddress, workerCommand, workerName } from './commands.js';

describe('schedulerCommand', () => {
  it('runs the scheduler module on the given host and port with its dashboard beside it', () => {
    expect(schedulerCommand({ python: '/usr/bin/python3', host: '127.0.0.1', port: 8786, dashboardPort: 0 })).toEqual([
      '/usr/bin/python3',
      '-m',
      'distributed.cli.dask_scheduler',
      '--host',
      '127.0.0.1',
      '--port',
      '8786',
      '--dashboard-address',
      '127.0.0.1:0',
    ]);
  });

  it('appends extra arguments last and brackets an IPv6 dashboard host', () => {
    const argv = schedulerCommand({ python: 'python3', host: 'fd00::1', port: 9000, dashboardPort: 8787, extraArgs: ['--idle-timeout', '1h'] });
    expect(argv.slice(-4)).toEqual(['--dashboard-address', '[fd00::1]:8787', '--idle-timeout', '1h']);
  });
});

describe('workerCommand', () => {
  const base = {
    python: '/usr/bin/python3',
    schedulerAddress: 'tcp://127.0.0.1:8786',
    host: '127.0.0.1',
    port: 60001,
    name: 'h1-0',
    localDirectory: '/tmp/lazycluster-abc',
  };

  it('listens and advertises the same address, with its HTTP server on that host, without nanny or dashboard by default', () => {
    expect(workerCommand(base)).toEqual([
      '/usr/bin/python3',
      '-m',
      'distributed.cli.dask_worker',
      'tcp://127.0.0.1:8786',
      '--listen-address',
      'tcp://127.0.0.1:60001',
      '--contact-address',
      'tcp://127.0.0.1:60001',
      '--name',
      'h1-0',
      '--local-directory',
      '/tmp/lazycluster-abc',
      '--no-nanny',
      '--no-dashboard',
      '--dashboard-address',
      '127.0.0.1:0',
    ]);
  });

  it('passes threads, memory limit and nanny, with extra arguments last', () => {
    const argv = workerCommand({ ...base, nthreads: 2, memoryLimit: '2GB', nanny: true, extraArgs: ['--resources', 'GPU=1'] });
    expect(argv).toContain('--nanny');
    expect(argv).not.toContain('--no-nanny');
    expect(argv.slice(-6)).toEqual(['--nthreads', '2', '--memory-limit', '2GB', '--resources', 'GPU=1']);
  });

  it('brackets an IPv6 listen host', () => {
    const argv = workerCommand({ ...base, host: 'fd00::11' });
    expect(argv.slice(4, 8)).toEqual(['--listen-address', 'tcp://[fd00::11]:60001', '--contact-address', 'tcp://[fd00::11]:60001']);
    expect(argv.slice(14, 16)).toEqual(['--dashboard-address', '[fd00::11]:0']);
  });

  it('writes a numeric memory limit as Dask reads it', () => {
    expect(workerCommand({ ...base, memoryLimit: 0.5 }).slice(-2)).toEqual(['--memory-limit', '0.5']);
  });
});

describe('addresses and names', () => {
  it('formats tcp addresses, bracketing IPv6 hosts', () => {
    expect(tcpAddress('10.0.0.1', 8786)).toBe('tcp://10.0.0.1:8786');
    expect(tcpAddress('::1', 8786)).toBe('tcp://[::1]:8786');
  });

  it('names a worker after its host and index', () => {
    expect(workerName('h2', 4)).toBe('h2-4');
  });
});
