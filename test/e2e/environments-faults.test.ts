/**
 * Environments under faults: a worker killed in the middle of create and of delete (another
 * worker finishes, and the result is exactly right), and AWS throttling 30% of calls.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { TestCapstan } from '../helpers/capstan.js';
import { messageText } from '../helpers/fake-slack.js';
import { finished, groupOf, liveInstances, startOnSandbox } from '../helpers/sandbox-world.js';
import { waitFor } from '../helpers/wait-for.js';

let t: TestCapstan | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

async function killed(child: ChildProcess): Promise<void> {
  child.kill('SIGKILL');
  if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
}

describe('environments under faults', () => {
  it('finishes a create whose worker died mid-way: one group, exactly the instances asked for', async () => {
    const { tc, sandbox } = await startOnSandbox();
    t = tc;
    // This test runs workers as separate processes so one can be killed: stop the in-process one.
    await tc.capstan.workerHost?.stop();
    await sandbox.setTiming({ instanceLaunch: 2_500 });
    const first = tc.spawnWorker();
    await tc.slash('/env', 'create feature-2 --size 2');
    // Kill it once the group exists and its instances are still launching.
    await waitFor(async () => groupOf(await sandbox.snapshot(), 'capstan-env-feature-2'), {
      timeoutMs: 20_000,
    });
    await killed(first);
    await sandbox.setTiming({ instanceLaunch: 300 });
    const second = tc.spawnWorker();
    const text = await finished(tc, '/env create feature-2 --size 2', undefined, 40_000);
    expect(text).toContain('Environment `feature-2` is up: 2 instance(s) InService');
    expect(text).toContain(`resumed on worker`);
    expect(text).toContain(`:${second.pid}`);
    const world = await sandbox.snapshot();
    expect(Object.keys(world.groups).filter((g) => g.startsWith('capstan-env-feature-2'))).toEqual([
      'capstan-env-feature-2',
    ]);
    expect(liveInstances(world, 'capstan-env-feature-2')).toHaveLength(2);
    // Nothing launched outside the group either.
    expect(Object.values(world.instances).filter((i) => !i.group && i.state !== 'terminated')).toHaveLength(
      0,
    );
  });

  it('finishes a delete whose worker died mid-way, and leaves the other environments alone', async () => {
    const { tc, sandbox } = await startOnSandbox();
    t = tc;
    await tc.slash('/env', 'create feature-3 --size 1');
    await finished(tc, '/env create feature-3 --size 1');
    await tc.capstan.workerHost?.stop();
    await sandbox.setTiming({ asgDelete: 3_000, terminate: 2_500 });
    const first = tc.spawnWorker();
    await tc.slash('/env', 'delete feature-3');
    await waitFor(
      async () => groupOf(await sandbox.snapshot(), 'capstan-env-feature-3')?.status === 'Delete in progress',
      {
        timeoutMs: 20_000,
      },
    );
    await killed(first);
    tc.spawnWorker();
    const text = await finished(tc, '/env delete feature-3', undefined, 40_000);
    expect(text).toContain('nothing tagged capstan:env=feature-3 remains');
    const world = await sandbox.snapshot();
    expect(groupOf(world, 'capstan-env-feature-3')).toBeUndefined();
    expect(liveInstances(world, 'capstan-env-feature-3')).toHaveLength(0);
    expect(liveInstances(world, 'prod-web').filter((i) => i.lifecycle === 'InService')).toHaveLength(3);
  });

  it('still creates and deletes with 30% of AWS calls throttled', async () => {
    const { tc, sandbox } = await startOnSandbox();
    t = tc;
    await sandbox.setFaults({ throttleRate: 0.3 });
    await tc.slash('/env', 'create feature-4 --size 2');
    expect(await finished(tc, '/env create feature-4 --size 2', undefined, 60_000)).toContain(
      'is up: 2 instance(s)',
    );
    const deleteReply = await tc.slash('/env', 'delete feature-4');
    expect(JSON.parse(deleteReply.body).text).toContain('Queued as job');
    expect(await finished(tc, '/env delete feature-4', undefined, 60_000)).toContain('is deleted');
    const { counters } = await sandbox.faults();
    expect(JSON.stringify(counters)).toMatch(/[1-9]/);
    const world = await sandbox.snapshot();
    expect(groupOf(world, 'capstan-env-feature-4')).toBeUndefined();
    expect(tc.fake.messagesIn('C0OPS').some((m) => /failed in/.test(messageText(m)))).toBe(false);
  }, 120_000);
});
