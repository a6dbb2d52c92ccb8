/**
 * Seeding: the resources an account already has (launch templates, target groups, subnets,
 * existing groups, DB instances, metric series, CloudWatch alarms, SNS topics and their HTTP(S)
 * subscriptions), from code or a YAML/JSON file.
 *
 * Seeding is idempotent: a resource that already exists (same id or name) is left as it is, so
 * every process of a local deployment may seed the same file at start-up. Metric points merge.
 *
 * Alarms and topics, e.g.:
 *
 *   snsTopics:
 *     - arn: arn:aws:sns:eu-west-1:123456789012:capstan-alarms
 *       signatureVersion: "2"            # how messages are signed: "1" (SHA1) or "2" (SHA256, default)
 *       subscriptions:                   # loopback http(s) endpoints only; pending until confirmed
 *         - endpoint: http://127.0.0.1:3000/aws/sns
 *   alarms:
 *     - name: orders-db-burst-balance-low
 *       description: orders-db is running out of gp2 I/O credits
 *       namespace: AWS/RDS
 *       metricName: BurstBalance
 *       dimensions: { DBInstanceIdentifier: orders-db }
 *       statistic: Average               # SampleCount | Average | Sum | Minimum | Maximum
 *       period: 300                      # seconds: 10, 20, 30 or a multiple of 60
 *       evaluationPeriods: 3
 *       datapointsToAlarm: 2             # optional: an M-out-of-N alarm (default N)
 *       threshold: 20
 *       comparisonOperator: LessThanThreshold
 *       treatMissingData: missing        # missing (default) | ignore | breaching | notBreaching
 *       actions: [arn:aws:sns:eu-west-1:123456789012:capstan-alarms]   # notified on ALARM and on OK
 *       # or AWS's own lists: alarmActions, okActions, insufficientDataActions
 *
 * A seeded subscription's SubscriptionConfirmation is POSTed by the SNS stand-in (sns.ts) once one
 * runs; `confirmed: true` makes it confirmed from the start. Alarms are evaluated by the stand-in's
 * evaluator (alarm-evaluator.ts) and start in INSUFFICIENT_DATA, as a new alarm does.
 */
import { readFile } from 'node:fs/promises';
import type { StandardUnit } from '@aws-sdk/client-cloudwatch';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { putAlarm } from './alarms.js';
import { autoScalingHandlers } from './autoscaling.js';
import { alarmSpecFrom, putSeries } from './cloudwatch.js';
import type { CallContext } from './context.js';
import { addLaunchTemplate, addTemplateVersion } from './ec2.js';
import { addTargetGroup } from './elbv2.js';
import { groupMembers, reconcileGroup } from './lifecycle.js';
import { addDbInstance } from './rds.js';
import { putSecret } from './secrets.js';
import { addSubscription, ensureTopic } from './sns-world.js';
import { parseTime } from './util.js';
import type { LaunchTemplateData, SandboxTiming, World } from './world.js';

const time = z.union([z.number(), z.string(), z.date()]);
const tagMap = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String));
const timingSchema = z
  .object({
    instanceLaunch: z.number(),
    healthCheck: z.number(),
    deregistration: z.number(),
    standby: z.number(),
    exitStandby: z.number(),
    terminate: z.number(),
    asgDelete: z.number(),
    dbCreate: z.number(),
    dbDelete: z.number(),
    terminatedRetention: z.number(),
    restorableLag: z.number(),
    stackResource: z.number(),
    changeSet: z.number(),
  })
  .partial()
  .strict();

const templateVersion = z
  .object({
    imageId: z.string().optional(),
    instanceType: z.string().optional(),
    description: z.string().optional(),
    /** Tags the template puts on instances it launches. */
    instanceTags: tagMap.optional(),
    /** Any other launch template data, in the SDK's own shape (`UserData`, `SecurityGroupIds`, …). */
    data: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

const dimensions = z.union([tagMap, z.array(z.object({ Name: z.string(), Value: z.string() }).strict())]);

const alarmSeed = z
  .object({
    name: z.string().min(1).max(255),
    description: z.string().optional(),
    namespace: z.string().min(1),
    metricName: z.string().min(1),
    dimensions: dimensions.optional(),
    statistic: z.enum(['SampleCount', 'Average', 'Sum', 'Minimum', 'Maximum']),
    unit: z.string().optional(),
    period: z.number().int().positive(),
    evaluationPeriods: z.number().int().positive(),
    datapointsToAlarm: z.number().int().positive().optional(),
    threshold: z.number(),
    comparisonOperator: z.enum([
      'GreaterThanOrEqualToThreshold',
      'GreaterThanThreshold',
      'LessThanThreshold',
      'LessThanOrEqualToThreshold',
    ]),
    treatMissingData: z.enum(['missing', 'ignore', 'breaching', 'notBreaching']).optional(),
    actionsEnabled: z.boolean().optional(),
    /** Topics notified when the alarm goes to ALARM and when it goes back to OK. */
    actions: z.array(z.string()).optional(),
    alarmActions: z.array(z.string()).optional(),
    okActions: z.array(z.string()).optional(),
    insufficientDataActions: z.array(z.string()).optional(),
  })
  .strict();

const asgTag = z
  .object({
    key: z.string(),
    value: z.union([z.string(), z.number()]).transform(String),
    propagateAtLaunch: z.boolean().optional(),
  })
  .strict();

export const seedSchema = z
  .object({
    region: z.string().optional(),
    accountId: z.string().optional(),
    /** Timing shared by every process using this world (wins over each process's own options). */
    timing: timingSchema.optional(),
    subnets: z
      .array(
        z
          .object({
            id: z.string(),
            vpcId: z.string(),
            availabilityZone: z.string(),
            cidr: z.string().regex(/^\d+\.\d+\.\d+\.\d+\/\d+$/),
            tags: tagMap.optional(),
          })
          .strict(),
      )
      .optional(),
    launchTemplates: z
      .array(
        z
          .object({
            name: z.string(),
            id: z
              .string()
              .regex(/^lt-[0-9a-f]{17}$/)
              .optional(),
            tags: tagMap.optional(),
            versions: z.array(templateVersion).min(1),
            defaultVersion: z.number().int().positive().optional(),
          })
          .strict(),
      )
      .optional(),
    targetGroups: z
      .array(
        z
          .object({
            name: z.string(),
            arn: z.string().optional(),
            port: z.number().int().default(80),
            protocol: z.string().default('HTTP'),
            vpcId: z.string().optional(),
            healthCheckPath: z.string().default('/'),
            loadBalancerArns: z.array(z.string()).optional(),
            tags: tagMap.optional(),
          })
          .strict(),
      )
      .optional(),
    autoScalingGroups: z
      .array(
        z
          .object({
            name: z.string(),
            launchTemplate: z.union([
              z.string(),
              z
                .object({
                  name: z.string().optional(),
                  id: z.string().optional(),
                  version: z.string().optional(),
                })
                .strict(),
            ]),
            min: z.number().int().nonnegative(),
            max: z.number().int().nonnegative(),
            desired: z.number().int().nonnegative().optional(),
            subnets: z.array(z.string()).optional(),
            availabilityZones: z.array(z.string()).optional(),
            /** Target group names or ARNs. */
            targetGroups: z.array(z.string()).optional(),
            /** A map propagates every tag at launch; the list form says so per tag (default true). */
            tags: z.union([tagMap, z.array(asgTag)]).optional(),
            healthCheckType: z.string().optional(),
            healthCheckGracePeriod: z.number().int().nonnegative().optional(),
            suspendedProcesses: z.array(z.string()).optional(),
            /** true: its instances are already InService and healthy; false (default): they launch now. */
            ready: z.boolean().optional(),
          })
          .strict(),
      )
      .optional(),
    dbInstances: z
      .array(
        z
          .object({
            id: z.string(),
            engine: z.string().optional(),
            engineVersion: z.string().optional(),
            instanceClass: z.string().optional(),
            allocatedStorage: z.number().int().positive().optional(),
            storageType: z.string().optional(),
            iops: z.number().int().positive().optional(),
            storageThroughput: z.number().int().positive().optional(),
            endpoint: z.object({ address: z.string(), port: z.number().int() }).strict().optional(),
            masterUsername: z.string().optional(),
            dbName: z.string().optional(),
            subnetGroupName: z.string().optional(),
            vpcId: z.string().optional(),
            subnetIds: z.array(z.string()).optional(),
            vpcSecurityGroupIds: z.array(z.string()).optional(),
            availabilityZone: z.string().optional(),
            multiAZ: z.boolean().optional(),
            publiclyAccessible: z.boolean().optional(),
            deletionProtection: z.boolean().optional(),
            backupRetentionPeriod: z.number().int().nonnegative().optional(),
            iamDatabaseAuthenticationEnabled: z.boolean().optional(),
            storageEncrypted: z.boolean().optional(),
            tags: tagMap.optional(),
            status: z.enum(['creating', 'available', 'stopped']).optional(),
            createdAt: time.optional(),
            extension: z.record(z.string(), z.unknown()).optional(),
          })
          .strict(),
      )
      .optional(),
    /** Secrets Manager secrets: `value` is stored as the SecretString (an object is stored as its JSON). */
    secrets: z
      .array(
        z
          .object({
            name: z.string(),
            value: z.union([z.string(), z.record(z.string(), z.unknown())]),
          })
          .strict(),
      )
      .optional(),
    metrics: z
      .array(
        z
          .object({
            namespace: z.string(),
            metricName: z.string(),
            dimensions: dimensions.optional(),
            unit: z.string().optional(),
            points: z.array(z.object({ t: time, v: z.number() }).strict()).optional(),
            generate: z
              .object({
                from: z.union([z.number(), z.string()]),
                to: z.union([z.number(), z.string()]).optional(),
                every: z.union([z.number(), z.string()]),
                values: z.array(z.number()).min(1),
              })
              .strict()
              .optional(),
          })
          .strict(),
      )
      .optional(),
    /** SNS topics and their HTTP(S) subscriptions (see the module comment). */
    snsTopics: z
      .array(
        z
          .object({
            arn: z.string(),
            signatureVersion: z.enum(['1', '2']).optional(),
            subscriptions: z
              .array(z.object({ endpoint: z.string(), confirmed: z.boolean().optional() }).strict())
              .optional(),
          })
          .strict(),
      )
      .optional(),
    /** CloudWatch metric alarms (see the module comment). */
    alarms: z.array(alarmSeed).optional(),
  })
  .strict();

/** What `seed()` takes (the parsed form of a seed file). */
export type SandboxSeed = z.input<typeof seedSchema>;

export class SandboxSeedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxSeedError';
  }
}

export function parseSeed(value: unknown, source = 'seed'): z.output<typeof seedSchema> {
  const result = seedSchema.safeParse(value ?? {});
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new SandboxSeedError(`${source}: ${issues}`);
  }
  return result.data;
}

/** Reads a YAML (or JSON: YAML is a superset) seed file. */
export async function readSeedFile(path: string): Promise<z.output<typeof seedSchema>> {
  const text = await readFile(path, 'utf8');
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (error) {
    throw new SandboxSeedError(`${path}: ${(error as Error).message}`);
  }
  return parseSeed(value, path);
}

/** Applies a (validated) seed to the world. Pure; idempotent. */
export function applySeed(
  world: World,
  seed: z.output<typeof seedSchema>,
  now: number,
  timing: SandboxTiming,
): void {
  if (seed.region) world.region = seed.region;
  if (seed.accountId) world.accountId = seed.accountId;
  if (seed.timing) world.timing = { ...world.timing, ...seed.timing };

  for (const s of seed.subnets ?? []) {
    if (world.subnets[s.id]) continue;
    world.subnets[s.id] = {
      id: s.id,
      vpcId: s.vpcId,
      availabilityZone: s.availabilityZone,
      cidr: s.cidr,
      tags: { ...(s.tags ?? {}) },
      allocated: 0,
    };
  }

  for (const t of seed.launchTemplates ?? []) {
    if (Object.values(world.launchTemplates).some((x) => x.name === t.name || x.id === t.id)) continue;
    const [first, ...rest] = t.versions.map(versionData);
    const lt = seedStep(`launchTemplates ${t.name}`, () =>
      addLaunchTemplate(world, now, {
        name: t.name,
        ...(t.id ? { id: t.id } : {}),
        data: first?.data ?? {},
        ...(first?.description ? { description: first.description } : {}),
        tags: t.tags ?? {},
      }),
    );
    for (const v of rest) addTemplateVersion(lt, now, v.data, undefined, v.description);
    if (t.defaultVersion !== undefined) {
      if (t.defaultVersion > lt.latestVersion)
        throw new SandboxSeedError(`launch template ${t.name}: no version ${t.defaultVersion}`);
      lt.defaultVersion = t.defaultVersion;
    }
  }

  for (const tg of seed.targetGroups ?? []) {
    if (Object.values(world.targetGroups).some((x) => x.name === tg.name || x.arn === tg.arn)) continue;
    addTargetGroup(world, tg);
  }

  const ctx: CallContext = { world, now, timing };
  for (const g of seed.autoScalingGroups ?? []) {
    if (world.groups[g.name]) continue;
    const lt = typeof g.launchTemplate === 'string' ? { name: g.launchTemplate } : g.launchTemplate;
    const tgArns = (g.targetGroups ?? []).map((ref) => {
      const tg = world.targetGroups[ref] ?? Object.values(world.targetGroups).find((x) => x.name === ref);
      if (!tg) throw new SandboxSeedError(`group ${g.name}: no target group ${ref}`);
      return tg.arn;
    });
    const tags = Array.isArray(g.tags)
      ? g.tags.map((t) => ({ Key: t.key, Value: t.value, PropagateAtLaunch: t.propagateAtLaunch ?? true }))
      : Object.entries(g.tags ?? {}).map(([Key, Value]) => ({ Key, Value, PropagateAtLaunch: true }));
    seedStep(`autoScalingGroups ${g.name}`, () =>
      autoScalingHandlers.CreateAutoScalingGroup?.(ctx, {
        AutoScalingGroupName: g.name,
        LaunchTemplate: {
          ...(lt.id ? { LaunchTemplateId: lt.id } : { LaunchTemplateName: lt.name }),
          Version: lt.version ?? '$Default',
        },
        MinSize: g.min,
        MaxSize: g.max,
        DesiredCapacity: g.desired ?? g.min,
        VPCZoneIdentifier: g.subnets?.join(','),
        AvailabilityZones: g.availabilityZones,
        TargetGroupARNs: tgArns,
        Tags: tags,
        HealthCheckType: g.healthCheckType,
        HealthCheckGracePeriod: g.healthCheckGracePeriod,
      }),
    );
    const group = world.groups[g.name];
    if (!group) continue;
    if (g.suspendedProcesses?.length) {
      const processes = g.suspendedProcesses;
      seedStep(`autoScalingGroups ${g.name}`, () =>
        autoScalingHandlers.SuspendProcesses?.(ctx, {
          AutoScalingGroupName: g.name,
          ScalingProcesses: processes,
        }),
      );
    }
    reconcileGroup(world, group, now, timing);
    if (g.ready) {
      for (const inst of groupMembers(world, group.name)) {
        inst.state = 'running';
        inst.lifecycle = 'InService';
        inst.next = undefined;
        inst.history.push({ state: 'running', at: now }, { state: 'InService', at: now });
        for (const arn of group.targetGroupArns) {
          world.targetGroups[arn]?.targets.push({
            id: inst.id,
            port: world.targetGroups[arn]?.port ?? 80,
            state: 'healthy',
            registeredAt: now,
            history: [{ state: 'healthy', at: now }],
          });
        }
      }
    }
  }

  for (const d of seed.dbInstances ?? []) {
    if (world.dbInstances[d.id]) continue;
    const { createdAt, ...spec } = d;
    seedStep(`dbInstances ${d.id}`, () =>
      addDbInstance(world, now, timing, {
        ...spec,
        ...(createdAt !== undefined ? { createdAt: parseTime(createdAt, now) } : {}),
      }),
    );
  }

  for (const m of seed.metrics ?? []) putSeries(world, m, now);

  for (const secret of seed.secrets ?? []) {
    if (world.secrets?.[secret.name]) continue;
    const value = typeof secret.value === 'string' ? secret.value : JSON.stringify(secret.value);
    seedStep(`secrets ${secret.name}`, () => putSecret(world, secret.name, value, now));
  }

  for (const t of seed.snsTopics ?? []) {
    seedStep(`snsTopics ${t.arn}`, () => {
      ensureTopic(world, t.arn, now, t.signatureVersion);
      for (const s of t.subscriptions ?? [])
        addSubscription(world, t.arn, s.endpoint, now, s.confirmed ? { confirmed: true } : {});
    });
  }

  for (const a of seed.alarms ?? []) {
    if (world.alarms?.[a.name]) continue;
    const both = (list: string[] | undefined) => [...new Set([...(a.actions ?? []), ...(list ?? [])])];
    seedStep(`alarms ${a.name}`, () =>
      putAlarm(
        world,
        alarmSpecFrom({
          AlarmName: a.name,
          AlarmDescription: a.description,
          Namespace: a.namespace,
          MetricName: a.metricName,
          Dimensions: normalizeSeedDimensions(a.dimensions),
          Statistic: a.statistic,
          Unit: a.unit as StandardUnit | undefined,
          Period: a.period,
          EvaluationPeriods: a.evaluationPeriods,
          DatapointsToAlarm: a.datapointsToAlarm,
          Threshold: a.threshold,
          ComparisonOperator: a.comparisonOperator,
          TreatMissingData: a.treatMissingData,
          ActionsEnabled: a.actionsEnabled,
          AlarmActions: both(a.alarmActions),
          OKActions: both(a.okActions),
          InsufficientDataActions: a.insufficientDataActions,
        }),
        now,
      ),
    );
  }
}

function normalizeSeedDimensions(
  d: Record<string, string> | { Name: string; Value: string }[] | undefined,
): { Name: string; Value: string }[] {
  return Array.isArray(d) ? d : Object.entries(d ?? {}).map(([Name, Value]) => ({ Name, Value }));
}

/** Runs one seeding step, naming the seeded resource in any error (a bad subnet, template, size…). */
function seedStep<T>(what: string, step: () => T): T {
  try {
    return step();
  } catch (error) {
    throw new SandboxSeedError(`${what}: ${(error as Error).message}`);
  }
}

function versionData(v: z.output<typeof templateVersion>): {
  data: LaunchTemplateData;
  description?: string;
} {
  const data: LaunchTemplateData = { ...(v.data ?? {}) };
  if (v.imageId) data.ImageId = v.imageId;
  if (v.instanceType) data.InstanceType = v.instanceType;
  if (v.instanceTags) {
    data.TagSpecifications = [
      {
        ResourceType: 'instance',
        Tags: Object.entries(v.instanceTags).map(([Key, Value]) => ({ Key, Value })),
      },
    ];
  }
  return v.description ? { data, description: v.description } : { data };
}
