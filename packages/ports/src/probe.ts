import { LazyclusterError } from './errors.js';
import { LISTENING_PORTS_COMMAND, parseListeningPortsOutput } from './proc-net-tcp.js';

/**
 * Answers which of some candidate ports are busy on one host. A negotiation calls
 * `busyPorts` once per host, so a remote probe must answer in one round trip.
 */
export interface PortProbe {
  /** The host this probe speaks for; `'localhost'` is the manager. */
  readonly host: string;
  /** The subset of `candidates` that cannot be used on this host. */
  busyPorts(candidates: readonly number[], options?: { signal?: AbortSignal }): Promise<ReadonlySet<number>>;
}

/**
 * Runs a shell command on a host and resolves with its stdout. It should reject when the
 * command cannot be run or exits non-zero, and honour `signal`.
 */
export type RunCommand = (command: string, options?: { signal?: AbortSignal }) => Promise<string>;

/**
 * A probe for a remote host: runs {@link LISTENING_PORTS_COMMAND} once through `run`
 * (for example a runtime's exec over its SSH connection) and reports the candidates
 * that something listens on, over IPv4 or IPv6.
 *
 * @example
 * const probe = remoteProbe('node-a', async (cmd, opts) => (await runtime.exec(cmd, opts)).stdout);
 */
export function remoteProbe(host: string, run: RunCommand): PortProbe {
  return {
    host,
    async busyPorts(candidates, options) {
      const stdout = await run(LISTENING_PORTS_COMMAND, options?.signal ? { signal: options.signal } : undefined);
      let listening: Set<number>;
      try {
        listening = parseListeningPortsOutput(stdout);
      } catch (error) {
        throw new LazyclusterError(
          'PROTOCOL',
          `Could not read the listening ports of ${host}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      return new Set(candidates.filter((port) => listening.has(port)));
    },
  };
}
