import { readFile } from 'node:fs/promises';
import { LOCALHOST, NoRuntimesDetectedError, RuntimeManager, isLazyclusterError, parseHostSpec, type InactiveHost } from '@lazycluster/runtime';
import type { CliContext } from './context.js';
import { UsageError } from './errors.js';
import { HostProgress } from './progress.js';
import { configuredHostNames } from './ssh-config-file.js';

/** The hosts a command runs on. */
export interface Targets {
  /** Hosts to use, in the order of the config (or of `--hosts`). */
  readonly hosts: string[];
  /** Hosts of the config that failed the check, and why (empty with `--hosts`). */
  readonly unavailable: readonly InactiveHost[];
  /** Concrete hosts the config names (0 when the file is missing or names none); undefined with `--hosts`. */
  readonly configured: number | undefined;
}

/** Checks the form of every `--hosts` entry; a malformed one is a usage error naming it. */
export function checkHostSpecs(hosts: readonly string[]): void {
  for (const host of hosts) {
    try {
      parseHostSpec(host);
    } catch (error) {
      throw new UsageError(`--hosts: ${(error as Error).message}`, { cause: error });
    }
  }
}

/**
 * With `--hosts`, those hosts as given. Otherwise every concrete Host of the SSH config,
 * checked in parallel by {@link RuntimeManager.detect}; the checks' connections are closed
 * before returning.
 */
export async function resolveTargets(context: CliContext, hosts: readonly string[] | undefined): Promise<Targets> {
  if (hosts !== undefined) {
    checkHostSpecs(hosts);
    return { hosts: [...hosts], unavailable: [], configured: undefined };
  }
  const manager = await detectWithProgress(context);
  await manager.cleanup();
  return {
    hosts: manager.activeHosts,
    unavailable: manager.inactiveHosts,
    configured: manager.activeHosts.length + manager.inactiveHosts.length,
  };
}

/**
 * Checks every concrete host of the SSH config in parallel. On a terminal a spinner runs
 * while the hosts answer; elsewhere nothing is drawn, so logs stay clean.
 */
export async function detectWithProgress(context: CliContext): Promise<RuntimeManager> {
  const progress = context.stderr.isTTY === true && !context.debug ? new HostProgress(context.stderr, { interactive: true, color: context.colorErr }) : undefined;
  progress?.update('checking hosts', 'active', context.sshConfigPath);
  if (progress !== undefined) context.logSink = (line) => progress.print(line);
  try {
    return await RuntimeManager.detect({ sshConfigPath: context.sshConfigPath, logger: context.logger });
  } finally {
    progress?.stop({ clear: true });
    context.logSink = undefined;
  }
}

/** The error for a config that names no host at all. */
export function noHostsError(context: CliContext): NoRuntimesDetectedError {
  return new NoRuntimesDetectedError({ sshConfigPath: context.sshConfigPath, checked: 0, reason: 'it names no hosts (or does not exist)' });
}

/**
 * One line about a host's failure. When a name given with `--hosts` does not resolve and is
 * not a Host of the config, says so: that is nearly always a typo.
 */
export async function hostFailureMessage(context: CliContext, host: string, error: unknown): Promise<string> {
  const message = error instanceof Error ? error.message : String(error);
  if (!isLazyclusterError(error) || error.code !== 'CONNECTION' || host === LOCALHOST || /[@:]/.test(host)) return message;
  const text = await readFile(context.sshConfigPath, 'utf8').catch(() => '');
  if (configuredHostNames(text).includes(host)) return message;
  return `${message} Note: ${host} is not a Host in ${context.sshConfigPath}; add it with \`lazycluster add-runtime ${host} user@address\`.`;
}
