/**
 * Quote one value for a POSIX shell so it arrives as exactly one argument, whatever it
 * contains (spaces, quotes, `$`, backticks, newlines, globs). NUL cannot be passed through
 * a command line at all, so it is refused rather than silently truncated.
 *
 * @example
 * quoteShellArg("it's $HOME") // => 'it'\''s $HOME'
 */
export function quoteShellArg(value: string): string {
  if (value.includes('\0')) {
    throw new TypeError('A shell argument cannot contain a NUL byte.');
  }
  if (value !== '' && /^[\w@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * Join an argument vector into one shell command line, every element quoted.
 *
 * @example
 * shellCommand(['echo', 'a b', '$x']) // => "echo 'a b' '$x'"
 */
export function shellCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new TypeError('A command needs at least one argument.');
  return argv.map(quoteShellArg).join(' ');
}
