import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostProcesses, readLab, type LabDescription } from '@lazycluster/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverAndFilter } from '../src/discover-and-filter.js';
import { exposeService } from '../src/expose-service.js';
import { fileRoundtripPython } from '../src/file-roundtrip-python.js';
import { runCommandAndFunction } from '../src/run-command-and-function.js';

let lab: LabDescription;
let scratch: string;

beforeAll(async () => {
  lab = await readLab();
  scratch = await mkdtemp(join(tmpdir(), 'lazycluster-examples-test-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function leftovers(): Promise<string[]> {
  const all = await Promise.all(lab.hosts.map(async (h) => (await hostProcesses(lab, h.name)).map((p) => `${h.name}: ${p.args}`)));
  return all.flat();
}

/**
 * What is still running on the hosts once everything had the chance to go: sshd ends a
 * session a moment after the client has closed it, so poll (briefly) instead of asking once.
 */
async function leftoversAfterExit(timeoutMs = 10_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (let pause = 20; ; pause = Math.min(pause * 2, 500)) {
    const found = await leftovers();
    if (found.length === 0 || Date.now() > deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

describe('examples on the lab', () => {
  it('runs a command and a function on a runtime', async () => {
    const result = await runCommandAndFunction({ hosts: ['h1'], sshConfigPath: lab.sshConfigPath });
    expect(result.kernel).toMatch(/^Linux /);
    expect(result.primes).toEqual([2, 3, 5, 7, 11, 13, 17, 19, 23, 29]);
  });

  it('sends a file, transforms it with Python on the host and gets it back', async () => {
    const result = await fileRoundtripPython({ hosts: ['h2'], sshConfigPath: lab.sshConfigPath });
    expect(result.words).toBe(9);
    expect(result.result.split('\n')[0]).toBe('THE');
  });

  it('exposes a service on one host to every other host and the manager', async () => {
    const result = await exposeService({ hosts: ['h1', 'h2', 'h3'], sshConfigPath: lab.sshConfigPath });
    expect(result.answers).toEqual({ h1: 'served by h1', h2: 'served by h1', h3: 'served by h1', manager: 'served by h1' });
    expect(await leftoversAfterExit()).toEqual([]);
  });

  it('discovers hosts from the SSH config and reports an unreachable one with its reason', async () => {
    const config = join(scratch, 'ssh_config');
    const unreachable = `${lab.subnet}.250`;
    await writeFile(config, `${await readFile(lab.sshConfigPath, 'utf8')}\nHost ghost\n  HostName ${unreachable}\n  ConnectTimeout 2\n  IdentityFile ${lab.identityFile}\n  UserKnownHostsFile ${lab.knownHostsPath}\n`);
    const result = await discoverAndFilter({ sshConfigPath: config });
    expect(result.active).toEqual(lab.hosts.map((h) => h.name));
    expect(result.group).toEqual(lab.hosts.map((h) => h.name));
    expect(result.inactive.map((h) => h.host)).toEqual(['ghost']);
    expect(result.inactive[0]?.reason).toMatch(/ghost|10\.|timed out|no answer/i);
  });
});

describe('dask example on the lab', () => {
  it('computes from Python on workers of every host and is inspected from TypeScript', async () => {
    const { daskPythonAndTypescript } = await import('../src/dask-python-and-typescript.js');
    const result = await daskPythonAndTypescript({ hosts: ['h1', 'h2', 'h3'], sshConfigPath: lab.sshConfigPath });
    expect(result.sum).toBe(328350);
    expect(result.workersSeenByTypeScript).toHaveLength(3);
    expect(result.workersThatComputed.length).toBeGreaterThanOrEqual(2);
    expect(result.workersThatComputed.every((name) => result.workersSeenByTypeScript.includes(name))).toBe(true);
    expect(await leftoversAfterExit()).toEqual([]);
  }, 120_000);
});
