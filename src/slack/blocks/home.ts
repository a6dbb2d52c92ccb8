/**
 * Block Kit for a person's App Home tab (pure): the answers to their latest clicks, *My
 * environments* (with Extend and Delete), *Running and recent jobs* (with a link to each thread,
 * and Cancel while one can still be stopped), *Waiting for me* (approval requests they may decide,
 * with the approval message's own Approve / Reject), *Open alerts* they may act on (with the alert
 * message's own buttons), and for admins the latest audit entries.
 *
 * Buttons carry the same action ids and values as the messages they mirror, so one listener handles
 * a click wherever it was made. Whatever people or tags wrote (command texts, reasons, environment
 * names, versions) is escaped. A view holds at most 100 blocks
 * (https://docs.slack.dev/reference/views/home-tab-views): each section shows a bounded number of
 * items and says how many more there are.
 */
import type { HomeView, KnownBlock } from '@slack/web-api';
import { echo, echoCommand, escapeSlack } from '../../commands/index.js';
import { type AlertState, isActive, isSnoozed } from '../../domain/alerts/state.js';
import { alertAsShown, alertButtons, CHECK_TITLES } from './alert.js';
import { APPROVE_ACTION, REJECT_ACTION } from './approval.js';
import { EXTEND_ACTION } from './expiry.js';
import { formatDuration } from './progress.js';

/** Action id of Delete on an environment (value: its name): the same path as `/env delete <name>`. */
export const ENV_DELETE_ACTION = 'env.delete';
/** Action id of Cancel on a job (value: its id): the same path as `/ops cancel <job-id>`. */
export const JOB_CANCEL_ACTION = 'ops.cancel';

/** Slack's limit on the blocks of a view. */
export const MAX_VIEW_BLOCKS = 100;
/** How many items each section shows at most; with their headers this stays under {@link MAX_VIEW_BLOCKS}. */
export const SECTION_LIMITS = { environments: 8, jobs: 10, approvals: 8, alerts: 8, audit: 15 } as const;

// https://docs.slack.dev/reference/block-kit/blocks/section-block: text at most 3,000 characters.
const MAX_TEXT = 3000;
// https://docs.slack.dev/reference/block-kit/blocks/header-block: plain text at most 150 characters.
const MAX_HEADER = 150;
/** Plan lines an approval shows on the tab (the message has them all). */
const PLAN_LINES = 4;

/** One environment the person owns. */
export interface HomeEnvironment {
  name: string;
  /** `group` (Auto Scaling) or `stack` (CloudFormation). */
  kind: 'group' | 'stack';
  version?: string;
  /** Instances in service of the desired count (groups). */
  size?: { inService: number; desired: number };
  /** ISO time, from the `capstan:expires-at` tag. */
  expiresAt?: string;
  /** `ready`, `3 pending`, a stack status, `Delete in progress` … */
  state: string;
  region: string;
}

/** One of the person's jobs. */
export interface HomeJob {
  id: string;
  /** The command as typed (plain text). */
  text: string;
  state: 'queued' | 'running' | 'waiting' | 'done' | 'failed' | 'cancelled';
  /** Queued or running since, or finished at (epoch ms). */
  at: number;
  step?: string;
  /** For an approval request: how it stands (`approval from role approvers`, `approved` …). */
  detail?: string;
  /** A link to the job's thread. */
  link?: string;
  /** Offer Cancel (the same rules as `/ops cancel`: the job can still be stopped, and they may). */
  cancellable: boolean;
}

/** An approval request the person may decide. */
export interface HomeApproval {
  id: string;
  /** The command as typed (plain text). */
  commandText: string;
  target: string;
  requester: string;
  reason?: string;
  plan: string[];
  role: string;
  quorum: number;
  approvals: number;
  expiresAt: number;
  /** A link to the approval request message. */
  link?: string;
}

/** An open alert the person may act on, with a link to its message. */
export interface HomeAlert {
  state: AlertState;
  link?: string;
}

/** One audit entry (admins only). */
export interface HomeAuditEntry {
  at: Date;
  kind: string;
  actor: string;
  subject: string;
  outcome: string;
  /** The command text, when the entry has one (plain text). */
  text?: string;
}

/** A section that could not be read, and why (the rest of the tab is still shown). */
export interface Unreadable {
  error: string;
}

/** Everything a person's tab shows. */
export interface HomeContent {
  userId: string;
  /** Answers to their latest clicks, newest first (Capstan's own mrkdwn). */
  notices: Array<{ text: string; at: number }>;
  environments: HomeEnvironment[] | Unreadable;
  jobs: HomeJob[];
  approvals: HomeApproval[];
  alerts: HomeAlert[];
  /** Present for admins only. */
  audit?: HomeAuditEntry[];
  /** When it was built (epoch ms). */
  now: number;
}

function clip(text: string, max = MAX_TEXT): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function mrkdwn(text: string): KnownBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: clip(text) } };
}

function context(text: string): KnownBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: clip(text) }] };
}

function header(text: string): KnownBlock {
  return { type: 'header', text: { type: 'plain_text', text: clip(text, MAX_HEADER), emoji: true } };
}

function slackDate(ms: number): string {
  // Slack renders this in each reader's own time zone (https://docs.slack.dev/messaging/formatting-message-text#date-formatting).
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${new Date(ms).toISOString()}>`;
}

function link(url: string | undefined, label: string): string {
  // A link's address never carries `|` or `>` (Slack's own permalinks do not); one that did is not shown.
  return url && !/[|<>\s]/.test(url) ? `<${url}|${label}>` : '';
}

/** The items of a section that fit, and the line that says how many did not. */
function bounded<T>(items: readonly T[], limit: number, more: string): { shown: T[]; rest?: KnownBlock } {
  if (items.length <= limit) return { shown: [...items] };
  return { shown: items.slice(0, limit), rest: context(`…and ${items.length - limit} more. ${more}`) };
}

function environmentBlocks(env: HomeEnvironment, now: number): KnownBlock[] {
  const name = escapeSlack(env.name);
  const parts = [`version ${env.version ? echo(env.version, 60) : '?'}`];
  if (env.size) parts.push(`${env.size.inService}/${env.size.desired} in service`);
  if (env.expiresAt) {
    const at = Date.parse(env.expiresAt);
    parts.push(
      Number.isNaN(at)
        ? `expires ${echo(env.expiresAt, 40)}`
        : at <= now
          ? `expired ${slackDate(at)}`
          : `expires ${slackDate(at)} (in ${formatDuration(at - now)})`,
    );
  } else {
    parts.push('never expires');
  }
  parts.push(escapeSlack(env.state), `${env.kind === 'stack' ? 'stack, ' : ''}${escapeSlack(env.region)}`);
  const buttons: Extract<KnownBlock, { type: 'actions' }>['elements'] = [];
  if (env.expiresAt) {
    buttons.push({
      type: 'button',
      action_id: EXTEND_ACTION,
      text: { type: 'plain_text', text: 'Extend 4h' },
      value: env.name,
    });
  }
  buttons.push({
    type: 'button',
    action_id: ENV_DELETE_ACTION,
    style: 'danger',
    text: { type: 'plain_text', text: 'Delete' },
    value: env.name,
    confirm: {
      title: { type: 'plain_text', text: 'Delete this environment?' },
      text: {
        type: 'mrkdwn',
        text: clip(
          `*${name}* and everything Capstan made for it will be deleted. A protected environment waits for an approver first.`,
          300,
        ),
      },
      confirm: { type: 'plain_text', text: 'Delete' },
      deny: { type: 'plain_text', text: 'Keep it' },
      style: 'danger',
    },
  });
  return [
    mrkdwn(`*${name}* — ${parts.join(' · ')}`),
    { type: 'actions', block_id: `home-env:${env.name}`.slice(0, 255), elements: buttons },
  ];
}

const JOB_ICON: Record<HomeJob['state'], string> = {
  queued: ':hourglass_flowing_sand:',
  running: ':arrows_counterclockwise:',
  waiting: ':raised_hand:',
  done: ':white_check_mark:',
  failed: ':x:',
  cancelled: ':no_entry_sign:',
};

function jobBlock(job: HomeJob, now: number): KnownBlock {
  const when =
    job.state === 'queued' || job.state === 'running'
      ? `${job.state} ${formatDuration(now - job.at)}`
      : `${job.state} ${slackDate(job.at)}`;
  const step = job.step ? ` — step: ${escapeSlack(job.step)}` : '';
  const detail = job.detail ? ` — ${job.detail}` : '';
  const thread = link(job.link, 'thread');
  const text = `${JOB_ICON[job.state]} ${echoCommand(job.text)} · ${when}${step}${detail}\n\`${job.id}\`${thread ? ` · ${thread}` : ''}`;
  const section = {
    type: 'section',
    block_id: `home-job:${job.id}`,
    text: { type: 'mrkdwn', text: clip(text) },
  } as const;
  if (!job.cancellable) return section;
  return {
    ...section,
    accessory: {
      type: 'button',
      action_id: JOB_CANCEL_ACTION,
      text: { type: 'plain_text', text: 'Cancel' },
      value: job.id,
      confirm: {
        title: { type: 'plain_text', text: 'Cancel this job?' },
        text: {
          type: 'mrkdwn',
          text: clip(`${echoCommand(job.text)} stops at its next step and cleans up after itself.`, 300),
        },
        confirm: { type: 'plain_text', text: 'Cancel the job' },
        deny: { type: 'plain_text', text: 'Let it run' },
      },
    },
  };
}

function approvalBlocks(a: HomeApproval): KnownBlock[] {
  const plan = a.plan.slice(0, PLAN_LINES).map((line) => `• ${line}`);
  if (a.plan.length > PLAN_LINES) plan.push(`• …${a.plan.length - PLAN_LINES} more in the request`);
  const lines = [
    `:raised_hand: ${echoCommand(a.commandText)} on ${escapeSlack(a.target)} — asked by <@${a.requester}>`,
    ...(a.reason ? [`*Reason:* ${escapeSlack(a.reason)}`] : []),
    ...plan,
    `${a.quorum === 1 ? 'An approval' : `${a.quorum} approvals`} from role \`${escapeSlack(a.role)}\`${a.approvals > 0 ? ` (${a.approvals} so far)` : ''} · open until ${slackDate(a.expiresAt)} · request \`${a.id}\`${a.link ? ` · ${link(a.link, 'the request')}` : ''}`,
  ];
  return [
    mrkdwn(lines.join('\n')),
    {
      // The approval message's own block id and buttons: the click is the same decision.
      type: 'actions',
      block_id: `approval:${a.id}`,
      elements: [
        {
          type: 'button',
          action_id: APPROVE_ACTION,
          style: 'primary',
          text: { type: 'plain_text', text: 'Approve' },
          value: a.id,
        },
        {
          type: 'button',
          action_id: REJECT_ACTION,
          style: 'danger',
          text: { type: 'plain_text', text: 'Reject' },
          value: a.id,
        },
      ],
    },
  ];
}

function alertBlocks({ state: stored, link: url }: HomeAlert, now: number): KnownBlock[] {
  // What AWS sent (an alarm's name and reason) as text, as on the alert message itself.
  const state = alertAsShown(stored);
  const title = CHECK_TITLES[state.key.check] ?? state.key.check;
  const severity = state.severity === 'critical' ? ':rotating_light: *CRITICAL*' : ':warning: *Warning*';
  const status: string[] = [state.phase === 'clearing' ? 'clearing' : 'open'];
  if (state.acknowledged) status.push(`acknowledged by <@${state.acknowledged.by}>`);
  if (isSnoozed(state, now) && state.snoozed) status.push(`snoozed until ${slackDate(state.snoozed.until)}`);
  const where = state.message ? ` · in <#${state.message.channel}>` : '';
  const text = `${severity} · *${title}* — ${state.summary}\n${echo(stored.key.resource, 100)} · now ${state.value} · seen ${state.count} time(s) since ${slackDate(state.firstSeenAt)} · ${status.join(', ')}${where}${url ? ` · ${link(url, 'the alert')}` : ''}`;
  const elements = alertButtons(state);
  // The alert message's own block id: Investigate finds the alert (and its thread) by it.
  return [
    mrkdwn(text),
    { type: 'actions', block_id: `alert:${state.occurrence}:${state.id}`.slice(0, 255), elements },
  ];
}

function auditLine(e: HomeAuditEntry): string {
  const text = e.text ? ` ${echoCommand(e.text)}` : '';
  return `• ${e.at.toISOString().replace(/\.\d{3}Z$/, 'Z')} ${escapeSlack(e.kind)} <@${e.actor}> ${escapeSlack(e.subject)}${text} → *${escapeSlack(e.outcome)}*`;
}

/** Lines of one section text, as many as fit in a section's 3,000 characters. */
function fitLines(lines: string[]): string {
  let out = '';
  for (const [i, line] of lines.entries()) {
    const next = out ? `${out}\n${line}` : line;
    if (next.length > MAX_TEXT - 40) return `${out}\n…and ${lines.length - i} more`;
    out = next;
  }
  return out;
}

/** The person's Home tab. */
export function renderHome(content: HomeContent): HomeView {
  const { now } = content;
  const blocks: KnownBlock[] = [
    header('Capstan'),
    context(
      `Your environments, jobs, approvals and alerts, as of ${slackDate(now)}. Everything here is also a command: \`/ops help\`.`,
    ),
  ];
  if (content.notices.length > 0) {
    blocks.push(mrkdwn(content.notices.map((n) => `${n.text} _(${slackDate(n.at)})_`).join('\n')));
  }

  blocks.push({ type: 'divider' }, header('My environments'));
  if ('error' in content.environments) {
    blocks.push(
      mrkdwn(`:warning: Your environments could not be read: ${escapeSlack(content.environments.error)}`),
    );
  } else if (content.environments.length === 0) {
    blocks.push(context('You own no environments. `/env create <name>` makes one.'));
  } else {
    const { shown, rest } = bounded(
      content.environments,
      SECTION_LIMITS.environments,
      '`/env list` shows them all.',
    );
    for (const env of shown) blocks.push(...environmentBlocks(env, now));
    if (rest) blocks.push(rest);
  }

  blocks.push({ type: 'divider' }, header('Running and recent jobs'));
  if (content.jobs.length === 0) {
    blocks.push(context('No jobs of yours are queued, running or finished lately.'));
  } else {
    const { shown, rest } = bounded(
      content.jobs,
      SECTION_LIMITS.jobs,
      '`/ops jobs` lists everything queued and running.',
    );
    for (const job of shown) blocks.push(jobBlock(job, now));
    if (rest) blocks.push(rest);
  }

  blocks.push({ type: 'divider' }, header('Waiting for me'));
  if (content.approvals.length === 0) {
    blocks.push(context('No approval requests are waiting for you.'));
  } else {
    const { shown, rest } = bounded(
      content.approvals,
      SECTION_LIMITS.approvals,
      'The approvals channel has them all.',
    );
    for (const a of shown) blocks.push(...approvalBlocks(a));
    if (rest) blocks.push(rest);
  }

  blocks.push({ type: 'divider' }, header('Open alerts'));
  const active = content.alerts.filter((a) => isActive(a.state));
  if (active.length === 0) {
    blocks.push(context('No open alerts you can act on.'));
  } else {
    const { shown, rest } = bounded(active, SECTION_LIMITS.alerts, 'Their channels have them all.');
    for (const a of shown) blocks.push(...alertBlocks(a, now));
    if (rest) blocks.push(rest);
  }

  if (content.audit) {
    blocks.push({ type: 'divider' }, header('Audit log (admins)'));
    const entries = content.audit.slice(0, SECTION_LIMITS.audit);
    blocks.push(
      entries.length === 0 ? context('The audit log is empty.') : mrkdwn(fitLines(entries.map(auditLine))),
      context('`/ops audit 50` shows more.'),
    );
  }
  // The limits above keep the tab under Slack's; this only guards against a future section.
  if (blocks.length > MAX_VIEW_BLOCKS) {
    blocks.length = MAX_VIEW_BLOCKS - 1;
    blocks.push(context('…the rest does not fit on this tab.'));
  }
  return { type: 'home', blocks };
}
