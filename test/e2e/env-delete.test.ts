/**
 * `/env delete` against groups of every MinSize: Auto Scaling keeps MinSize ≤ desired ≤ MaxSize at
 * every call (EnterStandby with a decrement, and a lower desired capacity, are refused below MinSize:
 * https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_EnterStandby.html), so a delete must
 * hold that rule at each of its steps. A refusal from Auto Scaling is a plain answer, not retried.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../devkit/sandbox/index.js';
import type { TestCapstan } from '../helpers/capstan.js';
import { messageText } from '../helpers/fake-slack.js';
import { CONFIG, finished, groupOf, liveInstances, startOnSandbox } from '../helpers/sandbox-world.js';

let t: TestCapstan | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

/** Blueprints `one` (MinSize 1 of 2) and `full` (MinSize = MaxSize = 2) beside the tests' `web` (MinSize 0). */
const SIZED_CONFIG = CONFIG.replace(
  'environments:\n',
  `  one:
    launchTemplate: { name: web-lt, version: '$Latest' }
    subnets: [subnet-0aaa11111]
    targetGroups: [arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-tg/0123456789abcdef]
    size: { min: 1, max: 3, desired: 2 }
    sharedTargetGroups: true
  full:
    launchTemplate: { name: web-lt, version: '$Latest' }
    subnets: [subnet-0aaa11111]
    targetGroups: [arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-tg/0123456789abcdef]
    size: { min: 2, max: 2, desired: 2 }
    sharedTargetGroups: true
environments:
`,
);

async function start(): Promise<{ tc: TestCapstan; sandbox: Sandbox }> {
  const started = await startOnSandbox({}, SIZED_CONFIG);
  t = started.tc;
  return started;
}

async function createAndDelete(tc: TestCapstan, sandbox: Sandbox, env: string, blueprint: string) {
  await tc.slash('/env', `create ${env} --blueprint ${blueprint}`);
  expect(await finished(tc, `/env create ${env} --blueprint ${blueprint}`)).toContain(
    `Environment \`${env}\` is up: 2 instance(s) InService`,
  );
  return sandbox.snapshot();
}

describe('/env delete and MinSize', () => {
  for (const [blueprint, min, max] of [
    ['web', 0, 4],
    ['one', 1, 3],
    ['full', 2, 2],
  ] as const) {
    it(`deletes a group with MinSize ${min} (MaxSize ${max}), leaving nothing tagged with it`, async () => {
      const { tc, sandbox } = await start();
      const env = `min-${min}`;
      const before = await createAndDelete(tc, sandbox, env, blueprint);
      const group = groupOf(before, `capstan-env-${env}`);
      expect({ min: group?.min, max: group?.max, desired: group?.desired }).toEqual({ min, max, desired: 2 });

      await tc.slash('/env', `delete ${env}`);
      const text = await finished(tc, `/env delete ${env}`);
      expect(text).toContain(`Environment \`${env}\` is deleted; nothing tagged capstan:env=${env} remains.`);
      expect(text).not.toContain('internal error');
      const after = await sandbox.snapshot();
      expect(groupOf(after, `capstan-env-${env}`)).toBeUndefined();
      expect(liveInstances(after, `capstan-env-${env}`)).toHaveLength(0);
      expect(liveInstances(after, 'prod-web').filter((i) => i.lifecycle === 'InService')).toHaveLength(3);
    }, 60_000);
  }

  it('answers a ValidationError from Auto Scaling in plain words, once, and leaves the group as it is', async () => {
    const { tc, sandbox } = await start();
    await createAndDelete(tc, sandbox, 'refused', 'one');
    await sandbox.setFaults({
      refuse: {
        'AutoScaling:EnterStandby': {
          code: 'ValidationError',
          message: 'AutoScalingGroup capstan-env-refused has min-size=1, max-size=3, and desired-size=2.',
        },
      },
    });
    await tc.slash('/env', 'delete refused');
    const text = await finished(tc, '/env delete refused', /failed in/);
    expect(text).toContain('Auto Scaling refused to put the instances in Standby for environment `refused`');
    expect(text).toContain('has min-size=1, max-size=3, and desired-size=2.');
    expect(text).not.toContain('internal error');
    const texts = tc.fake.messagesIn('C0OPS').map((m) => messageText(m));
    expect(texts.filter((x) => /attempt \d of \d failed/.test(x))).toEqual([]);
    const world = await sandbox.snapshot();
    const group = groupOf(world, 'capstan-env-refused');
    expect(group?.status).toBeUndefined();
    expect(liveInstances(world, 'capstan-env-refused').map((i) => i.lifecycle)).toEqual([
      'InService',
      'InService',
    ]);
  }, 60_000);
});
