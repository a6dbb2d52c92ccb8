/**
 * Workflow Builder custom steps end to end: Slack's signed `function_executed` events (as
 * https://docs.slack.dev/reference/events/function_executed shows them, the step declared as the
 * manifest declares it) to the real Bolt receiver; the step's job on the sandbox; the step ended
 * through the fake's `functions.completeSuccess` / `completeError`, checked the way Slack checks them
 * (the execution's token, still running, outputs matching the declared output parameters).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Sandbox } from '../../devkit/sandbox/index.js';
import { APPROVE_ACTION, REJECT_ACTION } from '../../src/slack/blocks/approval.js';
import { TEST_SIGNING_SECRET, type TestCapstan } from '../helpers/capstan.js';
import {
  type FakeFunctionDefinition,
  type FakeFunctionExecution,
  type FakeMessage,
  messageText,
} from '../helpers/fake-slack.js';
import { type RestoreWorld, startRestoreWorld } from '../helpers/restore-world.js';
import { CONFIG, groupOf, HEALTH_PORT, liveInstances, startOnSandbox } from '../helpers/sandbox-world.js';
import { functionExecutedBody, postToSlackEndpoint } from '../helpers/signed-request.js';
import { waitFor } from '../helpers/wait-for.js';

/** The steps as the manifest declares them: what Slack would send in each event's `function`. */
const FUNCTIONS = (
  parse(readFileSync('manifest.yml', 'utf8')) as { functions: Record<string, FakeFunctionDefinition> }
).functions;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A workflow runs step `callbackId` with `inputs`; Slack's event is acknowledged at once. */
async function runStep(tc: TestCapstan, callbackId: string, inputs: Record<string, unknown>) {
  const definition = FUNCTIONS[callbackId];
  if (!definition) throw new Error(`the manifest declares no step ${callbackId}`);
  const { execution, result } = await tc.runStep(callbackId, definition, inputs);
  expect(result.status).toBe(200);
  expect(result.ms).toBeLessThan(3_000);
  return execution;
}

/** The execution once the app has ended it. */
function ended(execution: FakeFunctionExecution, timeoutMs = 40_000): Promise<FakeFunctionExecution> {
  return waitFor(() => (execution.state === 'running' ? undefined : execution), {
    timeoutMs,
    message: `step ${execution.callbackId} ${execution.executionId} to end (attempts: ${JSON.stringify(execution.attempts)})`,
  });
}

/** Nothing Capstan posted, and no job's data, holds an execution's token. */
async function expectTokensKept(tc: TestCapstan): Promise<void> {
  const tokens = tc.fake.functions.all().map((e) => e.token);
  const posted = tc.fake.messages.map((m) => JSON.stringify(m)).join('\n');
  const jobs = await tc.queue.getJobs(['completed', 'failed', 'active', 'waiting', 'delayed']);
  const data = jobs.map((j) => JSON.stringify(j.data)).join('\n');
  for (const token of tokens) {
    expect(posted).not.toContain(token);
    expect(data).not.toContain(token);
  }
}

/** The approval request posted for `text` in the approvals channel. */
function approvalRequest(tc: TestCapstan, text: string): Promise<FakeMessage> {
  return waitFor(() =>
    tc.fake
      .messagesIn('C0APPROVALS')
      .find((m) => messageText(m).includes(text) && JSON.stringify(m.blocks).includes(APPROVE_ACTION)),
  );
}

describe('environment and load balancer steps', () => {
  let tc: TestCapstan;
  let sandbox: Sandbox;
  const servers: Server[] = [];

  beforeAll(async () => {
    ({ tc, sandbox } = await startOnSandbox());
  }, 60_000);
  afterAll(async () => {
    await tc?.stop();
    for (const server of servers) server.close();
  });

  it('"Create environment" completes with its outputs once the environment is up, read back from AWS', async () => {
    const execution = await runStep(tc, 'create_environment', {
      environment: 'demo',
      ttl: '10h',
      channel: 'C0OPS',
      user: 'U0ALICE',
    });
    const done = await ended(execution);
    expect(done.state, done.error).toBe('completed');
    const outputs = done.outputs ?? {};
    expect(outputs).toMatchObject({ environment: 'demo', status: 'up', instances: 2 });
    expect(outputs.job_id).toMatch(/^j[0-9a-f]{11}$/);
    expect(outputs.expires_at).toBeGreaterThan(Date.now() / 1000 + 9 * 3600);

    // The environment really exists: its group with 2 instances in service.
    const world = await sandbox.snapshot();
    expect(groupOf(world, 'capstan-env-demo')).toBeDefined();
    expect(liveInstances(world, 'capstan-env-demo').filter((i) => i.lifecycle === 'InService')).toHaveLength(
      2,
    );
    // Its progress went to a thread in the step's channel, saying done.
    const progress = tc.fake
      .messagesIn('C0OPS')
      .find(
        (m) => m.thread_ts && m.thread_ts !== m.ts && messageText(m).includes('/env create demo --ttl 10h*'),
      );
    expect(progress && messageText(progress)).toMatch(/done in/);
    expect(messageText(progress ?? { text: '' })).toContain(String(outputs.job_id));
    // Ended with the execution's own token, once.
    expect(done.attempts.filter((a) => a.answer === 'ok')).toHaveLength(1);
  }, 60_000);

  it('"Take out of the load balancer" and "Put back" act on the instance named and say so', async () => {
    const before = await sandbox.snapshot();
    const [first, second] = liveInstances(before, 'capstan-env-demo');
    if (!first || !second) throw new Error('demo should have two instances');

    const disable = await ended(
      await runStep(tc, 'lb_disable', {
        environment: 'demo',
        instance: first.id,
        reason: 'patch <!channel>',
        channel: 'C0OPS',
        user: 'U0BOB',
      }),
    );
    expect(disable.state, disable.error).toBe('completed');
    expect(disable.outputs).toMatchObject({ status: 'standby', instances: first.id });
    const lifecycles = (world: Awaited<ReturnType<Sandbox['snapshot']>>) =>
      Object.fromEntries(liveInstances(world, 'capstan-env-demo').map((i) => [i.id, i.lifecycle]));
    expect(lifecycles(await sandbox.snapshot())).toEqual({ [first.id]: 'Standby', [second.id]: 'InService' });
    // The reason is shown escaped: no channel-wide ping from a step's input.
    expect(tc.fake.messages.some((m) => messageText(m).includes('<!channel>'))).toBe(false);

    // Back in service means healthy in the target group: each instance's health URL answers.
    for (const inst of [first, second]) {
      const server = createServer((_req, res) => res.writeHead(200).end('ok'));
      await new Promise<void>((resolve) => server.listen(HEALTH_PORT, inst.privateIp, resolve));
      servers.push(server);
    }
    const enable = await ended(
      await runStep(tc, 'lb_enable', { environment: 'demo', channel: 'C0OPS', user: 'U0BOB' }),
    );
    expect(enable.state, enable.error).toBe('completed');
    expect(enable.outputs).toMatchObject({ status: 'in service', instances: first.id });
    expect(lifecycles(await sandbox.snapshot())).toEqual({
      [first.id]: 'InService',
      [second.id]: 'InService',
    });
  }, 90_000);

  it('a bad input fails the step at once, saying which input and why; nothing is queued', async () => {
    const jobsBefore = (await tc.jobsOf('env.create')).length;
    const done = await ended(
      await runStep(tc, 'create_environment', { environment: 'Demo 2', channel: 'C0OPS', user: 'U0ALICE' }),
      5_000,
    );
    expect(done.state).toBe('failed');
    expect(done.error).toMatch(/^"Environment": /);
    expect(done.error).toContain('`Demo 2`');
    expect((await tc.jobsOf('env.create')).length).toBe(jobsBefore);
    // Said in the step's channel too.
    await waitFor(() =>
      tc.fake
        .messagesIn('C0OPS')
        .find((m) => /Create environment\* for <@U0ALICE> did not run/.test(messageText(m))),
    );
  }, 30_000);

  it('a step its user may not run fails with policy’s reason', async () => {
    const done = await ended(
      await runStep(tc, 'create_environment', { environment: 'zed', channel: 'C0OPS', user: 'U0ZED' }),
      5_000,
    );
    expect(done.state).toBe('failed');
    expect(done.error).toMatch(/^Not allowed: /);
    expect(groupOf(await sandbox.snapshot(), 'capstan-env-zed')).toBeUndefined();
  }, 30_000);

  it('a step needing approval waits; a rejection fails it with who rejected, and nothing is done', async () => {
    const execution = await runStep(tc, 'delete_environment', {
      environment: 'prod',
      channel: 'C0OPS',
      user: 'U0ALICE',
    });
    const request = await approvalRequest(tc, '/env delete prod');
    await sleep(500);
    expect(execution.state).toBe('running');
    expect((await tc.click('U0CAROL', request, REJECT_ACTION, approvalIdOf(request))).status).toBe(200);
    const done = await ended(execution, 15_000);
    expect(done.state).toBe('failed');
    expect(done.error).toMatch(/was rejected by <@U0CAROL>; nothing was done/);
    expect(liveInstances(await sandbox.snapshot(), 'prod-web')).toHaveLength(3);
  }, 40_000);

  it('a step needing approval waits through the requester’s own click, then completes after an approver approves', async () => {
    const execution = await runStep(tc, 'delete_environment', {
      environment: 'prod',
      channel: 'C0OPS',
      user: 'U0ALICE',
    });
    const messagesBefore = tc.fake.messagesIn('C0APPROVALS').length;
    const request = await waitFor(() =>
      tc.fake
        .messagesIn('C0APPROVALS')
        .slice(messagesBefore - 1)
        .find((m) => JSON.stringify(m.blocks).includes(APPROVE_ACTION) && m.updates === 0),
    );
    const id = approvalIdOf(request);
    // The requester cannot approve their own step.
    await tc.click('U0ALICE', request, APPROVE_ACTION, id);
    await waitFor(() =>
      tc.fake.ephemerals.find(
        (e) => e.user === 'U0ALICE' && /someone else has to approve/.test(messageText(e)),
      ),
    );
    await sleep(500);
    expect(execution.state).toBe('running');
    // An approver approves: the job runs, and the step completes once the deletion is read back.
    await tc.click('U0CAROL', request, APPROVE_ACTION, id);
    const done = await ended(execution, 60_000);
    expect(done.state, done.error).toBe('completed');
    expect(done.outputs).toMatchObject({ environment: 'prod', status: 'deleted' });
    const world = await sandbox.snapshot();
    expect(groupOf(world, 'prod-web')).toBeUndefined();
    expect(liveInstances(world, 'prod-web')).toHaveLength(0);
    await expectTokensKept(tc);
  }, 90_000);

  it('a repeated delivery of the same execution runs nothing more and ends the step once', async () => {
    const definition = FUNCTIONS.delete_environment as FakeFunctionDefinition;
    const { execution } = await tc.runStep('delete_environment', definition, {
      environment: 'nosuch',
      channel: 'C0OPS',
      user: 'U0ALICE',
    });
    await postToSlackEndpoint(tc.eventsUrl, functionExecutedBody({ execution }), {
      secret: TEST_SIGNING_SECRET,
      headers: { 'X-Slack-Retry-Num': '1', 'X-Slack-Retry-Reason': 'http_timeout' },
    });
    const done = await ended(execution);
    expect(done.state).toBe('failed');
    await sleep(1_000);
    expect(done.attempts.filter((a) => a.answer === 'ok')).toHaveLength(1);
    expect(done.error).toMatch(/^Job j[0-9a-f]{11} failed: /);
  }, 60_000);
});

/** The approval id a request message's buttons carry. */
function approvalIdOf(message: FakeMessage): string {
  const id = JSON.stringify(message.blocks).match(/"value":"(j[0-9a-f]+)"/)?.[1];
  if (!id) throw new Error(`no approval id on ${JSON.stringify(message.blocks)}`);
  return id;
}

describe('a step whose approval expires', () => {
  let tc: TestCapstan | undefined;
  afterAll(async () => {
    await tc?.stop();
  });

  it('fails once the request expires without a decision, saying so; nothing is done and a late approval runs nothing', async () => {
    // prod's requests stay open 2 s here.
    const configYaml = CONFIG.replace(
      'prod: { protected: true }',
      'prod: { protected: true, approval: { env.delete: { role: approvers, timeoutMinutes: 0.033 } } }',
    );
    expect(configYaml).toContain('timeoutMinutes: 0.033');
    let sandbox: Sandbox;
    ({ tc, sandbox } = await startOnSandbox({}, configYaml));
    const execution = await runStep(tc, 'delete_environment', {
      environment: 'prod',
      channel: 'C0OPS',
      user: 'U0ALICE',
    });
    const request = await approvalRequest(tc, '/env delete prod');
    // Its buttons go when it expires: the id a late click carries is the one they had.
    const id = approvalIdOf(request);
    const done = await ended(execution, 20_000);
    expect(done.state).toBe('failed');
    expect(done.error).toMatch(
      /request for \/env delete prod .*expired without a decision from role approvers; nothing was done/,
    );
    // A click on the expired request is refused and runs nothing.
    expect((await tc.click('U0CAROL', request, APPROVE_ACTION, id)).status).toBe(200);
    const late = tc;
    await waitFor(() =>
      late.fake.ephemerals.some((e) => e.user === 'U0CAROL' && /already expired/.test(messageText(e))),
    );
    await sleep(1_000);
    expect(liveInstances(await sandbox.snapshot(), 'prod-web')).toHaveLength(3);
    expect(await tc.queue.getJobs(['active', 'waiting', 'delayed', 'completed'])).not.toContainEqual(
      expect.objectContaining({ name: 'env.delete' }),
    );
    // Ended once.
    expect(done.attempts.filter((a) => a.answer === 'ok')).toHaveLength(1);
    await expectTokensKept(tc);
  }, 40_000);
});

describe('database steps', () => {
  let world: RestoreWorld;
  let beforeDelete = 0;

  beforeAll(async () => {
    world = await startRestoreWorld();
    await world.seedBilling();
    beforeDelete = await world.deleteInvoicesAfterAMoment();
  }, 120_000);
  afterAll(async () => {
    await world?.stop();
  });

  it('"Restore a table" completes with the restored table, which really holds the rows of that moment', async () => {
    const done = await ended(
      await runStep(world.tc, 'restore_table', {
        database: 'orders-db',
        table: 'shop.billing',
        time: beforeDelete,
        channel: 'C0OPS',
        user: 'U0ALICE',
      }),
      90_000,
    );
    expect(done.state, done.error).toBe('completed');
    const restored = String(done.outputs?.restored_table);
    expect(restored).toMatch(/^shop\.billing_/);
    expect(done.outputs?.status).toBe('restored');
    const table = restored.replace(/^shop\./, '');
    expect((await world.rows(table)).map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect((await world.rows('billing')).map((r) => r.id)).toEqual([1, 5, 6, 7, 8, 9, 10]);
    expect(await world.temporaryInstances()).toEqual([]);
  }, 120_000);

  it('"Investigate IO credits" completes with a verdict', async () => {
    const done = await ended(
      await runStep(world.tc, 'investigate_io_credits', {
        database: 'orders-db',
        hours: 6,
        channel: 'C0OPS',
        user: 'U0ALICE',
      }),
      60_000,
    );
    expect(done.state, done.error).toBe('completed');
    expect(String(done.outputs?.verdict).length).toBeGreaterThan(5);
    expect(['critical', 'warning', 'ok', 'unknown']).toContain(done.outputs?.severity);
  }, 90_000);

  it('a restore to a moment in the future fails at once, saying so', async () => {
    const done = await ended(
      await runStep(world.tc, 'restore_table', {
        database: 'orders-db',
        table: 'shop.billing',
        time: Math.floor(Date.now() / 1000) + 3600,
        channel: 'C0OPS',
        user: 'U0ALICE',
      }),
      5_000,
    );
    expect(done.state).toBe('failed');
    expect(done.error).toMatch(/"Restore to" is in the future/);
  }, 30_000);
});
