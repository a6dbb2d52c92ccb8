/** The Home tab's view (pure): what each section shows, its buttons, escaping, and Slack's limits. */
import { describe, expect, it } from 'vitest';
import type { AlertState } from '../../src/domain/alerts/state.js';
import {
  ALERT_ACK_ACTION,
  ALERT_INVESTIGATE_ACTION,
  ALERT_SNOOZE_1H_ACTION,
} from '../../src/slack/blocks/alert.js';
import { APPROVE_ACTION, REJECT_ACTION } from '../../src/slack/blocks/approval.js';
import { EXTEND_ACTION } from '../../src/slack/blocks/expiry.js';
import {
  ENV_DELETE_ACTION,
  type HomeApproval,
  type HomeContent,
  type HomeEnvironment,
  type HomeJob,
  JOB_CANCEL_ACTION,
  MAX_VIEW_BLOCKS,
  renderHome,
  SECTION_LIMITS,
} from '../../src/slack/blocks/home.js';

const NOW = Date.parse('2026-03-02T10:00:00Z');

const EMPTY: HomeContent = {
  userId: 'U0ALICE',
  now: NOW,
  notices: [],
  environments: [],
  jobs: [],
  approvals: [],
  alerts: [],
};

const ENV: HomeEnvironment = {
  name: 'dev-alice',
  kind: 'group',
  version: '1.4.2',
  size: { inService: 2, desired: 2 },
  expiresAt: '2026-03-02T14:00:00.000Z',
  state: 'ready',
  region: 'eu-west-1',
};

const JOB: HomeJob = {
  id: 'j0123456789a',
  text: '/env create dev-alice --size 2',
  state: 'running',
  at: NOW - 65_000,
  step: 'Launch instances',
  link: 'https://capstan-test.slack.com/archives/C0OPS/p1700000000000100',
  cancellable: true,
};

const APPROVAL: HomeApproval = {
  id: 'jabcdefabcde',
  commandText: '/env delete prod',
  target: 'environment prod',
  requester: 'U0ALICE',
  reason: 'decommission',
  plan: ['take 3 instances out of the load balancer', 'delete group prod-web'],
  role: 'approvers',
  quorum: 1,
  approvals: 0,
  expiresAt: NOW + 3_600_000,
  link: 'https://capstan-test.slack.com/archives/C0APPROVALS/p1700000000000200',
};

function alert(over: Partial<AlertState> = {}): AlertState {
  return {
    id: 'burstBalance:db:orders-db',
    key: { check: 'burstBalance', resource: 'db:orders-db' },
    occurrence: 2,
    phase: 'open',
    severity: 'critical',
    value: '5%',
    summary: 'BurstBalance of `orders-db` is 5% (below 10%)',
    investigate: { dbInstance: 'orders-db' },
    firstSeenAt: NOW - 600_000,
    openedAt: NOW - 600_000,
    lastSeenAt: NOW - 60_000,
    count: 7,
    renotified: 0,
    route: { channel: 'C0DBA' },
    message: { channel: 'C0DBA', ts: '1700000000.000300' },
    ...over,
  };
}

type Block = Record<string, unknown> & { type: string };

const blocksOf = (content: HomeContent) => renderHome(content).blocks as unknown as Block[];
const json = (content: HomeContent) => JSON.stringify(renderHome(content));
/** Every text Slack renders in the view. */
function shownText(content: HomeContent): string {
  const out: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) for (const item of node) visit(item);
    else if (node !== null && typeof node === 'object')
      for (const [key, value] of Object.entries(node)) {
        if (key === 'text' && typeof value === 'string') out.push(value);
        else visit(value);
      }
  };
  visit(renderHome(content).blocks);
  return out.join('\n');
}

/** Every button in the view: as an actions element or as a section's accessory. */
function buttons(content: HomeContent): Array<Record<string, unknown> & { block_id: string }> {
  return blocksOf(content).flatMap((b) => {
    const elements = (b.elements as Record<string, unknown>[] | undefined) ?? [];
    const accessory = b.accessory as Record<string, unknown> | undefined;
    return [...elements, ...(accessory ? [accessory] : [])]
      .filter((e) => e.type === 'button')
      .map((e) => ({ ...e, block_id: String(b.block_id) }));
  });
}

describe('renderHome', () => {
  it('says what is empty, section by section, and offers no buttons', () => {
    const view = renderHome(EMPTY);
    expect(view.type).toBe('home');
    const text = JSON.stringify(view);
    expect(text).toContain('My environments');
    expect(text).toContain('You own no environments. `/env create <name>` makes one.');
    expect(text).toContain('No jobs of yours are queued, running or finished lately.');
    expect(text).toContain('No approval requests are waiting for you.');
    expect(text).toContain('No open alerts you can act on.');
    // The audit log is for admins only: absent unless given.
    expect(text).not.toContain('Audit log');
    expect(buttons(EMPTY)).toEqual([]);
  });

  it('shows an environment with version, size and expiry, and Extend / Delete carrying its name', () => {
    const content = { ...EMPTY, environments: [ENV] };
    const text = json(content);
    expect(text).toContain('*dev-alice* — version `1.4.2` · 2/2 in service · expires <!date^');
    expect(text).toContain('(in 4 h 0 min)');
    expect(text).toContain('ready · eu-west-1');
    const [extend, del] = buttons(content);
    expect(extend).toMatchObject({
      action_id: EXTEND_ACTION,
      value: 'dev-alice',
      block_id: 'home-env:dev-alice',
    });
    expect(del).toMatchObject({ action_id: ENV_DELETE_ACTION, value: 'dev-alice', style: 'danger' });
    // Delete asks first, and says a protected environment waits for an approver.
    expect(JSON.stringify(del?.confirm)).toContain('waits for an approver');
    // An environment that never expires has nothing to extend.
    const forever = { ...EMPTY, environments: [{ ...ENV, expiresAt: undefined } as HomeEnvironment] };
    expect(buttons(forever).map((b) => b.action_id)).toEqual([ENV_DELETE_ACTION]);
    expect(json(forever)).toContain('never expires');
  });

  it('shows a job with its state, step and thread link; Cancel only where it may be cancelled', () => {
    const done: HomeJob = { ...JOB, id: 'j00000000001', state: 'done', at: NOW - 1000, cancellable: false };
    const content = { ...EMPTY, jobs: [JOB, done] };
    const text = json(content);
    expect(text).toContain(':arrows_counterclockwise: `/env create dev-alice --size 2` · running 1 min 5 s');
    expect(text).toContain('step: Launch instances');
    expect(text).toContain('<https://capstan-test.slack.com/archives/C0OPS/p1700000000000100|thread>');
    expect(text).toContain(':white_check_mark: `/env create dev-alice --size 2` · done <!date^');
    expect(buttons(content)).toEqual([
      expect.objectContaining({
        action_id: JOB_CANCEL_ACTION,
        value: JOB.id,
        block_id: `home-job:${JOB.id}`,
      }),
    ]);
  });

  it('shows an approval request with the approval message’s own buttons and block id', () => {
    const content = { ...EMPTY, approvals: [APPROVAL] };
    const text = json(content);
    expect(text).toContain('`/env delete prod` on environment prod — asked by <@U0ALICE>');
    expect(text).toContain('*Reason:* decommission');
    expect(text).toContain('• delete group prod-web');
    expect(text).toContain('An approval from role `approvers`');
    expect(text).toContain('|the request>');
    expect(buttons(content)).toEqual([
      expect.objectContaining({
        action_id: APPROVE_ACTION,
        value: APPROVAL.id,
        block_id: `approval:${APPROVAL.id}`,
      }),
      expect.objectContaining({
        action_id: REJECT_ACTION,
        value: APPROVAL.id,
        block_id: `approval:${APPROVAL.id}`,
      }),
    ]);
  });

  it('shows an open alert with the alert message’s buttons; Acknowledge only until acknowledged', () => {
    const content = { ...EMPTY, alerts: [{ state: alert(), link: 'https://x.slack.com/archives/C0DBA/p1' }] };
    const text = json(content);
    expect(text).toContain(':rotating_light: *CRITICAL* · *RDS burst balance* — BurstBalance of `orders-db`');
    expect(text).toContain('in <#C0DBA>');
    const found = buttons(content);
    expect(found.map((b) => b.action_id)).toEqual([
      ALERT_ACK_ACTION,
      ALERT_SNOOZE_1H_ACTION,
      'alert.snooze-4h',
      ALERT_INVESTIGATE_ACTION,
    ]);
    expect(found[0]).toMatchObject({
      value: '2|burstBalance:db:orders-db',
      block_id: 'alert:2:burstBalance:db:orders-db',
    });
    expect(found[3]).toMatchObject({ value: 'orders-db' });
    const acked = { ...EMPTY, alerts: [{ state: alert({ acknowledged: { by: 'U0DBA', at: NOW } }) }] };
    expect(buttons(acked).map((b) => b.action_id)).not.toContain(ALERT_ACK_ACTION);
    expect(json(acked)).toContain('acknowledged by <@U0DBA>');
    // A resolved alert is not open: not shown.
    const resolved = { ...EMPTY, alerts: [{ state: alert({ phase: 'resolved', resolvedAt: NOW }) }] };
    expect(json(resolved)).toContain('No open alerts you can act on.');
  });

  it('escapes what people and tags wrote: nothing they typed mentions, links or formats', () => {
    const content: HomeContent = {
      ...EMPTY,
      notices: [{ text: ':hourglass_flowing_sand: Queued as job `j1`', at: NOW }],
      environments: [{ ...ENV, name: 'x<!channel>&y', version: '1`<@U0EVE>`', state: '<!here> ready' }],
      jobs: [{ ...JOB, text: '/env create <@U0EVE> <https://evil.example|click>' }],
      approvals: [{ ...APPROVAL, commandText: '/ops ping <!everyone>', reason: '<!channel> *now* & <#C1>' }],
      alerts: [],
      audit: [
        {
          at: new Date(NOW),
          kind: 'command',
          actor: 'U0ALICE',
          subject: 'env.create <!here>',
          outcome: 'allowed',
          text: '/env create <@U0EVE>',
        },
      ],
    };
    // What Slack renders: every text (button values and block ids are never shown).
    const text = shownText(content);
    for (const markup of ['<!channel>', '<!here>', '<!everyone>', '<@U0EVE>', '<https://evil', '<#C1>'])
      expect(text).not.toContain(markup);
    expect(text).toContain('x&lt;!channel&gt;&amp;y');
    expect(text).toContain('&lt;!channel&gt; *now* &amp; &lt;#C1&gt;');
    expect(text).toContain('Queued as job `j1`');
    expect(text).toContain('Audit log (admins)');
  });

  it('stays within Slack’s 100 blocks, and says how many more each full section has', () => {
    const many = <T>(n: number, make: (i: number) => T) => Array.from({ length: n }, (_, i) => make(i));
    const content: HomeContent = {
      ...EMPTY,
      notices: many(3, (i) => ({ text: `notice ${i}`, at: NOW })),
      environments: many(40, (i) => ({ ...ENV, name: `env-${i}` })),
      jobs: many(40, (i) => ({ ...JOB, id: `j${String(i).padStart(11, '0')}` })),
      approvals: many(40, (i) => ({ ...APPROVAL, id: `a${String(i).padStart(11, '0')}` })),
      alerts: many(40, (i) => ({ state: alert({ id: `burstBalance:db:db-${i}` }) })),
      audit: many(200, (i) => ({
        at: new Date(NOW - i * 1000),
        kind: 'command',
        actor: 'U0ALICE',
        subject: 'env.create',
        outcome: 'allowed',
        text: `/env create env-${i} ${'x'.repeat(150)}`,
      })),
    };
    const blocks = blocksOf(content);
    expect(blocks.length).toBeLessThanOrEqual(MAX_VIEW_BLOCKS);
    const text = JSON.stringify(blocks);
    expect(text).toContain(`…and ${40 - SECTION_LIMITS.environments} more. \`/env list\` shows them all.`);
    expect(text).toContain(`…and ${40 - SECTION_LIMITS.jobs} more.`);
    expect(text).toContain(`…and ${40 - SECTION_LIMITS.approvals} more.`);
    expect(text).toContain(`…and ${40 - SECTION_LIMITS.alerts} more.`);
    // The audit tail fits one section: it says how much it left out.
    expect(text).toMatch(/…and \d+ more/);
    // Slack's other limits: section text 3,000, block ids unique and at most 255.
    const ids = blocks.map((b) => b.block_id).filter((id) => id !== undefined);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(String(id).length).toBeLessThanOrEqual(255);
    for (const b of blocks) {
      const t = (b.text as { text?: string } | undefined)?.text;
      if (t) expect(t.length).toBeLessThanOrEqual(3000);
    }
  });

  it('says when the environments could not be read, and still shows the rest', () => {
    const content = { ...EMPTY, environments: { error: 'AWS said <Throttling>' }, jobs: [JOB] };
    const text = json(content);
    expect(text).toContain(':warning: Your environments could not be read: AWS said &lt;Throttling&gt;');
    expect(text).toContain('Launch instances');
  });

  it('puts the answers to the latest clicks at the top', () => {
    const content = { ...EMPTY, notices: [{ text: ':eyes: Acknowledged', at: NOW }] };
    const blocks = blocksOf(content);
    expect(JSON.stringify(blocks[2])).toContain(':eyes: Acknowledged');
  });
});
