import { performance } from 'node:perf_hooks';
import { labRuntime } from '../lab-runtimes.js';
import { interleave } from '../measure.js';
import { sshFresh, sshNegotiated } from '../openssh.js';
import { compare, series, type Bench } from '../types.js';

export const connectionSetup: Bench = {
  name: 'connection-setup',
  title: 'Connection setup',
  async run({ lab, budget }) {
    const { kex } = await sshNegotiated(lab, 'h1');
    const samples = await interleave(budget.runs, {
      ours: async () => {
        // Cleanup (closing the agent and the connection) is not part of the setup.
        await using runtime = labRuntime(lab, 'h1');
        const start = performance.now();
        await runtime.connect();
        await runtime.run('true');
        return performance.now() - start;
      },
      openssh: async () => {
        const start = performance.now();
        await sshFresh(lab, 'h1', 'true');
        return performance.now() - start;
      },
    });
    const ours = series('ours', 'new Runtime(h1).connect() + exec("true")', 'ms', samples.ours);
    const openssh = series('openssh', 'ssh h1 true (new connection)', 'ms', samples.openssh);
    return {
      name: this.name,
      title: this.title,
      compares: 'a new connection and its first command: `new Runtime(h).connect()` + `exec("true")` vs `ssh h true` without multiplexing',
      series: [ours, openssh],
      comparisons: [compare('connect + first exec vs ssh', ours, openssh)],
      charts: [{ kind: 'bars', file: 'connection-setup.svg', title: 'Connection setup (median, p25–p75)', series: ['ours', 'openssh'] }],
      notes: [
        `Both pay a key exchange and one remote login shell (the runtime starts its agent through it). OpenSSH negotiated ${kex}.`,
      ],
    };
  },
};
