/**
 * The grammar: slash-command text (or the words after `@capstan`) → a typed {@link Command} or a
 * {@link UsageProblem}. Pure; never throws, whatever the input.
 *
 * Shape: `/<command> <subcommand> [positionals and options in any order]`. Options are `--name value`
 * or `--name=value`; command, subcommand and option names are case-insensitive; each option at most
 * once. Every value is validated (see `validate.ts`) before it lands in a command.
 */
import { CATALOG, type CatalogKind, COMMAND_KINDS } from '../catalog.js';
import { echo, plainText } from './echo.js';
import { COMMAND_HELP, commandsWithSubcommand, resolveHelpTopic, usageOf } from './help.js';
import { parseTime } from './time.js';
import { tokenize } from './tokenize.js';
import type { Command, ParseContext, ParseResult } from './types.js';
import {
  type Check,
  checkBlueprint,
  checkDbInstance,
  checkEnvName,
  checkInstanceId,
  checkInteger,
  checkJobId,
  checkMode,
  checkParam,
  checkReason,
  checkSchemaTable,
  checkTtl,
  checkVersion,
  LIMITS,
  RESTORE_MODES,
} from './validate.js';

/** How much `/env extend` adds when `--by` is not given (the expiry warning's button does the same). */
export const EXTEND_DEFAULT_MS = 4 * 60 * 60 * 1000;

/** Longest input we look at; Slack caps command text well below this. */
const MAX_TEXT = 4000;

/** One option a subcommand takes; every option takes a value. */
interface OptionSpec {
  /** Lowercase, without the dashes: `size`. */
  name: string;
  /** How it is written, for messages: `--size 2`. */
  example: string;
  /**
   * How many of the words after the value belong to it too: `--at 15m ago` and
   * `--at 2026-11-22 01:30` unquoted.
   */
  absorb?: (value: string, following: readonly string[]) => number;
  /** May be given more than once (`--param A=1 --param B=2`); its values are in `Args.lists`. */
  repeatable?: true;
}

/** One positional argument. */
interface PositionalSpec {
  /** As in the usage: `<name>`. */
  label: string;
  /** For messages: `the environment's name`. */
  what: string;
  optional?: boolean;
}

/** The words of one request, sorted into positionals and options (names lowercase). */
interface Args {
  positionals: readonly string[];
  options: ReadonlyMap<string, string>;
  /** The values of repeatable options, in the order given. */
  lists: ReadonlyMap<string, readonly string[]>;
}

/** The command of kind `K`. */
type CommandOf<K extends CatalogKind> = Extract<Command, { kind: K }>;

type Built<K extends CatalogKind = CatalogKind> =
  | { ok: true; command: CommandOf<K> }
  | { ok: false; error: string };

/** A subcommand: what it takes and how its values become a {@link Command}. */
interface SubcommandSpec<K extends CatalogKind = CatalogKind> {
  /** A complete example, for messages about a missing argument. */
  example: string;
  positionals: readonly PositionalSpec[];
  options: readonly OptionSpec[];
  /** Options that must be given. */
  required?: readonly string[];
  build: (args: Args, ctx: ParseContext) => Built<K>;
}

const TOP_LEVEL = ['/env', '/lb', '/rds', '/ops'] as const;

// ---- Building commands from checked values ----

type Values<T> = { [K in keyof T]: T[K] extends Check<infer V> ? V : never };

/** All checks' values, or the first failure (in the order the checks are listed). */
function all<T extends Record<string, Check<unknown>>>(checks: T): Check<Values<T>> {
  const values: Record<string, unknown> = {};
  for (const [key, check] of Object.entries(checks)) {
    if (!check.ok) return check;
    values[key] = check.value;
  }
  return { ok: true, value: values as Values<T> };
}

/** The checked value of option `name`, or undefined (or `fallback`) when it was not given. */
function option<T>(args: Args, name: string, check: (raw: string) => Check<T>): Check<T | undefined> {
  const raw = args.options.get(name);
  return raw === undefined ? { ok: true, value: undefined } : check(raw);
}

function positional(args: Args, index: number): string {
  return args.positionals[index] ?? '';
}

/** The command, without the properties that are undefined (commands are JSON). */
function built<C extends Command>(command: C): Built<C['kind']> {
  const clean = Object.fromEntries(Object.entries(command).filter(([, v]) => v !== undefined));
  return { ok: true, command: clean as CommandOf<C['kind']> };
}

function fromCheck<T, C extends Command>(check: Check<T>, make: (value: T) => C): Built<C['kind']> {
  return check.ok ? built(make(check.value)) : check;
}

const ENV_POSITIONAL: PositionalSpec = { label: '<name>', what: "the environment's name" };
const LB_ENV: PositionalSpec = { label: '<env>', what: "the environment's name" };
const DB_POSITIONAL: PositionalSpec = { label: '<db-instance>', what: 'the DB instance identifier' };
const INSTANCE_OPTION: OptionSpec = { name: 'instance', example: '--instance i-0abc1234def567890' };

/** `--at 15m ago`, `--at 2 hours ago`, `--at 2026-11-22 01:30 [+01:00]` typed without quotes. */
function absorbTime(value: string, following: readonly string[]): number {
  const [first, second] = following;
  if (/^\d{4}-\d{1,2}-\d{1,2}$/.test(value) && first !== undefined && /^\d{1,2}:\d{2}/.test(first)) {
    return second !== undefined && /^(?:z|utc|[+\-\u2212]\d{2}(?::?\d{2})?)$/i.test(second) ? 2 : 1;
  }
  // `--at today 14:05`, `--at yesterday 23:50` unquoted.
  if (/^(?:today|yesterday)$/i.test(value) && first !== undefined && /^\d{1,2}:\d{2}/.test(first)) return 1;
  if (/^\d+[a-z]*$/i.test(value)) {
    for (let i = 0; i < Math.min(following.length, 4); i++) {
      const word = (following[i] ?? '').toLowerCase();
      if (word === 'ago') return i + 1;
      if (!/^(?:\d+[a-z]*|[a-z]+)$/.test(word)) return 0;
    }
  }
  return 0;
}

const integer = (label: string, limits: { min: number; max: number }) => (raw: string) =>
  checkInteger(raw, label, limits.min, limits.max);

/**
 * Each command's grammar, by the catalog's kind: the type asks for one per entry, and each builds
 * a command of its own kind.
 */
const SPECS: { readonly [K in CatalogKind]: SubcommandSpec<K> } = {
  'env.create': {
    example: '/env create feature-42',
    positionals: [ENV_POSITIONAL],
    options: [
      { name: 'blueprint', example: '--blueprint web' },
      { name: 'size', example: '--size 2' },
      { name: 'ttl', example: '--ttl 8h' },
      { name: 'version', example: '--version 1.4.2' },
    ],
    build: (a) => {
      const v = all({
        name: checkEnvName(positional(a, 0)),
        blueprint: option(a, 'blueprint', checkBlueprint),
        size: option(a, 'size', integer('`--size`', LIMITS.size)),
        ttlMs: option(a, 'ttl', checkTtl),
        version: option(a, 'version', checkVersion),
      });
      return fromCheck(v, (x) => ({ kind: 'env.create', ...x }));
    },
  },
  'env.delete': {
    example: '/env delete feature-42',
    positionals: [ENV_POSITIONAL],
    options: [],
    build: (a) => fromCheck(checkEnvName(positional(a, 0)), (name) => ({ kind: 'env.delete', name })),
  },
  'env.extend': {
    example: '/env extend feature-42',
    positionals: [ENV_POSITIONAL],
    options: [{ name: 'by', example: '--by 4h' }],
    build: (a) => {
      const v = all({ name: checkEnvName(positional(a, 0)), byMs: option(a, 'by', checkTtl) });
      return fromCheck(v, (x) => ({
        kind: 'env.extend',
        name: x.name,
        byMs: x.byMs ?? EXTEND_DEFAULT_MS,
      }));
    },
  },
  'env.list': {
    example: '/env list',
    positionals: [],
    options: [],
    build: () => built({ kind: 'env.list' }),
  },
  'env.status': {
    example: '/env status feature-42',
    positionals: [ENV_POSITIONAL],
    options: [],
    build: (a) => fromCheck(checkEnvName(positional(a, 0)), (name) => ({ kind: 'env.status', name })),
  },
  'env.update': {
    example: '/env update feature-42 --version 1.4.3',
    positionals: [ENV_POSITIONAL],
    options: [
      { name: 'version', example: '--version 1.4.3' },
      { name: 'param', example: '--param InstanceType=t3.large', repeatable: true },
    ],
    build: (a) => {
      const params: Record<string, string> = {};
      for (const raw of a.lists.get('param') ?? []) {
        const param = checkParam(raw);
        if (!param.ok) return param;
        if (param.value.key in params)
          return {
            ok: false,
            error: `\`--param ${param.value.key}\` is given twice; give each parameter once.`,
          };
        params[param.value.key] = param.value.value;
      }
      const v = all({ name: checkEnvName(positional(a, 0)), version: option(a, 'version', checkVersion) });
      if (v.ok && v.value.version === undefined && Object.keys(params).length === 0) {
        return {
          ok: false,
          error: `Say what to change: \`--version V\` and/or \`--param K=V\`, e.g. \`/env update ${v.value.name} --version 1.4.3\`.`,
        };
      }
      return fromCheck(v, (x) => ({
        kind: 'env.update',
        ...x,
        ...(Object.keys(params).length > 0 ? { params } : {}),
      }));
    },
  },
  'lb.disable': {
    example: '/lb disable prod',
    positionals: [LB_ENV],
    options: [INSTANCE_OPTION, { name: 'reason', example: '--reason "kernel patch"' }],
    build: (a) => {
      const v = all({
        env: checkEnvName(positional(a, 0)),
        instanceId: option(a, 'instance', checkInstanceId),
        reason: option(a, 'reason', checkReason),
      });
      return fromCheck(v, (x) => ({ kind: 'lb.disable', ...x }));
    },
  },
  'lb.enable': {
    example: '/lb enable prod',
    positionals: [LB_ENV],
    options: [INSTANCE_OPTION],
    build: (a) => {
      const v = all({
        env: checkEnvName(positional(a, 0)),
        instanceId: option(a, 'instance', checkInstanceId),
      });
      return fromCheck(v, (x) => ({ kind: 'lb.enable', ...x }));
    },
  },
  'lb.status': {
    example: '/lb status prod',
    positionals: [LB_ENV],
    options: [],
    build: (a) => fromCheck(checkEnvName(positional(a, 0)), (env) => ({ kind: 'lb.status', env })),
  },
  'rds.restore-table': {
    example: '/rds restore-table orders-db shop.billing --at "15m ago"',
    positionals: [DB_POSITIONAL, { label: '<schema>.<table>', what: 'the table, as `<schema>.<table>`' }],
    options: [
      { name: 'at', example: '--at "15m ago"', absorb: absorbTime },
      { name: 'mode', example: '--mode side-table' },
    ],
    required: ['at'],
    build: (a, ctx) => {
      const v = all({
        dbInstance: checkDbInstance(positional(a, 0)),
        table: checkSchemaTable(positional(a, 1)),
        at: option(a, 'at', (raw) => {
          const time = parseTime(raw, ctx);
          return time.ok
            ? { ok: true, value: time.at.toISOString() }
            : { ok: false, error: `\`--at\`: ${time.error}` };
        }),
        mode: option(a, 'mode', (raw) => checkMode(raw, (word) => closest(word, RESTORE_MODES))),
      });
      return fromCheck(v, (x) => ({
        kind: 'rds.restore-table',
        dbInstance: x.dbInstance,
        schema: x.table.schema,
        table: x.table.table,
        at: x.at ?? '',
        mode: x.mode ?? 'side-table',
      }));
    },
  },
  'rds.io-credits': {
    example: '/rds io-credits orders-db',
    positionals: [DB_POSITIONAL],
    options: [{ name: 'hours', example: '--hours 24' }],
    build: (a) => {
      const v = all({
        dbInstance: checkDbInstance(positional(a, 0)),
        hours: option(a, 'hours', integer('`--hours`', LIMITS.hours)),
      });
      return fromCheck(v, (x) => ({
        kind: 'rds.io-credits',
        dbInstance: x.dbInstance,
        hours: x.hours ?? LIMITS.hours.default,
      }));
    },
  },
  'ops.help': {
    example: '/ops help env',
    positionals: [
      { label: '[command]', what: 'a command', optional: true },
      { label: '[subcommand]', what: 'a subcommand', optional: true },
    ],
    options: [],
    build: (a) => helpCommand(a.positionals),
  },
  'ops.jobs': {
    example: '/ops jobs',
    positionals: [],
    options: [],
    build: () => built({ kind: 'ops.jobs' }),
  },
  'ops.cancel': {
    example: '/ops cancel 3f9a2c41b7de',
    positionals: [{ label: '<job-id>', what: 'the id of the job to cancel' }],
    options: [],
    build: (a) => fromCheck(checkJobId(positional(a, 0)), (jobId) => ({ kind: 'ops.cancel', jobId })),
  },
  'ops.audit': {
    example: '/ops audit 20',
    positionals: [{ label: '[n]', what: 'how many entries', optional: true }],
    options: [],
    build: (a) => {
      const raw = a.positionals[0];
      const count =
        raw === undefined
          ? { ok: true as const, value: LIMITS.audit.default }
          : checkInteger(raw, 'The number of audit entries', LIMITS.audit.min, LIMITS.audit.max);
      return fromCheck(count, (n) => ({ kind: 'ops.audit', count: n }));
    },
  },
  'ops.ping': {
    example: '/ops ping',
    positionals: [],
    options: [],
    build: () => built({ kind: 'ops.ping' }),
  },
};

/** Command → subcommand → grammar, from the catalog's words. Maps, so no input can reach an object's prototype. */
const GRAMMAR: ReadonlyMap<string, ReadonlyMap<string, SubcommandSpec>> = (() => {
  const grammar = new Map<string, Map<string, SubcommandSpec>>();
  for (const kind of COMMAND_KINDS) {
    const [command = '', subcommand = ''] = CATALOG[kind].words.split(' ');
    const subcommands = grammar.get(command) ?? new Map<string, SubcommandSpec>();
    // A spec of one kind is a spec of some kind (the conditional type hides it from the checker).
    subcommands.set(subcommand, SPECS[kind] as SubcommandSpec);
    grammar.set(command, subcommands);
  }
  return grammar;
})();

/** `/ops help [command [subcommand]]`: the topic must name something. */
function helpCommand(words: readonly string[]): Built<'ops.help'> {
  if (words.length === 0) return built({ kind: 'ops.help' });
  const topic = words.join(' ').toLowerCase();
  if (resolveHelpTopic(topic)) return built({ kind: 'ops.help', topic });
  const [first = '', second] = words.map((w) => w.toLowerCase());
  const commandName = first.startsWith('/') ? first : `/${first}`;
  const subcommands = GRAMMAR.get(commandName);
  if (subcommands && second !== undefined) {
    const guess = closest(second, [...subcommands.keys()]);
    return {
      ok: false,
      error: `\`${commandName}\` has no subcommand ${echo(second)} to explain.${guess ? ` Did you mean \`${commandName.slice(1)} ${guess}\`?` : ''}`,
    };
  }
  const owners = commandsWithSubcommand(first);
  if (owners.length > 1 && second === undefined) {
    return {
      ok: false,
      error: `\`${first}\` is a subcommand of ${owners.map((o) => `\`${o}\``).join(' and ')}: try \`/ops help ${owners[0]?.slice(1)} ${first}\`.`,
    };
  }
  const guess = closest(
    first.replace(/^\//, ''),
    TOP_LEVEL.map((c) => c.slice(1)),
  );
  return {
    ok: false,
    error: `There is no command ${echo(words.join(' '))} to explain.${guess ? ` Did you mean \`${guess}\`?` : ''} Commands: ${COMMAND_HELP.map((h) => `\`${h.command.slice(1)}\``).join(', ')}.`,
  };
}

// ---- Words → positionals and options ----

/** Autocorrect turns `--` into an em or en dash; read `—size` as `--size`. */
function undash(word: string): string {
  return /^[\u2013\u2014]/.test(word) ? word.replace(/^[\u2013\u2014]-?/, '--') : word;
}

/** `--name`, `--name=value`, `-x`: a word meant as an option (not `-5`, not `-`). */
function isOptionWord(word: string): boolean {
  return /^(?:--|-[A-Za-z])/.test(undash(word));
}

/** A placeholder copied from the usage: `<name>`, `[n]`, `i-…`. */
function isPlaceholder(word: string): boolean {
  return /^(?:<[^<>]*>(?:\.<[^<>]*>)?|\[[^\]]*\]|i-…|…)$/.test(word);
}

type Scanned = { ok: true; args: Args } | { ok: false; error: string } | { ok: 'help' };

/** Sorts the words after the subcommand into positionals and options, checking their shape. */
function scan(where: string, spec: SubcommandSpec, words: readonly string[]): Scanned {
  const positionals: string[] = [];
  /** The option whose value each positional came right after, if any. */
  const afterValue: (OptionSpec | undefined)[] = [];
  const options = new Map<string, string>();
  const lists = new Map<string, string[]>();
  let lastWasValue: OptionSpec | undefined;
  for (let i = 0; i < words.length; i++) {
    const word = undash(words[i] ?? '');
    if (!isOptionWord(word)) {
      positionals.push(word);
      afterValue.push(lastWasValue);
      lastWasValue = undefined;
      continue;
    }
    lastWasValue = undefined;
    if (!word.startsWith('--')) {
      // `-s 2`: one dash.
      const short = word.slice(1).toLowerCase();
      if (short === 'h' || short === 'help') return { ok: 'help' };
      const guess = suggestOption(short, spec);
      return {
        ok: false,
        error: `${echo(word)} is not an option: options start with two hyphens.${guess ? ` Did you mean \`--${guess}\`?` : ''}`,
      };
    }
    const eq = word.indexOf('=');
    const rawName = eq === -1 ? word.slice(2) : word.slice(2, eq);
    const name = rawName.toLowerCase();
    if (name === 'help') return { ok: 'help' };
    const known = spec.options.find((o) => o.name === name);
    if (!known) return { ok: false, error: unknownOption(where, spec, `--${rawName}`, name) };
    if (options.has(name) && !known.repeatable)
      return { ok: false, error: `\`--${name}\` is given twice; give it once.` };
    let value: string;
    if (eq !== -1) {
      value = word.slice(eq + 1);
    } else {
      const next = words[i + 1];
      if (next === undefined || isOptionWord(next)) {
        return { ok: false, error: `\`--${name}\` needs a value, e.g. \`${known.example}\`.` };
      }
      value = next;
      i++;
    }
    if (value.trim() === '') {
      return { ok: false, error: `\`--${name}\` needs a value, e.g. \`${known.example}\`.` };
    }
    if (isPlaceholder(value)) {
      return {
        ok: false,
        error: `${echo(value)} is a placeholder from the usage: give \`--${name}\` a real value, e.g. \`${known.example}\`.`,
      };
    }
    const extra = known.absorb?.(value, words.slice(i + 1, i + 5)) ?? 0;
    if (extra > 0) {
      value = [value, ...words.slice(i + 1, i + 1 + extra)].join(' ');
      i += extra;
    }
    options.set(name, value);
    if (known.repeatable) lists.set(name, [...(lists.get(name) ?? []), value]);
    lastWasValue = known;
  }

  const required = spec.positionals.filter((p) => !p.optional);
  const missing = required[positionals.length];
  if (missing) {
    return { ok: false, error: `\`${where}\` needs ${missing.what}, e.g. \`${spec.example}\`.` };
  }
  // `` `t`;DROP TABLE x ``: say what is wrong with the name, not that a word is one too many.
  const quoted = positionals.find((p) => /[`;]/.test(p));
  if (quoted !== undefined && positionals.length > spec.positionals.length) {
    return {
      ok: false,
      error: `${echo(quoted)}: backticks and \`;\` are not part of a name. Give the name alone, e.g. \`${spec.example}\`.`,
    };
  }
  if (positionals.length > spec.positionals.length) {
    const index = spec.positionals.length;
    const extra = echo(positionals[index] ?? '');
    if (spec.positionals.length === 0) {
      return { ok: false, error: `\`${where}\` takes no arguments, but got ${extra}.` };
    }
    const labels = spec.positionals.map((p) => `\`${p.label}\``).join(' and ');
    const before = afterValue[index];
    const hint = before
      ? ` If it belongs to \`--${before.name}\`, put that value in quotes: \`--${before.name} "… …"\`.`
      : '';
    return { ok: false, error: `\`${where}\` takes only ${labels}; ${extra} is one word too many.${hint}` };
  }
  for (const [index, value] of positionals.entries()) {
    const p = spec.positionals[index];
    if (p && isPlaceholder(value)) {
      return {
        ok: false,
        error: `${echo(value)} is a placeholder from the usage: put ${p.what} there, e.g. \`${spec.example}\`.`,
      };
    }
  }
  for (const name of spec.required ?? []) {
    if (!options.has(name)) {
      const example = spec.options.find((o) => o.name === name)?.example ?? `--${name}`;
      return { ok: false, error: `\`${where}\` needs \`--${name}\`, e.g. \`${example}\`.` };
    }
  }
  return { ok: true, args: { positionals, options, lists } };
}

/** The option of `spec` that `name` was probably meant to be. */
function suggestOption(name: string, spec: SubcommandSpec): string | undefined {
  const names = spec.options.map((o) => o.name);
  const near = closest(name, names);
  if (near) return near;
  const prefixed = name.length > 0 ? names.filter((n) => n.startsWith(name)) : [];
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

function unknownOption(where: string, spec: SubcommandSpec, typed: string, name: string): string {
  const shown = echo(typed);
  if (name === '') return `${shown} is not an option: write \`--name value\` or \`--name=value\`.`;
  if (spec.options.length === 0) return `\`${where}\` takes no options, but got ${shown}.`;
  const guess = suggestOption(name, spec);
  const [command = ''] = where.split(' ');
  const elsewhere = [...(GRAMMAR.get(command)?.entries() ?? [])]
    .filter(([, other]) => other !== spec && other.options.some((o) => o.name === name))
    .map(([sub]) => `\`${command} ${sub}\``);
  const belongs = elsewhere.length > 0 ? ` (\`--${name}\` is for ${elsewhere.join(' and ')})` : '';
  const list = spec.options.map((o) => `\`--${o.name}\``).join(', ');
  return `\`${where}\` has no option ${shown}${belongs}.${guess ? ` Did you mean \`--${guess}\`?` : ` Its options: ${list}.`}`;
}

// ---- Entry points ----

function problem(command: string, message: string, subcommand?: string): ParseResult {
  return { ok: false, problem: { message, usage: usageOf(command, subcommand) } };
}

/**
 * Parses the text of slash command `command` (e.g. `/env`, text `create feature-42 --size 2`).
 * `ctx` gives "now" and the time zone for `--at`. Slack's markup (`&lt;`, links, mentions) becomes plain text first ({@link plainText}).
 */
export function parseSlashCommand(command: string, text: string, ctx: ParseContext): ParseResult {
  try {
    const name = command.trim().toLowerCase();
    if (!(TOP_LEVEL as readonly string[]).includes(name)) return unknownCommand(command);
    if (text.length > MAX_TEXT) {
      return problem(name, `The command text is too long (${text.length} characters; at most ${MAX_TEXT}).`);
    }
    return parseWords(name, plainText(text), ctx);
  } catch {
    return problem('', 'Capstan could not read this command. Check it against the usage below.');
  }
}

/**
 * Parses the text of an app mention (`<@U0CAPSTAN> env create feature-42`): user mentions are dropped
 * and the first word names the command, with or without its slash. `@capstan help` (or another `/ops`
 * subcommand) on its own means `/ops help`.
 */
export function parseMention(text: string, ctx: ParseContext): ParseResult {
  try {
    if (text.length > 2 * MAX_TEXT) {
      return problem('', `The message is too long (${text.length} characters; at most ${MAX_TEXT}).`);
    }
    const stripped = plainText(text.replace(/<@[A-Z0-9]+(\|[^>]*)?>/g, ' ')).trim();
    const match = /^(\S+)\s*([\s\S]*)$/.exec(stripped);
    const first = match?.[1];
    if (!first) return problem('', 'Mention me with a command, for example `@capstan ops help`.');
    const rest = match[2] ?? '';
    const name = (first.startsWith('/') ? first : `/${first}`).toLowerCase();
    if (!(TOP_LEVEL as readonly string[]).includes(name)) {
      if (GRAMMAR.get('/ops')?.has(first.toLowerCase())) return parseWithLimit('/ops', stripped, ctx);
      return unknownCommand(first.startsWith('/') ? first : `/${first}`);
    }
    return parseWithLimit(name, rest, ctx);
  } catch {
    return problem('', 'Capstan could not read this command. Check it against the usage below.');
  }
}

function parseWithLimit(name: string, text: string, ctx: ParseContext): ParseResult {
  if (text.length > MAX_TEXT) {
    return problem(name, `The command text is too long (${text.length} characters; at most ${MAX_TEXT}).`);
  }
  return parseWords(name, text, ctx);
}

function unknownCommand(command: string): ParseResult {
  const word = command.trim().toLowerCase();
  const guess = closest(word, TOP_LEVEL);
  // `@capstan status prod`: a subcommand on its own.
  const owners = guess ? [] : commandsWithSubcommand(word.replace(/^\//, ''));
  const hint = guess
    ? ` Did you mean \`${guess}\`?`
    : owners.length > 0
      ? ` Did you mean ${owners.map((o) => `\`${o} ${word.replace(/^\//, '')}\``).join(' or ')}?`
      : '';
  return problem(
    '',
    `Capstan has no command ${echo(command)}.${hint} Commands: ${TOP_LEVEL.map((c) => `\`${c}\``).join(', ')}.`,
  );
}

/** The words of `text` as the subcommand and arguments of command `name` (a known top-level command). */
function parseWords(name: string, text: string, ctx: ParseContext): ParseResult {
  const tokens = tokenize(text);
  if (!tokens.ok) return problem(name, `Could not read the command: ${tokens.error}.`);
  const words = tokens.words;
  const subcommands = GRAMMAR.get(name);
  if (!subcommands) return unknownCommand(name);

  // The subcommand is the first word that is neither an option nor an option's value.
  let at = 0;
  while (at < words.length && isOptionWord(words[at] ?? '')) {
    const word = undash(words[at] ?? '').toLowerCase();
    if (word === '--help' || word === '-h') return helpFor(name);
    at += word.includes('=') ? 1 : 2;
  }
  const sub = words[at];
  const names = [...subcommands.keys()];
  if (sub === undefined) {
    return problem(
      name,
      `\`${name}\` needs a subcommand: ${names.map((n) => `\`${n}\``).join(', ')}${name === '/ops' ? '' : ', or `help`'}.`,
    );
  }
  const subcommand = sub.toLowerCase();
  const rest = [...words.slice(0, at), ...words.slice(at + 1)];
  const spec = subcommands.get(subcommand);
  if (!spec) {
    if (subcommand === 'help') return helpFor(name, rest);
    return problem(name, unknownSubcommand(name, sub, subcommand, names));
  }
  const where = `${name} ${subcommand}`;
  const scanned = scan(where, spec, rest);
  if (scanned.ok === 'help') return { ok: true, command: { kind: 'ops.help', topic: where } };
  if (!scanned.ok) return problem(name, scanned.error, subcommand);
  const result = spec.build(scanned.args, ctx);
  return result.ok ? result : problem(name, result.error, subcommand);
}

/** `/env help [subcommand]` and `/env --help`: the same as `/ops help env [subcommand]`. */
function helpFor(name: string, words: readonly string[] = []): ParseResult {
  if (words.length > 1) return problem(name, `\`${name} help\` takes at most one subcommand name.`);
  const result = helpCommand([name, ...words]);
  return result.ok ? result : problem(name, result.error);
}

function unknownSubcommand(
  name: string,
  typed: string,
  subcommand: string,
  names: readonly string[],
): string {
  const message = `\`${name}\` has no subcommand ${echo(typed)}.`;
  const guess = closest(subcommand, names);
  if (guess) return `${message} Did you mean \`${guess}\`?`;
  const owners = commandsWithSubcommand(subcommand).filter((c) => c !== name);
  if (owners.length > 0)
    return `${message} ${owners.map((o) => `\`${o} ${subcommand}\``).join(' and ')} exist.`;
  if (subcommand.startsWith('-')) return `${message} Put the subcommand first, e.g. \`${name} ${names[0]}\`.`;
  return message;
}

/** The known word nearest to `word` by edit distance, if it is near enough to be a typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const d = editDistance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}

/** Optimal-string-alignment distance: a swapped pair of letters counts as one typo. */
function editDistance(a: string, b: string): number {
  if (a.length > 64 || b.length > 64) return Number.POSITIVE_INFINITY;
  const n = b.length;
  // Three rows of the table: two back (for transpositions), the previous one, the current one.
  let before: number[] = new Array<number>(n + 1).fill(0);
  let previous: number[] = Array.from({ length: n + 1 }, (_, j) => j);
  let current: number[] = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let d = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
      if (
        i > 1 &&
        j > 1 &&
        a.charCodeAt(i - 1) === b.charCodeAt(j - 2) &&
        a.charCodeAt(i - 2) === b.charCodeAt(j - 1)
      ) {
        d = Math.min(d, (before[j - 2] ?? 0) + 1);
      }
      current[j] = d;
    }
    [before, previous, current] = [previous, current, before];
  }
  return previous[n] ?? Number.POSITIVE_INFINITY;
}
