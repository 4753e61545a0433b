import { isLazyclusterError, type LazyclusterError } from '@lazycluster/ports';
import { describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  CommandFailedError,
  ConnectionError,
  HostKeyMismatchError,
  InvalidRuntimeError,
  NoRuntimesDetectedError,
  PathCreationError,
  SshConfigError,
  TaskExecutionError,
} from './errors.js';

const hostKey = { host: 'gpu1.lab', port: 22, keyType: 'ssh-ed25519', fingerprint: 'SHA256:abc' } as const;

describe('error classes', () => {
  const cases: [string, string, LazyclusterError][] = [
    ['HostKeyMismatchError', 'HOST_KEY_MISMATCH', new HostKeyMismatchError({ ...hostKey, reason: 'mismatch', file: '/k', line: 3, expectedType: 'ssh-ed25519' })],
    ['AuthenticationError', 'AUTHENTICATION', new AuthenticationError({ host: 'h', user: 'u', keyFiles: [], agent: false })],
    ['ConnectionError', 'CONNECTION', new ConnectionError({ host: 'h' })],
    ['InvalidRuntimeError', 'INVALID_RUNTIME', new InvalidRuntimeError({ host: 'h', reason: 'r' })],
    ['NoRuntimesDetectedError', 'NO_RUNTIMES_DETECTED', new NoRuntimesDetectedError()],
    ['PathCreationError', 'PATH_CREATION', new PathCreationError({ host: 'h', path: '/p' })],
    ['TaskExecutionError', 'TASK_EXECUTION', new TaskExecutionError({ host: 'h', task: 't', step: { index: 0, description: 'd' } })],
    ['CommandFailedError', 'COMMAND_FAILED', new CommandFailedError({ host: 'h', command: 'c', exitCode: 1, stdout: '', stderr: '' })],
    ['SshConfigError', 'CONFIG', new SshConfigError({ problem: 'p' })],
  ];
  it.each(cases)('%s has its code, name, and the lazycluster brand', (name, code, error) => {
    expect(error.code).toBe(code);
    expect(error.name).toBe(name);
    expect(error).toBeInstanceOf(Error);
    expect(isLazyclusterError(error)).toBe(true);
  });
});

describe('HostKeyMismatchError', () => {
  it('tells how to remove the stale line for a mismatch, naming file, line and both key types', () => {
    const error = new HostKeyMismatchError({ ...hostKey, port: 2222, reason: 'mismatch', file: '/root/.ssh/known_hosts', line: 7, expectedType: 'ecdsa-sha2-nistp256' });
    expect(error.message).toContain('[gpu1.lab]:2222');
    expect(error.message).toContain('/root/.ssh/known_hosts:7');
    expect(error.message).toContain('SHA256:abc');
    expect(error.message).toContain('ecdsa-sha2-nistp256');
    expect(error.message).toContain("ssh-keygen -R '[gpu1.lab]:2222' -f /root/.ssh/known_hosts");
    expect(error).toMatchObject({ reason: 'mismatch', file: '/root/.ssh/known_hosts', line: 7, files: ['/root/.ssh/known_hosts'] });
  });

  it('offers ssh-keyscan, a first ssh connection or accept-new for an unknown host', () => {
    const error = new HostKeyMismatchError({ ...hostKey, reason: 'unknown', files: ['/a', '/b'] });
    expect(error.message).toMatch(/not known \(searched \/a, \/b\)/);
    expect(error.message).toContain('ssh-keyscan gpu1.lab');
    expect(error.message).toContain("'accept-new'");
  });

  it('refuses a revoked key without suggesting to accept it', () => {
    const error = new HostKeyMismatchError({ ...hostKey, reason: 'revoked', file: '/k', line: 2 });
    expect(error.message).toMatch(/revoked/);
    expect(error.message).not.toContain('accept-new');
  });
});

describe('AuthenticationError', () => {
  it('lists the keys tried and whether an agent was asked', () => {
    const error = new AuthenticationError({ host: 'gpu1', user: 'ml', keyFiles: ['/k/id_ed25519'], agent: true });
    expect(error.message).toContain('ml@gpu1');
    expect(error.message).toContain('/k/id_ed25519');
    expect(error.message).toContain('ssh-agent');
    expect(error.message).toContain('ssh-copy-id ml@gpu1');
  });
});

describe('ConnectionError', () => {
  it.each([
    ['ECONNREFUSED', /sshd is running/],
    ['ENOTFOUND', /HostName/],
    ['ETIMEDOUT', /ConnectTimeout/],
    ['EWHATEVER', /check the address and port/i],
  ])('gives a fix for %s', (code, hint) => {
    const cause = Object.assign(new Error(`connect ${code}`), { code });
    const error = new ConnectionError({ host: 'gpu1', address: '10.0.0.7', port: 2222, cause });
    expect(error.message).toContain('gpu1 (10.0.0.7 port 2222)');
    expect(error.message).toContain(`connect ${code}`);
    expect(error.message).toMatch(hint);
    expect(error.cause).toBe(cause);
  });

  it('says what was going on when given a detail', () => {
    expect(new ConnectionError({ host: 'gpu1', detail: 'the connection was lost' }).message).toMatch(/gpu1 failed the connection was lost/);
  });
});

describe('CommandFailedError', () => {
  it('has the fields of a command result and a short message with the end of stderr', () => {
    const stderr = Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n');
    const error = new CommandFailedError({ host: 'gpu1', command: 'make', exitCode: 2, signal: null, stdout: 'out', stderr });
    expect(error).toMatchObject({ host: 'gpu1', command: 'make', exitCode: 2, signal: null, stdout: 'out', stderr, timedOut: false, isCanceled: false });
    expect(error.message).toMatch(/^Command failed with exit code 2 on gpu1: make\n/);
    expect(error.message).toContain('line 29');
    expect(error.message).not.toContain('line 19\n');
  });

  it.each([
    [{ timedOut: true }, /timed out/],
    [{ isCanceled: true }, /was canceled/],
    [{ signal: 'SIGKILL', exitCode: null }, /was killed by SIGKILL/],
  ])('says how it ended: %o', (extra, message) => {
    expect(new CommandFailedError({ host: 'h', command: 'c', exitCode: 1, stdout: '', stderr: '', ...extra }).message).toMatch(message);
  });
});

describe('TaskExecutionError', () => {
  it('names task, host, step (1-based for people), exit code and the stderr tail', () => {
    const error = new TaskExecutionError({ host: 'gpu1', task: 'setup', step: { index: 1, description: 'runCommand: pip install x' }, exitCode: 1, stderrTail: 'No matching distribution' });
    expect(error.message).toMatch(/Task "setup" failed on gpu1 at step 2 \(runCommand: pip install x\) with exit code 1/);
    expect(error.message).toContain('No matching distribution');
    expect(error).toMatchObject({ exitCode: 1, stderrTail: 'No matching distribution', step: { index: 1 } });
  });
});

describe('NoRuntimesDetectedError and the rest', () => {
  it('lists the hosts left out and why', () => {
    const error = new NoRuntimesDetectedError({ sshConfigPath: '/c', checked: 2, inactiveHosts: [{ host: 'a', reason: 'no python3' }, { host: 'b', reason: 'refused' }] });
    expect(error.message).toContain('/c (2 checked)');
    expect(error.message).toContain('a (no python3); b (refused)');
    expect(error.message).toContain('lazycluster add-runtime');
  });

  it('puts file and line in front of a config problem', () => {
    expect(new SshConfigError({ file: '/c', line: 4, problem: 'Bad port "0"' }).message).toBe('/c line 4: Bad port "0"');
    expect(new SshConfigError({ file: '/c', problem: 'unreadable' }).message).toBe('/c: unreadable');
  });

  it('says where a path could not be created and what to try', () => {
    const error = new PathCreationError({ host: 'gpu1', path: '/scratch/lc', cause: new Error('EACCES: permission denied') });
    expect(error.message).toContain('/scratch/lc on gpu1: EACCES');
    expect(error.message).toContain('workingDir');
  });
});
