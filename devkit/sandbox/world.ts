/**
 * The sandbox world: every resource the AWS sandbox knows, as one plain JSON document (kept in
 * Redis by store.ts). Times are epoch milliseconds on the sandbox clock. Resources carry the
 * history of their transitions and, when one is scheduled, the next (`next.at` = when it is due);
 * lifecycle.ts moves them along.
 */
import { createHash } from 'node:crypto';

/** How long each lifecycle step takes, in milliseconds. */
export interface SandboxTiming {
  /** Auto Scaling instance Pending → InService (EC2 pending → running). */
  instanceLaunch: number;
  /** Target health initial → healthy after registration. */
  healthCheck: number;
  /** Target draining → gone after deregistration (the target group's deregistration delay). */
  deregistration: number;
  /** Auto Scaling instance EnteringStandby → Standby. */
  standby: number;
  /** Auto Scaling instance leaving Standby: Pending → InService. */
  exitStandby: number;
  /** Auto Scaling instance Terminating → Terminated (EC2 shutting-down → terminated). */
  terminate: number;
  /** An Auto Scaling group 'Delete in progress' → gone (at the earliest; it also waits for its instances). */
  asgDelete: number;
  /** DB instance creating → available. */
  dbCreate: number;
  /** DB instance deleting → gone. */
  dbDelete: number;
  /** How long a terminated EC2 instance stays visible to DescribeInstances (AWS: about an hour). */
  terminatedRetention: number;
  /** How far LatestRestorableTime trails the clock for an available DB instance (AWS: about 5 min). */
  restorableLag: number;
  /** A CloudFormation stack resource: one create, update or delete, IN_PROGRESS → COMPLETE/FAILED. */
  stackResource: number;
  /** A CloudFormation change set: CREATE_PENDING → CREATE_COMPLETE (or FAILED). */
  changeSet: number;
}

/** Defaults suitable for local demos: quick, but slow enough to watch things move. */
export const DEFAULT_TIMING: SandboxTiming = {
  instanceLaunch: 4_000,
  healthCheck: 3_000,
  deregistration: 2_000,
  standby: 2_000,
  exitStandby: 1_000,
  terminate: 3_000,
  asgDelete: 2_000,
  dbCreate: 6_000,
  dbDelete: 4_000,
  terminatedRetention: 60 * 60_000,
  restorableLag: 5 * 60_000,
  stackResource: 2_000,
  changeSet: 1_000,
};

/** A transition the lifecycle engine carries out when the clock reaches `at`. */
export interface Scheduled<E extends string = string> {
  at: number;
  event: E;
}

/** One entry of a resource's history: it entered `state` at `at`. */
export interface Transition {
  state: string;
  at: number;
}

export type Tags = Record<string, string>;

export interface SubnetState {
  id: string;
  vpcId: string;
  availabilityZone: string;
  cidr: string;
  tags: Tags;
  /** Host addresses handed out so far (private IPs come from the CIDR). */
  allocated: number;
}

/** Launch template data, in the SDK's own shape (`ResponseLaunchTemplateData`), kept as JSON. */
export type LaunchTemplateData = Record<string, unknown> & { ImageId?: string; InstanceType?: string };

export interface LaunchTemplateVersionState {
  number: number;
  description?: string;
  createdAt: number;
  data: LaunchTemplateData;
}

export interface LaunchTemplateState {
  id: string;
  name: string;
  createdAt: number;
  defaultVersion: number;
  latestVersion: number;
  versions: LaunchTemplateVersionState[];
  tags: Tags;
}

export type Ec2StateName = 'pending' | 'running' | 'shutting-down' | 'terminated';

export type AsgLifecycle =
  | 'Pending'
  | 'InService'
  | 'EnteringStandby'
  | 'Standby'
  | 'Terminating'
  | 'Terminated';

export type InstanceEvent = 'in-service' | 'standby' | 'terminated' | 'purge';

export interface InstanceState {
  id: string;
  reservationId: string;
  imageId: string;
  instanceType: string;
  subnetId?: string;
  vpcId?: string;
  availabilityZone: string;
  privateIp: string;
  launchedAt: number;
  state: Ec2StateName;
  /** EC2 tags in order (ASG-propagated tags, aws:autoscaling:groupName, the template's instance tags). */
  tags: { Key: string; Value: string }[];
  launchTemplate?: { id: string; name: string; version: string };
  /** Auto Scaling membership; absent for instances launched outside a group. */
  group?: string;
  lifecycle?: AsgLifecycle;
  health: 'Healthy' | 'Unhealthy';
  protectedFromScaleIn: boolean;
  next?: Scheduled<InstanceEvent>;
  history: Transition[];
}

export interface AsgTag {
  Key: string;
  Value: string;
  PropagateAtLaunch: boolean;
}

export interface SuspendedProcessState {
  name: string;
  reason: string;
}

export interface GroupState {
  name: string;
  arn: string;
  createdAt: number;
  launchTemplate: { id: string; name: string; version: string };
  min: number;
  max: number;
  desired: number;
  defaultCooldown: number;
  subnets: string[];
  availabilityZones: string[];
  targetGroupArns: string[];
  tags: AsgTag[];
  healthCheckType: string;
  healthCheckGracePeriod: number;
  terminationPolicies: string[];
  newInstancesProtectedFromScaleIn: boolean;
  suspended: SuspendedProcessState[];
  status?: 'Delete in progress';
  /** The last launch failure recorded as an activity (so it is recorded once, not on every reconcile). */
  launchFailure?: string;
  next?: Scheduled<'deleted'>;
  history: Transition[];
}

export interface ActivityState {
  id: string;
  group: string;
  description: string;
  cause: string;
  startedAt: number;
  /** When it ends (it is InProgress until then). */
  endsAt: number;
  status: 'Successful' | 'Failed';
  statusMessage?: string;
  details: string;
}

export type TargetHealthState = 'initial' | 'healthy' | 'unhealthy' | 'draining' | 'unused';

export interface TargetState {
  id: string;
  port: number;
  state: TargetHealthState;
  registeredAt: number;
  next?: Scheduled<'healthy' | 'removed'>;
  history: Transition[];
}

export interface TargetGroupState {
  arn: string;
  name: string;
  protocol: string;
  port: number;
  vpcId: string;
  healthCheckPath: string;
  loadBalancerArns: string[];
  targets: TargetState[];
  tags: Tags;
}

export type DbStatus =
  | 'creating'
  | 'available'
  | 'backing-up'
  | 'modifying'
  | 'deleting'
  | 'stopped'
  | 'storage-optimization';

export interface DbInstanceState {
  id: string;
  arn: string;
  resourceId: string;
  engine: string;
  engineVersion: string;
  instanceClass: string;
  status: DbStatus;
  allocatedStorage: number;
  storageType: string;
  iops?: number;
  storageThroughput?: number;
  endpoint: { address: string; port: number; hostedZoneId: string };
  masterUsername: string;
  dbName?: string;
  subnetGroup: { name: string; vpcId: string; subnetIds: string[] };
  vpcSecurityGroupIds: string[];
  availabilityZone: string;
  multiAZ: boolean;
  publiclyAccessible: boolean;
  deletionProtection: boolean;
  backupRetentionPeriod: number;
  iamDatabaseAuthenticationEnabled: boolean;
  storageEncrypted: boolean;
  createdAt: number;
  tags: { Key: string; Value: string }[];
  /**
   * Set on instances made by a restore (RestoreDBInstanceToPointInTime, added later by an
   * extension): where they came from.
   */
  restoredFrom?: { sourceId: string; restoreTime: number };
  /** Free-form data an extension keeps with the instance (e.g. which local server backs it). */
  extension?: Record<string, unknown>;
  next?: Scheduled<'available' | 'deleted'>;
  history: Transition[];
}

export interface DbSnapshotState {
  id: string;
  dbInstanceId: string;
  createdAt: number;
  engine: string;
}

export interface MetricPoint {
  /** Epoch milliseconds. */
  t: number;
  v: number;
}

export interface MetricSeries {
  namespace: string;
  metricName: string;
  /** Dimensions sorted by name. */
  dimensions: { Name: string; Value: string }[];
  unit: string;
  /** Sorted by time. */
  points: MetricPoint[];
}

export interface FaultSettings {
  /** Probability (0..1) that a call fails with the service's throttling error. */
  throttleRate: number;
  /** Probability (0..1) that a call fails with a transient server error (500/503). */
  transientRate: number;
  /** Makes the sequence of injected faults reproducible. */
  seed?: number;
  /** Only these commands get faults (`DescribeAutoScalingGroups` or `AutoScaling:DescribeAutoScalingGroups`); all when absent. */
  commands?: string[];
  /**
   * Commands answered with success that change nothing (`AutoScaling:EnterStandby`): an action that
   * silently does not happen, so a job's read-back is what tells the truth.
   */
  ignore?: string[];
  /** Commands answered with this error every time (`{ 'AutoScaling:EnterStandby': { code, message } }`). */
  refuse?: Record<string, { code: string; message: string }>;
}

export interface FaultCounters {
  /** Calls that were considered for a fault while faults were set. */
  calls: number;
  throttling: number;
  transient: number;
  /** Injected faults per `Service:Command`. */
  byCommand: Record<string, { throttling: number; transient: number }>;
}

export interface World {
  version: 1;
  region: string;
  accountId: string;
  /** Makes this world's generated ids differ from another world's. */
  salt: string;
  /** Counter behind generated ids. */
  seq: number;
  /** Added to the process clock (`advance(ms)` moves it forward, for every process). */
  clockOffsetMs: number;
  /** Where the lifecycle stands: the last time the world was advanced to. */
  lastAdvancedAt: number;
  /** Timing overrides shared by every process (they win over a process's own options). */
  timing: Partial<SandboxTiming>;
  faults: FaultSettings;
  faultCounters: FaultCounters;
  subnets: Record<string, SubnetState>;
  launchTemplates: Record<string, LaunchTemplateState>;
  instances: Record<string, InstanceState>;
  groups: Record<string, GroupState>;
  activities: ActivityState[];
  targetGroups: Record<string, TargetGroupState>;
  dbInstances: Record<string, DbInstanceState>;
  dbSnapshots: Record<string, DbSnapshotState>;
  metrics: MetricSeries[];
  /** Secrets Manager secrets by name (absent in worlds saved before secrets were emulated). */
  secrets?: Record<string, SecretState>;
  /** CloudFormation stacks by stack id, deleted ones included (absent in older worlds). */
  stacks?: Record<string, StackState>;
  /** CloudFormation change sets by change set id (absent in older worlds). */
  changeSets?: Record<string, ChangeSetState>;
  /** CloudWatch metric alarms by name (absent in older worlds). */
  alarms?: Record<string, MetricAlarmState>;
  /** SNS topics by ARN (absent in older worlds). */
  snsTopics?: Record<string, SnsTopicState>;
}

// ── CloudWatch alarms ────────────────────────────────────────────────────────────────────────

export type AlarmStateValue = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export type AlarmComparisonOperator =
  | 'GreaterThanOrEqualToThreshold'
  | 'GreaterThanThreshold'
  | 'LessThanThreshold'
  | 'LessThanOrEqualToThreshold';

export type AlarmStatistic = 'SampleCount' | 'Average' | 'Sum' | 'Minimum' | 'Maximum';

export type TreatMissingData = 'missing' | 'ignore' | 'breaching' | 'notBreaching';

/** A metric alarm on one metric and a standard statistic (PutMetricAlarm's shape). */
export interface MetricAlarmState {
  name: string;
  arn: string;
  description?: string;
  namespace: string;
  metricName: string;
  /** Sorted by name. */
  dimensions: { Name: string; Value: string }[];
  statistic: AlarmStatistic;
  /** Only series in this unit count, as with GetMetricData's Unit. */
  unit?: string;
  /** Seconds. */
  period: number;
  evaluationPeriods: number;
  /** M of an M-out-of-N alarm; absent: every evaluated period (N). */
  datapointsToAlarm?: number;
  threshold: number;
  comparisonOperator: AlarmComparisonOperator;
  treatMissingData: TreatMissingData;
  actionsEnabled: boolean;
  alarmActions: string[];
  okActions: string[];
  insufficientDataActions: string[];
  configurationUpdatedAt: number;
  state: {
    value: AlarmStateValue;
    reason: string;
    /** JSON, as StateReasonData. */
    reasonData?: string;
    /** Last update of the state (or its reason). */
    updatedAt: number;
    /** Last change of the state value. */
    transitionedAt: number;
  };
}

// ── SNS ──────────────────────────────────────────────────────────────────────────────────────

/** An HTTP or HTTPS subscription. */
export interface SnsSubscriptionState {
  /** `<topic ARN>:<uuid>` (Subscribe answers "pending confirmation" until it is confirmed). */
  arn: string;
  protocol: 'http' | 'https';
  endpoint: string;
  status: 'pending' | 'confirmed';
  /** The confirmation token (valid for three days after it was issued). */
  token: string;
  tokenIssuedAt: number;
  createdAt: number;
  confirmedAt?: number;
  /** The last delivery of its SubscriptionConfirmation: when, and whether the endpoint took it (2xx). */
  confirmationDelivery?: { at: number; attempts: number; ok: boolean; status?: number; error?: string };
}

export interface SnsTopicState {
  arn: string;
  name: string;
  createdAt: number;
  /** How messages to its subscriptions are signed (the topic attribute SignatureVersion). */
  signatureVersion: '1' | '2';
  subscriptions: SnsSubscriptionState[];
}

// ── CloudFormation ───────────────────────────────────────────────────────────────────────────

/** A template value after parsing (JSON-shaped; YAML short forms become their `Fn::` long forms). */
export type TemplateValue =
  | null
  | boolean
  | number
  | string
  | TemplateValue[]
  | { [k: string]: TemplateValue };

/** One resource of a stack, as CloudFormation tracks it. */
export interface StackResourceState {
  logicalId: string;
  type: string;
  physicalId?: string;
  status: string;
  statusReason?: string;
  updatedAt: number;
  /** The properties last applied (intrinsics resolved). */
  properties: Record<string, TemplateValue>;
  /** Values for Fn::GetAtt. */
  attributes: Record<string, string>;
  deletionPolicy: 'Delete' | 'Retain';
  /** During an update that replaces the resource: the physical resource being replaced. */
  previous?: {
    physicalId: string;
    properties: Record<string, TemplateValue>;
    attributes: Record<string, string>;
  };
}

export interface StackEventState {
  id: string;
  logicalId: string;
  physicalId: string;
  type: string;
  status: string;
  reason?: string;
  at: number;
  token?: string;
}

/** One resource's part in a running operation. */
export interface StackTask {
  action: 'create' | 'apply' | 'delete' | 'revert' | 'cleanup';
  /** Tasks (logical ids) that must finish first. */
  after: string[];
  state: 'waiting' | 'running' | 'done' | 'failed';
  /** When the running step is due. */
  at?: number;
  /** The error the step will report when it is due. */
  error?: string;
  /** What the step did (for an update: 'update', 'replace', 'create', 'none'). */
  did?: string;
}

/** A stack's running operation: the tasks of its current phase. */
export interface StackOperation {
  phase: string;
  token?: string;
  changeSetId?: string;
  tasks: Record<string, StackTask>;
  /** Logical ids whose task failed in this phase. */
  failed: string[];
  /** What the stack was before an update (put back by an update rollback). */
  before?: {
    template: string;
    parameters: Record<string, string>;
    tags: { Key: string; Value: string }[];
    outputs?: StackOutputState[];
  };
  /** The template an update tried (its resources' dependencies order the rollback's cleanup). */
  attempted?: string;
  /** Logical ids an update created or changed (an update rollback reverts them). */
  touched?: Record<string, 'create' | 'update' | 'replace'>;
}

export interface StackOutputState {
  key: string;
  value: string;
  description?: string;
  exportName?: string;
}

export interface StackState {
  id: string;
  name: string;
  status: string;
  statusReason?: string;
  description?: string;
  createdAt: number;
  lastUpdatedAt?: number;
  deletedAt?: number;
  template: string;
  parameters: Record<string, string>;
  tags: { Key: string; Value: string }[];
  capabilities: string[];
  onFailure: 'ROLLBACK' | 'DELETE' | 'DO_NOTHING';
  createToken?: string;
  lastToken?: string;
  outputs?: StackOutputState[];
  /** Resources in the order they were first touched. */
  resources: Record<string, StackResourceState>;
  /** Oldest first. */
  events: StackEventState[];
  operation?: StackOperation;
  next?: Scheduled<'step'>;
}

export interface ResourceChangeState {
  action: 'Add' | 'Modify' | 'Remove';
  logicalId: string;
  physicalId?: string;
  type: string;
  replacement?: 'True' | 'False' | 'Conditional';
  scope: string[];
  details: {
    attribute: string;
    name?: string;
    requiresRecreation: 'Never' | 'Conditionally' | 'Always';
    evaluation: 'Static' | 'Dynamic';
    changeSource: string;
    causingEntity?: string;
  }[];
}

export interface ChangeSetState {
  id: string;
  name: string;
  stackId: string;
  stackName: string;
  type: 'CREATE' | 'UPDATE';
  description?: string;
  createdAt: number;
  status: 'CREATE_PENDING' | 'CREATE_IN_PROGRESS' | 'CREATE_COMPLETE' | 'FAILED' | 'DELETE_COMPLETE';
  statusReason?: string;
  executionStatus: string;
  template: string;
  parameters: Record<string, string>;
  tags: { Key: string; Value: string }[];
  capabilities: string[];
  changes: ResourceChangeState[];
  token?: string;
  next?: Scheduled<'in-progress' | 'complete'>;
}

/** A Secrets Manager secret: one current string version. */
export interface SecretState {
  name: string;
  arn: string;
  secretString: string;
  versionId: string;
  createdAt: number;
}

export function emptyWorld(salt = 'sandbox'): World {
  return {
    version: 1,
    region: 'eu-west-1',
    accountId: '123456789012',
    salt,
    seq: 0,
    clockOffsetMs: 0,
    lastAdvancedAt: 0,
    timing: {},
    faults: { throttleRate: 0, transientRate: 0 },
    faultCounters: { calls: 0, throttling: 0, transient: 0, byCommand: {} },
    subnets: {},
    launchTemplates: {},
    instances: {},
    groups: {},
    activities: [],
    targetGroups: {},
    dbInstances: {},
    dbSnapshots: {},
    metrics: [],
    secrets: {},
    stacks: {},
    changeSets: {},
    alarms: {},
    snsTopics: {},
  };
}

/** The next deterministic hex string for this world (ids look like AWS's but repeat for equal worlds). */
export function nextHex(world: World, length: number): string {
  world.seq += 1;
  let out = '';
  for (let i = 0; out.length < length; i++) {
    out += createHash('sha256').update(`${world.salt}:${world.seq}:${i}`).digest('hex');
  }
  return out.slice(0, length);
}

/** AWS-style ids: `i-0…` (17 hex), `r-0…`, `lt-0…`, `subnet-0…`. */
export function nextId(world: World, prefix: string): string {
  return `${prefix}-0${nextHex(world, 16)}`;
}

/** A UUID-shaped deterministic id (activity ids). */
export function nextUuid(world: World): string {
  const h = nextHex(world, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function tagList(tags: Tags): { Key: string; Value: string }[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

export function effectiveTiming(world: World, own: Partial<SandboxTiming> = {}): SandboxTiming {
  return { ...DEFAULT_TIMING, ...own, ...world.timing };
}
