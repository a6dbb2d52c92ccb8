/**
 * `app_home_opened` on the Home tab: records who opened it (their direct-message channel with
 * Capstan, their user groups) and has their tab built and published fresh by a `home.publish` job —
 * the tab shows the environments they own, which only AWS knows, and the web process never calls AWS.
 */
import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { HandlerDeps } from '../deps.js';

/** The `app_home_opened` listener. Bolt acknowledges events itself. */
export function homeOpenedListener(deps: HandlerDeps) {
  return async ({
    event,
  }: SlackEventMiddlewareArgs<'app_home_opened'> & AllMiddlewareArgs): Promise<void> => {
    // The same event comes for the Messages tab (https://docs.slack.dev/reference/events/app_home_opened).
    if (event.tab !== undefined && event.tab !== 'home') return;
    let outcome = 'error';
    try {
      const groupIds = await deps.directory.groupsOf(event.user);
      await deps.homes.opened(event.user, { dm: event.channel, groupIds });
      await deps.homes.publish(event.user);
      outcome = 'home';
    } catch (error) {
      deps.logger.error({ err: error, user: event.user }, 'could not have the Home tab published');
    } finally {
      deps.metrics.slackRequests.inc({ kind: 'event', outcome });
    }
  };
}
