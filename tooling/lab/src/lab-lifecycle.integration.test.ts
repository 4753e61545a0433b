// The lab's own lifecycle, on a second lab (its own prefix, subnet and state dir) so the
// shared lab of the global setup is never touched.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { LabInUseError, execOnHost, labDown, labUp, readLab, spawnOnHost, sshToHost } from '@lazycluster/lab';
import type { LabDescription, LabOptions } from '@lazycluster/lab';
import { LAB_SCRIPT } from './lab.js';

const execFileAsync = promisify(execFile);

const OPTIONS = { prefix: 'lzt', subnet: '10.214.0', stateDir: '/var/lib/lazycluster-lab-lifecycle-test' } as const satisfies LabOptions;

async function namespaces(): Promise<string[]> {
  const { stdout } = await execFileAsync('ip', ['netns', 'list']);
  return stdout
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(`${OPTIONS.prefix}-`))
    .sort();
}

async function links(): Promise<string[]> {
  const { stdout } = await execFileAsync('ip', ['-o', 'link', 'show']);
  return stdout
    .split('\n')
    .map((line) => (line.split(': ')[1] ?? '').replace(/@.*/, ''))
    .filter((name) => name.startsWith(`${OPTIONS.prefix}-`))
    .sort();
}

/** Pids of live (non-zombie) processes whose command line mentions the state dir. */
async function processesUsingStateDir(): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const [cmdline, stat] = await Promise.all([readFile(`/proc/${entry}/cmdline`, 'utf8'), readFile(`/proc/${entry}/stat`, 'utf8')]);
      const zombie = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
      if (cmdline.includes(OPTIONS.stateDir) && !zombie) pids.push(Number(entry));
    } catch {
      // The process exited while we looked.
    }
  }
  return pids;
}

/** True when the pid is a live process (a zombie has released its namespaces: not alive). */
function isAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

async function expectWorking(lab: LabDescription): Promise<void> {
  const results = await Promise.all(lab.hosts.map((host) => sshToHost(lab, host.name, 'echo "$SSH_CONNECTION"')));
  lab.hosts.forEach((host, i) => {
    expect(results[i]?.exitCode).toBe(0);
    expect(results[i]?.stdout).toContain(` ${host.address} 22`);
  });
}

afterAll(async () => {
  await labDown(OPTIONS);
});

describe('lab lifecycle (prefix lzt, subnet 10.214.0)', () => {
  it('brings up a working lab twice in a row, the second replacing the first', async () => {
    const first = await labUp(2, OPTIONS);
    await expectWorking(first);
    const second = await labUp(2, OPTIONS);
    await expectWorking(second);

    expect(await namespaces()).toEqual(['lzt-h1', 'lzt-h2']);
    expect(await links()).toEqual(['lzt-br0', 'lzt-v1', 'lzt-v2']);
    for (const host of first.hosts) expect(isAlive(host.sshdPid)).toBe(false);
    for (const host of second.hosts) expect(isAlive(host.sshdPid)).toBe(true);
    expect(await readLab(OPTIONS)).toEqual(second);
  });

  it('clears a crashed run: killed sshd, stray processes and extra namespaces', async () => {
    const crashed = await labUp(3, OPTIONS);
    const [h1, h2] = crashed.hosts;
    // A process left running on h2 that nobody will stop, then a dead sshd on h1.
    const stray = spawnOnHost(crashed, h2!.name, ['sleep', '3600'], { stdio: 'ignore', detached: true });
    const strayPid = stray.pid!;
    stray.unref();
    await expect.poll(async () => (await execOnHost(crashed, h2!.name, ['ps', '-o', 'args=', '-p', String(strayPid)])).stdout.trim()).toBe('sleep 3600');
    process.kill(h1!.sshdPid, 'SIGKILL');

    const lab = await labUp(2, OPTIONS);
    await expectWorking(lab);
    expect(isAlive(strayPid)).toBe(false);
    for (const host of crashed.hosts) expect(isAlive(host.sshdPid)).toBe(false);
    expect(await namespaces()).toEqual(['lzt-h1', 'lzt-h2']);
    expect(await links()).toEqual(['lzt-br0', 'lzt-v1', 'lzt-v2']);
  });

  it('clears a run whose state dir was lost, through the namespaces alone', async () => {
    const lost = await labUp(2, OPTIONS);
    await rm(OPTIONS.stateDir, { recursive: true, force: true });

    const lab = await labUp(2, OPTIONS);
    await expectWorking(lab);
    for (const host of lost.hosts) expect(isAlive(host.sshdPid)).toBe(false);
  });

  it('fails clearly when an sshd does not come up, and leaves nothing behind', async () => {
    const env = { ...process.env, LAB_PREFIX: OPTIONS.prefix, LAB_SUBNET: OPTIONS.subnet, LAB_STATE: OPTIONS.stateDir, LAB_SSHD: '/bin/false' };
    const failed = await execFileAsync('bash', [LAB_SCRIPT, 'up', '2'], { env }).then(
      () => undefined,
      (error: unknown) => error as { code: number; stderr: string },
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toMatch(/h1: sshd exited at start/);
    expect(failed?.stderr).toMatch(/not every sshd came up/);
    expect(await namespaces()).toEqual([]);
    expect(await links()).toEqual([]);
    expect(existsSync(OPTIONS.stateDir)).toBe(false);
  });

  it('refuses up and down from others while the owner lives, and allows them once it is gone', async () => {
    const owner = spawn('sleep', ['600'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => owner.once('exit', resolve));
    try {
      const held = await labUp(1, { ...OPTIONS, owner: owner.pid! });
      await expect(labUp(1, OPTIONS)).rejects.toThrow(LabInUseError);
      await expect(labDown(OPTIONS)).rejects.toThrow(/in use by pid \d+ \(sleep 600/);
      expect(isAlive(held.hosts[0]!.sshdPid)).toBe(true);
      // The owner itself may re-create it.
      const again = await labUp(1, { ...OPTIONS, owner: owner.pid! });
      await expectWorking(again);
    } finally {
      owner.kill('SIGKILL');
      await exited;
    }
    const lab = await labUp(1, OPTIONS);
    await expectWorking(lab);
  });

  it('leaves nothing after down: no namespace, link, sshd or state dir, and down again is fine', async () => {
    const lab = await labUp(2, OPTIONS);
    expect(await processesUsingStateDir()).toHaveLength(2);
    await labDown(OPTIONS);

    expect(await namespaces()).toEqual([]);
    expect(await links()).toEqual([]);
    expect(await processesUsingStateDir()).toEqual([]);
    for (const host of lab.hosts) expect(isAlive(host.sshdPid)).toBe(false);
    expect(existsSync(OPTIONS.stateDir)).toBe(false);
    await expect(readLab(OPTIONS)).rejects.toThrow(/the lab is down/);

    await labDown(OPTIONS);
    expect(await namespaces()).toEqual([]);
  });
});
