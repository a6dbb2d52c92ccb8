/** `/ops jobs`, `/ops cancel`, `/ops audit` and policy denials, end to end. */
import { afterEach, describe, expect, it } from 'vitest';
import { TargetLocks } from '../../src/queue/locks.js';
import { startTestCapstan, type TestCapstan } from '../helpers/capstan.js';
import { messageText } from '../helpers/fake-slack.js';
import { waitFor } from '../helpers/wait-for.js';

const CONFIG = `
roles:
  admins: { users: [U0ADMIN] }
  engineers: { users: [U0ALICE, U0BOB] }
`;

let t: TestCapstan | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

function replyText(res: { body: string }): string {
  return (JSON.parse(res.body) as { text: string }).text;
}

describe('/ops jobs and /ops cancel', () => {
  it('lists a queued job; only its requester or an admin may cancel it; cancelling removes it', async () => {
    // Web process only: nothing picks the job up, so it stays queued.
    t = await startTestCapstan({ role: 'web', configYaml: CONFIG });
    const queued = replyText(await t.slash('/ops', 'ping', { userId: 'U0ALICE' }));
    const jobId = queued.match(/job `(j[0-9a-f]+)`/)?.[1] ?? '';
    const list = replyText(await t.slash('/ops', 'jobs', { userId: 'U0BOB' }));
    expect(list).toMatch(
      new RegExp(`\`${jobId}\` :hourglass_flowing_sand: queued .* — \`/ops ping\` by <@U0ALICE>`),
    );

    expect(replyText(await t.slash('/ops', `cancel ${jobId}`, { userId: 'U0BOB' }))).toContain(
      `Only <@U0ALICE>, who asked for job \`${jobId}\`, or an admin may cancel it.`,
    );
    expect(await t.jobCounts()).toMatchObject({ wait: 1 });
    expect(replyText(await t.slash('/ops', `cancel ${jobId}`, { userId: 'U0ALICE' }))).toContain(
      `Removed queued job \`${jobId}\``,
    );
    expect(await t.jobCounts()).toMatchObject({ wait: 0, active: 0 });
    expect(replyText(await t.slash('/ops', 'jobs'))).toBe('No jobs are queued or running.');
    expect(replyText(await t.slash('/ops', 'cancel 0123456789ab'))).toContain(
      'There is no job `0123456789ab`',
    );

    // An admin may cancel anyone's job.
    const other = replyText(await t.slash('/ops', 'ping', { userId: 'U0BOB' }));
    const otherId = other.match(/job `(j[0-9a-f]+)`/)?.[1] ?? '';
    expect(replyText(await t.slash('/ops', `cancel ${otherId}`, { userId: 'U0ADMIN' }))).toContain(
      'Removed queued job',
    );
  });

  it('asks a running job to stop at its next step; it reports "cancelled"', async () => {
    t = await startTestCapstan({ configYaml: CONFIG });
    const tc = t;
    // Slack is slow to take the first message, so the job is still at its first step when the cancel lands.
    tc.fake.setDelay('chat.postMessage', 1_500);
    const queued = replyText(await tc.slash('/ops', 'ping', { userId: 'U0ALICE' }));
    const jobId = queued.match(/job `(j[0-9a-f]+)`/)?.[1] ?? '';
    await waitFor(async () => (await tc.jobCounts()).active === 1);
    const running = replyText(await tc.slash('/ops', 'jobs'));
    expect(running).toMatch(new RegExp(`\`${jobId}\` :arrows_counterclockwise: running`));
    expect(replyText(await tc.slash('/ops', `cancel ${jobId}`, { userId: 'U0ALICE' }))).toContain(
      'to stop at its next step',
    );
    tc.fake.setDelay('chat.postMessage', 0);
    const reply = await waitFor(
      () => tc.fake.messagesIn('C0OPS').find((m) => m.thread_ts && /cancelled in/.test(messageText(m))),
      { timeoutMs: 15_000 },
    );
    expect(messageText(reply)).toContain('cancelled on request');
    expect(messageText(reply)).not.toContain('pong from');
    await waitFor(async () => (await tc.jobCounts()).completed === 1);
  });
});

describe('/ops audit and denials', () => {
  it('records every command, decision and outcome; shows them to admins only', async () => {
    t = await startTestCapstan({ configYaml: CONFIG });
    const tc = t;
    await tc.slash('/ops', 'ping', { userId: 'U0ALICE' });
    await waitFor(() => tc.fake.messagesIn('C0OPS').some((m) => /pong from/.test(messageText(m))));
    await tc.slash('/ops', 'pnig', { userId: 'U0ALICE' });

    const denied = replyText(await tc.slash('/ops', 'audit', { userId: 'U0ALICE' }));
    expect(denied).toBe(
      ':no_entry: Not allowed: ops.audit is admin-only: for the admins role, or a rule naming ops.audit (rule `safe defaults`). Who can help: <@U0ADMIN>.',
    );

    const log = await waitFor(async () => {
      const text = replyText(await tc.slash('/ops', 'audit 20', { userId: 'U0ADMIN' }));
      return /job <@U0ALICE> job j[0-9a-f]+ `\/ops ping` → \*done\*/.test(text) ? text : undefined;
    });
    expect(log).toMatch(/command <@U0ALICE> ops.ping `\/ops ping` → \*allowed\* \(safe defaults\)/);
    expect(log).toMatch(/command <@U0ALICE> C0OPS `\/ops pnig` → \*usage error\*/);
    expect(log).toMatch(/command <@U0ALICE> ops.audit `\/ops audit` → \*denied\* \(safe defaults\)/);
    // The stream is never trimmed: every entry is still there.
    expect(await tc.redis.xlen(`${tc.config.queuePrefix}:audit`)).toBeGreaterThanOrEqual(5);
  });

  it('refuses a person without a role anything but reading, and says who can help', async () => {
    t = await startTestCapstan({ configYaml: CONFIG });
    const text = replyText(await t.slash('/ops', 'cancel 0123456789ab', { userId: 'U0STRANGER' }));
    expect(text).toContain('people without a Capstan role may only read');
    expect(text).toContain('Who can help: <@U0ADMIN>');
    expect(replyText(await t.slash('/ops', 'jobs', { userId: 'U0STRANGER' }))).toBe(
      'No jobs are queued or running.',
    );
  });
});

describe('locks', () => {
  it('refuses a command on a busy target at once, naming the job that holds it and who asked', async () => {
    t = await startTestCapstan({ configYaml: CONFIG });
    const tc = t;
    // Bob's job holds environment prod (as a running /env delete would).
    const locks = new TargetLocks(tc.redis, tc.config.queuePrefix);
    await locks.acquire(
      'environment:prod',
      { jobId: 'b0b0b0b0b0b0', userId: 'U0BOB', action: '/env delete prod', since: Date.now() },
      60_000,
    );
    const text = replyText(await tc.slash('/lb', 'disable prod --reason "patching"', { userId: 'U0ALICE' }));
    expect(text).toContain(
      ':lock: environment prod is busy: job `b0b0b0b0b0b0` (`/env delete prod`, asked by <@U0BOB>',
    );
    expect(text).toContain('/ops cancel b0b0b0b0b0b0');
    // Reading is never blocked by a lock: the status job is queued as usual.
    expect(replyText(await tc.slash('/lb', 'status prod', { userId: 'U0ALICE' }))).toContain('Queued as job');
    const queued = await tc.jobsOf('lb.disable');
    expect(queued).toHaveLength(0);
  });
});
