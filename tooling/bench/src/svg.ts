// Small hand-written SVG charts: horizontal bars with whiskers, lines, and ratios on a log scale.

const FONT = 'font-family="system-ui, sans-serif" font-size="12"';
const COLORS = ['#2f6fb0', '#d0782a', '#4a9a4a', '#8a5bb0', '#b04a4a', '#6b6b6b'];

/** Coordinates to 0.1 px: enough for a chart, and the files stay readable in a diff. */
function r(value: number): number {
  return Math.round(value * 10) / 10;
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(value: number): string {
  if (!Number.isFinite(value)) return '–';
  const abs = Math.abs(value);
  return abs >= 100 ? value.toFixed(0) : abs >= 10 ? value.toFixed(1) : value.toFixed(2);
}

function svg(width: number, height: number, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** A "nice" axis maximum: 1, 2 or 5 times a power of ten, at least `value`. */
function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  return ([1, 2, 5, 10].map((m) => m * power).find((m) => m >= value) ?? 10 * power);
}

export interface Bar {
  readonly label: string;
  readonly median: number;
  readonly low: number;
  readonly high: number;
}

/** Horizontal bars (median) with a whisker for the spread. */
export function barChart(title: string, unit: string, bars: readonly Bar[]): string {
  const labelWidth = 380;
  const plotWidth = 320;
  const row = 28;
  const top = 34;
  const height = top + bars.length * row + 30;
  const max = niceMax(Math.max(...bars.map((b) => Math.max(b.high, b.median))));
  const x = (v: number): number => r(labelWidth + (Math.max(0, v) / max) * plotWidth);
  const body = [`<text x="10" y="20" font-weight="bold">${esc(title)}</text>`];
  bars.forEach((bar, i) => {
    const y = top + i * row;
    body.push(
      `<text x="${labelWidth - 8}" y="${y + 16}" text-anchor="end">${esc(bar.label)}</text>`,
      `<rect x="${labelWidth}" y="${y + 4}" width="${r(x(bar.median) - labelWidth)}" height="${row - 10}" fill="${COLORS[i % COLORS.length] ?? '#333'}"/>`,
      `<line x1="${x(bar.low)}" x2="${x(bar.high)}" y1="${y + row / 2}" y2="${y + row / 2}" stroke="#222" stroke-width="1.5"/>`,
      `<text x="${r(x(Math.max(bar.high, bar.median)) + 6)}" y="${y + 16}">${fmt(bar.median)} ${esc(unit)}</text>`,
    );
  });
  const axisY = top + bars.length * row + 4;
  body.push(
    `<line x1="${labelWidth}" x2="${labelWidth + plotWidth}" y1="${axisY}" y2="${axisY}" stroke="#888"/>`,
    `<text x="${labelWidth}" y="${axisY + 16}" text-anchor="middle">0</text>`,
    `<text x="${labelWidth + plotWidth}" y="${axisY + 16}" text-anchor="middle">${fmt(max)} ${esc(unit)}</text>`,
  );
  return svg(labelWidth + plotWidth + 110, height, body);
}

export interface Line {
  readonly label: string;
  readonly points: readonly { readonly x: number; readonly y: number }[];
}

/** Lines over a linear x axis (e.g. hosts), y from 0. */
export function lineChart(title: string, xLabel: string, unit: string, lines: readonly Line[]): string {
  const left = 60;
  const top = 40;
  const plotWidth = 520;
  const plotHeight = 240;
  const xs = lines.flatMap((l) => l.points.map((p) => p.x));
  const xMax = Math.max(...xs);
  const xMin = Math.min(0, ...xs);
  const yMax = niceMax(Math.max(...lines.flatMap((l) => l.points.map((p) => p.y))));
  const px = (v: number): number => r(left + ((v - xMin) / (xMax - xMin || 1)) * plotWidth);
  const py = (v: number): number => r(top + plotHeight - (v / yMax) * plotHeight);
  const body = [
    `<text x="10" y="20" font-weight="bold">${esc(title)}</text>`,
    `<line x1="${left}" x2="${left + plotWidth}" y1="${top + plotHeight}" y2="${top + plotHeight}" stroke="#888"/>`,
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotHeight}" stroke="#888"/>`,
    `<text x="${left + plotWidth / 2}" y="${top + plotHeight + 34}" text-anchor="middle">${esc(xLabel)}</text>`,
  ];
  for (const tick of [0, 0.25, 0.5, 0.75, 1].map((f) => f * yMax)) {
    body.push(
      `<line x1="${left}" x2="${left + plotWidth}" y1="${py(tick)}" y2="${py(tick)}" stroke="#eee"/>`,
      `<text x="${left - 6}" y="${py(tick) + 4}" text-anchor="end">${fmt(tick)}</text>`,
    );
  }
  body.push(`<text x="${left - 6}" y="${top - 10}" text-anchor="end">${esc(unit)}</text>`);
  for (const x of [...new Set(xs)]) body.push(`<text x="${px(x)}" y="${top + plotHeight + 16}" text-anchor="middle">${x}</text>`);
  lines.forEach((line, i) => {
    const color = COLORS[i % COLORS.length] ?? '#333';
    const sorted = [...line.points].sort((a, b) => a.x - b.x);
    body.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${sorted.map((p) => `${px(p.x)},${py(p.y)}`).join(' ')}"/>`);
    for (const p of sorted) {
      body.push(`<circle cx="${px(p.x)}" cy="${py(p.y)}" r="3.5" fill="${color}"/>`, `<text x="${r(px(p.x) + 6)}" y="${r(py(p.y) - 6)}">${fmt(p.y)}</text>`);
    }
    body.push(`<rect x="${left + plotWidth + 16}" y="${top + i * 20}" width="12" height="12" fill="${color}"/>`, `<text x="${left + plotWidth + 34}" y="${top + i * 20 + 11}">${esc(line.label)}</text>`);
  });
  return svg(left + plotWidth + 220, top + plotHeight + 50, body);
}

export interface RatioBar {
  readonly label: string;
  readonly ratio: number;
  /** The target ratio, drawn as a tick, and whether it was met. */
  readonly target?: number;
  readonly pass?: boolean;
}

/** Every ratio on one log scale (0.01×–100×), 1× marked; green met, red missed, grey no target. */
export function ratioChart(title: string, ratios: readonly RatioBar[]): string {
  const labelWidth = 330;
  const plotWidth = 400;
  const row = 24;
  const top = 34;
  const lo = -2;
  const hi = 2;
  const x = (ratio: number): number => r(labelWidth + ((Math.min(hi, Math.max(lo, Math.log10(ratio))) - lo) / (hi - lo)) * plotWidth);
  const one = x(1);
  const height = top + ratios.length * row + 30;
  const body = [`<text x="10" y="20" font-weight="bold">${esc(title)}</text>`];
  ratios.forEach((bar, i) => {
    const y = top + i * row;
    const color = bar.pass === undefined ? '#999' : bar.pass ? '#3c9a4a' : '#c8443c';
    const end = Number.isFinite(bar.ratio) && bar.ratio > 0 ? x(bar.ratio) : one;
    body.push(
      `<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${esc(bar.label)}</text>`,
      `<rect x="${Math.min(one, end)}" y="${y + 4}" width="${r(Math.abs(end - one))}" height="${row - 8}" fill="${color}"/>`,
      `<text x="${r(Math.max(one, end) + 6)}" y="${y + 15}">${fmt(bar.ratio)}×</text>`,
    );
    if (bar.target !== undefined) body.push(`<line x1="${x(bar.target)}" x2="${x(bar.target)}" y1="${y + 1}" y2="${y + row - 1}" stroke="#000" stroke-width="2" stroke-dasharray="3,2"/>`);
  });
  const axisY = top + ratios.length * row + 4;
  body.push(`<line x1="${one}" x2="${one}" y1="${top}" y2="${axisY}" stroke="#444"/>`);
  for (let e = lo; e <= hi; e++) {
    body.push(`<text x="${x(10 ** e)}" y="${axisY + 16}" text-anchor="middle">${10 ** e}×</text>`);
  }
  return svg(labelWidth + plotWidth + 80, height, body);
}
