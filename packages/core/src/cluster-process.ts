import type { RemoteProcess } from '@lazycluster/runtime';

/**
 * What the launchers need of a started process. A {@link RemoteProcess} from
 * `runtime.spawn()` is one; launchers are generic over it so that a subclass keeps the
 * exact type it returns.
 */
export type ClusterProcess = Pick<
  RemoteProcess,
  'host' | 'command' | 'pid' | 'stdout' | 'stderr' | 'exited' | 'outcome' | 'running' | 'kill' | 'stop'
>;
