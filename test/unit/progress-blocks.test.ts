import { describe, expect, it } from 'vitest';
import {
  formatDuration,
  type ProgressState,
  renderProgress,
  sections,
} from '../../src/slack/blocks/progress.js';

const base: ProgressState = {
  title: '/ops ping',
  jobId: 'abc123',
  requester: 'U1',
  status: 'running',
  queuedAt: 1_000,
  startedAt: 1_500,
  steps: [
    { name: 'Picked up', state: 'done', startedAt: 1_500, endedAt: 1_700 },
    { name: 'Round trip to Redis', state: 'running', startedAt: 1_700, detail: '0.4 ms' },
  ],
  notes: [{ level: 'warn', text: 'slow' }],
};

describe('renderProgress', () => {
  it('shows state, steps with durations, notes and who asked', () => {
    const { text, blocks } = renderProgress(base, 4_000);
    expect(text).toBe('/ops ping: running for 2.5 s');
    const json = JSON.stringify(blocks);
    expect(json).toContain(':arrows_counterclockwise: *\\/ops ping* — running for 2.5 s'.replace('\\/', '/'));
    expect(json).toContain(':heavy_check_mark: Picked up (200 ms)');
    expect(json).toContain(':arrow_forward: Round trip to Redis — 0.4 ms');
    expect(json).toContain(':warning: slow');
    expect(json).toContain('asked by <@U1>');
  });

  it('shows the outcome and the total time when finished', () => {
    const done: ProgressState = { ...base, status: 'done', endedAt: 3_500, outcome: 'pong' };
    expect(renderProgress(done, 99_000).text).toBe('/ops ping: done in 2.0 s — pong');
  });

  it('keeps every section under Slack’s 3,000-character limit', () => {
    const long: ProgressState = { ...base, outcome: 'x'.repeat(10_000) };
    for (const block of renderProgress(long, 2_000).blocks) {
      if (block.type === 'section' && block.text) expect(block.text.text.length).toBeLessThanOrEqual(3000);
    }
  });

  it('spreads a long report over several sections, cut between paragraphs, nothing lost', () => {
    const paragraphs = Array.from({ length: 6 }, (_, i) => `*Part ${i}*\n${`line ${i} `.repeat(120)}`);
    const report = paragraphs.join('\n\n');
    const parts = sections(report);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(3000);
      expect(p.startsWith('*Part ')).toBe(true);
    }
    expect(parts.join('\n\n')).toBe(report);
    // Past eight sections the rest is clipped, so the message stays far under 50 blocks.
    expect(sections('y'.repeat(100_000))).toHaveLength(8);
  });
});

describe('formatDuration', () => {
  it('reads naturally at every scale', () => {
    expect(formatDuration(12)).toBe('12 ms');
    expect(formatDuration(1_234)).toBe('1.2 s');
    expect(formatDuration(185_000)).toBe('3 min 5 s');
    expect(formatDuration(7_500_000)).toBe('2 h 5 min');
  });
});
