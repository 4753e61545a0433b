import { isLazyclusterError } from '@lazycluster/ports';
import { describe, expect, it } from 'vitest';
import { MasterStartError, NoReachableHostsError, WorkerStartError } from './errors.js';

describe('MasterStartError', () => {
  it('names host, port, exit code and stderr tail, and says what to do', () => {
    const error = new MasterStartError({ host: 'localhost', port: 8786, reason: 'exited', exitCode: 2, stderrTail: 'OSError: [Errno 98] Address already in use' });
    expect(error.code).toBe('MASTER_START');
    expect(isLazyclusterError(error)).toBe(true);
    expect(error.message).toContain('localhost (port 8786) exited with code 2');
    expect(error.message).toContain('Address already in use');
    expect(error.message.endsWith(error.fix)).toBe(true);
    expect(error.stderrTail).toContain('Errno 98');
  });

  it('describes a timeout with the deadline', () => {
    const error = new MasterStartError({ host: 'h1', port: 60000, reason: 'timeout', timeoutMs: 1500, stderrTail: '' });
    expect(error.message).toContain('not ready within 1500 ms');
    expect(error.message).toContain('wrote nothing to stderr');
    expect(error.fix).toContain('timeoutMs');
  });

  it('keeps the cause of a failed launch', () => {
    const cause = new Error('spawn ENOENT');
    const error = new MasterStartError({ host: 'h1', port: 1, reason: 'failed', stderrTail: '', cause });
    expect(error.cause).toBe(cause);
    expect(error.message).toContain('spawn ENOENT');
  });
});

describe('WorkerStartError', () => {
  it('names the worker index and its signal', () => {
    const error = new WorkerStartError({ host: 'h2', port: 60010, index: 3, reason: 'exited', exitCode: null, signal: 'SIGKILL', stderrTail: 'killed' });
    expect(error.code).toBe('WORKER_START');
    expect(error.index).toBe(3);
    expect(error.message).toContain('worker 3 on h2 (port 60010) was ended by SIGKILL');
  });
});

describe('NoReachableHostsError', () => {
  it('lists every host with its reason', () => {
    const error = new NoReachableHostsError({ failures: [{ host: 'h1', reason: 'refused' }, { host: 'h2', reason: 'timed out' }] });
    expect(error.code).toBe('NO_RUNTIMES_DETECTED');
    expect(error.message).toContain('h1: refused; h2: timed out');
  });
});
