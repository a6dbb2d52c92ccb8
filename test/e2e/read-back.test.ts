/**
 * A final message states only what was read back afterwards: with the sandbox set to answer an
 * action with success and do nothing (a silent fault), env and lb jobs must not say it happened.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { TestCapstan } from '../helpers/capstan.js';
import { finished, groupOf, startOnSandbox } from '../helpers/sandbox-world.js';

let t: TestCapstan | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

/** Whatever the job's last word, once it has one. */
const ANY_END = /(done|failed|cancelled) in/;

describe('final messages are read back from AWS', () => {
  it('/env create whose CreateAutoScalingGroup silently does nothing does not say the environment is up', async () => {
    const { tc, sandbox } = await startOnSandbox({ CAPSTAN_WAIT_TIMEOUT_MS: '3000' });
    t = tc;
    await sandbox.setFaults({ ignore: ['CreateAutoScalingGroup'] });
    await tc.slash('/env', 'create ghost-1 --size 1');
    const text = await finished(tc, '/env create ghost-1 --size 1', ANY_END, 90_000);
    expect(text).not.toMatch(/done in/);
    expect(text).not.toMatch(/is up/);
    expect(groupOf(await sandbox.snapshot(), 'capstan-env-ghost-1')).toBeUndefined();
  }, 120_000);

  it('/env delete whose DeleteAutoScalingGroup silently does nothing does not say the environment is deleted', async () => {
    const { tc, sandbox } = await startOnSandbox({ CAPSTAN_WAIT_TIMEOUT_MS: '3000' });
    t = tc;
    await tc.slash('/env', 'create ghost-2 --size 1');
    await finished(tc, '/env create ghost-2 --size 1', /done in/, 40_000);
    await sandbox.setFaults({ ignore: ['DeleteAutoScalingGroup'] });
    await tc.slash('/env', 'delete ghost-2');
    const text = await finished(tc, '/env delete ghost-2', ANY_END, 90_000);
    expect(text).not.toMatch(/done in/);
    expect(text).not.toMatch(/is deleted/);
    expect(groupOf(await sandbox.snapshot(), 'capstan-env-ghost-2')).toBeDefined();
  }, 150_000);
});
