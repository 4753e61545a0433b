import { finished } from 'node:stream/promises';
import { RuntimeGroup, type Runtime } from '@lazycluster/runtime';
import type { CliContext } from '../../lib/context.js';
import { requireCommandWords } from '../../lib/context.js';
import { LinePrefixer } from '../../lib/line-prefixer.js';
import { hostColor } from '../../lib/output.js';
import { onInterrupt, signalExitCode, type StopSignal } from '../../lib/signals.js';
import { hostFailureMessage, noHostsError, resolveTargets } from '../../lib/targets.js';

/** How the command ended on one host. */
export interface HostOutcome {
  readonly host: string;
  readonly ok: boolean;
  /** `exit code 2`, `killed by SIGTERM`, or why the host could not run it. */
  readonly detail: string;
}

/**
 * The command line the host's shell runs: the words joined with single spaces and no quoting,
 * exactly as ssh(1) does, so the host's shell expands what the local shell passed through.
 */
export function remoteCommandLine(words: readonly string[]): string {
  return words.join(' ');
}

/** The one-line summary printed to stderr at the end. */
export function execSummary(outcomes: readonly HostOutcome[]): string {
  const failed = outcomes.filter((o) => !o.ok);
  const total = outcomes.length;
  if (failed.length === 0) return `exec: succeeded on ${total === 1 ? 'the only host' : `all ${total} hosts`}`;
  const list = failed.map((o) => `${o.host} (${o.detail})`).join(', ');
  return `exec: failed on ${failed.length} of ${total} host${total === 1 ? '' : 's'}: ${list}`;
}

/** `exec`: runs the command on every runtime in parallel, streaming prefixed output. */
export async function execOnRuntimes(context: CliContext, request: { readonly operands: readonly string[]; readonly hosts: readonly string[] | undefined }): Promise<number> {
  const command = remoteCommandLine(requireCommandWords(context, 'exec', request.operands));
  const targets = await resolveTargets(context, request.hosts);
  if (targets.configured === 0) throw noHostsError(context);

  const names = [...targets.hosts, ...targets.unavailable.map((u) => u.host)];
  const width = Math.max(...names.map((name) => name.length));
  const prefixes = new Map(names.map((name, i) => [name, `${context.paintOut(hostColor(i), name.padEnd(width))} | `]));
  const errPrefixes = new Map(names.map((name, i) => [name, `${context.paintErr(hostColor(i), name.padEnd(width))} | `]));
  const errPrefix = (host: string): string => errPrefixes.get(host) ?? `${host} | `;

  // Working directory ".": the login directory on a host, the current one on the manager, as ssh.
  const group = new RuntimeGroup({ hosts: targets.hosts, sshConfigPath: context.sshConfigPath, logger: context.logger, workingDir: '.' });
  let interrupted: StopSignal | undefined;
  const release = onInterrupt({
    first: (signal) => {
      interrupted = signal;
      context.stderr.write(`exec: ${signal}, stopping the command on every host (again to quit at once)\n`);
      void group.cleanup();
    },
    again: (signal) => process.exit(signalExitCode(signal)),
  });
  try {
    const outcomes = await Promise.all(
      group.runtimes.map(async (runtime) => await runOn(context, runtime, command, prefixes.get(runtime.host) ?? '', errPrefix(runtime.host))),
    );
    for (const { host, reason } of targets.unavailable) {
      context.stderr.write(`${errPrefix(host)}${context.paintErr('red', reason.replace(/\s*\n\s*/g, ' '))}\n`);
      outcomes.push({ host, ok: false, detail: 'unavailable' });
    }
    context.stderr.write(`${execSummary(outcomes)}\n`);
    if (interrupted !== undefined) return signalExitCode(interrupted);
    return outcomes.every((o) => o.ok) ? 0 : 1;
  } finally {
    release();
    await group.cleanup();
  }
}

async function runOn(context: CliContext, runtime: Runtime, command: string, outPrefix: string, errPrefix: string): Promise<HostOutcome> {
  const host = runtime.host;
  try {
    const proc = await runtime.spawn(command);
    const out = new LinePrefixer(outPrefix, (text) => context.stdout.write(text));
    const err = new LinePrefixer(errPrefix, (text) => context.stderr.write(text));
    proc.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    proc.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    const outcome = await proc.outcome;
    await Promise.all([finished(proc.stdout).catch(() => undefined), finished(proc.stderr).catch(() => undefined)]);
    out.end();
    err.end();
    if (outcome.exitCode === 0) return { host, ok: true, detail: 'exit code 0' };
    return { host, ok: false, detail: outcome.signal === null ? `exit code ${outcome.exitCode ?? '?'}` : `killed by ${outcome.signal}` };
  } catch (error) {
    const message = await hostFailureMessage(context, host, error);
    context.stderr.write(`${errPrefix}${context.paintErr('red', message.replace(/\s*\n\s*/g, ' '))}\n`);
    return { host, ok: false, detail: 'could not run it' };
  }
}
