/**
 * AWS errors. The pure parts of the sandbox throw {@link SandboxAwsError} (service, wire code,
 * message, status); the middleware turns it into exactly what the real SDK would throw for that
 * error response: the client's modeled exception class when the service models the code
 * (`AlreadyExists` → `AlreadyExistsFault`, `TargetGroupNotFound` → `TargetGroupNotFoundException`,
 * `DBInstanceNotFound` → `DBInstanceNotFoundFault`, `ChangeSetNotFound` → `ChangeSetNotFoundException`, so `error.name` is the class name, as with
 * AWS), otherwise the client's ServiceException with `name` = the wire code (`ValidationError`,
 * `Throttling`, `InvalidInstanceID.NotFound`). Either way `error.Code` is the wire code, with
 * `Type`, `Error` and `$metadata` as the SDK sets them.
 */
import * as autoscaling from '@aws-sdk/client-auto-scaling';
import * as cloudformation from '@aws-sdk/client-cloudformation';
import * as cloudwatch from '@aws-sdk/client-cloudwatch';
import * as ec2 from '@aws-sdk/client-ec2';
import * as elbv2 from '@aws-sdk/client-elastic-load-balancing-v2';
import * as rds from '@aws-sdk/client-rds';
import * as secrets from '@aws-sdk/client-secrets-manager';

export type ServiceId =
  | 'AutoScaling'
  | 'EC2'
  | 'ElasticLoadBalancingV2'
  | 'RDS'
  | 'CloudWatch'
  | 'SecretsManager'
  | 'CloudFormation';

/** An AWS error response, independent of any SDK client. */
export class SandboxAwsError extends Error {
  readonly service: ServiceId;
  readonly code: string;
  readonly status: number;
  readonly fault: 'client' | 'server';

  constructor(service: ServiceId, code: string, message: string, status = 400) {
    super(message);
    this.name = 'SandboxAwsError';
    this.service = service;
    this.code = code;
    this.status = status;
    this.fault = status >= 500 ? 'server' : 'client';
  }
}

/** Shorthands for the services' errors. */
export const asgError = (code: string, message: string, status = 400) =>
  new SandboxAwsError('AutoScaling', code, message, status);
export const ec2Error = (code: string, message: string, status = 400) =>
  new SandboxAwsError('EC2', code, message, status);
export const elbError = (code: string, message: string, status = 400) =>
  new SandboxAwsError('ElasticLoadBalancingV2', code, message, status);
export const rdsError = (code: string, message: string, status = 400) =>
  new SandboxAwsError('RDS', code, message, status);
export const cwError = (code: string, message: string, status = 400) =>
  new SandboxAwsError('CloudWatch', code, message, status);
export const secretsError = (code: string, message: string, status = 400) =>
  new SandboxAwsError('SecretsManager', code, message, status);

/** A command the sandbox does not emulate: loud, never a silent canned answer. */
export function unsupported(service: ServiceId, command: string, detail?: string): SandboxAwsError {
  return new SandboxAwsError(
    service,
    'UnsupportedOperation',
    `The Capstan AWS sandbox does not emulate ${service}:${command}${detail ? ` (${detail})` : ''}`,
    400,
  );
}

type ExceptionCtor = new (opts: Record<string, unknown>) => Error;

interface ServiceModule {
  base: ExceptionCtor;
  /** Modeled error classes by wire code, with their HTTP status. */
  modeled: Map<string, { ctor: ExceptionCtor; status: number }>;
  /** EC2 errors carry no Type. */
  typed: boolean;
}

/**
 * Finds the modeled exceptions of a client package from its exported error schemas
 * (`XxxFault$ = [-3, namespace, name, { awsQueryError: [code, status], … }]` for query protocols,
 * `[-3, namespace, name, { error, httpError? }]` for JSON ones, each next to its class `XxxFault`). If the SDK ever changes that layout, every error falls back to the base
 * exception with `name` = code, which is still what callers match on for unmodeled codes.
 */
function scan(mod: Record<string, unknown>, base: ExceptionCtor, typed: boolean): ServiceModule {
  const modeled = new Map<string, { ctor: ExceptionCtor; status: number }>();
  for (const [key, value] of Object.entries(mod)) {
    if (!key.endsWith('$') || !Array.isArray(value) || value[0] !== -3) continue;
    const traits = value[3] as Record<string, unknown> | undefined;
    const ctor = mod[key.slice(0, -1)];
    if (typeof ctor !== 'function') continue;
    // Query protocols name the wire code in `awsQueryError`; JSON protocols use the shape's name.
    const query = traits?.awsQueryError;
    const code = Array.isArray(query) ? query[0] : value[2];
    if (typeof code !== 'string') continue;
    const status = Number(Array.isArray(query) ? query[1] : traits?.httpError) || 400;
    if (!modeled.has(code)) modeled.set(code, { ctor: ctor as ExceptionCtor, status });
  }
  return { base, modeled, typed };
}

let modules: Record<ServiceId, ServiceModule> | undefined;

function serviceModules(): Record<ServiceId, ServiceModule> {
  modules ??= {
    AutoScaling: scan(
      autoscaling as unknown as Record<string, unknown>,
      autoscaling.AutoScalingServiceException as unknown as ExceptionCtor,
      true,
    ),
    EC2: scan(
      ec2 as unknown as Record<string, unknown>,
      ec2.EC2ServiceException as unknown as ExceptionCtor,
      false,
    ),
    ElasticLoadBalancingV2: scan(
      elbv2 as unknown as Record<string, unknown>,
      elbv2.ElasticLoadBalancingV2ServiceException as unknown as ExceptionCtor,
      true,
    ),
    RDS: scan(
      rds as unknown as Record<string, unknown>,
      rds.RDSServiceException as unknown as ExceptionCtor,
      true,
    ),
    CloudWatch: scan(
      cloudwatch as unknown as Record<string, unknown>,
      cloudwatch.CloudWatchServiceException as unknown as ExceptionCtor,
      true,
    ),
    SecretsManager: scan(
      secrets as unknown as Record<string, unknown>,
      secrets.SecretsManagerServiceException as unknown as ExceptionCtor,
      false,
    ),
    CloudFormation: scan(
      cloudformation as unknown as Record<string, unknown>,
      cloudformation.CloudFormationServiceException as unknown as ExceptionCtor,
      true,
    ),
  };
  return modules;
}

/** The exception the real SDK client of `service` throws for this error response. */
export function toSdkException(error: SandboxAwsError, requestId: string): Error {
  const mod = serviceModules()[error.service];
  const metadata = { httpStatusCode: error.status, requestId, extendedRequestId: undefined, cfId: undefined };
  const Type = mod.typed ? (error.fault === 'server' ? 'Receiver' : 'Sender') : undefined;
  const details = {
    Type,
    Code: error.code,
    Error: { Type, Code: error.code, Message: error.message },
  };
  const modeled = mod.modeled.get(error.code);
  const exception = modeled
    ? new modeled.ctor({ $metadata: metadata, message: error.message })
    : new mod.base({ name: error.code, $fault: error.fault, $metadata: metadata, message: error.message });
  return Object.assign(exception, { $fault: error.fault, $metadata: metadata }, details);
}
