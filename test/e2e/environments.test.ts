/**
 * Environments and load balancer end to end: signed Slack request → job → the AWS sandbox beneath
 * the real SDK clients → Slack messages, with assertions on the sandbox's state.
 */
import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../devkit/sandbox/index.js';
import { APPROVE_ACTION } from '../../src/slack/blocks/approval.js';
import { EXTEND_ACTION } from '../../src/slack/blocks/expiry.js';
import type { TestCapstan } from '../helpers/capstan.js';
import { messageText } from '../helpers/fake-slack.js';
import {
  finished,
  groupOf,
  HEALTH_PORT,
  liveInstances,
  startOnSandbox,
  TG,
} from '../helpers/sandbox-world.js';
import { waitFor } from '../helpers/wait-for.js';

let t: TestCapstan | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

async function start(): Promise<{ tc: TestCapstan; sandbox: Sandbox }> {
  const started = await startOnSandbox();
  t = started.tc;
  return started;
}

describe('environments', () => {
  it('creates, lists, shows and deletes an environment, touching nothing else', async () => {
    const { tc, sandbox } = await start();
    await tc.slash('/env', 'create feature-1 --size 2 --ttl 4h --version 1.4.2');
    const created = await finished(tc, '/env create feature-1 --size 2 --ttl 4h --version 1.4.2');
    expect(created).toContain('Environment `feature-1` is up: 2 instance(s) InService');
    expect(created).toMatch(/i-[0-9a-f]+ is InService and healthy in its target groups/);

    let world = await sandbox.snapshot();
    const group = groupOf(world, 'capstan-env-feature-1');
    expect(group).toBeDefined();
    expect(group?.desired).toBe(2);
    expect(group?.targetGroupArns).toEqual([TG]);
    const tags = Object.fromEntries(group?.tags.map((tag) => [tag.Key, tag.Value]) ?? []);
    expect(tags).toMatchObject({
      'capstan:env': 'feature-1',
      'capstan:version': '1.4.2',
      'capstan:owner': 'U0ALICE',
      'capstan:blueprint': 'web',
    });
    expect(Date.parse(tags['capstan:expires-at'] ?? '') - Date.now()).toBeGreaterThan(3.9 * 3_600_000);
    expect(liveInstances(world, 'capstan-env-feature-1').map((i) => i.lifecycle)).toEqual([
      'InService',
      'InService',
    ]);

    await tc.slash('/env', 'list');
    const list = await finished(tc, '/env list');
    expect(list).toMatch(/\*feature-1\* — version 1\.4\.2, 2\/2 in service, owner <@U0ALICE>/);
    expect(list).toMatch(/\*prod\* — version \?, 3\/3 in service/);

    await tc.slash('/env', 'status feature-1');
    const status = await finished(tc, '/env status feature-1');
    const healthy = new Set(
      [...status.matchAll(/`(i-[0-9a-f]+)` InService, Healthy, load balancer: healthy/g)].map((m) => m[1]),
    );
    expect(healthy.size).toBe(2);

    await tc.slash('/env', 'delete feature-1');
    const deleted = await finished(tc, '/env delete feature-1');
    expect(deleted).toContain(
      'Environment `feature-1` is deleted; nothing tagged capstan:env=feature-1 remains.',
    );
    world = await sandbox.snapshot();
    expect(groupOf(world, 'capstan-env-feature-1')).toBeUndefined();
    expect(liveInstances(world, 'capstan-env-feature-1')).toHaveLength(0);
    // Every other environment is untouched.
    expect(groupOf(world, 'prod-web')?.desired).toBe(3);
    expect(liveInstances(world, 'prod-web').filter((i) => i.lifecycle === 'InService')).toHaveLength(3);
  });

  it('answers bad input with a clear message and changes nothing', async () => {
    const { tc, sandbox } = await start();
    const before = await sandbox.snapshot();
    await tc.slash('/env', 'status nope');
    expect(await finished(tc, '/env status nope')).toContain('There is no environment `nope`');
    await tc.slash('/env', 'create x1 --blueprint nope');
    expect(await finished(tc, '/env create x1 --blueprint nope')).toContain(
      'There is no blueprint `nope`. Blueprints: `web`.',
    );
    await tc.slash('/env', 'create x2 --size 9');
    expect(await finished(tc, '/env create x2 --size 9')).toContain(
      '--size 9 is more than blueprint `web` allows (at most 4)',
    );
    await tc.slash('/lb', 'enable prod --instance i-0123456789abcdef0');
    expect(await finished(tc, '/lb enable prod --instance i-0123456789abcdef0')).toMatch(
      /Instance `i-0123456789abcdef0` is not in environment `prod`/,
    );
    const after = await sandbox.snapshot();
    expect(Object.keys(after.groups).sort()).toEqual(Object.keys(before.groups).sort());
    expect(Object.keys(after.instances).sort()).toEqual(Object.keys(before.instances).sort());
  });
});

describe('load balancer', () => {
  it('takes a prod instance out with an approval, shows why, and puts it back once healthy', async () => {
    const { tc, sandbox } = await start();
    const world = await sandbox.snapshot();
    const [first] = liveInstances(world, 'prod-web');
    const id = first?.id ?? '';
    const reply = await tc.slash('/lb', `disable prod --instance ${id} --reason "kernel patch"`);
    expect(JSON.parse(reply.body).text).toContain('needs an approval from role `approvers`');
    const request = await waitFor(() => tc.fake.messagesIn('C0APPROVALS')[0]);
    expect(messageText(request)).toContain(
      `put ${id} of group prod-web into Standby: 2 of 3 in-service instance(s) stay in service`,
    );
    const approvalId = JSON.stringify(request.blocks).match(/"value":"(j[0-9a-f]+)"/)?.[1] ?? '';
    await tc.click('U0CAROL', request, APPROVE_ACTION, approvalId);
    const done = await finished(
      tc,
      `/lb disable prod --instance ${id} --reason "kernel patch"`,
      /out of the load balancer/,
    );
    expect(done).toContain(`\`${id}\` is out of the load balancer (Standby) — kernel patch`);

    let after = await sandbox.snapshot();
    expect(after.instances[id]?.lifecycle).toBe('Standby');
    expect(groupOf(after, 'prod-web')?.desired).toBe(2);
    expect(
      groupOf(after, 'prod-web')
        ?.suspended.map((p) => p.name)
        .sort(),
    ).toEqual(['AZRebalance', 'AlarmNotification', 'ReplaceUnhealthy', 'ScheduledActions']);
    const health = after.targetGroups[TG];
    expect(JSON.stringify(health)).not.toContain(`"${id}","state":"healthy"`);

    await tc.slash('/lb', 'status prod');
    const status = await finished(tc, '/lb status prod');
    expect(status).toContain('*In service* (2)');
    expect(status).toMatch(new RegExp(`\`${id}\` since \\S+ by <@U0ALICE> — kernel patch`));

    // The blueprint's health URL answers on the instance's own address (a loopback one in the sandbox).
    const ip = after.instances[id]?.privateIp ?? '';
    expect(ip).toMatch(/^127\./);
    const probes: string[] = [];
    const server = createServer((req, res) => {
      probes.push(`${req.socket.localAddress} ${req.url}`);
      res.writeHead(probes.length < 3 ? 503 : 200).end();
    });
    await new Promise<void>((resolve) => server.listen(HEALTH_PORT, ip, resolve));
    try {
      await tc.slash('/lb', 'enable prod');
      const enabled = await finished(tc, '/lb enable prod');
      expect(enabled).toContain(`\`${id}\` is back in service and healthy.`);
      // Success was reported only after the health URL answered 200.
      expect(probes.length).toBeGreaterThanOrEqual(3);
      expect(probes.every((p) => p === `${ip} /health`)).toBe(true);
    } finally {
      server.close();
    }
    after = await sandbox.snapshot();
    expect(after.instances[id]?.lifecycle).toBe('InService');
    expect(groupOf(after, 'prod-web')?.desired).toBe(3);
    expect(groupOf(after, 'prod-web')?.suspended).toEqual([]);
  });
});

describe('approval plans', () => {
  it('shows approvers exactly what a delete will change, looked up read-only', async () => {
    const { tc, sandbox } = await start();
    const ids = liveInstances(await sandbox.snapshot(), 'prod-web').map((i) => i.id);
    expect(JSON.parse((await tc.slash('/env', 'delete prod')).body).text).toContain('needs an approval');
    const request = await waitFor(() => tc.fake.messagesIn('C0APPROVALS')[0]);
    const text = messageText(request);
    expect(text).toContain('delete Auto Scaling group prod-web with 3 instance(s) (');
    expect(text).toContain('and 0 launch template(s) Capstan made for it');
    for (const id of ids) expect(text).toContain(id);
    expect(text).toContain('leave nothing tagged capstan:env=prod');
    // Nothing changed while waiting for a decision.
    expect(
      liveInstances(await sandbox.snapshot(), 'prod-web').filter((i) => i.lifecycle === 'InService'),
    ).toHaveLength(3);
  });
});

describe('the last instance in service', () => {
  it('asks an approver before taking the last in-service instance out, then does it', async () => {
    const { tc, sandbox } = await start();
    await tc.slash('/env', 'create feature-7 --size 1');
    await finished(tc, '/env create feature-7 --size 1');
    const reply = await tc.slash('/lb', 'disable feature-7');
    // Not a protected environment: policy lets it through; the job sees it would empty the load balancer.
    expect(JSON.parse(reply.body).text).toContain('Queued as job');
    const asked = await finished(tc, '/lb disable feature-7', /needs approval/);
    expect(asked).toContain(
      'This would take the last in-service instance of `feature-7` out of its load balancer',
    );
    let world = await sandbox.snapshot();
    expect(liveInstances(world, 'capstan-env-feature-7').map((i) => i.lifecycle)).toEqual(['InService']);

    const request = await waitFor(() => tc.fake.messagesIn('C0APPROVALS')[0]);
    const approvalId = JSON.stringify(request.blocks).match(/"value":"(j[0-9a-f]+)"/)?.[1] ?? '';
    await tc.click('U0CAROL', request, APPROVE_ACTION, approvalId);
    await finished(tc, '/lb disable feature-7', /out of the load balancer \(Standby\)/);
    world = await sandbox.snapshot();
    expect(liveInstances(world, 'capstan-env-feature-7').map((i) => i.lifecycle)).toEqual(['Standby']);
  });
});

describe('expiry', () => {
  it('warns the owner an hour ahead with an Extend button, extends on a click, and deletes what expired', async () => {
    const started = await startOnSandbox({ CAPSTAN_EXPIRY_SWEEP_MS: '300' });
    t = started.tc;
    const { tc, sandbox } = started;
    await tc.slash('/env', 'create feature-6 --size 1 --ttl 30m');
    await finished(tc, '/env create feature-6 --size 1 --ttl 30m');
    const warning = await waitFor(() =>
      tc.fake.messagesIn('C0NOTICES').find((m) => /feature-6` expires at/.test(messageText(m))),
    );
    expect(messageText(warning)).toContain('<@U0ALICE> environment `feature-6` expires at');
    // Warned once per expiry, however many sweeps run.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(
      tc.fake.messagesIn('C0NOTICES').filter((m) => /feature-6` expires at/.test(messageText(m))),
    ).toHaveLength(1);

    const tagsOf = async () =>
      Object.fromEntries(
        groupOf(await sandbox.snapshot(), 'capstan-env-feature-6')?.tags.map((x) => [x.Key, x.Value]) ?? [],
      );
    const before = Date.parse((await tagsOf())['capstan:expires-at'] ?? '');
    await tc.click('U0ALICE', warning, EXTEND_ACTION, 'feature-6');
    const extended = await waitFor(() =>
      tc.fake
        .messagesIn('C0NOTICES')
        .find((m) => m.thread_ts === warning.ts && /now expires at/.test(messageText(m))),
    );
    expect(messageText(extended)).toContain('`feature-6` now expires at');
    expect(Date.parse((await tagsOf())['capstan:expires-at'] ?? '') - before).toBe(4 * 3_600_000);

    // Expired: the sweep deletes it through the same job as /env delete, and leaves prod alone.
    await sandbox.call('AutoScaling', 'CreateOrUpdateTags', {
      Tags: [
        {
          ResourceId: 'capstan-env-feature-6',
          ResourceType: 'auto-scaling-group',
          Key: 'capstan:expires-at',
          Value: new Date(Date.now() - 60_000).toISOString(),
          PropagateAtLaunch: true,
        },
      ],
    });
    await waitFor(async () => groupOf(await sandbox.snapshot(), 'capstan-env-feature-6') === undefined, {
      timeoutMs: 20_000,
    });
    await waitFor(() =>
      tc.fake.messagesIn('C0NOTICES').some((m) => /Environment `feature-6` is deleted/.test(messageText(m))),
    );
    expect(liveInstances(await sandbox.snapshot(), 'prod-web')).toHaveLength(3);
  });
});
