// The load run, started by `pnpm reliability --load` / `--soak-minutes N` (see ../main.ts):
// on a 12-host lab of its own (prefix lzl, 10.217.0.0/24), 500 concurrent commands, 100
// tunnels each way, then the soak. Prints one table per part; exits non-zero when anything
// was wrong, unstable or left behind. The lab is removed at the end, also on SIGINT/SIGTERM.
import { parseArgs } from 'node:util';
import { labDown, labUp, type LabDescription } from '@lazycluster/lab';
import { RuntimeGroup } from '@lazycluster/runtime';
import { everyLabProcess, managerListeners } from '../lab-faults.js';
import { formatTable } from '../report.js';
import { concurrentCommands, soak, tunnelsFromRuntimes, tunnelsToRuntimes, type SoakResult, type TunnelsResult } from './parts.js';
import { soakVerdict } from './verdict.js';

const LAB = { prefix: 'lzl', subnet: '10.217.0' } as const;
const HOSTS = 12;
const COMMANDS = 500;
const TUNNELS = 100;

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const ms = (value: number): string => `${Math.round(value)} ms`;
const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`;

function kinds(counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ');
}

function tunnelRow(result: TunnelsResult): string[] {
  return [result.direction, `${result.opened}/${TUNNELS}`, `${result.carried}/${TUNNELS}`, ms(result.openMs), ms(result.trafficMs), String(result.leftOpen)];
}

function printSoak(result: SoakResult): boolean {
  const compared = result.samples.slice(result.baseline);
  const first = compared[0];
  const last = compared.at(-1);
  const peak = result.samples.reduce((max, s) => Math.max(max, s.rssBytes), 0);
  const verdict = soakVerdict(compared);
  say(`\nsoak: ${result.minutes} min, ${result.workers} workers, ${result.restarts} worker restarts, ${result.batches} batches, ${result.tasks} tasks, ${result.wrong} wrong`);
  if (first !== undefined && last !== undefined) {
    say(
      formatTable(
        ['manager', 'start (after warm-up)', 'end', 'peak'],
        [
          ['rss', mb(first.rssBytes), mb(last.rssBytes), mb(peak)],
          ['heap used (after gc)', mb(first.heapUsedBytes), mb(last.heapUsedBytes), mb(result.samples.reduce((m, s) => Math.max(m, s.heapUsedBytes), 0))],
          ['open fds', String(first.openFds), String(last.openFds), String(result.samples.reduce((m, s) => Math.max(m, s.openFds), 0))],
          ['active handles', String(first.activeResources), String(last.activeResources), String(result.samples.reduce((m, s) => Math.max(m, s.activeResources), 0))],
          ['fds by kind', kinds(first.fdKinds), kinds(last.fdKinds), ''],
        ],
      ),
    );
    const opening = result.samples[0];
    if (opening !== undefined) say(`at the very start (before warm-up): ${opening.openFds} fds (${kinds(opening.fdKinds)}), ${opening.activeResources} handles, heap ${mb(opening.heapUsedBytes)}`);
  }
  say(`stability: ${verdict.stable ? 'stable' : 'NOT stable'} (${verdict.why}); leftovers after cleanup: ${result.leftovers.length}`);
  for (const line of [...result.errors.slice(0, 10), ...result.leftovers.slice(0, 10)]) say(`  ${line}`);
  const expectedRestarts = Math.max(0, Math.ceil(result.minutes) - 1);
  return verdict.stable && result.wrong === 0 && result.tasks > 0 && result.leftovers.length === 0 && result.restarts >= expectedRestarts && result.errors.length === 0;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { load: { type: 'boolean', default: false }, 'soak-minutes': { type: 'string', default: '10' } } });
  const soakMinutes = Number(values['soak-minutes']);
  let ok = true;
  say(`load lab: ${HOSTS} hosts, prefix ${LAB.prefix}, subnet ${LAB.subnet}.0/24`);
  const lab: LabDescription = await labUp(HOSTS, { ...LAB, owner: process.pid });
  let stopping = false;
  const down = async (): Promise<void> => {
    await labDown({ prefix: lab.prefix, subnet: lab.subnet, stateDir: lab.stateDir, owner: process.pid });
  };
  const onSignal = (): void => {
    if (stopping) return;
    stopping = true;
    say('interrupted: removing the load lab');
    void down().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (values.load) {
      const group = new RuntimeGroup({ hosts: lab.hosts.map((h) => h.name), sshConfigPath: lab.sshConfigPath, agent: false });
      try {
        const commands = await concurrentCommands(group, COMMANDS);
        say(`\n${COMMANDS} concurrent commands over ${HOSTS} hosts`);
        say(
          formatTable(
            ['issued', 'correct', 'wall', 'p50', 'p95', 'max'],
            [[String(commands.issued), String(commands.correct), ms(commands.wallMs), ms(commands.latency.p50), ms(commands.latency.p95), ms(commands.latency.max)]],
          ),
        );
        for (const failure of commands.failures.slice(0, 10)) say(`  ${failure}`);
        ok &&= commands.correct === COMMANDS;

        const forward = await tunnelsToRuntimes(group, TUNNELS, 41_000);
        const reverse = await tunnelsFromRuntimes(group, TUNNELS, 42_000);
        say(`\n${TUNNELS} tunnels open at once, each way`);
        say(formatTable(['direction', 'opened', 'carried', 'open all', 'traffic', 'left open'], [tunnelRow(forward), tunnelRow(reverse)]));
        for (const failure of [...forward.failures, ...reverse.failures].slice(0, 10)) say(`  ${failure}`);
        ok &&= [forward, reverse].every((r) => r.carried === TUNNELS && r.leftOpen === 0);
      } finally {
        await group.cleanup();
      }
      const left = await everyLabProcess(lab);
      const listening = (await managerListeners()).filter((l) => (l.port >= 41_000 && l.port < 41_000 + TUNNELS) || l.port === 42_000);
      say(`after the group's cleanup: ${left.length} processes on the hosts, ${listening.length} tunnel listeners on the manager`);
      ok &&= left.length === 0 && listening.length === 0;
    }
    if (soakMinutes > 0) ok = printSoak(await soak(lab, soakMinutes, say)) && ok;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!stopping) await down();
  }
  say(ok ? '\nload: all correct, stable, nothing left' : '\nload: FAILED (see above)');
  return ok ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`load run failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
