/**
 * The databases `/rds` commands work on: which configured entry, where it lives, and how to connect to
 * one of its instances (the live one or a temporary restore) with the credentials the entry names —
 * a password from the environment, a Secrets Manager secret, or an RDS IAM auth token.
 */
import type { AwsClients, AwsPlacement } from '../aws/clients.js';
import type { DbInstance } from '../aws/rds.js';
import { rdsAuthToken } from '../aws/rds-auth.js';
import { getSecretString } from '../aws/secrets.js';
import type { Config, DatabaseConfig } from '../config.js';
import { ErrorCode, UserError } from '../errors.js';
import type { ConnectionOptions } from '../mysql/index.js';

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

async function fromSecret(db: DatabaseRef, clients: AwsClients, secretId: string) {
  let value: string;
  try {
    value = await getSecretString(clients.secrets, secretId);
  } catch (error) {
    const name = (error as { name?: string }).name ?? 'Error';
    throw new UserError(
      `Cannot read the password of \`${db.id}\` from secret \`${secretId}\` (databases.${db.id}.secret): ${name === 'ResourceNotFoundException' ? 'no such secret' : name === 'AccessDeniedException' ? "Capstan's AWS identity may not read it (secretsmanager:GetSecretValue)" : name}.`,
    );
  }
  const parsed = parseDatabaseSecret(value);
  if (!parsed) {
    throw new UserError(
      `Secret \`${secretId}\` of \`${db.id}\` holds no password: give it the password, or JSON with a "password" field.`,
    );
  }
  return parsed;
}

/**
 * How to connect to `instance` (the live one or a temporary restore of it) as the entry's user.
 * @throws UserError when the instance has no endpoint yet or the credentials cannot be had (never showing them)
 */
export async function connectionOptions(
  db: DatabaseRef,
  clients: AwsClients,
  instance: DbInstance,
  database?: string,
): Promise<ConnectionOptions> {
  if (!instance.endpoint)
    throw new UserError(`Instance \`${instance.id}\` has no endpoint yet (status ${instance.status}).`);
  const { address: host, port } = instance.endpoint;
  const base = {
    host,
    port,
    ...(database ? { database } : {}),
    ...(db.config.tls === 'require' ? { ssl: true } : {}),
  };
  if (db.config.iamAuth) {
    const authToken = await rdsAuthToken(clients.rds, { hostname: host, port, username: db.config.user });
    return { ...base, user: db.config.user, authToken };
  }
  if (db.config.secret) {
    const { password, username } = await fromSecret(db, clients, db.config.secret);
    return { ...base, user: username ?? db.config.user, password };
  }
  return { ...base, user: db.config.user, password: db.password ?? '' };
}
