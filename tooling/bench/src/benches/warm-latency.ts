import { labRuntime } from '../lab-runtimes.js';
import { interleave, timed } from '../measure.js';
import { OpenSshMaster } from '../openssh.js';
import { compare, series, type Bench } from '../types.js';

export const warmLatency: Bench = {
  name: 'warm-latency',
  title: 'Warm command latency',
  async run({ lab, budget, tmpDir }) {
    await using runtime = labRuntime(lab, 'h1');
    const master = new OpenSshMaster(lab, 'h1', tmpDir);
    try {
      await runtime.connect();
      await master.open();
      const samples = await interleave(budget.calls, {
        ours: async () => await timed(async () => await runtime.run('true')),
        openssh: async () => await timed(async () => await master.run('true')),
      });
      const ours = series('ours', 'Runtime.exec("true"), connection open', 'ms', samples.ours);
      const openssh = series('openssh', 'ssh h1 true through a ControlMaster', 'ms', samples.openssh);
      return {
        name: this.name,
        title: this.title,
        compares: 'one command on an already open connection: `runtime.exec("true")` vs OpenSSH multiplexed over a ControlMaster opened beforehand',
        series: [ours, openssh],
        comparisons: [compare('exec vs ssh ControlMaster', ours, openssh, { op: '<=', value: 1 })],
        charts: [{ kind: 'bars', file: 'warm-latency.svg', title: 'Warm command latency (median, p25–p75)', series: ['ours', 'openssh'] }],
        notes: ["OpenSSH runs every command through the remote login shell (it sources ~/.bashrc); the runtime's agent (one per connection, started once) runs it as `/bin/sh -c true`, without a login shell."],
      };
    } finally {
      await master.close();
    }
  },
};
