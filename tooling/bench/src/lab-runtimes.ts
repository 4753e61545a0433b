import type { LabDescription } from '@lazycluster/lab';
import { Runtime, RuntimeGroup } from '@lazycluster/runtime';

/** The names of the lab's first `count` hosts. */
export function hostNames(lab: LabDescription, count: number): string[] {
  if (count > lab.hosts.length) throw new Error(`the bench lab has ${lab.hosts.length} hosts, ${count} asked for`);
  return lab.hosts.slice(0, count).map((host) => host.alias);
}

export function labRuntime(lab: LabDescription, host: string): Runtime {
  return new Runtime(host, { sshConfigPath: lab.sshConfigPath });
}

export function labGroup(lab: LabDescription, count: number): RuntimeGroup {
  return new RuntimeGroup({ hosts: hostNames(lab, count), sshConfigPath: lab.sshConfigPath });
}
