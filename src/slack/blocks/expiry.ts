/** Block Kit for the expiry warning (pure): when, and an "Extend 4h" button. */
import type { KnownBlock } from '@slack/web-api';

/** Action id of the "Extend 4h" button; its value is the environment's name. */
export const EXTEND_ACTION = 'env.extend';

/** The warning an owner gets an hour before their environment expires. */
export function renderExpiryWarning(view: { env: string; owner: string; expiresAt: string }): {
  text: string;
  blocks: KnownBlock[];
} {
  const at = Math.floor(Date.parse(view.expiresAt) / 1000);
  // Slack shows the time in each reader's zone (https://api.slack.com/reference/surfaces/formatting#date-formatting).
  const when = `<!date^${at}^{time} ({date_short_pretty})|${view.expiresAt}>`;
  const text = `${view.owner ? `<@${view.owner}> ` : ''}environment \`${view.env}\` expires at ${when} and will then be deleted.`;
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `:alarm_clock: ${text}` } },
      {
        type: 'actions',
        block_id: `expiry:${view.env}`,
        elements: [
          {
            type: 'button',
            action_id: EXTEND_ACTION,
            text: { type: 'plain_text', text: 'Extend 4h' },
            value: view.env,
          },
        ],
      },
    ],
  };
}
