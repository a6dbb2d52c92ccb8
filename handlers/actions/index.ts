import type { App, BlockButtonAction } from '@slack/bolt';
import { APPROVE_ACTION, REJECT_ACTION } from '../../src/slack/blocks/approval.js';
import { EXTEND_ACTION } from '../../src/slack/blocks/expiry.js';
import type { HandlerDeps } from '../deps.js';
import { approvalActionListener } from './approval.js';
import { envExtendActionListener } from './env-extend.js';

/** Registers the block-action listeners. */
export function register(app: App, deps: HandlerDeps): void {
  // One listener for both buttons: Bolt runs every listener's matcher on every request.
  const approval = new RegExp(
    `^(${[APPROVE_ACTION, REJECT_ACTION].map((a) => a.replace('.', '\\.')).join('|')})$`,
  );
  app.action<BlockButtonAction>(approval, approvalActionListener(deps));
  app.action<BlockButtonAction>(EXTEND_ACTION, envExtendActionListener(deps));
}
