import { readConfigFile, writeConfigFile } from '../../lib/config-io.js';
import { ConfigEditError } from '../../lib/config-edit-error.js';
import type { CliContext } from '../../lib/context.js';
import { UsageError } from '../../lib/errors.js';
import { configuredHostNames, removeHost } from '../../lib/ssh-config-file.js';

/** `delete-runtime`: removes the Host block of `name`, atomically. */
export async function deleteRuntime(context: CliContext, request: { readonly name: string }): Promise<number> {
  const { name } = request;
  if (name.trim() === '' || /[\s*?!,]/.test(name)) throw new UsageError(`Invalid runtime name ${JSON.stringify(name)}: give the alias exactly as in its Host line.`);
  const file = await readConfigFile(context.sshConfigPath);
  if (!file.exists) {
    throw new ConfigEditError(file.path, `There is no runtime ${name} to delete: ${file.path} does not exist. Pass --ssh-config PATH if your config is elsewhere.`);
  }
  const result = removeHost(file.text, name);
  if (result.removedBlocks + result.editedLines === 0) {
    const known = configuredHostNames(file.text);
    throw new ConfigEditError(
      file.path,
      `No Host ${name} in ${file.path} (${known.length === 0 ? 'it names no hosts' : `hosts there: ${known.join(', ')}`}). Check the name; hosts pulled in by Include must be removed from their own file.`,
    );
  }
  await writeConfigFile(file, result.text);
  context.stdout.write(`Removed ${name} from ${file.path}.\n`);
  return 0;
}
