import type { PortLeases } from '@lazycluster/ports';
import type { Logger } from '@lazycluster/runtime';

/** What every launcher (master or worker) is configured with. */
export interface LauncherOptions {
  /** @default a logger that says nothing */
  readonly logger?: Logger | undefined;
  /** Where ports are leased. @default the process-wide `defaultPortLeases` */
  readonly leases?: PortLeases | undefined;
  /** Time between SIGTERM and SIGKILL when a process is stopped. @default 3000 */
  readonly stopGraceMs?: number | undefined;
  /** Where `debug: true` writes the processes' output. @default process.stdout */
  readonly output?: NodeJS.WritableStream | undefined;
}

/** Options of a launcher's `start` (and of `WorkerLauncher.addWorkers`). */
export interface LauncherStartOptions {
  /** Everything the call starts must be launched and ready within this. @default 30000 */
  readonly timeoutMs?: number | undefined;
  /** Echo the output line by line, prefixed with its host (and worker index). @default false */
  readonly debug?: boolean | undefined;
  /** Cancels the call; it then rejects with the signal's reason and leaves nothing of it running. */
  readonly signal?: AbortSignal | undefined;
}
