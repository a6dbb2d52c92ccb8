/**
 * User-group memberships for policy, looked up through the real WebClient against the fake Slack
 * Web API: warmed at start-up, answered from what is kept, refreshed in the background.
 */
import { WebClient } from '@slack/web-api';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

  it('answers from the kept list once stale, and picks up the change in the background', async () => {
    let clock = 0;
    fake.setUserGroup('S0OPS', ['U0ALICE']);
    const directory = createGroupDirectory({
      client,
      groupIds: ['S0OPS'],
      logger,
      ttlMs: 1_000,
      now: () => clock,
    });
    expect(await directory.groupsOf('U0CAROL')).toEqual([]); // first use: looked up
    fake.setUserGroup('S0OPS', ['U0ALICE', 'U0CAROL']);
    clock = 2_000;
    // Stale: still the kept answer, while the fresh list is fetched.
    expect(await directory.groupsOf('U0CAROL')).toEqual([]);
    await waitFor(async () => (await directory.groupsOf('U0CAROL')).length === 1);
    expect(await directory.groupsOf('U0CAROL')).toEqual(['S0OPS']);
  });

  it('keeps what it knew when Slack fails, and grants nothing for a group it never read', async () => {
    fake.setUserGroup('S0SEC', ['U0DAVE']);
    let clock = 0;
    const directory = createGroupDirectory({
      client,
      groupIds: ['S0SEC'],
      logger,
      ttlMs: 1_000,
      now: () => clock,
    });
    await directory.warm();
    fake.failNext('usergroups.users.list', 5, { kind: 'http', status: 500 });
    clock = 5_000;
    expect(await directory.groupsOf('U0DAVE')).toEqual(['S0SEC']);
    const unknown = createGroupDirectory({ client, groupIds: ['S0SEC'], logger });
    expect(await unknown.groupsOf('U0DAVE')).toEqual([]);
  });
});
