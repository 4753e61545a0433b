import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { hostProcesses, type LabDescription } from '@lazycluster/lab';
import { labRuntime } from '../lab-runtimes.js';
import { OpenSshMaster } from '../openssh.js';
import { runChecked } from '../processes.js';
import { freeLocalPort } from '../tcp.js';
import { compare, series, type Bench } from '../types.js';

const RUNTIMES = 12;
const TUNNELS = 100;

const PROBE = fileURLToPath(new URL('../cost-probe.ts', import.meta.url));
const BENCH_DIR = fileURLToPath(new URL('../..', import.meta.url));

interface Cost {
  readonly rssKiB: number;
  readonly fds: number;
}

async function costOf(pid: number): Promise<Cost> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN);
  return { rssKiB, fds: (await readdir(`/proc/${pid}/fd`)).length };
}

/** Per-item cost measured in a fresh Node process (see cost-probe.ts). */
async function probeCost(lab: LabDescription, what: 'runtimes' | 'tunnels', hosts: readonly string[], count: number): Promise<Cost> {
  const request = JSON.stringify({ what, sshConfigPath: lab.sshConfigPath, hosts, count });
  const { stdout } = await runChecked(process.execPath, ['--expose-gc', '--import', 'tsx', PROBE, request], { timeoutMs: 120_000, cwd: BENCH_DIR });
  const { rssKiB, fds } = JSON.parse(stdout) as { rssKiB: [number, number]; fds: [number, number] };
  return { rssKiB: (rssKiB[1] - rssKiB[0]) / count, fds: (fds[1] - fds[0]) / count };
}

/** Resident memory of everything running in the hosts' namespaces but their sshd listeners. */
async function hostsRssKiB(lab: LabDescription, hosts: readonly string[]): Promise<number> {
  let total = 0;
  for (const host of hosts) {
    for (const { pid } of await hostProcesses(lab, host)) total += (await costOf(pid).catch(() => ({ rssKiB: 0 }))).rssKiB;
  }
  return total;
}

export const managerCost: Bench = {
  name: 'manager-cost',
  title: 'Manager cost',
  async run({ lab, budget, tmpDir, quick }) {
    const hosts = lab.hosts.map((h) => h.alias).slice(0, RUNTIMES);
    const rounds = quick ? 1 : Math.min(budget.runs, 5);
    const s = { rt: [] as number[], rtFd: [] as number[], rtHost: [] as number[], cm: [] as number[], cmFd: [] as number[], cmHost: [] as number[] };
    const t = { ours: [] as number[], oursFd: [] as number[], ssh: [] as number[], sshFd: [] as number[] };

    const measureRuntimes = async (): Promise<void> => {
      const cost = await probeCost(lab, 'runtimes', hosts, RUNTIMES);
      s.rt.push(cost.rssKiB);
      s.rtFd.push(cost.fds);
      // The host side needs the connections open while it looks: here, in this process.
      const hostBefore = await hostsRssKiB(lab, hosts);
      const runtimes = Array.from({ length: RUNTIMES }, (_, i) => labRuntime(lab, hosts[i % hosts.length] ?? 'h1'));
      try {
        await Promise.all(runtimes.map(async (runtime) => await runtime.run('true')));
        s.rtHost.push(((await hostsRssKiB(lab, hosts)) - hostBefore) / RUNTIMES);
      } finally {
        await Promise.all(runtimes.map(async (runtime) => await runtime.cleanup()));
      }
    };
    const measureMasters = async (): Promise<void> => {
      const hostBefore = await hostsRssKiB(lab, hosts);
      const masters = hosts.map((host) => new OpenSshMaster(lab, host, tmpDir));
      try {
        await Promise.all(masters.map(async (master) => await master.open()));
        const costs = await Promise.all(masters.map(async (master) => await costOf(await master.pid())));
        s.cm.push(costs.reduce((sum, c) => sum + c.rssKiB, 0) / masters.length);
        s.cmFd.push(costs.reduce((sum, c) => sum + c.fds, 0) / masters.length);
        s.cmHost.push(((await hostsRssKiB(lab, hosts)) - hostBefore) / masters.length);
      } finally {
        await Promise.all(masters.map(async (master) => await master.close()));
      }
    };
    const measureTunnels = async (): Promise<void> => {
      const cost = await probeCost(lab, 'tunnels', ['h1'], TUNNELS);
      t.ours.push(cost.rssKiB);
      t.oursFd.push(cost.fds);
    };
    const measureForwards = async (): Promise<void> => {
      const master = new OpenSshMaster(lab, 'h1', tmpDir);
      try {
        await master.open();
        const pid = await master.pid();
        const before = await costOf(pid);
        for (let i = 0; i < TUNNELS; i++) await master.forward(await freeLocalPort(), 22);
        const after = await costOf(pid);
        t.ssh.push((after.rssKiB - before.rssKiB) / TUNNELS);
        t.sshFd.push((after.fds - before.fds) / TUNNELS);
      } finally {
        await master.close();
      }
    };

    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? [measureRuntimes, measureMasters, measureTunnels, measureForwards] : [measureMasters, measureRuntimes, measureForwards, measureTunnels];
      for (const measure of order) await measure();
    }

    const all = [
      series('runtime-rss', `manager RSS per connected Runtime (${RUNTIMES} connected)`, 'KiB', s.rt),
      series('master-rss', 'RSS of one OpenSSH ControlMaster process', 'KiB', s.cm),
      series('runtime-fds', 'manager fds per connected Runtime', 'fds', s.rtFd),
      series('master-fds', 'fds of one OpenSSH ControlMaster process', 'fds', s.cmFd),
      series('runtime-host-rss', 'host-side RSS per Runtime connection (sshd session + agent)', 'KiB', s.rtHost),
      series('master-host-rss', 'host-side RSS per ControlMaster connection (sshd session)', 'KiB', s.cmHost),
      series('tunnel-rss', `manager RSS per tunnel (${TUNNELS} exposePortFromRuntime)`, 'KiB', t.ours),
      series('forward-rss', `ControlMaster RSS per -L forward (${TUNNELS} forwards)`, 'KiB', t.ssh),
      series('tunnel-fds', 'manager fds per tunnel', 'fds', t.oursFd),
      series('forward-fds', 'ControlMaster fds per -L forward', 'fds', t.sshFd),
    ];
    const by = (id: string): (typeof all)[number] => {
      const found = all.find((x) => x.id === id);
      if (found === undefined) throw new Error(`no series ${id}`);
      return found;
    };
    return {
      name: this.name,
      title: this.title,
      compares: `what the manager holds per connected runtime (${RUNTIMES} connected) and per tunnel (${TUNNELS} open) vs what OpenSSH holds per ControlMaster connection and per -L forward`,
      series: all,
      comparisons: [
        compare('RSS per connection', by('runtime-rss'), by('master-rss')),
        compare('fds per connection', by('runtime-fds'), by('master-fds')),
        compare('host RSS per connection', by('runtime-host-rss'), by('master-host-rss')),
        compare('RSS per tunnel', by('tunnel-rss'), by('forward-rss')),
        compare('fds per tunnel', by('tunnel-fds'), by('forward-fds')),
      ],
      charts: [{ kind: 'bars', file: 'manager-cost.svg', title: 'Memory per connection and per tunnel (median KiB)', series: ['runtime-rss', 'master-rss', 'runtime-host-rss', 'master-host-rss', 'tunnel-rss', 'forward-rss'] }],
      notes: [
        'The runtime side is measured in a fresh Node process (after one warm-up connection and tunnel, then a forced GC), so the deltas are its own; OpenSSH\'s are whole ssh processes.',
        'An OpenSSH user pays one ssh process per connection; the runtime shares one Node process and keeps a Python agent on the host.',
      ],
    };
  },
};
