/**
 * `alerts.signal`: one SNS message `POST /aws/sns` checked and queued.
 *
 * - SubscriptionConfirmation (a configured topic subscribing Capstan's endpoint): confirmed by
 *   fetching its SubscribeURL, after checking that URL is SNS's own ConfirmSubscription for that
 *   topic (https://docs.aws.amazon.com/sns/latest/dg/SendMessageToHttp.confirm.html).
 * - UnsubscribeConfirmation: noted, not acted on (Capstan does not subscribe itself again).
 * - Notification: mapped (src/domain/alerts/signals.ts) into signals, each applied to its alert —
 *   the same alert a scheduled check raises for the same problem, so whichever source sees it
 *   first, there is one message — and Slack brought in line, as the scheduled checks do.
 */
import { type Agent, get } from 'node:https';
import type { Job } from 'bullmq';
import { describeGroup } from '../src/aws/autoscaling.js';
import { routeFor } from '../src/domain/alerts/routing.js';
import { type ExternalSignal, signalsFromNotification } from '../src/domain/alerts/signals.js';
import {
  type AlertTiming,
  alertIdFor,
  type Notice,
  type SignalInput,
  stepSignal,
} from '../src/domain/alerts/state.js';
import { TAG } from '../src/domain/env.js';
import type { JobDataOf, JobResult, SnsMessage } from '../src/queue/contract.js';
import { renderRenotify } from '../src/slack/blocks/alert.js';
import { deliver, placementFor } from './alerts-check.js';
import type { AlertsSignalDeps } from './deps.js';

/** How long confirming a subscription may take. */
const CONFIRM_TIMEOUT_MS = 10_000;

/** SNS's own API hosts, in every partition (the SubscribeURL must be one). */
const SNS_HOST = /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;

/** Runs `alerts.signal`. */
export async function alertsSignalJob(
  job: Job<JobDataOf<'alerts.signal'>>,
  deps: AlertsSignalDeps,
): Promise<JobResult> {
  const sns = job.data.sns;
  // The configuration may have changed since the web process took the message.
  if (!deps.config.file.alerts.sns.topics.includes(sns.topicArn))
    return { outcome: 'done', summary: `ignored: topic ${sns.topicArn} is no longer in alerts.sns.topics` };
  switch (sns.type) {
    case 'SubscriptionConfirmation':
      return confirmSubscription(sns, deps);
    case 'UnsubscribeConfirmation':
      return {
        outcome: 'done',
        summary: `topic ${sns.topicArn} unsubscribed Capstan; not subscribing again`,
      };
    case 'Notification':
      return applyNotification(sns, deps);
  }
}

/** Why `url` is not SNS's ConfirmSubscription for `topicArn` with `token` (undefined when it is). */
export function subscribeUrlProblem(
  url: string,
  topicArn: string,
  token: string | undefined,
): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'SubscribeURL is not a URL';
  }
  if (parsed.protocol !== 'https:') return 'SubscribeURL is not https';
  if (!SNS_HOST.test(parsed.hostname) || parsed.port !== '') return 'SubscribeURL is not an SNS host';
  const q = parsed.searchParams;
  if (q.get('Action') !== 'ConfirmSubscription') return 'SubscribeURL is not a ConfirmSubscription';
  if (q.get('TopicArn') !== topicArn) return 'SubscribeURL names another topic';
  if (!token || q.get('Token') !== token) return 'SubscribeURL carries another token';
  return undefined;
}

async function confirmSubscription(sns: SnsMessage, deps: AlertsSignalDeps): Promise<JobResult> {
  const problem = sns.subscribeUrl
    ? subscribeUrlProblem(sns.subscribeUrl, sns.topicArn, sns.token)
    : 'no SubscribeURL';
  if (problem || !sns.subscribeUrl) return { outcome: 'done', summary: `not confirmed: ${problem}` };
  const { status, body } = await httpsGet(sns.subscribeUrl, await deps.snsAgent?.());
  if (status !== 200 || !/<ConfirmSubscriptionResult>/.test(body)) {
    // Thrown: BullMQ retries (SubscribeURL stays valid for three days).
    throw new Error(`SNS did not confirm the subscription to ${sns.topicArn}: HTTP ${status}`);
  }
  const arn = body.match(/<SubscriptionArn>([^<]{1,400})<\/SubscriptionArn>/)?.[1];
  return { outcome: 'done', summary: `subscribed to ${sns.topicArn}${arn ? ` (${arn})` : ''}` };
}

function httpsGet(url: string, agent: Agent | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { ...(agent ? { agent } : {}), timeout: CONFIRM_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < 64 * 1024) body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () =>
      req.destroy(new Error(`no answer from ${new URL(url).host} within ${CONFIRM_TIMEOUT_MS} ms`)),
    );
    req.on('error', reject);
  });
}

async function applyNotification(sns: SnsMessage, deps: AlertsSignalDeps): Promise<JobResult> {
  const parsed = signalsFromNotification({
    topicArn: sns.topicArn,
    message: sns.message,
    timestamp: sns.timestamp,
    ...(sns.subject ? { subject: sns.subject } : {}),
  });
  if (!parsed.ok) return { outcome: 'done', summary: `ignored: ${parsed.reason}` };
  const now = deps.now?.() ?? Date.now();
  const settings = deps.config.file.alerts;
  const timing: AlertTiming = {
    quietPeriodMs: settings.quietPeriod,
    renotifyAfterMs: settings.renotifyAfter,
  };
  const said: string[] = [];
  for (const signal of parsed.signals) {
    const environment = signal.match.autoScalingGroup
      ? await environmentOfGroup(deps, signal.match.autoScalingGroup, signal.match.region)
      : undefined;
    if (signal.kind === 'status') {
      said.push(
        `${signal.key.resource}: ${signal.summary}${environment ? ` (environment ${environment})` : ''}`,
      );
      if (environment)
        await deps.environments.recordActivity(environment, { at: signal.occurredAt, text: signal.summary });
      // A group that launches again after a launch error has recovered: its open alert may clear.
      if (!(await deps.alerts.get(alertIdFor(signal.key)))) continue;
    }
    const route = routeFor(deps.config.file, signal.key, {
      source: signal.source,
      ...(signal.match.alarmName ? { alarmName: signal.match.alarmName } : {}),
      ...(environment ? { environment } : {}),
      ...(signal.match.database ? { database: signal.match.database } : {}),
    });
    if (!route.channel) {
      said.push(`${alertIdFor(signal.key)}: no channel to post to (set alerts.default.channel)`);
      continue;
    }
    const input = toSignalInput(signal, route.severity);
    const id = alertIdFor(signal.key);
    const result = await deps.alerts.update<Notice>(id, (current) => {
      // An RDS recovery event clears only the problems it is the recovery of (a finished failover
      // does not resolve a low-storage alert of the same instance).
      const problem = current?.signals?.[input.id]?.state ?? current?.value ?? '';
      if (signal.resolves && !signal.resolves.some((event) => problem.includes(event)))
        return { next: 'unchanged', result: undefined };
      const s = stepSignal(current, input, now, timing, {
        channel: route.channel,
        ...(route.oncall ? { oncall: route.oncall } : {}),
      });
      return { next: s.changed ? s.next : 'unchanged', result: s.notice };
    });
    await deliver(deps, id, now);
    const state = result.stored?.state;
    if (result.result?.kind === 'renotify' && state?.message) {
      await deps.notifier.post({
        channel: state.message.channel,
        threadTs: state.message.ts,
        ...renderRenotify(state, result.result.reason, now),
      });
    }
    said.push(`${id}: ${signal.kind} → ${state?.phase ?? 'forgotten'}`);
  }
  return {
    outcome: 'done',
    summary: said.length > 0 ? said.join('; ') : 'nothing to do (a test notification, or no signal in it)',
  };
}

/** A mapped signal as the alert state machine takes it (at the route's severity, when it sets one). */
function toSignalInput(signal: ExternalSignal, severity: 'warning' | 'critical' | undefined): SignalInput {
  // A status signal reaching here is the recovery of an alert that exists (see above).
  const kind = signal.kind === 'status' ? 'clear' : signal.kind;
  return {
    id: `${signal.source}:${signal.match.alarmName ?? signal.key.resource}`,
    source: signal.source,
    kind,
    observation: {
      key: signal.key,
      severity: severity ?? signal.severity,
      value: signal.value,
      summary: signal.summary,
      ...(signal.investigate ? { investigate: signal.investigate } : {}),
    },
    state: signal.value,
    details: signal.details,
    ...(signal.link ? { link: signal.link } : {}),
    at: signal.occurredAt,
  };
}

/** The environment an Auto Scaling group belongs to (its `capstan:env` tag), if it can be read. */
async function environmentOfGroup(
  deps: AlertsSignalDeps,
  group: string,
  region: string | undefined,
): Promise<string | undefined> {
  try {
    // Only a region code (some payloads name the region in words).
    const placement = placementFor(
      deps.config,
      region && /^[a-z]{2}(-[a-z]+)+-\d$/.test(region) ? { region } : {},
    );
    const found = await describeGroup(deps.aws.clients(placement).autoScaling, group);
    return found?.tags[TAG.env];
  } catch {
    return undefined;
  }
}
