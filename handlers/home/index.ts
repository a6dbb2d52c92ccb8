import type { App } from '@slack/bolt';
import type { HandlerDeps } from '../deps.js';
import { homeOpenedListener } from './home-opened.js';

/**
 * Registers the App Home listeners. The tab's buttons are the messages' own (approval, alert,
 * Extend) or plain command buttons (Delete, Cancel), registered with the other actions.
 */
export function register(app: App, deps: HandlerDeps): void {
  app.event('app_home_opened', homeOpenedListener(deps));
}
