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
 * (reachable, a usable shell, python3 present) within a short timeout.
 *
 * @example
 * const manager = await RuntimeManager.detect();
 * await using group = await manager.createGroup({ minCpuCores: 4 });
 */
export class RuntimeManager {
  readonly #active = new Map<string, { runtime: Runtime; info: RuntimeInfo }>();
  readonly #inactive: InactiveHost[] = [];

  private constructor(private readonly options: RuntimeManagerOptions) {}

  /** Read the SSH config and check every concrete host. */
  static async detect(options: RuntimeManagerOptions = {}): Promise<RuntimeManager> {
    const manager = new RuntimeManager(options);
    const config = await loadSshConfig(options.sshConfigPath ?? defaultSshConfigPath());
    const hosts = concreteHosts(config);
    await Promise.all(hosts.map(async (host) => await manager.#check(host)));
    // Checks finish in any order; report hosts in the order of the config.
    const order = (host: string): number => hosts.indexOf(host);
    const active = [...manager.#active.entries()].sort(([a], [b]) => order(a) - order(b));
    manager.#active.clear();
    for (const [host, entry] of active) manager.#active.set(host, entry);
    manager.#inactive.sort((a, b) => order(a.host) - order(b.host));
    return manager;
  }

  /** Hosts that passed the check, in config order. */
  get activeHosts(): string[] {
    return [...this.#active.keys()];
  }

  get inactiveHosts(): readonly InactiveHost[] {
    return this.#inactive;
  }

  /** What each active host reported. */
  get infos(): RuntimeInfo[] {
    return [...this.#active.values()].map((entry) => entry.info);
  }

  /**
   * A group of the active hosts that pass every filter. Filters that need the hosts
   * (executables, commands) run as one command per host, all in parallel.
   */
  async createGroup(options: CreateGroupOptions = {}): Promise<RuntimeGroup> {
    const candidates = [...this.#active.values()].filter(({ info }) => {
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
    const passed = await Promise.all(candidates.map(async ({ runtime }) => {
      if (checks.length === 0) return true;
      const result = await runtime.exec(checks.join(' && ')).catch(() => undefined);
      return result?.exitCode === 0;
    }));
    const chosen = candidates.filter((_, i) => passed[i] === true).map(({ info }) => info.host);
    if (chosen.length === 0) {
      throw new NoRuntimesDetectedError({
        checked: this.#active.size + this.#inactive.length,
        reason: this.#active.size === 0 ? 'no host of the SSH config could be used' : 'no active host passed the filters',
      });
    }
    const { timeoutMs: _t, ...runtimeOptions } = this.options;
    return new RuntimeGroup({
      runtimes: chosen.map((host) => new Runtime(host, options.workingDir === undefined ? runtimeOptions : { ...runtimeOptions, workingDir: options.workingDir })),
    });
  }

  /** Close the connections made by the checks. */
  async cleanup(): Promise<void> {
    await Promise.allSettled([...this.#active.values()].map(async ({ runtime }) => await runtime.cleanup()));
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
      this.#active.set(host, { runtime, info });
    } catch (error) {
      await runtime.cleanup();
      const message = signal.aborted && !(error instanceof Error && error.message.startsWith('python3')) ? `no answer within ${timeoutMs} ms` : error instanceof Error ? error.message : String(error);
      this.#inactive.push({ host, reason: message });
    }
  }
}
