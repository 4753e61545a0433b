import { readFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { runLocal } from './processes.js';

export interface Machine {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryBytes: number;
  readonly kernel: string;
  readonly node: string;
  readonly openssh: string;
  readonly python: string;
  readonly dask: string;
  readonly asyncssh: string;
  /** 1-minute load average when the run started: the machine is shared, so say how busy it was. */
  readonly loadAverage: number;
}

async function pythonVersion(expression: string): Promise<string> {
  const result = await runLocal('/usr/bin/python3', ['-W', 'ignore', '-c', `print(${expression})`], { timeoutMs: 30_000 });
  return result.exitCode === 0 ? result.stdout.trim() : 'not installed';
}

export async function describeMachine(): Promise<Machine> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const ssh = await runLocal('ssh', ['-V']);
  return {
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryBytes: totalmem(),
    kernel: release(),
    node: process.version,
    openssh: (ssh.stderr || ssh.stdout).trim(),
    python: await pythonVersion('__import__("platform").python_version()'),
    dask: await pythonVersion('__import__("distributed").__version__'),
    asyncssh: await pythonVersion('__import__("asyncssh").__version__'),
    loadAverage: loadavg()[0] ?? 0,
  };
}
