/**
 * User-group memberships for policy, looked up through the real WebClient against the fake Slack
 * Web API: warmed at start-up, answered from what is kept, refreshed in the background, never over a
 * minute old while Slack answers, dropped (fail closed) when Slack has not answered for too long.
 */
import { WebClient } from '@slack/web-api';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unreadGroupsNote } from '../../handlers/intake.js';
import { createGroupDirectory } from '../../src/slack/directory.js';
import { type FakeSlack, startFakeSlack } from '../helpers/fake-slack.js';
import { waitFor } from '../helpers/wait-for.js';

let fake: FakeSlack;
let client: WebClient;
const logger = pino({ level: 'silent' });

beforeAll(async () => {
  fake = await startFakeSlack();
  client = new WebClient('xoxb-test', { slackApiUrl: fake.url, retryConfig: { retries: 0 } });
});

afterAll(async () => {
  await fake.close();
});

describe('group directory', () => {
  it('warms every configured group, then answers without asking Slack again', async () => {
    fake.setUserGroup('S0ENG', ['U0ALICE', 'U0BOB']);
    fake.setUserGroup('S0DBA', ['U0BOB']);
    const directory = createGroupDirectory({ client, groupIds: ['S0ENG', 'S0DBA'], logger });
    await directory.warm();
    expect(fake.callsTo('usergroups.users.list')).toHaveLength(2);
    // Slack slow to answer: the kept lists answer at once.
    fake.setDelay('usergroups.users.list', 5_000);
    const started = performance.now();
    expect(await directory.groupsOf('U0BOB')).toEqual(['S0ENG', 'S0DBA']);
    expect(await directory.groupsOf('U0ALICE')).toEqual(['S0ENG']);
    expect(await directory.groupsOf('U0EVE')).toEqual([]);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(fake.callsTo('usergroups.users.list')).toHaveLength(2);
    fake.setDelay('usergroups.users.list', 0);
  });

  it('answers from a list under 30 s old, refreshes it in the background until 60 s', async () => {
    let clock = 0;
    fake.setUserGroup('S0OPS', ['U0ALICE']);
    const directory = createGroupDirectory({ client, groupIds: ['S0OPS'], logger, now: () => clock });
    expect(await directory.groupsOf('U0CAROL')).toEqual([]); // first use: looked up
    const calls = fake.callsTo('usergroups.users.list').length;
    fake.setUserGroup('S0OPS', ['U0ALICE', 'U0CAROL']);
    clock = 20_000;
    expect(await directory.groupsOf('U0CAROL')).toEqual([]);
    expect(fake.callsTo('usergroups.users.list')).toHaveLength(calls); // fresh enough: Slack not asked
    clock = 45_000;
    // Stale but under a minute: still the kept answer, while the fresh list is fetched.
    expect(await directory.groupsOf('U0CAROL')).toEqual([]);
    await waitFor(async () => (await directory.groupsOf('U0CAROL')).length === 1);
    expect(await directory.groupsOf('U0CAROL')).toEqual(['S0OPS']);
  });

  it('never answers from a list over 60 s old while Slack answers: someone removed loses the role at once', async () => {
    let clock = 0;
    fake.setUserGroup('S0ONCALL', ['U0ALICE', 'U0MALLORY']);
    const directory = createGroupDirectory({ client, groupIds: ['S0ONCALL'], logger, now: () => clock });
    await directory.warm();
    expect(await directory.groupsOf('U0MALLORY')).toEqual(['S0ONCALL']);
    fake.setUserGroup('S0ONCALL', ['U0ALICE']);
    clock = 61_000;
    // No background refresh happened in between: this answer waits for Slack, and is the new one.
    expect(await directory.groupsOf('U0MALLORY')).toEqual([]);
    expect(await directory.groupsOf('U0ALICE')).toEqual(['S0ONCALL']);
    expect(directory.unavailable()).toEqual([]);
  });

  it('keeps what it knew while Slack fails, drops the group’s roles after the configured maximum, and takes them back when Slack answers', async () => {
    fake.setUserGroup('S0SEC', ['U0DAVE']);
    let clock = 0;
    const directory = createGroupDirectory({
      client,
      groupIds: ['S0SEC'],
      logger,
      failClosedMs: 10 * 60_000,
      now: () => clock,
    });
    await directory.warm();
    fake.failNext('usergroups.users.list', 1_000, { kind: 'http', status: 500 });
    clock = 5 * 60_000;
    expect(await directory.groupsOf('U0DAVE')).toEqual(['S0SEC']); // 5 min without an answer: kept
    expect(directory.unavailable()).toEqual([]);
    clock = 10 * 60_000 + 1;
    expect(await directory.groupsOf('U0DAVE')).toEqual([]); // over the maximum: fail closed
    expect(directory.unavailable()).toEqual([{ groupId: 'S0SEC', lastReadAt: 0, failingSince: 5 * 60_000 }]);
    const note = unreadGroupsNote({ directory }, clock);
    expect(note).toContain('`S0SEC` (10 min');
    expect(note).toContain('not counted');
    fake.clearFaults();
    clock += 1_000;
    expect(await directory.groupsOf('U0DAVE')).toEqual(['S0SEC']);
    expect(directory.unavailable()).toEqual([]);
  });

  it('grants nothing for a group it never read', async () => {
    fake.setUserGroup('S0NEW', ['U0DAVE']);
    fake.failNext('usergroups.users.list', 5, { kind: 'http', status: 500 });
    const unknown = createGroupDirectory({ client, groupIds: ['S0NEW'], logger });
    expect(await unknown.groupsOf('U0DAVE')).toEqual([]);
    fake.clearFaults();
  });

  it('waits at most 1.5 s for a slow Slack, then answers from what it kept', async () => {
    let clock = 0;
    fake.setUserGroup('S0SLOW', ['U0ERIN']);
    const directory = createGroupDirectory({ client, groupIds: ['S0SLOW'], logger, now: () => clock });
    await directory.warm();
    fake.setDelay('usergroups.users.list', 5_000);
    clock = 90_000;
    const started = performance.now();
    expect(await directory.groupsOf('U0ERIN')).toEqual(['S0SLOW']);
    expect(performance.now() - started).toBeLessThan(2_500);
    fake.setDelay('usergroups.users.list', 0);
  });
});
