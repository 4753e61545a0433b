import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { validatePort } from '@lazycluster/ports';
import { LOCALHOST, formatHostSpec, parseHostSpec } from '@lazycluster/runtime';
import { readConfigFile, writeConfigFile } from '../../lib/config-io.js';
import { ConfigEditError } from '../../lib/config-edit-error.js';
import type { CliContext } from '../../lib/context.js';
import { UsageError } from '../../lib/errors.js';
import { addHost, configuredHostNames, type HostEntry } from '../../lib/ssh-config-file.js';
import { REPEATABLE_KEYWORDS, canonicalKeyword, suggestKeyword } from '../../lib/ssh-keywords.js';

/** What `add-runtime` was given. */
export interface AddRuntimeRequest {
  readonly name: string;
  readonly spec: string;
  readonly idFile?: string | undefined;
  /** `KEY=VALUE` strings, in order. */
  readonly options: readonly string[];
}

const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** Keywords that would change the file's structure, or that the other arguments set. */
const NOT_AS_OPTION: Readonly<Record<string, string>> = {
  Host: 'a Host line starts a new block; use NAME',
  Match: 'a Match line starts a new block; edit the file by hand for Match sections',
  Include: 'Include pulls in other files for every host; edit the file by hand',
  HostName: 'the host name comes from user@host',
};

/** Checks the request and turns it into the block to write. Throws {@link UsageError} for bad input. */
export function hostEntryOf(request: AddRuntimeRequest): HostEntry {
  const { name } = request;
  if (!NAME.test(name)) {
    throw new UsageError(`Invalid runtime name ${JSON.stringify(name)}: use letters, digits, ".", "_" and "-" (no wildcards, spaces, "@" or ":"), not starting with "-" or ".".`);
  }
  if (name === LOCALHOST) throw new UsageError(`"${LOCALHOST}" is the manager itself and always available as a runtime; choose another name.`);
  let spec;
  try {
    spec = parseHostSpec(request.spec);
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
  const options: { keyword: string; value: string }[] = [];
  const seen = new Set<string>(['HostName', ...(spec.user === undefined ? [] : ['User']), ...(spec.port === undefined ? [] : ['Port'])]);
  if (request.idFile !== undefined) seen.add('IdentityFile');
  for (const raw of request.options) {
    const match = /^([^=\s]+)=(.*)$/s.exec(raw);
    if (match === null) throw new UsageError(`--option expects KEY=VALUE, e.g. --option ProxyJump=gateway; got ${JSON.stringify(raw)}.`);
    const [, key = '', value = ''] = match;
    const keyword = canonicalKeyword(key);
    if (keyword === undefined) {
      const suggestion = suggestKeyword(key);
      throw new UsageError(`Unknown SSH option ${JSON.stringify(key)} in --option ${raw}: ssh_config(5) has no such keyword${suggestion === undefined ? '' : `; did you mean ${suggestion}`}.`);
    }
    const refusal = NOT_AS_OPTION[keyword];
    if (refusal !== undefined) throw new UsageError(`--option ${keyword}=... is not accepted: ${refusal}.`);
    if (value.trim() === '') throw new UsageError(`--option ${keyword} has an empty value; write --option ${keyword}=VALUE.`);
    if (/[\p{Cc}]/u.test(value)) throw new UsageError(`--option ${keyword} has a control character (a newline?) in its value; give it on one line.`);
    if (seen.has(keyword) && !REPEATABLE_KEYWORDS.has(keyword)) {
      const from = keyword === 'User' || keyword === 'Port' ? ' (it is already given in user@host:port)' : '';
      throw new UsageError(`${keyword} is given twice${from}; ssh would use only the first one.`);
    }
    if (keyword === 'Port') {
      try {
        validatePort(/^[0-9]+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN);
      } catch (error) {
        throw new UsageError(`--option Port=${value}: ${(error as Error).message}`);
      }
    }
    seen.add(keyword);
    options.push({ keyword, value: value.trim() });
  }
  let identityFile = request.idFile;
  if (identityFile !== undefined) {
    if (identityFile.trim() === '') throw new UsageError('--id-file is empty; give the path of a private key.');
    if (identityFile.includes('"') || /[\p{Cc}]/u.test(identityFile)) throw new UsageError(`--id-file ${JSON.stringify(identityFile)}: an SSH config cannot hold a path with a double quote or a control character.`);
    if (!identityFile.startsWith('~') && !identityFile.includes('%')) identityFile = resolve(identityFile);
  }
  return {
    name,
    hostName: spec.host,
    user: spec.user,
    port: spec.port,
    identityFile,
    options,
  };
}

/** `add-runtime`: adds the block, atomically. */
export async function addRuntime(context: CliContext, request: AddRuntimeRequest): Promise<number> {
  const entry = hostEntryOf(request);
  const file = await readConfigFile(context.sshConfigPath);
  if (configuredHostNames(file.text).includes(entry.name)) {
    throw new ConfigEditError(file.path, `${entry.name} is already a Host in ${file.path}. Choose another name, or remove it first with \`lazycluster delete-runtime ${entry.name}\`.`);
  }
  if (entry.identityFile !== undefined) await assertKeyFile(entry.identityFile, file.path);
  await writeConfigFile(file, addHost(file.text, entry));
  const target = formatHostSpec({ host: entry.hostName, ...(entry.user === undefined ? {} : { user: entry.user }), ...(entry.port === undefined ? {} : { port: entry.port }) });
  context.stdout.write(`Added ${entry.name} (${target}) to ${file.path}${file.exists ? '' : ' (new file)'}.\n`);
  context.stdout.write(`Check that it works with \`lazycluster list-runtimes\`.\n`);
  return 0;
}

async function assertKeyFile(path: string, configPath: string): Promise<void> {
  const local = path.startsWith('~/') ? resolve(homedir(), path.slice(2)) : path;
  if (local.startsWith('~') || local.includes('%')) return;
  const info = await stat(local).catch(() => undefined);
  if (info?.isFile() !== true) {
    throw new ConfigEditError(configPath, `The identity file ${path} does not exist (or is not a file); ${configPath} was not changed. Give the path of an existing private key to --id-file.`);
  }
}
