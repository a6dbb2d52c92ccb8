/**
 * Standby records at scale: Auto Scaling allows 50 tags per group
 * (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-tagging.html, LimitExceeded
 * beyond it), so who put which instance in Standby is kept in Redis and the group carries one
 * `capstan:standby` summary tag. A 60-instance group goes to Standby and back; the sandbox enforces
 * the limit as AWS does.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { World } from '../../devkit/sandbox/index.js';
import { APPROVE_ACTION } from '../../src/slack/blocks/approval.js';
import type { TestCapstan } from '../helpers/capstan.js';
import { CONFIG, finished, groupOf, liveInstances, startOnSandbox, TG } from '../helpers/sandbox-world.js';
import { waitFor } from '../helpers/wait-for.js';

let t: TestCapstan | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

const BIG = 'big-web';
const SIZE = 60;
const BIG_CONFIG = CONFIG.replace(
  'environments:\n',
  `  plain:
    launchTemplate: { name: web-lt, version: '$Latest' }
    subnets: [subnet-0aaa11111]
    targetGroups: [${TG}]
    size: { min: 0, max: ${SIZE}, desired: 1 }
    sharedTargetGroups: true
environments:
  big: { blueprint: plain, asgName: ${BIG} }
`,
);

/** The group's own tags: ten, as a real team's group might carry. */
const TEAM_TAGS = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`team:tag-${i}`, `v${i}`]));

function tagsOf(world: World): Record<string, string> {
  return Object.fromEntries((groupOf(world, BIG)?.tags ?? []).map((x) => [x.Key, x.Value]));
}

describe('standby records', () => {
  it(`puts ${SIZE} instances in Standby and back with one summary tag on the group`, async () => {
    const { tc, sandbox } = await startOnSandbox({ CAPSTAN_WAIT_TIMEOUT_MS: '60000' }, BIG_CONFIG);
    t = tc;
    await sandbox.seed({
      autoScalingGroups: [
        {
          name: BIG,
          launchTemplate: 'web-lt',
          min: 0,
          max: SIZE,
          desired: SIZE,
          subnets: ['subnet-0aaa11111'],
          targetGroups: [TG],
          tags: TEAM_TAGS,
          ready: true,
        },
      ],
    });
    expect(
      liveInstances(await sandbox.snapshot(), BIG).filter((i) => i.lifecycle === 'InService'),
    ).toHaveLength(SIZE);

    await tc.slash('/lb', 'disable big --reason "kernel <patch> & reboot"');
    // All of them is the last in-service one too: an approver clicks first.
    const request = await waitFor(() => tc.fake.messagesIn('C0APPROVALS').at(-1));
    const approvalId = JSON.stringify(request.blocks).match(/"value":"(j[0-9a-f]+)"/)?.[1] ?? '';
    await tc.click('U0CAROL', request, APPROVE_ACTION, approvalId);
    const disabled = await finished(
      tc,
      // As Slack shows it: the user's text escaped.
      '/lb disable big --reason "kernel &lt;patch&gt; &amp; reboot"',
      /done in .*Standby/,
      60_000,
    );
    expect(disabled).toContain('are out of the load balancer (Standby)');

    let world = await sandbox.snapshot();
    expect(liveInstances(world, BIG).filter((i) => i.lifecycle === 'Standby')).toHaveLength(SIZE);
    let tags = tagsOf(world);
    expect(Object.keys(tags).length).toBeLessThanOrEqual(50);
    expect(Object.keys(tags).filter((k) => k.startsWith('capstan:standby:'))).toEqual([]);
    expect(tags['capstan:standby']).toMatch(new RegExp(`^${SIZE} in Standby since \\d{4}-`));

    await tc.slash('/lb', 'status big');
    const status = await finished(tc, '/lb status big');
    expect(status).toContain(`*Standby* (${SIZE}):`);
    // Every instance in Standby is listed with who and why (the message's text and blocks both hold them).
    const noted = new Set(
      [
        ...status.matchAll(/`(i-[0-9a-f]+)` since \S+ by <@U0ALICE> — kernel &lt;patch&gt; &amp; reboot/g),
      ].map((m) => m[1]),
    );
    expect(noted).toEqual(new Set(liveInstances(world, BIG).map((i) => i.id)));

    await tc.slash('/lb', 'enable big');
    const enabled = await finished(tc, '/lb enable big', undefined, 60_000);
    expect(enabled).toContain('are back in service and healthy.');
    world = await sandbox.snapshot();
    expect(liveInstances(world, BIG).filter((i) => i.lifecycle === 'InService')).toHaveLength(SIZE);
    tags = tagsOf(world);
    expect(Object.keys(tags).filter((k) => k.startsWith('capstan:'))).toEqual([]);
    expect(tags).toEqual(TEAM_TAGS);

    await tc.slash('/lb', 'status big');
    expect(await finished(tc, '/lb status big', /In service\* \(60\)/)).toContain('*Standby* (0): none');
  }, 120_000);

  it('is refused by the sandbox, as by AWS, beyond 50 tags on a group', async () => {
    const { tc, sandbox } = await startOnSandbox({}, BIG_CONFIG);
    t = tc;
    const tag = (i: number) => ({
      ResourceId: 'prod-web',
      ResourceType: 'auto-scaling-group',
      Key: `k${i}`,
      Value: 'v',
      PropagateAtLaunch: false,
    });
    const room = 50 - (groupOf(await sandbox.snapshot(), 'prod-web')?.tags ?? []).length;
    await sandbox.call('AutoScaling', 'CreateOrUpdateTags', {
      Tags: Array.from({ length: room }, (_, i) => tag(i)),
    });
    await expect(
      sandbox.call('AutoScaling', 'CreateOrUpdateTags', { Tags: [tag(room)] }),
    ).rejects.toMatchObject({ code: 'LimitExceeded' });
    // Overwriting an existing key adds none: still allowed at the limit.
    await sandbox.call('AutoScaling', 'CreateOrUpdateTags', { Tags: [{ ...tag(0), Value: 'w' }] });
    expect(groupOf(await sandbox.snapshot(), 'prod-web')?.tags).toHaveLength(50);
  });
});
