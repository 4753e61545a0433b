import { InvalidArgumentError } from 'commander';
import { validatePort } from '@lazycluster/ports';

// Parsers for commander's `argParser`: an InvalidArgumentError becomes a usage error that
// names the flag and the value (exit code 2).

/** A TCP port, 1-65535. */
export function parsePort(value: string): number {
  if (!/^[0-9]+$/.test(value.trim())) throw new InvalidArgumentError('A port is a whole number between 1 and 65535.');
  try {
    return validatePort(Number(value.trim()));
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

/** A whole number of at least 1. */
export function parsePositiveInt(value: string): number {
  const text = value.trim();
  if (!/^[0-9]+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new InvalidArgumentError('Expected a whole number of at least 1.');
  }
  return Number(text);
}

/**
 * A comma-separated list of hosts: SSH config aliases, `user@host[:port]`, or `localhost`
 * (the manager). Each appears once. Each entry's form is checked by {@link checkHostSpecs}
 * when the command runs: that needs `@lazycluster/runtime`, which is not loaded for parsing.
 */
export function parseHostList(value: string): string[] {
  const hosts = value.split(',').map((host) => host.trim());
  if (hosts.some((host) => host === '')) throw new InvalidArgumentError('Expected host names separated by commas, e.g. --hosts h1,h2.');
  const seen = new Set<string>();
  for (const host of hosts) {
    if (seen.has(host)) throw new InvalidArgumentError(`${host} is listed twice.`);
    seen.add(host);
  }
  return hosts;
}

const MEMORY = /^(?:auto|[0-9]+(?:\.[0-9]+)?(?:\s*(?:[kmgtp]i?b?|b))?)$/i;

/** A Dask memory limit: `auto`, a byte count, a fraction of the host's memory, or `4GB`/`2GiB`-style sizes. */
export function parseMemoryLimit(value: string): string {
  const text = value.trim();
  if (!MEMORY.test(text)) throw new InvalidArgumentError('Expected auto, a number of bytes, a fraction such as 0.5, or a size such as 4GB or 2GiB.');
  return text;
}

/** Collects a repeatable option's values in order. */
export function collect(value: string, previous: readonly string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
