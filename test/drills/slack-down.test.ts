/**
 * Drill 3 at CI size: six jobs through ten seconds of Slack answering 503/429
 * (`npm run drill -- --only slack-down` runs 40 jobs through two minutes): jobs carry on with AWS
 * meanwhile, and every final message is delivered once Slack is back.
 */
import { describe, expect, inject, it } from 'vitest';
import { slackUnreachableDrill } from '../../bench/drills/slack-down.js';

describe('drill: Slack unreachable', () => {
  it('carries on with AWS, and delivers every final message once Slack is back: one per job, written once, last', async () => {
    const result = await slackUnreachableDrill({ count: 6, outageMs: 10_000, redisUrl: inject('redisUrl') });
    expect(result.failures).toEqual([]);
    expect(result.runs).toBe(6);
    expect(result.passed).toBe(6);
  }, 180_000);
});
