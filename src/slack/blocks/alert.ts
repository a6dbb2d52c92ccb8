/**
 * Block Kit for status alerts (pure): one message per alert, updated in place — severity, what,
 * which resource, the current value, how often and since when, its state — with Acknowledge,
 * Snooze 1 h / 4 h and (on burst alerts) Investigate while it is active; how long it lasted once
 * resolved; and the re-notification reply in its thread with the on-call mention.
 */
import type { KnownBlock } from '@slack/web-api';
import type { AlertCheckName } from '../../config.js';
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
export const CHECK_TITLES: Readonly<Record<AlertCheckName, string>> = {
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
export function renderAlert(state: AlertState, now: number): { text: string; blocks: KnownBlock[] } {
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
    blocks.push({
      type: 'actions',
      block_id: `alert:${state.occurrence}:${state.id}`.slice(0, 255),
      elements,
    });
  }
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `alert \`${state.id}\` · occurrence ${state.occurrence}` }],
  });
  return { text: text.slice(0, 3000), blocks };
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
    text: `${mention}${what}: ${state.summary} (now ${state.value}). Acknowledge to stop these reminders.`,
  };
}
