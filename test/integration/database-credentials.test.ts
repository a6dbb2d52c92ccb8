/**
 * How Capstan gets a database password: from the environment, from a Secrets Manager secret (read
 * through the real SDK client over the sandbox), or as an RDS IAM auth token signed locally — and
 * what the config file may say about it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, ResourceNotFoundException } from '@aws-sdk/client-secrets-manager';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createSandbox, type Sandbox } from '../../devkit/sandbox/index.js';
import { type AwsClients, createAwsClientFactory } from '../../src/aws/clients.js';
import { connectionOptions } from '../../src/aws/database-credentials.js';
import type { DbInstance } from '../../src/aws/rds.js';
import { readConfig } from '../../src/config.js';
import { parseDatabaseSecret, resolveDatabase } from '../../src/domain/database.js';
import { ConfigError, UserError } from '../../src/errors.js';

const INSTANCE: DbInstance = {
  id: 'orders-db',
  status: 'available',
  engine: 'mysql',
  instanceClass: 'db.t3.medium',
  endpoint: { address: 'orders-db.abc123.eu-west-1.rds.amazonaws.com', port: 3306 },
} as DbInstance;

function config(yaml: string, env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'capstan-db-config-'));
  const path = join(dir, 'capstan.yml');
  writeFileSync(path, `aws: { region: eu-west-1 }\n${yaml}`);
  return readConfig({ CAPSTAN_CONFIG: path, ...env });
}

function problems(yaml: string): string {
  try {
    config(yaml);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.join('\n');
    throw error;
  }
  throw new Error('expected the config to be refused');
}

let redis: Redis;
let sandbox: Sandbox;
let clients: AwsClients;

beforeAll(async () => {
  redis = new Redis(inject('redisUrl'));
  sandbox = createSandbox({ redis, prefix: `{t-${randomBytes(4).toString('hex')}}` });
  clients = createAwsClientFactory({ sandbox }).clients({ region: 'eu-west-1' });
  await sandbox.seed({
    secrets: [
      { name: 'prod/orders-db/capstan', value: { username: 'capstan_ro', password: 's3cr3t-from-json' } },
      { name: 'prod/orders-db/plain', value: 'plain-s3cr3t' },
      { name: 'prod/orders-db/empty', value: { user: 'x' } },
    ],
  });
});

afterAll(async () => {
  await sandbox.reset();
  redis.disconnect();
});

describe('database credentials in the config file', () => {
  it('takes exactly one of passwordEnv, secret and iamAuth', () => {
    expect(problems('databases:\n  orders-db: { user: capstan }\n')).toContain(
      'exactly one of passwordEnv, secret or iamAuth: true',
    );
    expect(
      problems('databases:\n  orders-db: { user: capstan, passwordEnv: DB_PW, secret: prod/db }\n'),
    ).toContain('exactly one of passwordEnv, secret or iamAuth: true');
    expect(problems('databases:\n  orders-db: { user: capstan, iamAuth: true, tls: "off" }\n')).toContain(
      'iamAuth sends the token in clear text, so it needs tls: require',
    );
    expect(problems('databases:\n  orders-db: { user: capstan, secret: "a b" }\n')).toContain(
      'a Secrets Manager secret name or ARN',
    );
    const ok = config(
      [
        'databases:',
        '  a-db: { user: u, secret: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/a-AbCdEf" }',
        '  b-db: { user: u, iamAuth: true }',
        '  c-db: { user: u, passwordEnv: C_PW }',
      ].join('\n'),
      { C_PW: 'pw' },
    );
    expect(Object.keys(ok.file.databases)).toEqual(['a-db', 'b-db', 'c-db']);
    // Only the variable-named password is read at start-up.
    expect(ok.databasePasswords).toEqual({ 'c-db': 'pw' });
  });
});

describe('secret values', () => {
  it('reads the password alone, or JSON with password and username as RDS writes it', () => {
    expect(parseDatabaseSecret('hunter2')).toEqual({ password: 'hunter2' });
    expect(parseDatabaseSecret('{"username":"admin","password":"p","engine":"mysql"}')).toEqual({
      password: 'p',
      username: 'admin',
    });
    expect(parseDatabaseSecret('{"password":"p"}')).toEqual({ password: 'p' });
    expect(parseDatabaseSecret('{"username":"admin"}')).toBeUndefined();
    expect(parseDatabaseSecret('{not json')).toBeUndefined();
    expect(parseDatabaseSecret('')).toBeUndefined();
  });
});

describe('connectionOptions', () => {
  it('uses a password from the environment', async () => {
    const cfg = config('databases:\n  orders-db: { user: capstan, passwordEnv: DB_PW, tls: "off" }\n', {
      DB_PW: 'env-pw',
    });
    const options = await connectionOptions(resolveDatabase(cfg, 'orders-db'), clients, INSTANCE, 'shop');
    expect(options).toEqual({
      host: INSTANCE.endpoint?.address,
      port: 3306,
      user: 'capstan',
      password: 'env-pw',
      database: 'shop',
    });
  });

  it('reads the password (and user) from a Secrets Manager secret', async () => {
    const cfg = config('databases:\n  orders-db: { user: capstan, secret: prod/orders-db/capstan }\n');
    const options = await connectionOptions(resolveDatabase(cfg, 'orders-db'), clients, INSTANCE);
    expect(options).toMatchObject({ user: 'capstan_ro', password: 's3cr3t-from-json', ssl: true });
    const plain = config('databases:\n  orders-db: { user: capstan, secret: prod/orders-db/plain }\n');
    expect(await connectionOptions(resolveDatabase(plain, 'orders-db'), clients, INSTANCE)).toMatchObject({
      user: 'capstan',
      password: 'plain-s3cr3t',
    });
  });

  it('says which secret failed and why, never showing a value', async () => {
    const missing = config('databases:\n  orders-db: { user: capstan, secret: prod/nope }\n');
    const error = await connectionOptions(resolveDatabase(missing, 'orders-db'), clients, INSTANCE).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toBe(
      'Cannot read the password of `orders-db` from secret `prod/nope` (databases.orders-db.secret): no such secret.',
    );
    const empty = config('databases:\n  orders-db: { user: capstan, secret: prod/orders-db/empty }\n');
    const noPassword = await connectionOptions(resolveDatabase(empty, 'orders-db'), clients, INSTANCE).catch(
      (e: unknown) => e as Error,
    );
    expect((noPassword as Error).message).toContain('holds no password');
  });

  it('makes an RDS IAM auth token for the endpoint and user, signed in the database region, over TLS', async () => {
    const cfg = config('databases:\n  orders-db: { user: capstan_iam, iamAuth: true }\n');
    const options = await connectionOptions(resolveDatabase(cfg, 'orders-db'), clients, INSTANCE);
    expect(options.user).toBe('capstan_iam');
    expect(options.password).toBeUndefined();
    expect(options.ssl).toBe(true);
    const token = new URL(`https://${options.authToken}`);
    expect(token.host).toBe('orders-db.abc123.eu-west-1.rds.amazonaws.com:3306');
    expect(token.searchParams.get('Action')).toBe('connect');
    expect(token.searchParams.get('DBUser')).toBe('capstan_iam');
    expect(token.searchParams.get('X-Amz-Credential')).toMatch(/\/eu-west-1\/rds-db\/aws4_request$/);
    expect(token.searchParams.get('X-Amz-Expires')).toBe('900');
    expect(token.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('the sandbox Secrets Manager', () => {
  it('answers with the modeled SDK exception for an unknown secret, and by ARN for a known one', async () => {
    const error = await clients.secrets
      .send(new GetSecretValueCommand({ SecretId: 'prod/none' }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResourceNotFoundException);
    const byName = await clients.secrets.send(
      new GetSecretValueCommand({ SecretId: 'prod/orders-db/plain' }),
    );
    expect(byName.ARN).toMatch(
      /^arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod\/orders-db\/plain-[0-9a-f]{6}$/,
    );
    const byArn = await clients.secrets.send(new GetSecretValueCommand({ SecretId: byName.ARN }));
    expect(byArn.SecretString).toBe('plain-s3cr3t');
  });
});
