// In-memory stand-ins for runtimes, a runtime group and processes, for the unit tests of
// @lazycluster/core. They keep the state the core touches (busy ports, tunnels, connections,
// process exits) so the tests can assert on it; nothing here talks to a real host.
import { PassThrough } from 'node:stream';
import { LazyclusterError, PortInUseError, PortLeases, type PortProbe } from '@lazycluster/ports';
import type { ProcessOutcome, RuntimeGroup, Tunnel } from '@lazycluster/runtime';
import {
  MasterLauncher,
  WorkerLauncher,
  waitForOutputLine,
  type ClusterProcess,
  type MasterLaunchOptions,
  type MasterReadyOptions,
  type WorkerLaunchContext,
  type WorkerReadyContext,
} from '../src/index.js';

let nextPid = 1000;

/** A process that lives in memory: the test decides when it prints and when it exits. */
export class FakeProcess implements ClusterProcess {
  readonly pid = nextPid++;
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly outcome: Promise<ProcessOutcome>;
  readonly exited: Promise<number | null>;
  readonly signals: string[] = [];
  /** When false, SIGTERM is ignored and only SIGKILL ends it. */
  obeysSigterm = true;
  #resolve!: (outcome: ProcessOutcome) => void;
  #running = true;

  constructor(
    readonly host: string,
    readonly command: string,
  ) {
    this.outcome = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    this.exited = this.outcome.then((o) => o.exitCode);
  }

  get running(): boolean {
    return this.#running;
  }

  print(line: string): void {
    this.stdout.write(`${line}\n`);
  }

  printErr(line: string): void {
    this.stderr.write(`${line}\n`);
  }

  exit(exitCode: number | null, signal: string | null = null): void {
    if (!this.#running) return;
    this.#running = false;
    this.stdout.end();
    this.stderr.end();
    this.#resolve({ exitCode, signal });
  }

  kill(signal?: NodeJS.Signals, options: { graceMs?: number } = {}): void {
    if (!this.#running) return;
    this.signals.push(signal ?? 'SIGTERM');
    if (signal === 'SIGKILL' || this.obeysSigterm) {
      this.exit(null, signal ?? 'SIGTERM');
      return;
    }
    if (signal === undefined) setTimeout(() => this.kill('SIGKILL'), options.graceMs ?? 3000).unref();
  }

  async stop(options: { graceMs?: number } = {}): Promise<ProcessOutcome> {
    this.kill(undefined, options);
    return await this.outcome;
  }
}

/** One open fake tunnel: `port` is listened on at `at` (a host, or 'localhost' for the manager). */
export interface FakeTunnelRecord {
  readonly at: string;
  readonly port: number;
  readonly to: string;
}

/** A host: which ports are busy, whether it can be reached, what tunnels it listens on. */
export class FakeRuntime {
  readonly busy = new Set<number>();
  probeCount = 0;
  connectError: Error | undefined;
  cleanedUp = false;

  constructor(
    readonly host: string,
    private readonly world: FakeWorld,
  ) {}

  get isLocal(): boolean {
    return this.host === 'localhost';
  }

  async connect(): Promise<void> {
    await Promise.resolve();
    if (this.connectError !== undefined) throw this.connectError;
  }

  portProbe(): PortProbe {
    return {
      host: this.host,
      busyPorts: async (candidates) => {
        this.probeCount++;
        await Promise.resolve();
        if (this.connectError !== undefined) throw this.connectError;
        return new Set(candidates.filter((port) => this.busy.has(port)));
      },
    };
  }

  async cleanup(): Promise<void> {
    await Promise.resolve();
    this.cleanedUp = true;
  }

  /** Listens on `port` here, as a tunnel endpoint. */
  open(port: number, to: string): Tunnel {
    return this.world.listen(this.host, port, to, this.busy);
  }
}

/** The manager and the hosts, and every tunnel open between them. */
export class FakeWorld {
  readonly managerBusy = new Set<number>();
  readonly tunnels = new Set<FakeTunnelRecord>();
  managerProbeCount = 0;

  listen(at: string, port: number, to: string, busy: Set<number>): Tunnel {
    if (busy.has(port)) throw new PortInUseError({ port, hosts: [at] });
    busy.add(port);
    const record = { at, port, to };
    this.tunnels.add(record);
    let closed = false;
    const close = async (): Promise<void> => {
      await Promise.resolve();
      if (closed) return;
      closed = true;
      busy.delete(port);
      this.tunnels.delete(record);
    };
    return { listenPort: port, targetPort: port, close, [Symbol.asyncDispose]: close };
  }

  managerProbe(): PortProbe {
    return {
      host: 'localhost',
      busyPorts: async (candidates) => {
        this.managerProbeCount++;
        await Promise.resolve();
        return new Set(candidates.filter((port) => this.managerBusy.has(port)));
      },
    };
  }

  /** Tunnels as `at:port`, sorted, for assertions. */
  tunnelList(): string[] {
    return [...this.tunnels].map((t) => `${t.at}:${t.port}`).sort();
  }
}

/** The subset of `RuntimeGroup` the core uses, over fake runtimes. */
export class FakeGroup {
  readonly world = new FakeWorld();
  readonly #runtimes = new Map<string, FakeRuntime>();
  cleanedUp = 0;

  constructor(hosts: readonly string[]) {
    for (const host of hosts) this.#runtimes.set(host, new FakeRuntime(host, this.world));
  }

  /** This fake, typed as the real group the core expects. */
  get asGroup(): RuntimeGroup {
    return this as unknown as RuntimeGroup;
  }

  get hosts(): string[] {
    return [...this.#runtimes.keys()];
  }

  get runtimes(): FakeRuntime[] {
    return [...this.#runtimes.values()];
  }

  get runtimeCount(): number {
    return this.#runtimes.size;
  }

  runtime(host: string): FakeRuntime {
    const runtime = this.#runtimes.get(host);
    if (runtime === undefined) throw new Error(`no fake runtime ${host}`);
    return runtime;
  }

  getRuntime(host: string): FakeRuntime {
    const runtime = this.#runtimes.get(host);
    if (runtime === undefined) throw new LazyclusterError('INVALID_RUNTIME', `${host} is not in this group`);
    return runtime;
  }

  async removeRuntime(host: string): Promise<void> {
    const runtime = this.getRuntime(host);
    this.#runtimes.delete(host);
    await runtime.cleanup();
  }

  portProbes(options: { includeManager?: boolean; excludeHosts?: readonly string[] } = {}): PortProbe[] {
    const probes = this.runtimes.filter((r) => !(options.excludeHosts ?? []).includes(r.host)).map((r) => r.portProbe());
    if (options.includeManager === true) probes.push(this.world.managerProbe());
    return probes;
  }

  async exposePortToRuntimes(localPort: number, options: { runtimePort?: number } = {}): Promise<Tunnel> {
    await Promise.resolve();
    const port = options.runtimePort ?? localPort;
    return this.#all(this.runtimes.map((runtime) => () => runtime.open(port, `localhost:${localPort}`)), port);
  }

  async exposePortFromRuntimeToGroup(host: string, runtimePort: number): Promise<Tunnel> {
    await Promise.resolve();
    const source = this.getRuntime(host);
    const openers = [
      () => this.world.listen('localhost', runtimePort, `${host}:${runtimePort}`, this.world.managerBusy),
      ...this.runtimes.filter((r) => r !== source).map((runtime) => () => runtime.open(runtimePort, `${host}:${runtimePort}`)),
    ];
    return this.#all(openers, runtimePort);
  }

  printLog(out: NodeJS.WritableStream): void {
    out.write(`log of ${this.hosts.join(',')}\n`);
  }

  async cleanup(): Promise<void> {
    await Promise.resolve();
    this.cleanedUp++;
    for (const runtime of this.runtimes) await runtime.cleanup();
  }

  #all(openers: (() => Tunnel)[], port: number): Tunnel {
    const opened: Tunnel[] = [];
    try {
      for (const open of openers) opened.push(open());
    } catch (error) {
      for (const tunnel of opened) void tunnel.close();
      throw error;
    }
    const close = async (): Promise<void> => {
      await Promise.all(opened.map(async (t) => await t.close()));
    };
    return { listenPort: port, targetPort: port, close, [Symbol.asyncDispose]: close };
  }
}

/** How a fake master or worker behaves once launched. */
export type Behaviour =
  | 'ready' // prints "ready" at once
  | 'exit' // writes to stderr and exits with code 3 before being ready
  | 'hang' // never becomes ready
  | 'throw'; // launching it throws

function launchFake(host: string, command: string, behaviour: Behaviour): FakeProcess {
  if (behaviour === 'throw') throw new Error(`cannot run ${command}`);
  const proc = new FakeProcess(host, command);
  queueMicrotask(() => {
    if (behaviour === 'ready') proc.print('ready');
    if (behaviour === 'exit') {
      proc.printErr(`${command}: address already in use`);
      proc.exit(3);
    }
  });
  return proc;
}

/** A master launcher whose master is a {@link FakeProcess}. */
export class FakeMasterLauncher extends MasterLauncher<FakeProcess> {
  behaviour: Behaviour = 'ready';
  readonly launched: FakeProcess[] = [];
  cleanups = 0;

  constructor(group: FakeGroup, options: { host?: string; leases?: PortLeases; output?: NodeJS.WritableStream } = {}) {
    super(group.asGroup, { leases: options.leases ?? new PortLeases(), stopGraceMs: 50, host: options.host, output: options.output });
  }

  protected async launch(port: number, options: MasterLaunchOptions): Promise<FakeProcess> {
    await Promise.resolve();
    options.signal.throwIfAborted();
    const proc = launchFake(this.host, `master --port ${port}`, this.behaviour);
    this.launched.push(proc);
    return proc;
  }

  protected async waitUntilReady(_port: number, { process, signal }: MasterReadyOptions<FakeProcess>): Promise<void> {
    await waitForOutputLine(process, 'ready', { signal, stream: 'stdout' });
  }

  protected override async onCleanup(): Promise<void> {
    await Promise.resolve();
    this.cleanups++;
  }
}

/** A worker launcher whose workers are {@link FakeProcess}es; behaviour per worker index. */
export class FakeWorkerLauncher extends WorkerLauncher<FakeProcess> {
  behaviourOf: (index: number) => Behaviour = () => 'ready';
  readonly launched: FakeProcess[] = [];
  expectedExitCodes = new Set<number>();
  placement: ((index: number, hosts: readonly string[]) => string) | undefined;

  constructor(group: FakeGroup, options: { leases?: PortLeases; output?: NodeJS.WritableStream } = {}) {
    super(group.asGroup, { leases: options.leases ?? new PortLeases(), stopGraceMs: 50, output: options.output });
  }

  protected async launchWorker(context: WorkerLaunchContext): Promise<FakeProcess> {
    await Promise.resolve();
    context.signal.throwIfAborted();
    const proc = launchFake(context.runtime.host, `worker ${context.index} --port ${context.port} --master ${context.masterPort}`, this.behaviourOf(context.index));
    this.launched.push(proc);
    return proc;
  }

  protected async waitUntilWorkerReady({ process, signal }: WorkerReadyContext<FakeProcess>): Promise<void> {
    await waitForOutputLine(process, 'ready', { signal, stream: 'stdout' });
  }

  protected override pickHost(index: number, hosts: readonly string[]): string {
    return this.placement === undefined ? super.pickHost(index, hosts) : this.placement(index, hosts);
  }

  protected override isExpectedExit(_worker: unknown, outcome: ProcessOutcome): boolean {
    return outcome.exitCode !== null && this.expectedExitCodes.has(outcome.exitCode);
  }
}

/** Processes of `launched` still running. */
export function running(processes: readonly FakeProcess[]): FakeProcess[] {
  return processes.filter((p) => p.running);
}
