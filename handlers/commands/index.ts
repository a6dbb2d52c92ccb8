import type { App } from '@slack/bolt';
import type { HandlerDeps } from '../deps.js';
import { slashCommandListener } from './slash-command.js';

/** Slash commands Capstan answers (the same list as manifest.yml). */
export const SLASH_COMMANDS = ['/env', '/lb', '/rds', '/ops'] as const;

/** Registers the slash-command listeners. */
export function register(app: App, deps: HandlerDeps): void {
  // One listener for all four: Bolt runs each registered listener's matcher on every request.
  app.command(
    new RegExp(`^(${SLASH_COMMANDS.map((c) => c.replace('/', '\\/')).join('|')})$`),
    slashCommandListener(deps),
  );
}
