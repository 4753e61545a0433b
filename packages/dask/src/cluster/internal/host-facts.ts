import { quoteShellArg } from '@lazycluster/runtime';
import type { Runtime, RuntimeGroup } from '@lazycluster/runtime';
import { DaskConfigError } from '../../client/errors.js';
import { DaskNotInstalledError, type PythonAttempt } from '../errors.js';

/** Tried in this order when no interpreter is given: the user's own first, then Debian's. */
export const DEFAULT_PYTHONS: readonly string[] = ['python3', '/usr/bin/python3'];

// find_spec locates the package without importing it: 40 ms instead of a second.
const PROBE_SOURCE = 'import sys, importlib.util as u; print(sys.executable); sys.exit(0 if u.find_spec("distributed") else 3)';
const NO_DISTRIBUTED = 3;
const FACTS_TIMEOUT_MS = 60_000;

/** What one round trip learns about a host. */
export interface HostFacts {
  readonly host: string;
  /** The executable of the first interpreter that can import `distributed`. */
  readonly python: string | undefined;
  /** Every interpreter tried and why it was refused (the working one is not listed). */
  readonly refused: readonly PythonAttempt[];
  /** The manager's address as this host sees it (first field of `SSH_CONNECTION`). */
  readonly managerAddress: string | undefined;
  /** This host's address as the manager reached it (third field of `SSH_CONNECTION`). */
  readonly ownAddress: string | undefined;
}

/**
 * One shell command that prints `SSH_CONNECTION` and tries each interpreter in turn, stopping
 * at the first that finds `distributed`. One line per fact, tab-separated.
 */
export function hostFactsCommand(pythons: readonly string[]): string {
  const list = pythons.map((python) => quoteShellArg(python)).join(' ');
  return [
    `printf 'ssh\\t%s\\n' "\${SSH_CONNECTION:-}"`,
    `for p in ${list}; do`,
    `  out=$("$p" -c ${quoteShellArg(PROBE_SOURCE)} 2>&1)`,
    '  rc=$?',
    `  printf 'python\\t%s\\t%s\\t%s\\n' "$p" "$rc" "$(printf '%s' "$out" | tr '\\t\\n' '  ' | cut -c1-300)"`,
    '  [ "$rc" -eq 0 ] && break',
    'done',
    'true',
  ].join('\n');
}

/** Reads the output of {@link hostFactsCommand}. `SSH_CONNECTION` is ignored on the manager. */
export function parseHostFacts(host: string, stdout: string, isLocal: boolean): HostFacts {
  let python: string | undefined;
  const refused: PythonAttempt[] = [];
  let managerAddress: string | undefined;
  let ownAddress: string | undefined;
  for (const line of stdout.split('\n')) {
    const [kind, ...fields] = line.split('\t');
    if (kind === 'ssh' && !isLocal) {
      const parts = (fields[0] ?? '').trim().split(/\s+/);
      managerAddress = parts[0] === '' ? undefined : parts[0];
      ownAddress = parts[2];
    } else if (kind === 'python' && python === undefined) {
      const [candidate = '', code = '', detail = ''] = fields;
      const exitCode = Number(code);
      if (exitCode === 0) python = detail.trim() === '' ? candidate : detail.trim();
      else refused.push({ python: candidate, problem: problemOf(exitCode, detail.trim()) });
    }
  }
  return { host, python, refused, managerAddress, ownAddress };
}

function problemOf(exitCode: number, detail: string): string {
  if (exitCode === NO_DISTRIBUTED) return `has no 'distributed' module`;
  if (exitCode === 127) return 'was not found';
  return `failed (exit code ${exitCode})${detail === '' ? '' : `: ${detail}`}`;
}

/** The interpreter to run Dask with on that host, or `DaskNotInstalledError`. */
export function requirePython(facts: HostFacts, role: 'scheduler' | 'worker'): string {
  if (facts.python !== undefined) return facts.python;
  throw new DaskNotInstalledError({ host: facts.host, role, tried: facts.refused });
}

// Facts do not change while a runtime lives, and both launchers ask for them: one probe each.
const cache = new WeakMap<Runtime, Map<string, Promise<HostFacts>>>();

/** The facts of `runtime`, trying `python` (or the defaults); one command, cached per runtime. */
export async function hostFacts(runtime: Runtime, python?: string): Promise<HostFacts> {
  const pythons = python === undefined ? DEFAULT_PYTHONS : [python];
  const key = pythons.join('\0');
  let byPythons = cache.get(runtime);
  if (byPythons === undefined) {
    byPythons = new Map();
    cache.set(runtime, byPythons);
  }
  let facts = byPythons.get(key);
  if (facts === undefined) {
    const probing = runtime
      .exec(hostFactsCommand(pythons), { timeoutMs: FACTS_TIMEOUT_MS })
      .then((result) => parseHostFacts(runtime.host, result.stdout, runtime.isLocal));
    facts = probing;
    byPythons.set(key, probing);
    probing.catch(() => byPythons.delete(key));
  }
  return await facts;
}

/**
 * The one manager address every host sees. Throws `DaskConfigError` when they see different
 * ones (their networks differ, so they could not reach each other directly either) or when
 * a host does not say. With no remote host at all, the manager's loopback.
 */
export function agreeOnManagerAddress(views: readonly { readonly host: string; readonly managerAddress: string | undefined }[]): string {
  const unknown = views.filter((view) => view.managerAddress === undefined).map((view) => view.host);
  if (unknown.length > 0) {
    throw new DaskConfigError(
      `network: 'direct' needs the manager's address as each host sees it, but ${unknown.join(', ')} did not report SSH_CONNECTION. Use network: 'tunnel'.`,
    );
  }
  const addresses = new Set(views.map((view) => view.managerAddress));
  if (addresses.size > 1) {
    const seen = views.map((view) => `${view.host} sees ${view.managerAddress ?? '?'}`).join(', ');
    throw new DaskConfigError(
      `network: 'direct' needs one manager address that every host reaches, but the hosts reach the manager at different addresses (${seen}). Use network: 'tunnel'.`,
    );
  }
  return views[0]?.managerAddress ?? '127.0.0.1';
}

/** The address the scheduler listens on in `'direct'` mode: the manager as every remote host sees it. */
export async function directManagerAddress(group: RuntimeGroup): Promise<string> {
  const remote = group.runtimes.filter((runtime) => !runtime.isLocal);
  const facts = await Promise.all(remote.map(async (runtime) => await hostFacts(runtime)));
  return agreeOnManagerAddress(facts);
}
