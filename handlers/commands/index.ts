import type { App } from '@slack/bolt';
import type { HandlerDeps } from '../deps.js';
import { slashCommandListener } from './slash-command.js';

/** Slash commands Capstan answers (the same list as manifest.yml). */
export const SLASH_COMMANDS = ['/env', '/lb', '/rds', '/ops'] as const;

/** Registers the slash-command listeners. */
export function register(app: App, deps: HandlerDeps): void {
  const listener = slashCommandListener(deps);
  for (const name of SLASH_COMMANDS) app.command(name, listener);
}
