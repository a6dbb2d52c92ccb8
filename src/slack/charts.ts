/**
 * Chart images for Slack threads: PNGs drawn with @napi-rs/canvas (Skia, prebuilt binary shipped in
 * the npm package). Text uses DejaVu Sans shipped by @fontsource/dejavu-sans, registered at first use,
 * so labels render on machines without system fonts.
 */
import { createRequire } from 'node:module';
import { createCanvas, GlobalFonts, type SKRSContext2D } from '@napi-rs/canvas';
import { offsetAt } from '../commands/index.js';

/** One datapoint: `t` epoch milliseconds, `v` the value. */
export interface ChartPoint {
  t: number;
  v: number;
}

/** What {@link renderIoCreditsChart} draws. */
export interface IoCreditsChartOptions {
  title: string;
  /** BurstBalance, percent (right axis). */
  burstBalance: readonly ChartPoint[];
  /** ReadIOPS + WriteIOPS (left axis). */
  totalIops: readonly ChartPoint[];
  baselineIops: number;
  /** gp2 burst ceiling, drawn when given and on scale. */
  burstIops?: number;
  /** Window, epoch milliseconds. */
  from: number;
  to: number;
  /** IANA zone for the time axis (default UTC). */
  timezone?: string;
  width?: number;
  height?: number;
}

/** Colours of the chart's elements (exported so tests can find them in the pixels). */
export const IO_CHART_COLOURS = {
  background: '#ffffff',
  grid: '#e3e6ea',
  axis: '#5f6b7a',
  text: '#1d2733',
  iops: '#1f6fd1',
  baseline: '#d62728',
  burst: '#9467bd',
  balance: '#2ca02c',
  balanceFill: 'rgba(44, 160, 44, 0.12)',
} as const;

/** Width of the dashed baseline band and of the IOPS line drawn over it, in pixels. */
export const BASELINE_WIDTH = 7;
export const IOPS_WIDTH = 2;

const FONT_FAMILY = 'CapstanChart';
const FONT = `${FONT_FAMILY}, "DejaVu Sans", sans-serif`;
let fontRegistered = false;

/** Registers the bundled DejaVu Sans (regular and bold) under {@link FONT_FAMILY}, once. */
function ensureFont(): void {
  if (fontRegistered) return;
  fontRegistered = true;
  const require = createRequire(import.meta.url);
  for (const weight of ['400', '700']) {
    try {
      const path = require.resolve(`@fontsource/dejavu-sans/files/dejavu-sans-latin-${weight}-normal.woff2`);
      GlobalFonts.registerFromPath(path, FONT_FAMILY);
    } catch {
      // Missing font package: Skia falls back to whatever the system has.
    }
  }
}

/** Where the plot sits in the image and how values map to pixels. */
export interface IoChartGeometry {
  width: number;
  height: number;
  plot: { left: number; top: number; right: number; bottom: number };
  iopsMax: number;
  iopsStep: number;
  /** Pixel row of an IOPS value (integer rows for horizontal lines). */
  yForIops(v: number): number;
  yForPercent(v: number): number;
  xForTime(t: number): number;
}

/** The chart's geometry for these options: pure, so tests can say where a line must be. */
export function ioChartGeometry(opts: IoCreditsChartOptions): IoChartGeometry {
  const width = opts.width ?? 1000;
  const height = opts.height ?? 500;
  const plot = { left: 80, top: 64, right: width - 70, bottom: height - 90 };
  const observedMax = opts.totalIops.reduce((m, p) => (Number.isFinite(p.v) ? Math.max(m, p.v) : m), 0);
  const wanted = Math.max(observedMax, opts.baselineIops, 1) * 1.15;
  const { max: iopsMax, step: iopsStep } = niceScale(wanted);
  const span = Math.max(1, opts.to - opts.from);
  return {
    width,
    height,
    plot,
    iopsMax,
    iopsStep,
    yForIops: (v) => Math.round(plot.bottom - (Math.max(0, v) / iopsMax) * (plot.bottom - plot.top)),
    yForPercent: (v) => plot.bottom - (Math.min(100, Math.max(0, v)) / 100) * (plot.bottom - plot.top),
    xForTime: (t) => plot.left + ((t - opts.from) / span) * (plot.right - plot.left),
  };
}

/** A scale from 0 with 4–8 steps of 1, 2, 2.5 or 5 × 10ⁿ covering `wanted`. */
function niceScale(wanted: number): { max: number; step: number } {
  const raw = wanted / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * magnitude >= raw) ?? 10) * magnitude;
  return { max: Math.ceil(wanted / step) * step, step };
}

const MINUTE = 60_000;
const TICK_STEPS = [5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080].map((m) => m * MINUTE);

/** Tick times between from and to, on round local times, about 6–10 of them. */
function timeTicks(from: number, to: number, timeZone: string): number[] {
  const span = Math.max(MINUTE, to - from);
  const step = TICK_STEPS.find((s) => span / s <= 10) ?? (TICK_STEPS[TICK_STEPS.length - 1] as number);
  const offset = offsetAt(from, timeZone);
  const ticks: number[] = [];
  for (let local = Math.ceil((from + offset) / step) * step; local - offset <= to; local += step) {
    ticks.push(local - offset);
  }
  return ticks;
}

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/**
 * Burst balance (%) and total IOPS against the baseline over the window, with axes, labels and a
 * legend: a PNG, 1000×500 unless told otherwise.
 */
export async function renderIoCreditsChart(opts: IoCreditsChartOptions): Promise<Buffer> {
  ensureFont();
  const timeZone = opts.timezone ?? 'UTC';
  const g = ioChartGeometry(opts);
  const { plot } = g;
  const C = IO_CHART_COLOURS;
  const canvas = createCanvas(g.width, g.height);
  const ctx = canvas.getContext('2d');

  ctx.fillStyle = C.background;
  ctx.fillRect(0, 0, g.width, g.height);

  // Title and subtitle.
  ctx.fillStyle = C.text;
  ctx.textBaseline = 'alphabetic';
  ctx.textAlign = 'left';
  ctx.font = `bold 18px ${FONT}`;
  ctx.fillText(opts.title, plot.left, 28);
  ctx.font = `13px ${FONT}`;
  ctx.fillStyle = C.axis;
  const day = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  ctx.fillText(`${day.format(opts.from)} – ${day.format(opts.to)} (${timeZone})`, plot.left, 48);

  // Grid and left axis (IOPS).
  ctx.lineWidth = 1;
  ctx.font = `12px ${FONT}`;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (let v = 0; v <= g.iopsMax + 1e-9; v += g.iopsStep) {
    const y = g.yForIops(v) + 0.5;
    ctx.strokeStyle = C.grid;
    line(ctx, plot.left, y, plot.right, y);
    ctx.fillStyle = C.iops;
    ctx.fillText(fmtInt(v), plot.left - 8, y);
  }
  // Right axis (percent).
  ctx.textAlign = 'left';
  ctx.fillStyle = C.balance;
  for (const pct of [0, 25, 50, 75, 100]) ctx.fillText(`${pct}%`, plot.right + 8, g.yForPercent(pct));

  // Axis titles.
  ctx.save();
  ctx.font = `bold 12px ${FONT}`;
  ctx.textAlign = 'center';
  ctx.fillStyle = C.iops;
  ctx.translate(22, (plot.top + plot.bottom) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText('IOPS', 0, 0);
  ctx.restore();
  ctx.save();
  ctx.font = `bold 12px ${FONT}`;
  ctx.textAlign = 'center';
  ctx.fillStyle = C.balance;
  ctx.translate(g.width - 16, (plot.top + plot.bottom) / 2);
  ctx.rotate(Math.PI / 2);
  ctx.fillText('Burst balance', 0, 0);
  ctx.restore();

  // Time axis.
  const hhmm = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  const dayOnly = new Intl.DateTimeFormat('en-GB', { timeZone, day: 'numeric', month: 'short' });
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  ctx.font = `12px ${FONT}`;
  let lastDay = '';
  for (const t of timeTicks(opts.from, opts.to, timeZone)) {
    const x = Math.round(g.xForTime(t)) + 0.5;
    ctx.strokeStyle = C.grid;
    line(ctx, x, plot.top, x, plot.bottom);
    ctx.strokeStyle = C.axis;
    line(ctx, x, plot.bottom, x, plot.bottom + 5);
    ctx.fillStyle = C.text;
    ctx.fillText(hhmm.format(t), x, plot.bottom + 8);
    const d = dayOnly.format(t);
    if (d !== lastDay) {
      ctx.fillStyle = C.axis;
      ctx.fillText(d, x, plot.bottom + 24);
      lastDay = d;
    }
  }
  ctx.strokeStyle = C.axis;
  ctx.strokeRect(plot.left + 0.5, plot.top + 0.5, plot.right - plot.left, plot.bottom - plot.top);

  // Clip the data to the plot.
  ctx.save();
  ctx.beginPath();
  ctx.rect(plot.left, plot.top, plot.right - plot.left, plot.bottom - plot.top);
  ctx.clip();

  // Burst balance: filled area under a line.
  const balance = sorted(opts.burstBalance).filter((p) => p.t >= opts.from && p.t <= opts.to);
  if (balance.length > 0) {
    const first = balance[0] as ChartPoint;
    const last = balance[balance.length - 1] as ChartPoint;
    ctx.beginPath();
    ctx.moveTo(g.xForTime(first.t), plot.bottom);
    for (const p of balance) ctx.lineTo(g.xForTime(p.t), g.yForPercent(p.v));
    ctx.lineTo(g.xForTime(last.t), plot.bottom);
    ctx.closePath();
    ctx.fillStyle = C.balanceFill;
    ctx.fill();
    polyline(ctx, balance, (p) => [g.xForTime(p.t), g.yForPercent(p.v)], C.balance, 2);
  }

  // Baseline (and the burst ceiling when on scale) first, beneath the IOPS: wide dashed bands on whole pixel
  // rows, so where the IOPS sit on the baseline (a throttled volume) the thin IOPS line runs inside the band
  // and both stay visible — the band's edges above and below, the IOPS line along its middle.
  const hline = (v: number, colour: string) => {
    const y = g.yForIops(v) + 0.5;
    ctx.save();
    ctx.setLineDash([12, 6]);
    ctx.strokeStyle = colour;
    ctx.lineWidth = BASELINE_WIDTH;
    line(ctx, plot.left, y, plot.right, y);
    ctx.restore();
  };
  const burstOnScale = opts.burstIops !== undefined && opts.burstIops <= g.iopsMax;
  if (burstOnScale) hline(opts.burstIops as number, C.burst);
  hline(opts.baselineIops, C.baseline);

  // Total IOPS on top: a white casing under a dark blue line keeps it readable across the red band.
  const iops = sorted(opts.totalIops).filter((p) => p.t >= opts.from && p.t <= opts.to);
  polyline(ctx, iops, (p) => [g.xForTime(p.t), g.yForIops(p.v)], C.background, IOPS_WIDTH + 2);
  polyline(ctx, iops, (p) => [g.xForTime(p.t), g.yForIops(p.v)], C.iops, IOPS_WIDTH);
  ctx.restore();

  if (balance.length === 0 && iops.length === 0) {
    ctx.fillStyle = C.axis;
    ctx.font = `16px ${FONT}`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText('no data in this window', (plot.left + plot.right) / 2, (plot.top + plot.bottom) / 2);
  }

  // Legend.
  const legend: { colour: string; label: string; kind: 'line' | 'dash' | 'area' }[] = [
    { colour: C.iops, label: 'Total IOPS (read + write)', kind: 'line' },
    { colour: C.baseline, label: `Baseline ${fmtInt(opts.baselineIops)} IOPS`, kind: 'dash' },
  ];
  if (opts.burstIops !== undefined) {
    legend.push({
      colour: C.burst,
      label: `Burst ceiling ${fmtInt(opts.burstIops)} IOPS${burstOnScale ? '' : ' (off scale)'}`,
      kind: 'dash',
    });
  }
  legend.push({ colour: C.balance, label: 'Burst balance (%)', kind: 'area' });
  ctx.font = `13px ${FONT}`;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  const legendY = g.height - 24;
  let x = plot.left;
  for (const item of legend) {
    if (item.kind === 'area') {
      ctx.fillStyle = C.balanceFill;
      ctx.fillRect(x, legendY - 7, 26, 14);
    }
    ctx.save();
    if (item.kind === 'dash') ctx.setLineDash([7, 4]);
    ctx.strokeStyle = item.colour;
    // The swatch looks like what it names: dashed bands are drawn wide in the plot.
    ctx.lineWidth = item.kind === 'dash' ? 4 : IOPS_WIDTH;
    line(ctx, x, legendY, x + 26, legendY);
    ctx.restore();
    ctx.fillStyle = C.text;
    ctx.fillText(item.label, x + 32, legendY);
    x += 32 + ctx.measureText(item.label).width + 26;
  }

  return canvas.encode('png');
}

function sorted(points: readonly ChartPoint[]): ChartPoint[] {
  return points.filter((p) => Number.isFinite(p.v) && Number.isFinite(p.t)).sort((a, b) => a.t - b.t);
}

function line(ctx: SKRSContext2D, x1: number, y1: number, x2: number, y2: number): void {
  ctx.beginPath();
  ctx.moveTo(x1, y1);
  ctx.lineTo(x2, y2);
  ctx.stroke();
}

function polyline(
  ctx: SKRSContext2D,
  points: readonly ChartPoint[],
  at: (p: ChartPoint) => [number, number],
  colour: string,
  width: number,
): void {
  if (points.length === 0) return;
  ctx.beginPath();
  points.forEach((p, i) => {
    const [x, y] = at(p);
    if (i === 0) ctx.moveTo(x, y);
    else ctx.lineTo(x, y);
  });
  ctx.strokeStyle = colour;
  ctx.lineWidth = width;
  ctx.lineJoin = 'round';
  ctx.stroke();
  if (points.length === 1) {
    const [x, y] = at(points[0] as ChartPoint);
    ctx.fillStyle = colour;
    ctx.beginPath();
    ctx.arc(x, y, 3, 0, Math.PI * 2);
    ctx.fill();
  }
}
