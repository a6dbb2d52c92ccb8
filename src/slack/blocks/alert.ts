/**
 * Block Kit for status alerts (pure): one message per alert, updated in place — severity, what,
 * which resource, the current value, how often and since when, its state — with Acknowledge,
 * Snooze 1 h / 4 h and (on burst alerts) Investigate while it is active; how long it lasted once
 * resolved; and the re-notification reply in its thread with the on-call mention.
 */
import type { KnownBlock } from '@slack/web-api';
import { escapeSlack } from '../../commands/echo.js';
import type { AlertCheckName, AlertSource, SignalCheckName } from '../../config.js';
import { formatDuration } from '../../domain/alerts/rules.js';
import { type AlertState, durationOf, isActive, isSnoozed } from '../../domain/alerts/state.js';

/** Action ids of the buttons. Acknowledge and snooze carry `<occurrence>|<alert id>`; Investigate the DB instance. */
export const ALERT_ACK_ACTION = 'alert.ack';
export const ALERT_SNOOZE_1H_ACTION = 'alert.snooze-1h';
export const ALERT_SNOOZE_4H_ACTION = 'alert.snooze-4h';
export const ALERT_INVESTIGATE_ACTION = 'alert.investigate';

/** How long each snooze button snoozes for. */
export const SNOOZE_MS: Readonly<Record<string, number>> = {
  [ALERT_SNOOZE_1H_ACTION]: 3_600_000,
  [ALERT_SNOOZE_4H_ACTION]: 4 * 3_600_000,
};

/** What each check is called in a message. */
export const CHECK_TITLES: Readonly<Record<AlertCheckName | SignalCheckName, string>> = {
  alarm: 'CloudWatch alarm',
  rdsEvent: 'RDS event',
  autoScaling: 'Auto Scaling',
  event: 'AWS event',
  burstBalance: 'RDS burst balance',
  rdsStatus: 'RDS instance status',
  replicaLag: 'RDS replica lag',
  inService: 'Instances in service',
  unhealthy: 'Unhealthy instances',
  standby: 'Instances left in Standby',
  expiry: 'Environment expiring',
  failedJobs: 'Failed Capstan jobs',
  temporaryRestores: 'Leftover temporary restore instance',
};

/** The value acknowledge and snooze buttons carry. */
export function alertActionValue(state: Pick<AlertState, 'id' | 'occurrence'>): string {
  return `${state.occurrence}|${state.id}`;
}

/** Reads a button's value back: the occurrence and the alert id. */
export function parseAlertActionValue(value: string): { occurrence: number; id: string } | undefined {
  const bar = value.indexOf('|');
  const occurrence = Number(value.slice(0, bar));
  const id = value.slice(bar + 1);
  if (bar <= 0 || !Number.isInteger(occurrence) || occurrence < 1 || id.length === 0) return undefined;
  return { occurrence, id };
}

function slackDate(ms: number): string {
  // Slack renders this in each reader's own time zone (https://api.slack.com/reference/surfaces/formatting#date-formatting).
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time_secs}|${new Date(ms).toISOString()}>`;
}

function emoji(state: AlertState): string {
  if (state.phase === 'resolved') return ':white_check_mark:';
  return state.severity === 'critical' ? ':rotating_light:' : ':warning:';
}

function stateLine(state: AlertState, now: number): string {
  const parts: string[] = [];
  if (state.phase === 'open') parts.push('Open');
  else if (state.phase === 'clearing')
    parts.push(
      `Clearing: condition gone since ${slackDate(state.clearSince ?? now)}, resolves if it stays gone`,
    );
  else if (state.phase === 'resolved')
    parts.push(
      `Resolved ${slackDate(state.resolvedAt ?? now)} after ${formatDuration(durationOf(state, now))}`,
    );
  else parts.push('Pending');
  if (state.acknowledged)
    parts.push(`acknowledged by <@${state.acknowledged.by}> ${slackDate(state.acknowledged.at)}`);
  if (state.snoozed && isSnoozed(state, now))
    parts.push(`snoozed by <@${state.snoozed.by}> until ${slackDate(state.snoozed.until)}`);
  return parts.join(' · ');
}

/**
 * The alert message in its current state. `now` only decides whether a snooze still shows; times
 * are Slack date tokens, so the rendering does not go stale.
 */
export function renderAlert(original: AlertState, now: number): { text: string; blocks: KnownBlock[] } {
  const state = alertAsShown(original);
  const title = CHECK_TITLES[state.key.check] ?? state.key.check;
  const severity = state.severity === 'critical' ? 'CRITICAL' : 'Warning';
  const active = isActive(state);
  const headline =
    state.phase === 'resolved'
      ? `${emoji(state)} *Resolved* ~${severity}~ · *${title}* — ${state.summary} · lasted ${formatDuration(durationOf(state, now))}`
      : `${emoji(state)} *${severity}* · *${title}* — ${state.summary}`;
  // The on-call group is mentioned in the first post of a critical alert (updates do not notify again).
  const mention =
    active && state.severity === 'critical' && state.route.oncall ? `<!subteam^${state.route.oncall}> ` : '';
  const text =
    state.phase === 'resolved'
      ? `Resolved: ${title} — ${state.summary} (lasted ${formatDuration(durationOf(state, now))})`
      : `${mention}${severity}: ${title} — ${state.summary}`;
  const fields = [
    `*Resource*\n\`${state.key.resource}\``,
    `*${state.phase === 'resolved' ? 'Last value' : 'Current value'}*\n${state.value}`,
    `*Seen*\n${state.count} time(s)`,
    `*First seen*\n${slackDate(state.firstSeenAt)}`,
    `*Last seen*\n${slackDate(state.lastSeenAt)}`,
    `*State*\n${stateLine(state, now)}`,
  ];
  const blocks: KnownBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: headline.slice(0, 3000) } },
    { type: 'section', fields: fields.map((f) => ({ type: 'mrkdwn', text: f.slice(0, 2000) })) },
  ];
  if (active) {
    const elements = alertButtons(state);
    blocks.push({
      type: 'actions',
      block_id: `alert:${state.occurrence}:${state.id}`.slice(0, 255),
      elements,
    });
  }
  if (state.details && state.details.length > 0) {
    const lines = state.details.slice(0, 20).map((d) => `• ${d}`);
    if (state.link) lines.push(`<${state.link.url}|${state.link.label}>`);
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: lines.join('\n').slice(0, 3000) } });
  }
  const from =
    state.source && state.source !== 'scheduled' ? ` · from ${SOURCE_NAMES[state.source]} via SNS` : '';
  blocks.push({
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: `alert \`${escapeSlack(state.id).replace(/`/g, "'")}\` · occurrence ${state.occurrence}${from}`,
      },
    ],
  });
  return { text: text.slice(0, 3000), blocks };
}

/** Acknowledge (until someone has), Snooze 1 h / 4 h and, on burst alerts, Investigate. */
export function alertButtons(state: AlertState): Extract<KnownBlock, { type: 'actions' }>['elements'] {
  const value = alertActionValue(state);
  const elements: Extract<KnownBlock, { type: 'actions' }>['elements'] = [];
  if (!state.acknowledged) {
    elements.push({
      type: 'button',
      action_id: ALERT_ACK_ACTION,
      style: 'primary',
      text: { type: 'plain_text', text: 'Acknowledge' },
      value,
    });
  }
  elements.push(
    {
      type: 'button',
      action_id: ALERT_SNOOZE_1H_ACTION,
      text: { type: 'plain_text', text: 'Snooze 1 h' },
      value,
    },
    {
      type: 'button',
      action_id: ALERT_SNOOZE_4H_ACTION,
      text: { type: 'plain_text', text: 'Snooze 4 h' },
      value,
    },
  );
  if (state.investigate) {
    elements.push({
      type: 'button',
      action_id: ALERT_INVESTIGATE_ACTION,
      text: { type: 'plain_text', text: 'Investigate' },
      value: state.investigate.dbInstance,
    });
  }
  return elements;
}

/** What each signal source is called in a message. */
const SOURCE_NAMES: Readonly<Record<AlertSource, string>> = {
  scheduled: 'Capstan’s checks',
  'cloudwatch-alarm': 'a CloudWatch alarm',
  'rds-event': 'an RDS event',
  autoscaling: 'Auto Scaling',
  eventbridge: 'EventBridge',
};

/**
 * An alert with what AWS sent made safe to show: alarm names, reasons and event messages are
 * text, never markup (a `<!channel>` in an alarm's description mentions nobody); its id stays as
 * stored, since the buttons name the alert by it. The link is
 * kept only when it is an https URL with nothing in it that could close Slack's link syntax.
 */
export function alertAsShown(state: AlertState): AlertState {
  if (!state.source || state.source === 'scheduled') return state;
  const link =
    state.link && /^https:\/\/[^\s<>|]+$/.test(state.link.url)
      ? { url: state.link.url, label: escapeSlack(state.link.label).replace(/\|/g, '¦') }
      : undefined;
  const { link: _l, ...rest } = state;
  return {
    ...rest,
    key: { ...state.key, resource: escapeSlack(state.key.resource).replace(/`/g, "'") },
    summary: escapeSlack(state.summary),
    value: escapeSlack(state.value),
    ...(state.details ? { details: state.details.map(escapeSlack) } : {}),
    ...(link ? { link } : {}),
  };
}

/** The reply in an alert's thread when an unacknowledged critical alert is re-notified. */
export function renderRenotify(
  state: AlertState,
  reason: 'reminder' | 'escalated',
  now: number,
): { text: string } {
  const mention = state.route.oncall ? `<!subteam^${state.route.oncall}> ` : '';
  const what =
    reason === 'escalated'
      ? ':rotating_light: escalated to *critical*'
      : `:rotating_light: still *critical* and unacknowledged after ${formatDuration(now - (state.openedAt ?? state.firstSeenAt))}`;
  return {
    text: `${mention}${what}: ${alertAsShown(state).summary} (now ${alertAsShown(state).value}). Acknowledge to stop these reminders.`,
  };
}
