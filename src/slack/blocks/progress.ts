/**
 * Block Kit for a job's progress message (pure): a header line with the job's state, one line per
 * step, notes, and the outcome. Rendering is a function of the state and the clock, nothing else.
 */
import type { KnownBlock } from '@slack/web-api';
import { escapeSlack } from '../../commands/index.js';

/** The state of one step of a job. */
export type StepState = 'running' | 'done' | 'failed';

/** One step, as the job reported it. */
export interface ProgressStep {
  name: string;
  state: StepState;
  startedAt: number;
  endedAt?: number;
  detail?: string;
}

/** The state of a whole job. */
export type JobStatus = 'queued' | 'running' | 'waiting' | 'done' | 'failed' | 'cancelled';

/** A note attached to the progress message. */
export interface ProgressNote {
  level: 'info' | 'warn';
  text: string;
}

/** Everything the progress message shows; plain JSON so it can be checkpointed with the job. */
export interface ProgressState {
  /** The command as the requester typed it: plain text, escaped where shown. */
  title: string;
  jobId: string;
  requester: string;
  status: JobStatus;
  queuedAt: number;
  startedAt?: number;
  endedAt?: number;
  steps: ProgressStep[];
  notes: ProgressNote[];
  /** The outcome in one sentence (done) or the error in words a user understands (failed). */
  outcome?: string;
  /** While `waiting`: for whom, e.g. ``approval from role `approvers` `` (shown as "waiting for …"). */
  waitingFor?: string;
}

const STATUS_ICON: Record<JobStatus, string> = {
  queued: ':hourglass_flowing_sand:',
  running: ':arrows_counterclockwise:',
  waiting: ':raised_hand:',
  done: ':white_check_mark:',
  failed: ':x:',
  cancelled: ':no_entry_sign:',
};

const STEP_ICON: Record<StepState, string> = {
  running: ':arrow_forward:',
  done: ':heavy_check_mark:',
  failed: ':x:',
};

// Slack rejects a section whose text exceeds 3,000 characters and messages over 50 blocks
// (https://api.slack.com/reference/block-kit/blocks#section).
const MAX_SECTION_TEXT = 3000;
const MAX_NOTES = 10;

/** `1.2 s`, `3 min 4 s`, `2 h 5 min`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const totalSeconds = Math.round(s);
  const minutes = Math.floor(totalSeconds / 60);
  if (minutes < 60) return `${minutes} min ${totalSeconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function clip(text: string, max = MAX_SECTION_TEXT): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Most sections one outcome may take (a report); the message stays well under Slack's 50 blocks. */
const MAX_OUTCOME_SECTIONS = 8;

/**
 * A long outcome (a report) as sections of at most 3,000 characters, cut between paragraphs, else
 * between lines; whatever is past the last section allowed is clipped.
 */
export function sections(text: string): string[] {
  const parts: string[] = [];
  let rest = text;
  while (rest.length > MAX_SECTION_TEXT && parts.length < MAX_OUTCOME_SECTIONS - 1) {
    const window = rest.slice(0, MAX_SECTION_TEXT);
    const cut = [window.lastIndexOf('\n\n'), window.lastIndexOf('\n')].find((i) => i > MAX_SECTION_TEXT / 3);
    const at = cut ?? MAX_SECTION_TEXT;
    parts.push(rest.slice(0, at));
    rest = rest.slice(at).replace(/^\n+/, '');
  }
  parts.push(clip(rest));
  return parts;
}

/** The status line, e.g. `✅ done in 1.2 s` (also the notification text). */
export function statusLine(state: ProgressState, now: number): string {
  const since = state.startedAt ?? state.queuedAt;
  switch (state.status) {
    case 'queued':
      return `queued for ${formatDuration(now - state.queuedAt)}`;
    case 'running':
      return `running for ${formatDuration(now - since)}`;
    case 'waiting':
      return `waiting for ${state.waitingFor ?? 'people'} (asked ${formatDuration(now - (state.endedAt ?? since))} ago)`;
    default:
      return `${state.status} in ${formatDuration((state.endedAt ?? now) - since)}`;
  }
}

/** Renders the progress message: fallback text plus blocks. */
export function renderProgress(state: ProgressState, now: number): { text: string; blocks: KnownBlock[] } {
  const headline = `${STATUS_ICON[state.status]} *${escapeSlack(state.title)}* — ${statusLine(state, now)}`;
  const blocks: KnownBlock[] = [{ type: 'section', text: { type: 'mrkdwn', text: clip(headline) } }];
  if (state.steps.length > 0) {
    const lines = state.steps.map((step) => {
      const took = step.endedAt !== undefined ? ` (${formatDuration(step.endedAt - step.startedAt)})` : '';
      const detail = step.detail ? ` — ${step.detail}` : '';
      return `${STEP_ICON[step.state]} ${step.name}${took}${detail}`;
    });
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(lines.join('\n')) } });
  }
  const notes = state.notes.slice(-MAX_NOTES);
  if (notes.length > 0) {
    const lines = notes.map((n) => `${n.level === 'warn' ? ':warning:' : ':information_source:'} ${n.text}`);
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(lines.join('\n')) } });
  }
  if (state.outcome) {
    for (const part of sections(state.outcome))
      blocks.push({ type: 'section', text: { type: 'mrkdwn', text: part } });
  }
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `job \`${state.jobId}\` · asked by <@${state.requester}>` }],
  });
  const text = `${escapeSlack(state.title)}: ${statusLine(state, now)}${state.outcome ? ` — ${state.outcome}` : ''}`;
  return { text: clip(text), blocks };
}

/** How an approval request the requester waited on was closed. */
export type ApprovalClosing = 'approved' | 'rejected' | 'expired';

const CLOSING_ICON: Record<ApprovalClosing, string> = {
  approved: ':white_check_mark:',
  rejected: ':no_entry:',
  expired: ':hourglass:',
};

/**
 * The requester's progress message once the approval it waited on is closed (pure): the request's
 * title with how it ended, in place of "waiting for approval from …".
 */
export function renderApprovalClosed(args: {
  title: string;
  jobId: string;
  requester: string;
  closing: ApprovalClosing;
  /** One sentence: by whom, and what happens now. */
  line: string;
}): { text: string; blocks: KnownBlock[] } {
  const headline = `${CLOSING_ICON[args.closing]} *${escapeSlack(args.title)}* — ${args.closing}: ${args.line}`;
  return {
    text: clip(`${escapeSlack(args.title)}: ${args.closing}: ${args.line}`),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: clip(headline) } },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `request \`${args.jobId}\` · asked by <@${args.requester}>` }],
      },
    ],
  };
}
