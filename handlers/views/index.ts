import type { App, ViewSubmitAction } from '@slack/bolt';
import { RESTORE_SHORTCUT_CALLBACK } from '../../src/slack/blocks/restore-modal.js';
import type { HandlerDeps } from '../deps.js';
import { restoreTableViewListener } from './restore-table.js';

/** Registers the modal (view) listeners. */
export function register(app: App, deps: HandlerDeps): void {
  app.view<ViewSubmitAction>(
    { callback_id: RESTORE_SHORTCUT_CALLBACK, type: 'view_submission' },
    restoreTableViewListener(deps),
  );
}
