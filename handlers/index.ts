/** Every Slack listener, folder by folder. */
import type { App } from '@slack/bolt';
import { register as registerActions } from './actions/index.js';
import { register as registerCommands } from './commands/index.js';
import type { HandlerDeps } from './deps.js';
import { register as registerEvents } from './events/index.js';
import { register as registerFunctions } from './functions/index.js';
import { register as registerHome } from './home/index.js';
import { register as registerShortcuts } from './shortcuts/index.js';
import { register as registerViews } from './views/index.js';

export type { HandlerDeps } from './deps.js';

/** Registers all listeners on `app`. */
export function registerHandlers(app: App, deps: HandlerDeps): void {
  registerCommands(app, deps);
  registerActions(app, deps);
  registerEvents(app, deps);
  registerHome(app, deps);
  registerShortcuts(app, deps);
  registerViews(app, deps);
  registerFunctions(app, deps);
}
