import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DaskNotInstalledError } from '../errors.js';
import { agreeOnManagerAddress, hostFactsCommand, parseHostFacts, requirePython } from './host-facts.js';

const run = promisify(execFile);

describe('hostFactsCommand', () => {
  it('tries interpreters in order in a real shell and stops at the first with distributed', async () => {
    const { stdout } = await run('/bin/sh', ['-c', hostFactsCommand(['/nonexistent/python3', '/usr/bin/python3', '/also/not/there'])], {
      env: { PATH: '/usr/bin:/bin', SSH_CONNECTION: '10.0.0.1 50000 10.0.0.11 22' },
    });
    const facts = parseHostFacts('h1', stdout, false);
    expect(facts.python).toBe('/usr/bin/python3');
    expect(facts.refused).toEqual([{ python: '/nonexistent/python3', problem: 'was not found' }]);
    expect(facts.managerAddress).toBe('10.0.0.1');
    expect(facts.ownAddress).toBe('10.0.0.11');
  });

  it("reports an interpreter that runs but has no 'distributed'", async () => {
    // A real interpreter started with -S (no site-packages) cannot find distributed.
    const bin = await mkdtemp(join(tmpdir(), 'lazycluster-facts-'));
    try {
      await writeFile(join(bin, 'py'), '#!/bin/sh\nexec /usr/bin/python3 -S "$@"\n');
      await chmod(join(bin, 'py'), 0o755);
      const { stdout } = await run('/bin/sh', ['-c', hostFactsCommand(['py'])], { env: { PATH: `${bin}:/usr/bin:/bin` } });
      const facts = parseHostFacts('h2', stdout, false);
      expect(facts.python).toBeUndefined();
      expect(facts.refused).toEqual([{ python: 'py', problem: "has no 'distributed' module" }]);
      expect(facts.managerAddress).toBeUndefined();
    } finally {
      await rm(bin, { recursive: true, force: true });
    }
  });
});

describe('parseHostFacts', () => {
  it('ignores SSH_CONNECTION on the manager, where it is the manager’s own login', () => {
    const facts = parseHostFacts('localhost', 'ssh\t192.168.1.5 4000 192.168.1.9 22\npython\tpython3\t0\t/usr/bin/python3\n', true);
    expect(facts).toMatchObject({ python: '/usr/bin/python3', managerAddress: undefined, ownAddress: undefined });
  });

  it('keeps the detail of an interpreter that failed otherwise', () => {
    const facts = parseHostFacts('h3', 'ssh\t\npython\tpython3\t1\tpyenv: version `3.12` is not installed\n', false);
    expect(facts.refused).toEqual([{ python: 'python3', problem: 'failed (exit code 1): pyenv: version `3.12` is not installed' }]);
  });
});

describe('requirePython', () => {
  it('throws INVALID_RUNTIME naming the host, what was tried and the fix', () => {
    const facts = parseHostFacts('h2', 'python\tpython3\t3\t/root/.pyenv/versions/3.12/bin/python3\n', false);
    let error: unknown;
    try {
      requirePython(facts, 'worker');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DaskNotInstalledError);
    expect(error).toMatchObject({ code: 'INVALID_RUNTIME', host: 'h2', tried: [{ python: 'python3', problem: "has no 'distributed' module" }] });
    const message = (error as Error).message;
    expect(message).toContain('Dask cannot run on h2');
    expect(message).toContain('apt install python3-distributed');
    expect(message).toContain('worker.python');
  });
});

describe('agreeOnManagerAddress', () => {
  it('returns the one address every host sees, or loopback without remote hosts', () => {
    expect(agreeOnManagerAddress([{ host: 'h1', managerAddress: '10.0.0.1' }, { host: 'h2', managerAddress: '10.0.0.1' }])).toBe('10.0.0.1');
    expect(agreeOnManagerAddress([])).toBe('127.0.0.1');
  });

  it('refuses hosts that see the manager at different addresses, naming them', () => {
    expect(() => agreeOnManagerAddress([{ host: 'h1', managerAddress: '10.0.0.1' }, { host: 'h2', managerAddress: '10.1.0.1' }])).toThrow(
      /h1 sees 10\.0\.0\.1, h2 sees 10\.1\.0\.1\)\. Use network: 'tunnel'/,
    );
  });

  it('refuses a host that did not report its SSH connection', () => {
    expect(() => agreeOnManagerAddress([{ host: 'h1', managerAddress: undefined }])).toThrow(/h1 did not report SSH_CONNECTION/);
  });
});
