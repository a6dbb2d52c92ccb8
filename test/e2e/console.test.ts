/**
 * The local console in a real browser (Debian's chromium, headless, driven by playwright-core):
 * what a person does in the page reaches Capstan as Slack's own signed requests, and what Capstan
 * posts shows up live. An approved `/lb disable prod` run by two people, and a restore started from
 * a message's "…" menu that brings deleted rows back (its screenshot is kept in test-artifacts/).
 */
import { Buffer } from 'node:buffer';
import { mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebClient } from '@slack/web-api';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleServer } from '../../devkit/local/console/server.js';
import type { Sandbox } from '../../devkit/sandbox/index.js';
import type { TestCapstan } from '../helpers/capstan.js';
import {
  ARTIFACTS,
  actAs,
  launchChromium,
  openConsole,
  shotOnFailure,
  startTestConsole,
  type,
} from '../helpers/console-page.js';
import { type RestoreWorld, startRestoreWorld } from '../helpers/restore-world.js';
import { liveInstances, startOnSandbox } from '../helpers/sandbox-world.js';
import { waitFor } from '../helpers/wait-for.js';

/** A 1×1 transparent PNG. */
const PNG_1X1 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

describe('the console', () => {
  let tc: TestCapstan;
  let stop: () => Promise<void>;
  let consoleServer: ConsoleServer;
  let instanceIds: string[];
  let sandbox: Sandbox;

  beforeAll(async () => {
    const started = await startOnSandbox();
    tc = started.tc;
    sandbox = started.sandbox;
    // Standby with a lower desired capacity may not go below the group's minimum (EnterStandby,
    // https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_EnterStandby.html): let prod's
    // group shrink to 0 so that all three instances can be taken out. (With the shared world's
    // min-size 1, `/lb disable prod` fails — the lb job does not lower the minimum itself.)
    await sandbox.call('AutoScaling', 'UpdateAutoScalingGroup', {
      AutoScalingGroupName: 'prod-web',
      MinSize: 0,
    });
    instanceIds = liveInstances(await sandbox.snapshot(), 'prod-web').map((i) => i.id);
    consoleServer = await startTestConsole(tc);
    stop = async () => {
      await consoleServer.close();
      await tc.stop();
    };
  });

  afterAll(async () => {
    await stop?.();
  });

  it('serves on loopback only and refuses requests for another host or without JSON', async () => {
    expect(consoleServer.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/console$/);
    const page = await fetch(consoleServer.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'nonce-");
    // A page elsewhere whose name was rebound to 127.0.0.1 sends its own Host (fetch cannot forge it).
    const rebound = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: consoleServer.port,
          path: '/console/api/state',
          headers: { host: 'evil.example' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(rebound).toBe(421);
    const form = await fetch(consoleServer.url.replace('/console', '/console/api/command'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'user=U0ALICE&channel=C0OPS&text=%2Fops+ping',
    });
    expect(form.status).toBe(415);
  });

  it('takes prod out of the load balancer with an approval clicked by the approver, live', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const page = await openConsole(browser, consoleServer.url, 'U0ALICE');
    await shotOnFailure(page, 'console-lb', async () => {
      await type(page, '/lb disable prod');
      const reply = page.locator('#messages .msg.ephemeral', { hasText: 'needs an approval' });
      await reply.waitFor();
      expect(await reply.textContent()).toContain('Only visible to you');
      expect(await reply.textContent()).toContain('you typed /lb disable prod');

      // The request in #approvals, with the plan and both buttons.
      await page.click('.channel[data-channel="C0APPROVALS"]');
      const request = page.locator('#messages .msg', { hasText: 'Approval needed' });
      await request.waitFor();
      expect(await request.textContent()).toContain('/lb disable prod');
      for (const id of instanceIds) expect(await request.textContent()).toContain(id);
      await expect(request.locator('button.btn-primary', { hasText: 'Approve' }).count()).resolves.toBe(1);
      await expect(request.locator('button.btn-danger', { hasText: 'Reject' }).count()).resolves.toBe(1);

      // Alice may not approve her own request: she is told so, privately.
      await request.locator('button', { hasText: 'Approve' }).click();
      await page.locator('#messages .msg.ephemeral', { hasText: 'You cannot approve this' }).waitFor();

      await actAs(page, 'U0CAROL');
      expect(await page.locator('.msg.ephemeral').count()).toBe(0);
      await request.locator('button', { hasText: 'Approve' }).click();
      // The request is updated in place: decided, no buttons left.
      await page.locator('#messages .msg', { hasText: /Approved\s*by\s*@carol/ }).waitFor();
      await waitFor(async () => (await request.locator('[data-kind="button"]').count()) === 0);

      // Back in #ops, the requester's thread: the progress message moves to done.
      await page.click('.channel[data-channel="C0OPS"]');
      const parent = page.locator('#messages .msg', { hasText: '/lb disable prod' }).filter({
        has: page.locator('.replies'),
      });
      await parent.locator('.replies').first().click();
      const done = page
        .locator('#thread-messages .msg', { hasText: 'out of the load balancer' })
        .filter({ hasText: /done in/ });
      await done.waitFor({ timeout: 30_000 });
      await page.screenshot({ path: new URL('console-lb.png', ARTIFACTS).pathname, animations: 'disabled' });
      expect(await done.locator('.edited').count()).toBe(1);

      await actAs(page, 'U0ALICE');
      await type(page, '/lb status prod');
      await page.locator('#messages .msg.ephemeral', { hasText: 'Queued as job' }).last().waitFor();
      const statusThread = page
        .locator('#messages .msg', { hasText: '/lb status prod' })
        .filter({ has: page.locator('.replies') });
      await statusThread.locator('.replies').first().click();
      const status = page
        .locator('#thread-messages .msg', { hasText: '/lb status prod' })
        .filter({ hasText: /done in/ })
        .filter({ hasText: 'Standby' });
      await status.waitFor({ timeout: 30_000 });
      const statusText = (await status.textContent()) ?? '';
      expect(statusText).toMatch(/Standby\s*\(3\)/);
      for (const id of instanceIds) expect(statusText).toContain(id);
      const world = await sandbox.snapshot();
      expect(instanceIds.map((id) => world.instances[id]?.lifecycle)).toEqual([
        'Standby',
        'Standby',
        'Standby',
      ]);
    });
    await page.close();
  }, 90_000);

  it('shows what people type as text, never as markup', async () => {
    const page = await openConsole(browser, consoleServer.url, 'U0BOB', 'C0NOTICES');
    await shotOnFailure(page, 'console-escaping', async () => {
      const payload = '<img src=x onerror="window.__owned=1"> *bold* <script>window.__owned=2</script>';
      await type(page, payload);
      const message = page.locator('#messages .msg', { hasText: 'onerror' });
      await message.waitFor();
      expect(await message.locator('img').count()).toBe(0);
      expect(await message.locator('script').count()).toBe(0);
      expect(await message.locator('b').textContent()).toBe('bold');
      // The test's tsconfig has no DOM types: the page-side code is a string.
      expect(await page.evaluate('typeof window.__owned')).toBe('undefined');
    });
    await page.close();
  });
  it('opens the channel a #channel mention in a message names', async () => {
    const page = await openConsole(browser, consoleServer.url, 'U0ALICE', 'C0NOTICES');
    await shotOnFailure(page, 'console-channel-mention', async () => {
      const client = new WebClient('xoxb-test', { slackApiUrl: tc.fake.url });
      await client.chat.postMessage({ channel: 'C0NOTICES', text: 'Details in <#C0OPS>, please' });
      const message = page.locator('#messages .msg', { hasText: 'Details in' });
      await message.locator('.mention.channel').click();
      await expect.poll(() => page.locator('#channel-title').textContent()).toBe('# ops');
    });
    await page.close();
  });

  it('sends @capstan mentions as the message and its app_mention, and answers in its thread', async () => {
    const page = await openConsole(browser, consoleServer.url, 'U0BOB', 'C0NOTICES');
    await shotOnFailure(page, 'console-mention', async () => {
      await type(page, '@capstan ops ping');
      const mention = page.locator('#messages .msg', { hasText: '@capstan ops ping' });
      await mention.waitFor();
      expect(await mention.locator('.mention').textContent()).toBe('@capstan');
      await mention.locator('.replies').click();
      await page.locator('#thread-messages .msg', { hasText: /pong from/ }).waitFor({ timeout: 20_000 });
      const sent = tc.fake.messagesIn('C0NOTICES').find((m) => m.text === '<@U0CAPSTAN> ops ping');
      expect(sent?.user).toBe('U0BOB');
    });
    await page.close();
  });

  it('shows a file Capstan shares in a thread inline, served from the console', async () => {
    const page = await openConsole(browser, consoleServer.url, 'U0ALICE', 'C0NOTICES');
    await shotOnFailure(page, 'console-file', async () => {
      const client = new WebClient('xoxb-test', { slackApiUrl: tc.fake.url });
      const parent = await client.chat.postMessage({
        channel: 'C0NOTICES',
        text: 'Burst balance for orders-db',
      });
      await client.files.uploadV2({
        channel_id: 'C0NOTICES',
        thread_ts: parent.ts ?? '',
        filename: 'burst-balance.png',
        title: 'BurstBalance, last 24 h',
        file: Buffer.from(PNG_1X1, 'base64'),
      });
      const message = page.locator('#messages .msg', { hasText: 'Burst balance for orders-db' });
      await message.locator('.replies', { hasText: '1 reply' }).click();
      const image = page.locator('#thread-messages img.file-img');
      await image.waitFor();
      expect(await page.locator('#thread-messages .file-name').textContent()).toBe('BurstBalance, last 24 h');
      // Locator waits, not string predicates: the page's CSP forbids the eval those need.
      await expect
        .poll(() =>
          image.evaluate((el) => {
            const img = el as unknown as { complete: boolean; naturalWidth: number };
            return img.complete && img.naturalWidth === 1;
          }),
        )
        .toBe(true);
      const src = (await image.getAttribute('src')) ?? '';
      const served = await fetch(new URL(src, consoleServer.url));
      expect(served.headers.get('content-type')).toBe('image/png');
      expect(Buffer.from(await served.arrayBuffer()).toString('base64')).toBe(PNG_1X1);
    });
    await page.close();
  });
});

describe('a restore from the console', () => {
  let world: RestoreWorld;
  let consoleServer: ConsoleServer;

  beforeAll(async () => {
    world = await startRestoreWorld();
    await world.seedBilling();
    consoleServer = await startTestConsole(world.tc);
  }, 120_000);

  afterAll(async () => {
    await consoleServer?.close();
    await world?.stop();
  });

  it('opens the form from the "…" menu prefilled, shows errors under the fields, and brings the rows back', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const page = await openConsole(browser, consoleServer.url, 'U0ALICE');
    await shotOnFailure(page, 'console-restore', async () => {
      // Binary-log times have whole seconds: keep the insert, the announcement and the delete apart.
      await sleep(2_200);
      await type(page, 'Running the billing cleanup now :broom:');
      const incident = page.locator('#messages .msg', { hasText: 'Running the billing cleanup now' });
      await incident.waitFor();
      await sleep(1_500);
      await world.live.query('DELETE FROM shop.billing WHERE id IN (2, 3, 4)');
      await sleep(500);

      await incident.hover();
      await incident.locator('.more-btn').click();
      await page.locator('.menu-item', { hasText: 'Restore a table to just before this message' }).click();
      const modal = page.locator('.modal');
      await modal.waitFor();
      expect(await modal.locator('.modal-title').textContent()).toBe('Restore a table');
      expect(await modal.textContent()).toContain('@alice posted at');
      const time = modal.locator('[data-block-id="restore.time"] input');
      expect(await time.inputValue()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d$/);
      expect(await modal.locator('[data-block-id="restore.mode"] input:checked').count()).toBe(1);

      // Slack's own check first: a required field left empty.
      await modal.locator('[data-submit-view]').click();
      expect(await modal.locator('[data-error-for="restore.schema"]').textContent()).toContain(
        'Please complete this required field',
      );
      // Capstan's check: a table name that is not one; the problem shows under the table input.
      await modal.locator('[data-block-id="restore.schema"] input').fill('shop');
      await modal.locator('[data-block-id="restore.table"] input').fill('billing; DROP TABLE x');
      await modal.locator('[data-submit-view]').click();
      const tableError = modal.locator('[data-error-for="restore.table"]');
      await tableError.filter({ hasText: /valid/ }).waitFor();
      expect(await tableError.textContent()).toContain('is not a valid');
      await page.screenshot({
        path: new URL('console-restore-form.png', ARTIFACTS).pathname,
        animations: 'disabled',
      });

      await modal.locator('[data-block-id="restore.table"] input').fill('billing');
      await modal.locator('.f-choice', { hasText: 'Merge missing rows' }).click();
      await modal.locator('[data-submit-view]').click();
      await modal.waitFor({ state: 'detached' });

      // Progress in the announcement's thread, updated in place until done.
      await incident.locator('.replies').click();
      const done = page.locator('#thread-messages .msg', { hasText: /done in/ });
      await done.waitFor({ timeout: 90_000 });
      expect(await done.textContent()).toContain('/rds restore-table orders-db shop.billing --at');
      expect((await world.rows('billing')).map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({
        path: new URL('console-restore.png', ARTIFACTS).pathname,
        animations: 'disabled',
      });
    });
    await page.close();
  }, 150_000);
});
