/**
 * A workflow step's end against a real Redis and the fake Slack: the first decision is kept, and
 * `step.complete` delivers it once — a retry after Slack took it, even one whose record of the
 * delivery was lost to a crash, does not end the step again; a refused token falls back to the bot's.
 */
import { randomBytes } from 'node:crypto';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stepCompleteJob } from '../../jobs/step-complete.js';
import type { JobDataOf, StepRun } from '../../src/queue/contract.js';
import { createSlackClient } from '../../src/slack/notifier.js';
import { createStepEnder, type StepEnder } from '../../src/slack/step-ender.js';
import { STEPS } from '../../src/steps/definitions.js';
import { StepExecutions } from '../../src/steps/store.js';
import { type FakeSlack, startFakeSlack } from '../helpers/fake-slack.js';

let redis: Redis;
let fake: FakeSlack;
let steps: StepExecutions;
let stepEnder: StepEnder;
const enqueued: StepRun[] = [];
const prefix = `{t-${randomBytes(4).toString('hex')}}`;

beforeAll(async () => {
  redis = new Redis(inject('redisUrl'));
  fake = await startFakeSlack();
  steps = new StepExecutions(redis, prefix, {
    enqueueStepEnd: async (run) => {
      enqueued.push(run);
      return 'j0';
    },
  });
  stepEnder = createStepEnder(
    createSlackClient({ token: 'xoxb-test-bot', apiUrl: fake.url, logger: pino({ level: 'silent' }) }),
  );
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  await fake.close();
});

/** Runs `step.complete` for `run` as a worker would. */
function deliver(run: StepRun) {
  const job = { data: { request: {}, checkpoints: {}, stepRun: run } } as unknown as Job<
    JobDataOf<'step.complete'>
  >;
  return stepCompleteJob(job, { steps, stepEnder });
}

function start(inputs: Record<string, unknown> = {}) {
  const execution = fake.functions.start('delete_environment', STEPS.delete_environment, inputs);
  const run: StepRun = { callbackId: 'delete_environment', executionId: execution.executionId };
  return { execution, run };
}

describe('a step’s end', () => {
  it('keeps the first decision, and delivers it once however often the delivery runs', async () => {
    const { execution, run } = start();
    await steps.open(run, execution.token);
    await steps.end(
      run,
      { ok: true, outputs: { job_id: 'j1', environment: 'dev', status: 'deleted' } },
      'U0ALICE',
    );
    const second = await steps.end(run, { ok: false, error: 'expired' }, 'U0ALICE');
    expect(second).toEqual({ ok: true, outputs: { job_id: 'j1', environment: 'dev', status: 'deleted' } });
    expect(enqueued.filter((r) => r.executionId === run.executionId)).toHaveLength(2);

    expect((await deliver(run)).summary).toContain('completed');
    expect((await deliver(run)).summary).toContain('already completed');
    expect(execution).toMatchObject({ state: 'completed', outputs: { job_id: 'j1', status: 'deleted' } });
    expect(execution.attempts.map((a) => a.answer)).toEqual(['ok']);
    // The token is dropped once Slack has the end.
    expect((await steps.state(run.executionId)).token).toBeUndefined();
  });

  it('a delivery retried after Slack took it, its record lost, finds the step ended and ends it no more', async () => {
    const { execution, run } = start();
    await steps.open(run, execution.token);
    await steps.decide(run.executionId, { ok: false, error: 'Job j2 failed: boom' });
    // The first attempt reached Slack, then its worker died before recording it.
    expect(
      await stepEnder.end(run.executionId, execution.token, { ok: false, error: 'Job j2 failed: boom' }),
    ).toBe('failed');
    expect((await deliver(run)).summary).toContain('already ended');
    expect(execution).toMatchObject({ state: 'failed', error: 'Job j2 failed: boom' });
    expect(execution.attempts.map((a) => a.answer)).toEqual(['ok', 'execution_not_in_running_state']);
  });

  it('outputs Slack refuses still end the step, failed, saying so', async () => {
    const { execution, run } = start();
    await steps.open(run, execution.token);
    await steps.decide(run.executionId, { ok: true, outputs: { job_id: 'j3' } });
    expect((await deliver(run)).summary).toContain('failed');
    expect(execution.state).toBe('failed');
    expect(execution.error).toMatch(/Slack refused the step's outputs/);
  });

  it('an execution token Slack refuses is replaced by the app’s bot token', async () => {
    const { execution, run } = start();
    await steps.open(run, 'xwfp-expired-token');
    await steps.decide(run.executionId, { ok: false, error: 'nothing to do' });
    expect((await deliver(run)).summary).toContain('failed');
    expect(execution.attempts.map((a) => a.answer)).toEqual(['invalid_auth', 'ok']);
  });
});
