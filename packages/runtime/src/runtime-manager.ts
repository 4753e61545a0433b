import { NoRuntimesDetectedError } from './errors.js';
import { concreteHosts, loadSshConfig } from './internal/ssh/ssh-config.js';
import { quoteShellArg } from './shell-quote.js';
import { defaultSshConfigPath, Runtime, type RuntimeInfo, type RuntimeOptions } from './runtime.js';
import { RuntimeGroup } from './runtime-group.js';

export interface RuntimeManagerOptions extends Omit<RuntimeOptions, 'workingDir'> {
  /** How long one host may take to answer the check. @default 8000 */
  readonly timeoutMs?: number;
}

/** A host that failed the check, and why. */
export interface InactiveHost {
  readonly host: string;
  readonly reason: string;
}

export interface CreateGroupOptions {
  readonly includeHosts?: readonly string[];
  readonly excludeHosts?: readonly string[];
  /** Only hosts with at least one GPU. @default false */
  readonly gpuRequired?: boolean;
  /** Only hosts with at least this much memory, in bytes. */
  readonly minMemory?: number;
  readonly minCpuCores?: number;
  /** Only hosts where every one of these is on PATH. */
  readonly installedExecutables?: readonly string[];
  /** Only hosts where every one of these shell commands exits 0. */
  readonly filterCommands?: readonly string[];
  /** Working directory for the group's runtimes. @default a temp dir per runtime */
  readonly workingDir?: string;
}

/**
 * Finds the usable hosts of an SSH config: every concrete `Host` is checked in parallel
 * (reachable, a usable shell, python3 present) within a short timeout. The checks'
 * connections are closed as soon as each check is done, so a manager holds nothing open;
 * `createGroup` connects the group's runtimes afresh.
 *
 * @example
 * const manager = await RuntimeManager.detect();
 * await using group = await manager.createGroup({ minCpuCores: 4 });
 */
export class RuntimeManager {
  readonly #active = new Map<string, RuntimeInfo>();
  readonly #inactive: InactiveHost[] = [];
  #checked = 0;

  private readonly options: RuntimeManagerOptions;
  private readonly sshConfigPath: string;
  /** Resolves (with this manager) once every host has been checked; never rejects for a bad host. */
  readonly ready: Promise<this>;

  /**
   * Starts checking every concrete host of the SSH config at once; `await manager.ready`
   * (or any async method) waits for the result. `RuntimeManager.detect(options)` does both.
   */
  constructor(options: RuntimeManagerOptions = {}) {
    this.options = options;
    this.sshConfigPath = options.sshConfigPath ?? defaultSshConfigPath();
    this.ready = this.#detect().then(() => this);
    // A config that cannot be read rejects `ready`; it must not also be an unhandled rejection.
    this.ready.catch(() => undefined);
  }

  /** Read the SSH config and check every concrete host. */
  static async detect(options: RuntimeManagerOptions = {}): Promise<RuntimeManager> {
    return await new RuntimeManager(options).ready;
  }

  async #detect(): Promise<void> {
    const config = await loadSshConfig(this.sshConfigPath);
    const hosts = concreteHosts(config);
    this.#checked = hosts.length;
    await Promise.all(hosts.map(async (host) => await this.#check(host)));
    // Checks finish in any order; report hosts in the order of the config.
    const order = (host: string): number => hosts.indexOf(host);
    const active = [...this.#active.entries()].sort(([a], [b]) => order(a) - order(b));
    this.#active.clear();
    for (const [host, info] of active) this.#active.set(host, info);
    this.#inactive.sort((a, b) => order(a.host) - order(b.host));
  }

  /** Hosts that passed the check, in config order (filled once `ready` resolves). */
  get activeHosts(): string[] {
    return [...this.#active.keys()];
  }

  /** Hosts that failed the check, with the reason (filled once `ready` resolves). */
  get inactiveHosts(): readonly InactiveHost[] {
    return this.#inactive;
  }

  /** What each active host reported. */
  get infos(): RuntimeInfo[] {
    return [...this.#active.values()];
  }

  /**
   * A group of the active hosts that pass every filter. Filters that need the hosts
   * (executables, commands) run as one command per host, all in parallel, on the group's
   * own connections; the runtimes of hosts that fail them are cleaned up at once.
   */
  async createGroup(options: CreateGroupOptions = {}): Promise<RuntimeGroup> {
    await this.ready;
    const candidates = this.infos.filter((info) => {
      if (options.includeHosts !== undefined && !options.includeHosts.includes(info.host)) return false;
      if (options.excludeHosts?.includes(info.host) === true) return false;
      if (options.gpuRequired === true && info.gpus.length === 0) return false;
      if (options.minMemory !== undefined && info.memoryBytes < options.minMemory) return false;
      if (options.minCpuCores !== undefined && info.cpuCores < options.minCpuCores) return false;
      return true;
    });
    const checks = [
      ...(options.installedExecutables ?? []).map((exe) => `command -v ${quoteShellArg(exe)} >/dev/null 2>&1`),
      ...(options.filterCommands ?? []).map((command) => `(${command}) >/dev/null 2>&1`),
    ];
    const { timeoutMs: _t, ...shared } = this.options;
    const runtimeOptions: RuntimeOptions = options.workingDir === undefined ? shared : { ...shared, workingDir: options.workingDir };
    const runtimes = candidates.map((info) => new Runtime(info.host, runtimeOptions));
    const passed = await Promise.all(runtimes.map(async (runtime) => {
      if (checks.length === 0) return true;
      const result = await runtime.exec(checks.join(' && ')).catch(() => undefined);
      return result?.exitCode === 0;
    }));
    const chosen = runtimes.filter((_, i) => passed[i] === true);
    await Promise.allSettled(runtimes.filter((_, i) => passed[i] !== true).map(async (runtime) => await runtime.cleanup()));
    if (chosen.length === 0) {
      throw new NoRuntimesDetectedError({
        sshConfigPath: this.sshConfigPath,
        checked: this.#checked,
        reason: this.#active.size === 0 ? 'no host of the SSH config could be used' : 'no active host passed the filters',
        inactiveHosts: this.#inactive,
      });
    }
    return new RuntimeGroup({ runtimes: chosen });
  }

  /** Nothing stays open after `detect`; kept so `await using manager = ...` reads naturally. */
  async cleanup(): Promise<void> {
    await Promise.resolve();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.cleanup();
  }

  async #check(host: string): Promise<void> {
    const { timeoutMs = 8000, ...runtimeOptions } = this.options;
    const runtime = new Runtime(host, runtimeOptions);
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      await runtime.connect({ signal });
      const info = await Promise.race([
        runtime.info(),
        new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error(`no answer within ${timeoutMs} ms`)), { once: true })),
      ]);
      if (info.pythonVersion === null) throw new Error('python3 is not on its PATH; install python3');
      this.#active.set(host, info);
    } catch (error) {
      const message = signal.aborted && !(error instanceof Error && error.message.startsWith('python3')) ? `no answer within ${timeoutMs} ms` : error instanceof Error ? error.message : String(error);
      this.#inactive.push({ host, reason: message });
    } finally {
      // A host that stopped answering may take long to close; detect() must not wait past its timeout for it.
      const closed = runtime.cleanup();
      closed.catch(() => undefined);
      await Promise.race([closed, new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        else signal.addEventListener('abort', () => resolve(), { once: true });
      })]);
    }
  }
}
