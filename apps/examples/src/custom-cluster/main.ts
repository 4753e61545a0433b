// Squares numbers on a cluster that is not Dask: an HTTP job queue on this machine and
// workers on every host given (this machine alone when none is).
//
//   pnpm exec tsx apps/examples/src/custom-cluster/main.ts [host ...]
import { Runtime, RuntimeGroup } from '@lazycluster/runtime';
import { HttpQueueCluster } from './http-queue-cluster.js';

const hosts = process.argv.slice(2);
const group = hosts.length > 0 ? new RuntimeGroup({ hosts }) : new RuntimeGroup({ runtimes: [new Runtime('localhost')] });
const items = Array.from({ length: 20 }, (_, i) => i + 1);

await using cluster = new HttpQueueCluster(group, { task: 'square', items, hostFailurePolicy: 'skip' });
cluster.on('host-skipped', ({ host, reason }) => console.log(`skipped ${host}: ${reason}`));
cluster.on('master-started', ({ port }) => console.log(`queue master on port ${port}`));
cluster.on('worker-started', ({ host, index }) => console.log(`worker ${index} on ${host}`));
cluster.on('worker-exited', ({ host, index, exitCode, expected }) => {
  console.log(`worker ${index} on ${host} exited with ${exitCode}${expected ? '' : ' (unexpected)'}`);
});

await cluster.start();
const { results } = await cluster.run();
for (const { item, result, runtime } of results) console.log(`${item}^2 = ${result} (on ${runtime})`);
