import { labGroup } from '../lab-runtimes.js';
import { interleave, timed } from '../measure.js';
import { compare, series, type Bench, type Comparison, type Series } from '../types.js';

export const fanOut: Bench = {
  name: 'fan-out',
  title: 'Fan-out',
  async run({ lab, budget, log }) {
    const all: Series[] = [];
    const comparisons: Comparison[] = [];
    let one: Series | undefined;
    for (const count of budget.hostCounts) {
      log(`fan-out: ${count} hosts`);
      await using group = labGroup(lab, count);
      await group.connect();
      const single = group.getRuntime('h1');
      const samples = await interleave(budget.calls, {
        group: async () => await timed(async () => await runEverywhere(group.exec('true'))),
        one: async () => await timed(async () => await single.run('true')),
      });
      // Each group size gets its own one-host reference, measured in the same rounds.
      const oneHere = series(`one-${count}`, `Runtime.exec("true") on h1 (beside ${count})`, 'ms', samples.one);
      const groupHere = series(`group-${count}`, `RuntimeGroup.exec("true") on ${count} hosts`, 'ms', samples.group);
      all.push(groupHere, oneHere);
      one ??= oneHere;
      comparisons.push(compare(`${count} hosts vs 1 host`, groupHere, oneHere, count === 12 ? { op: '<=', value: 2 } : undefined));
    }
    return {
      name: this.name,
      title: this.title,
      compares: 'the same command on every host of a RuntimeGroup in parallel vs on one host (connections open)',
      series: all,
      comparisons,
      charts: [
        {
          kind: 'lines',
          file: 'fan-out.svg',
          title: 'Fan-out: one command on N hosts (median ms)',
          xLabel: 'hosts',
          lines: [
            {
              label: 'RuntimeGroup.exec',
              points: [...(one === undefined ? [] : [{ x: 1, series: one.id }]), ...budget.hostCounts.map((count) => ({ x: count, series: `group-${count}` }))],
            },
          ],
        },
      ],
      notes: ['Every lab host shares the manager\'s CPU cores, so N hosts also means N remote processes on the same machine.'],
    };
  },
};

async function runEverywhere(results: Promise<{ readonly exitCode: number | null; readonly host: string }[]>): Promise<void> {
  for (const result of await results) {
    if (result.exitCode !== 0) throw new Error(`true exited with ${result.exitCode} on ${result.host}`);
  }
}
