export {
  DaskClient,
  type DaskConnectOptions,
  type DaskWorkerSubscription,
  type RetireWorkersOptions,
  type WaitForWorkersOptions,
} from './client/dask-client.js';
export type { DaskCallOptions } from './client/deadline.js';
export { DaskConfigError, DaskConnectionError, DaskProtocolError, DaskSchedulerError, TimeoutError } from './client/errors.js';
export type { DaskSchedulerIdentity, DaskWorkerInfo } from './client/types.js';
export type { DaskWorkerEvent, DaskWorkerListener } from './client/worker-status.js';
export { DaskCluster, type DaskClusterOptions, type GetClientOptions } from './cluster/dask-cluster.js';
export { DaskNotInstalledError, type PythonAttempt } from './cluster/errors.js';
export { LocalMasterLauncher, type LocalMasterLauncherOptions } from './cluster/local-master-launcher.js';
export type { DaskNetwork, DaskSchedulerOptions, DaskWorkerOptions } from './cluster/options.js';
export { RoundRobinLauncher, type RoundRobinLauncherOptions } from './cluster/round-robin-launcher.js';
