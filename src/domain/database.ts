/**
 * The databases `/rds` commands work on (pure): which configured entry, where it lives, and what its
 * credentials' secret holds. Connecting with them is `src/aws/database-credentials.ts`'s.
 */
import type { AwsPlacement } from '../aws/clients.js';
import type { Config, DatabaseConfig } from '../config.js';
import { ErrorCode, UserError } from '../errors.js';

/** A configured database, with where it lives and, when the entry names a variable, its password. */
export interface DatabaseRef {
  id: string;
  config: DatabaseConfig;
  placement: AwsPlacement;
  /** From `passwordEnv`; absent for secrets and IAM auth, which are fetched or made per connection. */
  password?: string;
}

/** The database `/rds` commands name, or a UserError listing the configured ones. */
export function resolveDatabase(config: Config, id: string): DatabaseRef {
  const db = config.file.databases[id];
  if (!db) {
    const known = Object.keys(config.file.databases);
    throw new UserError(
      `Capstan does not know database \`${id}\`. ${known.length > 0 ? `Configured: ${known.map((k) => `\`${k}\``).join(', ')}.` : 'No databases are configured (`databases:` in the config file).'}`,
      ErrorCode.NotFound,
    );
  }
  const region = db.region ?? config.file.aws.region ?? config.aws.region;
  if (!region) throw new UserError(`No AWS region is configured for database \`${id}\`.`);
  const roleArn = db.roleArn ?? config.file.aws.roleArn;
  const password = config.databasePasswords[id];
  return {
    id,
    config: db,
    placement: roleArn ? { region, roleArn } : { region },
    ...(password !== undefined ? { password } : {}),
  };
}

/** A secret's value: the password itself, or JSON with `password` (and maybe `username`), as RDS writes them. */
export function parseDatabaseSecret(value: string): { password: string; username?: string } | undefined {
  const trimmed = value.trim();
  if (!trimmed.startsWith('{')) return trimmed.length > 0 ? { password: value } : undefined;
  try {
    const parsed = JSON.parse(trimmed) as { password?: unknown; username?: unknown };
    if (typeof parsed.password !== 'string' || parsed.password.length === 0) return undefined;
    return typeof parsed.username === 'string' && parsed.username.length > 0
      ? { password: parsed.password, username: parsed.username }
      : { password: parsed.password };
  } catch {
    return undefined;
  }
}
