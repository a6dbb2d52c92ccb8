/**
 * Workers die and get stopped: a job whose worker is killed mid-job is finished by another worker,
 * in the same progress message; a worker asked to stop lets its running job finish first.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestCapstan, type TestCapstan } from '../helpers/capstan.js';
import { messageText } from '../helpers/fake-slack.js';
import { waitFor } from '../helpers/wait-for.js';

let t: TestCapstan | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

/** Waits until the web process reports ready: Redis reachable and a worker attached to the queue. */
async function workerAttached(tc: TestCapstan): Promise<void> {
  await waitFor(async () => (await fetch(`${tc.baseUrl}/ready`)).status === 200, { timeoutMs: 20_000 });
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null
    ? Promise.resolve(child.exitCode)
    : once(child, 'exit').then(([code]) => code as number | null);
}

describe('worker failures', () => {
  it('finishes a job on another worker when its worker is killed mid-job', async () => {
    t = await startTestCapstan({ role: 'web' });
    const first = t.spawnWorker();
    await workerAttached(t);
    // Hold the first worker inside the job: its final update waits on a slow Slack.
    t.fake.setDelay('chat.update', 60_000);
    await t.slash('/ops', 'ping');
    const tc = t;
    await waitFor(
      () => tc.fake.calls.some((c) => c.method === 'chat.update') || tc.fake.messagesIn('C0OPS').length >= 2,
      {
        timeoutMs: 20_000,
      },
    );
    // The request reached Slack's side but no answer came back: kill the worker right there.
    await waitFor(async () => (await tc.jobCounts()).active === 1);
    first.kill('SIGKILL');
    await exited(first);
    t.fake.setDelay('chat.update', 0);

    const second = t.spawnWorker();
    const root = await waitFor(() => tc.fake.messagesIn('C0OPS', { topLevelOnly: true })[0]);
    const reply = await waitFor(
      () => {
        const r = tc.fake.threadReplies('C0OPS', root.ts)[0];
        return r && /done in/.test(messageText(r)) ? r : undefined;
      },
      { timeoutMs: 20_000 },
    );
    // One thread, one progress message, finished by the second worker.
    expect(tc.fake.messagesIn('C0OPS', { topLevelOnly: true })).toHaveLength(1);
    expect(tc.fake.threadReplies('C0OPS', root.ts)).toHaveLength(1);
    expect(messageText(reply)).toContain(`resumed on worker`);
    expect(messageText(reply)).toContain(`:${second.pid}`);
    expect(messageText(reply)).toContain('pong from');
    await waitFor(async () => (await tc.jobCounts()).completed === 1);
    expect(await tc.jobCounts()).toMatchObject({ active: 0, failed: 0, wait: 0 });
  });

  it('returns a running job to the queue at its next checkpoint on SIGTERM, and exits 0', async () => {
    t = await startTestCapstan({ role: 'web' });
    const worker = t.spawnWorker();
    await workerAttached(t);
    // A slow Slack holds the job before its first checkpoint: the job waits up to 3 s for its
    // progress message to be posted, so the signal lands mid-job however busy the machine is. (A
    // signal after the job's last checkpoint rightly lets it finish: that is not what this tests.)
    t.fake.setDelay('chat.postMessage', 2_000);
    await t.slash('/ops', 'ping');
    const tc = t;
    await waitFor(async () => (await tc.jobCounts()).active === 1, { timeoutMs: 20_000 });
    worker.kill('SIGTERM');
    expect(await exited(worker)).toBe(0);
    // Not failed, not lost: waiting for the next worker.
    expect(await tc.jobCounts()).toMatchObject({ wait: 1, active: 0, failed: 0, completed: 0 });

    tc.fake.setDelay('chat.postMessage', 0);
    tc.spawnWorker();
    await waitFor(async () => (await tc.jobCounts()).completed === 1, { timeoutMs: 20_000 });
    const root = tc.fake.messagesIn('C0OPS', { topLevelOnly: true });
    expect(root).toHaveLength(1);
    const replies = tc.fake.threadReplies('C0OPS', root[0]?.ts ?? '');
    expect(replies).toHaveLength(1);
    expect(messageText(replies[0] ?? {})).toMatch(/resumed on worker[\s\S]*pong from/);
  });
});
