/**
 * Editing an OpenSSH client config in place. The file is edited as text, line by line: every
 * line that is not part of the change stays byte-for-byte as it was (comments, blank lines,
 * indentation, trailing spaces, CRLF endings, quoting). The `ssh-config` package is used to
 * read the patterns of a `Host` line (quotes and `=` included); its parse/stringify round trip
 * is not used to write the file because it is not byte-exact (it drops trailing spaces and
 * the quotes of a quoted Host pattern, which changes its meaning).
 */
import { parse as parseSshConfig } from 'ssh-config';

/** One line of the file. */
interface ConfigLine {
  /** The line without its line ending. */
  readonly text: string;
  /** `\n`, `\r\n`, or `''` for a last line without one. */
  readonly eol: string;
  readonly kind: 'blank' | 'comment' | 'directive';
  /** Lowercased keyword of a directive. */
  readonly keyword: string | undefined;
  readonly indented: boolean;
}

/** A `Host` or `Match` section: its first line and where it ends. */
interface Section {
  readonly kind: 'host' | 'match';
  /** Index of the `Host`/`Match` line. */
  readonly start: number;
  /** Index of the next section's first line, or the number of lines. */
  readonly end: number;
  /** The patterns of a `Host` line, in order (negated ones with their `!`). */
  readonly patterns: readonly string[];
}

/** A new `Host` block. */
export interface HostEntry {
  /** The alias: what users type, e.g. `lazycluster exec --hosts NAME`. */
  readonly name: string;
  readonly hostName: string;
  readonly user?: string | undefined;
  readonly port?: number | undefined;
  readonly identityFile?: string | undefined;
  /** Further `Keyword value` lines, written as given, in order. */
  readonly options?: readonly { readonly keyword: string; readonly value: string }[] | undefined;
}

/** What {@link removeHost} did. */
export interface RemoveHostResult {
  readonly text: string;
  /** Whole `Host` blocks removed. */
  readonly removedBlocks: number;
  /** `Host` lines that named other hosts too, from which only this name was taken out. */
  readonly editedLines: number;
}

function splitLines(text: string): ConfigLine[] {
  if (text === '') return [];
  const lines: ConfigLine[] = [];
  const re = /([^\n]*?)(\r?\n|$)/gy;
  let match: RegExpExecArray | null;
  while (re.lastIndex < text.length && (match = re.exec(text)) !== null) {
    const body = match[1] ?? '';
    const eol = match[2] ?? '';
    const trimmed = body.trim();
    const keyword = /^([A-Za-z][A-Za-z0-9]*)/.exec(trimmed)?.[1]?.toLowerCase();
    lines.push({
      text: body,
      eol,
      kind: trimmed === '' ? 'blank' : trimmed.startsWith('#') ? 'comment' : 'directive',
      keyword: trimmed === '' || trimmed.startsWith('#') ? undefined : keyword,
      indented: /^\s/.test(body),
    });
    if (eol === '') break;
  }
  return lines;
}

function joinLines(lines: readonly ConfigLine[]): string {
  return lines.map((line) => line.text + line.eol).join('');
}

/** The patterns of a `Host` line, as OpenSSH reads them (quotes removed, a `#` ends the line). */
export function hostLinePatterns(line: string): string[] {
  try {
    const [first] = parseSshConfig(line.trim());
    if (first !== undefined && 'param' in first && first.param.toLowerCase() === 'host') {
      const value = first.value;
      return typeof value === 'string' ? value.split(/\s+/).filter((p) => p !== '') : value.map((part) => part.val);
    }
  } catch {
    // NOTE: fall through to a plain split; the line is then at worst matched less precisely.
  }
  return line
    .trim()
    .replace(/^host\s*=?\s*/i, '')
    .replace(/\s#.*$/, '')
    .split(/\s+/)
    .filter((p) => p !== '');
}

function sections(lines: readonly ConfigLine[]): Section[] {
  const starts = lines.flatMap((line, i) => (line.keyword === 'host' || line.keyword === 'match' ? [i] : []));
  return starts.map((start, k) => {
    const line = lines[start];
    const kind = line?.keyword === 'host' ? 'host' : 'match';
    return {
      kind,
      start,
      end: starts[k + 1] ?? lines.length,
      patterns: kind === 'host' && line !== undefined ? hostLinePatterns(line.text) : [],
    };
  });
}

/** True for a pattern that names one host (no wildcard, no negation). */
function isConcrete(pattern: string): boolean {
  return !/[*?!]/.test(pattern) && !pattern.includes(',');
}

/** The host names the file's `Host` lines name one by one (wildcard and negated patterns left out). */
export function configuredHostNames(text: string): string[] {
  const names = sections(splitLines(text)).flatMap((section) => section.patterns.filter(isConcrete));
  return [...new Set(names)];
}

/** True when a `Host` line of the file names `name` exactly. */
export function definesHost(text: string, name: string): boolean {
  return configuredHostNames(text).includes(name);
}

/** OpenSSH's host pattern match: `*` and `?` wildcards, case-insensitive. */
function globMatches(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.')}$`, 'i');
  return re.test(name);
}

/** Whether a `Host` line with these patterns applies to `name` through a wildcard. */
function wildcardApplies(patterns: readonly string[], name: string): boolean {
  if (patterns.some((p) => p.startsWith('!') && globMatches(p.slice(1), name))) return false;
  return patterns.some((p) => !p.startsWith('!') && /[*?]/.test(p) && globMatches(p, name));
}

/** The start of the comment lines that sit right above line `index` (no blank line between). */
function withCommentsAbove(lines: readonly ConfigLine[], index: number): number {
  let start = index;
  while (start > 0 && lines[start - 1]?.kind === 'comment' && lines[start - 1]?.indented === false) start--;
  return start;
}

function quoteValue(value: string): string {
  return /\s/.test(value) ? `"${value}"` : value;
}

/** The text of a new `Host` block, ending with a line ending. */
export function renderHostBlock(entry: HostEntry, eol = '\n'): string {
  const lines = [`Host ${entry.name}`, `  HostName ${entry.hostName}`];
  if (entry.user !== undefined) lines.push(`  User ${entry.user}`);
  if (entry.port !== undefined) lines.push(`  Port ${entry.port}`);
  if (entry.identityFile !== undefined) lines.push(`  IdentityFile ${quoteValue(entry.identityFile)}`);
  for (const { keyword, value } of entry.options ?? []) lines.push(`  ${keyword} ${value}`);
  return lines.map((line) => line + eol).join('');
}

/**
 * Adds a `Host` block and returns the new text. OpenSSH takes the first value it obtains for
 * each keyword, so the block goes right before the first section that would otherwise apply
 * to the new name first (a wildcard `Host` such as `Host *`, or any `Match`), together with
 * the comment lines right above that section; otherwise at the end. It is separated from its
 * neighbours by a blank line. The caller checks for a duplicate name first.
 */
export function addHost(text: string, entry: HostEntry): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const block = renderHostBlock(entry, eol);
  const lines = splitLines(text);
  const first = sections(lines).find((s) => s.kind === 'match' || wildcardApplies(s.patterns, entry.name));
  if (first === undefined) {
    let prefix = text;
    if (prefix !== '' && !prefix.endsWith('\n')) prefix += eol;
    const last = lines.at(-1);
    if (last !== undefined && last.kind !== 'blank') prefix += eol;
    return prefix + block;
  }
  const at = withCommentsAbove(lines, first.start);
  const before = joinLines(lines.slice(0, at));
  const after = joinLines(lines.slice(at));
  const previous = lines[at - 1];
  const gap = previous !== undefined && previous.kind !== 'blank' ? eol : '';
  return before + gap + block + eol + after;
}

/**
 * Removes `name` from the file: a `Host` block that names only it goes entirely (with the
 * comment lines right above it); from a `Host` line that names other hosts too, only the
 * name is taken out. Comment lines right above the next section stay, as they describe it.
 */
export function removeHost(text: string, name: string): RemoveHostResult {
  const lines = splitLines(text);
  const remove = new Set<number>();
  const replace = new Map<number, ConfigLine>();
  let removedBlocks = 0;
  let editedLines = 0;
  for (const section of sections(lines)) {
    if (section.kind !== 'host' || !section.patterns.includes(name)) continue;
    const others = section.patterns.filter((p) => p !== name);
    if (others.some((p) => !p.startsWith('!'))) {
      const line = lines[section.start];
      if (line === undefined) continue;
      const lead = /^\s*/.exec(line.text)?.[0] ?? '';
      const keyword = /^\s*(\S+?)(\s*=\s*|\s+)/.exec(line.text);
      replace.set(section.start, { ...line, text: `${lead}${keyword?.[1] ?? 'Host'}${keyword?.[2] ?? ' '}${others.map(quoteValue).join(' ')}` });
      editedLines++;
      continue;
    }
    let end = section.end;
    if (end < lines.length) {
      // Comments right above the next section belong to it.
      end = withCommentsAbove(lines, end);
      if (end <= section.start) end = section.start + 1;
    }
    let start = withCommentsAbove(lines, section.start);
    if (end === lines.length) {
      // The last block: take the blank lines that separated it from the one before.
      while (start > 0 && lines[start - 1]?.kind === 'blank') start--;
    }
    for (let i = start; i < end; i++) remove.add(i);
    removedBlocks++;
  }
  const kept = lines.flatMap((line, i) => (remove.has(i) ? [] : [replace.get(i) ?? line]));
  return { text: joinLines(kept), removedBlocks, editedLines };
}
