import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LabDescription } from '@lazycluster/lab';
import { runChecked, runLocal } from './processes.js';

function base(lab: LabDescription): string[] {
  return ['-F', lab.sshConfigPath, '-o', 'BatchMode=yes'];
}

/** `ssh host command` over a new connection (no multiplexing), as a user types it. */
export async function sshFresh(lab: LabDescription, host: string, command: string): Promise<void> {
  await runChecked('ssh', [...base(lab), '-o', 'ControlMaster=no', '-o', 'ControlPath=none', host, command], { timeoutMs: 30_000 });
}

/**
 * An OpenSSH ControlMaster connection to one host: the warm reference for commands and
 * port forwards. The first `open()` call becomes the master (ControlPersist keeps it).
 */
export class OpenSshMaster {
  readonly #host: string;
  readonly #options: string[];
  readonly #logPath: string;

  /** `cipher` overrides OpenSSH's default choice (`-c`). */
  constructor(lab: LabDescription, host: string, dir: string, options: { readonly cipher?: string } = {}) {
    this.#host = host;
    const tag = options.cipher === undefined ? '' : `${options.cipher}-`;
    this.#logPath = join(dir, `ssh-master-${tag}${host}.log`);
    const cipher = options.cipher === undefined ? [] : ['-c', options.cipher];
    this.#options = [...base(lab), ...cipher, '-o', 'ControlMaster=auto', '-o', `ControlPath=${join(dir, `cm-${tag}%C`)}`, '-o', 'ControlPersist=60'];
  }

  async open(): Promise<void> {
    // -v into a log file: the only place OpenSSH says which cipher it negotiated.
    await runChecked('ssh', [...this.#options, '-v', '-E', this.#logPath, this.#host, 'true'], { timeoutMs: 30_000 });
  }

  /** The reference command exactly: `ssh -F … -o ControlMaster=auto -o ControlPath=… -o ControlPersist=60 host CMD`. */
  async run(command: string): Promise<void> {
    await runChecked('ssh', [...this.#options, this.#host, command], { timeoutMs: 30_000 });
  }

  /** Adds `-L 127.0.0.1:localPort:127.0.0.1:remotePort` to the master; resolves once it listens. */
  async forward(localPort: number, remotePort: number): Promise<void> {
    await runChecked('ssh', [...this.#options, '-O', 'forward', '-L', `127.0.0.1:${localPort}:127.0.0.1:${remotePort}`, this.#host], { timeoutMs: 30_000 });
  }

  /** The master process's pid (it runs on the manager). */
  async pid(): Promise<number> {
    const result = await runChecked('ssh', [...this.#options, '-O', 'check', this.#host]);
    const match = /pid=(\d+)/.exec(result.stderr + result.stdout);
    if (match?.[1] === undefined) throw new Error(`ssh -O check ${this.#host} did not name the master's pid: ${result.stderr.trim()}`);
    return Number(match[1]);
  }

  /** The cipher the master negotiated (server to client), from its debug log. */
  async cipher(): Promise<string> {
    const log = await readFile(this.#logPath, 'utf8').catch(() => '');
    return /kex: server->client cipher: (\S+)/.exec(log)?.[1] ?? 'unknown';
  }

  async close(): Promise<void> {
    await runLocal('ssh', [...this.#options, '-O', 'exit', this.#host], { timeoutMs: 10_000 });
  }
}

/** What a plain `ssh host` negotiates with the lab's sshd (from `ssh -v`). */
export async function sshNegotiated(lab: LabDescription, host: string): Promise<{ readonly kex: string; readonly cipher: string }> {
  const result = await runChecked('ssh', [...base(lab), '-v', '-o', 'ControlMaster=no', '-o', 'ControlPath=none', host, 'true'], { timeoutMs: 30_000 });
  return {
    kex: /kex: algorithm: (\S+)/.exec(result.stderr)?.[1] ?? 'unknown',
    cipher: /kex: server->client cipher: (\S+)/.exec(result.stderr)?.[1] ?? 'unknown',
  };
}
