// `pnpm reliability`: runs the fault suite (the reliability tests of every package, with
// vitest) and prints what each fault did. `--load` runs the load part on a lab of its own,
// `--soak-minutes N` the soak. See ../README.md.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { faultTable, parseVitestJson } from './report.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/** Where the fault tests live: each beside the package it exercises. */
export const FAULT_TEST_DIRS = ['packages/runtime/test/reliability', 'packages/dask/test/reliability', 'tooling/reliability/src'];

const USAGE = `usage: pnpm reliability [--load] [--soak-minutes N]

  (no option)        the fault suite: every reliability test on a 3-host lab, then a table of
                     fault, expected, observed, time to detect and leftovers
  --load             the load run on its own 12-host lab (prefix lzl, 10.217.0.0/24):
                     500 concurrent commands, 100 tunnels each way, then the soak
  --soak-minutes N   length of the soak (default 10); alone, runs only the soak; 0 skips it
`;

async function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const child = spawn(command, args, { cwd: ROOT, stdio: 'inherit', env });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
    });
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  }
}

async function faultSuite(): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'lzc-reliability-report-'));
  try {
    const report = join(dir, 'vitest.json');
    const started = performance.now();
    const code = await run('pnpm', [
      'exec', 'vitest', 'run', '--project', 'unit', '--project', 'integration', ...FAULT_TEST_DIRS,
      '--reporter=default', '--reporter=json', `--outputFile.json=${report}`,
    ]);
    const text = await readFile(report, 'utf8').catch(() => undefined);
    if (text === undefined) {
      process.stderr.write(`vitest wrote no report (exit code ${code}); see its output above\n`);
      return code === 0 ? 1 : code;
    }
    const rows = parseVitestJson(text, ROOT);
    const failed = rows.filter((r) => r.status === 'failed');
    const leftovers = rows.reduce((sum, r) => sum + (r.fault?.leftovers ?? 0), 0);
    process.stdout.write(`\n${faultTable(rows)}\n\n`);
    process.stdout.write(
      `${rows.length} reliability tests: ${rows.length - failed.length} passed, ${failed.length} failed; ` +
        `${leftovers} leftovers found; ${Math.round((performance.now() - started) / 1000)} s\n`,
    );
    return failed.length > 0 || leftovers > 0 || code !== 0 ? 1 : 0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { load: { type: 'boolean', default: false }, 'soak-minutes': { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const soakText = values['soak-minutes'];
  if (!values.load && soakText === undefined) return await faultSuite();
  const soakMinutes = soakText === undefined ? 10 : Number(soakText);
  if (!Number.isFinite(soakMinutes) || soakMinutes < 0) {
    process.stderr.write(`--soak-minutes must be a number of minutes >= 0, got "${soakText ?? ''}"\n${USAGE}`);
    return 2;
  }
  // The load run imports the libraries from their sources (no build needed) and may call gc().
  const loadArgs = ['--expose-gc', '--import', 'tsx', fileURLToPath(new URL('./load/main.ts', import.meta.url)), `--soak-minutes=${soakMinutes}`, ...(values.load ? ['--load'] : [])];
  return await run(process.execPath, loadArgs, { ...process.env, TSX_TSCONFIG_PATH: fileURLToPath(new URL('../tsx.tsconfig.json', import.meta.url)) });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    process.exitCode = 2;
  },
);
