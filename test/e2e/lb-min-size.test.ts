/**
 * `/lb disable` on a group whose MinSize stops the standby, end to end (signed Slack request → job →
 * the AWS sandbox beneath the real SDK clients): AWS refuses EnterStandby with a decremented desired
 * capacity below MinSize, so the disable lowers MinSize for the duration (saying so, in the approval
 * plan too) and `/lb enable` restores it once the instances are back in service and healthy — also
 * when the disable's worker is killed half-way, and with a clear answer when Auto Scaling refuses.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { AutoScalingClient, EnterStandbyCommand } from '@aws-sdk/client-auto-scaling';
import { afterEach, describe, expect, it } from 'vitest';
import type { Sandbox, World } from '../../devkit/sandbox/index.js';
import { APPROVE_ACTION } from '../../src/slack/blocks/approval.js';
import type { TestCapstan } from '../helpers/capstan.js';
import { type FakeMessage, messageText } from '../helpers/fake-slack.js';
import { finished, groupOf, HEALTH_PORT, liveInstances, startOnSandbox } from '../helpers/sandbox-world.js';
import { waitFor } from '../helpers/wait-for.js';

const GROUP = 'prod-web';
const MIN_TAG = 'capstan:lb-min-size';
const LB_PROCESSES = ['AZRebalance', 'AlarmNotification', 'ReplaceUnhealthy', 'ScheduledActions'];

let t: TestCapstan | undefined;
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) s.close();
  await t?.stop();
  t = undefined;
});

async function start(): Promise<{ tc: TestCapstan; sandbox: Sandbox }> {
  const started = await startOnSandbox();
  t = started.tc;
  return started;
}

function setSizes(sandbox: Sandbox, sizes: { MinSize?: number; MaxSize?: number }): Promise<unknown> {
  return sandbox.call('AutoScaling', 'UpdateAutoScalingGroup', { AutoScalingGroupName: GROUP, ...sizes });
}

function group(world: World) {
  const g = groupOf(world, GROUP);
  if (!g) throw new Error(`no group ${GROUP}`);
  return {
    min: g.min,
    desired: g.desired,
    suspended: g.suspended.map((p) => p.name).sort(),
    tags: Object.fromEntries(g.tags.map((x) => [x.Key, x.Value])),
  };
}

function lifecycles(world: World): string[] {
  return liveInstances(world, GROUP).map((i) => i.lifecycle ?? '');
}

/** The (last) approval request posted, once it is there. */
/** The approval request, posted by a worker (a freshly spawned one takes seconds to start on a busy machine). */
function approvalRequest(tc: TestCapstan): Promise<FakeMessage> {
  return waitFor(() => tc.fake.messagesIn('C0APPROVALS').at(-1), { timeoutMs: 30_000 });
}

async function approve(tc: TestCapstan, request: FakeMessage): Promise<void> {
  const approvalId = JSON.stringify(request.blocks).match(/"value":"(j[0-9a-f]+)"/)?.[1] ?? '';
  await tc.click('U0CAROL', request, APPROVE_ACTION, approvalId);
}

/** Every instance's health URL answers 200 on its own (loopback) address. */
async function serveHealth(world: World): Promise<void> {
  for (const inst of liveInstances(world, GROUP)) {
    const server = createServer((_req, res) => res.writeHead(200).end('ok'));
    await new Promise<void>((resolve) => server.listen(HEALTH_PORT, inst.privateIp, resolve));
    servers.push(server);
  }
}

/** No job was retried as if the failure were internal. */
function noRetries(tc: TestCapstan): void {
  const texts = tc.fake.messagesIn('C0OPS').map((m) => messageText(m));
  expect(texts.filter((x) => /attempt \d of \d failed/.test(x))).toEqual([]);
}

async function killed(child: ChildProcess): Promise<void> {
  child.kill('SIGKILL');
  if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
}

/** `/lb enable prod` with every health URL answering; its final message. */
async function enable(tc: TestCapstan, sandbox: Sandbox): Promise<string> {
  await serveHealth(await sandbox.snapshot());
  await tc.slash('/lb', 'enable prod');
  return finished(tc, '/lb enable prod');
}

/** After `/lb enable`: all in service and healthy, the sizes as before, nothing of the disable left. */
async function expectRestored(sandbox: Sandbox, sizes: { min: number; desired: number }): Promise<void> {
  const world = await sandbox.snapshot();
  const g = group(world);
  expect({ min: g.min, desired: g.desired }).toEqual(sizes);
  expect(g.suspended).toEqual([]);
  expect(
    Object.keys(g.tags).filter((k) => k.startsWith('capstan:lb') || k.startsWith('capstan:standby')),
  ).toEqual([]);
  expect(liveInstances(world, GROUP).map((i) => [i.lifecycle, i.health])).toEqual(
    Array.from({ length: sizes.desired }, () => ['InService', 'Healthy']),
  );
}

describe('/lb disable on a group whose MinSize is in the way', () => {
  it('takes all 3 instances out by lowering MinSize 2 → 0, says so, and /lb enable restores MinSize 2 and desired 3', async () => {
    const { tc, sandbox } = await start();
    await setSizes(sandbox, { MinSize: 2 });
    const reply = await tc.slash('/lb', 'disable prod --reason "rack move"');
    expect(JSON.parse(reply.body).text).toContain('needs an approval from role `approvers`');
    // The approver sees the MinSize change in the plan; nothing changes while waiting.
    const request = await approvalRequest(tc);
    expect(messageText(request)).toContain('MinSize 2 → 0 while in standby; restored on enable');
    expect(group(await sandbox.snapshot())).toMatchObject({ min: 2, desired: 3, suspended: [] });

    await approve(tc, request);
    const done = await finished(tc, '/lb disable prod --reason "rack move"', /out of the load balancer/);
    expect(done).toMatch(
      /`i-[0-9a-f]+`, `i-[0-9a-f]+`, `i-[0-9a-f]+` are out of the load balancer \(Standby\)/,
    );
    expect(done).toContain('MinSize 2 → 0 while in standby; restored on enable');
    noRetries(tc);

    let world = await sandbox.snapshot();
    expect(lifecycles(world)).toEqual(['Standby', 'Standby', 'Standby']);
    const g = group(world);
    expect({ min: g.min, desired: g.desired }).toEqual({ min: 0, desired: 0 });
    expect(g.tags[MIN_TAG]).toBe('2');
    expect(g.suspended).toEqual(LB_PROCESSES);

    await tc.slash('/lb', 'status prod');
    expect(await finished(tc, '/lb status prod')).toContain(
      'MinSize 0 while in standby (2 restored on `/lb enable`)',
    );

    const enabled = await enable(tc, sandbox);
    expect(enabled).toMatch(/are back in service and healthy\. MinSize back to 2\./);
    await expectRestored(sandbox, { min: 2, desired: 3 });
    world = await sandbox.snapshot();
    // No instance was launched or replaced on the way: the same three.
    expect(liveInstances(world, GROUP)).toHaveLength(3);
    noRetries(tc);
  });

  it('takes one instance out of a group at MinSize the same way (MinSize 3 → 2)', async () => {
    const { tc, sandbox } = await start();
    await setSizes(sandbox, { MinSize: 3 });
    const [first] = liveInstances(await sandbox.snapshot(), GROUP);
    const id = first?.id ?? '';
    const text = `/lb disable prod --instance ${id}`;
    await tc.slash('/lb', `disable prod --instance ${id}`);
    const request = await approvalRequest(tc);
    expect(messageText(request)).toContain('MinSize 3 → 2 while in standby; restored on enable');
    await approve(tc, request);
    const done = await finished(tc, text, /out of the load balancer/);
    expect(done).toContain(`\`${id}\` is out of the load balancer (Standby). MinSize 3 → 2 while in standby`);
    const g = group(await sandbox.snapshot());
    expect({ min: g.min, desired: g.desired, original: g.tags[MIN_TAG] }).toEqual({
      min: 2,
      desired: 2,
      original: '3',
    });

    expect(await enable(tc, sandbox)).toContain(
      `\`${id}\` is back in service and healthy. MinSize back to 3.`,
    );
    await expectRestored(sandbox, { min: 3, desired: 3 });
    noRetries(tc);
  });

  it('keeps the original MinSize when the worker is killed mid-disable and another finishes it', async () => {
    const { tc, sandbox } = await start();
    await setSizes(sandbox, { MinSize: 2 });
    // Workers as separate processes so one can be killed: stop the in-process one.
    await tc.capstan.workerHost?.stop();
    await sandbox.setTiming({ standby: 4_000 });
    const first = tc.spawnWorker();
    await tc.slash('/lb', 'disable prod');
    await approve(tc, await approvalRequest(tc));
    // Kill it once MinSize is lowered and the instances are on their way to Standby.
    await waitFor(
      async () => {
        const world = await sandbox.snapshot();
        return group(world).min === 0 && lifecycles(world).includes('EnteringStandby');
      },
      { timeoutMs: 20_000 },
    );
    await killed(first);
    await sandbox.setTiming({ standby: 200 });
    const second = tc.spawnWorker();
    const done = await finished(tc, '/lb disable prod', /out of the load balancer/, 40_000);
    expect(done).toContain('resumed on worker');
    expect(done).toContain(`:${second.pid}`);
    expect(done).toContain('MinSize 2 → 0 while in standby; restored on enable');
    const world = await sandbox.snapshot();
    expect(lifecycles(world)).toEqual(['Standby', 'Standby', 'Standby']);
    const g = group(world);
    expect({ min: g.min, desired: g.desired, original: g.tags[MIN_TAG] }).toEqual({
      min: 0,
      desired: 0,
      original: '2',
    });

    expect(await enable(tc, sandbox)).toContain('MinSize back to 2.');
    await expectRestored(sandbox, { min: 2, desired: 3 });
  }, 90_000);

  it('answers a refusal from Auto Scaling at once, undoing what it changed, instead of retrying it', async () => {
    const { tc, sandbox } = await start();
    await setSizes(sandbox, { MinSize: 2 });
    // Someone puts MinSize back to 2 just before the standby: Auto Scaling really refuses it.
    const proto = AutoScalingClient.prototype as unknown as {
      send: (...args: unknown[]) => Promise<unknown>;
    };
    const send = proto.send;
    proto.send = async function (this: unknown, ...args: unknown[]) {
      if (args[0] instanceof EnterStandbyCommand) await setSizes(sandbox, { MinSize: 2 });
      return send.apply(this, args);
    };
    try {
      await tc.slash('/lb', 'disable prod');
      await approve(tc, await approvalRequest(tc));
      const failed = await finished(tc, '/lb disable prod', /failed in/);
      expect(failed).toContain('Auto Scaling refused to put');
      expect(failed).toContain(
        `AutoScalingGroup ${GROUP} has min-size=2, max-size=4, and desired-size=3. To place into standby 3 instances`,
      );
      expect(failed).toContain('Nothing was taken out of the load balancer');
      expect(failed).toContain('resumed ReplaceUnhealthy, AZRebalance, AlarmNotification, ScheduledActions');
      expect(failed).not.toContain('internal error');
      noRetries(tc);
    } finally {
      delete (proto as { send?: unknown }).send;
      if (proto.send !== send) proto.send = send;
    }
    const world = await sandbox.snapshot();
    expect(lifecycles(world)).toEqual(['InService', 'InService', 'InService']);
    const g = group(world);
    expect({ min: g.min, desired: g.desired, suspended: g.suspended }).toEqual({
      min: 2,
      desired: 3,
      suspended: [],
    });
    expect(
      Object.keys(g.tags).filter((k) => k.startsWith('capstan:lb') || k.startsWith('capstan:standby')),
    ).toEqual([]);
    expect(await tc.jobsOf('lb.disable')).toHaveLength(1);
  });

  it('refuses up front, changing nothing, when the standby cannot be done at all', async () => {
    const { tc, sandbox } = await start();
    // Desired capacity below the instances in service (Terminate suspended, so none goes away).
    await sandbox.call('AutoScaling', 'SuspendProcesses', {
      AutoScalingGroupName: GROUP,
      ScalingProcesses: ['Terminate'],
    });
    await sandbox.call('AutoScaling', 'SetDesiredCapacity', {
      AutoScalingGroupName: GROUP,
      DesiredCapacity: 1,
    });
    await tc.slash('/lb', 'disable prod');
    const request = await approvalRequest(tc);
    expect(messageText(request)).toContain('cannot be done: its desired capacity is 1');
    await approve(tc, request);
    const failed = await finished(tc, '/lb disable prod', /failed in/);
    expect(failed).toContain('its desired capacity is 1, fewer than the 3 in-service instance(s)');
    expect(failed).toContain('Nothing was changed.');
    noRetries(tc);
    const g = group(await sandbox.snapshot());
    expect({ min: g.min, desired: g.desired, suspended: g.suspended }).toEqual({
      min: 1,
      desired: 1,
      suspended: ['Terminate'],
    });
    expect(lifecycles(await sandbox.snapshot())).toEqual(['InService', 'InService', 'InService']);
  });
});
