// Discover the usable hosts of an SSH config, and build a group of those that fit.
import { RuntimeManager } from '@lazycluster/runtime';
import { runIfMain, runtimeOptionsOf, type ExampleOptions } from './example-options.js';

export async function discoverAndFilter(options: ExampleOptions = {}): Promise<{ active: string[]; inactive: { host: string; reason: string }[]; group: string[] }> {
  // Every concrete Host of the config is checked in parallel: reachable, a usable shell,
  // python3 present. Hosts that fail are kept with the reason.
  await using manager = await RuntimeManager.detect({ ...runtimeOptionsOf(options), timeoutMs: 5000 });

  // Only hosts with 1+ cores where python3 and a POSIX tool are installed.
  await using group = await manager.createGroup({ minCpuCores: 1, installedExecutables: ['python3', 'sort'] });
  return { active: manager.activeHosts, inactive: [...manager.inactiveHosts], group: group.hosts };
}

runIfMain(import.meta.url, discoverAndFilter);
