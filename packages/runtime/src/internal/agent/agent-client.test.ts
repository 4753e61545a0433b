import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { AgentClient, AgentClosedError, type AgentChannel } from './agent-client.js';
import { agentLaunchCommand } from './agent-launch.js';

// A channel like an SSH exec channel: a shell command whose stdio we hold.
function shellChannel(script: string): AgentChannel {
  const child = execa('/bin/sh', ['-c', script], { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', buffer: false, reject: false });
  return { stdin: child.stdin, stdout: child.stdout, stderr: child.stderr, closed: child.then(() => undefined), destroy: () => child.kill('SIGKILL') };
}

describe('AgentClient.attach', () => {
  it('starts even when the login shell prints something first', async () => {
    const agent = await AgentClient.attach(shellChannel(`echo "welcome from .bashrc"; printf 'no newline yet '; ${agentLaunchCommand(0)}`));
    const proc = await agent.run({ cmd: 'echo ok' });
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    expect((await proc.exited).code).toBe(0);
    expect(out).toBe('ok\n');
    await agent.close();
  });

  it('gives up with a clear error when the shell never starts the agent', async () => {
    const attempt = AgentClient.attach(shellChannel('sleep 30'), { timeoutMs: 300 });
    await expect(attempt).rejects.toBeInstanceOf(AgentClosedError);
    await expect(attempt).rejects.toThrow(/did not answer within 300 ms/);
  });

  it('reports what the shell said when it exits before the agent starts', async () => {
    await expect(AgentClient.attach(shellChannel('echo "bash: python3: command not found" >&2; exit 127'))).rejects.toThrow(/python3: command not found/);
  });
});
