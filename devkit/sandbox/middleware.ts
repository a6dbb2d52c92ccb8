/**
 * The sandbox under a real SDK client: a middleware in the `deserialize` step with priority
 * `high`, so it sits outside the SDK's deserializer (our output is returned as is, and no HTTP
 * request is ever sent) but inside the retry middleware (`finalizeRequest`), so an injected
 * throttling or transient error is retried by the SDK exactly as one from AWS would be.
 */
import { randomUUID } from 'node:crypto';
import { SandboxAwsError, type ServiceId, toSdkException } from './errors.js';

/** SDK client class name → service. */
export const CLIENT_SERVICES: Record<string, ServiceId> = {
  AutoScalingClient: 'AutoScaling',
  EC2Client: 'EC2',
  ElasticLoadBalancingV2Client: 'ElasticLoadBalancingV2',
  RDSClient: 'RDS',
  CloudWatchClient: 'CloudWatch',
  SecretsManagerClient: 'SecretsManager',
  CloudFormationClient: 'CloudFormation',
};

export const MIDDLEWARE_NAME = 'capstanSandbox';

/** Carries out one command: resolves to its output (without `$metadata`) or rejects. */
export type CommandRunner = (service: ServiceId, command: string, input: object) => Promise<object>;

interface HandlerContext {
  clientName?: string;
  commandName?: string;
}

/** Anything with an SDK v3 middleware stack (every `@aws-sdk/client-*` client). */
export interface SandboxAttachable {
  middlewareStack: {
    add(middleware: never, options: never): void;
    remove(toRemove: never): boolean;
  };
  config: object;
}

function unknownClient(clientName: string, command: string, requestId: string): Error {
  return Object.assign(new Error(`The Capstan AWS sandbox does not emulate ${clientName}:${command}`), {
    name: 'UnsupportedOperation',
    Code: 'UnsupportedOperation',
    $fault: 'client',
    $metadata: { httpStatusCode: 400, requestId },
  });
}

export function sandboxMiddleware(run: CommandRunner) {
  return (_next: unknown, context: HandlerContext) =>
    async (args: { input: object }): Promise<unknown> => {
      const requestId = randomUUID();
      const clientName = context.clientName ?? 'UnknownClient';
      const command = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      const service = CLIENT_SERVICES[clientName];
      if (!service) throw unknownClient(clientName, command, requestId);
      let result: object;
      try {
        result = await run(service, command, args.input ?? {});
      } catch (error) {
        if (error instanceof SandboxAwsError) throw toSdkException(error, requestId);
        throw error;
      }
      return {
        output: {
          ...result,
          $metadata: { httpStatusCode: 200, requestId, extendedRequestId: undefined, cfId: undefined },
        },
        response: { statusCode: 200, headers: { 'x-amzn-requestid': requestId }, body: '' },
      };
    };
}

const SANDBOX_CREDENTIALS = { accessKeyId: 'capstan-sandbox', secretAccessKey: 'capstan-sandbox' };

/**
 * Puts the sandbox under a client. Also gives the client fixed dummy credentials: nothing is ever
 * sent, and this keeps the default credential chain (and its IMDS timeouts) out of local mode and
 * real credentials out of sandbox requests. The client still needs a region (the SDK resolves the
 * endpoint before the sandbox sees the call; `Region is missing` otherwise).
 */
export function attachTo<T extends SandboxAttachable>(client: T, run: CommandRunner): T {
  const stack = client.middlewareStack;
  stack.remove(MIDDLEWARE_NAME as never);
  stack.add(
    sandboxMiddleware(run) as never,
    { step: 'deserialize', name: MIDDLEWARE_NAME, priority: 'high' } as never,
  );
  (client.config as { credentials?: unknown }).credentials = async () => SANDBOX_CREDENTIALS;
  return client;
}
