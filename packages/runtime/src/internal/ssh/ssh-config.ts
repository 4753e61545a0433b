/**
 * OpenSSH client configuration: loading (with Include) and per-host resolution.
 *
 * Parsing is done by the `ssh-config` package. Its own `compute()` is not used because it
 * differs from OpenSSH where it matters here: it does not follow `Include`, its `?` matches
 * zero or one character, it runs `Match exec` commands by default, and it knows neither
 * %-tokens nor OpenSSH's defaults. Resolution below follows ssh(1) 9.x as observed with
 * `ssh -G`: first obtained value wins, Host patterns match the name as typed (case-sensitive),
 * HostName is lowercased, `Match final` triggers a second pass matched against the HostName.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { homedir, hostname, userInfo } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { LineType, parse as parseConfigText } from 'ssh-config';
import type { Directive, Line } from 'ssh-config';
import { SshConfigError } from '../../errors.js';
import { expandGlob } from './fs-glob.js';
import { hasWildcard, matchPatternList } from './patterns.js';

/** Facts about the local user that resolution depends on (tokens, `~`, defaults). */
export interface SshEnvironment {
  readonly homeDir: string;
  readonly localUser: string;
  readonly uid: number;
  /** Local host name including the domain (`%l`); `%L` is its first label. */
  readonly localHostname: string;
  /** Variables for `${NAME}` in IdentityFile, UserKnownHostsFile and IdentityAgent. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Options of {@link loadSshConfig}. Every field defaults to the current process's value. */
export interface LoadSshConfigOptions extends Partial<SshEnvironment> {
  /**
   * Directory that relative Include paths are resolved against.
   * @default `<homeDir>/.ssh`, as OpenSSH does for a user configuration (also with `ssh -F`)
   */
  readonly includeBaseDir?: string;
  /**
   * Whether a missing config file gives an empty config instead of an error.
   * @default true
   */
  readonly allowMissing?: boolean;
}

/** One criterion of a `Match` line, e.g. `!host a,b`. */
interface MatchCriterion {
  readonly name: string;
  readonly negated: boolean;
  readonly arg: string | undefined;
}

interface LineBase {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
}

type ConfigLine =
  | (LineBase & { readonly kind: 'host'; readonly patterns: readonly string[] })
  | (LineBase & { readonly kind: 'match'; readonly criteria: readonly MatchCriterion[] })
  | (LineBase & { readonly kind: 'option'; readonly key: string; readonly args: readonly string[]; readonly text: string })
  | (LineBase & { readonly kind: 'include'; readonly files: readonly ConfigFileNode[] });

/** One parsed file: its lines in order, Include lines carrying the files they pulled in. */
export interface ConfigFileNode {
  readonly path: string;
  readonly lines: readonly ConfigLine[];
}

/** A loaded SSH config: every file read, ready for {@link resolveHost} and {@link concreteHosts}. */
export interface SshConfig {
  /** The file asked for. */
  readonly path: string;
  /** Every file actually read, the main one first, in the order they were included. */
  readonly files: readonly string[];
  /** Things skipped while loading (include cycles, too deep nesting, unreadable matches). */
  readonly warnings: readonly string[];
  readonly environment: SshEnvironment;
  /** Those of `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa` that exist, used when no IdentityFile applies. */
  readonly defaultIdentityFiles: readonly string[];
  readonly root: ConfigFileNode;
}

/** OpenSSH refuses more than 16 nested Includes; deeper ones are skipped with a warning here. */
export const MAX_INCLUDE_DEPTH = 16;

const DEFAULT_KEY_NAMES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

// Directives whose value the ssh-config parser splits into a list (see its RE_MULTI_VALUE_DIRECTIVE);
// a plain string value of one of these is a single argument that may contain spaces.
const MULTI_VALUE = /^(GlobalKnownHostsFile|Host|IPQoS|SendEnv|UserKnownHostsFile|ProxyCommand|KnownHostsCommand|Match|CanonicalDomains|Include)$/i;

/** The environment of the current process, with `overrides` taking precedence. */
export function currentEnvironment(overrides: Partial<SshEnvironment> = {}): SshEnvironment {
  let info: { username: string; uid: number; homedir: string } | undefined;
  try {
    info = userInfo();
  } catch {
    // userInfo() throws for a uid without a passwd entry (some containers).
    info = undefined;
  }
  return {
    homeDir: overrides.homeDir ?? info?.homedir ?? homedir(),
    localUser: overrides.localUser ?? info?.username ?? process.env.USER ?? '',
    uid: overrides.uid ?? info?.uid ?? process.getuid?.() ?? -1,
    localHostname: overrides.localHostname ?? hostname(),
    env: overrides.env ?? process.env,
  };
}

/**
 * Reads an SSH config file and every file it includes, as OpenSSH does: `Include` takes
 * several paths, each may use `~` and `*`/`?` wildcards (matches read in sorted order), relative
 * paths are under `~/.ssh`, a pattern matching nothing is fine, and an Include inside a Host or
 * Match block applies only where that block does. Include cycles are cut where they close and
 * nesting stops at {@link MAX_INCLUDE_DEPTH}; both leave a warning.
 *
 * @throws {@link SshConfigError} when a file cannot be read or parsed (with file and line).
 */
export async function loadSshConfig(path: string, options: LoadSshConfigOptions = {}): Promise<SshConfig> {
  const environment = currentEnvironment(options);
  const includeBaseDir = options.includeBaseDir ?? join(environment.homeDir, '.ssh');
  const files: string[] = [];
  const warnings: string[] = [];

  const loadFile = async (file: string, stack: readonly string[]): Promise<ConfigFileNode> => {
    const text = await readFile(file, 'utf8');
    files.push(file);
    const lines: ConfigLine[] = [];
    for (const raw of flatten(parseText(text, file), file)) {
      if (raw.kind !== 'include-pending') {
        lines.push(raw);
        continue;
      }
      const included: ConfigFileNode[] = [];
      for (const pattern of raw.args) {
        const absolute = includePath(pattern, environment, includeBaseDir, raw);
        for (const match of await expandGlob(absolute)) {
          if (stack.includes(match)) {
            warnings.push(`${raw.file} line ${raw.line}: Include of ${match} skipped: it would include itself`);
            continue;
          }
          if (stack.length >= MAX_INCLUDE_DEPTH) {
            warnings.push(`${raw.file} line ${raw.line}: Include of ${match} skipped: more than ${MAX_INCLUDE_DEPTH} nested Includes`);
            continue;
          }
          if (!(await isFile(match))) {
            warnings.push(`${raw.file} line ${raw.line}: Include of ${match} skipped: not a regular file`);
            continue;
          }
          try {
            included.push(await loadFile(match, [...stack, match]));
          } catch (error) {
            if (error instanceof SshConfigError) throw error;
            throw new SshConfigError({
              file: raw.file,
              line: raw.line,
              problem: `cannot read included file ${match} (${describe(error)}); fix its permissions or remove the Include`,
              cause: error,
            });
          }
        }
      }
      lines.push({ kind: 'include', file: raw.file, line: raw.line, files: included });
    }
    return { path: file, lines };
  };

  let root: ConfigFileNode;
  try {
    root = await loadFile(path, [path]);
  } catch (error) {
    if (error instanceof SshConfigError) throw error;
    if (options.allowMissing !== false && isErrno(error, 'ENOENT')) {
      root = { path, lines: [] };
    } else {
      throw new SshConfigError({ file: path, problem: `cannot read the SSH config (${describe(error)})`, cause: error });
    }
  }

  const defaultIdentityFiles: string[] = [];
  for (const name of DEFAULT_KEY_NAMES) {
    const candidate = join(environment.homeDir, '.ssh', name);
    if (await isFile(candidate)) defaultIdentityFiles.push(candidate);
  }

  return { path, files, warnings, environment, defaultIdentityFiles, root };
}

function parseText(text: string, file: string): Line[] {
  try {
    return parseConfigText(text);
  } catch (error) {
    // The parser does not say where it failed; lines are independent for it, so find the first
    // line that fails on its own.
    const lines = text.split(/\r?\n/);
    const index = lines.findIndex((line) => {
      try {
        parseConfigText(line);
        return false;
      } catch {
        return true;
      }
    });
    throw new SshConfigError({
      file,
      line: index >= 0 ? index + 1 : undefined,
      problem: `cannot parse the line (${describe(error)}); check its quotes and that the keyword has a value`,
      cause: error,
    });
  }
}

type FlatLine = Exclude<ConfigLine, { kind: 'include' }> | (LineBase & { readonly kind: 'include-pending'; readonly args: readonly string[] });

/** Turns the parser's nested sections into OpenSSH's flat line sequence, with line numbers. */
function flatten(nodes: readonly Line[], file: string): FlatLine[] {
  const out: FlatLine[] = [];
  let newlines = 0;
  const count = (s: string): number => s.split('\n').length - 1;
  const visit = (node: Line): void => {
    newlines += count(node.before);
    const line = newlines + 1;
    if (node.type === LineType.DIRECTIVE && node.param !== '') {
      // The parser lets a keyword without a value swallow the line break and take the next
      // line as its value ("Port\nUser bob" becomes param "Port\nUser"); ssh rejects it.
      const keyword = /^[^\r\n]*/.exec(node.param)?.[0] ?? node.param;
      if (keyword !== node.param) {
        throw new SshConfigError({ file, line, problem: `${keyword} has no value; give it one or remove the line` });
      }
      out.push(toFlatLine(node, file, line));
    }
    newlines += count(node.after);
    if ('config' in node) node.config.forEach(visit);
  };
  nodes.forEach(visit);
  return out;
}

function toFlatLine(node: Directive, file: string, line: number): FlatLine {
  const key = node.param.toLowerCase();
  const args = argsOf(node);
  const fail = (problem: string): never => {
    throw new SshConfigError({ file, line, problem });
  };
  switch (key) {
    case 'host':
      if (args.length === 0) fail('Host needs at least one pattern');
      return { kind: 'host', file, line, patterns: args };
    case 'match':
      return { kind: 'match', file, line, criteria: parseCriteria(args, fail) };
    case 'include':
      if (args.length === 0) fail('Include needs at least one path');
      return { kind: 'include-pending', file, line, args };
    default:
      return { kind: 'option', file, line, key, args, text: textOf(node) };
  }
}

function argsOf(node: Directive): string[] {
  if (Array.isArray(node.value)) return node.value.map((v) => v.val);
  if (node.value === '') return [];
  if (MULTI_VALUE.test(node.param) || node.quoted === true) return [node.value];
  return node.value.split(/\s+/).filter((arg) => arg.length > 0);
}

/** The value as written (quotes kept), for keys like ProxyCommand that take the rest of the line. */
function textOf(node: Directive): string {
  if (!Array.isArray(node.value)) return node.value;
  return node.value
    .map((v) => `${v.separator}${v.quoted === true ? `"${v.val}"` : v.val}`)
    .join('')
    .trim();
}

const CRITERIA_WITHOUT_ARG = new Set(['all', 'canonical', 'final']);

function parseCriteria(args: readonly string[], fail: (problem: string) => never): MatchCriterion[] {
  if (args.length === 0) fail('Match needs at least one criterion');
  const criteria: MatchCriterion[] = [];
  for (let i = 0; i < args.length; i++) {
    const word = args[i] ?? '';
    const negated = word.startsWith('!');
    const name = (negated ? word.slice(1) : word).toLowerCase();
    if (CRITERIA_WITHOUT_ARG.has(name)) {
      criteria.push({ name, negated, arg: undefined });
      continue;
    }
    const arg = args[i + 1];
    if (arg === undefined) fail(`Match criterion "${word}" needs a value`);
    criteria.push({ name, negated, arg });
    i++;
  }
  return criteria;
}

function includePath(pattern: string, env: SshEnvironment, baseDir: string, where: LineBase): string {
  const expanded = expandTilde(pattern, env, where);
  return isAbsolute(expanded) ? expanded : join(baseDir, expanded);
}

// ---------------------------------------------------------------------------------------------
// Resolution

/** StrictHostKeyChecking as OpenSSH names its values (`true`/`false`/`off` normalised). */
export type StrictHostKeyChecking = 'yes' | 'no' | 'accept-new' | 'ask';

/** Connection settings given by the caller; they win over the SSH config, as ssh's command line does. */
export interface SshOverrides {
  readonly hostName?: string;
  readonly user?: string;
  readonly port?: number;
  /** Tried before any IdentityFile of the config (like `ssh -i`). */
  readonly identityFile?: string | readonly string[];
  readonly identitiesOnly?: boolean;
  readonly identityAgent?: string;
  readonly proxyJump?: string;
  readonly userKnownHostsFile?: string | readonly string[];
  readonly strictHostKeyChecking?: StrictHostKeyChecking;
  readonly connectTimeoutSec?: number;
  readonly serverAliveIntervalSec?: number;
  readonly serverAliveCountMax?: number;
}

/** Everything needed to open an SSH connection to one host, resolved as ssh(1) would. */
export interface ResolvedHost {
  /** The name that was resolved, as given (`%n`). */
  readonly alias: string;
  /** Where to connect: HostName with `%h` expanded, lowercased; the alias when none is set. */
  readonly hostName: string;
  readonly user: string;
  readonly port: number;
  /** Private keys to offer, in order, `~`, `${VAR}` and %-tokens expanded. */
  readonly identityFiles: readonly string[];
  readonly identitiesOnly: boolean;
  /** IdentityAgent: a socket path, `none`, or `SSH_AUTH_SOCK`/`$VAR` naming the variable to read. */
  readonly identityAgent?: string;
  readonly proxyJump?: string;
  /** Set when the config uses ProxyCommand (ssh2 cannot run it on its own). */
  readonly proxyCommand?: string;
  /** When set, known_hosts is searched for this name instead of the HostName. */
  readonly hostKeyAlias?: string;
  readonly userKnownHostsFiles: readonly string[];
  readonly globalKnownHostsFiles: readonly string[];
  readonly strictHostKeyChecking?: StrictHostKeyChecking;
  readonly serverAliveIntervalSec?: number;
  readonly serverAliveCountMax?: number;
  readonly connectTimeoutSec?: number;
  readonly addressFamily?: 'any' | 'inet' | 'inet6';
  /**
   * True when the config names this host: a Host line matched it through a pattern other than a
   * lone `*`, or a Match line with a host/originalhost criterion did.
   */
  readonly explicitlyConfigured: boolean;
  /** Parts of the config that were not applied (Match exec, unset `${VAR}`...). */
  readonly warnings: readonly string[];
}

interface Applied {
  readonly args: readonly string[];
  readonly text: string;
  readonly file: string | undefined;
  readonly line: number | undefined;
}

interface WalkState {
  readonly alias: string;
  readonly env: SshEnvironment;
  /** The name Host patterns are matched against: the alias, then the HostName in the final pass. */
  hostForMatching: string;
  finalPass: boolean;
  wantFinalPass: boolean;
  readonly options: Map<string, Applied>;
  readonly identityFiles: Applied[];
  readonly matchedHostLines: Set<ConfigLine>;
  explicit: boolean;
  readonly warnings: string[];
}

const OVERRIDE = 'the connection options';

/**
 * Resolves the settings for one host as ssh(1) would for `ssh ALIAS`, with `overrides` in the
 * role of ssh's command-line options.
 *
 * @throws {@link SshConfigError} for a malformed value of a setting that applies to this host
 * (bad port, unknown %-token...), naming the file and line.
 * @example resolveHost(await loadSshConfig('~/.ssh/config'), 'gpu1', { user: 'me' })
 */
export function resolveHost(config: SshConfig, alias: string, overrides: SshOverrides = {}): ResolvedHost {
  if (alias.length === 0) throw new SshConfigError({ problem: 'the host to resolve is empty; pass an alias or host name' });
  const state = walk(config, alias, overrides);
  return finish(config, state);
}

/**
 * Every alias the config names exactly (no wildcard, no negation), in file order without
 * duplicates: the hosts discovery should check. An alias inside an included file counts only
 * when the Host line naming it can actually apply to it.
 */
export function concreteHosts(config: SshConfig): string[] {
  const candidates = new Map<string, ConfigLine[]>();
  const collect = (file: ConfigFileNode): void => {
    for (const line of file.lines) {
      if (line.kind === 'include') line.files.forEach(collect);
      if (line.kind !== 'host') continue;
      for (const pattern of line.patterns) {
        if (hasWildcard(pattern) || pattern.startsWith('!') || pattern.includes(',')) continue;
        const lines = candidates.get(pattern) ?? [];
        lines.push(line);
        candidates.set(pattern, lines);
      }
    }
  };
  collect(config.root);
  const hosts: string[] = [];
  for (const [alias, lines] of candidates) {
    const state = walk(config, alias, {});
    if (lines.some((line) => state.matchedHostLines.has(line))) hosts.push(alias);
  }
  return hosts;
}

function walk(config: SshConfig, alias: string, overrides: SshOverrides): WalkState {
  const state: WalkState = {
    alias,
    env: config.environment,
    hostForMatching: alias,
    finalPass: false,
    wantFinalPass: false,
    options: new Map(),
    identityFiles: [],
    matchedHostLines: new Set(),
    explicit: false,
    warnings: [],
  };
  seedOverrides(state, overrides);
  walkFile(config.root, state, { active: true }, false);
  if (state.wantFinalPass) {
    // As ssh.c does before re-parsing: the HostName becomes fixed and is what Host lines match.
    const finalHost = hostNameOf(state);
    // Stored as a HostName value, so a literal % (an IPv6 zone) must be escaped again.
    const escaped = finalHost.replaceAll('%', '%%');
    state.options.set('hostname', { args: [escaped], text: escaped, file: undefined, line: undefined });
    state.hostForMatching = finalHost;
    state.finalPass = true;
    walkFile(config.root, state, { active: true }, false);
  }
  return state;
}

function seedOverrides(state: WalkState, o: SshOverrides): void {
  const set = (key: string, value: string | number | boolean | undefined): void => {
    if (value === undefined) return;
    const text = typeof value === 'boolean' ? (value ? 'yes' : 'no') : String(value);
    state.options.set(key, { args: [text], text, file: undefined, line: undefined });
  };
  set('hostname', o.hostName);
  set('user', o.user);
  set('port', o.port);
  set('identitiesonly', o.identitiesOnly);
  set('identityagent', o.identityAgent);
  set('proxyjump', o.proxyJump);
  set('stricthostkeychecking', o.strictHostKeyChecking);
  set('connecttimeout', o.connectTimeoutSec);
  set('serveraliveinterval', o.serverAliveIntervalSec);
  set('serveralivecountmax', o.serverAliveCountMax);
  if (o.userKnownHostsFile !== undefined) {
    const args = typeof o.userKnownHostsFile === 'string' ? [o.userKnownHostsFile] : [...o.userKnownHostsFile];
    state.options.set('userknownhostsfile', { args, text: args.join(' '), file: undefined, line: undefined });
  }
  const keys = typeof o.identityFile === 'string' ? [o.identityFile] : (o.identityFile ?? []);
  for (const key of keys) state.identityFiles.push({ args: [key], text: key, file: undefined, line: undefined });
}

function walkFile(file: ConfigFileNode, state: WalkState, context: { active: boolean }, neverMatch: boolean): void {
  for (const line of file.lines) {
    switch (line.kind) {
      case 'host':
        context.active = !neverMatch && hostLineMatches(line, state);
        break;
      case 'match': {
        const matched = matchLineMatches(line, state, neverMatch);
        context.active = !neverMatch && matched;
        if (context.active && line.criteria.some((c) => !c.negated && (c.name === 'host' || c.name === 'originalhost'))) {
          state.explicit = true;
        }
        break;
      }
      case 'include': {
        // As readconf.c: an included file starts in the includer's state, can never match when
        // the includer is inactive, and cannot change the includer's state.
        const outer = context.active;
        for (const included of line.files) {
          walkFile(included, state, context, neverMatch || !outer);
          context.active = outer;
        }
        break;
      }
      case 'option':
        if (context.active) applyOption(line, state);
        break;
    }
  }
}

function hostLineMatches(line: ConfigLine & { kind: 'host' }, state: WalkState): boolean {
  const result = matchPatternList(state.hostForMatching, line.patterns);
  if (result !== 'match') return false;
  state.matchedHostLines.add(line);
  if (line.patterns.some((p) => p !== '*' && !p.startsWith('!') && matchPatternList(state.hostForMatching, [p]) === 'match')) {
    state.explicit = true;
  }
  return true;
}

function matchLineMatches(line: ConfigLine & { kind: 'match' }, state: WalkState, neverMatch: boolean): boolean {
  let result = true;
  for (const criterion of line.criteria) {
    const list = (criterion.arg ?? '').split(',');
    let matched: boolean;
    switch (criterion.name) {
      case 'all':
        matched = true;
        break;
      case 'canonical':
      case 'final':
        if (criterion.name === 'final') state.wantFinalPass = true;
        matched = state.finalPass;
        break;
      case 'exec':
        // As ssh(1), exec runs only while every earlier criterion held; it is never run here.
        if (!result) continue;
        if (!neverMatch) {
          state.warnings.push(`${line.file} line ${line.line}: "Match exec" is not evaluated; its block is treated as not matching`);
        }
        matched = false;
        break;
      case 'host':
        matched = matchPatternList(currentHost(state), list, { ignoreCase: true }) === 'match';
        break;
      case 'originalhost':
        matched = matchPatternList(state.alias, list, { ignoreCase: true }) === 'match';
        break;
      case 'user':
        matched = matchPatternList(state.options.get('user')?.args[0] ?? state.env.localUser, list) === 'match';
        break;
      case 'localuser':
        matched = matchPatternList(state.env.localUser, list) === 'match';
        break;
      case 'tagged':
        matched = matchPatternList(state.options.get('tag')?.args[0] ?? '', list) === 'match';
        break;
      default:
        if (!neverMatch) {
          state.warnings.push(`${line.file} line ${line.line}: "Match ${criterion.name}" is not supported; treated as not matching`);
        }
        matched = false;
    }
    if (criterion.negated) matched = !matched;
    if (!matched) result = false;
  }
  return result;
}

/** The host `Match host` compares against: the HostName so far (with %h), else the name matched. */
function currentHost(state: WalkState): string {
  return state.options.has('hostname') ? hostNameOf(state) : state.hostForMatching.toLowerCase();
}

function applyOption(line: ConfigLine & { kind: 'option' }, state: WalkState): void {
  const applied: Applied = { args: line.args, text: line.text, file: line.file, line: line.line };
  switch (line.key) {
    case 'identityfile':
      state.identityFiles.push(applied);
      return;
    // ssh(1) keeps whichever of the two it meets first and ignores the other.
    case 'proxyjump':
      if (state.options.has('proxycommand')) return;
      break;
    case 'proxycommand':
      if (state.options.has('proxyjump')) return;
      break;
    default:
      break;
  }
  if (!state.options.has(line.key)) state.options.set(line.key, applied);
}

function hostNameOf(state: WalkState): string {
  const applied = state.options.get('hostname');
  if (applied === undefined) return state.hostForMatching.toLowerCase();
  const value = single('HostName', applied);
  return expandPercent(value, { h: state.hostForMatching }, applied).toLowerCase();
}

function finish(config: SshConfig, state: WalkState): ResolvedHost {
  const env = config.environment;
  const opt = (key: string): Applied | undefined => state.options.get(key);
  const hostName = hostNameOf(state);
  const userApplied = opt('user');
  const user = userApplied === undefined ? env.localUser : single('User', userApplied);
  const portApplied = opt('port');
  const port = portApplied === undefined ? 22 : parsePort(single('Port', portApplied), portApplied);
  const hostKeyAliasApplied = opt('hostkeyalias');
  const hostKeyAlias = hostKeyAliasApplied === undefined ? undefined : single('HostKeyAlias', hostKeyAliasApplied);

  const localShort = env.localHostname.split('.')[0] ?? env.localHostname;
  const tokens: Record<string, string> = {
    h: hostName,
    p: String(port),
    r: user,
    u: env.localUser,
    d: env.homeDir,
    i: String(env.uid),
    l: env.localHostname,
    L: localShort,
    n: state.alias,
    k: hostKeyAlias ?? state.alias,
    C: createHash('sha1').update(`${env.localHostname}${hostName}${port}${user}`).digest('hex'),
  };
  const proxyJumpApplied = opt('proxyjump');
  const proxyJumpRaw = proxyJumpApplied === undefined ? undefined : single('ProxyJump', proxyJumpApplied);
  tokens.j = proxyJumpRaw === undefined || proxyJumpRaw === 'none' ? '' : proxyJumpRaw;
  const pathTokens = 'CdhijkLlnpru';

  const warnings = [...state.warnings];
  const expandPath = (value: string, where: Applied): string | undefined => {
    const withEnv = expandEnv(expandTilde(value, env, where), env);
    if (withEnv === undefined) {
      warnings.push(`${locate(where)}: ${value} uses an unset environment variable; ignored`);
      return undefined;
    }
    return expandPercent(withEnv, tokens, where, pathTokens);
  };

  const identityFiles: string[] = [];
  for (const applied of state.identityFiles) {
    const path = expandPath(single('IdentityFile', applied), applied);
    if (path !== undefined && !identityFiles.includes(path)) identityFiles.push(path);
  }
  if (state.identityFiles.length === 0) identityFiles.push(...config.defaultIdentityFiles);

  const knownHostsList = (key: string, name: string, fallback: readonly string[], expand: boolean): string[] => {
    const applied = opt(key);
    if (applied === undefined) return [...fallback];
    if (applied.args.length === 0) fail(applied, `${name} needs a value`);
    if (applied.args.length === 1 && applied.args[0] === 'none') return [];
    return applied.args.flatMap((arg) => {
      const path = expand ? expandPath(arg, applied) : expandTilde(arg, env, applied);
      return path === undefined ? [] : [path];
    });
  };

  const result: { -readonly [K in keyof ResolvedHost]: ResolvedHost[K] } = {
    alias: state.alias,
    hostName,
    user,
    port,
    identityFiles,
    identitiesOnly: parseYesNo('IdentitiesOnly', opt('identitiesonly')) ?? false,
    userKnownHostsFiles: knownHostsList(
      'userknownhostsfile',
      'UserKnownHostsFile',
      [join(env.homeDir, '.ssh', 'known_hosts'), join(env.homeDir, '.ssh', 'known_hosts2')],
      true,
    ),
    globalKnownHostsFiles: knownHostsList(
      'globalknownhostsfile',
      'GlobalKnownHostsFile',
      ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
      false,
    ),
    explicitlyConfigured: state.explicit,
    warnings,
  };

  if (hostKeyAlias !== undefined) result.hostKeyAlias = hostKeyAlias;

  const agentApplied = opt('identityagent');
  if (agentApplied !== undefined) {
    const agent = single('IdentityAgent', agentApplied);
    // `none`, `SSH_AUTH_SOCK` and `$VAR` name a variable or disable the agent; anything else is a path.
    const special = agent === 'none' || agent === 'SSH_AUTH_SOCK' || /^\$[A-Za-z_][A-Za-z0-9_]*$/.test(agent);
    const value = special ? agent : expandPath(agent, agentApplied);
    if (value !== undefined) result.identityAgent = value;
  }

  const proxyTokens = { '%': '%', h: hostName, n: state.alias, p: String(port), r: user };
  if (proxyJumpApplied !== undefined && proxyJumpRaw !== undefined && proxyJumpRaw !== 'none') {
    result.proxyJump = expandPercent(proxyJumpRaw, proxyTokens, proxyJumpApplied, 'hnpr');
  }
  const proxyCommandApplied = opt('proxycommand');
  if (proxyCommandApplied !== undefined && proxyCommandApplied.text !== 'none') {
    if (proxyCommandApplied.text === '') fail(proxyCommandApplied, 'ProxyCommand needs a command');
    result.proxyCommand = expandPercent(proxyCommandApplied.text, proxyTokens, proxyCommandApplied, 'hnpr');
  }

  const strict = opt('stricthostkeychecking');
  if (strict !== undefined) result.strictHostKeyChecking = parseStrict(single('StrictHostKeyChecking', strict), strict);

  const interval = opt('serveraliveinterval');
  if (interval !== undefined) result.serverAliveIntervalSec = parseTime(single('ServerAliveInterval', interval), interval);
  const countMax = opt('serveralivecountmax');
  if (countMax !== undefined) result.serverAliveCountMax = parseCount(single('ServerAliveCountMax', countMax), countMax);
  const connectTimeout = opt('connecttimeout');
  if (connectTimeout !== undefined) {
    const value = single('ConnectTimeout', connectTimeout);
    if (value !== 'none') result.connectTimeoutSec = parseTime(value, connectTimeout);
  }
  const family = opt('addressfamily');
  if (family !== undefined) {
    const value = single('AddressFamily', family).toLowerCase();
    if (value !== 'any' && value !== 'inet' && value !== 'inet6') {
      fail(family, `AddressFamily must be any, inet or inet6, not "${value}"`);
    }
    result.addressFamily = value;
  }

  return result;
}

// ---------------------------------------------------------------------------------------------
// Values

function locate(where: { file: string | undefined; line: number | undefined }): string {
  return where.file === undefined ? OVERRIDE : `${where.file} line ${where.line ?? '?'}`;
}

function fail(where: { file: string | undefined; line: number | undefined }, problem: string): never {
  throw new SshConfigError({
    file: where.file ?? OVERRIDE,
    line: where.line,
    problem,
  });
}

function single(name: string, applied: Applied): string {
  if (applied.args.length === 0) fail(applied, `${name} needs a value`);
  if (applied.args.length > 1) fail(applied, `${name} takes one value, got "${applied.args.join(' ')}"`);
  return applied.args[0] ?? '';
}

function parsePort(value: string, where: Applied): number {
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
    fail(where, `Bad port "${value}": use a number from 1 to 65535`);
  }
  return Number(value);
}

function parseCount(value: string, where: Applied): number {
  if (!/^[0-9]{1,9}$/.test(value)) fail(where, `"${value}" is not a non-negative whole number`);
  return Number(value);
}

const TIME_UNITS: Readonly<Record<string, number>> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** sshd_config(5) TIME FORMATS: `90`, `90s`, `1m30s`, `1h`... in seconds. */
function parseTime(value: string, where: Applied): number {
  if (!/^([0-9]+[smhdwSMHDW]?)+$/.test(value)) {
    fail(where, `Bad time "${value}": use seconds, or a time like 30s, 1m30s, 1h`);
  }
  let total = 0;
  for (const [, amount, unit] of value.matchAll(/([0-9]+)([smhdwSMHDW]?)/g)) {
    total += Number(amount) * (TIME_UNITS[(unit ?? '').toLowerCase()] ?? 1);
  }
  return total;
}

function parseYesNo(name: string, applied: Applied | undefined): boolean | undefined {
  if (applied === undefined) return undefined;
  const value = single(name, applied).toLowerCase();
  if (value === 'yes' || value === 'true') return true;
  if (value === 'no' || value === 'false') return false;
  return fail(applied, `${name} must be yes or no, not "${value}"`);
}

function parseStrict(value: string, where: Applied): StrictHostKeyChecking {
  switch (value.toLowerCase()) {
    case 'yes':
    case 'true':
      return 'yes';
    case 'no':
    case 'false':
    case 'off':
      return 'no';
    case 'accept-new':
      return 'accept-new';
    case 'ask':
      return 'ask';
    default:
      return fail(where, `StrictHostKeyChecking must be yes, no, accept-new or ask, not "${value}"`);
  }
}

/** `~`, `~/x` and `~<local user>/x` become the home directory, as OpenSSH's tilde_expand_filename. */
function expandTilde(value: string, env: SshEnvironment, where: { file: string | undefined; line: number | undefined }): string {
  if (!value.startsWith('~')) return value;
  const slash = value.indexOf('/');
  const name = slash < 0 ? value.slice(1) : value.slice(1, slash);
  const rest = slash < 0 ? '' : value.slice(slash + 1);
  if (name !== '' && name !== env.localUser) {
    fail(where, `cannot expand "~${name}": only the current user's home directory (~) is supported; write the path out`);
  }
  return rest === '' ? env.homeDir : join(env.homeDir, rest);
}

/** `${NAME}` from the environment; undefined when a variable is unset (ssh then ignores the value). */
function expandEnv(value: string, env: SshEnvironment): string | undefined {
  let missing = false;
  const out = value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const v = env.env[name];
    if (v === undefined) missing = true;
    return v ?? '';
  });
  return missing ? undefined : out;
}

/** OpenSSH's percent_expand: `%%` and the allowed `%x` tokens; anything else is an error as in ssh. */
function expandPercent(
  value: string,
  tokens: Readonly<Record<string, string>>,
  where: { file: string | undefined; line: number | undefined },
  allowed = 'h',
): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value.charAt(i);
    if (c !== '%') {
      out += c;
      continue;
    }
    const key = value[i + 1];
    i++;
    if (key === '%') {
      out += '%';
    } else if (key !== undefined && allowed.includes(key) && tokens[key] !== undefined) {
      out += tokens[key];
    } else {
      fail(where, key === undefined ? `"${value}" ends with a lone %` : `unknown token %${key} in "${value}" (write %% for a literal %)`);
    }
  }
  return out;
}

function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === code;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
