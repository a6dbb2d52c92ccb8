import type { KnownBlock } from '@slack/web-api';
import { describe, expect, it } from 'vitest';
import { checkRestoreForm } from '../../handlers/views/restore-table.js';
import { parseSlashCommand, parseTime } from '../../src/commands/index.js';
import {
  decodeRestoreMetadata,
  encodeRestoreMetadata,
  MODAL_LIMITS,
  messageExcerpt,
  prefillTime,
  RESTORE_BLOCKS,
  RESTORE_SHORTCUT_CALLBACK,
  type RestoreModalInput,
  readRestoreForm,
  restoreCommandText,
  restoreInstantFor,
  restoreModal,
} from '../../src/slack/blocks/restore-modal.js';

const tsOf = (iso: string, micros = '000000') => `${Date.parse(iso) / 1000}.${micros}`;
const now = new Date('2026-11-22T12:00:00Z');

const input: RestoreModalInput = {
  channelId: 'C0OPS',
  messageTs: tsOf('2026-11-22T03:15:42Z', '734512'),
  author: { userId: 'U0DAVE' },
  messageText:
    'billing is empty?! someone ran DELETE FROM billing <https://grafana.example.com/d/x|dashboard>',
  databases: ['orders-db', 'users-db'],
  timeZone: 'Europe/Berlin',
};

function block(blocks: readonly KnownBlock[], id: string): Record<string, unknown> {
  const found = blocks.find((b) => 'block_id' in b && b.block_id === id);
  if (!found) throw new Error(`no block ${id}`);
  return found as unknown as Record<string, unknown>;
}

describe('the prefilled time', () => {
  it('is the message ts floored to the second, minus one second, on the configured zone’s clock', () => {
    expect(restoreInstantFor(tsOf('2026-11-22T03:15:42Z', '999999'))).toBe(
      Date.parse('2026-11-22T03:15:41Z'),
    );
    expect(prefillTime(input.messageTs, 'Europe/Berlin')).toBe('2026-11-22 04:15:41 +01:00');
    expect(prefillTime(input.messageTs, 'UTC')).toBe('2026-11-22 03:15:41 +00:00');
    expect(prefillTime(input.messageTs, 'America/New_York')).toBe('2026-11-21 22:15:41 -05:00');
    expect(prefillTime(input.messageTs, 'Asia/Kolkata')).toBe('2026-11-22 08:45:41 +05:30');
  });

  it('reads back through the grammar as exactly that instant', () => {
    for (const zone of ['Europe/Berlin', 'UTC', 'America/New_York', 'Australia/Lord_Howe']) {
      const time = parseTime(prefillTime(input.messageTs, zone), { now, timeZone: zone });
      expect(time.ok && time.at.toISOString()).toBe('2026-11-22T03:15:41.000Z');
    }
  });

  it('names the second pass through the fall-back hour by its offset, so it is not read as the first', () => {
    // Europe/Berlin, 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 happens twice.
    const second = tsOf('2026-10-25T01:30:01Z'); // 02:30:01 CET, the second time round
    const first = tsOf('2026-10-25T00:30:01Z'); // 02:30:01 CEST, the first time round
    expect(prefillTime(second, 'Europe/Berlin')).toBe('2026-10-25 02:30:00 +01:00');
    expect(prefillTime(first, 'Europe/Berlin')).toBe('2026-10-25 02:30:00 +02:00');
    for (const [ts, iso] of [
      [second, '2026-10-25T01:30:00.000Z'],
      [first, '2026-10-25T00:30:00.000Z'],
    ] as const) {
      const time = parseTime(prefillTime(ts, 'Europe/Berlin'), { now, timeZone: 'Europe/Berlin' });
      expect(time.ok && time.at.toISOString()).toBe(iso);
    }
  });

  it('steps back across the spring-forward gap to the last second before it', () => {
    // Europe/Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST. A message at 03:00:00 CEST.
    const ts = tsOf('2026-03-29T01:00:00Z', '250000');
    expect(prefillTime(ts, 'Europe/Berlin')).toBe('2026-03-29 01:59:59 +01:00');
    const time = parseTime(prefillTime(ts, 'Europe/Berlin'), { now, timeZone: 'Europe/Berlin' });
    expect(time.ok && time.at.toISOString()).toBe('2026-03-29T00:59:59.000Z');
  });
});

describe('private_metadata', () => {
  it('round-trips and stays small', () => {
    const meta = { channelId: 'C0OPS', threadTs: '1795312000.000100', messageTs: '1795312542.734512' };
    const text = encodeRestoreMetadata(meta);
    expect(text.length).toBeLessThan(100);
    expect(decodeRestoreMetadata(text)).toEqual(meta);
  });

  it('carries the message’s thread when it is a reply, else the message itself', () => {
    const top = decodeRestoreMetadata(restoreModal(input).private_metadata);
    expect(top).toEqual({ channelId: 'C0OPS', threadTs: input.messageTs, messageTs: input.messageTs });
    const reply = decodeRestoreMetadata(
      restoreModal({ ...input, messageThreadTs: '1795312000.000100' }).private_metadata,
    );
    expect(reply).toEqual({ channelId: 'C0OPS', threadTs: '1795312000.000100', messageTs: input.messageTs });
  });

  it('refuses what Capstan did not write', () => {
    for (const text of [
      undefined,
      '',
      'not json',
      'null',
      '{"c":"C0OPS","t":"1.2"}',
      '{"c":"#ops","t":"1.2","m":"1.2"}',
      '{"c":"C0OPS","t":"1.2; DROP","m":"1.2"}',
      `{"c":"C0OPS","t":"1.2","m":"1.2","x":"${'y'.repeat(3000)}"}`,
    ]) {
      expect(decodeRestoreMetadata(text)).toBeUndefined();
    }
  });
});

describe('restoreModal', () => {
  it('asks for instance, schema, table, time and mode, with the message quoted', () => {
    const view = restoreModal(input);
    expect(view.callback_id).toBe(RESTORE_SHORTCUT_CALLBACK);
    const blocks = view.blocks as KnownBlock[];
    const db = block(blocks, RESTORE_BLOCKS.db).element as Record<string, unknown>;
    expect(db.type).toBe('static_select');
    expect((db.options as Array<{ value: string }>).map((o) => o.value)).toEqual(['orders-db', 'users-db']);
    expect(db.initial_option).toBeUndefined();
    expect((block(blocks, RESTORE_BLOCKS.schema).element as { type: string }).type).toBe('plain_text_input');
    expect((block(blocks, RESTORE_BLOCKS.table).element as { type: string }).type).toBe('plain_text_input');
    const time = block(blocks, RESTORE_BLOCKS.time);
    expect((time.element as { initial_value: string }).initial_value).toBe('2026-11-22 04:15:41 +01:00');
    expect((time.label as { text: string }).text).toContain('Europe/Berlin');
    const mode = block(blocks, RESTORE_BLOCKS.mode).element as Record<string, unknown>;
    expect(mode.type).toBe('radio_buttons');
    expect((mode.options as Array<{ value: string }>).map((o) => o.value)).toEqual([
      'side-table',
      'merge-missing',
      'replace',
    ]);
    expect((mode.initial_option as { value: string }).value).toBe('side-table');
    const context = JSON.stringify(blocks[0]);
    expect(context).toContain('<@U0DAVE> posted at <!date^1795317342^');
    expect(context).toContain('someone ran DELETE FROM billing dashboard');
    expect(context).not.toContain('https://');
  });

  it('offers a text input for the instance when the config names no database (or too many for a menu)', () => {
    for (const databases of [[], Array.from({ length: 150 }, (_, i) => `db-${i}`)]) {
      const db = block(restoreModal({ ...input, databases }).blocks as KnownBlock[], RESTORE_BLOCKS.db);
      expect((db.element as { type: string }).type).toBe('plain_text_input');
    }
    const one = block(
      restoreModal({ ...input, databases: ['orders-db'] }).blocks as KnownBlock[],
      RESTORE_BLOCKS.db,
    );
    expect((one.element as { initial_option: { value: string } }).initial_option.value).toBe('orders-db');
  });

  it('stays within Slack’s limits whatever the message and config hold', () => {
    const view = restoreModal({
      ...input,
      messageThreadTs: '1795312000.000100',
      author: { name: 'x'.repeat(500) },
      messageText: `<!channel> ${'🧾 long line '.repeat(2000)}`,
      databases: Array.from({ length: 100 }, (_, i) => `db-${'a'.repeat(55)}-${i}`),
      timeZone: 'America/Argentina/ComodRivadavia',
    });
    expect(view.title.text.length).toBeLessThanOrEqual(MODAL_LIMITS.title);
    expect(view.submit?.text.length).toBeLessThanOrEqual(MODAL_LIMITS.title);
    expect(view.close?.text.length).toBeLessThanOrEqual(MODAL_LIMITS.title);
    expect(view.blocks.length).toBeLessThanOrEqual(MODAL_LIMITS.blocks);
    expect((view.private_metadata ?? '').length).toBeLessThanOrEqual(MODAL_LIMITS.privateMetadata);
    const json = JSON.stringify(view);
    expect(json).not.toContain('<!channel>');
    const texts: string[] = [];
    const visit = (node: unknown, key?: string): void => {
      if (Array.isArray(node)) for (const n of node) visit(n, key);
      else if (node && typeof node === 'object')
        for (const [k, v] of Object.entries(node)) {
          if ((k === 'options' || k === 'initial_option') && v) {
            for (const o of [v].flat() as Array<{ text: { text: string }; description?: { text: string } }>) {
              expect(o.text.text.length).toBeLessThanOrEqual(MODAL_LIMITS.optionText);
              expect(o.description?.text.length ?? 0).toBeLessThanOrEqual(MODAL_LIMITS.optionText);
            }
          }
          visit(v, k);
        }
      else if (typeof node === 'string' && key === 'text') texts.push(node);
    };
    visit(view.blocks);
    for (const text of texts) expect(text.length).toBeLessThanOrEqual(MODAL_LIMITS.contextText);
  });

  it('quotes at most a short, one-line excerpt', () => {
    expect(messageExcerpt('a\n\nb   c')).toBe('a b c');
    expect(messageExcerpt('x'.repeat(400))).toHaveLength(150);
    expect(messageExcerpt('see <https://example.com/p1234> and <@U0BOB>, <!here>')).toBe(
      'see (link) and <@U0BOB>, @here',
    );
  });
});

describe('a submission', () => {
  const values = (form: Partial<Record<keyof typeof RESTORE_BLOCKS, string>>, select = true) => {
    const text = (id: string, value: string | undefined) => ({
      [id]: { [id]: { type: 'plain_text_input', value } },
    });
    return {
      [RESTORE_BLOCKS.db]: {
        [RESTORE_BLOCKS.db]: select
          ? {
              type: 'static_select',
              selected_option: { text: { type: 'plain_text', text: form.db }, value: form.db ?? '' },
            }
          : { type: 'plain_text_input', value: form.db },
      },
      ...text(RESTORE_BLOCKS.schema, form.schema),
      ...text(RESTORE_BLOCKS.table, form.table),
      ...text(RESTORE_BLOCKS.time, form.time),
      [RESTORE_BLOCKS.mode]: {
        [RESTORE_BLOCKS.mode]: {
          type: 'radio_buttons',
          selected_option: {
            text: { type: 'plain_text', text: form.mode },
            value: form.mode ?? 'side-table',
          },
        },
      },
    };
  };
  const good = {
    db: 'orders-db',
    schema: 'shop',
    table: 'billing',
    time: '2026-11-22 04:15:41 +01:00',
    mode: 'merge-missing',
  };
  const ctx = { now, timeZone: 'Europe/Berlin' };

  it('reads back from the state and parses as the same /rds command', () => {
    for (const select of [true, false]) {
      const form = readRestoreForm(values(good, select));
      expect(form).toEqual(good);
      const parsed = parseSlashCommand('/rds', restoreCommandText(form), ctx);
      expect(parsed).toEqual({
        ok: true,
        command: {
          kind: 'rds.restore-table',
          dbInstance: 'orders-db',
          schema: 'shop',
          table: 'billing',
          at: '2026-11-22T03:15:41.000Z',
          mode: 'merge-missing',
        },
      });
      const checked = checkRestoreForm(form, ctx);
      expect(checked.ok && checked.parsed.command).toEqual(parsed.ok && parsed.command);
    }
  });

  it('puts each problem under its input, in the grammar’s words', () => {
    const errorsFor = (change: Partial<typeof good>) => {
      const checked = checkRestoreForm({ ...good, ...change }, ctx);
      return checked.ok ? {} : checked.errors;
    };
    expect(Object.keys(errorsFor({ table: 'bill-ing' }))).toEqual([RESTORE_BLOCKS.table]);
    expect(errorsFor({ table: 'bill-ing' })[RESTORE_BLOCKS.table]).toContain(
      'is not a valid `<schema>.<table>`',
    );
    expect(Object.keys(errorsFor({ schema: 'shop; DROP' }))).toEqual([RESTORE_BLOCKS.schema]);
    expect(Object.keys(errorsFor({ schema: 'shop.x' }))).toEqual([RESTORE_BLOCKS.schema]);
    expect(Object.keys(errorsFor({ db: 'Orders_DB' }))).toEqual([RESTORE_BLOCKS.db]);
    expect(errorsFor({ time: '2027-01-01 00:00' })[RESTORE_BLOCKS.time]).toContain('is in the future');
    expect(errorsFor({ time: '2026-03-29 02:30' })[RESTORE_BLOCKS.time]).toContain(
      'does not exist in Europe/Berlin',
    );
    expect(Object.keys(errorsFor({ mode: 'drop' }))).toEqual([RESTORE_BLOCKS.mode]);
    expect(Object.keys(errorsFor({ table: 'bill ing', time: 'soon' })).sort()).toEqual(
      [RESTORE_BLOCKS.table, RESTORE_BLOCKS.time].sort(),
    );
  });

  it('lets no input smuggle words into the command', () => {
    for (const change of [
      { time: '15m ago" --mode "replace' },
      { table: 'billing --mode replace' },
      { schema: '"shop' },
      { db: 'orders-db --at x' },
    ]) {
      const checked = checkRestoreForm({ ...good, ...change }, ctx);
      expect(checked.ok).toBe(false);
    }
  });
});
