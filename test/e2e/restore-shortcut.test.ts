/**
 * "Restore a table to just before this message" end to end: a person announces a cleanup in the
 * channel, the cleanup deletes rows, someone uses the message shortcut on the announcement → the
 * form opens with the time one second before it, in the configured zone → a bad table name keeps
 * the form open with the problem under the table input; a user policy denies is told so; a proper
 * submission runs one restore job that reports in the announcement's thread and brings the rows back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTime } from '../../src/commands/index.js';
import {
  decodeRestoreMetadata,
  RESTORE_BLOCKS,
  RESTORE_SHORTCUT_CALLBACK,
} from '../../src/slack/blocks/restore-modal.js';
import { TEST_SIGNING_SECRET } from '../helpers/capstan.js';
import { type FakeMessage, type FakeView, messageText } from '../helpers/fake-slack.js';
import { type RestoreWorld, restoreConfig, startRestoreWorld } from '../helpers/restore-world.js';
import { fakeTriggerId, messageShortcutBody, postToSlackEndpoint } from '../helpers/signed-request.js';
import { waitFor } from '../helpers/wait-for.js';

const ZONE = 'Europe/Berlin';
let world: RestoreWorld;
let incident: FakeMessage;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `view.state.values` for the restore form, as Slack sends them. */
function formValues(form: { db?: string; schema: string; table: string; time: string; mode?: string }) {
  const text = (value: string) => ({ type: 'plain_text_input', value });
  const option = (value: string) => ({ text: { type: 'plain_text', text: value }, value });
  return {
    [RESTORE_BLOCKS.db]: {
      [RESTORE_BLOCKS.db]: { type: 'static_select', selected_option: option(form.db ?? 'orders-db') },
    },
    [RESTORE_BLOCKS.schema]: { [RESTORE_BLOCKS.schema]: text(form.schema) },
    [RESTORE_BLOCKS.table]: { [RESTORE_BLOCKS.table]: text(form.table) },
    [RESTORE_BLOCKS.time]: { [RESTORE_BLOCKS.time]: text(form.time) },
    [RESTORE_BLOCKS.mode]: {
      [RESTORE_BLOCKS.mode]: { type: 'radio_buttons', selected_option: option(form.mode ?? 'side-table') },
    },
  };
}

/** Uses the shortcut on the incident message as `user` and returns the form it opened. */
async function openForm(user: string): Promise<FakeView> {
  const before = world.tc.fake.viewsOpened(user).length;
  const reply = await world.tc.shortcut(user, incident, RESTORE_SHORTCUT_CALLBACK);
  expect(reply.status).toBe(200);
  return waitFor(() => world.tc.fake.viewsOpened(user)[before]);
}

function initialTime(view: FakeView): string {
  const block = view.blocks.find((b) => b.block_id === RESTORE_BLOCKS.time);
  return String((block?.element as { initial_value?: string } | undefined)?.initial_value);
}

beforeAll(async () => {
  world = await startRestoreWorld({
    configYaml: restoreConfig(`timezone: ${ZONE}`),
  });
  await world.seedBilling();
  // Binary-log times have whole seconds and the form's time is a whole second: keep the rows'
  // insert well before the announcement's second and the delete well after it.
  await sleep(2_200);
  incident = world.tc.fake.postAsUser(
    'U0DAVE',
    'C0OPS',
    'Running the billing cleanup now, see <https://runbooks.example.com/billing|the runbook>',
  );
  await sleep(1_500);
  await world.live.query('DELETE FROM shop.billing WHERE id IN (2, 3, 4)');
  await sleep(500);
}, 120_000);

afterAll(async () => {
  await world?.stop();
});

describe('the "Restore a table to just before this message" shortcut', () => {
  it('opens the form with the time one second before the message, in the configured zone', async () => {
    const view = await openForm('U0ALICE');
    expect(view.callback_id).toBe(RESTORE_SHORTCUT_CALLBACK);
    expect(world.tc.fake.openViews('U0ALICE').map((v) => v.id)).toEqual([view.id]);
    const time = initialTime(view);
    expect(time).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0[12]:00$/);
    const read = parseTime(time, { now: new Date(), timeZone: ZONE });
    expect(read.ok && read.at.getTime()).toBe((Math.floor(Number(incident.ts)) - 1) * 1000);
    // Berlin is UTC+1 or +2: the wall clock shown is not UTC's.
    const utc = new Date((Math.floor(Number(incident.ts)) - 1) * 1000).toISOString();
    expect(time.slice(11, 19)).not.toBe(utc.slice(11, 19));
    expect(decodeRestoreMetadata(view.private_metadata)).toEqual({
      channelId: 'C0OPS',
      threadTs: incident.ts,
      messageTs: incident.ts,
    });
    const context = messageText({ blocks: view.blocks });
    expect(context).toContain('<@U0DAVE> posted at');
    expect(context).toContain('Running the billing cleanup now, see the runbook');
    expect(context).not.toContain('https://');
  });

  it('tells the user when the form cannot be opened (a trigger Slack never issued)', async () => {
    const body = messageShortcutBody({
      userId: 'U0ALICE',
      callbackId: RESTORE_SHORTCUT_CALLBACK,
      channelId: 'C0OPS',
      messageTs: incident.ts,
      messageText: incident.text,
      messageUserId: 'U0DAVE',
      triggerId: fakeTriggerId(),
    });
    const reply = await postToSlackEndpoint(world.tc.eventsUrl, body, { secret: TEST_SIGNING_SECRET });
    expect(reply.status).toBe(200);
    const told = await waitFor(() =>
      world.tc.fake.ephemerals.find((e) => e.user === 'U0ALICE' && /restore form/.test(e.text)),
    );
    expect(told.text).toContain('expired_trigger_id');
    expect(world.tc.fake.callsTo('views.open').at(-1)?.response).toMatchObject({
      ok: false,
      error: 'expired_trigger_id',
    });
  });

  it('keeps the form open with the problem under the table input when the table name is bad', async () => {
    const view = await openForm('U0ALICE');
    const reply = await world.tc.submitView(
      'U0ALICE',
      view,
      formValues({ schema: 'shop', table: 'billing; DROP TABLE x', time: initialTime(view) }),
    );
    expect(reply.status).toBe(200);
    const answer = JSON.parse(reply.body) as { response_action: string; errors: Record<string, string> };
    expect(answer.response_action).toBe('errors');
    expect(Object.keys(answer.errors)).toEqual([RESTORE_BLOCKS.table]);
    expect(answer.errors[RESTORE_BLOCKS.table]).toContain('is not a valid `<schema>.<table>`');
    expect(world.tc.fake.openViews('U0ALICE').map((v) => v.id)).toContain(view.id);
    expect(await world.tc.jobsOf('rds.restore-table')).toEqual([]);
    world.tc.fake.closeView(view.id);
  });

  it('tells a user the policy does not allow, privately, and queues nothing', async () => {
    const view = await openForm('U0MALLORY');
    const reply = await world.tc.submitView(
      'U0MALLORY',
      view,
      formValues({ schema: 'shop', table: 'billing', time: initialTime(view) }),
    );
    expect(reply.body).toBe('');
    expect(world.tc.fake.openViews('U0MALLORY')).toEqual([]);
    const denial = await waitFor(() => world.tc.fake.ephemerals.find((e) => e.user === 'U0MALLORY'));
    expect(denial.channel).toBe('C0OPS');
    expect(denial.text).toMatch(/^:no_entry: Not allowed/);
    expect(await world.tc.jobsOf('rds.restore-table')).toEqual([]);
    expect(await world.tc.jobsOf('approval.request')).toEqual([]);
  });

  it('restores to the prefilled time once, however often it is submitted, reporting in the message’s thread', async () => {
    const view = await openForm('U0ALICE');
    const values = formValues({ schema: 'shop', table: 'billing', time: initialTime(view) });
    // A double click: the same view, submitted twice at once.
    const replies = await Promise.all([
      world.tc.submitView('U0ALICE', view, values),
      world.tc.submitView('U0ALICE', view, values),
    ]);
    expect(replies.map((r) => r.body)).toEqual(['', '']);
    expect(world.tc.fake.openViews('U0ALICE')).toEqual([]);
    const said = await waitFor(() => {
      const mine = world.tc.fake.ephemerals.filter((e) => e.user === 'U0ALICE' && e.text.includes('job `j'));
      return mine.length === 2 ? mine.map((e) => e.text) : undefined;
    });
    expect(said.some((t) => t.includes('Queued as job'))).toBe(true);
    expect(said.some((t) => t.includes('Already received'))).toBe(true);
    expect(await world.tc.jobsOf('rds.restore-table')).toHaveLength(1);

    const progress = await waitFor(
      () => {
        const replies = world.tc.fake.threadReplies('C0OPS', incident.ts);
        return replies.find((m) => /(done|failed|cancelled) in/.test(messageText(m)));
      },
      { timeoutMs: 90_000, message: 'the restore to finish in the incident thread' },
    );
    const text = messageText(progress);
    expect(text).toContain('/rds restore-table orders-db shop.billing --at');
    expect(text).toContain('Restored `shop.billing` as it was at');
    expect(text).toContain('10 rows in `shop.billing__restored_');
    expect(text).toContain('3 row(s) deleted since');
    // Nothing went to the channel itself: the job started no thread of its own.
    expect(world.tc.fake.messagesIn('C0OPS', { topLevelOnly: true }).map((m) => m.ts)).toEqual([incident.ts]);

    const [tables] = await world.live.query("SHOW TABLES FROM shop LIKE 'billing__restored_%'");
    const restored = Object.values((tables as Array<Record<string, string>>)[0] ?? {})[0] ?? '';
    const back = await world.rows(restored);
    expect(back.map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(back.find((r) => r.id === 3)).toEqual({ id: 3, amount: '30.50', note: 'invoice 3 🧾' });
    expect((await world.rows('billing')).map((r) => r.id)).toEqual([1, 5, 6, 7, 8, 9, 10]);
    expect(await world.temporaryInstances()).toEqual([]);
  }, 120_000);
});
