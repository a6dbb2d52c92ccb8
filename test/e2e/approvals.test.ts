/**
 * Approvals end to end: signed slash command → approval request with the plan and buttons in the
 * approvals channel → signed button clicks → the job runs once, for the right people only.
 * `ops.ping` stands in for a risky action here: policy can ask approval for any action.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { APPROVE_ACTION, REJECT_ACTION } from '../../src/slack/blocks/approval.js';
import { startTestCapstan, type TestCapstan } from '../helpers/capstan.js';
import { type FakeMessage, messageText } from '../helpers/fake-slack.js';
import { waitFor } from '../helpers/wait-for.js';

function configWith(approval: string): string {
  return `
slack:
  approvalsChannel: C0APPROVALS
roles:
  admins: { users: [U0ADMIN] }
  engineers: { users: [U0ALICE, U0BOB] }
  approvers: { users: [U0CAROL, U0DAVE] }
policy:
  defaults:
    approval:
      ops.ping: ${approval}
`;
}

let t: TestCapstan | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

/** Asks for a ping as `userId` and returns the posted approval request message. */
async function requestApproval(tc: TestCapstan, userId = 'U0ALICE'): Promise<FakeMessage> {
  const res = await tc.slash('/ops', 'ping', { userId });
  expect(JSON.parse(res.body).text).toContain('needs an approval');
  return waitFor(() => tc.fake.messagesIn('C0APPROVALS')[0]);
}

function pingJobsDone(tc: TestCapstan): number {
  return tc.fake.messagesIn('C0OPS').filter((m) => /pong from/.test(messageText(m))).length;
}

function ephemeralsFor(tc: TestCapstan, user: string): string[] {
  return tc.fake.ephemerals.filter((e) => e.user === user).map((e) => messageText(e));
}

/** The requester's progress message for `/ops ping` in #ops (the request job's, not the thread root). */
function requesterProgress(tc: TestCapstan): FakeMessage | undefined {
  return tc.fake
    .messagesIn('C0OPS')
    .find((m) => m.thread_ts !== undefined && /^\/ops ping: /.test(messageText(m)));
}

describe('approvals', () => {
  it('posts the request with action, target, requester, plan and buttons; the approver’s click runs the job once', async () => {
    t = await startTestCapstan({ configYaml: configWith('{ role: approvers, quorum: 1 }') });
    const tc = t;
    const request = await requestApproval(tc);
    const text = messageText(request);
    expect(text).toContain('Approval needed');
    expect(text).toContain('/ops ping');
    expect(text).toContain('<@U0ALICE>');
    expect(text).toContain('run ops.ping');
    expect(JSON.stringify(request.blocks)).toContain(APPROVE_ACTION);
    // The requester's thread says what it is waiting for.
    await waitFor(() =>
      tc.fake
        .messagesIn('C0OPS')
        .some((m) =>
          /Waiting for an approval from role `approvers` in <https:\/\/capstan-test.slack.com\/archives\/C0APPROVALS\/p/.test(
            messageText(m),
          ),
        ),
    );

    // A job waiting for people says so, and never "done", while the request is open.
    const waiting = await waitFor(() => {
      const m = requesterProgress(tc);
      return m && /waiting for approval from role `approvers`/.test(messageText(m)) ? m : undefined;
    });
    expect(messageText(waiting)).not.toMatch(/done in/);
    const id = JSON.stringify(request.blocks).match(/"value":"(j[0-9a-f]+)"/)?.[1] ?? '';
    expect((await tc.click('U0CAROL', request, APPROVE_ACTION, id)).status).toBe(200);
    await waitFor(() => pingJobsDone(tc) === 1);
    // Once approved, the same message says by whom and which job runs it.
    const closed = messageText(tc.fake.findMessage('C0OPS', waiting.ts) ?? waiting);
    expect(closed).toMatch(/approved: by <@U0CAROL>; job `j[0-9a-f]+` runs it/);
    expect(closed).not.toMatch(/waiting for/);
    const decided = tc.fake.findMessage('C0APPROVALS', request.ts);
    expect(messageText(decided ?? request)).toMatch(/Approved\* by <@U0CAROL>.*job `j[0-9a-f]+` started/);
    expect(JSON.stringify(decided?.blocks)).not.toContain(APPROVE_ACTION);
    expect(tc.fake.messagesIn('C0OPS').some((m) => /approved by <@U0CAROL>/.test(messageText(m)))).toBe(true);
  });

  it('refuses self-approval and non-approvers, and runs nothing', async () => {
    t = await startTestCapstan({ configYaml: configWith('{ role: approvers, quorum: 1 }') });
    const tc = t;
    const request = await requestApproval(tc, 'U0CAROL');
    const id = JSON.stringify(request.blocks).match(/"value":"(j[0-9a-f]+)"/)?.[1] ?? '';
    await tc.click('U0CAROL', request, APPROVE_ACTION, id);
    await waitFor(() => ephemeralsFor(tc, 'U0CAROL').some((e) => /someone else has to approve/.test(e)));
    await tc.click('U0BOB', request, APPROVE_ACTION, id);
    await waitFor(() =>
      ephemeralsFor(tc, 'U0BOB').some((e) =>
        /only the approvers role may decide this \(<@U0CAROL>, <@U0DAVE>\)/.test(e),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(pingJobsDone(tc)).toBe(0);
    expect(messageText(tc.fake.findMessage('C0APPROVALS', request.ts) ?? request)).toContain('Approve');
  });

  it('needs two different approvers for a quorum of two', async () => {
    t = await startTestCapstan({ configYaml: configWith('{ role: approvers, quorum: 2 }') });
    const tc = t;
    const res = await tc.slash('/ops', 'ping');
    expect(JSON.parse(res.body).text).toContain('needs 2 approvals');
    const request = await waitFor(() => tc.fake.messagesIn('C0APPROVALS')[0]);
    const id = JSON.stringify(request.blocks).match(/"value":"(j[0-9a-f]+)"/)?.[1] ?? '';
    await tc.click('U0CAROL', request, APPROVE_ACTION, id);
    await waitFor(() => ephemeralsFor(tc, 'U0CAROL').some((e) => /recorded: 1 of 2/.test(e)));
    expect(messageText(tc.fake.findMessage('C0APPROVALS', request.ts) ?? request)).toContain(
      'approved so far by <@U0CAROL> (1 of 2)',
    );
    await tc.click('U0CAROL', request, APPROVE_ACTION, id);
    await waitFor(() => ephemeralsFor(tc, 'U0CAROL').some((e) => /already approved this/.test(e)));
    expect(pingJobsDone(tc)).toBe(0);
    await tc.click('U0DAVE', request, APPROVE_ACTION, id);
    await waitFor(() => pingJobsDone(tc) === 1);
    expect(messageText(tc.fake.findMessage('C0APPROVALS', request.ts) ?? request)).toMatch(
      /Approved\* by <@U0CAROL>, <@U0DAVE>/,
    );
  });

  it('starts one job when two approvers click at the same moment', async () => {
    t = await startTestCapstan({ configYaml: configWith('{ role: approvers, quorum: 1 }') });
    const tc = t;
    const request = await requestApproval(tc);
    const id = JSON.stringify(request.blocks).match(/"value":"(j[0-9a-f]+)"/)?.[1] ?? '';
    const clicks = await Promise.all([
      tc.click('U0CAROL', request, APPROVE_ACTION, id),
      tc.click('U0DAVE', request, APPROVE_ACTION, id),
      tc.click('U0CAROL', request, APPROVE_ACTION, id),
      tc.click('U0DAVE', request, APPROVE_ACTION, id),
    ]);
    for (const c of clicks) expect(c.status).toBe(200);
    await waitFor(() => pingJobsDone(tc) === 1);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(pingJobsDone(tc)).toBe(1);
    const counts = await tc.jobCounts();
    // One approval.request job, one ping job, one expiry timer still waiting.
    expect(counts.completed).toBe(2);
    const approvedNotes = tc.fake.messagesIn('C0OPS').filter((m) => /was approved by/.test(messageText(m)));
    expect(approvedNotes).toHaveLength(1);
  });

  it('expires: the request says so, the requester is told, and a late click is refused', async () => {
    t = await startTestCapstan({
      configYaml: configWith('{ role: approvers, quorum: 1, timeoutMinutes: 0.03 }'),
    });
    const tc = t;
    const request = await requestApproval(tc);
    const id = JSON.stringify(request.blocks).match(/"value":"(j[0-9a-f]+)"/)?.[1] ?? '';
    await waitFor(
      () => /Expired/.test(messageText(tc.fake.findMessage('C0APPROVALS', request.ts) ?? request)),
      { timeoutMs: 15_000 },
    );
    await waitFor(() =>
      tc.fake
        .messagesIn('C0OPS')
        .some((m) => /expired without a decision; nothing was done/.test(messageText(m))),
    );
    await waitFor(() => /expired: without a decision/.test(messageText(requesterProgress(tc) ?? request)));
    expect(messageText(requesterProgress(tc) ?? request)).not.toMatch(/waiting for|done in/);
    await tc.click('U0CAROL', request, APPROVE_ACTION, id);
    await waitFor(() => ephemeralsFor(tc, 'U0CAROL').some((e) => /already expired/.test(e)));
    expect(pingJobsDone(tc)).toBe(0);
  });

  it('rejects: the request shows who rejected, the requester is told, nothing runs', async () => {
    t = await startTestCapstan({ configYaml: configWith('{ role: approvers, quorum: 2 }') });
    const tc = t;
    await tc.slash('/ops', 'ping');
    const request = await waitFor(() => tc.fake.messagesIn('C0APPROVALS')[0]);
    const id = JSON.stringify(request.blocks).match(/"value":"(j[0-9a-f]+)"/)?.[1] ?? '';
    await tc.click('U0DAVE', request, REJECT_ACTION, id);
    await waitFor(() =>
      /Rejected\* by <@U0DAVE>/.test(messageText(tc.fake.findMessage('C0APPROVALS', request.ts) ?? request)),
    );
    await waitFor(() =>
      tc.fake.messagesIn('C0OPS').some((m) => /was rejected by <@U0DAVE>/.test(messageText(m))),
    );
    await waitFor(() =>
      /rejected: by <@U0DAVE>; nothing was done/.test(messageText(requesterProgress(tc) ?? request)),
    );
    await tc.click('U0CAROL', request, APPROVE_ACTION, id);
    await waitFor(() =>
      ephemeralsFor(tc, 'U0CAROL').some((e) => /already rejected \(by <@U0DAVE>\)/.test(e)),
    );
    expect(pingJobsDone(tc)).toBe(0);
  });
});
