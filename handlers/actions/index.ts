import type { App, BlockButtonAction } from '@slack/bolt';
import {
  ALERT_ACK_ACTION,
  ALERT_INVESTIGATE_ACTION,
  ALERT_SNOOZE_1H_ACTION,
  ALERT_SNOOZE_4H_ACTION,
} from '../../src/slack/blocks/alert.js';
import { APPROVE_ACTION, REJECT_ACTION } from '../../src/slack/blocks/approval.js';
import { EXTEND_ACTION } from '../../src/slack/blocks/expiry.js';
import { ENV_DELETE_ACTION, JOB_CANCEL_ACTION } from '../../src/slack/blocks/home.js';
import type { HandlerDeps } from '../deps.js';
import { alertActionListener, alertInvestigateListener } from './alert.js';
import { approvalActionListener } from './approval.js';
import { envDeleteActionListener } from './env-delete.js';
import { envExtendActionListener } from './env-extend.js';
import { jobCancelActionListener } from './job-cancel.js';

/** Registers the block-action listeners. */
export function register(app: App, deps: HandlerDeps): void {
  // One listener for both buttons: Bolt runs every listener's matcher on every request.
  const approval = new RegExp(
    `^(${[APPROVE_ACTION, REJECT_ACTION].map((a) => a.replace('.', '\\.')).join('|')})$`,
  );
  app.action<BlockButtonAction>(approval, approvalActionListener(deps));
  app.action<BlockButtonAction>(EXTEND_ACTION, envExtendActionListener(deps));
  app.action<BlockButtonAction>(ENV_DELETE_ACTION, envDeleteActionListener(deps));
  app.action<BlockButtonAction>(JOB_CANCEL_ACTION, jobCancelActionListener(deps));
  const alertButtons = new RegExp(
    `^(${[ALERT_ACK_ACTION, ALERT_SNOOZE_1H_ACTION, ALERT_SNOOZE_4H_ACTION].map((a) => a.replace('.', '\\.')).join('|')})$`,
  );
  app.action<BlockButtonAction>(alertButtons, alertActionListener(deps));
  app.action<BlockButtonAction>(ALERT_INVESTIGATE_ACTION, alertInvestigateListener(deps));
}
