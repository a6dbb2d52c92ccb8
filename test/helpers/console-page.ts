/** The local console in a real browser (playwright-core): what the browser tests share. */
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';

/** Where screenshots are kept (git-ignored). */
export const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url);

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
