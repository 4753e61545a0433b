import type { CliContext } from '../../lib/context.js';
import { detectWithProgress } from '../../lib/targets.js';
import { formatRuntimeList, runtimeListJson } from './format.js';

/** `list-runtimes`: checks every host of the SSH config in parallel and lists them. */
export async function listRuntimes(context: CliContext, options: { readonly long: boolean; readonly json: boolean }): Promise<number> {
  const manager = await detectWithProgress(context);
  try {
    const { infos, inactiveHosts } = manager;
    if (options.json) {
      context.stdout.write(`${JSON.stringify(runtimeListJson(infos, inactiveHosts), null, 2)}\n`);
      return 0;
    }
    if (infos.length + inactiveHosts.length === 0) {
      context.stderr.write(`No hosts in ${context.sshConfigPath}. Add one with \`lazycluster add-runtime NAME user@host\`.\n`);
      return 0;
    }
    const lines = formatRuntimeList(infos, inactiveHosts, { long: options.long, paint: context.paintOut });
    context.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    await manager.cleanup();
  }
}
