import { describe, expect, it } from 'vitest';
import { DaskConfigError } from '../../client/errors.js';
import type { DaskWorkerOptions } from '../options.js';
import { checkNetwork, checkSchedulerOptions, checkWorkerOptions } from './validate.js';

function rejection(options: unknown): unknown {
  try {
    checkWorkerOptions(options as DaskWorkerOptions);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('checkWorkerOptions', () => {
  it.each([0, -1, 1.5, Number.NaN, '2'])('refuses nthreads %s with CONFIG naming the option', (nthreads) => {
    const error = rejection({ nthreads });
    expect(error).toBeInstanceOf(DaskConfigError);
    expect(error).toMatchObject({ code: 'CONFIG' });
    expect((error as Error).message).toContain('worker.nthreads must be a whole number >= 1');
  });

  it.each([1, 64])('accepts nthreads %s', (nthreads) => {
    expect(checkWorkerOptions({ nthreads }).nthreads).toBe(nthreads);
  });

  it.each(['4GB', '512 MiB', '2e9', '1.5G', 'auto', '0.5', '100', '1 kib', 4_000_000_000, 0.25, 0])('accepts memoryLimit %s', (memoryLimit) => {
    expect(checkWorkerOptions({ memoryLimit }).memoryLimit).toBe(memoryLimit);
  });

  it.each(['lots', '4 foos', '-1GB', '', 'GB', -1, Number.POSITIVE_INFINITY, Number.NaN])('refuses memoryLimit %s', (memoryLimit) => {
    const error = rejection({ memoryLimit });
    expect(error).toBeInstanceOf(DaskConfigError);
    expect((error as Error).message).toContain('worker.memoryLimit must be');
  });

  it('refuses an empty interpreter, naming the host of a per-host map', () => {
    expect((rejection({ python: '' }) as Error).message).toContain('worker.python must be');
    expect((rejection({ python: { h1: '/usr/bin/python3', h2: ' ' } }) as Error).message).toContain('worker.python.h2 must be');
  });

  it('refuses extra arguments that are not strings and env values that are not strings', () => {
    expect((rejection({ extraArgs: ['--x', 1] }) as Error).message).toContain('worker.extraArgs must be an array of strings');
    expect((rejection({ env: { A: 1 } }) as Error).message).toContain('worker.env must map');
  });

  it('returns a copy that later changes to the input do not touch', () => {
    const extraArgs = ['--lifetime', '1h'];
    const python = { h1: '/usr/bin/python3' };
    const checked = checkWorkerOptions({ extraArgs, python });
    extraArgs.push('--oops');
    python.h1 = 'python2';
    expect(checked.extraArgs).toEqual(['--lifetime', '1h']);
    expect(checked.python).toEqual({ h1: '/usr/bin/python3' });
  });
});

describe('checkSchedulerOptions and checkNetwork', () => {
  it('refuses a dashboard port out of range', () => {
    expect(() => checkSchedulerOptions({ dashboardPort: 70_000 })).toThrow(/scheduler.dashboardPort must be a port number/);
    expect(checkSchedulerOptions({ dashboardPort: 0 }).dashboardPort).toBe(0);
  });

  it('accepts tunnel and direct only', () => {
    expect(checkNetwork('tunnel')).toBe('tunnel');
    expect(checkNetwork('direct')).toBe('direct');
    expect(() => checkNetwork('ssh')).toThrow(DaskConfigError);
  });
});
