import { execa } from 'execa';
import type { AgentChannel } from './agent-client.js';
import { AGENT_SOURCE } from './agent-client.js';
import { quoteShellArg } from '../../shell-quote.js';

// /usr/bin/python3 first: it starts fastest (no pyenv/conda shim); the agent needs only
// the standard library, so any python3 will do.
const PYTHON_CANDIDATES = ['/usr/bin/python3', 'python3', '/usr/local/bin/python3', 'python'];

/** What the launch command prints when no interpreter was found. */
export const NO_PYTHON_MESSAGE = 'lazycluster: python3 was not found on this host';

/**
 * The one shell command that starts the agent on a runtime. It runs through the user's
 * login shell once per connection; everything after that goes through the agent.
 */
export function agentLaunchCommand(heartbeatSeconds: number): string {
  const args = `-u -c ${quoteShellArg(AGENT_SOURCE)} ${quoteShellArg(String(heartbeatSeconds))}`;
  const tries = PYTHON_CANDIDATES.map(
    (python) => `command -v ${python} >/dev/null 2>&1 && exec ${python} ${args}`,
  ).join('\n');
  return `${tries}\necho ${quoteShellArg(`${NO_PYTHON_MESSAGE}; install python3 (the runtime agent needs it)`)} >&2\nexit 127`;
}

/** Start the agent as a local child process (the manager's own `localhost` runtime). */
export function launchLocalAgent(heartbeatSeconds: number): AgentChannel {
  const child = execa('/bin/sh', ['-c', agentLaunchCommand(heartbeatSeconds)], {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    // The agent cleans up when its stdin closes; execa must not kill it first, or the
    // processes it started would be orphaned instead of stopped.
    cleanup: false,
    // Its own process group: a signal or SIGKILL sent to the manager's whole group (a
    // terminal's Ctrl-C, a supervisor's kill) must not take the agent down before it has
    // stopped what it started; it learns of the manager's end from its stdin instead.
    detached: true,
    env: { PYTHONDONTWRITEBYTECODE: '1' },
  });
  const closed = child.then(() => undefined);
  return {
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    closed,
    destroy: () => {
      child.stdin.destroy();
    },
  };
}
