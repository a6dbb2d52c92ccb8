/**
 * Running a Workflow Builder step from the console: the inputs checked as Workflow Builder checks
 * them before it starts a step, and the fake Slack telling the console when Capstan ends one.
 */
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stepInputs } from '../../devkit/local/console/server.js';
import { STEPS } from '../../src/steps/definitions.js';
import { type FakeFunctionExecution, type FakeSlack, startFakeSlack } from '../helpers/fake-slack.js';

describe('stepInputs', () => {
  const restore = STEPS.restore_table;

  it('keeps the inputs given, typed, and leaves the empty optional ones out', () => {
    expect(
      stepInputs(restore, {
        database: 'orders-db',
        table: 'shop.billing',
        time: 1_796_615_309,
        mode: '',
        channel: 'C0OPS',
        user: 'U0ALICE',
      }),
    ).toEqual({
      inputs: {
        database: 'orders-db',
        table: 'shop.billing',
        time: 1_796_615_309,
        channel: 'C0OPS',
        user: 'U0ALICE',
      },
    });
  });

  it('names every input that is missing, of the wrong type or not the step’s', () => {
    expect(
      stepInputs(restore, {
        database: 'orders-db',
        time: '2026-12-07 03:48',
        channel: 'ops',
        user: 'U0ALICE',
        drop: 'x',
      }),
    ).toEqual({
      errors: {
        table: 'required',
        time: 'must be a Unix timestamp in seconds',
        channel: 'must be a channel id',
        drop: 'not an input of the step',
      },
    });
  });
});

describe('the fake Slack ending a step', () => {
  let fake: FakeSlack;
  beforeAll(async () => {
    fake = await startFakeSlack();
  });
  afterAll(async () => {
    await fake.close();
  });

  it('emits `function` once the app ends an execution, and not for a refused call', async () => {
    const ended: FakeFunctionExecution[] = [];
    fake.events.on('function', (execution) => ended.push(structuredClone(execution)));
    const execution = fake.functions.start('investigate_io_credits', STEPS.investigate_io_credits, {});
    const client = new WebClient(execution.token, { slackApiUrl: fake.url, retryConfig: { retries: 0 } });
    await client.functions.completeSuccess({
      function_execution_id: execution.executionId,
      outputs: { job_id: 'j1', verdict: 'Burst credits run out by noon.', severity: 'warning' },
    });
    await expect(
      client.functions.completeError({ function_execution_id: execution.executionId, error: 'late' }),
    ).rejects.toThrow(/execution_not_in_running_state/);
    expect(ended.map((e) => [e.executionId, e.state, e.outputs?.severity])).toEqual([
      [execution.executionId, 'completed', 'warning'],
    ]);
  });
});
