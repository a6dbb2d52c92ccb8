/**
 * Secrets Manager: secrets held in the world, read with GetSecretValue by name or ARN, as RDS's
 * managed master-user secrets and hand-made database secrets are.
 */
import type {
  CreateSecretCommandInput,
  CreateSecretCommandOutput,
  GetSecretValueCommandInput,
  GetSecretValueCommandOutput,
  PutSecretValueCommandInput,
  PutSecretValueCommandOutput,
} from '@aws-sdk/client-secrets-manager';
import type { CallContext, HandlerTable, Out } from './context.js';
import { secretsError } from './errors.js';
import { toDate } from './util.js';
import { nextHex, type SecretState, type World } from './world.js';

const NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

function secretsOf(world: World): Record<string, SecretState> {
  world.secrets ??= {};
  return world.secrets;
}

function findSecret(world: World, id: string | undefined): SecretState {
  if (!id) throw secretsError('InvalidParameterException', 'SecretId is required.');
  const secret = Object.values(secretsOf(world)).find((s) => s.name === id || s.arn === id);
  if (!secret)
    throw secretsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
  return secret;
}

function versionId(world: World): string {
  const h = nextHex(world, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Adds (or replaces the value of) a secret; used by CreateSecret and by seeds. */
export function putSecret(world: World, name: string, secretString: string, now: number): SecretState {
  if (!NAME.test(name)) throw secretsError('InvalidParameterException', `Invalid secret name: ${name}`);
  const secrets = secretsOf(world);
  const existing = secrets[name];
  if (existing) {
    existing.secretString = secretString;
    existing.versionId = versionId(world);
    return existing;
  }
  const suffix = nextHex(world, 6);
  const secret: SecretState = {
    name,
    arn: `arn:aws:secretsmanager:${world.region}:${world.accountId}:secret:${name}-${suffix}`,
    secretString,
    versionId: versionId(world),
    createdAt: now,
  };
  secrets[name] = secret;
  return secret;
}

function createSecret(ctx: CallContext, input: CreateSecretCommandInput): Out<CreateSecretCommandOutput> {
  const name = input.Name ?? '';
  if (secretsOf(ctx.world)[name])
    throw secretsError(
      'ResourceExistsException',
      `The operation failed because the secret ${name} already exists.`,
    );
  if (input.SecretString === undefined)
    throw secretsError('InvalidParameterException', 'The sandbox stores SecretString values only.');
  const secret = putSecret(ctx.world, name, input.SecretString, ctx.now);
  return { ARN: secret.arn, Name: secret.name, VersionId: secret.versionId };
}

function putSecretValue(
  ctx: CallContext,
  input: PutSecretValueCommandInput,
): Out<PutSecretValueCommandOutput> {
  const secret = findSecret(ctx.world, input.SecretId);
  if (input.SecretString === undefined)
    throw secretsError('InvalidParameterException', 'The sandbox stores SecretString values only.');
  const updated = putSecret(ctx.world, secret.name, input.SecretString, ctx.now);
  return {
    ARN: updated.arn,
    Name: updated.name,
    VersionId: updated.versionId,
    VersionStages: ['AWSCURRENT'],
  };
}

function getSecretValue(
  ctx: CallContext,
  input: GetSecretValueCommandInput,
): Out<GetSecretValueCommandOutput> {
  const secret = findSecret(ctx.world, input.SecretId);
  if (input.VersionId && input.VersionId !== secret.versionId)
    throw secretsError(
      'ResourceNotFoundException',
      "Secrets Manager can't find the specified secret value for VersionId.",
    );
  if (input.VersionStage && input.VersionStage !== 'AWSCURRENT')
    throw secretsError(
      'ResourceNotFoundException',
      "Secrets Manager can't find the specified secret value for staging label.",
    );
  return {
    ARN: secret.arn,
    Name: secret.name,
    VersionId: secret.versionId,
    SecretString: secret.secretString,
    VersionStages: ['AWSCURRENT'],
    CreatedDate: toDate(secret.createdAt),
  };
}

export const secretsHandlers: HandlerTable = {
  CreateSecret: createSecret,
  PutSecretValue: putSecretValue,
  GetSecretValue: getSecretValue,
};
