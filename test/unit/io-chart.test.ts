import { createCanvas, GlobalFonts, loadImage } from '@napi-rs/canvas';
import { describe, expect, it } from 'vitest';
import {
  BASELINE_WIDTH,
  IO_CHART_COLOURS,
  type IoCreditsChartOptions,
  ioChartGeometry,
  renderIoCreditsChart,
} from '../../src/slack/charts.js';

const H = 3_600_000;
const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
const FROM = NOW - 24 * H;

function series(f: (h: number) => number): { t: number; v: number }[] {
  const out: { t: number; v: number }[] = [];
  for (let t = FROM; t <= NOW; t += 5 * 60_000) out.push({ t, v: f((t - NOW) / H) });
  return out;
}

/** A 100 GiB gp2 draining at 690 IOPS until its credits ran out 3 h ago, then held at 300. */
const draining: IoCreditsChartOptions = {
  title: 'orders-db: burst balance and IOPS',
  burstBalance: series((h) => (h < -3 ? Math.min(100, 26 * (-3 - h)) : 0)),
  totalIops: series((h) => (h < -3 ? 690 : 300)),
  baselineIops: 300,
  burstIops: 3_000,
  from: FROM,
  to: NOW,
  timezone: 'Europe/Paris',
};

function hex(colour: string): [number, number, number] {
  const n = Number.parseInt(colour.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

async function pixels(png: Buffer): Promise<{ width: number; height: number; data: Uint8ClampedArray }> {
  const image = await loadImage(png);
  const canvas = createCanvas(image.width, image.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(image, 0, 0);
  return {
    width: image.width,
    height: image.height,
    data: ctx.getImageData(0, 0, image.width, image.height).data,
  };
}

/** Pixels in row `y` within `tolerance` of `colour`, between columns `x0` and `x1`. */
function countInRow(
  img: { width: number; data: Uint8ClampedArray },
  y: number,
  colour: string,
  x0: number,
  x1: number,
  tolerance = 8,
): number {
  const [r, g, b] = hex(colour);
  let n = 0;
  for (let x = x0; x < x1; x++) {
    const i = (y * img.width + x) * 4;
    const d = Math.abs((img.data[i] as number) - r) + Math.abs((img.data[i + 1] as number) - g);
    if (d + Math.abs((img.data[i + 2] as number) - b) <= tolerance) n++;
  }
  return n;
}

describe('renderIoCreditsChart', () => {
  it('renders a 1000×500 PNG with the baseline drawn at its IOPS row', async () => {
    const png = await renderIoCreditsChart(draining);

    // PNG signature, then IHDR: width and height as big-endian 32-bit integers at bytes 16 and 20.
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.subarray(12, 16).toString('ascii')).toBe('IHDR');
    expect(png.readUInt32BE(16)).toBe(1000);
    expect(png.readUInt32BE(20)).toBe(500);

    const geometry = ioChartGeometry(draining);
    expect(geometry.iopsMax).toBeGreaterThanOrEqual(690);
    const y = geometry.yForIops(300);
    const { left, right, top, bottom } = geometry.plot;
    expect(y).toBeGreaterThan(top);
    expect(y).toBeLessThan(bottom);

    const img = await pixels(png);
    expect([img.width, img.height]).toEqual([1000, 500]);
    // Text uses the DejaVu Sans shipped by @fontsource/dejavu-sans, not whatever the system has.
    expect(GlobalFonts.has('CapstanChart')).toBe(true);
    // The dashed baseline (2 px, dashes of 12 on 6) covers about two thirds of the plot's width on
    // its row; 300 IOPS of observed data overlaps its last 3 hours, so ask for more than half.
    const onBaseline = countInRow(img, y, IO_CHART_COLOURS.baseline, left, right);
    expect(onBaseline).toBeGreaterThan((right - left) / 2);
    // …and nowhere else in the plot: 30 px above and below there is none of its colour.
    expect(countInRow(img, y - 30, IO_CHART_COLOURS.baseline, left, right)).toBe(0);
    expect(countInRow(img, y + 30, IO_CHART_COLOURS.baseline, left, right)).toBe(0);
    // The IOPS line sits on 690 before the credits ran out.
    const x = Math.round(geometry.xForTime(NOW - 12 * H));
    const yIops = geometry.yForIops(690);
    expect(countInRow(img, yIops, IO_CHART_COLOURS.iops, x - 20, x + 20)).toBeGreaterThan(20);
    // The burst balance line crosses 100% → 0: at 3 h before the end it is on the plot's floor.
    const xEmpty = Math.round(geometry.xForTime(NOW - 2 * H));
    const floor = Math.round(geometry.yForPercent(0));
    let balancePixels = 0;
    for (let dy = -2; dy <= 2; dy++) {
      balancePixels += countInRow(img, floor + dy, IO_CHART_COLOURS.balance, xEmpty - 10, xEmpty + 10);
    }
    expect(balancePixels).toBeGreaterThan(10);
  });

  it('keeps the IOPS line visible where a throttled volume holds it on the baseline, and the baseline around it', async () => {
    // A 200 GiB gp2 (600 IOPS baseline) bursting at ~900 until its credits ran out 3 h ago; since then
    // CloudWatch's 5-minute averages sit just under the baseline (599.9, 598.4, 597…), with one missing point.
    const wobble = [599.9, 598.4, 597.2, 599.1, 600, 598.8];
    const throttled: IoCreditsChartOptions = {
      ...draining,
      burstBalance: series((h) => (h < -3 ? Math.min(100, 30 * (-3 - h)) : 0.1)),
      totalIops: series((h) =>
        h < -3 ? 900 + 40 * Math.sin(h * 7) : (wobble[Math.round(-h * 12) % 6] as number),
      ).filter((p) => p.t !== NOW - 90 * 60_000),
      baselineIops: 600,
      burstIops: 3_000,
    };
    const geometry = ioChartGeometry(throttled);
    const img = await pixels(await renderIoCreditsChart(throttled));
    const y = geometry.yForIops(600);
    // Every throttled point is on the baseline's row or the one below it.
    for (const v of wobble) expect(geometry.yForIops(v) - y).toBeLessThanOrEqual(1);
    const x0 = Math.round(geometry.xForTime(NOW - 150 * 60_000));
    const x1 = Math.round(geometry.xForTime(NOW - 10 * 60_000));
    // Along the baseline's row, over the throttled hours: the IOPS line, drawn over the baseline, not under it.
    expect(countInRow(img, y, IO_CHART_COLOURS.iops, x0, x1)).toBeGreaterThan((x1 - x0) * 0.9);
    expect(countInRow(img, y, IO_CHART_COLOURS.baseline, x0, x1)).toBe(0);
    // The baseline stays visible there: its dashed band shows above and below the IOPS line (dashes of 12 on 6).
    const half = Math.floor(BASELINE_WIDTH / 2);
    for (const row of [y - half, y + half]) {
      expect(countInRow(img, row, IO_CHART_COLOURS.baseline, x0, x1)).toBeGreaterThan((x1 - x0) * 0.5);
      expect(countInRow(img, row, IO_CHART_COLOURS.iops, x0, x1)).toBe(0);
    }
  });

  it('honours a requested size and says when there is no data', async () => {
    const png = await renderIoCreditsChart({
      ...draining,
      burstBalance: [],
      totalIops: [],
      width: 640,
      height: 320,
    });
    expect(png.readUInt32BE(16)).toBe(640);
    expect(png.readUInt32BE(20)).toBe(320);
    const geometry = ioChartGeometry({ ...draining, totalIops: [], width: 640, height: 320 });
    const img = await pixels(png);
    expect(
      countInRow(
        img,
        geometry.yForIops(300),
        IO_CHART_COLOURS.baseline,
        geometry.plot.left,
        geometry.plot.right,
      ),
    ).toBeGreaterThan(100);
  });

  it('scales the IOPS axis to cover the baseline when traffic is far below it', () => {
    const g = ioChartGeometry({ ...draining, totalIops: series(() => 50), baselineIops: 3_000 });
    expect(g.iopsMax).toBeGreaterThanOrEqual(3_000);
    expect(g.yForIops(3_000)).toBeGreaterThan(g.plot.top);
  });
});
