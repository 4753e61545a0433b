import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hostProcesses, readLab, type LabDescription } from '@lazycluster/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finish, firstStdoutLine, freePort, runCli, startCli } from './cli-process.js';

const PYTHON = '/usr/bin/python3';
const DASK_TEST_TIMEOUT_MS = 180_000;

let lab: LabDescription;
let dir: string;

beforeAll(async () => {
  lab = await readLab();
  dir = await mkdtemp(join(tmpdir(), 'lazycluster-cli-dask-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Manager processes whose command line mentions `text` (the scheduler has its port in it). */
async function managerProcessesWith(text: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)('ps', ['-eo', 'pid=,args=']);
  return stdout.split('\n').filter((line) => line.includes(text) && !line.includes('ps -eo'));
}

/** Lab host processes that belong to this cluster: a worker pid, or the master port in their command line. */
async function leftovers(pids: readonly number[], port: number): Promise<string[]> {
  const found: string[] = [];
  for (const host of lab.hosts) {
    for (const proc of await hostProcesses(lab, host.name)) {
      if (pids.includes(proc.pid) || proc.args.includes(`:${port}`)) found.push(`${host.name}: ${proc.pid} ${proc.args}`);
    }
  }
  return found;
}

interface UpJson {
  schedulerAddress: string;
  dashboardLink: string | null;
  workers: { index: number; host: string; port: number; pid: number }[];
}

describe('dask up', () => {
  it('prints the cluster as JSON once every worker is connected, and removes everything on SIGINT with exit 0', { timeout: DASK_TEST_TIMEOUT_MS }, async () => {
    const port = await freePort();
    const child = startCli(['--ssh-config', lab.sshConfigPath, 'dask', 'up', '--json', '--python', PYTHON, '--master-port', String(port), '--workers', '4', '--nthreads', '1']);
    let json: UpJson;
    try {
      json = JSON.parse(await firstStdoutLine(child)) as UpJson;
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
    expect(Object.keys(json).sort()).toEqual(['dashboardLink', 'schedulerAddress', 'workers']);
    expect(json.schedulerAddress).toBe(`tcp://127.0.0.1:${port}`);
    expect(json.workers.map((w) => w.index)).toEqual([0, 1, 2, 3]);
    expect(json.workers.map((w) => w.host)).toEqual(['h1', 'h2', 'h3', 'h1']);
    for (const worker of json.workers) expect(Object.keys(worker).sort()).toEqual(['host', 'index', 'pid', 'port']);

    const pids = json.workers.map((w) => w.pid);
    // The cluster really runs: its workers are on the hosts and its scheduler on the manager.
    expect((await leftovers(pids, port)).length).toBeGreaterThanOrEqual(4);
    expect(await managerProcessesWith(`--port ${port}`)).not.toEqual([]);

    child.kill('SIGINT');
    const result = await finish(child);
    expect(result.stderr).toContain('Cluster removed.');
    expect(result.code).toBe(0);
    expect(await leftovers(pids, port)).toEqual([]);
    expect(await managerProcessesWith(`--port ${port}`)).toEqual([]);
  });

  it('prints the scheduler, the dashboard and a worker table in text mode, and stops on SIGTERM with exit 0', { timeout: DASK_TEST_TIMEOUT_MS }, async () => {
    const port = await freePort();
    const child = startCli(['--ssh-config', lab.sshConfigPath, 'dask', 'up', '--hosts', 'h2', '--python', PYTHON, '--master-port', String(port)]);
    const first = await firstStdoutLine(child).catch((error: unknown) => {
      child.kill('SIGKILL');
      throw error;
    });
    expect(first).toBe(`Scheduler  tcp://127.0.0.1:${port}`);
    // Progress lines go to stderr, as plain lines when it is not a terminal.
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (child.output.stderr.includes('Press Ctrl-C')) resolve();
      };
      child.stderr?.on('data', check);
      check();
    });
    child.kill('SIGTERM');
    const result = await finish(child);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^WORKER\s+HOST\s+PORT\s+PID\n0\s+h2\s+\d+\s+\d+$/m);
    expect(result.stderr).toMatch(/^h2: connecting$/m);
    expect(result.stderr).toMatch(/^scheduler: ready on port \d+$/m);
    expect(result.stderr).toMatch(/^h2: 1\/1 worker ready$/m);
    expect(await managerProcessesWith(`--port ${port}`)).toEqual([]);
  });

  it('exits at once on a second SIGINT, and the hosts still stop every process', { timeout: DASK_TEST_TIMEOUT_MS }, async () => {
    const port = await freePort();
    const child = startCli(['--ssh-config', lab.sshConfigPath, 'dask', 'up', '--json', '--python', PYTHON, '--master-port', String(port)]);
    const json = JSON.parse(await firstStdoutLine(child).catch((error: unknown) => {
      child.kill('SIGKILL');
      throw error;
    })) as UpJson;
    const pids = json.workers.map((w) => w.pid);
    expect((await leftovers(pids, port)).length).toBeGreaterThanOrEqual(3);
    child.kill('SIGINT');
    // Two signals sent at once may reach the process as one: send the second once the first is seen.
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (child.output.stderr.includes('SIGINT: removing the cluster')) resolve();
      };
      child.stderr?.on('data', check);
      check();
    });
    child.kill('SIGINT');
    const result = await finish(child);
    expect(result.stderr).not.toContain('Cluster removed.');
    expect(result.code).toBe(130);
    // The agents notice the closed connections on their own: watch them do it.
    const deadline = Date.now() + 30_000;
    let left = await leftovers(pids, port);
    while (left.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setImmediate(resolve));
      left = await leftovers(pids, port);
    }
    expect(left).toEqual([]);
    expect(await managerProcessesWith(`--port ${port}`)).toEqual([]);
  });

  it('refuses --master-port 0 and 70000 with exit code 2 before doing anything', async () => {
    for (const port of ['0', '70000']) {
      const result = await runCli(['--ssh-config', lab.sshConfigPath, 'dask', 'up', '--master-port', port]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/--master-port <port>' argument .* is invalid/);
    }
  });

  it('fails with exit code 1 naming the host when a --hosts host cannot be reached', { timeout: DASK_TEST_TIMEOUT_MS }, async () => {
    const result = await runCli(['--ssh-config', lab.sshConfigPath, 'dask', 'up', '--hosts', 'h1,nosuchhost', '--python', PYTHON, '--master-port', String(await freePort())]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^lazycluster: SSH connection to nosuchhost/m);
  });
});

describe('dask run', () => {
  const job = [
    'import sys',
    'from dask.distributed import Client',
    'client = Client()',
    'print(sorted(w["name"] for w in client.scheduler_info()["workers"].values()))',
    'print(sum(client.gather(client.map(lambda x: x * x, range(10)))))',
    'client.close()',
    'sys.exit(3)',
  ].join('\n');

  it('runs the command against the cluster and exits with its code', { timeout: DASK_TEST_TIMEOUT_MS }, async () => {
    const port = await freePort();
    const result = await runCli(['--ssh-config', lab.sshConfigPath, 'dask', 'run', '--python', PYTHON, '--master-port', String(port), '--', PYTHON, '-c', job]);
    expect(result.stdout).toBe("['h1-0', 'h2-1', 'h3-2']\n285\n");
    expect(result.code).toBe(3);
    expect(await managerProcessesWith(`--port ${port}`)).toEqual([]);
  });

  it('runs on the manager alone when the SSH config names no host', { timeout: DASK_TEST_TIMEOUT_MS }, async () => {
    const config = join(dir, 'empty-config');
    await writeFile(config, '# no hosts yet\n');
    const result = await runCli(['--ssh-config', config, 'dask', 'run', '--python', PYTHON, '--master-port', String(await freePort()), '--', PYTHON, '-c', job.replace('sys.exit(3)', 'sys.exit(0)')]);
    expect(result.stderr).toContain('running the cluster on this machine alone');
    expect(result.stdout).toBe("['localhost-0']\n285\n");
    expect(result.code).toBe(0);
  });

  it('exits with 128 + n when a signal ends the command', { timeout: DASK_TEST_TIMEOUT_MS }, async () => {
    const result = await runCli(['--ssh-config', lab.sshConfigPath, 'dask', 'run', '--hosts', 'h1', '--python', PYTHON, '--master-port', String(await freePort()), '--', 'sh', '-c', 'kill -TERM $$']);
    expect(result.code).toBe(143);
  });

  it('exits 127 when the command does not exist, after removing the cluster', { timeout: DASK_TEST_TIMEOUT_MS }, async () => {
    const port = await freePort();
    const result = await runCli(['--ssh-config', lab.sshConfigPath, 'dask', 'run', '--hosts', 'h1', '--python', PYTHON, '--master-port', String(port), '--', 'no-such-command-xyz']);
    expect(result.code).toBe(127);
    expect(result.stderr).toMatch(/cannot run no-such-command-xyz: command not found/);
    expect(await managerProcessesWith(`--port ${port}`)).toEqual([]);
  });

  it('is a usage error without "--"', async () => {
    const result = await runCli(['--ssh-config', lab.sshConfigPath, 'dask', 'run', PYTHON]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('dask run needs the command after "--"');
  });
});
