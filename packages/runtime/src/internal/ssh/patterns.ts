/**
 * OpenSSH wildcard patterns: `*` matches any run of characters (also none), `?` exactly one.
 * Greedy matching with a single backtrack point keeps it linear-ish and immune to the
 * catastrophic backtracking a translated RegExp can show on patterns like `*a*a*a*b`.
 */
export function matchPattern(text: string, pattern: string): boolean {
  let t = 0;
  let p = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    const pc = pattern[p];
    if (pc === '*') {
      starP = p++;
      starT = t;
    } else if (pc !== undefined && (pc === '?' || pc === text[t])) {
      p++;
      t++;
    } else if (starP >= 0) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/** True when the pattern has a wildcard, i.e. it does not name exactly one host. */
export function hasWildcard(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

/** Result of matching a pattern list: a negated entry matched, nothing matched, or a positive entry matched. */
export type PatternListResult = 'negated' | 'none' | 'match';

/**
 * Matches a list of patterns the way OpenSSH's `match_pattern_list` does: an entry prefixed
 * with `!` that matches makes the whole list fail, regardless of the other entries.
 */
export function matchPatternList(
  text: string,
  patterns: readonly string[],
  options: { ignoreCase?: boolean } = {},
): PatternListResult {
  const subject = options.ignoreCase ? text.toLowerCase() : text;
  let result: PatternListResult = 'none';
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const body = negated ? raw.slice(1) : raw;
    const pattern = options.ignoreCase ? body.toLowerCase() : body;
    if (matchPattern(subject, pattern)) {
      if (negated) return 'negated';
      result = 'match';
    }
  }
  return result;
}
