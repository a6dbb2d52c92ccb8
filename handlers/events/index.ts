import type { App } from '@slack/bolt';
import type { HandlerDeps } from '../deps.js';
import { appMentionListener } from './app-mention.js';

/** Registers the event listeners. */
export function register(app: App, deps: HandlerDeps): void {
  app.event('app_mention', appMentionListener(deps));
}
