/**
 * The restore form submitted: the same grammar, policy and queue as `/rds restore-table`, with
 * progress in the incident message's thread. A form that does not parse stays open, each problem
 * shown under the input it is about.
 */
import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import {
  checkDbInstance,
  checkSchemaTable,
  type ParseContext,
  type ParseResult,
  parseSlashCommand,
  parseTime,
  RESTORE_MODES,
  type UsageProblem,
  usageOf,
} from '../../src/commands/index.js';
import { describeForUser } from '../../src/errors.js';
import {
  decodeRestoreMetadata,
  RESTORE_BLOCKS,
  type RestoreForm,
  readRestoreForm,
  restoreCommandText,
} from '../../src/slack/blocks/restore-modal.js';
import type { HandlerDeps } from '../deps.js';
import { intake } from '../intake.js';

/** Problems by block id, as `response_action: 'errors'` wants them. */
export type FormErrors = Partial<Record<(typeof RESTORE_BLOCKS)[keyof typeof RESTORE_BLOCKS], string>>;

/** A checked form: the parsed command and its text, or what is wrong with which input. */
export type CheckedRestoreForm =
  | { ok: true; text: string; parsed: Extract<ParseResult, { ok: true }> }
  | { ok: false; text: string; errors: FormErrors; problem: UsageProblem };

/**
 * Checks a submitted form the way `/rds restore-table` checks its words. Each input is first held
 * to the grammar's own check for it (so a value cannot smuggle extra words into the command, and a
 * problem lands under the right input); then the whole command is parsed by the grammar, which has
 * the last word.
 */
export function checkRestoreForm(form: RestoreForm, ctx: ParseContext): CheckedRestoreForm {
  const text = restoreCommandText(form);
  const errors: FormErrors = {};
  const db = checkDbInstance(form.db);
  if (!db.ok) errors[RESTORE_BLOCKS.db] = db.error;
  const table = checkSchemaTable(`${form.schema}.${form.table}`);
  if (!table.ok) {
    // Blame the schema when it is wrong on its own, else the table.
    const schemaAlone = checkSchemaTable(`${form.schema}.t`);
    errors[schemaAlone.ok ? RESTORE_BLOCKS.table : RESTORE_BLOCKS.schema] = table.error;
  }
  const time = parseTime(form.time, ctx);
  if (!time.ok) errors[RESTORE_BLOCKS.time] = time.error;
  if (!(RESTORE_MODES as readonly string[]).includes(form.mode)) {
    errors[RESTORE_BLOCKS.mode] = `Choose one of ${RESTORE_MODES.join(', ')}.`;
  }
  const first = Object.values(errors)[0];
  const usage = usageOf('/rds', 'restore-table');
  if (first !== undefined) return { ok: false, text, errors, problem: { message: first, usage } };

  const parsed = parseSlashCommand('/rds', text, ctx);
  if (!parsed.ok) {
    return {
      ok: false,
      text,
      errors: { [RESTORE_BLOCKS.time]: parsed.problem.message },
      problem: parsed.problem,
    };
  }
  const c = parsed.command;
  if (
    c.kind !== 'rds.restore-table' ||
    c.dbInstance !== form.db ||
    c.schema !== form.schema ||
    c.table !== form.table ||
    c.mode !== form.mode
  ) {
    // Cannot happen once every input passed its check; refuse rather than run something else.
    const message = 'The form did not read back as the same command: check each field.';
    return { ok: false, text, errors: { [RESTORE_BLOCKS.table]: message }, problem: { message, usage } };
  }
  return { ok: true, text, parsed };
}

/** The listener for the restore form's `view_submission`. */
export function restoreTableViewListener(deps: HandlerDeps) {
  return async ({
    ack,
    body,
    view,
    client,
  }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs): Promise<void> => {
    const started = performance.now();
    const userId = body.user.id;
    const meta = decodeRestoreMetadata(view.private_metadata);
    if (!meta) {
      await ack({
        response_action: 'errors',
        errors: {
          [RESTORE_BLOCKS.time]: 'This form lost track of its message: close it and run the shortcut again.',
        },
      });
      deps.metrics.slackRequests.inc({ kind: 'view', outcome: 'error' });
      return;
    }
    const ctx = { now: new Date(), timeZone: deps.config.file.timezone };
    const checked = checkRestoreForm(readRestoreForm(view.state.values), ctx);
    const request = {
      // The same view submitted twice (a double click) has the same id and hash: one job.
      requestId: `view:${view.id}:${view.hash}`,
      userId,
      channelId: meta.channelId,
      threadTs: meta.threadTs,
      text: `/rds ${checked.text}`,
      source: 'action' as const,
      receivedAt: Date.now(),
    };
    let outcome = 'error';
    try {
      if (!checked.ok) {
        await ack({ response_action: 'errors', errors: checked.errors });
        deps.metrics.ackSeconds.observe({ kind: 'view' }, (performance.now() - started) / 1000);
        outcome = 'usage';
        // Recorded in the audit log like any command that did not parse; the form shows the problem.
        await intake(deps, { ok: false, problem: checked.problem }, request);
        return;
      }
      await ack();
      deps.metrics.ackSeconds.observe({ kind: 'view' }, (performance.now() - started) / 1000);
      let text: string;
      try {
        const reply = await intake(deps, checked.parsed, request);
        outcome = reply.outcome;
        text = reply.text;
      } catch (error) {
        deps.logger.error({ err: error, user: userId }, 'restore form failed');
        text = `:x: Capstan could not take this command: ${describeForUser(error)}`;
      }
      // In the channel, like a slash command's reply; in the thread when the message was a reply.
      const inThread = meta.threadTs !== meta.messageTs ? { thread_ts: meta.threadTs } : {};
      await client.chat.postEphemeral({ channel: meta.channelId, user: userId, text, ...inThread });
    } catch (error) {
      deps.logger.error({ err: error, user: userId }, 'restore form: could not answer');
    } finally {
      deps.metrics.slackRequests.inc({ kind: 'view', outcome });
    }
  };
}
