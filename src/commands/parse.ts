/**
 * The grammar: slash-command text (or the words after `@capstan`) → a typed {@link Command} or a
 * {@link UsageProblem}. Pure; never throws, whatever the input.
 */
import { findHelp, usageOf } from './help.js';
import { tokenize } from './tokenize.js';
import type { Command, ParseResult } from './types.js';

const TOP_LEVEL = ['/env', '/lb', '/rds', '/ops'] as const;
const OPS_SUBCOMMANDS = ['help', 'jobs', 'cancel', 'audit', 'ping'] as const;
// Subcommands that the grammar knows but whose capability has not landed yet.
const PLANNED: Readonly<Record<string, readonly string[]>> = {
  '/env': ['create', 'delete', 'list', 'status'],
  '/lb': ['disable', 'enable', 'status'],
  '/rds': ['restore-table', 'io-credits'],
  '/ops': ['jobs', 'cancel', 'audit'],
};

/** Longest input we look at; Slack caps command text well below this. */
const MAX_TEXT = 4000;

function problem(command: string, message: string): ParseResult {
  return { ok: false, problem: { message, usage: usageOf(command) } };
}

function ok(command: Command): ParseResult {
  return { ok: true, command };
}

/** Parses the text of slash command `command` (e.g. `/ops`, text `ping`). */
export function parseSlashCommand(command: string, text: string): ParseResult {
  const name = command.toLowerCase();
  if (!(TOP_LEVEL as readonly string[]).includes(name)) {
    return problem('/ops', `Capstan has no command \`${command.slice(0, 40)}\`.`);
  }
  if (text.length > MAX_TEXT)
    return problem(name, `The command text is too long (${text.length} characters).`);
  const words = tokenize(text);
  if (!words.ok) return problem(name, `Could not read the command: ${words.error}.`);
  const [sub, ...rest] = words.words;
  if (sub === undefined) return problem(name, `\`${name}\` needs a subcommand.`);
  const subcommand = sub.toLowerCase();

  if (name === '/ops') {
    if (subcommand === 'ping') {
      return rest.length === 0 ? ok({ kind: 'ops.ping' }) : problem(name, '`/ops ping` takes no arguments.');
    }
    if (subcommand === 'help') {
      if (rest.length > 1) return problem(name, '`/ops help` takes at most one command name.');
      const topic = rest[0];
      if (topic !== undefined && !findHelp(topic)) {
        return problem(name, `There is no command \`${topic.slice(0, 40)}\` to explain. Try \`/ops help\`.`);
      }
      return ok(
        topic === undefined ? { kind: 'ops.help' } : { kind: 'ops.help', topic: topic.toLowerCase() },
      );
    }
  }
  if (PLANNED[name]?.includes(subcommand)) {
    return problem(
      name,
      `\`${name} ${subcommand}\` is part of Capstan's grammar but not available in this version yet.`,
    );
  }
  const known = name === '/ops' ? OPS_SUBCOMMANDS : (PLANNED[name] ?? []);
  const suggestion = closest(subcommand, known);
  return problem(
    name,
    `\`${name}\` has no subcommand \`${sub.slice(0, 40)}\`.${suggestion ? ` Did you mean \`${suggestion}\`?` : ''}`,
  );
}

/**
 * Parses the text of an app mention (`<@U0CAPSTAN> ops ping`): the bot's own mention is dropped and
 * the first word names the command, with or without its slash.
 */
export function parseMention(text: string): ParseResult {
  const stripped = text.replace(/<@[A-Z0-9]+(\|[^>]*)?>/g, ' ').trim();
  const [first, ...rest] = stripped.split(/\s+/);
  if (!first) return problem('/ops', 'Mention me with a command, for example `@capstan ops help`.');
  const command = first.startsWith('/') ? first : `/${first}`;
  return parseSlashCommand(command, rest.join(' '));
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
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i++) {
    const row = d[i] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(at(i, j), at(i - 2, j - 2) + 1);
      }
    }
  }
  return at(a.length, b.length);
}
