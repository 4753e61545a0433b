/** A stream the CLI writes to; `isTTY` and `columns` are present on terminals only. */
export type OutputStream = NodeJS.WritableStream & {
  readonly isTTY?: boolean | undefined;
  readonly columns?: number | undefined;
};

/**
 * Whether to colour what goes to `stream`: only on a terminal, and never when `NO_COLOR` is
 * set to anything non-empty (https://no-color.org). `FORCE_COLOR` (non-empty, not `0`) forces
 * colours on, as most Node tools accept.
 */
export function useColor(stream: OutputStream, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

const CODES = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  blue: [34, 39],
  magenta: [35, 39],
  cyan: [36, 39],
} as const;

/** A colour (or style) name. */
export type ColorName = keyof typeof CODES;

/** Colours a string, or leaves it alone when colours are off. */
export type Paint = (color: ColorName, text: string) => string;

/** A {@link Paint} that colours when `enabled`. */
export function painter(enabled: boolean): Paint {
  if (!enabled) return (_color, text) => text;
  return (color, text) => `\u001b[${CODES[color][0]}m${text}\u001b[${CODES[color][1]}m`;
}

// Red is left out: it means "failed" everywhere else.
const HOST_COLORS: readonly ColorName[] = ['cyan', 'magenta', 'yellow', 'green', 'blue'];

/** The colour of the `index`-th host, the same host always getting the same colour in one run. */
export function hostColor(index: number): ColorName {
  return HOST_COLORS[index % HOST_COLORS.length] ?? 'cyan';
}

/** Removes ANSI escape sequences, e.g. to measure the visible width of a coloured string. */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
}
