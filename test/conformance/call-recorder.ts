/**
 * Records every AWS call Capstan's SDK clients make (as IAM actions), so the conformance suite can
 * check each command's calls against the table in src/aws/iam-policy.ts. The tests' own clients are
 * left out.
 */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { RDSClient } from '@aws-sdk/client-rds';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AWS_CALLS, type BackgroundJob, iamActionOf } from '../../src/aws/iam-policy.js';
import type { CatalogKind } from '../../src/catalog.js';

const CLASSES = [
  AutoScalingClient,
  EC2Client,
  ElasticLoadBalancingV2Client,
  RDSClient,
  CloudWatchClient,
  SecretsManagerClient,
  CloudFormationClient,
  S3Client,
];

/** A recorder of AWS calls. */
export interface CallRecorder {
  /** Calls since the last `take()`, as IAM actions. */
  take(): string[];
  /** Clients whose calls are not recorded (the tests' own). */
  ignore(...clients: object[]): void;
  restore(): void;
}

/** Starts recording the calls of every SDK client of the classes Capstan uses. */
export function recordAwsCalls(): CallRecorder {
  let calls: string[] = [];
  const ignored = new WeakSet<object>();
  const originals = CLASSES.map((cls) => {
    const proto = cls.prototype as unknown as { send: (...args: unknown[]) => unknown };
    const own = Object.hasOwn(proto, 'send');
    const send = proto.send;
    proto.send = function (this: object, ...args: unknown[]) {
      if (!ignored.has(this)) calls.push(iamActionOf(cls.name, (args[0] as object).constructor.name));
      return send.apply(this, args);
    };
    return { proto, own, send };
  });
  return {
    take() {
      const out = calls;
      calls = [];
      return out;
    },
    ignore(...clients) {
      for (const c of clients) ignored.add(c);
    },
    restore() {
      for (const { proto, own, send } of originals) {
        if (own) proto.send = send;
        else delete (proto as { send?: unknown }).send;
      }
    },
  };
}

/** The calls one command made, as recorded. */
export interface SeenCalls {
  kind: CatalogKind;
  calls: string[];
}

/**
 * The recorded calls the IAM table (AWS_CALLS in src/aws/iam-policy.ts) does not list for the command
 * that made them, as `kind: service:Action`, each once. Scheduled jobs may run while a command does,
 * so their calls count as listed.
 */
export function callsMissingFromTable(seen: readonly SeenCalls[]): string[] {
  const background = (['env.expiry-sweep', 'rds.janitor', 'alerts.check'] as BackgroundJob[]).flatMap(
    (job) => AWS_CALLS[job],
  );
  const missing = seen.flatMap(({ kind, calls }) =>
    calls
      .filter((call) => !AWS_CALLS[kind].includes(call) && !background.includes(call))
      .map((call) => `${kind}: ${call}`),
  );
  return [...new Set(missing)];
}
