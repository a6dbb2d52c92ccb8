/**
 * `capstan sandbox attach-db`: the front door for bringing one's own MariaDB/MySQL to the sandbox.
 * It binds a sandbox DB instance to a server the user runs (its binary log must be on), checks the
 * settings point-in-time restores need, takes the base backup restores start from, and says what it
 * did. The password stays in the named environment variable: the sandbox's world (in Redis) keeps
 * only the variable's name, so each instance has its own credentials and none is stored.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mysql from 'mysql2/promise';
import type { Sandbox } from '../index.js';
import { type PitrState, pitrState } from './index.js';
import { servicesDir, takeBaseBackup } from './mariadb.js';

/** What to attach. */
export interface AttachDbOptions {
  instance: string;
  host: string;
  port: number;
  user: string;
  /** Name of the environment variable holding the password. */
  passwordEnv: string;
  engine: 'mysql' | 'mariadb';
  /** How far behind now the latest restorable time is (ms); the world's setting when absent. */
  restorableLagMs?: number;
}

/** The usage of `capstan sandbox attach-db`. */
export const ATTACH_USAGE =
  'usage: capstan sandbox attach-db <db-instance> --host <host> --port <port> --user <user> --password-env <VAR> [--engine mysql|mariadb] [--restorable-lag <seconds>]';

/** Reads the command line (without `sandbox attach-db`); an error message for a bad one. */
export function readAttachArgs(argv: string[]): AttachDbOptions | { error: string } {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        user: { type: 'string' },
        'password-env': { type: 'string' },
        engine: { type: 'string', default: 'mysql' },
        'restorable-lag': { type: 'string' },
      },
    });
  } catch (error) {
    return { error: (error as Error).message };
  }
  const v = parsed.values as Record<string, string | undefined>;
  const [instance, ...extra] = parsed.positionals;
  if (!instance || extra.length > 0) return { error: 'give exactly one DB instance identifier' };
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(instance))
    return { error: 'a DB instance identifier is lowercase letters, digits and hyphens, a letter first' };
  for (const name of ['host', 'port', 'user', 'password-env'] as const)
    if (!v[name]) return { error: `--${name} is required` };
  const port = Number(v.port);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return { error: '--port must be a port number' };
  if (!/^[A-Z_][A-Z0-9_]*$/.test(v['password-env'] ?? ''))
    return { error: '--password-env names an environment variable (e.g. SHOP_DB_PASSWORD), not a password' };
  if (v.engine !== 'mysql' && v.engine !== 'mariadb') return { error: '--engine is mysql or mariadb' };
  let restorableLagMs: number | undefined;
  if (v['restorable-lag'] !== undefined) {
    const seconds = Number(v['restorable-lag']);
    if (!Number.isFinite(seconds) || seconds < 0) return { error: '--restorable-lag is a number of seconds' };
    restorableLagMs = Math.round(seconds * 1000);
  }
  return {
    instance,
    host: v.host ?? '',
    port,
    user: v.user ?? '',
    passwordEnv: v['password-env'] ?? '',
    engine: v.engine,
    ...(restorableLagMs !== undefined ? { restorableLagMs } : {}),
  };
}

/** Why a server cannot back point-in-time restores, from its variables (pure); empty when it can. */
export function binlogProblems(variables: Record<string, string>): string[] {
  const problems: string[] = [];
  if ((variables.log_bin ?? '').toUpperCase() !== 'ON')
    problems.push('the binary log is off (start the server with --log-bin, or log_bin in its configuration)');
  const format = (variables.binlog_format ?? '').toUpperCase();
  if (format && format !== 'ROW' && format !== 'MIXED')
    problems.push(`binlog_format is ${format}: use ROW (or MIXED) so replayed changes are exact`);
  return problems;
}

/**
 * Attaches the server: checks it, takes the base backup, binds `instance` to it in the sandbox.
 * Returns the lines to print. @throws Error saying what is wrong, before anything was changed
 */
export async function attachDb(
  sandbox: Sandbox,
  options: AttachDbOptions,
  env: NodeJS.ProcessEnv,
): Promise<string[]> {
  const said: string[] = [];
  const password = env[options.passwordEnv];
  if (password === undefined) throw new Error(`${options.passwordEnv} is not set`);
  const world = await sandbox.snapshot();
  const existing = world.dbInstances[options.instance];
  if (existing)
    throw new Error(
      `the sandbox already has a DB instance ${options.instance}${pitrState(existing)?.attached ? ' (attached earlier)' : ''}; choose another name`,
    );

  const conn = await mysql
    .createConnection({ host: options.host, port: options.port, user: options.user, password })
    .catch((error: Error) => {
      throw new Error(
        `cannot connect to ${options.host}:${options.port} as ${options.user}: ${error.message.split(password).join('***')}`,
      );
    });
  let variables: Record<string, string>;
  try {
    const [rows] = await conn.query(
      "SHOW VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format', 'server_id', 'version')",
    );
    variables = Object.fromEntries(
      (rows as Array<{ Variable_name: string; Value: string }>).map((r) => [r.Variable_name, r.Value]),
    );
  } finally {
    await conn.end().catch(() => undefined);
  }
  const problems = binlogProblems(variables);
  if (problems.length > 0)
    throw new Error(`${options.host}:${options.port} cannot back restores: ${problems.join('; ')}`);
  said.push(
    `checked ${options.host}:${options.port} (${variables.version ?? 'unknown version'}): binary log on, binlog_format ${variables.binlog_format ?? '?'}`,
  );

  const name = `attached-${options.instance}`;
  const dir = join(servicesDir(), `mariadb-${name}`, 'pitr');
  await mkdir(dir, { recursive: true });
  const backup = await takeBaseBackup(
    { name, host: options.host, port: options.port, user: options.user, password },
    dir,
  );
  said.push(
    `took the base backup ${backup.path} (binary log ${backup.binlogFile} at ${backup.binlogPos}): restores reach back to ${new Date(backup.takenAt).toISOString()}`,
  );

  const pitr: PitrState = {
    server: name,
    attached: true,
    host: options.host,
    port: options.port,
    user: options.user,
    passwordEnv: options.passwordEnv,
    backup: { ...backup, takenAt: backup.takenAt + world.clockOffsetMs },
  };
  await sandbox.seed({
    dbInstances: [
      {
        id: options.instance,
        engine: options.engine,
        endpoint: { address: options.host, port: options.port },
        extension: { pitr: { ...pitr } },
      },
    ],
  });
  said.push(
    `bound sandbox DB instance ${options.instance} to it; workers read the password from ${options.passwordEnv}`,
  );
  if (options.restorableLagMs !== undefined) {
    await sandbox.setTiming({ restorableLag: options.restorableLagMs });
    said.push(`latest restorable time is now ${options.restorableLagMs / 1000} s behind the clock`);
  }
  said.push(
    `try: /rds restore-table ${options.instance} <schema>.<table> --at "5m ago" (databases: ${options.instance}: { user: ${options.user}, passwordEnv: ${options.passwordEnv} } in the config)`,
  );
  return said;
}
