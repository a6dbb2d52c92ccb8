/**
 * How to connect to one of a database's instances (the live one or a temporary restore) with the
 * credentials its configuration names: a password from the environment, a Secrets Manager secret,
 * or an RDS IAM auth token.
 */
import { type DatabaseRef, parseDatabaseSecret } from '../domain/database.js';
import { UserError } from '../errors.js';
import type { ConnectionOptions } from '../mysql/index.js';
import type { AwsClients } from './clients.js';
import type { DbInstance } from './rds.js';
import { rdsAuthToken } from './rds-auth.js';
import { getSecretString } from './secrets.js';

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
