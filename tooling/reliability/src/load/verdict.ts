// Whether the manager stayed flat during the soak.
import type { ManagerSample } from './parts.js';

const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`;

/** Stable: no handle or descriptor growth beyond a little jitter, and a heap that did not keep growing. */
export function soakVerdict(samples: readonly ManagerSample[]): { stable: boolean; why: string } {
  const first = samples[0];
  const last = samples.at(-1);
  if (first === undefined || last === undefined || samples.length < 2) return { stable: false, why: 'too few samples' };
  const problems: string[] = [];
  if (last.openFds - first.openFds > 5) problems.push(`open fds ${first.openFds} -> ${last.openFds}`);
  if (last.activeResources - first.activeResources > 5) problems.push(`active handles ${first.activeResources} -> ${last.activeResources}`);
  if (last.heapUsedBytes > first.heapUsedBytes * 1.5 + 20 * 2 ** 20) problems.push(`heap ${mb(first.heapUsedBytes)} -> ${mb(last.heapUsedBytes)}`);
  return problems.length === 0 ? { stable: true, why: 'fds, handles and heap flat' } : { stable: false, why: problems.join('; ') };
}
