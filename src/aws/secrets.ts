/** Secrets Manager: read a secret's current string value. */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * The current `SecretString` of a secret (by name or ARN).
 * @throws the SDK's error (`ResourceNotFoundException`, `AccessDeniedException` …); its message never holds the value
 */
export async function getSecretString(client: SecretsManagerClient, secretId: string): Promise<string> {
  const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  if (out.SecretString === undefined) {
    throw new Error(`secret ${secretId} has a binary value; Capstan reads string secrets`);
  }
  return out.SecretString;
}
