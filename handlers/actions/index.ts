import type { App, BlockButtonAction } from '@slack/bolt';
import { APPROVE_ACTION, REJECT_ACTION } from '../../src/slack/blocks/approval.js';
import type { HandlerDeps } from '../deps.js';
import { approvalActionListener } from './approval.js';

/** Registers the block-action listeners. */
export function register(app: App, deps: HandlerDeps): void {
  const listener = approvalActionListener(deps);
  app.action<BlockButtonAction>(APPROVE_ACTION, listener);
  app.action<BlockButtonAction>(REJECT_ACTION, listener);
}
