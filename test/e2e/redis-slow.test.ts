/**
 * A slash command while Redis does not answer writes (as during a failover, here Redis's own
 * `CLIENT PAUSE … WRITE`, https://redis.io/docs/latest/commands/client-pause/): Slack must still get
 * its answer within 3 s (https://api.slack.com/interactivity/slash-commands#responding_basic_receipt),
 * and that answer must not claim the command was queued. Once Redis answers, the command is queued
 * once, the user is told so, and the job runs.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { HELD_TEXT } from '../../handlers/commands/slash-command.js';
import { startTestCapstan, type TestCapstan } from '../helpers/capstan.js';
import { messageText } from '../helpers/fake-slack.js';
import { waitFor } from '../helpers/wait-for.js';

let t: TestCapstan | undefined;
let admin: Redis | undefined;
afterEach(async () => {
  await admin?.client('UNPAUSE').catch(() => undefined);
  admin?.disconnect();
  admin = undefined;
  await t?.stop();
  t = undefined;
});

describe('a slash command while Redis is not answering', () => {
  it('answers within 3 s that it is held, then says it was queued, and the job runs once', async () => {
    t = await startTestCapstan();
    const tc = t;
    // Capstan is up and has its intake script loaded before Redis stops answering writes.
    expect(JSON.parse((await tc.slash('/ops', 'ping')).body).text).toMatch(/Queued as job/);
    await waitFor(
      () => tc.fake.messagesIn('C0OPS').filter((m) => /pong from/.test(messageText(m))).length === 1,
    );

    admin = new Redis(inject('redisUrl'));
    await admin.client('PAUSE', 3_500, 'WRITE');
    const sent = Date.now();
    const res = await tc.slash('/ops', 'ping', { triggerId: 'trig-held-1' });
    const ackMs = Date.now() - sent;
    expect(res.status).toBe(200);
    expect(ackMs).toBeLessThan(3_000);
    expect(JSON.parse(res.body).text).toBe(HELD_TEXT);

    // Told once Redis answers; the second ping runs, once.
    const told = await waitFor(
      () => tc.fake.ephemerals.find((e) => e.user === 'U0ALICE' && /Queued as job/.test(messageText(e))),
      { timeoutMs: 15_000 },
    );
    expect(Date.now() - sent).toBeGreaterThanOrEqual(3_000);
    const jobId = messageText(told).match(/job `([^`]+)`/)?.[1];
    expect(jobId).toBeTruthy();
    await waitFor(
      () => tc.fake.messagesIn('C0OPS').filter((m) => /pong from/.test(messageText(m))).length === 2,
      {
        timeoutMs: 15_000,
      },
    );
    expect(await tc.jobsOf('ops.ping')).toHaveLength(2);
    expect(await tc.jobsOf('ops.ping')).toContain(jobId);
  });
});
