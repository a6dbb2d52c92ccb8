/**
 * `/env list` shows every environment: those Capstan tagged (`capstan:env`) and those declared in the
 * configuration (`environments:`) whose group predates Capstan and carries no such tag.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { TestCapstan } from '../helpers/capstan.js';
import { CONFIG, finished, startOnSandbox, TG } from '../helpers/sandbox-world.js';

let t: TestCapstan | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

const DECLARED_CONFIG = CONFIG.replace(
  '  prod: { blueprint: web, asgName: prod-web }\n',
  '  prod: { blueprint: web, asgName: prod-web }\n  legacy: { blueprint: web, asgName: legacy-web }\n  gone: { blueprint: web, asgName: gone-web }\n',
);

describe('/env list', () => {
  it('lists a declared environment whose group has no capstan:env tag, and says when a declared group is missing', async () => {
    const { tc, sandbox } = await startOnSandbox({}, DECLARED_CONFIG);
    t = tc;
    await sandbox.seed({
      autoScalingGroups: [
        {
          name: 'legacy-web',
          launchTemplate: 'web-lt',
          min: 1,
          max: 4,
          desired: 2,
          subnets: ['subnet-0aaa11111'],
          targetGroups: [TG],
          tags: { team: 'payments' },
          ready: true,
        },
      ],
    });
    const world = await sandbox.snapshot();
    expect(world.groups['legacy-web']?.tags.map((x) => x.Key)).toEqual(['team']);

    await tc.slash('/env', 'list');
    const list = await finished(tc, '/env list');
    expect(list).toMatch(
      /\*legacy\* — version \?, 2\/2 in service, owner \?, expires never, ready \(eu-west-1\)/,
    );
    expect(list).toMatch(/\*prod\* — version \?, 3\/3 in service/);
    expect(list).toContain('*gone* — declared, but its group gone-web does not exist (eu-west-1)');
    expect(list).toContain('*Environments* (2)');
  });
});
