import type { App, MessageShortcut } from '@slack/bolt';
import { RESTORE_SHORTCUT_CALLBACK } from '../../src/slack/blocks/restore-modal.js';
import type { HandlerDeps } from '../deps.js';
import { restoreTableShortcutListener } from './restore-table.js';

/** Registers the shortcut listeners (the same callback ids as manifest.yml). */
export function register(app: App, deps: HandlerDeps): void {
  app.shortcut<MessageShortcut>(
    { callback_id: RESTORE_SHORTCUT_CALLBACK, type: 'message_action' },
    restoreTableShortcutListener(deps),
  );
}
