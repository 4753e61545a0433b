import { resolve } from 'node:path';
import { defaultSshConfigPath, type Logger } from '@lazycluster/runtime';
import { UsageError } from './errors.js';
import { painter, useColor, type OutputStream, type Paint } from './output.js';

/** The process's streams and environment, replaceable in tests. */
export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly env: NodeJS.ProcessEnv;
}

/** Everything a command handler needs besides its own options. */
export interface CliContext extends CliIo {
  /** The SSH config to read and edit: `--ssh-config`, else `$LAZYCLUSTER_SSH_CONFIG`, else `~/.ssh/config`. */
  readonly sshConfigPath: string;
  readonly debug: boolean;
  /** Colours for stdout and stderr (off when not a terminal or with NO_COLOR). */
  readonly paintOut: Paint;
  readonly paintErr: Paint;
  readonly colorErr: boolean;
  /** The library's log messages: warnings always, everything with `--debug`. */
  readonly logger: Logger;
  /**
   * Where the logger's lines go: stderr, or, while progress lines are drawn on a terminal,
   * above them (set it to the progress display's `print`, and back to undefined after).
   */
  logSink: ((line: string) => void) | undefined;
  /** The words after the first `--` of the command line, or undefined when there is none. */
  readonly commandWords: readonly string[] | undefined;
}

/** The options every command accepts. */
export interface GlobalOptions {
  readonly sshConfig?: string | undefined;
  readonly debug?: boolean | undefined;
}

/** Builds the context of one run of a command. */
export function createContext(io: CliIo, globals: GlobalOptions, commandWords: readonly string[] | undefined): CliContext {
  const debug = globals.debug === true;
  const colorErr = useColor(io.stderr, io.env);
  const paintErr = painter(colorErr);
  const say = (level: string) => (message: string) => {
    const line = `${paintErr('dim', `lazycluster ${level}:`)} ${message}`;
    if (context.logSink === undefined) io.stderr.write(`${line}\n`);
    else context.logSink(line);
  };
  const logger: Logger = debug
    ? { debug: say('debug'), info: say('info'), warn: say('warning'), error: say('error') }
    : { warn: say('warning') };
  const context: CliContext = {
    ...io,
    logSink: undefined,
    sshConfigPath: globals.sshConfig === undefined ? defaultSshConfigPath() : resolve(globals.sshConfig),
    debug,
    paintOut: painter(useColor(io.stdout, io.env)),
    paintErr,
    colorErr,
    logger,
    commandWords,
  };
  return context;
}

/**
 * The command words given after `--`, checked: `--` must be there, nothing may stand between
 * the command's options and `--`, and at least one word must follow it.
 *
 * @param operands what the parser collected as operands (everything after `--`, plus any stray words before it)
 */
export function requireCommandWords(context: CliContext, command: string, operands: readonly string[]): string[] {
  const words = context.commandWords;
  if (words === undefined) {
    throw new UsageError(`${command} needs the command after "--", e.g. \`lazycluster ${command} -- hostname\`${operands.length > 0 ? ` (got ${JSON.stringify(operands.join(' '))} without "--")` : ''}.`);
  }
  if (operands.length > words.length) {
    const stray = operands.slice(0, operands.length - words.length);
    throw new UsageError(`Unexpected ${JSON.stringify(stray.join(' '))} before "--": put the whole command after "--".`);
  }
  if (words.length === 0 || words.every((word) => word.trim() === '')) {
    throw new UsageError(`${command} needs a command after "--", e.g. \`lazycluster ${command} -- hostname\`.`);
  }
  return [...words];
}

