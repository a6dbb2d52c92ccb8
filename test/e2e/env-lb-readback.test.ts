/**
 * A job's final message states only what it read back from AWS afterwards (issue 15): with a fault
 * that makes Auto Scaling accept a call and silently not carry it out, env and lb jobs say what is
 * true instead of "done".
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../devkit/sandbox/index.js';
import type { TestCapstan } from '../helpers/capstan.js';
import { finished, groupOf, liveInstances, startOnSandbox } from '../helpers/sandbox-world.js';

let t: TestCapstan | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

async function start(): Promise<{ tc: TestCapstan; sandbox: Sandbox }> {
  const started = await startOnSandbox({ CAPSTAN_WAIT_TIMEOUT_MS: '2500' });
  t = started.tc;
  return started;
}

describe('read-back under a silent fault', () => {
  it('/env create says the group does not exist when CreateAutoScalingGroup silently does nothing', async () => {
    const { tc, sandbox } = await start();
    await sandbox.setFaults({ ignore: ['AutoScaling:CreateAutoScalingGroup'] });
    await tc.slash('/env', 'create ghost-1 --size 1');
    const text = await finished(tc, '/env create ghost-1 --size 1', /failed in/);
    expect(text).toContain(
      'Auto Scaling accepted the creation of capstan-env-ghost-1 but the group does not exist',
    );
    expect(text).not.toMatch(/is up/);
    expect(text).not.toContain('internal error');
    expect(groupOf(await sandbox.snapshot(), 'capstan-env-ghost-1')).toBeUndefined();
  });

  it('/lb disable says the instance is still InService when EnterStandby silently does nothing', async () => {
    const { tc, sandbox } = await start();
    await tc.slash('/env', 'create ghost-2 --size 2');
    await finished(tc, '/env create ghost-2 --size 2');
    const id = liveInstances(await sandbox.snapshot(), 'capstan-env-ghost-2')[0]?.id ?? '';
    await sandbox.setFaults({ ignore: ['AutoScaling:EnterStandby'] });
    await tc.slash('/lb', `disable ghost-2 --instance ${id}`);
    const text = await finished(tc, `/lb disable ghost-2 --instance ${id}`, /failed in/);
    expect(text).toContain(`gave up waiting for ${id} to be in Standby`);
    expect(text).toContain(`Read back from Auto Scaling: \`${id}\` InService (Healthy)`);
    expect(text).not.toContain('out of the load balancer (Standby)');
    const inst = liveInstances(await sandbox.snapshot(), 'capstan-env-ghost-2').find((i) => i.id === id);
    expect(inst?.lifecycle).toBe('InService');
  });

  it('/lb enable says the instance is still in Standby when ExitStandby silently does nothing', async () => {
    const { tc, sandbox } = await start();
    await tc.slash('/env', 'create ghost-3 --size 2');
    await finished(tc, '/env create ghost-3 --size 2');
    const id = liveInstances(await sandbox.snapshot(), 'capstan-env-ghost-3')[0]?.id ?? '';
    await tc.slash('/lb', `disable ghost-3 --instance ${id}`);
    await finished(tc, `/lb disable ghost-3 --instance ${id}`, /Standby/);
    await sandbox.setFaults({ ignore: ['AutoScaling:ExitStandby'] });
    await tc.slash('/lb', `enable ghost-3 --instance ${id}`);
    const text = await finished(tc, `/lb enable ghost-3 --instance ${id}`, /failed in/);
    expect(text).toContain(`Read back from Auto Scaling: \`${id}\` Standby`);
    expect(text).not.toContain('back in service and healthy');
  });

  it('/env delete says the group still exists when DeleteAutoScalingGroup silently does nothing', async () => {
    const { tc, sandbox } = await start();
    await tc.slash('/env', 'create ghost-4 --size 1');
    await finished(tc, '/env create ghost-4 --size 1');
    await sandbox.setFaults({ ignore: ['AutoScaling:DeleteAutoScalingGroup'] });
    await tc.slash('/env', 'delete ghost-4');
    const text = await finished(tc, '/env delete ghost-4', /failed in/);
    expect(text).toContain('Read back from Auto Scaling: capstan-env-ghost-4 still exists');
    expect(text).toContain('the environment is not deleted');
    expect(text).not.toContain('is deleted;');
    expect(groupOf(await sandbox.snapshot(), 'capstan-env-ghost-4')).toBeDefined();
  });
});
