/**
 * The Cluster suite's own check (`npm run test:cluster`, on a 3-primary, 3-replica Redis Cluster):
 * Capstan really runs on the Cluster, and every key it writes — BullMQ's, the intake markers,
 * approvals, locks, audit, Home tabs — is in the one slot its prefix's hash tag names. Redis Cluster hashes
 * only the part between the first `{` and `}` (https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#hash-tags)
 * and refuses a multi-key command across slots with CROSSSLOT: the control below shows the Cluster
 * under test does refuse it, so Capstan's multi-key scripts passing here is a real check.
 */
import { Cluster } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { TargetLocks } from '../../src/queue/locks.js';
import { APPROVE_ACTION } from '../../src/slack/blocks/approval.js';
import { startTestCapstan, type TestCapstan } from '../helpers/capstan.js';
import { messageText } from '../helpers/fake-slack.js';
import { waitFor } from '../helpers/wait-for.js';

const CONFIG = `
slack:
  approvalsChannel: C0APPROVALS
roles:
  engineers: { users: [U0ALICE] }
  approvers: { users: [U0CAROL] }
policy:
  defaults:
    approval:
      ops.ping: { role: approvers }
`;

let t: TestCapstan | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

describe('Capstan on a Redis Cluster', () => {
  it('connects through the Cluster client and keeps every key in its prefix’s slot, on one primary', async () => {
    t = await startTestCapstan({ configYaml: CONFIG });
    const tc = t;
    expect(tc.config.redis.mode).toBe('cluster');
    expect(tc.redis).toBeInstanceOf(Cluster);
    const cluster = tc.redis as Cluster;

    // An approval request (approval hash + votes), a lock, a job run to its end, audit entries.
    const res = await tc.slash('/ops', 'ping', { userId: 'U0ALICE' });
    expect(JSON.parse(res.body).text).toContain('needs an approval');
    const locks = new TargetLocks(tc.redis, tc.config.queuePrefix);
    const holder = { jobId: 'j1', userId: 'U0ALICE', action: '/env delete one-slot', since: Date.now() };
    expect(await locks.acquire('environment:one-slot', holder, 60_000)).toEqual({ acquired: true });
    const request = await waitFor(() => tc.fake.messagesIn('C0APPROVALS')[0]);
    const id = JSON.stringify(request.blocks).match(/"value":"(j[0-9a-f]+)"/)?.[1] ?? '';
    expect((await tc.click('U0CAROL', request, APPROVE_ACTION, id)).status).toBe(200);
    await waitFor(() => tc.fake.messagesIn('C0OPS').find((m) => /pong from/.test(messageText(m))));
    // A Home tab: who opened it, its coalesced publish (BullMQ's deduplication key), what it offered.
    await tc.slash('/ops', 'ping', { userId: 'U0ALICE' });
    await waitFor(() => tc.fake.messagesIn('C0APPROVALS').length === 2);
    await tc.openHome('U0CAROL');
    await waitFor(() => /Approve/.test(messageText({ blocks: tc.fake.homeView('U0CAROL')?.blocks })));

    const keys = await tc.keys(`${tc.prefix}*`);
    const kinds = new Set(keys.map((k) => k.slice(tc.prefix.length + 1).split(':')[0]));
    for (const kind of ['jobs', 'intake', 'approval', 'approvals', 'lock', 'audit', 'home'])
      expect(kinds).toContain(kind);
    const slot = Number(await cluster.cluster('KEYSLOT', tc.prefix));
    const slots = await Promise.all(keys.map(async (k) => Number(await cluster.cluster('KEYSLOT', k))));
    expect(new Set(slots)).toEqual(new Set([slot]));
    // All on the one primary that serves the slot, none elsewhere.
    const perPrimary = await Promise.all(cluster.nodes('master').map((n) => n.keys(`${tc.prefix}*`)));
    expect(perPrimary.filter((k) => k.length > 0)).toHaveLength(1);

    // The control: keys in two slots are refused in one command.
    await expect(cluster.mset(`${tc.prefix}:a`, '1', `{other-${tc.prefix}}:b`, '2')).rejects.toThrow(
      /CROSSSLOT|slot/i,
    );
  });
});
