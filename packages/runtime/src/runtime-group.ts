import { managerProbe, negotiatePort, requirePort, type PortLease, type PortProbe } from '@lazycluster/ports';
import { InvalidRuntimeError } from './errors.js';
import { makeTunnel, type Tunnel } from './internal/tunnels.js';
import { Runtime, type Command, type ExecOptions, type ExecResult, type RuntimeInfo, type RuntimeOptions } from './runtime.js';
import type { RuntimeTask } from './task.js';
import type { ExecuteTaskOptions, TaskRun } from './task-run.js';

/** Build a group from existing runtimes, or from host names with shared options. */
export type RuntimeGroupOptions =
  | { readonly runtimes: readonly Runtime[] }
  | ({ readonly hosts: readonly string[] } & RuntimeOptions);

export interface GroupTaskOptions extends ExecuteTaskOptions {
  /** Run on this host. @default the least busy runtime */
  readonly host?: string;
  /** Run on every runtime of the group. @default false */
  readonly all?: boolean;
}

export interface GroupPortOptions {
  /** Hosts not to ask. */
  readonly excludeHosts?: readonly string[];
  /** Ask the manager too. @default false */
  readonly includeManager?: boolean;
  readonly signal?: AbortSignal;
}

/**
 * Several runtimes used together. Everything that touches several hosts runs on all of
 * them in parallel.
 *
 * @example
 * await using group = new RuntimeGroup({ hosts: ['h1', 'h2', 'h3'] });
 * const infos = await group.info();
 */
export class RuntimeGroup {
  readonly #runtimes = new Map<string, Runtime>();
  readonly #groupTunnels = new Set<Tunnel>();
  #cleanup: Promise<void> | undefined;

  constructor(options: RuntimeGroupOptions) {
    const runtimes = 'runtimes' in options ? options.runtimes : options.hosts.map((host) => new Runtime(host, withoutHosts(options)));
    for (const runtime of runtimes) this.addRuntime(runtime);
  }

  get hosts(): string[] {
    return [...this.#runtimes.keys()];
  }

  get runtimes(): Runtime[] {
    return [...this.#runtimes.values()];
  }

  get runtimeCount(): number {
    return this.#runtimes.size;
  }

  /** The runtime of `host`, or without a host the least busy one (fewest running tasks). */
  getRuntime(host?: string): Runtime {
    if (host !== undefined) {
      const runtime = this.#runtimes.get(host);
      if (runtime === undefined) throw new InvalidRuntimeError({ host, reason: `it is not in this group (hosts: ${this.hosts.join(', ') || 'none'})` });
      return runtime;
    }
    let best: Runtime | undefined;
    for (const runtime of this.#runtimes.values()) {
      if (best === undefined || runtime.activeTaskCount < best.activeTaskCount) best = runtime;
    }
    if (best === undefined) throw new InvalidRuntimeError({ host: '(none)', reason: 'the group has no runtimes' });
    return best;
  }

  addRuntime(runtime: Runtime): void {
    if (this.#runtimes.has(runtime.host)) throw new InvalidRuntimeError({ host: runtime.host, reason: 'it is already in this group' });
    this.#runtimes.set(runtime.host, runtime);
  }

  /** Take a runtime out of the group and clean it up. */
  async removeRuntime(host: string): Promise<void> {
    const runtime = this.getRuntime(host);
    this.#runtimes.delete(host);
    await runtime.cleanup();
  }

  setEnv(env: Readonly<Record<string, string>>): void {
    for (const runtime of this.#runtimes.values()) runtime.setEnv(env);
  }

  addEnv(env: Readonly<Record<string, string>>): void {
    for (const runtime of this.#runtimes.values()) runtime.addEnv(env);
  }

  /** Open every connection now, in parallel. */
  async connect(options: { signal?: AbortSignal } = {}): Promise<void> {
    await Promise.all(this.runtimes.map(async (runtime) => await runtime.connect(options)));
  }

  /** Run a command on every runtime (or those in `hosts`) in parallel. */
  async exec(command: Command, options: ExecOptions & { hosts?: readonly string[] } = {}): Promise<ExecResult[]> {
    const targets = options.hosts === undefined ? this.runtimes : options.hosts.map((host) => this.getRuntime(host));
    return await Promise.all(targets.map(async (runtime) => await runtime.exec(command, options)));
  }

  /** Run a task on one runtime (the least busy, or `host`), or with `all` on every runtime. */
  async executeTask(task: RuntimeTask, options: GroupTaskOptions = {}): Promise<TaskRun[]> {
    const { host, all, ...rest } = options;
    const targets = all === true ? this.runtimes : [this.getRuntime(host)];
    return await Promise.all(targets.map(async (runtime) => await runtime.executeTask(task, rest)));
  }

  /** Copy a file or directory to every runtime in parallel. */
  async sendFile(localPath: string, remotePath?: string): Promise<string[]> {
    return await Promise.all(this.runtimes.map(async (runtime) => await runtime.sendFile(localPath, remotePath)));
  }

  /** Wait for every task started with `async: true` on every runtime. */
  async join(): Promise<void> {
    const results = await Promise.allSettled(this.runtimes.map(async (runtime) => await runtime.join()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  /** Return values of every task's function steps, runtime by runtime. */
  get functionReturns(): unknown[] {
    return this.runtimes.flatMap((runtime) => runtime.functionReturns);
  }

  /** `info()` of every runtime, in parallel. */
  async info(): Promise<RuntimeInfo[]> {
    return await Promise.all(this.runtimes.map(async (runtime) => await runtime.info()));
  }

  /**
   * Make a service on the manager's 127.0.0.1:localPort reachable on every runtime's
   * 127.0.0.1:runtimePort. All or nothing: on a failure the tunnels already opened are closed.
   */
  async exposePortToRuntimes(localPort: number, options: { runtimePort?: number; excludeHosts?: readonly string[] } = {}): Promise<Tunnel> {
    const runtimePort = options.runtimePort ?? localPort;
    const targets = this.#select(options.excludeHosts);
    return this.#trackGroupTunnel(await openAll(targets.map((runtime) => async () => await runtime.exposePortToRuntime(localPort, runtimePort)), runtimePort, localPort));
  }

  /**
   * Make a service on `host`'s 127.0.0.1:runtimePort reachable at the same port
   * (`groupPort`) on the manager and on every other runtime of the group.
   */
  async exposePortFromRuntimeToGroup(host: string, runtimePort: number, options: { groupPort?: number } = {}): Promise<Tunnel> {
    const groupPort = options.groupPort ?? runtimePort;
    const source = this.getRuntime(host);
    const toManager = await source.exposePortFromRuntime(runtimePort, groupPort);
    try {
      const others = this.runtimes.filter((runtime) => runtime !== source);
      const toOthers = await openAll(others.map((runtime) => async () => await runtime.exposePortToRuntime(groupPort, groupPort)), groupPort, runtimePort);
      return this.#trackGroupTunnel(makeTunnel(groupPort, runtimePort, async () => {
        await toOthers.close();
        await toManager.close();
      }));
    } catch (error) {
      await toManager.close();
      throw error;
    }
  }

  /** Port probes of the runtimes (minus `excludeHosts`), plus the manager's with `includeManager`. */
  portProbes(options: GroupPortOptions = {}): PortProbe[] {
    const probes = this.#select(options.excludeHosts).map((runtime) => runtime.portProbe());
    if (options.includeManager === true && !probes.some((probe) => probe.host === 'localhost')) probes.push(managerProbe());
    return probes;
  }

  /** True when `port` is free on every runtime (minus `excludeHosts`). One round trip per host, in parallel. */
  async hasFreePort(port: number, options: GroupPortOptions = {}): Promise<boolean> {
    try {
      const lease = await requirePort({ port, probes: this.portProbes(options), ...(options.signal === undefined ? {} : { signal: options.signal }) });
      lease.release();
      return true;
    } catch (error) {
      if ((error as { code?: string }).code === 'PORT_IN_USE') return false;
      throw error;
    }
  }

  /** The first of `candidates` free on every runtime (and the manager with `includeManager`). */
  async getFreePort(candidates: readonly number[], options: GroupPortOptions = {}): Promise<number> {
    const { port, lease } = await this.leaseFreePort(candidates, options);
    lease.release();
    return port;
  }

  /**
   * Like `getFreePort`, but keeps the port leased in this process until `lease.release()`,
   * and returns the candidates after it for the next pick.
   */
  async leaseFreePort(candidates: readonly number[], options: GroupPortOptions = {}): Promise<{ port: number; remaining: number[]; lease: PortLease }> {
    return await negotiatePort({ candidates, probes: this.portProbes(options), ...(options.signal === undefined ? {} : { signal: options.signal }) });
  }

  printLog(out: NodeJS.WritableStream = process.stdout): void {
    for (const runtime of this.runtimes) runtime.printLog(out);
  }

  /** Close group tunnels, then clean up every runtime in parallel. Idempotent. */
  async cleanup(): Promise<void> {
    this.#cleanup ??= (async () => {
      await Promise.allSettled([...this.#groupTunnels].map(async (tunnel) => await tunnel.close()));
      await Promise.allSettled(this.runtimes.map(async (runtime) => await runtime.cleanup()));
    })();
    await this.#cleanup;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.cleanup();
  }

  #select(excludeHosts: readonly string[] = []): Runtime[] {
    return this.runtimes.filter((runtime) => !excludeHosts.includes(runtime.host));
  }

  #trackGroupTunnel(tunnel: Tunnel): Tunnel {
    const tracked = makeTunnel(tunnel.listenPort, tunnel.targetPort, async () => {
      this.#groupTunnels.delete(tracked);
      await tunnel.close();
    });
    this.#groupTunnels.add(tracked);
    return tracked;
  }
}

async function openAll(openers: (() => Promise<Tunnel>)[], listenPort: number, targetPort: number): Promise<Tunnel> {
  const results = await Promise.allSettled(openers.map(async (open) => await open()));
  const opened = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  const closeAll = async (): Promise<void> => {
    await Promise.allSettled(opened.map(async (tunnel) => await tunnel.close()));
  };
  if (failed !== undefined) {
    await closeAll();
    throw failed.reason;
  }
  return makeTunnel(listenPort, targetPort, closeAll);
}

function withoutHosts(options: { readonly hosts: readonly string[] } & RuntimeOptions): RuntimeOptions {
  const { hosts: _hosts, ...rest } = options;
  return rest;
}
