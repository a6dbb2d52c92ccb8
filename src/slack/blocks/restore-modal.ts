/**
 * Block Kit for the "Restore a table to just before this message" modal (pure): the form opened by
 * the message shortcut, what it carries in `private_metadata`, and how a submission's state reads back.
 *
 * Slack limits honoured here (https://api.slack.com/reference/surfaces/views,
 * https://api.slack.com/reference/block-kit/composition-objects#option): a modal title, submit and
 * close label at most 24 characters; at most 100 blocks; `private_metadata` at most 3,000
 * characters; option text and description at most 75 characters; a static select at most 100 options.
 */
import type { KnownBlock, ModalView, PlainTextOption } from '@slack/web-api';
import { formatZonedTime, type RestoreMode } from '../../commands/index.js';

/** The shortcut's callback id (manifest.yml) and the modal's: one name for the whole flow. */
export const RESTORE_SHORTCUT_CALLBACK = 'restore_table_before_message';

/** Block ids of the form's inputs; each input's action id is the same string. */
export const RESTORE_BLOCKS = {
  db: 'restore.db',
  schema: 'restore.schema',
  table: 'restore.table',
  time: 'restore.time',
  mode: 'restore.mode',
} as const;

/** One of the form's inputs. */
export type RestoreField = keyof typeof RESTORE_BLOCKS;

/** Slack's limits this module relies on (see the file comment for the documents). */
export const MODAL_LIMITS = {
  title: 24,
  blocks: 100,
  privateMetadata: 3000,
  optionText: 75,
  selectOptions: 100,
  contextText: 3000,
} as const;

/** How long the message excerpt in the context line may be, in characters. */
export const EXCERPT_LENGTH = 150;

/** The modes, in the order shown, each with its one-line explanation (≤ 75 characters). */
export const RESTORE_MODE_CHOICES: ReadonlyArray<{ mode: RestoreMode; text: string; description: string }> = [
  {
    mode: 'side-table',
    text: 'Side table (default)',
    description: 'Copy the old rows beside the live table; change nothing else.',
  },
  {
    mode: 'merge-missing',
    text: 'Merge missing rows',
    description: 'Put back only the rows deleted since; keep every other live row.',
  },
  {
    mode: 'replace',
    text: 'Replace the table',
    description: 'Swap the old table in, keep the live one renamed. Needs approval.',
  },
];

/** What the modal carries from the shortcut to the submission. */
export interface RestoreModalMetadata {
  /** The channel of the incident message. */
  channelId: string;
  /** The thread to report in: the message's `thread_ts` when it is a reply, else its own ts. */
  threadTs: string;
  /** The incident message's own ts (`seconds.micros`): when it was posted. */
  messageTs: string;
}

/** What the shortcut knows about the message it was invoked on. */
export interface RestoreModalInput {
  channelId: string;
  messageTs: string;
  /** Set when the message is a thread reply. */
  messageThreadTs?: string;
  /** Who posted it: a user id, else the bot's name if a bot did. */
  author?: { userId: string } | { name: string };
  /** The message text (Slack mrkdwn). */
  messageText?: string;
  /** DB instance ids from the config file; none → a free-text input. */
  databases: readonly string[];
  /** The configured IANA time zone. */
  timeZone: string;
}

/** A submission's values, as typed (nothing validated yet). */
export interface RestoreForm {
  db: string;
  schema: string;
  table: string;
  time: string;
  mode: string;
}

const TS = /^\d{1,12}\.\d{1,6}$/;

/** The instant a Slack message ts names, floored to the whole second, in epoch ms. */
export function messageSecondMs(ts: string): number {
  return Number(ts.split('.')[0]) * 1000;
}

/** The moment to restore to for a message posted at `ts`: one second before the second it was posted in. */
export function restoreInstantFor(ts: string): number {
  return messageSecondMs(ts) - 1000;
}

/** The time the form starts with for a message posted at `ts`. */
export function prefillTime(ts: string, timeZone: string): string {
  return formatZonedTime(restoreInstantFor(ts), timeZone);
}

/** `private_metadata` for the modal (compact JSON). */
export function encodeRestoreMetadata(meta: RestoreModalMetadata): string {
  return JSON.stringify({ c: meta.channelId, t: meta.threadTs, m: meta.messageTs });
}

/** The metadata back from `private_metadata`, or undefined when it is not Capstan's. */
export function decodeRestoreMetadata(text: string | undefined): RestoreModalMetadata | undefined {
  if (!text || text.length > MODAL_LIMITS.privateMetadata) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (raw === null || typeof raw !== 'object') return undefined;
  const { c, t, m } = raw as Record<string, unknown>;
  if (typeof c !== 'string' || !/^[CGD][A-Z0-9]{2,}$/.test(c)) return undefined;
  if (typeof t !== 'string' || !TS.test(t) || typeof m !== 'string' || !TS.test(m)) return undefined;
  return { channelId: c, threadTs: t, messageTs: m };
}

/**
 * A message's text as a one-line, link-free excerpt for mrkdwn: links become their labels (or
 * "(link)"), broadcast mentions lose their power, whitespace collapses, and it is cut at
 * {@link EXCERPT_LENGTH} characters. User and channel mentions stay (they render as names).
 */
export function messageExcerpt(text: string, limit = EXCERPT_LENGTH): string {
  const plain = text
    .replace(/<!(here|channel|everyone)(\|[^>]*)?>/g, '@$1')
    .replace(/<!subteam\^[A-Z0-9]+\|([^>]*)>/g, '$1')
    .replace(/<!date\^[^|>]*\|([^>]*)>/g, '$1')
    .replace(/<(?:https?|mailto|slack):[^|>]*\|([^>]*)>/g, '$1')
    .replace(/<(?:https?|mailto|slack):[^>]*>/g, '(link)')
    .replace(/\s+/g, ' ')
    .trim();
  const chars = [...plain];
  return chars.length > limit ? `${chars.slice(0, limit - 1).join('')}…` : plain;
}

function plain(text: string) {
  return { type: 'plain_text' as const, text, emoji: true };
}

function contextLine(input: RestoreModalInput): string {
  const seconds = Math.floor(messageSecondMs(input.messageTs) / 1000);
  const who =
    input.author === undefined
      ? 'Someone'
      : 'userId' in input.author
        ? `<@${input.author.userId}>`
        : messageExcerpt(input.author.name, 40);
  // Slack renders <!date…> in each reader's own zone; the fallback is UTC.
  const when = `<!date^${seconds}^{date_short_pretty} {time_secs}|${new Date(seconds * 1000).toISOString()}>`;
  const excerpt = messageExcerpt(input.messageText ?? '');
  return `${who} posted at ${when}${excerpt ? `: “${excerpt}”` : ''}`;
}

/** The modal the shortcut opens. */
export function restoreModal(input: RestoreModalInput): ModalView {
  const meta: RestoreModalMetadata = {
    channelId: input.channelId,
    threadTs: input.messageThreadTs ?? input.messageTs,
    messageTs: input.messageTs,
  };
  const databases = input.databases.slice(0, MODAL_LIMITS.selectOptions);
  const dbOption = (db: string): PlainTextOption => ({ text: plain(db), value: db });
  const firstDb = databases[0];
  const dbBlock: KnownBlock =
    databases.length > 0 && firstDb !== undefined && input.databases.length <= MODAL_LIMITS.selectOptions
      ? {
          type: 'input',
          block_id: RESTORE_BLOCKS.db,
          label: plain('DB instance'),
          element: {
            type: 'static_select',
            action_id: RESTORE_BLOCKS.db,
            placeholder: plain('Choose a DB instance'),
            options: databases.map(dbOption),
            ...(databases.length === 1 ? { initial_option: dbOption(firstDb) } : {}),
          },
        }
      : {
          type: 'input',
          block_id: RESTORE_BLOCKS.db,
          label: plain('DB instance'),
          element: {
            type: 'plain_text_input',
            action_id: RESTORE_BLOCKS.db,
            max_length: 63,
            placeholder: plain('orders-db'),
          },
          hint: plain('The RDS DB instance identifier.'),
        };
  const modeOption = (choice: (typeof RESTORE_MODE_CHOICES)[number]) => ({
    text: plain(choice.text),
    value: choice.mode,
    description: plain(choice.description),
  });
  const [defaultMode] = RESTORE_MODE_CHOICES;
  const blocks: KnownBlock[] = [
    {
      type: 'context',
      elements: [{ type: 'mrkdwn', text: contextLine(input).slice(0, MODAL_LIMITS.contextText) }],
    },
    dbBlock,
    {
      type: 'input',
      block_id: RESTORE_BLOCKS.schema,
      label: plain('Schema'),
      element: {
        type: 'plain_text_input',
        action_id: RESTORE_BLOCKS.schema,
        max_length: 64,
        placeholder: plain('shop'),
      },
    },
    {
      type: 'input',
      block_id: RESTORE_BLOCKS.table,
      label: plain('Table'),
      element: {
        type: 'plain_text_input',
        action_id: RESTORE_BLOCKS.table,
        max_length: 64,
        placeholder: plain('billing'),
      },
    },
    {
      type: 'input',
      block_id: RESTORE_BLOCKS.time,
      label: plain(`Restore to (${input.timeZone})`),
      element: {
        type: 'plain_text_input',
        action_id: RESTORE_BLOCKS.time,
        initial_value: prefillTime(input.messageTs, input.timeZone),
        max_length: 80,
      },
      hint: plain(
        'One second before the message was posted. Also accepted: YYYY-MM-DD HH:MM[:SS], ISO-8601 with an offset, or "15m ago".',
      ),
    },
    {
      type: 'input',
      block_id: RESTORE_BLOCKS.mode,
      label: plain('Mode'),
      element: {
        type: 'radio_buttons',
        action_id: RESTORE_BLOCKS.mode,
        options: RESTORE_MODE_CHOICES.map(modeOption),
        ...(defaultMode ? { initial_option: modeOption(defaultMode) } : {}),
      },
    },
  ];
  return {
    type: 'modal',
    callback_id: RESTORE_SHORTCUT_CALLBACK,
    title: plain('Restore a table'),
    submit: plain('Restore'),
    close: plain('Cancel'),
    private_metadata: encodeRestoreMetadata(meta),
    blocks,
  };
}

/** The state of one input, as Slack sends it in `view.state.values`. */
interface StateValue {
  value?: string | null;
  selected_option?: { value: string } | null;
}

/** A submission's values by field, read from `view.state.values` (missing inputs read as ''). */
export function readRestoreForm(values: Record<string, Record<string, StateValue>>): RestoreForm {
  const read = (field: RestoreField): string => {
    const state = values[RESTORE_BLOCKS[field]]?.[RESTORE_BLOCKS[field]];
    return (state?.selected_option?.value ?? state?.value ?? '').trim();
  };
  return {
    db: read('db'),
    schema: read('schema'),
    table: read('table'),
    time: read('time'),
    mode: read('mode') || 'side-table',
  };
}

/** The command a submission stands for, as `/rds` would be typed: text after `/rds`. */
export function restoreCommandText(form: RestoreForm): string {
  return `restore-table ${form.db} ${form.schema}.${form.table} --at "${form.time}" --mode ${form.mode}`;
}
