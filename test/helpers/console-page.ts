/** The local console in a real browser (playwright-core): what the browser tests share. */
import { existsSync, mkdirSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { type ConsoleServer, startConsole } from '../../devkit/local/console/server.js';
import type { FakeSlack } from '../../devkit/local/slack-api.js';
import { TEST_SIGNING_SECRET } from './capstan.js';

/** Where screenshots are kept (git-ignored). */
export const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url);

/** The people the browser tests act as. */
export const CONSOLE_USERS = [
  { id: 'U0ALICE', name: 'alice', title: 'engineer' },
  { id: 'U0BOB', name: 'bob', title: 'engineer' },
  { id: 'U0CAROL', name: 'carol', title: 'approver' },
];

/** The channels the console shows in the browser tests. */
export const CONSOLE_CHANNELS = [
  { id: 'C0OPS', name: 'ops' },
  { id: 'C0APPROVALS', name: 'approvals' },
  { id: 'C0NOTICES', name: 'notices' },
];

/** The console in front of a test Capstan (its fake Slack, its receiver), for {@link CONSOLE_USERS}. */
export function startTestConsole(tc: { fake: FakeSlack; eventsUrl: string }): Promise<ConsoleServer> {
  return startConsole({
    slack: tc.fake,
    eventsUrl: tc.eventsUrl,
    signingSecret: TEST_SIGNING_SECRET,
    users: CONSOLE_USERS,
    channels: CONSOLE_CHANNELS,
  });
}

/** Debian's chromium, or CHROMIUM_PATH. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Starts Debian's chromium, headless. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: apt-get install chromium (or set CHROMIUM_PATH)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

/** A page on the console at `url` as `user` in `channel`, live (stream open, state loaded), with no script error. */
export async function openConsole(
  browser: Browser,
  url: string,
  user: string,
  channel = 'C0OPS',
): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1360, height: 860 } });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${url}?user=${user}&channel=${channel}`);
  await page.waitForSelector(`body[data-ready="1"][data-user="${user}"]`);
  expect(errors).toEqual([]);
  return page;
}

/** Switches the page to `user` (the "Acting as" menu) and waits until it is theirs. */
export async function actAs(page: Page, user: string): Promise<void> {
  await page.selectOption('#user-switch', user);
  await page.waitForSelector(`body[data-ready="1"][data-user="${user}"]`);
}

/** Types `text` in a composer and presses Enter. */
export async function type(page: Page, text: string, where = '#composer-input'): Promise<void> {
  await page.fill(where, text);
  await page.press(where, 'Enter');
}

/** Keeps a screenshot of the page as `test-artifacts/<name>.png`. */
export async function keepShot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: new URL(`${name}.png`, ARTIFACTS).pathname, animations: 'disabled' });
}

/** Runs `steps`; when they fail, keeps a screenshot of the page (`<name>-failed.png`) beside the error. */
export async function shotOnFailure(page: Page, name: string, steps: () => Promise<void>): Promise<void> {
  try {
    await steps();
  } catch (error) {
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL(`${name}-failed.png`, ARTIFACTS).pathname }).catch(() => undefined);
    throw error;
  }
}
