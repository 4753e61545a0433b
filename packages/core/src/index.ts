export { MasterStartError, NoReachableHostsError, WorkerStartError, type MasterStartErrorOptions, type NoReachableHostsErrorOptions, type StartFailureReason, type WorkerStartErrorOptions } from './errors.js';
export type { CleanupReason, ClusterEvents, MasterLauncherEvents, WorkerLauncherEvents } from './events.js';
export type { ClusterProcess } from './cluster-process.js';
export { TypedEmitter, type EventListener, type Unsubscribe } from './typed-emitter.js';
export { waitForOutputLine, waitForTcpPort, type WaitForOutputLineOptions, type WaitForTcpPortOptions } from './readiness.js';
export { RuntimeCluster, type RuntimeClusterOptions } from './runtime-cluster.js';
export {
  MasterLauncher,
  type MasterLauncherOptions,
  type MasterLaunchOptions,
  type MasterReadyOptions,
  type MasterStartOptions,
} from './master-launcher.js';
export {
  WorkerLauncher,
  type WorkerInfo,
  type WorkerLaunchContext,
  type WorkerLauncherOptions,
  type WorkerReadyContext,
  type WorkerStartOptions,
} from './worker-launcher.js';
export {
  MasterWorkerCluster,
  type ClusterStartOptions,
  type ClusterStatus,
  type HostFailurePolicy,
  type MasterWorkerClusterOptions,
  type WorkersStartOptions,
} from './master-worker-cluster.js';
export type { LauncherOptions, LauncherStartOptions } from './launcher-options.js';
