/** The lowest valid TCP port number. */
export const MIN_PORT = 1;
/** The highest valid TCP port number. */
export const MAX_PORT = 65_535;

/**
 * Checks that `port` is a usable TCP port number and returns it.
 *
 * @throws TypeError when `port` is not an integer (strings such as `'8080'` included).
 * @throws RangeError when `port` is outside 1..65535.
 * @example validatePort(8786) // 8786
 */
export function validatePort(port: unknown): number {
  if (typeof port !== 'number' || !Number.isInteger(port)) {
    throw new TypeError(`A port must be an integer between ${MIN_PORT} and ${MAX_PORT}, got ${describe(port)}.`);
  }
  if (port < MIN_PORT || port > MAX_PORT) {
    throw new RangeError(`Port ${port} is out of range: a port must be between ${MIN_PORT} and ${MAX_PORT}.`);
  }
  return port;
}

/**
 * Checks a list of candidate ports and returns a copy of it, in the same order.
 * Nothing is skipped silently: one bad entry fails the whole list.
 *
 * @throws TypeError when `list` is not an array or an entry is not an integer.
 * @throws RangeError when the list is empty, an entry is outside 1..65535, or a port appears twice.
 */
export function validatePortList(list: unknown): number[] {
  if (!Array.isArray(list)) {
    throw new TypeError(`A port list must be an array of port numbers, got ${describe(list)}.`);
  }
  if (list.length === 0) {
    throw new RangeError('The port list is empty: pass at least one port, for example portRange(61000, 61200).');
  }
  const seen = new Map<number, number>();
  return list.map((entry: unknown, index) => {
    let port: number;
    try {
      port = validatePort(entry);
    } catch (error) {
      const message = `Entry ${index} of the port list is invalid: ${(error as Error).message}`;
      throw error instanceof RangeError ? new RangeError(message) : new TypeError(message);
    }
    const first = seen.get(port);
    if (first !== undefined) {
      throw new RangeError(`Port ${port} appears twice in the port list (entries ${first} and ${index}): list each port once.`);
    }
    seen.set(port, index);
    return port;
  });
}

/**
 * The ports from `start` to `endInclusive`, both included, in ascending order.
 *
 * @throws TypeError / RangeError as {@link validatePort}, and RangeError when `start > endInclusive`.
 * @example portRange(8000, 8003) // [8000, 8001, 8002, 8003]
 */
export function portRange(start: number, endInclusive: number): number[] {
  validatePort(start);
  validatePort(endInclusive);
  if (start > endInclusive) {
    throw new RangeError(`Port range ${start}-${endInclusive} is reversed: the start must not be greater than the end.`);
  }
  return Array.from({ length: endInclusive - start + 1 }, (_, i) => start + i);
}

const ITEM = /^(\d+)(?:\s*-\s*(\d+))?$/;

/**
 * Parses a port list as typed on a command line: comma-separated ports and inclusive
 * ranges, in the order given.
 *
 * @throws TypeError when an item is not a number or a `start-end` range.
 * @throws RangeError for an empty list, a port outside 1..65535, a reversed range, or a port listed twice.
 * @example parsePortList('8000-8002,9000') // [8000, 8001, 8002, 9000]
 */
export function parsePortList(text: string): number[] {
  if (text.trim() === '') {
    throw new RangeError('The port list is empty: pass ports like "8000-8010,9000".');
  }
  const ports = text.split(',').flatMap((raw) => {
    const item = raw.trim();
    const match = ITEM.exec(item);
    if (!match) {
      throw new TypeError(`"${item}" in port list "${text}" is not a port or a range: write ports like "8000-8010,9000".`);
    }
    const start = Number(match[1]);
    return match[2] === undefined ? [validatePort(start)] : portRange(start, Number(match[2]));
  });
  return validatePortList(ports);
}

/**
 * Writes ports compactly, joining runs of consecutive ports into ranges; the inverse of
 * {@link parsePortList} for lists in ascending order. Used in error messages.
 *
 * @param limit - at most this many items are written, then how many more ports there are.
 * @example formatPortList([8000, 8001, 8002, 9000]) // '8000-8002,9000'
 */
export function formatPortList(ports: readonly number[], limit = Number.POSITIVE_INFINITY): string {
  const items: string[] = [];
  let written = 0;
  for (let i = 0; i < ports.length && items.length < limit; ) {
    let j = i;
    while (j + 1 < ports.length && ports[j + 1] === (ports[j] ?? 0) + 1) j++;
    items.push(j === i ? `${ports[i]}` : `${ports[i]}-${ports[j]}`);
    written = j + 1;
    i = j + 1;
  }
  const rest = ports.length - written;
  return rest > 0 ? `${items.join(',')} and ${rest} more` : items.join(',');
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null || value === undefined) return String(value);
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}
