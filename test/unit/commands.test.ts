import { describe, expect, it } from 'vitest';
import {
  COMMAND_HELP,
  type Command,
  closest,
  echoCommand,
  escapeSlack,
  helpText,
  type ParseContext,
  type ParseResult,
  parseMention,
  parseSlashCommand,
  parseTime,
  plainText,
  resolveHelpTopic,
  usageOf,
} from '../../src/commands/index.js';
import { tokenize } from '../../src/commands/tokenize.js';

/** Sunday 22 November 2026, 13:00 in Berlin. */
const ctx: ParseContext = { now: new Date('2026-11-22T12:00:00Z'), timeZone: 'Europe/Berlin' };

/** The command `text` parses to (fails the test if it does not parse). */
function parsed(command: string, text: string, context: ParseContext = ctx): Command {
  const result = parseSlashCommand(command, text, context);
  if (!result.ok) throw new Error(`expected ${command} ${text} to parse, got: ${result.problem.message}`);
  return result.command;
}

/** The problem `text` gives (fails the test if it parses). */
function refused(
  command: string,
  text: string,
  context: ParseContext = ctx,
): { message: string; usage: string } {
  const result = parseSlashCommand(command, text, context);
  if (result.ok)
    throw new Error(`expected ${command} ${text} to be refused, got ${JSON.stringify(result.command)}`);
  return result.problem;
}

function message(command: string, text: string): string {
  return refused(command, text).message;
}

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
    expect(parseSlashCommand('/ops', 'ping', ctx)).toEqual({ ok: true, command: { kind: 'ops.ping' } });
    expect(parseSlashCommand('/ops', '  PING ', ctx)).toEqual({ ok: true, command: { kind: 'ops.ping' } });
    expect(parseSlashCommand('/ops', 'help', ctx)).toEqual({ ok: true, command: { kind: 'ops.help' } });
    expect(parseSlashCommand('/ops', 'help /LB', ctx)).toEqual({
      ok: true,
      command: { kind: 'ops.help', topic: '/lb' },
    });
  });

  it('explains what is wrong and shows the usage', () => {
    const result = parseSlashCommand('/ops', 'pnig', ctx);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problem.message).toBe('`/ops` has no subcommand `pnig`. Did you mean `ping`?');
    expect(result.problem.usage).toContain('/ops ping');
  });

  it('refuses extra arguments, empty text and unknown help topics', () => {
    expect(parseSlashCommand('/ops', 'ping now', ctx)).toMatchObject({
      ok: false,
      problem: { message: expect.stringContaining('no arguments') },
    });
    expect(parseSlashCommand('/ops', '', ctx)).toMatchObject({
      ok: false,
      problem: { message: expect.stringContaining('needs a subcommand') },
    });
    expect(parseSlashCommand('/ops', 'help nope', ctx)).toMatchObject({ ok: false });
  });

  it('parses every listed subcommand into its typed command (no "not available yet")', () => {
    const examples: [string, string, Command['kind']][] = [
      ['/env', 'create feature-42', 'env.create'],
      ['/env', 'delete feature-42', 'env.delete'],
      ['/env', 'list', 'env.list'],
      ['/env', 'status feature-42', 'env.status'],
      ['/lb', 'disable prod', 'lb.disable'],
      ['/lb', 'enable prod', 'lb.enable'],
      ['/lb', 'status prod', 'lb.status'],
      ['/rds', 'restore-table orders-db shop.billing --at "15m ago"', 'rds.restore-table'],
      ['/rds', 'io-credits orders-db', 'rds.io-credits'],
      ['/ops', 'help', 'ops.help'],
      ['/ops', 'jobs', 'ops.jobs'],
      ['/ops', 'cancel 3f9a2c41b7de', 'ops.cancel'],
      ['/ops', 'audit', 'ops.audit'],
      ['/ops', 'ping', 'ops.ping'],
    ];
    for (const [command, text, kind] of examples) expect(parsed(command, text).kind).toBe(kind);
  });

  it('refuses an unknown command, with a suggestion and every usage', () => {
    const problem = refused('/envv', 'list');
    expect(problem.message).toBe(
      'Capstan has no command `/envv`. Did you mean `/env`? Commands: `/env`, `/lb`, `/rds`, `/ops`.',
    );
    for (const help of COMMAND_HELP) for (const line of help.usage) expect(problem.usage).toContain(line);
    expect(parsed('/ENV', 'LIST')).toEqual({ kind: 'env.list' });
  });

  it('suggests subcommands, also from the other commands', () => {
    expect(message('/env', 'craete x')).toBe('`/env` has no subcommand `craete`. Did you mean `create`?');
    expect(message('/rds', 'restore x')).toBe('`/rds` has no subcommand `restore`.');
    expect(message('/ops', 'status')).toBe(
      '`/ops` has no subcommand `status`. `/env status` and `/lb status` exist.',
    );
    expect(message('/lb', '')).toBe('`/lb` needs a subcommand: `disable`, `enable`, `status`, or `help`.');
    expect(refused('/env', 'craete x').usage).toBe(usageOf('/env'));
  });
});

describe('/env', () => {
  it('create: every option, both syntaxes, any order, any case', () => {
    expect(parsed('/env', 'create feature-42 --blueprint web --size 2 --ttl 8h --version 1.4.2')).toEqual({
      kind: 'env.create',
      name: 'feature-42',
      blueprint: 'web',
      size: 2,
      ttlMs: 8 * 3600_000,
      version: '1.4.2',
    });
    expect(
      parsed('/env', '--size=3 CREATE --TTL=1h30m --Blueprint=api feature-42 --version=2.0.0-rc.1+b7'),
    ).toEqual({
      kind: 'env.create',
      name: 'feature-42',
      blueprint: 'api',
      size: 3,
      ttlMs: 90 * 60_000,
      version: '2.0.0-rc.1+b7',
    });
  });

  it('create: options are optional and absent ones are not in the command', () => {
    const command = parsed('/env', 'create a');
    expect(command).toEqual({ kind: 'env.create', name: 'a' });
    expect(Object.keys(command)).toEqual(['kind', 'name']);
  });

  it('create: --ttl durations from 15 minutes to 30 days', () => {
    const ttl = (t: string) => {
      const c = parsed('/env', `create a --ttl ${t}`);
      return c.kind === 'env.create' ? c.ttlMs : undefined;
    };
    expect(ttl('30m')).toBe(30 * 60_000);
    expect(ttl('15m')).toBe(15 * 60_000);
    expect(ttl('2d')).toBe(2 * 86_400_000);
    expect(ttl('30d')).toBe(30 * 86_400_000);
    expect(ttl('1h30m')).toBe(90 * 60_000);
    expect(ttl('"1h 30m"')).toBe(90 * 60_000);
    expect(ttl('90min')).toBe(90 * 60_000);
    expect(message('/env', 'create a --ttl 10m')).toBe(
      '`--ttl` must be from `15m` to `30d`; `10m` is too short.',
    );
    expect(message('/env', 'create a --ttl 31d')).toBe(
      '`--ttl` must be from `15m` to `30d`; `31d` is too long.',
    );
    expect(message('/env', 'create a --ttl 8')).toBe(
      '`--ttl`: `8` has no unit: write e.g. `8h` or `8m`. It goes from `15m` to `30d`.',
    );
    expect(message('/env', 'create a --ttl forever')).toBe(
      '`--ttl`: `forever` is not a duration like `30m`, `8h`, `2d` or `1h30m`. It goes from `15m` to `30d`.',
    );
    expect(message('/env', 'create a --ttl 8y')).toContain('has an unknown unit `y`');
  });

  it('create: --size is a whole number from 1 to 100', () => {
    expect(parsed('/env', 'create a --size 100')).toMatchObject({ size: 100 });
    expect(parsed('/env', 'create a --size 1')).toMatchObject({ size: 1 });
    expect(message('/env', 'create a --size 0')).toBe(
      '`--size` must be a whole number from 1 to 100; 0 is too small.',
    );
    expect(message('/env', 'create a --size 101')).toBe(
      '`--size` must be a whole number from 1 to 100; 101 is too big.',
    );
    expect(message('/env', 'create a --size 2.5')).toBe(
      '`--size` must be a whole number from 1 to 100, not `2.5`.',
    );
    expect(message('/env', 'create a --size two')).toBe(
      '`--size` must be a whole number from 1 to 100, not `two`.',
    );
  });

  it('create: --version and --blueprint are checked', () => {
    expect(message('/env', 'create a --version -1')).toBe(
      '`-1` is not a valid `--version`: use up to 64 letters, digits, `.`, `_`, `+` and `-`, starting with a letter or digit, e.g. `1.4.2`.',
    );
    expect(message('/env', 'create a --version --size 2')).toBe(
      '`--version` needs a value, e.g. `--version 1.4.2`.',
    );
    expect(message('/env', 'create a --version=.1')).toBe(
      '`.1` is not a valid `--version`: use up to 64 letters, digits, `.`, `_`, `+` and `-`, starting with a letter or digit, e.g. `1.4.2`.',
    );
    expect(message('/env', 'create a --version "1;rm"')).toContain('is not a valid `--version`');
    expect(message('/env', 'create a --blueprint Web')).toBe(
      'Blueprint names are lowercase: use `web` (1–32 lowercase letters, digits and single hyphens, starting with a letter and not ending with a hyphen).',
    );
    expect(message('/env', 'create a --blueprint web_2')).toBe(
      '`web_2` is not a valid blueprint name: `_` is not allowed. Blueprint names are 1–32 lowercase letters, digits and single hyphens, starting with a letter and not ending with a hyphen, e.g. `web`.',
    );
  });

  it('refuses bad environment names, saying exactly what is allowed', () => {
    const rule =
      'Environment names are 1–32 lowercase letters, digits and single hyphens, starting with a letter and not ending with a hyphen, e.g. `feature-42`.';
    expect(message('/env', 'create Feature-42')).toBe(
      'Environment names are lowercase: use `feature-42` (1–32 lowercase letters, digits and single hyphens, starting with a letter and not ending with a hyphen).',
    );
    expect(message('/env', 'create "prod; rm -rf /"')).toBe(
      `\`prod; rm -rf /\` is not a valid environment name: \`;\` is not allowed. ${rule}`,
    );
    expect(message('/env', 'create 42-feature')).toBe(
      `\`42-feature\` is not a valid environment name: it must start with a letter. ${rule}`,
    );
    expect(message('/env', 'create a--b')).toBe(
      `\`a--b\` is not a valid environment name: it has two hyphens in a row. ${rule}`,
    );
    expect(message('/env', 'create ab-')).toBe(
      `\`ab-\` is not a valid environment name: it must not end with a hyphen. ${rule}`,
    );
    expect(message('/env', 'create "a b"')).toBe(
      `\`a b\` is not a valid environment name: a space is not allowed. ${rule}`,
    );
    expect(message('/env', 'create Ab_c')).toBe(
      `\`Ab_c\` is not a valid environment name: it has uppercase letters. ${rule}`,
    );
    expect(message('/env', `create ${'a'.repeat(33)}`)).toBe(
      `\`${'a'.repeat(33)}\` is 33 characters long, too long for an environment name. ${rule}`,
    );
    expect(message('/env', 'create ""')).toBe(`The environment name is empty. ${rule}`);
    expect(parsed('/env', `create ${'a'.repeat(32)}`)).toMatchObject({ name: 'a'.repeat(32) });
    expect(message('/env', 'create a\u0000b')).toBe(
      `\`a\ufffdb\` is not a valid environment name: U+0000 is not allowed. ${rule}`,
    );
  });

  it('delete, list and status', () => {
    expect(parsed('/env', 'delete feature-42')).toEqual({ kind: 'env.delete', name: 'feature-42' });
    expect(parsed('/env', 'status feature-42')).toEqual({ kind: 'env.status', name: 'feature-42' });
    expect(parsed('/env', 'list')).toEqual({ kind: 'env.list' });
    expect(message('/env', 'list all')).toBe('`/env list` takes no arguments, but got `all`.');
    expect(message('/env', 'delete')).toBe(
      "`/env delete` needs the environment's name, e.g. `/env delete feature-42`.",
    );
    expect(message('/env', 'delete a --force')).toBe('`/env delete` takes no options, but got `--force`.');
    expect(refused('/env', 'delete').usage).toBe('/env delete <name>');
  });

  it('explains option mistakes precisely', () => {
    expect(message('/env', 'create a --sise 2')).toBe(
      '`/env create` has no option `--sise`. Did you mean `--size`?',
    );
    expect(message('/env', 'create a --colour red')).toBe(
      '`/env create` has no option `--colour`. Its options: `--blueprint`, `--size`, `--ttl`, `--version`.',
    );
    expect(message('/env', 'create a --size 2 --size 3')).toBe('`--size` is given twice; give it once.');
    expect(message('/env', 'create a --size=2 --SIZE 3')).toBe('`--size` is given twice; give it once.');
    expect(message('/env', 'create a --size')).toBe('`--size` needs a value, e.g. `--size 2`.');
    expect(message('/env', 'create a --size --ttl 8h')).toBe('`--size` needs a value, e.g. `--size 2`.');
    expect(message('/env', 'create a --size=')).toBe('`--size` needs a value, e.g. `--size 2`.');
    expect(message('/env', 'create a --size ""')).toBe('`--size` needs a value, e.g. `--size 2`.');
    expect(message('/env', 'create a -s 2')).toBe(
      '`-s` is not an option: options start with two hyphens. Did you mean `--size`?',
    );
    expect(message('/env', 'create a --=2')).toBe(
      '`--` is not an option: write `--name value` or `--name=value`.',
    );
    expect(message('/env', 'create a b')).toBe(
      '`/env create` takes only `<name>`; `b` is one word too many.',
    );
    expect(message('/env', 'create')).toBe(
      "`/env create` needs the environment's name, e.g. `/env create feature-42`.",
    );
    expect(message('/env', 'create <name>')).toBe(
      "`&lt;name&gt;` is a placeholder from the usage: put the environment's name there, e.g. `/env create feature-42`.",
    );
  });

  it('reads an autocorrected dash as two hyphens', () => {
    expect(parsed('/env', 'create a —size 2 –ttl 8h')).toEqual({
      kind: 'env.create',
      name: 'a',
      size: 2,
      ttlMs: 8 * 3600_000,
    });
  });

  it('--help and `help` lead to the help of the command', () => {
    expect(parsed('/env', 'create a --help')).toEqual({ kind: 'ops.help', topic: '/env create' });
    expect(parsed('/env', '--help')).toEqual({ kind: 'ops.help', topic: '/env' });
    expect(parsed('/env', 'help')).toEqual({ kind: 'ops.help', topic: '/env' });
    expect(parsed('/env', 'help create')).toEqual({ kind: 'ops.help', topic: '/env create' });
    expect(message('/env', 'help crate')).toBe(
      '`/env` has no subcommand `crate` to explain. Did you mean `env create`?',
    );
  });
});

describe('/lb', () => {
  it('disable, enable and status with their options', () => {
    expect(parsed('/lb', 'disable prod --instance i-0abc1234def567890 --reason "kernel patch"')).toEqual({
      kind: 'lb.disable',
      env: 'prod',
      instanceId: 'i-0abc1234def567890',
      reason: 'kernel patch',
    });
    expect(parsed('/lb', 'disable --reason=“kernel patch” prod')).toEqual({
      kind: 'lb.disable',
      env: 'prod',
      reason: 'kernel patch',
    });
    expect(parsed('/lb', 'disable prod')).toEqual({ kind: 'lb.disable', env: 'prod' });
    expect(parsed('/lb', 'disable prod --reason "rebooting…"')).toMatchObject({ reason: 'rebooting…' });
    expect(message('/lb', 'disable prod --instance i-…')).toBe(
      '`i-…` is a placeholder from the usage: give `--instance` a real value, e.g. `--instance i-0abc1234def567890`.',
    );
    expect(parsed('/lb', 'enable prod --instance=i-0abc1234')).toEqual({
      kind: 'lb.enable',
      env: 'prod',
      instanceId: 'i-0abc1234',
    });
    expect(parsed('/lb', 'enable prod')).toEqual({ kind: 'lb.enable', env: 'prod' });
    expect(parsed('/lb', 'STATUS prod')).toEqual({ kind: 'lb.status', env: 'prod' });
  });

  it('checks instance ids', () => {
    const rule =
      'EC2 instance ids are `i-` followed by 8 or 17 lowercase hexadecimal digits (0–9, a–f), e.g. `i-0abc1234def567890`.';
    expect(message('/lb', 'enable prod --instance i-0abc123')).toBe(
      `\`i-0abc123\` is not an EC2 instance id. ${rule}`,
    );
    expect(message('/lb', 'enable prod --instance i-0abc1234def56789')).toBe(
      `\`i-0abc1234def56789\` is not an EC2 instance id. ${rule}`,
    );
    expect(message('/lb', 'enable prod --instance I-0ABC1234')).toBe(
      `Instance ids are lowercase: use \`i-0abc1234\`. ${rule}`,
    );
    expect(message('/lb', 'enable prod --instance "i-0abc1234,i-0abc1235"')).toBe(
      `\`i-0abc1234,i-0abc1235\` is not an EC2 instance id. ${rule}`,
    );
  });

  it('checks the reason', () => {
    expect(parsed('/lb', `disable prod --reason "${'r'.repeat(200)}"`)).toMatchObject({
      reason: 'r'.repeat(200),
    });
    expect(message('/lb', `disable prod --reason "${'r'.repeat(201)}"`)).toBe(
      '`--reason` is 201 characters long; it can be at most 200.',
    );
    expect(message('/lb', 'disable prod --reason "a\u0007b"')).toBe(
      '`--reason` must not contain control characters (it has U+0007).',
    );
    expect(message('/lb', 'disable prod --reason "line\nbreak"')).toBe(
      '`--reason` must not contain control characters (it has U+000A).',
    );
    expect(message('/lb', 'disable prod --reason "  "')).toBe(
      '`--reason` needs a value, e.g. `--reason "kernel patch"`.',
    );
    expect(message('/lb', 'disable prod --reason kernel patch')).toBe(
      '`/lb disable` takes only `<env>`; `patch` is one word too many. If it belongs to `--reason`, put that value in quotes: `--reason "… …"`.',
    );
  });

  it('says which subcommand an option belongs to', () => {
    expect(message('/lb', 'enable prod --reason x')).toBe(
      '`/lb enable` has no option `--reason` (`--reason` is for `/lb disable`). Its options: `--instance`.',
    );
    expect(message('/lb', 'enable prod --instnace i-0abc1234')).toBe(
      '`/lb enable` has no option `--instnace`. Did you mean `--instance`?',
    );
    expect(message('/lb', 'disable prod --inst i-0abc1234')).toBe(
      '`/lb disable` has no option `--inst`. Did you mean `--instance`?',
    );
    expect(message('/lb', 'status')).toBe(
      "`/lb status` needs the environment's name, e.g. `/lb status prod`.",
    );
  });
});

describe('/rds', () => {
  it('restore-table with every time form and mode', () => {
    expect(parsed('/rds', 'restore-table orders-db shop.billing --at "15m ago"')).toEqual({
      kind: 'rds.restore-table',
      dbInstance: 'orders-db',
      schema: 'shop',
      table: 'billing',
      at: '2026-11-22T11:45:00.000Z',
      mode: 'side-table',
    });
    expect(
      parsed(
        '/rds',
        'RESTORE-TABLE Orders-DB Shop.Billing_$2 --AT=2026-11-22T01:30:00Z --MODE Merge-Missing',
      ),
    ).toEqual({
      kind: 'rds.restore-table',
      dbInstance: 'orders-db',
      schema: 'Shop',
      table: 'Billing_$2',
      at: '2026-11-22T01:30:00.000Z',
      mode: 'merge-missing',
    });
    expect(parsed('/rds', 'restore-table --mode replace --at "2026-11-22 01:30" db shop.t')).toMatchObject({
      dbInstance: 'db',
      at: '2026-11-22T00:30:00.000Z',
      mode: 'replace',
    });
  });

  it('restore-table: --at words need no quotes', () => {
    expect(parsed('/rds', 'restore-table db s.t --at 15m ago')).toMatchObject({
      at: '2026-11-22T11:45:00.000Z',
    });
    expect(parsed('/rds', 'restore-table db --at 2 hours ago s.t')).toMatchObject({
      at: '2026-11-22T10:00:00.000Z',
    });
    expect(parsed('/rds', 'restore-table db s.t --at 2026-11-22 01:30')).toMatchObject({
      at: '2026-11-22T00:30:00.000Z',
    });
    expect(parsed('/rds', 'restore-table db s.t --at 2026-11-22 01:30 +02:00')).toMatchObject({
      at: '2026-11-21T23:30:00.000Z',
    });
    expect(parsed('/rds', 'restore-table db s.t --at=2026-11-22 01:30:15')).toMatchObject({
      at: '2026-11-22T00:30:15.000Z',
    });
  });

  it('restore-table: --at is required and checked', () => {
    expect(message('/rds', 'restore-table orders-db shop.billing')).toBe(
      '`/rds restore-table` needs `--at`, e.g. `--at "15m ago"`.',
    );
    expect(message('/rds', 'restore-table db s.t --at 2026-11-23T01:30:00Z')).toBe(
      '`--at`: `2026-11-23T01:30:00Z` is in the future (now is 2026-11-22 13:00 Europe/Berlin): a restore needs a time in the past.',
    );
    expect(message('/rds', 'restore-table db s.t --at "2026-02-30 01:30"')).toBe(
      '`--at`: `2026-02-30 01:30` is not a valid date: February 2026 has 28 days.',
    );
    expect(message('/rds', 'restore-table db s.t --at yesterday')).toBe(
      '`--at`: `yesterday` is not a time Capstan understands. Use ISO-8601 with an offset (`2026-11-22T01:30:00Z`, `2026-11-22T02:30:00+01:00`), `YYYY-MM-DD HH:MM[:SS]`, `HH:MM`, `today HH:MM` or `yesterday HH:MM` in Europe/Berlin, or a relative time (`15m ago`, `2h ago`).',
    );
    expect(message('/rds', 'restore-table db s.t --at 15m')).toBe(
      '`--at`: `15m` is a duration, not a time: did you mean `15m ago`?',
    );
  });

  it('restore-table: --mode', () => {
    expect(message('/rds', 'restore-table db s.t --at "1h ago" --mode replce')).toBe(
      '`--mode` must be `side-table` (the default), `merge-missing` or `replace`, not `replce`. Did you mean `replace`?',
    );
    expect(message('/rds', 'restore-table db s.t --at "1h ago" --mode overwrite')).toBe(
      '`--mode` must be `side-table` (the default), `merge-missing` or `replace`, not `overwrite`.',
    );
  });

  it('checks DB instance identifiers (AWS rules, any case, lowercased)', () => {
    const rule =
      'DB instance identifiers are 1–63 letters, digits and single hyphens, starting with a letter and not ending with a hyphen, e.g. `orders-db`.';
    expect(parsed('/rds', 'io-credits ORDERS-db')).toMatchObject({ dbInstance: 'orders-db' });
    expect(parsed('/rds', `io-credits a${'1'.repeat(62)}`)).toMatchObject({
      dbInstance: `a${'1'.repeat(62)}`,
    });
    expect(message('/rds', `io-credits a${'1'.repeat(63)}`)).toBe(
      `\`a${'1'.repeat(39)}…\` is 64 characters long, too long for a DB instance identifier. ${rule}`,
    );
    expect(message('/rds', 'io-credits 1db')).toBe(
      `\`1db\` is not a valid DB instance identifier: it must start with a letter. ${rule}`,
    );
    expect(message('/rds', 'io-credits orders--db')).toBe(
      `\`orders--db\` is not a valid DB instance identifier: it has two hyphens in a row. ${rule}`,
    );
    expect(message('/rds', 'io-credits orders-')).toBe(
      `\`orders-\` is not a valid DB instance identifier: it must not end with a hyphen. ${rule}`,
    );
    expect(message('/rds', 'io-credits orders_db')).toBe(
      `\`orders_db\` is not a valid DB instance identifier: \`_\` is not allowed. ${rule}`,
    );
    expect(message('/rds', 'io-credits Name=tag:capstan:env,Values=*')).toContain(
      'is not a valid DB instance identifier: `=` is not allowed.',
    );
  });

  it('checks <schema>.<table>', () => {
    const rule = 'Schema and table names are 1–64 letters, digits, `_` and `$` each.';
    const at = '--at "1h ago"';
    expect(message('/rds', `restore-table db billing ${at}`)).toBe(
      '`billing` needs its schema: write `<schema>.<table>`, e.g. `shop.billing`.',
    );
    expect(message('/rds', `restore-table db a.b.c ${at}`)).toBe(
      '`a.b.c` has more than one dot: write exactly `<schema>.<table>`, e.g. `shop.billing`.',
    );
    expect(message('/rds', `restore-table db \`shop\`.\`billing\` ${at}`)).toBe(
      'Write the table as `<schema>.<table>` without quotes or backticks, e.g. `shop.billing`.',
    );
    expect(message('/rds', `restore-table db ”shop”.billing ${at}`)).toBe(
      'Write the table as `<schema>.<table>` without quotes or backticks, e.g. `shop.billing`.',
    );
    expect(message('/rds', `restore-table db shop. ${at}`)).toBe(
      `\`shop.\` has no table name. Write \`<schema>.<table>\`. ${rule}`,
    );
    expect(message('/rds', `restore-table db shop.bil-ling ${at}`)).toBe(
      `\`shop.bil-ling\` is not a valid \`<schema>.<table>\`: \`-\` is not allowed. ${rule}`,
    );
    expect(message('/rds', `restore-table db "shop.x;DROP TABLE y" ${at}`)).toBe(
      `\`shop.x;DROP TABLE y\` is not a valid \`<schema>.<table>\`: \`;\` is not allowed. ${rule}`,
    );
    // An injection attempt is told what a name is, not that it has one word too many.
    expect(message('/rds', `restore-table db \`t\`;DROP TABLE x ${at}`)).toBe(
      '`\'t\';DROP`: backticks and `;` are not part of a name. Give the name alone, e.g. `/rds restore-table orders-db shop.billing --at "15m ago"`.',
    );
    expect(message('/rds', `restore-table db shop.t;DROP TABLE x ${at}`)).toContain(
      'backticks and `;` are not part of a name',
    );
    expect(parsed('/rds', 'restore-table db shop.billing --at today 12:30')).toMatchObject({
      at: '2026-11-22T11:30:00.000Z',
    });
    expect(parsed('/rds', 'restore-table db shop.billing --at yesterday 23:50')).toMatchObject({
      at: '2026-11-21T22:50:00.000Z',
    });
    expect(parsed('/rds', 'restore-table db shop.billing --at 12:30')).toMatchObject({
      at: '2026-11-22T11:30:00.000Z',
    });
    expect(message('/rds', 'restore-table db shop.billing --at 14:05')).toContain(
      'The nearest valid reading is `yesterday 14:05`',
    );
    expect(message('/rds', `restore-table db s.${'t'.repeat(65)} ${at}`)).toBe(
      `The table name in \`s.${'t'.repeat(38)}…\` is longer than 64 characters. ${rule}`,
    );
    expect(parsed('/rds', `restore-table db s.${'t'.repeat(64)} ${at}`)).toMatchObject({
      table: 't'.repeat(64),
    });
    expect(message('/rds', `restore-table db ${at}`)).toBe(
      '`/rds restore-table` needs the table, as `<schema>.<table>`, e.g. `/rds restore-table orders-db shop.billing --at "15m ago"`.',
    );
    expect(message('/rds', `restore-table db <schema>.<table> ${at}`)).toBe(
      '`&lt;schema&gt;.&lt;table&gt;` is a placeholder from the usage: put the table, as `<schema>.<table>` there, e.g. `/rds restore-table orders-db shop.billing --at "15m ago"`.',
    );
  });

  it('io-credits with its default and limits', () => {
    expect(parsed('/rds', 'io-credits orders-db')).toEqual({
      kind: 'rds.io-credits',
      dbInstance: 'orders-db',
      hours: 24,
    });
    expect(parsed('/rds', 'io-credits --hours=336 orders-db')).toMatchObject({ hours: 336 });
    expect(parsed('/rds', 'io-credits orders-db --hours 1')).toMatchObject({ hours: 1 });
    expect(message('/rds', 'io-credits orders-db --hours 337')).toBe(
      '`--hours` must be a whole number from 1 to 336; 337 is too big.',
    );
    expect(message('/rds', 'io-credits orders-db --hours 0')).toBe(
      '`--hours` must be a whole number from 1 to 336; 0 is too small.',
    );
    expect(message('/rds', 'io-credits orders-db --hours -1')).toBe(
      '`--hours` must be a whole number from 1 to 336, not `-1`.',
    );
    expect(message('/rds', 'io-credits orders-db --hour 2')).toBe(
      '`/rds io-credits` has no option `--hour`. Did you mean `--hours`?',
    );
    expect(message('/rds', 'io-credits')).toBe(
      '`/rds io-credits` needs the DB instance identifier, e.g. `/rds io-credits orders-db`.',
    );
    expect(refused('/rds', 'io-credits').usage).toBe('/rds io-credits <db-instance> [--hours 24]');
  });
});

describe('/ops', () => {
  it('help, with a command, a subcommand, or a unique subcommand name', () => {
    expect(parsed('/ops', 'help env')).toEqual({ kind: 'ops.help', topic: 'env' });
    expect(parsed('/ops', 'help RDS restore-table')).toEqual({
      kind: 'ops.help',
      topic: 'rds restore-table',
    });
    expect(parsed('/ops', 'help restore-table')).toEqual({ kind: 'ops.help', topic: 'restore-table' });
    expect(message('/ops', 'help status')).toBe(
      '`status` is a subcommand of `/env` and `/lb`: try `/ops help env status`.',
    );
    expect(message('/ops', 'help evn')).toBe(
      'There is no command `evn` to explain. Did you mean `env`? Commands: `env`, `lb`, `rds`, `ops`.',
    );
    expect(message('/ops', 'help env crate')).toBe(
      '`/env` has no subcommand `crate` to explain. Did you mean `env create`?',
    );
    expect(message('/ops', 'help env create now')).toBe(
      '`/ops help` takes only `[command]` and `[subcommand]`; `now` is one word too many.',
    );
  });

  it('jobs, cancel, audit, ping', () => {
    expect(parsed('/ops', 'jobs')).toEqual({ kind: 'ops.jobs' });
    expect(parsed('/ops', 'cancel 3f9a2c41b7de')).toEqual({ kind: 'ops.cancel', jobId: '3f9a2c41b7de' });
    expect(parsed('/ops', 'cancel repeat.ops.ping_1-2')).toEqual({
      kind: 'ops.cancel',
      jobId: 'repeat.ops.ping_1-2',
    });
    expect(message('/ops', 'cancel')).toBe(
      '`/ops cancel` needs the id of the job to cancel, e.g. `/ops cancel 3f9a2c41b7de`.',
    );
    expect(message('/ops', 'cancel $(id)')).toBe(
      '`$(id)` is not a job id: job ids are up to 64 letters, digits, `.`, `_` and `-`, starting with a letter or digit, as shown when the job was queued (see `/ops jobs`).',
    );
    expect(parsed('/ops', 'audit')).toEqual({ kind: 'ops.audit', count: 20 });
    expect(parsed('/ops', 'audit 1')).toEqual({ kind: 'ops.audit', count: 1 });
    expect(parsed('/ops', 'audit 100')).toEqual({ kind: 'ops.audit', count: 100 });
    expect(message('/ops', 'audit 0')).toBe(
      'The number of audit entries must be a whole number from 1 to 100; 0 is too small.',
    );
    expect(message('/ops', 'audit 101')).toBe(
      'The number of audit entries must be a whole number from 1 to 100; 101 is too big.',
    );
    expect(message('/ops', 'audit all')).toBe(
      'The number of audit entries must be a whole number from 1 to 100, not `all`.',
    );
    expect(message('/ops', 'jobs --all')).toBe('`/ops jobs` takes no options, but got `--all`.');
  });
});

describe('messages never carry more than 40 characters of input, nor its backticks', () => {
  it('clips and escapes what it echoes', () => {
    const long = `a${'b'.repeat(100)};`;
    const m = message('/env', `delete ${long}`);
    expect(m).toContain(`\`a${'b'.repeat(39)}…\``);
    expect(m).not.toContain('b'.repeat(40));
    const tick = message('/env', 'delete a`whoami`');
    expect(tick).toContain("`a'whoami'`");
    expect(tick.split('`').length % 2).toBe(1);
    // Typed `<!channel>` arrives from Slack as `&lt;!channel&gt;`: shown back as text, never as a ping.
    expect(message('/ops', 'cancel &lt;!channel&gt;')).toContain('`&lt;!channel&gt;`');
    expect(message('/ops', 'cancel <!channel>')).toContain('`@channel`');
  });

  it('refuses absurdly long text', () => {
    expect(message('/env', `create ${'x'.repeat(5000)}`)).toBe(
      'The command text is too long (5007 characters; at most 4000).',
    );
  });

  it('reports an unclosed quote', () => {
    expect(message('/lb', 'disable prod --reason "oops')).toBe(
      'Could not read the command: a quote was opened but never closed (expected ").',
    );
  });
});

describe('parseMention', () => {
  it('drops the bot mention and reads the command with or without its slash', () => {
    expect(parseMention('<@U0CAPSTAN> ops ping', ctx)).toEqual({ ok: true, command: { kind: 'ops.ping' } });
    expect(parseMention('<@U0CAPSTAN|capstan> /ops help env', ctx)).toEqual({
      ok: true,
      command: { kind: 'ops.help', topic: 'env' },
    });
    expect(parseMention('<@U0CAPSTAN>', ctx)).toMatchObject({ ok: false });
  });

  it('reads every command, keeps quoted text intact, and undoes Slack escaping', () => {
    expect(parseMention('<@U0CAPSTAN> LB disable prod --reason "kernel  patch &amp; reboot"', ctx)).toEqual({
      ok: true,
      command: { kind: 'lb.disable', env: 'prod', reason: 'kernel  patch & reboot' },
    });
    expect(
      parseMention('<@U0CAPSTAN> rds restore-table db <http://shop.app|shop.app> --at 1h ago', ctx),
    ).toEqual({
      ok: true,
      command: {
        kind: 'rds.restore-table',
        dbInstance: 'db',
        schema: 'shop',
        table: 'app',
        at: '2026-11-22T11:00:00.000Z',
        mode: 'side-table',
      },
    });
    expect(parseMention('<@U0CAPSTAN> env create feature-42 --size 2', ctx)).toEqual({
      ok: true,
      command: { kind: 'env.create', name: 'feature-42', size: 2 },
    });
  });

  it('`@capstan help` and other /ops subcommands work on their own', () => {
    expect(parseMention('<@U0CAPSTAN> help', ctx)).toEqual({ ok: true, command: { kind: 'ops.help' } });
    expect(parseMention('<@U0CAPSTAN> help lb', ctx)).toEqual({
      ok: true,
      command: { kind: 'ops.help', topic: 'lb' },
    });
    expect(parseMention('<@U0CAPSTAN> jobs', ctx)).toEqual({ ok: true, command: { kind: 'ops.jobs' } });
  });

  it('explains an unknown command', () => {
    const result = parseMention('<@U0CAPSTAN> deploy prod', ctx);
    expect(result).toMatchObject({
      ok: false,
      problem: { message: 'Capstan has no command `/deploy`. Commands: `/env`, `/lb`, `/rds`, `/ops`.' },
    });
    expect(parseMention('<@U0CAPSTAN> status prod', ctx)).toMatchObject({
      ok: false,
      problem: {
        message:
          'Capstan has no command `/status`. Did you mean `/env status` or `/lb status`? Commands: `/env`, `/lb`, `/rds`, `/ops`.',
      },
    });
    expect(parseMention('<@U0CAPSTAN> lbb status prod', ctx)).toMatchObject({
      ok: false,
      problem: { message: expect.stringContaining('Did you mean `/lb`?') },
    });
  });
});

describe('parseTime', () => {
  const utc: ParseContext = { now: new Date('2027-01-01T00:00:00Z'), timeZone: 'UTC' };
  const berlin: ParseContext = { ...utc, timeZone: 'Europe/Berlin' };
  const newYork: ParseContext = { ...utc, timeZone: 'America/New_York' };
  const at = (text: string, context: ParseContext = utc): string => {
    const result = parseTime(text, context);
    if (!result.ok) throw new Error(`expected ${text} to parse: ${result.error}`);
    return result.at.toISOString();
  };
  const error = (text: string, context: ParseContext = utc): string => {
    const result = parseTime(text, context);
    if (result.ok) throw new Error(`expected ${text} to be refused, got ${result.at.toISOString()}`);
    return result.error;
  };

  it('ISO-8601 with an offset', () => {
    expect(at('2026-11-22T01:30:00Z')).toBe('2026-11-22T01:30:00.000Z');
    expect(at('2026-11-22T02:30:00+01:00')).toBe('2026-11-22T01:30:00.000Z');
    expect(at('2026-11-22T02:30:00+0100')).toBe('2026-11-22T01:30:00.000Z');
    expect(at('2026-11-21T20:30:00-05')).toBe('2026-11-22T01:30:00.000Z');
    expect(at('2026-11-22T01:30:00.123456789Z')).toBe('2026-11-22T01:30:00.123Z');
    expect(at('2026-11-22T01:30:00,5Z')).toBe('2026-11-22T01:30:00.500Z');
    expect(at('2026-11-22t01:30z')).toBe('2026-11-22T01:30:00.000Z');
    expect(at('2026-11-22 01:30:00 +05:30')).toBe('2026-11-21T20:00:00.000Z');
    expect(at('2026-11-22 01:30 UTC', berlin)).toBe('2026-11-22T01:30:00.000Z');
    // The offset wins over the configured zone.
    expect(at('2026-07-01T12:00:00Z', newYork)).toBe('2026-07-01T12:00:00.000Z');
  });

  it('YYYY-MM-DD HH:MM[:SS] in the configured zone, winter and summer', () => {
    expect(at('2026-11-22 01:30')).toBe('2026-11-22T01:30:00.000Z');
    expect(at('2026-11-22 01:30', berlin)).toBe('2026-11-22T00:30:00.000Z');
    expect(at('2026-07-01 12:00:30', berlin)).toBe('2026-07-01T10:00:30.000Z');
    expect(at('2026-01-15 09:00', newYork)).toBe('2026-01-15T14:00:00.000Z');
    expect(at('2026-07-01 09:00', newYork)).toBe('2026-07-01T13:00:00.000Z');
  });

  it('Europe/Berlin around its DST changes: the gap is refused, the repeated hour is the earlier instant', () => {
    // 29 March 2026: 02:00 CET → 03:00 CEST.
    expect(at('2026-03-29 01:59', berlin)).toBe('2026-03-29T00:59:00.000Z');
    expect(error('2026-03-29 02:00', berlin)).toBe(
      '`2026-03-29 02:00` does not exist in Europe/Berlin: the clocks jump forward 1h then (daylight saving time). Choose a time outside the gap, or give an offset.',
    );
    expect(error('2026-03-29 02:30', berlin)).toContain('does not exist in Europe/Berlin');
    expect(at('2026-03-29 03:00', berlin)).toBe('2026-03-29T01:00:00.000Z');
    // 25 October 2026: 03:00 CEST → 02:00 CET; 02:00–02:59 happen twice.
    expect(at('2026-10-25 01:59', berlin)).toBe('2026-10-24T23:59:00.000Z');
    expect(at('2026-10-25 02:00', berlin)).toBe('2026-10-25T00:00:00.000Z');
    expect(at('2026-10-25 02:30', berlin)).toBe('2026-10-25T00:30:00.000Z');
    expect(at('2026-10-25 03:00', berlin)).toBe('2026-10-25T02:00:00.000Z');
    // The later 02:30 can still be named with its offset.
    expect(at('2026-10-25T02:30:00+01:00', berlin)).toBe('2026-10-25T01:30:00.000Z');
  });

  it('America/New_York around its DST changes', () => {
    // 8 March 2026: 02:00 EST → 03:00 EDT.
    expect(at('2026-03-08 01:59', newYork)).toBe('2026-03-08T06:59:00.000Z');
    expect(error('2026-03-08 02:30', newYork)).toBe(
      '`2026-03-08 02:30` does not exist in America/New_York: the clocks jump forward 1h then (daylight saving time). Choose a time outside the gap, or give an offset.',
    );
    expect(at('2026-03-08 03:00', newYork)).toBe('2026-03-08T07:00:00.000Z');
    // 1 November 2026: 02:00 EDT → 01:00 EST; 01:00–01:59 happen twice.
    expect(at('2026-11-01 00:59', newYork)).toBe('2026-11-01T04:59:00.000Z');
    expect(at('2026-11-01 01:30', newYork)).toBe('2026-11-01T05:30:00.000Z');
    expect(at('2026-11-01 02:00', newYork)).toBe('2026-11-01T07:00:00.000Z');
  });

  it('a time of day as said during an incident: today or yesterday in the configured zone', () => {
    // Now is 2027-01-01 00:00 UTC = 01:00 in Berlin (CET, +01:00) = 2026-12-31 19:00 in New York.
    expect(at('00:30', berlin)).toBe('2026-12-31T23:30:00.000Z');
    expect(at('today 00:30', berlin)).toBe('2026-12-31T23:30:00.000Z');
    expect(at('Today  00:45:10', berlin)).toBe('2026-12-31T23:45:10.000Z');
    expect(at('yesterday 23:50', berlin)).toBe('2026-12-31T22:50:00.000Z');
    expect(at('14:05', newYork)).toBe('2026-12-31T19:05:00.000Z');
    expect(at('yesterday 14:05', newYork)).toBe('2026-12-30T19:05:00.000Z');
    expect(at('yesterday 14:05')).toBe('2026-12-31T14:05:00.000Z');
    expect(at('00:00')).toBe('2027-01-01T00:00:00.000Z');
  });

  it('a time of day later than now today is refused, offering the nearest valid reading', () => {
    expect(error('14:05', berlin)).toBe(
      '`14:05` is later than now today (now is 2027-01-01 01:00 Europe/Berlin): a restore needs a time in the past. The nearest valid reading is `yesterday 14:05` (2026-12-31 14:05 Europe/Berlin): write that if you meant it.',
    );
    expect(error('today 01:01', berlin)).toContain('The nearest valid reading is `yesterday 01:01`');
    expect(error('24:00', berlin)).toBe('`24:00` is not a valid time of day: hours go from 00 to 23.');
    expect(error('yesterday 12:61', berlin)).toBe(
      '`yesterday 12:61` is not a valid time of day: minutes and seconds go from 00 to 59.',
    );
    // Yesterday's 02:30 fell in Berlin's spring-forward gap.
    expect(
      error('yesterday 02:30', { now: new Date('2026-03-30T10:00:00Z'), timeZone: 'Europe/Berlin' }),
    ).toContain('does not exist in Europe/Berlin');
    expect(parseTime('14:05', { now: utc.now, timeZone: 'Mars/Olympus' })).toMatchObject({ ok: false });
  });

  it('relative times', () => {
    expect(at('90s ago')).toBe('2026-12-31T23:58:30.000Z');
    expect(at('15m ago')).toBe('2026-12-31T23:45:00.000Z');
    expect(at('2h ago')).toBe('2026-12-31T22:00:00.000Z');
    expect(at('1d ago')).toBe('2026-12-31T00:00:00.000Z');
    expect(at('15 min ago')).toBe('2026-12-31T23:45:00.000Z');
    expect(at('2 hours ago')).toBe('2026-12-31T22:00:00.000Z');
    expect(at('1 hour ago')).toBe('2026-12-31T23:00:00.000Z');
    expect(at('1h30m ago')).toBe('2026-12-31T22:30:00.000Z');
    expect(at('  2H AGO ')).toBe('2026-12-31T22:00:00.000Z');
    expect(error('2 fortnights ago')).toBe(
      '`2 fortnights ago` is not a relative time: write it like `90s ago`, `15m ago`, `2h ago`.',
    );
    expect(error('99999999w ago')).toBe('`99999999w ago` is too far in the past.');
    expect(error('2h')).toBe('`2h` is a duration, not a time: did you mean `2h ago`?');
  });

  it('refuses the future', () => {
    expect(error('2027-01-01T00:00:01Z')).toBe(
      '`2027-01-01T00:00:01Z` is in the future (now is 2027-01-01 00:00 UTC): a restore needs a time in the past.',
    );
    expect(at('2027-01-01 00:30', berlin)).toBe('2026-12-31T23:30:00.000Z');
    expect(error('2027-01-01 01:30', berlin)).toBe(
      '`2027-01-01 01:30` is in the future (now is 2027-01-01 01:00 Europe/Berlin): a restore needs a time in the past.',
    );
    expect(at('2027-01-01T00:00:00Z')).toBe('2027-01-01T00:00:00.000Z');
  });

  it('refuses invalid dates and times', () => {
    expect(error('2026-02-30 01:00')).toBe(
      '`2026-02-30 01:00` is not a valid date: February 2026 has 28 days.',
    );
    expect(error('2026-02-29 01:00')).toBe(
      '`2026-02-29 01:00` is not a valid date: February 2026 has 28 days.',
    );
    expect(at('2024-02-29 01:00')).toBe('2024-02-29T01:00:00.000Z');
    expect(error('2026-04-31T00:00:00Z')).toBe(
      '`2026-04-31T00:00:00Z` is not a valid date: April 2026 has 30 days.',
    );
    expect(error('2026-13-01 00:00')).toBe('`2026-13-01 00:00` is not a valid date: there is no month 13.');
    expect(error('2026-00-10 00:00')).toBe('`2026-00-10 00:00` is not a valid date: there is no month 0.');
    expect(error('2026-11-22 24:00')).toBe(
      '`2026-11-22 24:00` is not a valid time of day: hours go from 00 to 23.',
    );
    expect(error('2026-11-22 12:60')).toBe(
      '`2026-11-22 12:60` is not a valid time of day: minutes and seconds go from 00 to 59.',
    );
    expect(error('2026-11-22T01:30:00+19:00')).toBe(
      '`2026-11-22T01:30:00+19:00` has an offset out of range: offsets go from -18:00 to +18:00.',
    );
    expect(error('1969-12-31T23:59:59Z')).toBe(
      '`1969-12-31T23:59:59Z` is before 1970: Capstan only reads times from 1970 on.',
    );
  });

  it('refuses what it cannot be sure of, naming the forms it accepts', () => {
    expect(error('2026-11-22T01:30:00', berlin)).toBe(
      '`2026-11-22T01:30:00` has a `T` but no offset: add one (`Z` for UTC, e.g. `+01:00`), or write `YYYY-MM-DD HH:MM` for a time in Europe/Berlin.',
    );
    expect(error('2026-11-22', berlin)).toBe(
      '`2026-11-22` has no time of day: write e.g. `2026-11-22 01:30` (in Europe/Berlin).',
    );
    expect(error('last tuesday', berlin)).toBe(
      '`last tuesday` is not a time Capstan understands. Use ISO-8601 with an offset (`2026-11-22T01:30:00Z`, `2026-11-22T02:30:00+01:00`), `YYYY-MM-DD HH:MM[:SS]`, `HH:MM`, `today HH:MM` or `yesterday HH:MM` in Europe/Berlin, or a relative time (`15m ago`, `2h ago`).',
    );
    expect(error('')).toContain('No time given.');
    expect(error(`${'`'.repeat(100)}`)).toBe(
      `\`${"'".repeat(40)}…\` is too long to be a time. Use ISO-8601 with an offset (\`2026-11-22T01:30:00Z\`, \`2026-11-22T02:30:00+01:00\`), \`YYYY-MM-DD HH:MM[:SS]\`, \`HH:MM\`, \`today HH:MM\` or \`yesterday HH:MM\` in UTC, or a relative time (\`15m ago\`, \`2h ago\`).`,
    );
  });

  it('never throws, even with a bad zone or clock', () => {
    expect(parseTime('2026-11-22 01:30', { now: utc.now, timeZone: 'Mars/Olympus' })).toEqual({
      ok: false,
      error: 'The configured time zone is not valid, so `2026-11-22 01:30` cannot be read.',
    });
    expect(parseTime('15m ago', { now: new Date(Number.NaN), timeZone: 'UTC' })).toMatchObject({ ok: false });
  });
});

describe('helpText and usage', () => {
  it('lists every command, and explains one with examples', () => {
    const all = helpText();
    for (const c of ['/env', '/lb', '/rds', '/ops']) expect(all).toContain(`*${c}*`);
    expect(helpText('rds')).toContain('/rds restore-table <db-instance> <schema>.<table> --at <time>');
    expect(helpText('rds')).toContain('Examples:');
  });

  it('explains each subcommand with its options and examples', () => {
    for (const help of COMMAND_HELP) {
      for (const sub of help.subcommands) {
        const text = helpText(`${help.command} ${sub.name}`);
        expect(text).toContain(sub.usage);
        expect(text).toContain('Examples:');
        expect(resolveHelpTopic(`${help.command.slice(1)} ${sub.name}`)?.subcommand?.name).toBe(sub.name);
      }
    }
    expect(helpText('rds restore-table')).toContain('`--mode`: `side-table` (the default)');
    expect(helpText('restore-table')).toContain('*/rds restore-table*');
    expect(helpText('nope`x')).toBe("There is no command `nope'x`. Commands: `/env`, `/lb`, `/rds`, `/ops`.");
  });

  it('every example in the help parses', () => {
    for (const help of COMMAND_HELP) {
      for (const example of [...help.examples, ...help.subcommands.flatMap((s) => s.examples)]) {
        const result = parseMention(example, ctx);
        expect(result, example).toMatchObject({ ok: true });
      }
    }
  });

  it('a problem shows the usage of the subcommand, straight from the help', () => {
    const problem: ParseResult = parseSlashCommand('/lb', 'disable', ctx);
    expect(problem).toEqual({
      ok: false,
      problem: {
        message: "`/lb disable` needs the environment's name, e.g. `/lb disable prod`.",
        usage: '/lb disable <env> [--instance i-…] [--reason "…"]',
      },
    });
    expect(usageOf('/lb', 'disable')).toBe(COMMAND_HELP[1]?.subcommands[0]?.usage);
  });
});

describe('escapeSlack', () => {
  it('escapes what Slack would read as markup', () => {
    expect(escapeSlack('<!channel> & <@U1>')).toBe('&lt;!channel&gt; &amp; &lt;@U1&gt;');
  });
});

describe('plainText', () => {
  // Slack's markup as documented at https://api.slack.com/reference/surfaces/formatting
  it('turns mentions, group pings, special mentions and links into the text a reader sees', () => {
    const mention =
      'lb disable prod --reason "x <!channel> <!here> <!everyone|everyone> <!subteam^S0ONCALL|@oncall> <!subteam^S0OPS> <http://evil.example/approve|Approve here> <https://x.example> <mailto:a@b.example|mail> <@U0BOB|bob> <@U0CAROL> <#C0OPS|ops> <!date^1392734382^{date}|Feb 18>"';
    expect(plainText(mention)).toBe(
      'lb disable prod --reason "x @channel @here @everyone @oncall @S0OPS Approve here https://x.example mail @bob @U0CAROL #ops Feb 18"',
    );
  });

  it('decodes Slack’s three entities once, and leaves other text alone', () => {
    expect(plainText('a &lt;!channel&gt; &amp;lt; &gt; & b')).toBe('a <!channel> &lt; > & b');
    expect(plainText('no markup here: 2 > 1')).toBe('no markup here: 2 > 1');
    expect(plainText('/env create <name>')).toBe('/env create <name>');
  });

  it('gives text that, escaped again, mentions, pings and links nothing', () => {
    for (const raw of [
      '<!channel>',
      '&lt;!channel&gt;',
      '<http://evil.example|x>',
      '&lt;http://evil.example|x&gt;',
    ]) {
      expect(escapeSlack(plainText(raw))).not.toMatch(/<[!@#]|<http/);
      expect(echoCommand(plainText(raw))).not.toMatch(/<[!@#]|<http/);
    }
  });

  it('shows a whole command in one code span: backticks never end it', () => {
    expect(echoCommand('/lb disable prod --reason "`<!channel>`"')).toBe(
      '`/lb disable prod --reason "\'&lt;!channel&gt;\'"`',
    );
  });
});

describe('closest', () => {
  it('finds typos, transpositions included, and nothing when too far', () => {
    expect(closest('pnig', ['ping', 'jobs'])).toBe('ping');
    expect(closest('sttaus', ['status', 'list'])).toBe('status');
    expect(closest('xyz', ['ping', 'jobs'])).toBeUndefined();
    expect(closest('a'.repeat(100), ['ping'])).toBeUndefined();
  });
});
