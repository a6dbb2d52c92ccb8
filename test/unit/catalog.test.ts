/** The catalog agrees with the grammar and the help: each entry's words parse, and have their usage. */
import { describe, expect, it } from 'vitest';
import { CATALOG, COMMAND_JOBS, COMMAND_KINDS } from '../../src/catalog.js';
import { COMMAND_HELP, parseSlashCommand, usageOf } from '../../src/commands/index.js';
import { JOB_NAMES } from '../../src/queue/contract.js';

describe('catalog', () => {
  it('has help with a usage line for every entry, and an entry for every subcommand in the help', () => {
    for (const kind of COMMAND_KINDS) {
      const [command = '', subcommand = ''] = CATALOG[kind].words.split(' ');
      expect(usageOf(command, subcommand), kind).toMatch(
        new RegExp(`^${CATALOG[kind].words.replace('/', '\\/')}\\b`),
      );
    }
    const helped = COMMAND_HELP.flatMap((h) => h.subcommands.map((s) => `${h.command} ${s.name}`));
    expect(helped.sort()).toEqual(COMMAND_KINDS.map((k) => CATALOG[k].words).sort());
  });

  it('names each entry by what its words parse to', () => {
    const ctx = { now: new Date('2026-12-06T12:00:00Z'), timeZone: 'UTC' };
    const example: Partial<Record<string, string>> = {
      'env.create': 'feature-1',
      'env.delete': 'feature-1',
      'env.extend': 'feature-1',
      'env.status': 'feature-1',
      'env.update': 'feature-1 --version 1.4.3',
      'lb.disable': 'prod',
      'lb.enable': 'prod',
      'lb.status': 'prod',
      'rds.restore-table': 'orders-db shop.billing --at "15m ago"',
      'rds.io-credits': 'orders-db',
      'ops.cancel': 'j0123456789a',
    };
    for (const kind of COMMAND_KINDS) {
      const [command = '', subcommand = ''] = CATALOG[kind].words.split(' ');
      const parsed = parseSlashCommand(command, `${subcommand} ${example[kind] ?? ''}`.trim(), ctx);
      expect(parsed.ok && parsed.command.kind, kind).toBe(kind);
    }
  });

  it('runs every job-kind command as a job of its own name', () => {
    for (const kind of COMMAND_KINDS) {
      expect((JOB_NAMES as readonly string[]).includes(kind), kind).toBe(CATALOG[kind].job);
    }
    expect([...COMMAND_JOBS].sort()).toEqual(COMMAND_KINDS.filter((k) => CATALOG[k].job).sort());
  });
});
