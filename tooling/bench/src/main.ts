// pnpm bench [--quick] [--only NAME[,NAME]] [--hosts 3,12] [--out DIR]
// Brings up its own lab (prefix lzb), runs every bench against its reference, prints the
// ratios and writes results.json, README.md and the charts. A missed target is reported,
// never a failure: only a crash makes the exit code non-zero.
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { labDown, labUp, type LabOptions } from '@lazycluster/lab';
import { clusterStart } from './benches/cluster-start.js';
import { connectionSetup } from './benches/connection-setup.js';
import { fanOut } from './benches/fan-out.js';
import { managerCost } from './benches/manager-cost.js';
import { portNegotiation } from './benches/port-negotiation.js';
import { tunnelThroughput } from './benches/tunnel-throughput.js';
import { warmLatency } from './benches/warm-latency.js';
import { describeMachine } from './machine.js';
import { stopAll } from './processes.js';
import { formatResult, writeReport } from './report.js';
import type { Bench, BenchResult, Budget } from './types.js';

const BENCHES: readonly Bench[] = [warmLatency, fanOut, portNegotiation, tunnelThroughput, connectionSetup, clusterStart, managerCost];
const LAB: LabOptions = { prefix: 'lzb', subnet: '10.216.0', owner: process.pid };
const RESULTS_DIR = fileURLToPath(new URL('../../../benchmarks/', import.meta.url));
const MiB = 2 ** 20;

const USAGE = `pnpm bench [--quick] [--only NAME[,NAME]] [--hosts 3,12] [--out DIR]
  --quick   few runs, 3 hosts, 32 MiB payloads: under a minute (what CI runs)
  --only    run only these benches: ${BENCHES.map((b) => b.name).join(', ')}
  --hosts   group sizes for fan-out and port negotiation (default 3,12,24; quick 3)
  --out     where results.json, README.md and the charts go (default: benchmarks/ for a
            full run of every bench, else a directory under ${tmpdir()})`;

function budgetFor(quick: boolean, hosts: string | undefined): Budget {
  const parsed = hosts?.split(',').map(Number);
  if (parsed?.some((n) => !Number.isInteger(n) || n < 1) === true) throw new Error(`--hosts takes whole numbers >= 1, got "${hosts ?? ''}"`);
  const hostCounts = parsed ?? (quick ? [3] : [3, 12, 24]);
  return quick
    ? { calls: 10, runs: 3, payloadBytes: 32 * MiB, hostCounts, clusterHosts: [3] }
    : { calls: 50, runs: 7, payloadBytes: 256 * MiB, hostCounts, clusterHosts: [3, 12] };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, hosts: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', default: false } },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const quick = values.quick;
  const only = values.only?.split(',');
  const unknown = only?.filter((name) => !BENCHES.some((b) => b.name === name)) ?? [];
  if (unknown.length > 0) throw new Error(`no bench named ${unknown.join(', ')}; there are ${BENCHES.map((b) => b.name).join(', ')}`);
  const benches = BENCHES.filter((b) => only === undefined || only.includes(b.name));
  const budget = budgetFor(quick, values.hosts);
  const labHosts = Math.max(3, ...budget.hostCounts, ...budget.clusterHosts);
  // A partial or quick run must never overwrite the committed results of a full one.
  const outDir = values.out ?? (quick || only !== undefined ? join(tmpdir(), 'lazycluster-bench') : RESULTS_DIR);

  const started = Date.now();
  const machine = await describeMachine();
  const tmpDir = await mkdtemp(join(tmpdir(), 'lzb-'));
  const log = (line: string): void => {
    process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
  };
  process.once('SIGINT', () => {
    log('interrupted: taking the lab down');
    stopAll();
    void labDown(LAB).finally(() => {
      rmSync(tmpDir, { recursive: true, force: true });
      process.exit(130);
    });
  });

  const results: BenchResult[] = [];
  const crashed: string[] = [];
  try {
    log(`lab up: ${labHosts} hosts`);
    const lab = await labUp(labHosts, LAB);
    for (const bench of benches) {
      log(`${bench.name}…`);
      try {
        results.push(await bench.run({ lab, quick, budget, tmpDir, log }));
      } catch (error) {
        // Keep going: the other benches still say something. The exit code reports the crash.
        crashed.push(bench.name);
        console.error(error);
        results.push({ name: bench.name, title: bench.title, compares: '', series: [], comparisons: [], charts: [], notes: [], skipped: `crashed: ${String(error)}` });
      }
      console.log(formatResult(results[results.length - 1] as BenchResult));
    }
  } finally {
    stopAll();
    await labDown(LAB);
    await rm(tmpDir, { recursive: true, force: true });
  }

  const command = `pnpm bench${quick ? ' --quick' : ''}${values.only === undefined ? '' : ` --only ${values.only}`}${values.hosts === undefined ? '' : ` --hosts ${values.hosts}`}`;
  await writeReport(outDir, {
    generatedAt: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    command,
    durationSeconds: (Date.now() - started) / 1000,
    machine,
    loadAverageEnd: loadavg()[0] ?? 0,
    labHosts,
    benches: results,
  });
  const judged = results.flatMap((r) => r.comparisons).filter((c) => c.pass !== undefined);
  const missed = judged.filter((c) => c.pass === false);
  console.log(`\n${judged.length - missed.length} of ${judged.length} targets met${missed.length > 0 ? ` (missed: ${missed.map((c) => c.label).join('; ')})` : ''}.`);
  console.log(`Results: ${join(outDir, 'README.md')}`);
  if (crashed.length > 0) throw new Error(`crashed: ${crashed.join(', ')}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
