import { portRange } from '@lazycluster/ports';
import { labGroup } from '../lab-runtimes.js';
import { interleave, timed } from '../measure.js';
import { compare, series, type Bench, type Comparison, type Series } from '../types.js';

const CANDIDATES = portRange(20000, 20199);

export const portNegotiation: Bench = {
  name: 'port-negotiation',
  title: 'Port negotiation',
  async run({ lab, budget, log }) {
    const all: Series[] = [];
    const comparisons: Comparison[] = [];
    for (const count of budget.hostCounts.filter((n) => n <= 12)) {
      log(`port-negotiation: ${count} hosts`);
      await using group = labGroup(lab, count);
      await group.connect();
      const single = group.getRuntime('h1');
      const samples = await interleave(budget.calls, {
        lease: async () =>
          await timed(async () => {
            const { lease } = await group.leaseFreePort(CANDIDATES);
            lease.release();
          }),
        exec: async () => await timed(async () => await single.run('true')),
      });
      const lease = series(`lease-${count}`, `group.leaseFreePort(20000–20199) on ${count} hosts`, 'ms', samples.lease);
      const exec = series(`exec-${count}`, `one exec("true") on h1 (beside ${count})`, 'ms', samples.exec);
      all.push(lease, exec);
      comparisons.push(compare(`${count} hosts vs one exec`, lease, exec, { op: '<=', value: 1.5 }));
    }
    return {
      name: this.name,
      title: this.title,
      compares: 'a port free on every host at once (`group.leaseFreePort`, released after) vs one warm `exec("true")` on one host: the floor of any remote question',
      series: all,
      comparisons,
      charts: [{ kind: 'bars', file: 'port-negotiation.svg', title: 'Port negotiation (median, p25–p75)', series: all.map((s) => s.id) }],
      notes: [],
    };
  },
};
