export { HttpQueueCluster, type HttpQueueClusterOptions, type QueueResult, type QueueResults, type QueueWorkerStatus } from './http-queue-cluster.js';
export { HttpQueueMasterLauncher, type HttpQueueMasterLauncherOptions, type QueueTask, type WorkItem } from './http-queue-master-launcher.js';
export { HttpQueueWorkerLauncher, type HttpQueueWorkerLauncherOptions } from './http-queue-worker-launcher.js';
