/**
 * The one place AWS SDK clients are built. Real AWS: the SDK's default credential chain, the
 * region and role a resource names (an assumed role's session name says which Slack user asked),
 * the adaptive retry mode, and the SDK's own endpoint variables (`AWS_ENDPOINT_URL` …), which the
 * SDK reads itself. Sandbox: the same clients with the sandbox beneath them.
 * Clients are cached per account, region and asker.
 */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { RDSClient } from '@aws-sdk/client-rds';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';

/** Where a resource lives. */
export interface AwsPlacement {
  region: string;
  /** A role to assume (another account); absent: the default credential chain's identity. */
  roleArn?: string;
}

/** The clients Capstan uses, for one placement. */
export interface AwsClients {
  autoScaling: AutoScalingClient;
  ec2: EC2Client;
  elbv2: ElasticLoadBalancingV2Client;
  rds: RDSClient;
  cloudWatch: CloudWatchClient;
  secrets: SecretsManagerClient;
  cloudFormation: CloudFormationClient;
  /** Templates kept in S3. */
  s3: S3Client;
}

/** Something that can sit beneath a client (the sandbox). */
export interface ClientAttacher {
  attach<
    T extends
      | AutoScalingClient
      | EC2Client
      | ElasticLoadBalancingV2Client
      | RDSClient
      | CloudWatchClient
      | SecretsManagerClient
      | CloudFormationClient
      | S3Client,
  >(client: T): T;
}

/** Builds and caches clients. */
export interface AwsClientFactory {
  /** Clients for `placement`, acting for Slack user `actor` (named in the assumed role's session). */
  clients(placement: AwsPlacement, actor?: string): AwsClients;
  /** Closes every cached client. */
  destroy(): void;
}

/** Options for {@link createAwsClientFactory}. */
export interface AwsClientFactoryOptions {
  /** Beneath every client in sandbox mode. */
  sandbox?: ClientAttacher;
  /** Most clients kept; the oldest are closed beyond this. */
  maxCached?: number;
}

// AssumeRole session names allow 2–64 of these characters
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
function sessionName(actor: string | undefined): string {
  return `capstan-${actor ?? 'capstan'}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
}

/** The factory for real AWS or the sandbox. */
export function createAwsClientFactory(opts: AwsClientFactoryOptions = {}): AwsClientFactory {
  const cache = new Map<string, AwsClients>();
  const maxCached = opts.maxCached ?? 64;
  const sandbox = opts.sandbox;

  const build = (placement: AwsPlacement, actor: string | undefined): AwsClients => {
    const config = {
      region: placement.region,
      // Adaptive mode adds client-side rate limiting to the standard retries, for bursts of Describe calls
      // (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html).
      retryMode: 'adaptive',
      maxAttempts: 8,
      ...(sandbox
        ? { credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' } }
        : placement.roleArn
          ? {
              credentials: fromTemporaryCredentials({
                params: {
                  RoleArn: placement.roleArn,
                  RoleSessionName: sessionName(actor),
                  DurationSeconds: 3600,
                },
                clientConfig: { region: placement.region },
              }),
            }
          : {}),
    };
    const clients: AwsClients = {
      autoScaling: new AutoScalingClient(config),
      ec2: new EC2Client(config),
      elbv2: new ElasticLoadBalancingV2Client(config),
      rds: new RDSClient(config),
      cloudWatch: new CloudWatchClient(config),
      secrets: new SecretsManagerClient(config),
      cloudFormation: new CloudFormationClient(config),
      s3: new S3Client(config),
    };
    if (sandbox) {
      sandbox.attach(clients.autoScaling);
      sandbox.attach(clients.ec2);
      sandbox.attach(clients.elbv2);
      sandbox.attach(clients.rds);
      sandbox.attach(clients.cloudWatch);
      sandbox.attach(clients.secrets);
      sandbox.attach(clients.cloudFormation);
      sandbox.attach(clients.s3);
    }
    return clients;
  };

  const destroyClients = (clients: AwsClients) => {
    for (const client of Object.values(clients)) client.destroy();
  };

  return {
    clients(placement, actor) {
      // Without an assumed role the session name plays no part, so one set of clients serves everyone.
      const key = `${placement.roleArn ?? 'default'}|${placement.region}|${placement.roleArn ? sessionName(actor) : ''}`;
      let clients = cache.get(key);
      if (!clients) {
        clients = build(placement, actor);
        cache.set(key, clients);
        if (cache.size > maxCached) {
          const [oldestKey, oldest] = cache.entries().next().value as [string, AwsClients];
          cache.delete(oldestKey);
          destroyClients(oldest);
        }
      }
      return clients;
    },
    destroy() {
      for (const clients of cache.values()) destroyClients(clients);
      cache.clear();
    },
  };
}
