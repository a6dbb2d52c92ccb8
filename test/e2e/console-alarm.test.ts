import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { type Browser, chromium, type Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  DEMO_ALARM_TOPIC_ARN,
  DEMO_BURST_ALARM,
  DEMO_BURST_THRESHOLD,
} from '../../devkit/local/demo/index.js';
import { createSandbox, type Sandbox } from '../../devkit/sandbox/index.js';
import { type JobData, type JobDataOf, QUEUE_NAME, type SnsMessage } from '../../src/queue/contract.js';
import { ARTIFACTS, shotOnFailure } from '../helpers/console-page.js';
import {
  type LocalCapstan,
  localEnv,
  printed,
  removeLocalServices,
  startLocal,
  stopLocal,
} from '../helpers/local-mode.js';
import { freePort } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const servicesDir = mkdtempSync(join(tmpdir(), 'capstan-console-alarm-'));
const prefix = `{alarm-${randomBytes(3).toString('hex')}}`;

let browser: Browser;
let redis: Redis;
let queue: Queue<JobData>;
let sandbox: Sandbox;
let local: LocalCapstan;
let port: number;
let consoleUrl: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: apt-get install chromium (or set CHROMIUM_PATH)`);
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  redis = new Redis(inject('redisUrl'));
  sandbox = createSandbox({ redis, prefix });
  queue = new Queue<JobData>(QUEUE_NAME, { connection: redis, prefix });
  port = await freePort();
  // A clean machine with no Slack credentials: local mode on the demo world. The scheduled
  // checks run every 3 s, so that they evaluate the alarm's alert while the test watches.
  local = startLocal(localEnv(prefix, servicesDir, { PORT: String(port), CAPSTAN_ALERTS_CHECK_MS: '3000' }));
  await printed(local, /In this terminal you are alice/, 80_000);
  consoleUrl = /Console: {2}(http:\/\/127\.0\.0\.1:\d+\/console)/.exec(local.out())?.[1] ?? '';
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await stopLocal(local);
  await removeLocalServices(servicesDir);
  await queue?.close().catch(() => undefined);
  if (redis) {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
}, 60_000);

/** The SNS message an `alerts.signal` job carries. */
function snsOf(job: Job<JobData> | undefined): SnsMessage | undefined {
  return job?.name === 'alerts.signal' ? (job.data as JobDataOf<'alerts.signal'>).sns : undefined;
}

/** The `alerts.signal` jobs that carried a Notification of the demo topic. */
async function alarmNotificationJobs(): Promise<Job<JobData>[]> {
  const jobs = await queue.getJobs(['completed', 'failed', 'active', 'waiting', 'delayed']);
  return jobs.filter((j): j is Job<JobData> => {
    const sns = snsOf(j);
    return sns?.type === 'Notification' && sns.topicArn === DEMO_ALARM_TOPIC_ARN;
  });
}

/** Capstan's request counter for SNS deliveries, by outcome (from `GET /metrics`). */
async function snsOutcomes(): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const m of text.matchAll(/^capstan_slack_requests_total\{([^}]*)\} (\d+)$/gm)) {
    const labels = m[1] ?? '';
    const outcome = /outcome="([^"]+)"/.exec(labels)?.[1];
    if (labels.includes('kind="sns"') && outcome) counts[outcome] = Number(m[2]);
  }
  return counts;
}

/** The labels of a message's buttons, in order. */
async function buttonsOf(message: Locator): Promise<string[]> {
  return (await message.locator('button[data-kind="button"]').allTextContents()).map((t) => t.trim());
}

/** How many times the alert was seen, from its "Seen" field. */
function seenCount(text: string): number {
  return Number(/Seen\s*(\d+) time\(s\)/.exec(text)?.[1] ?? Number.NaN);
}

describe('the demo alarm in the local console', () => {
  it('shows the BurstBalance ALARM arriving in #notices with its buttons, and Acknowledge updates that message in place', async () => {
    expect(consoleUrl).not.toBe('');
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${consoleUrl}?user=U0ALICE&channel=C0NOTICES`);
    await page.waitForSelector('body[data-ready="1"][data-user="U0ALICE"]');

    await shotOnFailure(page, 'console-alarm', async () => {
      // Whichever saw it first (the scheduled BurstBalance check or the alarm), one message: the
      // alarm's notification turns it into the alarm's, live.
      const alert = page.locator('#messages .msg', {
        hasText: `CloudWatch alarm ${DEMO_BURST_ALARM} is in ALARM`,
      });
      await alert.waitFor({ timeout: 60_000 });
      const ts = await alert.getAttribute('data-ts');
      expect(ts).toBeTruthy();

      // How it got there: the sandbox's alarm is in ALARM, its signed notification was accepted at
      // POST /aws/sns (as was the subscription's confirmation; nothing failed verification), and
      // the alerts.signal job applied it to orders-db's BurstBalance alert.
      const alarm = (await sandbox.snapshot()).alarms?.[DEMO_BURST_ALARM];
      expect(alarm?.state.value).toBe('ALARM');
      expect(alarm?.state.reason).toMatch(/were less than the threshold \(25\.0\)/);
      const outcomes = await snsOutcomes();
      expect(outcomes.accepted).toBeGreaterThanOrEqual(2);
      expect(outcomes['bad-signature'] ?? 0).toBe(0);
      const jobs = await waitFor(async () => {
        const done = (await alarmNotificationJobs()).filter((j) => j.finishedOn);
        return done.length > 0 ? done : undefined;
      });
      expect(jobs).toHaveLength(1);
      expect(JSON.parse(snsOf(jobs[0])?.message ?? '{}')).toMatchObject({
        AlarmName: DEMO_BURST_ALARM,
        NewStateValue: 'ALARM',
        Trigger: { MetricName: 'BurstBalance', Threshold: DEMO_BURST_THRESHOLD },
      });
      expect(jobs[0]?.returnvalue).toEqual({
        outcome: 'done',
        summary: 'burstBalance:db:orders-db: problem → open',
      });

      // The scheduled check goes on evaluating the same alert (every 3 s here): the message still
      // says what the alarm said, critical, with the alarm's metric and threshold.
      const message = page.locator(`#messages .msg[data-ts="${ts}"]`);
      const arrived = seenCount((await message.textContent()) ?? '');
      expect(arrived).toBeGreaterThanOrEqual(1);
      await waitFor(async () => seenCount((await message.textContent()) ?? '') >= arrived + 2, {
        timeoutMs: 20_000,
        message: 'two more scheduled evaluations of the alert',
      });
      const text = (await message.textContent()) ?? '';
      expect(text).toContain(
        `CRITICAL · RDS burst balance — CloudWatch alarm ${DEMO_BURST_ALARM} is in ALARM`,
      );
      expect(text).toContain(`Condition: BurstBalance < ${DEMO_BURST_THRESHOLD} for 3 × 5 min`);
      expect(text).toContain('Metric: AWS/RDS BurstBalance (Average) DBInstanceIdentifier=orders-db');
      expect(text).toContain('State: INSUFFICIENT_DATA → ALARM');
      expect(text).toContain('from a CloudWatch alarm via SNS');
      expect(await message.locator('.blk-field', { hasText: 'Resource' }).textContent()).toContain(
        'db:orders-db',
      );
      expect(await buttonsOf(message)).toEqual(['Acknowledge', 'Snooze 1 h', 'Snooze 4 h', 'Investigate']);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({
        path: new URL('console-alarm.png', ARTIFACTS).pathname,
        animations: 'disabled',
      });

      // Acknowledged from the page: the same message, updated in place.
      await message.locator('button[data-kind="button"]', { hasText: 'Acknowledge' }).click();
      await message.filter({ hasText: /acknowledged by\s*@alice/ }).waitFor({ timeout: 20_000 });
      expect(await buttonsOf(message)).toEqual(['Snooze 1 h', 'Snooze 4 h', 'Investigate']);
      const acknowledged = (await message.textContent()) ?? '';
      expect(acknowledged).toContain(`CloudWatch alarm ${DEMO_BURST_ALARM} is in ALARM`);
      expect(acknowledged).toMatch(/State\s*Open · acknowledged by\s*@alice/);
      expect(await message.locator('.edited').count()).toBe(1);
      // One message per problem in #notices; alice alone is told, privately, what the click did.
      expect(await page.locator('#messages .msg', { hasText: 'burstBalance:db:orders-db' }).count()).toBe(1);
      const told = await page.locator('#messages .msg.ephemeral').allTextContents();
      expect(told).toHaveLength(1);
      expect(told[0]).toContain('Only visible to you');
      expect(told[0]).toContain('Acknowledged: no more reminders for this alert');
      await page.screenshot({
        path: new URL('console-alarm-acknowledged.png', ARTIFACTS).pathname,
        animations: 'disabled',
      });
    });
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
