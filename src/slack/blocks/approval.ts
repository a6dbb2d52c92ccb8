/**
 * Block Kit for approval requests (pure): what will happen, to what, who asked and why, the plan,
 * and Approve / Reject buttons while the request is open; the decision once it is not.
 */
import type { KnownBlock } from '@slack/web-api';
import { echoCommand, escapeSlack } from '../../commands/index.js';

/** Action ids of the two buttons; the button's value is the approval id. */
export const APPROVE_ACTION = 'approval.approve';
export const REJECT_ACTION = 'approval.reject';

/** What the message shows (a view of an approval record). */
export interface ApprovalView {
  id: string;
  /** The command as typed, e.g. `/env delete prod`. */
  commandText: string;
  target: string;
  requester: string;
  reason?: string;
  plan: string[];
  role: string;
  quorum: number;
  rule: string;
  expiresAt: number;
  status: 'pending' | 'approved' | 'rejected' | 'expired';
  approvals: Array<{ userId: string; at: number }>;
  decidedBy?: string;
  decidedAt?: number;
  /** The job started once approved. */
  jobId?: string;
}

function slackDate(ms: number, fallback: string): string {
  // Slack renders this in each reader's own time zone (https://api.slack.com/reference/surfaces/formatting#date-formatting).
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${fallback}>`;
}

/** Text and blocks of the approval request message in its current state. */
export function renderApproval(view: ApprovalView): { text: string; blocks: KnownBlock[] } {
  // The command is the requester's own words (plain text): shown only as an escaped code span.
  const command = echoCommand(view.commandText);
  const plan =
    view.plan.length > 0 ? view.plan.map((line) => `• ${line}`).join('\n') : '• (nothing to change)';
  const fields = [
    `*Action*\n${command}`,
    `*Target*\n${view.target}`,
    `*Requested by*\n<@${view.requester}>`,
    `*Approvers*\n${view.quorum} of role \`${view.role}\``,
  ];
  const blocks: KnownBlock[] = [
    {
      type: 'section',
      text: { type: 'mrkdwn', text: `:raised_hand: *Approval needed* for ${command}` },
    },
    { type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn', text })) },
  ];
  if (view.reason)
    // The reason is the requester's own words, plain text: escaped for mrkdwn.
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Reason*\n${escapeSlack(view.reason)}` } });
  blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Plan*\n${plan}`.slice(0, 3000) } });

  const approvedBy = view.approvals.map((a) => `<@${a.userId}>`).join(', ');
  if (view.status === 'pending') {
    const progress =
      view.approvals.length > 0
        ? ` · approved so far by ${approvedBy} (${view.approvals.length} of ${view.quorum})`
        : '';
    blocks.push({
      type: 'actions',
      block_id: `approval:${view.id}`,
      elements: [
        {
          type: 'button',
          action_id: APPROVE_ACTION,
          style: 'primary',
          text: { type: 'plain_text', text: 'Approve' },
          value: view.id,
        },
        {
          type: 'button',
          action_id: REJECT_ACTION,
          style: 'danger',
          text: { type: 'plain_text', text: 'Reject' },
          value: view.id,
        },
      ],
    });
    blocks.push({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `Open until ${slackDate(view.expiresAt, new Date(view.expiresAt).toISOString())} · rule \`${view.rule}\` · request \`${view.id}\`${progress}`,
        },
      ],
    });
    return { text: `Approval needed: ${command} (requested by <@${view.requester}>)`, blocks };
  }

  const when = view.decidedAt ? slackDate(view.decidedAt, new Date(view.decidedAt).toISOString()) : 'now';
  const outcome =
    view.status === 'approved'
      ? `:white_check_mark: *Approved* by ${approvedBy} ${when}${view.jobId ? ` · job \`${view.jobId}\` started` : ''}`
      : view.status === 'rejected'
        ? `:no_entry: *Rejected* by <@${view.decidedBy ?? 'unknown'}> ${when}`
        : `:hourglass: *Expired* ${when} without ${view.quorum === 1 ? 'an approval' : `${view.quorum} approvals`}; nothing was done`;
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `${outcome} · request \`${view.id}\`` }],
  });
  return { text: `${command}: ${view.status}`, blocks };
}
