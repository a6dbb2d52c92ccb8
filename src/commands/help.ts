/** Usage and help text for every command (pure). */

/** One top-level slash command's help. */
export interface CommandHelp {
  /** `/env`, `/lb`, `/rds` or `/ops`. */
  command: string;
  summary: string;
  usage: readonly string[];
  examples: readonly string[];
}

/** The help of every slash command, in the order `/ops help` lists them. */
export const COMMAND_HELP: readonly CommandHelp[] = [
  {
    command: '/env',
    summary: 'Create, list, inspect and delete named environments (Auto Scaling groups from blueprints).',
    usage: [
      '/env create <name> [--blueprint B] [--size N] [--ttl 8h] [--version V]',
      '/env delete <name>',
      '/env list',
      '/env status <name>',
    ],
    examples: ['/env create feature-42 --blueprint web --size 2 --ttl 8h', '/env status feature-42'],
  },
  {
    command: '/lb',
    summary: 'Take an instance or a whole environment out of its load balancer, and put it back.',
    usage: [
      '/lb disable <env> [--instance i-…] [--reason "…"]',
      '/lb enable <env> [--instance i-…]',
      '/lb status <env>',
    ],
    examples: ['/lb disable prod --instance i-0abc123 --reason "kernel patch"', '/lb enable prod'],
  },
  {
    command: '/rds',
    summary: 'Restore one table to a point in time; investigate IO credits.',
    usage: [
      '/rds restore-table <db-instance> <schema>.<table> --at <time> [--mode side-table|merge-missing|replace]',
      '/rds io-credits <db-instance> [--hours 24]',
    ],
    examples: [
      '/rds restore-table orders-db shop.billing --at "15m ago"',
      '/rds io-credits orders-db --hours 48',
    ],
  },
  {
    command: '/ops',
    summary: 'Capstan itself: help, jobs, cancel, audit, ping.',
    usage: ['/ops help [command]', '/ops jobs', '/ops cancel <job-id>', '/ops audit [n]', '/ops ping'],
    examples: ['/ops help env', '/ops ping'],
  },
];

/** The help entry for `/env`, `env` or `@capstan env`, if there is one. */
export function findHelp(topic: string): CommandHelp | undefined {
  const name = topic.startsWith('/') ? topic : `/${topic}`;
  return COMMAND_HELP.find((h) => h.command === name.toLowerCase());
}

/** The usage lines of one command, ready to show in a code block. */
export function usageOf(command: string): string {
  return findHelp(command)?.usage.join('\n') ?? COMMAND_HELP.flatMap((h) => h.usage).join('\n');
}

/** Help text: all commands, or one in detail. Markdown (Slack mrkdwn). */
export function helpText(topic?: string): string {
  if (topic) {
    const help = findHelp(topic);
    if (!help)
      return `There is no command \`${topic}\`. Commands: ${COMMAND_HELP.map((h) => `\`${h.command}\``).join(', ')}.`;
    return [
      `*${help.command}* — ${help.summary}`,
      `\`\`\`${help.usage.join('\n')}\`\`\``,
      `Examples:\n${help.examples.map((e) => `• \`${e}\``).join('\n')}`,
      'Times for `--at`: ISO-8601 with offset, `YYYY-MM-DD HH:MM[:SS]` in the configured zone, or `15m ago`.',
    ].join('\n');
  }
  return [
    '*Capstan* — chat-ops for AWS. `@capstan <same words>` works in channels too.',
    ...COMMAND_HELP.map((h) => `*${h.command}* — ${h.summary}\n\`\`\`${h.usage.join('\n')}\`\`\``),
    'More: `/ops help <command>`',
  ].join('\n');
}
