import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spawnOnHost } from '@lazycluster/lab';
import { labRuntime } from '../lab-runtimes.js';
import { interleave } from '../measure.js';
import { OpenSshMaster } from '../openssh.js';
import { runChecked, waitForLine } from '../processes.js';
import { freeLocalPort } from '../tcp.js';
import { compare, series, type Bench } from '../types.js';

const AES = 'aes128-gcm@openssh.com';
const SENDER = fileURLToPath(new URL('../../python/sender.py', import.meta.url));
const SENDER_SOURCE = readFileSync(SENDER, 'utf8');
const RECEIVER = fileURLToPath(new URL('../../python/receiver.py', import.meta.url));

/** MB/s of one download by a separate client process (it checks the byte count). */
async function download(host: string, port: number, bytes: number): Promise<number> {
  const { stdout } = await runChecked('/usr/bin/python3', [RECEIVER, host, String(port), String(bytes)], { timeoutMs: 300_000 });
  return Number(stdout.trim());
}

export const tunnelThroughput: Bench = {
  name: 'tunnel-throughput',
  title: 'Tunnel throughput',
  async run({ lab, budget, tmpDir }) {
    const host = lab.hosts[0];
    if (host === undefined) throw new Error('the lab has no hosts');
    const bytes = budget.payloadBytes;
    // The source travels as an argument: the host's /tmp is its own, so a checkout under /tmp
    // (as a CI clone may be) is not visible there.
    await using sender = spawnOnHost(lab, host.name, ['/usr/bin/python3', '-c', SENDER_SOURCE, String(bytes)], { stdio: ['ignore', 'pipe', 'inherit'] });
    if (sender.stdout === null) throw new Error('the sender has no stdout');
    const hostPort = Number((await waitForLine(sender.stdout, /^(\d+)$/, 10_000))[1]);
    await using runtime = labRuntime(lab, host.alias);
    const master = new OpenSshMaster(lab, host.alias, tmpDir);
    const aesMaster = new OpenSshMaster(lab, host.alias, tmpDir, { cipher: AES });
    try {
      const tunnel = await runtime.exposePortFromRuntime(hostPort, await freeLocalPort());
      await master.open();
      const sshPort = await freeLocalPort();
      await master.forward(sshPort, hostPort);
      await aesMaster.open();
      const aesPort = await freeLocalPort();
      await aesMaster.forward(aesPort, hostPort);
      const samples = await interleave(budget.runs, {
        ours: async () => await download('127.0.0.1', tunnel.listenPort, bytes),
        openssh: async () => await download('127.0.0.1', sshPort, bytes),
        opensshAes: async () => await download('127.0.0.1', aesPort, bytes),
        direct: async () => await download(host.address, hostPort, bytes),
      });
      const mib = bytes / 2 ** 20;
      const ours = series('ours', `runtime.exposePortFromRuntime, ${mib} MiB`, 'MB/s', samples.ours);
      const openssh = series('openssh', `ssh -L (${await master.cipher()}), ${mib} MiB`, 'MB/s', samples.openssh);
      const opensshAes = series('openssh-aes', `ssh -L (-c ${AES}), ${mib} MiB`, 'MB/s', samples.opensshAes);
      const direct = series('direct', `direct TCP to ${host.address}, ${mib} MiB`, 'MB/s', samples.direct);
      await tunnel.close();
      return {
        name: this.name,
        title: this.title,
        compares: `${mib} MiB from a service on the host to the manager: through the runtime's tunnel vs OpenSSH \`ssh -L\` (default cipher) vs direct TCP (the ceiling)`,
        series: [ours, openssh, opensshAes, direct],
        comparisons: [
          compare('tunnel vs ssh -L', ours, openssh, { op: '>=', value: 0.7 }),
          compare(`tunnel vs ssh -L -c ${AES}`, ours, opensshAes),
          compare('tunnel vs direct TCP', ours, direct),
        ],
        charts: [{ kind: 'bars', file: 'tunnel-throughput.svg', title: 'Tunnel throughput (median MB/s, p25–p75; higher is better)', series: ['ours', 'openssh', 'openssh-aes', 'direct'] }],
        notes: [
          `OpenSSH negotiated ${await master.cipher()} by default; the runtime (ssh2) prefers ${AES}, so ssh -L with that cipher is measured too.`,
          'The sender (python/sender.py on h1) and the client (python/receiver.py, a process of its own, timed from connect to EOF) share the same CPU cores as every forwarder, so the direct figure is a ceiling for this machine, not for the network.',
        ],
      };
    } finally {
      await master.close();
      await aesMaster.close();
    }
  },
};
