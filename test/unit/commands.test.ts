import { describe, expect, it } from 'vitest';
import { helpText, parseMention, parseSlashCommand } from '../../src/commands/index.js';
import { tokenize } from '../../src/commands/tokenize.js';

describe('tokenize', () => {
  it('splits on whitespace and keeps quoted words whole, smart quotes included', () => {
    expect(tokenize('disable prod --reason "kernel patch"')).toEqual({
      ok: true,
      words: ['disable', 'prod', '--reason', 'kernel patch'],
    });
    expect(tokenize('a “b c” ‘d’ ""')).toEqual({ ok: true, words: ['a', 'b c', 'd', ''] });
  });

  it('refuses an unterminated quote', () => {
    expect(tokenize('--reason "oops')).toEqual({ ok: false, error: expect.stringContaining('never closed') });
  });
});

describe('parseSlashCommand', () => {
  it('parses /ops ping and /ops help', () => {
    expect(parseSlashCommand('/ops', 'ping')).toEqual({ ok: true, command: { kind: 'ops.ping' } });
    expect(parseSlashCommand('/ops', '  PING ')).toEqual({ ok: true, command: { kind: 'ops.ping' } });
    expect(parseSlashCommand('/ops', 'help')).toEqual({ ok: true, command: { kind: 'ops.help' } });
    expect(parseSlashCommand('/ops', 'help /LB')).toEqual({
      ok: true,
      command: { kind: 'ops.help', topic: '/lb' },
    });
  });

  it('explains what is wrong and shows the usage', () => {
    const result = parseSlashCommand('/ops', 'pnig');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problem.message).toBe('`/ops` has no subcommand `pnig`. Did you mean `ping`?');
    expect(result.problem.usage).toContain('/ops ping');
  });

  it('refuses extra arguments, empty text and unknown help topics', () => {
    expect(parseSlashCommand('/ops', 'ping now')).toMatchObject({
      ok: false,
      problem: { message: expect.stringContaining('no arguments') },
    });
    expect(parseSlashCommand('/ops', '')).toMatchObject({
      ok: false,
      problem: { message: expect.stringContaining('needs a subcommand') },
    });
    expect(parseSlashCommand('/ops', 'help nope')).toMatchObject({ ok: false });
  });

  it('says plainly when a known command has not landed yet', () => {
    expect(parseSlashCommand('/env', 'list')).toMatchObject({
      ok: false,
      problem: {
        message: expect.stringContaining('not available in this version yet'),
        usage: expect.stringContaining('/env list'),
      },
    });
  });
});

describe('parseMention', () => {
  it('drops the bot mention and reads the command with or without its slash', () => {
    expect(parseMention('<@U0CAPSTAN> ops ping')).toEqual({ ok: true, command: { kind: 'ops.ping' } });
    expect(parseMention('<@U0CAPSTAN|capstan> /ops help env')).toEqual({
      ok: true,
      command: { kind: 'ops.help', topic: 'env' },
    });
    expect(parseMention('<@U0CAPSTAN>')).toMatchObject({ ok: false });
  });
});

describe('helpText', () => {
  it('lists every command, and explains one with examples', () => {
    const all = helpText();
    for (const c of ['/env', '/lb', '/rds', '/ops']) expect(all).toContain(`*${c}*`);
    expect(helpText('rds')).toContain('/rds restore-table <db-instance> <schema>.<table> --at <time>');
    expect(helpText('rds')).toContain('Examples:');
  });
});
