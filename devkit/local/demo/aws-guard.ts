/**
 * Local mode never touches a real AWS account by accident: it refuses to start when the
 * environment carries real AWS credentials (or asks for real AWS with `CAPSTAN_AWS=aws`) unless
 * the person says so explicitly with {@link ALLOW_AWS_VARIABLE}. Pure: a function of the
 * environment it is given.
 */

/** Set to `1` to let local mode start although AWS credentials are set. */
export const ALLOW_AWS_VARIABLE = 'CAPSTAN_LOCAL_ALLOW_AWS';

/**
 * Variables through which the AWS SDK's default credential chain finds real credentials
 * (https://docs.aws.amazon.com/sdkref/latest/guide/settings-reference.html#EVarSettings):
 * static keys, a named profile or shared credentials file, web identity (EKS, CI), and the
 * container credentials endpoint (ECS, CodeBuild).
 */
export const AWS_CREDENTIAL_VARIABLES = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_DEFAULT_PROFILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_ROLE_ARN',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
] as const;

/** What in `env` points at real AWS: the credential variables set (non-empty), and `CAPSTAN_AWS=aws`. */
export function realAwsSignals(env: NodeJS.ProcessEnv): string[] {
  const signals: string[] = AWS_CREDENTIAL_VARIABLES.filter((name) => Boolean(env[name]));
  if (env.CAPSTAN_AWS === 'aws') signals.push('CAPSTAN_AWS=aws');
  return signals;
}

/** Whether the person allowed real AWS in local mode (`CAPSTAN_LOCAL_ALLOW_AWS=1`, `true` or `yes`). */
export function realAwsAllowed(env: NodeJS.ProcessEnv): boolean {
  return /^(1|true|yes)$/i.test(env[ALLOW_AWS_VARIABLE]?.trim() ?? '');
}

/**
 * Why local mode must not start with this environment, or undefined when it may. Names the
 * variables (never their values) and the override.
 */
export function localAwsRefusal(env: NodeJS.ProcessEnv): string | undefined {
  const signals = realAwsSignals(env);
  if (signals.length === 0 || realAwsAllowed(env)) return undefined;
  return [
    `capstan: local mode refuses to start: ${signals.join(', ')} ${signals.length === 1 ? 'is' : 'are'} set, which points at a real AWS account.`,
    'Local mode is a demo on the AWS sandbox; it should never touch real resources by accident.',
    `Unset ${signals.length === 1 ? 'it' : 'them'} to run the demo, or set ${ALLOW_AWS_VARIABLE}=1 to start anyway`,
    '(the sandbox is still used unless CAPSTAN_AWS=aws).',
  ].join('\n');
}
