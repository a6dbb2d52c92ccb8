/** Usage and help text for every command (pure): the single source of every usage string. */
import { CATALOG, type CatalogKind, COMMAND_KINDS } from '../catalog.js';
import { echo } from './echo.js';

/** One subcommand's help, e.g. `/env create`. */
export interface SubcommandHelp {
  /** `create`. */
  name: string;
  /** The usage line, e.g. `/env create <name> [--blueprint B] …`. */
  usage: string;
  summary: string;
  /** What each argument and option means and accepts. */
  details: readonly string[];
  examples: readonly string[];
}

/** One top-level slash command's help. */
export interface CommandHelp {
  /** `/env`, `/lb`, `/rds` or `/ops`. */
  command: string;
  summary: string;
  /** The usage line of each subcommand, in order. */
  usage: readonly string[];
  examples: readonly string[];
  subcommands: readonly SubcommandHelp[];
}

const TIME_FORMS =
  '`<time>`: ISO-8601 with an offset (`2026-11-22T01:30:00Z`, `2026-11-22T02:30:00+01:00`), ' +
  '`YYYY-MM-DD HH:MM[:SS]`, `HH:MM`, `today HH:MM` or `yesterday HH:MM` in the configured time zone, or relative (`90s ago`, `15m ago`, `2h ago`, `1d ago`). ' +
  'It must be in the past. Quote it when it has spaces. A local time that does not exist (clocks jumping ' +
  'forward) is refused; one that happens twice (clocks going back) means the first of the two.';

const ENV_NAME = '`<name>`: 1–32 lowercase letters, digits and single hyphens, starting with a letter.';

function command(
  name: string,
  summary: string,
  examples: readonly string[],
  subcommands: readonly SubcommandHelp[],
): CommandHelp {
  return { command: name, summary, usage: subcommands.map((s) => s.usage), examples, subcommands };
}

/** Each subcommand's help, by the catalog's kind: the type asks for one per entry. */
const SUBCOMMAND_HELP: { readonly [K in CatalogKind]: Omit<SubcommandHelp, 'name'> } = {
  'env.create': {
    usage: '/env create <name> [--blueprint B] [--size N] [--ttl 8h] [--version V]',
    summary: 'Create an environment from a blueprint.',
    details: [
      ENV_NAME,
      '`--blueprint B`: the blueprint to build it from (same rules as names).',
      '`--size N`: how many instances, 1–100.',
      '`--ttl 8h`: how long it lives, from `15m` to `30d`: `30m`, `8h`, `2d`, `1h30m`.',
      '`--version V`: the version to deploy: up to 64 letters, digits, `.`, `_`, `+`, `-`. For a stack blueprint with versioned templates, the template of that version (the newest without it).',
      'Options go before or after the name, as `--size 2` or `--size=2`.',
    ],
    examples: [
      '/env create feature-42 --blueprint web --size 2 --ttl 8h',
      '/env create demo --version 1.4.2',
    ],
  },
  'env.delete': {
    usage: '/env delete <name>',
    summary: 'Delete an environment and everything it runs.',
    details: [ENV_NAME],
    examples: ['/env delete feature-42'],
  },
  'env.extend': {
    usage: '/env extend <name> [--by 4h]',
    summary: 'Push back when an environment expires (by 4 hours unless told otherwise).',
    details: [ENV_NAME, '`--by 4h`: how much longer it lives, from `15m` to `30d`.'],
    examples: ['/env extend feature-42', '/env extend feature-42 --by 1d'],
  },
  'env.list': {
    usage: '/env list',
    summary: 'List the environments.',
    details: [],
    examples: ['/env list'],
  },
  'env.status': {
    usage: '/env status <name>',
    summary: "Show an environment's instances, health and time to live.",
    details: [ENV_NAME],
    examples: ['/env status feature-42'],
  },
  'env.update': {
    usage: '/env update <name> [--version V] [--param K=V …]',
    summary:
      'Move a stack environment to another template version or parameter values, by a change set (approved as the plan where the environment is protected).',
    details: [
      ENV_NAME,
      '`--version V`: the template version to move to (older ones too); without it, the one it runs.',
      '`--param K=V`: a template parameter to change, as often as needed; the others keep their values.',
    ],
    examples: [
      '/env update shop-demo --version 1.4.3',
      '/env update shop-demo --param InstanceType=t3.large',
    ],
  },
  'lb.disable': {
    usage: '/lb disable <env> [--instance i-…] [--reason "…"]',
    summary: 'Take one instance, or the whole environment, out of the load balancer.',
    details: [
      '`<env>`: the environment.',
      '`--instance i-…`: just this instance (`i-` and 8 or 17 hex digits); without it, every instance.',
      '`--reason "…"`: why, 1–200 characters, in quotes when it has spaces.',
    ],
    examples: ['/lb disable prod --instance i-0abc1234def567890 --reason "kernel patch"'],
  },
  'lb.enable': {
    usage: '/lb enable <env> [--instance i-…]',
    summary: 'Put one instance, or the whole environment, back into the load balancer.',
    details: [
      '`<env>`: the environment.',
      '`--instance i-…`: just this instance; without it, every instance.',
    ],
    examples: ['/lb enable prod', '/lb enable prod --instance i-0abc1234def567890'],
  },
  'lb.status': {
    usage: '/lb status <env>',
    summary: "Show each instance's state in the load balancer.",
    details: ['`<env>`: the environment.'],
    examples: ['/lb status prod'],
  },
  'rds.restore-table': {
    usage:
      '/rds restore-table <db-instance> <schema>.<table> --at <time> [--mode side-table|merge-missing|replace]',
    summary: 'Bring one table back as it was at a moment in the past.',
    details: [
      '`<db-instance>`: the RDS DB instance identifier (letters, digits, single hyphens; any case).',
      '`<schema>.<table>`: 1–64 letters, digits, `_`, `$` on each side of one dot; no quotes or backticks.',
      `\`--at <time>\` (required). ${TIME_FORMS}`,
      '`--mode`: `side-table` (the default) restores beside the original table; `merge-missing` adds the ' +
        'rows the original lacks; `replace` replaces the original table.',
    ],
    examples: [
      '/rds restore-table orders-db shop.billing --at "15m ago"',
      '/rds restore-table orders-db shop.billing --at "2026-11-22 01:30" --mode merge-missing',
    ],
  },
  'rds.io-credits': {
    usage: '/rds io-credits <db-instance> [--hours 24]',
    summary: "Investigate a DB instance's IO credits (burst balance) and what used them.",
    details: [
      '`<db-instance>`: the RDS DB instance identifier.',
      '`--hours`: how far back to look, 1–336 (default 24).',
    ],
    examples: ['/rds io-credits orders-db', '/rds io-credits orders-db --hours 48'],
  },
  'ops.help': {
    usage: '/ops help [command]',
    summary: 'Explain every command, or one in detail.',
    details: ['`[command]`: `env`, `lb`, `rds` or `ops`, optionally with a subcommand (`env create`).'],
    examples: ['/ops help', '/ops help rds restore-table'],
  },
  'ops.jobs': {
    usage: '/ops jobs',
    summary: 'List the jobs that are queued or running.',
    details: [],
    examples: ['/ops jobs'],
  },
  'ops.cancel': {
    usage: '/ops cancel <job-id>',
    summary: 'Cancel a queued or running job.',
    details: ['`<job-id>`: as shown when the job was queued, or by `/ops jobs`.'],
    examples: ['/ops cancel 3f9a2c41b7de'],
  },
  'ops.audit': {
    usage: '/ops audit [n]',
    summary: 'Show the latest entries of the audit log.',
    details: ['`[n]`: how many, 1–100 (default 20).'],
    examples: ['/ops audit', '/ops audit 50'],
  },
  'ops.ping': {
    usage: '/ops ping',
    summary: 'Check the whole path from Slack to a worker and back.',
    details: [],
    examples: ['/ops ping'],
  },
};

/** Each slash command's own summary and examples. */
const COMMAND_SUMMARY: Readonly<Record<string, { summary: string; examples: readonly string[] }>> = {
  '/env': {
    summary: 'Create, list, inspect and delete named environments (Auto Scaling groups from blueprints).',
    examples: ['/env create feature-42 --blueprint web --size 2 --ttl 8h', '/env status feature-42'],
  },
  '/lb': {
    summary: 'Take an instance or a whole environment out of its load balancer, and put it back.',
    examples: ['/lb disable prod --instance i-0abc1234def567890 --reason "kernel patch"', '/lb enable prod'],
  },
  '/rds': {
    summary: 'Restore one table to a point in time; investigate IO credits.',
    examples: [
      '/rds restore-table orders-db shop.billing --at "15m ago"',
      '/rds io-credits orders-db --hours 48',
    ],
  },
  '/ops': {
    summary: 'Capstan itself: help, jobs, cancel, audit, ping.',
    examples: ['/ops help env', '/ops ping'],
  },
};

/** The help of every slash command, in the order `/ops help` lists them (the catalog's). */
export const COMMAND_HELP: readonly CommandHelp[] = (() => {
  const byCommand = new Map<string, SubcommandHelp[]>();
  for (const kind of COMMAND_KINDS) {
    const [name = '', subcommand = ''] = CATALOG[kind].words.split(' ');
    byCommand.set(name, [...(byCommand.get(name) ?? []), { name: subcommand, ...SUBCOMMAND_HELP[kind] }]);
  }
  return [...byCommand].map(([name, subcommands]) => {
    const own = COMMAND_SUMMARY[name];
    if (!own) throw new Error(`no help summary for ${name}`);
    return command(name, own.summary, own.examples, subcommands);
  });
})();

/** Every command's usage lines. */
const ALL_USAGE = COMMAND_HELP.flatMap((h) => h.usage).join('\n');

/** The help entry for `/env`, `env` or `ENV`, if there is one. */
export function findHelp(topic: string): CommandHelp | undefined {
  const name = (topic.startsWith('/') ? topic : `/${topic}`).toLowerCase();
  return COMMAND_HELP.find((h) => h.command === name);
}

/** A help topic resolved: a command, and maybe one of its subcommands. */
export interface HelpTopic {
  help: CommandHelp;
  subcommand?: SubcommandHelp;
}

/**
 * Resolves a help topic: `env`, `/env`, `env create`, `/env create`, or a subcommand name that only
 * one command has (`restore-table`). Case-insensitive. Undefined when it names nothing (or is ambiguous).
 */
export function resolveHelpTopic(topic: string): HelpTopic | undefined {
  const words = topic.trim().toLowerCase().split(/\s+/);
  if (words.length > 2 || words[0] === undefined || words[0] === '') return undefined;
  const [first, second] = words;
  const help = findHelp(first);
  if (help) {
    if (second === undefined) return { help };
    const subcommand = help.subcommands.find((s) => s.name === second);
    return subcommand ? { help, subcommand } : undefined;
  }
  if (second !== undefined) return undefined;
  const owners = COMMAND_HELP.filter((h) => h.subcommands.some((s) => s.name === first));
  const [only] = owners;
  if (owners.length !== 1 || !only) return undefined;
  return { help: only, subcommand: only.subcommands.find((s) => s.name === first) };
}

/** The commands that have a subcommand called `name` (e.g. `status` → `/env`, `/lb`). */
export function commandsWithSubcommand(name: string): string[] {
  return COMMAND_HELP.filter((h) => h.subcommands.some((s) => s.name === name)).map((h) => h.command);
}

/**
 * The usage lines of one command (or of one of its subcommands), ready to show in a code block. An
 * unknown command gets every command's usage.
 */
export function usageOf(command: string, subcommand?: string): string {
  const help = findHelp(command);
  if (!help) return ALL_USAGE;
  const sub = subcommand === undefined ? undefined : help.subcommands.find((s) => s.name === subcommand);
  return sub ? sub.usage : help.usage.join('\n');
}

/** Help text: all commands, one command, or one subcommand in detail. Slack mrkdwn. */
export function helpText(topic?: string): string {
  if (topic === undefined || topic.trim() === '') {
    return [
      '*Capstan* — chat-ops for AWS. `@capstan <same words>` works in channels too.',
      ...COMMAND_HELP.map((h) => `*${h.command}* — ${h.summary}\n\`\`\`${h.usage.join('\n')}\`\`\``),
      'More: `/ops help <command>`, e.g. `/ops help env` or `/ops help rds restore-table`.',
    ].join('\n');
  }
  const resolved = resolveHelpTopic(topic);
  if (!resolved) {
    return `There is no command ${echo(topic)}. Commands: ${COMMAND_HELP.map((h) => `\`${h.command}\``).join(', ')}.`;
  }
  const { help, subcommand } = resolved;
  if (subcommand) {
    return [
      `*${help.command} ${subcommand.name}* — ${subcommand.summary}`,
      `\`\`\`${subcommand.usage}\`\`\``,
      ...subcommand.details.map((d) => `• ${d}`),
      `Examples:\n${subcommand.examples.map((e) => `• \`${e}\``).join('\n')}`,
    ].join('\n');
  }
  const lines = [
    `*${help.command}* — ${help.summary}`,
    `\`\`\`${help.usage.join('\n')}\`\`\``,
    ...help.subcommands.map((s) => `• \`${help.command} ${s.name}\`: ${s.summary}`),
    `Examples:\n${help.examples.map((e) => `• \`${e}\``).join('\n')}`,
  ];
  if (help.command === '/rds') lines.push(`Times for \`--at\`: ${TIME_FORMS.replace(/^`<time>`: /, '')}`);
  lines.push(`Details: \`/ops help ${help.command.slice(1)} <subcommand>\`.`);
  return lines.join('\n');
}
