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
