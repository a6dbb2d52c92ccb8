/**
 * Configuration: environment variables plus the YAML file named by `CAPSTAN_CONFIG`, read once by a
 * pure function of the environment and validated with zod. Any problem stops start-up with a message
 * naming the variable, or the file, line and field, and what was expected.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { ADMIN_ONLY_KINDS, type CatalogKind, COMMAND_KINDS } from './catalog.js';
import { ConfigError } from './errors.js';

const slackUserId = z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'a Slack user id such as U012ABCDEF');
const slackGroupId = z.string().regex(/^S[A-Z0-9]{2,}$/, 'a Slack user group id such as S012ABCDEF');
const slackChannelId = z.string().regex(/^[CGD][A-Z0-9]{2,}$/, 'a Slack channel id such as C012ABCDEF');

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const roleName = z.string().regex(/^[a-z][a-z0-9_-]*$/, 'a role name of lowercase letters, digits, - and _');

/** Actions a policy can name: every command kind (`src/catalog.ts`). */
export const POLICY_ACTIONS: readonly CatalogKind[] = COMMAND_KINDS;

/** An action a policy names. */
export type PolicyAction = CatalogKind;

/**
 * Actions that only the admin role, or a rule naming the action itself, grants: a `*` rule never
 * does, and no rule may grant them to everyone. `ops.cancel` is admin-only for other people's jobs
 * (anyone with a role may cancel their own).
 */
export const ADMIN_ONLY_ACTIONS: readonly PolicyAction[] = ADMIN_ONLY_KINDS;

/** The role that means "anyone in the workspace", including people who hold no role. */
export const EVERYONE = 'everyone';

const actionKey = z.enum(['*', ...POLICY_ACTIONS] as ['*', ...PolicyAction[]], {
  error: `an action (${POLICY_ACTIONS.join(', ')}) or * for every action`,
});

const approvalRule = z
  .object({
    /** The role whose members may approve. */
    role: roleName,
    /** How many distinct approvers are needed. */
    quorum: z.number().int().min(1).max(10).default(1),
    /** How long the request stays open. */
    timeoutMinutes: z
      .number()
      .positive()
      .max(7 * 24 * 60)
      .optional(),
  })
  .strict();

/** Policy for one environment or database (or the defaults all of them start from). */
const targetRule = z
  .object({
    /** A destructive action on a protected target always needs approval. */
    protected: z.boolean().optional(),
    /**
     * Action → roles that may run it (`everyone` for anyone). `*` covers every action that changes
     * something or reads a database, never the admin-only ones ({@link ADMIN_ONLY_ACTIONS}).
     */
    allow: z.partialRecord(actionKey, z.array(z.union([roleName, z.literal(EVERYONE)]))).optional(),
    /** Action → who must approve it first; `false` to need none (not allowed on protected targets). */
    approval: z.partialRecord(actionKey, z.union([approvalRule, z.literal(false)])).optional(),
    /** Channels where commands for this target are accepted (empty: anywhere). */
    channels: z.array(slackChannelId).optional(),
  })
  .strict();

/** A policy target rule as configured. */
export type TargetRule = z.infer<typeof targetRule>;

/** A policy approval rule as configured. */
export type ApprovalRule = z.infer<typeof approvalRule>;

const policySchema = z
  .object({
    /** Members may run everything, cancel anyone's job and read the audit log. */
    adminRole: roleName.default('admins'),
    /** Who approves when a protected target needs approval and no rule names an approver. */
    approverRole: roleName.default('approvers'),
    /** How long an approval request stays open unless a rule says otherwise. */
    approvalTimeoutMinutes: z
      .number()
      .positive()
      .max(7 * 24 * 60)
      .default(30),
    /**
     * How long Slack may fail to answer for a user group's members before the roles that group gives
     * are dropped (fail closed) until it answers again. Memberships are otherwise at most 60 s old.
     */
    userGroupsFailClosedMinutes: z
      .number()
      .positive()
      .max(24 * 60)
      .default(10),
    /** Rules every environment and database starts from. */
    defaults: targetRule.default({}),
    /** Environment name (or `*`) → rule. */
    environments: z
      .record(z.string().regex(/^([a-z][a-z0-9-]{0,31}|\*)$/, 'an environment name or *'), targetRule)
      .default({}),
    /** DB instance identifier (or `*`) → rule. */
    databases: z
      .record(z.string().regex(/^([a-z][a-z0-9-]{0,62}|\*)$/, 'a DB instance identifier or *'), targetRule)
      .default({}),
  })
  .strict();

const awsRegion = z
  .string()
  .regex(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/, 'an AWS region such as eu-west-1');
const roleArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/,
    'an IAM role ARN such as arn:aws:iam::123456789012:role/capstan',
  );
const duration = z
  .string()
  .regex(/^\d+[mhd]$/, 'a duration such as 90m, 8h or 2d')
  .transform(
    (text) =>
      Number(text.slice(0, -1)) *
      { m: 60_000, h: 3_600_000, d: 86_400_000 }[text.slice(-1) as 'm' | 'h' | 'd'],
  );

/** Where AWS resources live: a region, and the role Capstan assumes there (another account). */
const awsPlacement = { region: awsRegion.optional(), roleArn: roleArn.optional() };

/** A blueprint: how `/env create` builds an environment. */
const blueprintSchema = z
  .object({
    /** A group blueprint (the default kind): a tagged Auto Scaling group. */
    kind: z.literal('group').optional(),
    ...awsPlacement,
    /** An existing launch template (by name or id) … */
    launchTemplate: z
      .object({
        name: z
          .string()
          .regex(/^[a-zA-Z0-9().\-/_]{3,128}$/, 'a launch template name')
          .optional(),
        id: z
          .string()
          .regex(/^lt-[0-9a-f]{8,17}$/, 'a launch template id such as lt-0abc1234')
          .optional(),
        version: z
          .string()
          .regex(/^(\$Latest|\$Default|\d+)$/, '$Latest, $Default or a version number')
          .default('$Default'),
      })
      .strict()
      .refine((lt) => Boolean(lt.name) !== Boolean(lt.id), 'exactly one of name or id')
      .optional(),
    /** … or an AMI and instance type, for which Capstan creates the launch template. */
    ami: z
      .string()
      .regex(/^ami-[0-9a-f]{8,17}$/, 'an AMI id such as ami-0abc1234')
      .optional(),
    instanceType: z
      .string()
      .regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, 'an instance type such as t3.small')
      .optional(),
    subnets: z
      .array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'a subnet id such as subnet-0abc1234'))
      .min(1),
    targetGroups: z
      .array(
        z
          .string()
          .regex(
            /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup\/[\w-]+\/[0-9a-f]+$/,
            'a target group ARN',
          ),
      )
      .default([]),
    size: z
      .object({
        min: z.number().int().min(0).default(0),
        max: z.number().int().min(1).max(100).default(10),
        desired: z.number().int().min(0).max(100).default(1),
      })
      .strict()
      .default({ min: 0, max: 10, desired: 1 }),
    tags: z.record(z.string().min(1).max(128), z.string().max(256)).default({}),
    ttl: duration.default(8 * 3_600_000),
    protected: z.boolean().default(false),
    /** Probed on each instance before `/lb enable` reports success, e.g. `http://{ip}:8080/health`. */
    healthUrl: z
      .string()
      .regex(/^https?:\/\/\{ip\}(:\d+)?\/\S*$/, 'an http URL with {ip} for the instance address')
      .optional(),
    healthCheckType: z.enum(['EC2', 'ELB']).default('ELB'),
    /**
     * Set to say, on purpose, that environments made from this blueprint register in target groups a
     * protected environment also uses (behind production's load balancer). Refused otherwise.
     */
    sharedTargetGroups: z.boolean().default(false),
    // What a real instance needs, for a blueprint with an AMI (a launch template carries these itself).
    /** Security groups of the instances (absent: the VPC's default security group). */
    securityGroups: z
      .array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'a security group id such as sg-0abc1234'))
      .optional(),
    /** The IAM instance profile, by name or ARN (Capstan's role needs iam:PassRole on its role). */
    instanceProfile: z
      .string()
      .regex(
        /^(arn:aws[a-z-]*:iam::\d{12}:instance-profile\/[\w+=,.@/-]{1,128}|[\w+=,.@-]{1,128})$/,
        'an instance profile name or ARN',
      )
      .optional(),
    /** User data, inline, with `{env}` and `{version}` filled in at `/env create`. */
    userData: z.string().max(16_384, 'at most 16 KB (EC2’s limit before base64)').optional(),
    /** … or read from a file (relative to the config file), with the same placeholders. */
    userDataFile: z.string().min(1).optional(),
    /** An EC2 key pair for SSH (optional). */
    keyName: z.string().min(1).max(255).optional(),
    /** Instance metadata: IMDSv2 (session tokens) required unless set to `optional`. */
    imds: z.enum(['v2-required', 'optional']).default('v2-required'),
  })
  .strict()
  .refine((b) => Boolean(b.launchTemplate) || (Boolean(b.ami) && Boolean(b.instanceType)), {
    message: 'a blueprint needs launchTemplate, or both ami and instanceType',
  })
  .refine((b) => !(b.userData !== undefined && b.userDataFile !== undefined), {
    message: 'give userData or userDataFile, not both',
  })
  .refine(
    (b) =>
      !b.launchTemplate ||
      [
        b.ami,
        b.instanceType,
        b.securityGroups,
        b.instanceProfile,
        b.userData,
        b.userDataFile,
        b.keyName,
      ].every((x) => x === undefined),
    {
      message:
        'a launchTemplate blueprint takes its image, instance type, security groups, instance profile, user data and key pair from the template: remove ami, instanceType, securityGroups, instanceProfile, userData, userDataFile and keyName',
    },
  );

/** CloudFormation's capabilities a stack blueprint may acknowledge. */
const STACK_CAPABILITIES = ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'] as const;

/** A template parameter's name (CloudFormation: alphanumeric, at most 255). */
const parameterName = z
  .string()
  .regex(/^[A-Za-z0-9]{1,255}$/, 'a template parameter name (letters and digits)');

/**
 * A stack blueprint: `/env create` builds the environment as a CloudFormation stack from a versioned
 * template (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html).
 */
const stackBlueprintSchema = z
  .object({
    kind: z.literal('stack'),
    ...awsPlacement,
    /**
     * The template: a file (relative to the config file), `s3://bucket/key`, or an
     * `https://bucket.s3.region.amazonaws.com/key` URL. `{version}` in it picks one of a directory (or
     * prefix) of versioned packages: `templates/shop/{version}/stack.yaml`.
     */
    template: z
      .string()
      .min(1)
      .refine(
        (t) => (t.match(/\{version\}/g) ?? []).length <= 1,
        'at most one {version} in the template path',
      ),
    /** The template parameter that receives the environment's version. */
    versionParameter: parameterName.default('EnvironmentVersion'),
    /** Template parameters, with `{env}`, `{version}` and `{owner}` filled in at `/env create`. */
    parameters: z.record(parameterName, z.string().max(4096)).default({}),
    capabilities: z.array(z.enum(STACK_CAPABILITIES)).default([]),
    tags: z.record(z.string().min(1).max(128), z.string().max(256)).default({}),
    ttl: duration.default(8 * 3_600_000),
    protected: z.boolean().default(false),
    /** How long Capstan follows one stack operation before it stops waiting (default: CAPSTAN_WAIT_TIMEOUT_MS). */
    timeout: duration.optional(),
    /**
     * Where the template's code lives, for the stack's `capstan:template-source` tag (e.g. a repository
     * URL); a file template in a git work tree adds the commit that last changed it.
     */
    source: z.string().min(1).max(200).optional(),
  })
  .strict();

/** A validated stack blueprint. */
export type StackBlueprint = z.infer<typeof stackBlueprintSchema>;

/** Either kind: `kind: stack` picks the stack schema; anything else is a group blueprint. */
const anyBlueprintSchema = z.unknown().transform((value, ctx): Blueprint | StackBlueprint => {
  const stack = typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'stack';
  const result = stack ? stackBlueprintSchema.safeParse(value) : blueprintSchema.safeParse(value);
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path as (string | number)[] });
  }
  return z.NEVER;
});

/**
 * Storage prices in USD per month, Single-AZ (Multi-AZ doubles them). The defaults are us-east-1 RDS
 * for MySQL list prices as of 2026 (https://aws.amazon.com/rds/mysql/pricing/) — configurable, and
 * worth checking for your region and engine.
 */
export const storagePricesSchema = z.object({
  gp2PerGiBMonth: z.number().nonnegative().default(0.115).describe('gp2 storage, per GiB-month'),
  gp3PerGiBMonth: z.number().nonnegative().default(0.115).describe('gp3 storage, per GiB-month'),
  gp3PerIopsMonth: z
    .number()
    .nonnegative()
    .default(0.02)
    .describe('gp3 IOPS provisioned above the included baseline, per IOPS-month'),
  gp3PerMiBpsMonth: z
    .number()
    .nonnegative()
    .default(0.08)
    .describe('gp3 throughput provisioned above the included baseline, per MiB/s-month'),
  io1PerGiBMonth: z.number().nonnegative().default(0.125).describe('io1 storage, per GiB-month'),
  io1PerIopsMonth: z.number().nonnegative().default(0.1).describe('io1 provisioned IOPS, per IOPS-month'),
  // io2 Block Express on RDS is priced as io1 ("at the same price as io1":
  // https://aws.amazon.com/blogs/database/optimize-amazon-rds-performance-with-io2-block-express-storage-for-production-workloads).
  io2PerGiBMonth: z.number().nonnegative().default(0.125).describe('io2 storage, per GiB-month'),
  io2PerIopsMonth: z.number().nonnegative().default(0.1).describe('io2 provisioned IOPS, per IOPS-month'),
});

/** Storage prices, every field filled. */
export type StoragePrices = z.output<typeof storagePricesSchema>;

/** A database Capstan may restore tables of, and how to reach it. */
const databaseSchema = z
  .object({
    ...awsPlacement,
    /** The MySQL user Capstan connects as (to the live instance and to temporary restores). */
    user: z.string().min(1).max(80),
    /**
     * How Capstan gets that user's password — exactly one of: `passwordEnv`, the environment variable holding it;
     * `secret`, a Secrets Manager secret (name or ARN) whose value is the password or JSON with `password` (and
     * optionally `username`), as RDS-managed secrets are; `iamAuth: true`, an RDS IAM auth token made from Capstan's
     * AWS identity for each connection (needs TLS). The password itself never goes in this file.
     */
    passwordEnv: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name such as ORDERS_DB_PASSWORD')
      .optional(),
    secret: z
      .string()
      .regex(
        /^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:)?[A-Za-z0-9/_+=.@-]{1,512}$/,
        'a Secrets Manager secret name or ARN',
      )
      .optional(),
    iamAuth: z.boolean().optional(),
    /** TLS to the database: `require` (verified against the system CAs) or `off` (only for local servers). */
    tls: z.enum(['require', 'off']).default('require'),
    /** Instance class of the temporary restore (default: the source's). */
    restoreInstanceClass: z
      .string()
      .regex(/^db\.[a-z0-9]+\.[a-z0-9]+$/, 'an instance class such as db.t3.medium')
      .optional(),
  })
  .strict()
  .refine((d) => [d.passwordEnv, d.secret, d.iamAuth].filter(Boolean).length === 1, {
    message: 'say how to get the password: exactly one of passwordEnv, secret or iamAuth: true',
  })
  .refine((d) => !d.iamAuth || d.tls === 'require', {
    message: 'iamAuth sends the token in clear text, so it needs tls: require',
    path: ['tls'],
  });

/** A validated database entry. */
export type DatabaseConfig = z.infer<typeof databaseSchema>;

/** A validated blueprint. */
export type Blueprint = z.infer<typeof blueprintSchema>;

// ── Alerts ──────────────────────────────────────────────────────────────────────────────────

/** The scheduled checks that raise alerts, by the name the YAML uses under `alerts.checks`. */
export const ALERT_CHECKS = [
  'burstBalance',
  'rdsStatus',
  'replicaLag',
  'inService',
  'unhealthy',
  'standby',
  'expiry',
  'failedJobs',
  'temporaryRestores',
] as const;

/** A check's name. */
export type AlertCheckName = (typeof ALERT_CHECKS)[number];

/**
 * What alerts from signals AWS sends (SNS: CloudWatch alarms, RDS events, Auto Scaling
 * notifications, EventBridge events) are filed under, besides the scheduled checks they share a
 * problem with (a BurstBalance alarm is the `burstBalance` alert of its DB instance).
 */
export const SIGNAL_CHECKS = ['alarm', 'rdsEvent', 'autoScaling', 'event'] as const;

/** A signal check's name. */
export type SignalCheckName = (typeof SIGNAL_CHECKS)[number];

/** Where an alert's evidence came from: Capstan's scheduled checks, or an SNS message of one kind. */
export const ALERT_SOURCES = [
  'scheduled',
  'cloudwatch-alarm',
  'rds-event',
  'autoscaling',
  'eventbridge',
] as const;

/** An alert source. */
export type AlertSource = (typeof ALERT_SOURCES)[number];

/** An SNS topic ARN (https://docs.aws.amazon.com/sns/latest/dg/sns-create-topic.html): partition, region, account, name. */
const snsTopicArn = z
  .string()
  .regex(
    /^arn:aws(-[a-z]+)*:sns:[a-z]{2}(-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/,
    'an SNS topic ARN, such as arn:aws:sns:us-east-1:123456789012:capstan-alarms',
  );

/** Like `duration`, and also seconds (`30s`), so tests and demos can run checks quickly. */
const alertDuration = z
  .string()
  .regex(/^\d+[smhd]$/, 'a duration such as 30s, 10m, 4h or 2d')
  .transform(
    (text) =>
      Number(text.slice(0, -1)) *
      { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[text.slice(-1) as 's' | 'm' | 'h' | 'd'],
  );

const percent = z.number().min(0).max(100);

/** What every check has: whether it runs, and how often (default: every `CAPSTAN_ALERTS_CHECK_MS`). */
const checkBase = { enabled: z.boolean().default(true), interval: alertDuration.optional() };

const alertChecksSchema = z
  .object({
    /** RDS `BurstBalance` (gp2 / burstable storage): below `warn` or `critical` percent, or projected empty soon. */
    burstBalance: z
      .object({
        ...checkBase,
        warn: percent.default(30),
        critical: percent.default(10),
        /** Warn when the forecast says the balance reaches zero within this many hours. */
        projectedEmptyHours: z.number().positive().max(168).default(6),
      })
      .strict()
      .refine((c) => c.critical <= c.warn, 'critical must not be above warn')
      .default({ enabled: true, warn: 30, critical: 10, projectedEmptyHours: 6 }),
    /** DB instance status other than `available` for longer than `grace`. */
    rdsStatus: z
      .object({ ...checkBase, grace: alertDuration.default(10 * 60_000) })
      .strict()
      .default({ enabled: true, grace: 10 * 60_000 }),
    /** `ReplicaLag` of read replicas above `warnSeconds` / `criticalSeconds`. */
    replicaLag: z
      .object({
        ...checkBase,
        warnSeconds: z.number().positive().default(300),
        criticalSeconds: z.number().positive().default(1800),
      })
      .strict()
      .refine((c) => c.warnSeconds <= c.criticalSeconds, 'warnSeconds must not be above criticalSeconds')
      .default({ enabled: true, warnSeconds: 300, criticalSeconds: 1800 }),
    /** Fewer InService instances than desired for longer than `grace`. */
    inService: z
      .object({ ...checkBase, grace: alertDuration.default(10 * 60_000) })
      .strict()
      .default({ enabled: true, grace: 10 * 60_000 }),
    /** Instances Auto Scaling reports Unhealthy for longer than `grace`. */
    unhealthy: z
      .object({ ...checkBase, grace: alertDuration.default(5 * 60_000) })
      .strict()
      .default({ enabled: true, grace: 5 * 60_000 }),
    /** Instances left in Standby longer than `maxAge` (someone forgot `/lb enable`). */
    standby: z
      .object({ ...checkBase, maxAge: alertDuration.default(4 * 3_600_000) })
      .strict()
      .default({ enabled: true, maxAge: 4 * 3_600_000 }),
    /** Environments that expire within `within`. */
    expiry: z
      .object({ ...checkBase, within: alertDuration.default(2 * 3_600_000) })
      .strict()
      .default({ enabled: true, within: 2 * 3_600_000 }),
    /** Capstan's own jobs that failed within `window`. */
    failedJobs: z
      .object({ ...checkBase, window: alertDuration.default(3_600_000) })
      .strict()
      .default({ enabled: true, window: 3_600_000 }),
    /** Temporary restore instances older than `restore.temporaryMaxAge` (the janitor could not delete them). */
    temporaryRestores: z.object(checkBase).strict().default({ enabled: true }),
  })
  .strict();

/** Where an alert goes and who may act on it. */
const alertRouteTarget = {
  /** Channel to post into (default: `alerts.default.channel`, then `slack.notificationsChannel`). */
  channel: slackChannelId.optional(),
  /** Reported at this severity whatever the check found (e.g. `warning` for staging: never pages). */
  severity: z.enum(['warning', 'critical']).optional(),
  /** A user group mentioned on critical alerts and their re-notifications. */
  oncall: slackGroupId.optional(),
  /** Roles whose members may acknowledge and snooze (`everyone` for anyone; default: anyone holding a Capstan role). */
  roles: z.array(z.union([roleName, z.literal(EVERYONE)])).optional(),
};

const alertRouteSchema = z
  .object({
    /** Which alerts the route takes; every field given must match (none: every alert). */
    match: z
      .object({
        check: z
          .union([
            z.enum([...ALERT_CHECKS, ...SIGNAL_CHECKS]),
            z.array(z.enum([...ALERT_CHECKS, ...SIGNAL_CHECKS])).min(1),
          ])
          .transform((c) => (Array.isArray(c) ? c : [c]))
          .optional(),
        /** Where the alert's evidence came from (any of them matches). */
        source: z
          .union([z.enum(ALERT_SOURCES), z.array(z.enum(ALERT_SOURCES)).min(1)])
          .transform((c) => (Array.isArray(c) ? c : [c]))
          .optional(),
        /** CloudWatch alarm name pattern: `*` matches any run of characters (`prod-*`, `*-BurstBalance`). */
        alarm: z.string().min(1).max(255).optional(),
        environment: z.string().min(1).optional(),
        database: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
    ...alertRouteTarget,
  })
  .strict();

/** The `alerts` section: scheduled checks, their thresholds, and where alerts go. */
export const alertsSchema = z
  .object({
    /** True when the section is present, unless it says otherwise; absent: no checks run. */
    enabled: z.boolean().default(true),
    /** A condition must stay clear this long before its alert resolves (no flapping). */
    quietPeriod: alertDuration.default(10 * 60_000),
    /** An unacknowledged critical alert is re-notified in its thread after this long, and again after as long. */
    renotifyAfter: alertDuration.default(30 * 60_000),
    /** Extra DB instances to watch besides those under `databases` (in the default AWS placement). */
    databases: z.array(z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'a DB instance identifier')).default([]),
    checks: alertChecksSchema.default(alertChecksSchema.parse({})),
    /**
     * SNS topics whose messages `POST /aws/sns` accepts (CloudWatch alarms, RDS event
     * subscriptions, Auto Scaling notifications, EventBridge rules with an SNS target); a message
     * from any other topic is refused, and only these topics' subscriptions are confirmed.
     */
    sns: z
      .object({ topics: z.array(snsTopicArn).default([]) })
      .strict()
      .default({ topics: [] }),
    /** First matching route wins; then `default`. */
    routes: z.array(alertRouteSchema).default([]),
    default: z.object(alertRouteTarget).strict().default({}),
  })
  .strict();

/** The validated `alerts` section. */
export type AlertsConfig = z.infer<typeof alertsSchema>;

/** An alert route as configured. */
export type AlertRouteConfig = z.infer<typeof alertRouteSchema>;

/** Every role an alert route names, with where, so the file check can report unknown ones. */
export function alertRouteRoles(alerts: AlertsConfig): Array<[(string | number)[], string]> {
  const named: Array<[(string | number)[], string]> = [];
  alerts.routes.forEach((route, i) => {
    for (const [j, role] of (route.roles ?? []).entries())
      named.push([['alerts', 'routes', i, 'roles', j], role]);
  });
  for (const [j, role] of (alerts.default.roles ?? []).entries())
    named.push([['alerts', 'default', 'roles', j], role]);
  return named;
}

/** The YAML file's schema. Sections for later capabilities are added here as they land. */
export const configFileSchema = z
  .object({
    /** Zone for times written without an offset (`2026-11-22 01:30`). */
    timezone: z.string().refine(isTimeZone, 'an IANA time zone such as Europe/Berlin').default('UTC'),
    slack: z
      .object({
        /** Where approval requests are posted. */
        approvalsChannel: slackChannelId.optional(),
        /** Where Capstan posts what nobody asked for (expiry warnings); default: the owner's direct messages. */
        notificationsChannel: slackChannelId.optional(),
      })
      .strict()
      .default({}),
    /** Role name → the Slack users and user groups who hold it. */
    roles: z
      .record(
        roleName,
        z
          .object({ users: z.array(slackUserId).default([]), groups: z.array(slackGroupId).default([]) })
          .strict(),
      )
      .default({}),
    /** Who may run what where, and which actions need approval from whom. */
    policy: policySchema.default(policySchema.parse({})),
    /** Default AWS placement for everything that does not name its own. */
    aws: z.object(awsPlacement).strict().default({}),
    /** Blueprint name → how to build an environment from it. */
    blueprints: z
      .record(z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'a blueprint name'), anyBlueprintSchema)
      .default({}),
    /** The blueprint `/env create` uses without --blueprint. */
    defaultBlueprint: z.string().optional(),
    /** Table restores. */
    restore: z
      .object({
        /** A temporary restore instance older than this is deleted by the janitor (a job lost it). */
        temporaryMaxAge: duration.default(24 * 3_600_000),
      })
      .strict()
      .default({ temporaryMaxAge: 24 * 3_600_000 }),
    /** IO-credit investigations (`/rds io-credits`): the storage prices its cost comparisons use. */
    ioCredits: z
      .object({ prices: storagePricesSchema.default(storagePricesSchema.parse({})) })
      .strict()
      .default({ prices: storagePricesSchema.parse({}) }),
    /** DB instance identifier → how to reach it, for `/rds` commands. */
    databases: z
      .record(z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'a DB instance identifier'), databaseSchema)
      .default({}),
    /** Environments that exist outside Capstan (e.g. prod), by name: their blueprint and placement. */
    environments: z
      .record(
        z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'an environment name'),
        z
          .object({ blueprint: z.string(), ...awsPlacement, asgName: z.string().min(1).max(255).optional() })
          .strict(),
      )
      .default({}),
    /** Scheduled checks and alert routing; absent: no checks run. */
    alerts: alertsSchema.default(alertsSchema.parse({ enabled: false })),
  })
  .strict()
  .superRefine((file, ctx) => {
    // Every role a policy names must exist, or a rule would silently match nobody.
    const known = new Set([...Object.keys(file.roles), EVERYONE]);
    const check = (role: string, path: (string | number)[]) => {
      if (!known.has(role)) {
        ctx.addIssue({
          code: 'custom',
          path,
          message: `no role named ${role} under roles (known: ${[...known].join(', ')})`,
        });
      }
    };
    for (const [path, role] of alertRouteRoles(file.alerts)) check(role, path);
    const blueprintNames = Object.keys(file.blueprints);
    if (file.defaultBlueprint && !(file.defaultBlueprint in file.blueprints)) {
      ctx.addIssue({
        code: 'custom',
        path: ['defaultBlueprint'],
        message: `no blueprint named ${file.defaultBlueprint} (known: ${blueprintNames.join(', ') || 'none'})`,
      });
    }
    for (const [name, env] of Object.entries(file.environments)) {
      if (!(env.blueprint in file.blueprints)) {
        ctx.addIssue({
          code: 'custom',
          path: ['environments', name, 'blueprint'],
          message: `no blueprint named ${env.blueprint} (known: ${blueprintNames.join(', ') || 'none'})`,
        });
      } else if (file.blueprints[env.blueprint]?.kind === 'stack') {
        ctx.addIssue({
          code: 'custom',
          path: ['environments', name, 'blueprint'],
          message: `${env.blueprint} is a stack blueprint: a declared environment is an Auto Scaling group (asgName) and needs a group blueprint`,
        });
      }
    }
    const { policy } = file;
    // A blueprint that registers new environments in a protected environment's target groups puts
    // them behind that environment's load balancer (production's traffic): only on purpose.
    for (const [name, env] of Object.entries(file.environments)) {
      const own = file.blueprints[env.blueprint];
      if (!own || own.kind === 'stack') continue;
      const rule = policy.environments[name];
      const isProtected =
        rule?.protected === true ||
        own.protected ||
        (policy.defaults.protected === true && rule?.protected !== false);
      if (!isProtected) continue;
      for (const [bpName, bp] of Object.entries(file.blueprints)) {
        if (bp.kind === 'stack') continue;
        const shared = bp.targetGroups.filter((tg) => own.targetGroups.includes(tg));
        if (shared.length === 0 || bp.sharedTargetGroups) continue;
        ctx.addIssue({
          code: 'custom',
          path: ['blueprints', bpName, 'targetGroups'],
          message: `${shared.join(', ')} is also protected environment ${name}'s: /env create --blueprint ${bpName} would register new instances behind ${name}'s load balancer. Give the blueprint its own target group, or set sharedTargetGroups: true if that is intended`,
        });
      }
    }
    const rules: Array<[(string | number)[], TargetRule]> = [
      [['policy', 'defaults'], policy.defaults],
      ...Object.entries(policy.environments).map(([k, r]): [(string | number)[], TargetRule] => [
        ['policy', 'environments', k],
        r,
      ]),
      ...Object.entries(policy.databases).map(([k, r]): [(string | number)[], TargetRule] => [
        ['policy', 'databases', k],
        r,
      ]),
    ];
    const anyProtected =
      rules.some(([, rule]) => rule.protected) || Object.values(file.blueprints).some((b) => b.protected);
    if (anyProtected && !(policy.approverRole in file.roles)) {
      ctx.addIssue({
        code: 'custom',
        path: ['policy', 'approverRole'],
        message: `protected targets need approvers: define the role ${policy.approverRole} under roles, or name another`,
      });
    }
    for (const [path, rule] of rules) {
      for (const [action, roles] of Object.entries(rule.allow ?? {})) {
        for (const [i, role] of (roles ?? []).entries()) check(role, [...path, 'allow', action, i]);
        if (!(ADMIN_ONLY_ACTIONS as readonly string[]).includes(action)) continue;
        // Admin-only actions act on Capstan itself, never on an environment or database.
        if (path[1] !== 'defaults') {
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'allow', action],
            message: `${action} is admin-only and not about one ${path[1] === 'environments' ? 'environment' : 'database'}: grant it under policy.defaults.allow`,
          });
        }
        if (roles?.includes(EVERYONE)) {
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'allow', action],
            message: `${action} is admin-only (${ADMIN_ONLY_ACTIONS.join(', ')}: reading the audit log, cancelling other people's jobs): name the roles that may, not everyone`,
          });
        }
      }
      for (const [action, approval] of Object.entries(rule.approval ?? {})) {
        if (approval) {
          if (approval.role === EVERYONE) {
            ctx.addIssue({
              code: 'custom',
              path: [...path, 'approval', action, 'role'],
              message: 'approvers must be a role, not everyone',
            });
          } else check(approval.role, [...path, 'approval', action, 'role']);
        } else if (
          rule.protected ||
          (path[1] !== 'defaults' && policy.defaults.protected && rule.protected !== false)
        ) {
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'approval', action],
            message: 'a protected target cannot waive approval (set protected: false first)',
          });
        }
      }
    }
  });

/** The validated YAML file. */
export type ConfigFile = z.infer<typeof configFileSchema>;

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

const envSchema = z.object({
  SLACK_BOT_TOKEN: z
    .string()
    .regex(/^xoxb-/, 'a bot token starting with xoxb-')
    .optional(),
  SLACK_SIGNING_SECRET: z
    .string()
    .min(8, 'the signing secret from the app’s Basic Information page')
    .optional(),
  SLACK_APP_TOKEN: z
    .string()
    .regex(/^xapp-/, 'an app-level token starting with xapp-')
    .optional(),
  SLACK_API_URL: z
    .url({ protocol: /^https?$/, error: 'an http(s) URL such as https://slack.com/api/' })
    .optional(),
  PORT: port.default(3000),
  HOST: z.string().default('0.0.0.0'),
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'a redis:// or rediss:// URL' }).optional(),
  REDIS_CLUSTER_NODES: z.string().optional(),
  REDIS_SENTINELS: z.string().optional(),
  REDIS_SENTINEL_NAME: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, 'the master name the sentinels monitor (letters, digits, . _ -)')
    .optional(),
  REDIS_USERNAME: z.string().optional(),
  REDIS_PASSWORD: z.string().optional(),
  REDIS_SENTINEL_USERNAME: z.string().optional(),
  REDIS_SENTINEL_PASSWORD: z.string().optional(),
  REDIS_TLS_CA_FILE: z.string().optional(),
  REDIS_TLS_SERVERNAME: z.string().optional(),
  CAPSTAN_CONFIG: z.string().min(1).optional(),
  CAPSTAN_AWS: z.enum(['sandbox', 'aws']).optional(),
  CAPSTAN_SANDBOX_SEED: z.string().min(1).optional(),
  // The sandbox's world on a Redis of its own (a plain redis:// URL), as AWS is apart from Capstan's
  // Redis: the failover drills fail Capstan's Redis over, not "AWS".
  CAPSTAN_SANDBOX_REDIS_URL: z
    .string()
    .regex(/^redis:\/\/[^/\s]+(\/\d+)?$/, 'a redis://host:port URL')
    .optional(),
  CAPSTAN_QUEUE_PREFIX: z
    .string()
    .regex(/^\{[a-z0-9_-]+\}$/, 'a Redis hash tag such as {capstan}, so every key lands in one cluster slot')
    .default('{capstan}'),
  CAPSTAN_WORKER_CONCURRENCY: positiveInt.default(8),
  CAPSTAN_JOB_LOCK_MS: positiveInt.default(30_000),
  CAPSTAN_STALLED_INTERVAL_MS: positiveInt.default(30_000),
  CAPSTAN_SHUTDOWN_GRACE_MS: positiveInt.default(20_000),
  CAPSTAN_REPORTER_INTERVAL_MS: z.coerce.number().int().min(0).default(1_000),
  CAPSTAN_POLL_INTERVAL_MS: positiveInt.default(2_000),
  CAPSTAN_WAIT_TIMEOUT_MS: positiveInt.default(20 * 60_000),
  CAPSTAN_EXPIRY_SWEEP_MS: positiveInt.default(5 * 60_000),
  CAPSTAN_JANITOR_MS: positiveInt.default(15 * 60_000),
  CAPSTAN_ALERTS_CHECK_MS: positiveInt.default(60_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  AWS_REGION: z.string().optional(),
});

/** One Redis server's address. */
export interface RedisAddress {
  host: string;
  port: number;
}

/**
 * Where Capstan's Redis is and how to reach it (`REDIS_*`). Holds credentials: show it only through
 * {@link describeRedis}.
 */
export interface RedisConfig {
  /** A single node (a primary endpoint, too), a Redis Cluster, or a master watched by Sentinel. */
  mode: 'single' | 'cluster' | 'sentinel';
  /** single: the node; cluster: the seed nodes; sentinel: the sentinels. */
  nodes: RedisAddress[];
  /** Database number (single and sentinel modes; a Cluster has only 0). */
  db: number;
  /** Sentinel mode: the master's name. */
  sentinelName?: string;
  /** ACL user and password of the data nodes. */
  username?: string;
  password?: string;
  /** Sentinel mode: the sentinels' own user and password, when they require one. */
  sentinelUsername?: string;
  sentinelPassword?: string;
  /** Set: every connection (sentinels included) is TLS, verified against `ca` or the system's CAs. */
  tls?: { ca?: string; caFile?: string; servername?: string };
}

/** A Redis configuration in words, for logs and errors: no password, ever. */
export function describeRedis(redis: RedisConfig): string {
  const first = redis.nodes[0];
  const where = first ? `${first.host}:${first.port}` : '?';
  const more = redis.nodes.length > 1 ? ` (+${redis.nodes.length - 1} more)` : '';
  const what =
    redis.mode === 'cluster'
      ? `Redis Cluster via ${where}${more}`
      : redis.mode === 'sentinel'
        ? `Redis master "${redis.sentinelName}" via sentinels ${where}${more}`
        : `Redis ${where}${redis.db ? ` db ${redis.db}` : ''}`;
  const tls = redis.tls ? `, TLS${redis.tls.caFile ? ` (CA ${redis.tls.caFile})` : ''}` : '';
  const user = redis.username ? `, user ${redis.username}` : redis.password ? ', password' : '';
  return `${what}${tls}${user}`;
}

const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** One entry of REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS, parsed. */
interface RedisEntry extends RedisAddress {
  tls?: boolean;
  username?: string;
  password?: string;
  db?: number;
}

/** Parses `host:port` or `redis[s]://[user[:password]@]host[:port][/db]`; a problem names `variable`. */
function parseRedisEntry(text: string, variable: string, problems: string[]): RedisEntry | undefined {
  const raw = text.trim();
  const withScheme = /^[a-z]+:\/\//i.test(raw) ? raw : `redis://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    problems.push(`${variable}: "${redactUrl(raw)}" is not host:port nor a redis:// or rediss:// URL`);
    return undefined;
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    problems.push(`${variable}: "${redactUrl(raw)}" is not host:port nor a redis:// or rediss:// URL`);
    return undefined;
  }
  if (!url.hostname) {
    problems.push(`${variable}: "${redactUrl(raw)}" names no host`);
    return undefined;
  }
  const port = url.port ? Number(url.port) : 6379;
  const dbText = url.pathname.replace(/^\//, '');
  if (dbText !== '' && !/^\d+$/.test(dbText)) {
    problems.push(`${variable}: "${redactUrl(raw)}": the path must be a database number, such as /0`);
    return undefined;
  }
  return {
    // URL keeps an IPv6 literal in brackets; the socket wants it bare.
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    ...(url.protocol === 'rediss:' ? { tls: true } : /^redis:\/\//i.test(raw) ? { tls: false } : {}),
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(dbText ? { db: Number(dbText) } : {}),
  };
}

function redactUrl(text: string): string {
  return text.replace(/(\/\/[^/@:\s]*:)[^/\s]*@/g, '$1***@');
}

const REDIS_KEYS = {
  REDIS_URL: true,
  REDIS_CLUSTER_NODES: true,
  REDIS_SENTINELS: true,
  REDIS_SENTINEL_NAME: true,
  REDIS_USERNAME: true,
  REDIS_PASSWORD: true,
  REDIS_SENTINEL_USERNAME: true,
  REDIS_SENTINEL_PASSWORD: true,
  REDIS_TLS_CA_FILE: true,
  REDIS_TLS_SERVERNAME: true,
} as const;

type RedisEnv = Pick<z.infer<typeof envSchema>, keyof typeof REDIS_KEYS>;

/**
 * Only the `REDIS_*` part of {@link readConfig}: for tools that reach Capstan's Redis (local mode,
 * tests, drills) without a whole configuration.
 * @throws ConfigError as readConfig does
 */
export function readRedisConfig(env: NodeJS.ProcessEnv | Record<string, string | undefined>): RedisConfig {
  const parsed = envSchema.pick(REDIS_KEYS).safeParse(stripEmpty(env));
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map(
        (issue) => `${String(issue.path[0])}: ${issue.message} (got ${describeValue(env, issue.path[0])})`,
      ),
    );
  }
  const problems: string[] = [];
  const redis = redisConfigOf(parsed.data, problems);
  if (!redis) throw new ConfigError(problems);
  return redis;
}

/**
 * Reads the `REDIS_*` variables into one {@link RedisConfig}: `REDIS_URL` (a single node, the default
 * redis://127.0.0.1:6379), `REDIS_CLUSTER_NODES` (Cluster seeds) or `REDIS_SENTINELS` +
 * `REDIS_SENTINEL_NAME`, never two of them. Entries are `host:port` or redis(s):// URLs; `rediss`
 * (or `REDIS_TLS_CA_FILE`) turns TLS on for every connection. `REDIS_USERNAME`/`REDIS_PASSWORD` win
 * over a URL's. Problems are pushed (never with a password in them); undefined when there were any.
 */
function redisConfigOf(e: RedisEnv, problems: string[]): RedisConfig | undefined {
  const before = problems.length;
  const given = [
    e.REDIS_URL && 'REDIS_URL',
    e.REDIS_CLUSTER_NODES && 'REDIS_CLUSTER_NODES',
    e.REDIS_SENTINELS && 'REDIS_SENTINELS',
  ].filter((v): v is string => Boolean(v));
  if (given.length > 1) {
    problems.push(`${given.join(' and ')}: set only one of them (a single node, a Cluster, or Sentinel)`);
    return undefined;
  }
  const mode = e.REDIS_CLUSTER_NODES ? 'cluster' : e.REDIS_SENTINELS ? 'sentinel' : 'single';
  const variable =
    mode === 'cluster' ? 'REDIS_CLUSTER_NODES' : mode === 'sentinel' ? 'REDIS_SENTINELS' : 'REDIS_URL';
  const text = e.REDIS_CLUSTER_NODES ?? e.REDIS_SENTINELS ?? e.REDIS_URL ?? DEFAULT_REDIS_URL;
  const parts = mode === 'single' ? [text] : text.split(',').filter((p) => p.trim() !== '');
  if (parts.length === 0) problems.push(`${variable}: list at least one host:port`);
  const entries = parts.map((p) => parseRedisEntry(p, variable, problems));
  if (problems.length > before) return undefined;
  const ok = entries as RedisEntry[];

  const schemes = new Set(ok.map((n) => n.tls).filter((t) => t !== undefined));
  if (schemes.size > 1) problems.push(`${variable}: mix of redis:// and rediss:// entries; use one scheme`);
  const explicitTls = ok.find((n) => n.tls !== undefined)?.tls;
  if (explicitTls === false && e.REDIS_TLS_CA_FILE)
    problems.push(`REDIS_TLS_CA_FILE: set, but ${variable} says redis:// (no TLS); use rediss://`);
  const tlsOn = explicitTls === true || Boolean(e.REDIS_TLS_CA_FILE);
  let ca: string | undefined;
  if (e.REDIS_TLS_CA_FILE) {
    try {
      ca = readFileSync(e.REDIS_TLS_CA_FILE, 'utf8');
      if (!ca.includes('-----BEGIN CERTIFICATE-----'))
        problems.push(`REDIS_TLS_CA_FILE: ${e.REDIS_TLS_CA_FILE} holds no PEM certificate`);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      problems.push(
        `REDIS_TLS_CA_FILE: cannot read ${e.REDIS_TLS_CA_FILE}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
      );
    }
  }
  if (e.REDIS_TLS_SERVERNAME && !tlsOn)
    problems.push(
      'REDIS_TLS_SERVERNAME: set, but the connection is not TLS (use rediss:// or REDIS_TLS_CA_FILE)',
    );
  if (mode === 'sentinel' && !e.REDIS_SENTINEL_NAME)
    problems.push(
      'REDIS_SENTINEL_NAME: the master name the sentinels monitor is needed with REDIS_SENTINELS',
    );
  if (mode !== 'sentinel' && e.REDIS_SENTINEL_NAME)
    problems.push('REDIS_SENTINEL_NAME: set, but REDIS_SENTINELS is not');
  const dbs = new Set(ok.map((n) => n.db ?? 0));
  if (mode === 'cluster' && [...dbs].some((db) => db !== 0))
    problems.push('REDIS_CLUSTER_NODES: a Redis Cluster has only database 0');
  if (problems.length > before) return undefined;

  // Credentials: the variables win; otherwise a URL's (the data nodes' own, or the sentinels').
  const fromUrl = ok.find((n) => n.username || n.password);
  const nodeUser = e.REDIS_USERNAME ?? (mode === 'sentinel' ? undefined : fromUrl?.username);
  const nodePassword = e.REDIS_PASSWORD ?? (mode === 'sentinel' ? undefined : fromUrl?.password);
  const sentinelUser = e.REDIS_SENTINEL_USERNAME ?? (mode === 'sentinel' ? fromUrl?.username : undefined);
  const sentinelPassword = e.REDIS_SENTINEL_PASSWORD ?? (mode === 'sentinel' ? fromUrl?.password : undefined);
  return {
    mode,
    nodes: ok.map(({ host, port }) => ({ host, port })),
    db: mode === 'cluster' ? 0 : (ok[0]?.db ?? 0),
    ...(mode === 'sentinel' && e.REDIS_SENTINEL_NAME ? { sentinelName: e.REDIS_SENTINEL_NAME } : {}),
    ...(nodeUser ? { username: nodeUser } : {}),
    ...(nodePassword ? { password: nodePassword } : {}),
    ...(sentinelUser ? { sentinelUsername: sentinelUser } : {}),
    ...(sentinelPassword ? { sentinelPassword } : {}),
    ...(tlsOn
      ? {
          tls: {
            ...(ca ? { ca, caFile: e.REDIS_TLS_CA_FILE } : {}),
            ...(e.REDIS_TLS_SERVERNAME ? { servername: e.REDIS_TLS_SERVERNAME } : {}),
          },
        }
      : {}),
  };
}

/** How Capstan talks to Slack. */
export type SlackMode = 'http' | 'socket' | 'local';

/** Everything Capstan needs, validated. */
export interface Config {
  slack: {
    mode: SlackMode;
    botToken: string;
    signingSecret: string;
    appToken?: string;
    apiUrl?: string;
  };
  http: { port: number; host: string };
  redis: RedisConfig;
  queuePrefix: string;
  aws: { mode: 'sandbox' | 'aws'; region?: string; sandboxSeed?: string; sandboxRedisUrl?: string };
  worker: { concurrency: number; lockDurationMs: number; stalledIntervalMs: number; shutdownGraceMs: number };
  reporter: { minUpdateIntervalMs: number };
  /** How often long AWS transitions are polled, and how long they may take. */
  waits: { pollIntervalMs: number; timeoutMs: number };
  /** How often environments are checked for expiry. */
  expirySweepMs: number;
  /** How often leftover temporary restore instances are looked for. */
  janitorMs: number;
  /** How often the alert checks run (each check may ask for less often in the file). */
  alertsCheckMs: number;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  /** Database passwords by DB instance, read from the variables the file names (never logged). */
  databasePasswords: Record<string, string>;
  configPath?: string;
  file: ConfigFile;
}

/**
 * A new signing secret for one local-mode process: random at each start, known only in-process (the
 * console and the terminal sign with it there), never printed nor served over HTTP, so nothing
 * outside this process can sign a request Capstan accepts.
 */
export function newLocalSigningSecret(): string {
  return randomBytes(32).toString('hex');
}

/**
 * Reads and validates Capstan's configuration from `env` (and the YAML file it names).
 * @throws ConfigError listing every problem found, each naming the variable or file:line and field.
 */
export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(stripEmpty(env));
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map(
        (issue) => `${String(issue.path[0])}: ${issue.message} (got ${describeValue(env, issue.path[0])})`,
      ),
    );
  }
  const e = parsed.data;
  const problems: string[] = [];
  if (Boolean(e.SLACK_BOT_TOKEN) !== Boolean(e.SLACK_SIGNING_SECRET)) {
    problems.push(
      'SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET: set both for Slack, or neither for local mode (only one is set)',
    );
  }
  if (e.SLACK_APP_TOKEN && !e.SLACK_BOT_TOKEN) {
    problems.push('SLACK_APP_TOKEN: Socket Mode also needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET');
  }
  const file = e.CAPSTAN_CONFIG ? readConfigFile(e.CAPSTAN_CONFIG, problems) : configFileSchema.parse({});
  if (problems.length > 0 || !file) throw new ConfigError(problems);

  const databasePasswords: Record<string, string> = {};
  for (const [id, db] of Object.entries(file.databases)) {
    if (!db.passwordEnv) continue;
    const password = env[db.passwordEnv];
    if (password) databasePasswords[id] = password;
    else
      problems.push(
        `${db.passwordEnv}: the password of database ${id} (databases.${id}.passwordEnv) is not set`,
      );
  }
  const redis = redisConfigOf(e, problems);
  if (problems.length > 0 || !redis) throw new ConfigError(problems);

  const local = !e.SLACK_BOT_TOKEN;
  const mode: SlackMode = local ? 'local' : e.SLACK_APP_TOKEN ? 'socket' : 'http';
  return {
    slack: {
      mode,
      botToken: e.SLACK_BOT_TOKEN ?? 'xoxb-local-mode',
      signingSecret: e.SLACK_SIGNING_SECRET ?? newLocalSigningSecret(),
      ...(e.SLACK_APP_TOKEN ? { appToken: e.SLACK_APP_TOKEN } : {}),
      ...(e.SLACK_API_URL ? { apiUrl: withTrailingSlash(e.SLACK_API_URL) } : {}),
    },
    // Local mode listens on loopback only: nothing outside this machine can reach it.
    http: { port: e.PORT, host: local ? '127.0.0.1' : e.HOST },
    redis,
    queuePrefix: e.CAPSTAN_QUEUE_PREFIX,
    aws: {
      mode: e.CAPSTAN_AWS ?? (local ? 'sandbox' : 'aws'),
      ...(e.AWS_REGION ? { region: e.AWS_REGION } : {}),
      ...(e.CAPSTAN_SANDBOX_SEED ? { sandboxSeed: e.CAPSTAN_SANDBOX_SEED } : {}),
      ...(e.CAPSTAN_SANDBOX_REDIS_URL ? { sandboxRedisUrl: e.CAPSTAN_SANDBOX_REDIS_URL } : {}),
    },
    worker: {
      concurrency: e.CAPSTAN_WORKER_CONCURRENCY,
      lockDurationMs: e.CAPSTAN_JOB_LOCK_MS,
      stalledIntervalMs: e.CAPSTAN_STALLED_INTERVAL_MS,
      shutdownGraceMs: e.CAPSTAN_SHUTDOWN_GRACE_MS,
    },
    reporter: { minUpdateIntervalMs: e.CAPSTAN_REPORTER_INTERVAL_MS },
    waits: { pollIntervalMs: e.CAPSTAN_POLL_INTERVAL_MS, timeoutMs: e.CAPSTAN_WAIT_TIMEOUT_MS },
    expirySweepMs: e.CAPSTAN_EXPIRY_SWEEP_MS,
    janitorMs: e.CAPSTAN_JANITOR_MS,
    alertsCheckMs: e.CAPSTAN_ALERTS_CHECK_MS,
    logLevel: e.LOG_LEVEL,
    databasePasswords,
    ...(e.CAPSTAN_CONFIG ? { configPath: e.CAPSTAN_CONFIG } : {}),
    file,
  };
}

/**
 * Parses and validates the YAML text of a config file. Problems are pushed as `path:line:col field: …`.
 * Exported for tests; {@link readConfig} is the entry point.
 */
export function parseConfigFile(text: string, path: string, problems: string[]): ConfigFile | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const where = (offset: number | undefined): string => {
    if (offset === undefined) return path;
    const { line, col } = lineCounter.linePos(offset);
    return `${path}:${line}:${col}`;
  };
  if (doc.errors.length > 0) {
    for (const err of doc.errors)
      problems.push(`${where(err.pos[0])}: YAML syntax: ${err.message.split('\n')[0]}`);
    return undefined;
  }
  const result = configFileSchema.safeParse(doc.toJS() ?? {});
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    const keys = issue.path.map((k) => (typeof k === 'symbol' ? String(k) : k));
    // The node at the path, or the nearest ancestor that exists (a missing field points at its parent).
    let offset: number | undefined;
    for (let n = keys.length; n >= 0 && offset === undefined; n--) {
      const node = doc.getIn(keys.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      offset = node?.range?.[0];
    }
    const field = keys.length > 0 ? keys.join('.') : '(top level)';
    problems.push(`${where(offset)} ${field}: ${issue.message}`);
  }
  return undefined;
}

function readConfigFile(path: string, problems: string[]): ConfigFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    problems.push(`CAPSTAN_CONFIG: cannot read ${path}: ${reason}`);
    return undefined;
  }
  const file = parseConfigFile(text, path, problems);
  if (file) readUserDataFiles(file, path, problems);
  return file;
}

/**
 * Reads each group blueprint's `userDataFile` (relative to the config file) into its `userData`, and
 * makes each stack blueprint's template path absolute.
 */
function readUserDataFiles(file: ConfigFile, configPath: string, problems: string[]): void {
  for (const [name, bp] of Object.entries(file.blueprints)) {
    if (bp.kind === 'stack') {
      // A template file is found from the config file's directory, whoever starts Capstan where.
      if (!/^(s3|https):\/\//.test(bp.template)) bp.template = resolvePath(dirname(configPath), bp.template);
      continue;
    }
    if (bp.userDataFile === undefined) continue;
    const path = resolvePath(dirname(configPath), bp.userDataFile);
    try {
      const text = readFileSync(path, 'utf8');
      // EC2 limits user data to 16 KB before base64
      // (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-add-user-data.html).
      if (Buffer.byteLength(text) > 16_384) {
        problems.push(`${configPath} blueprints.${name}.userDataFile: ${path} is over 16 KB, EC2's limit`);
      } else bp.userData = text;
    } catch (error) {
      const reason =
        (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
      problems.push(`${configPath} blueprints.${name}.userDataFile: cannot read ${path}: ${reason}`);
    }
  }
}

function stripEmpty(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => Boolean(entry[1])),
  );
}

function describeValue(env: NodeJS.ProcessEnv, key: PropertyKey | undefined): string {
  if (typeof key !== 'string') return 'nothing';
  const value = env[key];
  if (value === undefined || value === '') return 'nothing';
  // Never echo credentials back, even invalid ones.
  if (/TOKEN|SECRET|PASSWORD/.test(key)) return `a value of ${value.length} characters`;
  // Nor a password inside a URL (REDIS_URL=rediss://user:password@host).
  const shown = redactUrl(value);
  return JSON.stringify(shown.length > 80 ? `${shown.slice(0, 80)}…` : shown);
}

function withTrailingSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
