/** Why a cluster is being cleaned up. */
export type CleanupReason = 'explicit' | 'start-failed' | 'signal' | 'uncaught-exception' | 'exit';

/**
 * The lifecycle events of a cluster, by name, with their payloads; subscribe with
 * `cluster.on(name, listener)`. Hosts are runtime host names, `'localhost'` being the manager.
 */
export interface ClusterEvents {
  /** The master is ready and reachable from every runtime. */
  'master-started': { readonly host: string; readonly port: number; readonly pid: number };
  /** The master process ended; `expected` is true when the cluster stopped it. */
  'master-exited': {
    readonly host: string;
    readonly port: number;
    readonly exitCode: number | null;
    readonly signal: string | null;
    readonly expected: boolean;
  };
  /** A worker is ready and its port is reachable from the manager and every runtime. */
  'worker-started': { readonly host: string; readonly port: number; readonly index: number; readonly pid: number };
  /**
   * A worker process ended. `expected` is true when the cluster stopped it (scale down,
   * cleanup) or its launcher declares the exit normal; otherwise the cluster stays up without it.
   */
  'worker-exited': {
    readonly host: string;
    readonly port: number;
    readonly index: number;
    readonly exitCode: number | null;
    readonly signal: string | null;
    readonly expected: boolean;
  };
  /** Under the `'skip'` host failure policy, a host could not be reached and was left out. */
  'host-skipped': { readonly host: string; readonly reason: string; readonly error: unknown };
  /** Cleanup began. */
  'cleanup-started': { readonly reason: CleanupReason };
  /** Cleanup ended; `errors` holds what failed along the way (cleanup itself never rejects). */
  'cleanup-done': { readonly reason: CleanupReason; readonly durationMs: number; readonly errors: readonly unknown[] };
}

/** The events a {@link MasterLauncher} reports. */
export type MasterLauncherEvents = Pick<ClusterEvents, 'master-started' | 'master-exited'>;

/** The events a {@link WorkerLauncher} reports. */
export type WorkerLauncherEvents = Pick<ClusterEvents, 'worker-started' | 'worker-exited'>;
