/**
 * Buttons on a status alert, on its message or on a Home tab that shows it. Acknowledge (records
 * who; stops re-notification) and Snooze 1 h / 4 h are for members of the roles the alert's route
 * allows, recorded in the alert store and the audit log, and the message is updated at once.
 * Investigate starts `/rds io-credits <db>` in the alert's thread through the same intake as the
 * slash command (so policy decides as it would there).
 */

import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { parseSlashCommand } from '../../src/commands/index.js';
import { alertActionRefusal, routeFor } from '../../src/domain/alerts/routing.js';
import { type ActionOutcome, acknowledge, snooze } from '../../src/domain/alerts/state.js';
import { refreshForAlert } from '../../src/home/tabs.js';
import {
  ALERT_ACK_ACTION,
  parseAlertActionValue,
  renderAlert,
  SNOOZE_MS,
} from '../../src/slack/blocks/alert.js';
import type { HandlerDeps } from '../deps.js';
import { answerTo, commandFromButton, surfaceOf } from './surface.js';

type AlertActionArgs = SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs;

/** The listener for Acknowledge, Snooze 1 h and Snooze 4 h. */
export function alertActionListener(deps: HandlerDeps) {
  return async ({ ack, body, action, client }: AlertActionArgs): Promise<void> => {
    await ack();
    const userId = body.user.id;
    const surface = surfaceOf(body);
    if (!surface) return;
    const tell = answerTo(deps, client, userId, surface);
    const isAck = action.action_id === ALERT_ACK_ACTION;
    const snoozeMs = SNOOZE_MS[action.action_id];
    const verb = isAck ? 'acknowledge' : 'snooze';
    const target = parseAlertActionValue(action.value ?? '');
    const stored = target ? await deps.alerts.get(target.id) : undefined;
    if (!target || !stored) {
      await tell('This alert no longer exists.');
      return;
    }
    const { id, occurrence } = target;
    const actor = { userId, groupIds: await deps.directory.groupsOf(userId) };
    const refusal = alertActionRefusal(deps.config.file, actor, routeFor(deps.config.file, stored.state.key));
    if (refusal) {
      await deps.audit.append({
        kind: 'alert',
        actor: userId,
        subject: `alert ${id}`,
        outcome: 'denied',
        detail: { action: verb, reason: refusal },
      });
      await tell(`:no_entry: You cannot ${verb} this alert: ${refusal}.`);
      return;
    }

    const now = Date.now();
    const updated = await deps.alerts.update<ActionOutcome>(id, (current) => {
      const outcome =
        isAck || snoozeMs === undefined
          ? acknowledge(current, occurrence, userId, now)
          : snooze(current, occurrence, userId, now, snoozeMs);
      const changed = outcome.outcome === 'acknowledged' || outcome.outcome === 'snoozed';
      return { next: changed && 'state' in outcome ? outcome.state : 'unchanged', result: outcome };
    });
    const outcome = updated.result;
    await deps.audit.append({
      kind: 'alert',
      actor: userId,
      subject: `alert ${id}`,
      outcome: outcome.outcome,
      detail: {
        action: verb,
        occurrence,
        ...(outcome.outcome === 'snoozed' ? { until: new Date(now + (snoozeMs ?? 0)).toISOString() } : {}),
      },
    });

    switch (outcome.outcome) {
      case 'acknowledged':
      case 'snoozed': {
        const fresh = updated.stored;
        if (fresh?.state.message) {
          const { channel: at, ts } = fresh.state.message;
          await client.chat.update({ channel: at, ts, ...renderAlert(fresh.state, now) });
          await deps.alerts.markSynced(id, fresh.version);
        }
        // Every Home tab that shows it (the clicker's, and the others who may act on it).
        if (fresh)
          await refreshForAlert(deps.homes, deps.config.file, fresh.state).catch((err: unknown) =>
            deps.logger.warn({ err }, 'could not re-publish Home tabs'),
          );
        await tell(
          outcome.outcome === 'acknowledged'
            ? ':eyes: Acknowledged: no more reminders for this alert; it still updates and resolves on its own.'
            : `:zzz: Snoozed until ${new Date(now + (snoozeMs ?? 0)).toISOString()}: no reminders until then.`,
        );
        return;
      }
      case 'already':
        await tell(
          `Already acknowledged by <@${outcome.state.acknowledged?.by ?? 'unknown'}> at ${new Date(outcome.state.acknowledged?.at ?? now).toISOString()}.`,
        );
        return;
      case 'resolved':
        await tell('This alert has resolved; there is nothing to acknowledge or snooze.');
        return;
      case 'stale':
        await tell('This alert resolved; a newer one for the same problem has its own message.');
        return;
      case 'missing':
        await tell('This alert no longer exists.');
        return;
    }
  };
}

/** The listener for Investigate: `/rds io-credits <db>` in the alert's thread. */
export function alertInvestigateListener(deps: HandlerDeps) {
  return async ({ ack, body, action, client }: AlertActionArgs): Promise<void> => {
    await ack();
    const surface = surfaceOf(body);
    if (!surface) return;
    const answer = answerTo(deps, client, body.user.id, surface);
    const dbInstance = action.value ?? '';
    // On the Home tab the alert is named by its block (`alert:<occurrence>:<id>`, as on its
    // message): the job reports in the alert message's thread, as a click there would.
    const alertId = /^alert:\d+:(.+)$/.exec(action.block_id ?? '')?.[1];
    const thread =
      surface.kind === 'home' && alertId ? (await deps.alerts.get(alertId))?.state.message : undefined;
    if (surface.kind === 'home' && !thread) {
      await answer('This alert no longer has a message to investigate in.');
      return;
    }
    await commandFromButton(
      deps,
      { body, action, surface, answer },
      {
        parsed: parseSlashCommand('/rds', `io-credits ${dbInstance}`, {
          now: new Date(),
          timeZone: deps.config.file.timezone,
        }),
        text: `/rds io-credits ${dbInstance}`,
        ...(thread ? { thread: { channel: thread.channel, ts: thread.ts } } : {}),
      },
      'investigate',
    );
  };
}
