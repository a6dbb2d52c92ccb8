/**
 * The console's App Home tab and Workflow steps in a real browser (Debian's chromium, driven by
 * playwright-core): opening Home sends Slack's signed `app_home_opened` and shows what Capstan
 * publishes with `views.publish`, live; its buttons are Home-tab `block_actions`; a step run from
 * the form is Slack's `function_executed`, ended by Capstan's `functions.completeSuccess` /
 * `completeError`. Outcomes are read back from the sandbox and from MySQL, not from the page alone.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleServer } from '../../devkit/local/console/server.js';
import type { Sandbox } from '../../devkit/sandbox/index.js';
import type { TestCapstan } from '../helpers/capstan.js';
import {
  actAs,
  keepShot,
  launchChromium,
  openConsole,
  shotOnFailure,
  startTestConsole,
  type,
} from '../helpers/console-page.js';
import { messageText } from '../helpers/fake-slack.js';
import { type RestoreWorld, startRestoreWorld } from '../helpers/restore-world.js';
import { CONFIG, startOnSandbox } from '../helpers/sandbox-world.js';
import { waitFor } from '../helpers/wait-for.js';
import { ownedEnvironmentGroup } from '../helpers/world.js';

/** The shared world's configuration, with Bob's dev-bob protected: deleting it needs an approver. */
const HOME_CONFIG = CONFIG.replace(
  '    prod: { protected: true }\n',
  '    prod: { protected: true }\n    dev-bob: { protected: true }\n',
);

/** The environments' expiry when the test starts: three hours out. */
const EXPIRES = new Date(Date.now() + 3 * 3_600_000).toISOString();

let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

/** Opens Capstan's Home tab from the sidebar and waits until it shows what `shows` matches. */
async function openHome(page: Page, shows: RegExp): Promise<void> {
  await page.click('.app-link[data-pane="home"]');
  await page.locator('#home-view .home-blocks', { hasText: shows }).waitFor({ timeout: 20_000 });
}

describe('the console’s Home tab', () => {
  let tc: TestCapstan;
  let sandbox: Sandbox;
  let consoleServer: ConsoleServer;

  beforeAll(async () => {
    ({ tc, sandbox } = await startOnSandbox({}, HOME_CONFIG));
    expect(HOME_CONFIG).toContain('dev-bob: { protected: true }');
    // Alice's and Bob's environments, as env-create made them.
    await sandbox.seed({
      autoScalingGroups: [
        ownedEnvironmentGroup('dev-alice', 'U0ALICE', '1.4.2', EXPIRES),
        ownedEnvironmentGroup('dev-bob', 'U0BOB', '2.0.0', EXPIRES),
      ],
    });
    consoleServer = await startTestConsole(tc);
  }, 60_000);

  afterAll(async () => {
    await consoleServer?.close();
    await tc?.stop();
  });

  const expiryTag = async (group: string) =>
    (await sandbox.snapshot()).groups[group]?.tags.find((t) => t.Key === 'capstan:expires-at')?.Value;

  it('opening Home shows my environments; Extend there moves the expiry, read back from the sandbox', async () => {
    const page = await openConsole(browser, consoleServer.url, 'U0ALICE');
    await shotOnFailure(page, 'console-home-extend', async () => {
      const opened = tc.fake.calls.length;
      await openHome(page, /dev-alice/);
      // The page asked Capstan as Slack does, and showed what Capstan published for her alone.
      expect(tc.fake.calls.slice(opened).some((c) => c.method === 'views.publish')).toBe(true);
      const home = page.locator('#home-view');
      // Her environment's line, with its buttons in the block under it.
      const env = home.locator('.blk-section', { hasText: /dev-alice\s*—\s*version/ });
      expect(await home.locator('[data-block-id="home-env:dev-alice"] button').allTextContents()).toEqual([
        'Extend 4h',
        'Delete',
      ]);
      expect(await env.textContent()).toMatch(/dev-alice\s*—\s*version\s*1\.4\.2\s*·\s*2\/2 in service/);
      expect(await home.textContent()).not.toContain('dev-bob');
      expect(await home.locator('code').filter({ hasText: '1.4.2' }).count()).toBe(1);
      await keepShot(page, 'console-home');

      const hash = await home.getAttribute('data-hash');
      await home.locator('[data-block-id="home-env:dev-alice"] button', { hasText: 'Extend 4h' }).click();
      const moved = await waitFor(
        async () => {
          const at = await expiryTag('capstan-env-dev-alice');
          return at && at !== EXPIRES ? at : undefined;
        },
        { timeoutMs: 20_000, message: 'the expiry tag of capstan-env-dev-alice to move' },
      );
      expect(Date.parse(moved) - Date.parse(EXPIRES)).toBe(4 * 3_600_000);
      expect(await expiryTag('capstan-env-dev-bob')).toBe(EXPIRES);
      // The tab is published again, live: the job done, the environment's new time left.
      await home.locator('.home-blocks', { hasText: /\/env extend dev-alice\s*·\s*done/ }).waitFor();
      expect(await home.getAttribute('data-hash')).not.toBe(hash);
      const at = new Date(moved);
      const clock = `${at.getHours() % 12 || 12}:${String(at.getMinutes()).padStart(2, '0')} ${at.getHours() < 12 ? 'AM' : 'PM'}`;
      expect(await env.textContent()).toMatch(new RegExp(`expires .*${clock} \\(in [67] h`));
      expect(await tc.jobsOf('env.extend')).toHaveLength(1);
      await keepShot(page, 'console-home-extended');
      // The job reported in her direct messages with Capstan (the app's Messages tab), hers alone:
      // the job's "thread" link on the tab opens it there.
      await home.locator('a', { hasText: 'thread' }).click();
      expect(await page.locator('#channel-title').textContent()).toBe('⚓ capstan (messages)');
      await page
        .locator('#thread-messages .msg', { hasText: 'dev-alice now expires at' })
        .filter({ hasText: /done in/ })
        .waitFor();
    });
    await page.close();
  }, 60_000);

  it('an approval request shows on the approver’s Home tab, and Approve there runs the job', async () => {
    const page = await openConsole(browser, consoleServer.url, 'U0BOB');
    await shotOnFailure(page, 'console-home-approve', async () => {
      await type(page, '/env delete dev-bob');
      await page.locator('#messages .msg.ephemeral', { hasText: 'needs an approval' }).waitFor();
      expect(await tc.jobsOf('env.delete')).toHaveLength(0);

      // Alice's direct messages with Capstan are not Bob's to see.
      expect(tc.fake.messagesIn('D0ALICE').length).toBeGreaterThan(0);
      expect(await page.locator('.channel[data-channel="D0ALICE"]').count()).toBe(0);

      // Carol, an approver, opens her Home tab: the request waits for her there.
      await actAs(page, 'U0CAROL');
      await openHome(page, /\/env delete dev-bob/);
      const home = page.locator('#home-view');
      expect(await home.textContent()).toContain('asked by @bob');
      expect(await home.textContent()).toContain('You own no environments.');
      await keepShot(page, 'console-home-approval');
      await home.locator('button.btn-primary', { hasText: 'Approve' }).click();

      await waitFor(async () => (await sandbox.snapshot()).groups['capstan-env-dev-bob'] === undefined, {
        timeoutMs: 30_000,
        message: 'dev-bob to be deleted',
      });
      expect(await tc.jobsOf('env.delete')).toHaveLength(1);
      const request = tc.fake
        .messagesIn('C0APPROVALS')
        .find((m) => /env delete dev-bob/.test(messageText(m)));
      expect(messageText(request ?? {})).toMatch(/Approved\* by <@U0CAROL>/);
      // Her tab follows: nothing waits for her any more, and no Approve button is left.
      await home.locator('.home-blocks', { hasText: 'No approval requests are waiting for you' }).waitFor();
      expect(await home.locator('button', { hasText: 'Approve' }).count()).toBe(0);
      // Bob's tab, opened after, shows his environment gone.
      await actAs(page, 'U0BOB');
      await page.locator('#home-view .home-blocks', { hasText: 'You own no environments' }).waitFor({
        timeout: 20_000,
      });
    });
    await page.close();
  }, 90_000);
});

/** `date` as a datetime-local input takes it (the browser's local time, to the second). */
function localInputTime(date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}T${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}`;
}

describe('a Workflow Builder step from the console', () => {
  let world: RestoreWorld;
  let consoleServer: ConsoleServer;
  let beforeDelete = 0;

  beforeAll(async () => {
    world = await startRestoreWorld();
    await world.seedBilling();
    beforeDelete = await world.deleteInvoicesAfterAMoment();
    consoleServer = await startTestConsole(world.tc);
  }, 120_000);

  afterAll(async () => {
    await consoleServer?.close();
    await world?.stop();
  });

  it('runs "Restore a table" with the form’s inputs; it completes with its outputs shown, the table holding the rows', async () => {
    const page = await openConsole(browser, consoleServer.url, 'U0ALICE');
    await shotOnFailure(page, 'console-step-restore', async () => {
      await page.click('.app-link[data-pane="steps"]');
      await page.selectOption('#step-select', 'restore_table');
      const form = page.locator('#step-form');
      expect(await form.locator('.f-label').allTextContents()).toEqual(
        expect.arrayContaining(['Database', 'Table', 'Restore to', 'Mode (optional)', 'Run as']),
      );
      await page.fill('[data-input="database"]', 'orders-db');
      // Workflow Builder's own check first: a required input left empty starts nothing.
      await page.click('#step-run');
      await form.locator('[data-error-for="table"]', { hasText: 'required' }).waitFor();
      expect(world.tc.fake.functions.all()).toHaveLength(0);

      await page.fill('[data-input="table"]', 'shop.billing');
      await page.fill('[data-input="time"]', localInputTime(new Date(beforeDelete * 1000)));
      expect(await page.inputValue('[data-input="user"]')).toBe('U0ALICE');
      expect(await page.inputValue('[data-input="channel"]')).toBe('C0OPS');
      await page.click('#step-run');

      const run = page.locator('#step-runs .step-run').first();
      await run.waitFor();
      const [execution] = world.tc.fake.functions.all();
      expect(execution?.inputs).toEqual({
        database: 'orders-db',
        table: 'shop.billing',
        time: beforeDelete,
        channel: 'C0OPS',
        user: 'U0ALICE',
      });
      expect(await run.getAttribute('data-execution')).toBe(execution?.executionId);
      await page
        .locator('#step-runs .step-run[data-state="completed"]')
        .waitFor({ timeout: 90_000 })
        .catch(async (error: unknown) => {
          throw new Error(`${String(error)}; the run shows: ${await run.textContent()}`);
        });
      const restored = (await run.locator('[data-output="restored_table"]').textContent()) ?? '';
      expect(restored).toMatch(/^shop\.billing_/);
      expect(await run.locator('[data-output="status"]').textContent()).toBe('restored');
      expect(await run.textContent()).toContain('Restored table');
      // What the page shows is what Capstan ended the execution with.
      expect(execution?.state).toBe('completed');
      expect(execution?.outputs?.restored_table).toBe(restored);
      expect(await run.locator('[data-output="job_id"]').textContent()).toBe(execution?.outputs?.job_id);
      // The restored table really holds the rows of that moment; the live one is untouched.
      expect((await world.rows(restored.replace(/^shop\./, ''))).map((r) => r.id)).toEqual([
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
      ]);
      expect((await world.rows('billing')).map((r) => r.id)).toEqual([1, 5, 6, 7, 8, 9, 10]);
      await run.scrollIntoViewIfNeeded();
      await keepShot(page, 'console-step-restore');
    });
    await page.close();
  }, 150_000);

  it('a step Capstan refuses shows its error, and what was typed shows as text, never as markup', async () => {
    const page = await openConsole(browser, consoleServer.url, 'U0BOB');
    await shotOnFailure(page, 'console-step-refused', async () => {
      await page.click('.app-link[data-pane="steps"]');
      await page.selectOption('#step-select', 'restore_table');
      const table = '<img src=x onerror="window.__owned=1">.billing';
      await page.fill('[data-input="database"]', 'orders-db');
      await page.fill('[data-input="table"]', table);
      await page.fill('[data-input="time"]', localInputTime(new Date(beforeDelete * 1000)));
      await page.click('#step-run');
      const run = page.locator('#step-runs .step-run[data-state="failed"]');
      await run.waitFor({ timeout: 20_000 });
      const execution = world.tc.fake.functions.all().find((e) => e.inputs.table === table);
      expect(execution?.state).toBe('failed');
      expect(await run.locator('.run-error').textContent()).toBe(execution?.error);
      expect(await run.locator('.run-inputs').textContent()).toContain(table);
      expect(await page.locator('#step-runs img').count()).toBe(0);
      expect(await page.evaluate('typeof window.__owned')).toBe('undefined');
      // Alice's run is hers: Bob's page does not list it.
      expect(await page.locator('#step-runs .step-run').count()).toBe(1);
    });
    await page.close();
  }, 60_000);
});
