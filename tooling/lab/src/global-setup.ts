// Vitest global setup of the integration project: one lab shared by every test file.
// Test files reach it with readLab(), through LAZYCLUSTER_LAB_JSON.
import { join } from 'node:path';
import { LabInUseError, labDown, labUp, readLab } from './lab.js';
import type { LabDescription, LabOptions } from './lab.js';

// When the default lab is held by another live test run (another engineer on the same
// machine), this run takes the first free one of these instead of failing.
const FALLBACK_LABS = 8;

let started: LabDescription | undefined;

function hostCount(): number {
  const raw = process.env.LAZYCLUSTER_LAB_HOSTS ?? '3';
  const count = Number(raw);
  if (!Number.isInteger(count) || count < 1) {
    throw new Error(`LAZYCLUSTER_LAB_HOSTS must be a whole number >= 1, got "${raw}"`);
  }
  return count;
}

async function bringUp(hosts: number): Promise<LabDescription> {
  const owner = process.pid;
  const chosen = process.env.LAB_PREFIX ?? process.env.LAB_SUBNET ?? process.env.LAB_STATE;
  try {
    return await labUp(hosts, { owner });
  } catch (error) {
    if (!(error instanceof LabInUseError) || chosen !== undefined) throw error;
  }
  for (let k = 1; k <= FALLBACK_LABS; k++) {
    const options: LabOptions = { prefix: `lzc${k}`, subnet: `10.213.${k}`, owner };
    try {
      return await labUp(hosts, options);
    } catch (error) {
      if (!(error instanceof LabInUseError)) throw error;
    }
  }
  throw new Error(`the default lab and ${FALLBACK_LABS} fallback labs (lzc1..lzc${FALLBACK_LABS}) are all held by other test runs`);
}

/**
 * Brings up `LAZYCLUSTER_LAB_HOSTS` hosts (default 3) and exports `LAZYCLUSTER_LAB_JSON`.
 * When `LAZYCLUSTER_LAB_JSON` is already set, that running lab is used and left alone.
 * `LAB_PREFIX`, `LAB_SUBNET` and `LAB_STATE` pick a lab other than the default one.
 */
export async function setup(): Promise<void> {
  if (process.env.LAZYCLUSTER_LAB_JSON) {
    await readLab();
    return;
  }
  started = await bringUp(hostCount());
  process.env.LAZYCLUSTER_LAB_JSON = join(started.stateDir, 'lab.json');
}

/** Removes the lab that {@link setup} started, unless `LAZYCLUSTER_LAB_KEEP=1`. */
export async function teardown(): Promise<void> {
  const lab = started;
  started = undefined;
  if (lab === undefined) return;
  if (process.env.LAZYCLUSTER_LAB_KEEP === '1') {
    process.stderr.write(`lab ${lab.prefix} kept (LAZYCLUSTER_LAB_KEEP=1): ssh -F ${lab.sshConfigPath} h1\n`);
    return;
  }
  delete process.env.LAZYCLUSTER_LAB_JSON;
  await labDown({ prefix: lab.prefix, subnet: lab.subnet, stateDir: lab.stateDir, owner: process.pid });
}
