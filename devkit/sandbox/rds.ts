/**
 * RDS: DB instances (state model, describe, delete, tags).
 *
 * Extension point for restores: `RestoreDBInstanceToPointInTime` is not emulated here. A later
 * engineer adds it as a {@link SandboxExtension} command (see extension.ts): its `prepare` step
 * does the real work outside the world's transaction (e.g. starts a mariadbd server and loads the
 * data as of the restore time) and returns where it listens; its `apply` step validates against
 * the world (source exists → else DBInstanceNotFound; time within the restorable window → else
 * InvalidRestoreFault; target id free → else DBInstanceAlreadyExists) and calls
 * {@link addDbInstance} with `status: 'creating'`, that `endpoint` and `restoredFrom`. The engine
 * then moves it creating → available after `timing.dbCreate`, like any other instance.
 */
import type {
  AddTagsToResourceCommandInput,
  DBInstance,
  DeleteDBInstanceCommandInput,
  DeleteDBInstanceCommandOutput,
  DescribeDBInstancesCommandInput,
  DescribeDBInstancesCommandOutput,
  ListTagsForResourceCommandInput,
  ListTagsForResourceCommandOutput,
  RemoveTagsFromResourceCommandInput,
} from '@aws-sdk/client-rds';
import type { CallContext, HandlerTable, Out } from './context.js';
import { rdsError } from './errors.js';
import { applyFilters, paginate, toDate } from './util.js';
import type { DbInstanceState, DbStatus, SandboxTiming, World } from './world.js';
import { nextHex } from './world.js';

/** What it takes to make a DB instance (seeds, and later restores). Unset fields get RDS-like defaults. */
export interface DbInstanceSpec {
  id: string;
  engine?: string;
  engineVersion?: string;
  instanceClass?: string;
  allocatedStorage?: number;
  storageType?: 'gp2' | 'gp3' | 'io1' | 'io2' | 'standard' | string;
  iops?: number;
  storageThroughput?: number;
  /** Where clients connect (e.g. a local mariadbd on 127.0.0.1:3307); default an RDS-style host name on 3306. */
  endpoint?: { address: string; port: number };
  masterUsername?: string;
  dbName?: string;
  subnetGroupName?: string;
  vpcId?: string;
  subnetIds?: string[];
  vpcSecurityGroupIds?: string[];
  availabilityZone?: string;
  multiAZ?: boolean;
  publiclyAccessible?: boolean;
  deletionProtection?: boolean;
  backupRetentionPeriod?: number;
  iamDatabaseAuthenticationEnabled?: boolean;
  storageEncrypted?: boolean;
  tags?: Record<string, string>;
  /** `available` (default, an existing instance) or `creating` (becomes available after `timing.dbCreate`). */
  status?: DbStatus;
  createdAt?: number;
  restoredFrom?: { sourceId: string; restoreTime: number };
  extension?: Record<string, unknown>;
}

const ID = /^[a-zA-Z][a-zA-Z0-9-]{0,62}$/;

export function dbArn(world: World, id: string): string {
  return `arn:aws:rds:${world.region}:${world.accountId}:db:${id}`;
}

/** Adds a DB instance to the world (pure; used by seeding and by a restore extension). */
export function addDbInstance(
  world: World,
  now: number,
  timing: SandboxTiming,
  spec: DbInstanceSpec,
): DbInstanceState {
  if (!ID.test(spec.id) || spec.id.endsWith('-') || spec.id.includes('--')) {
    throw rdsError('InvalidParameterValue', `The parameter DBInstanceIdentifier is not a valid identifier.`);
  }
  if (world.dbInstances[spec.id]) {
    throw rdsError('DBInstanceAlreadyExists', `DB instance already exists`);
  }
  const storageType = spec.storageType ?? 'gp2';
  const allocated = spec.allocatedStorage ?? 100;
  let iops = spec.iops;
  let throughput = spec.storageThroughput;
  if (storageType === 'gp3') {
    // RDS for MySQL gp3 baseline: 3,000 IOPS / 125 MiB/s below 400 GiB, 12,000 / 500 from 400 GiB.
    iops ??= allocated >= 400 ? 12_000 : 3_000;
    throughput ??= allocated >= 400 ? 500 : 125;
  } else if ((storageType === 'io1' || storageType === 'io2') && iops === undefined) {
    throw rdsError('InvalidParameterCombination', `You must specify Iops for storage type ${storageType}.`);
  }
  const engine = spec.engine ?? 'mysql';
  const status = spec.status ?? 'available';
  const createdAt = spec.createdAt ?? now;
  const db: DbInstanceState = {
    id: spec.id,
    arn: dbArn(world, spec.id),
    resourceId: `db-${nextHex(world, 26).toUpperCase()}`,
    engine,
    engineVersion: spec.engineVersion ?? (engine === 'mysql' ? '8.0.39' : '10.11.9'),
    instanceClass: spec.instanceClass ?? 'db.t3.medium',
    status,
    allocatedStorage: allocated,
    storageType,
    endpoint: {
      address:
        spec.endpoint?.address ?? `${spec.id}.c0${nextHex(world, 10)}.${world.region}.rds.amazonaws.com`,
      port: spec.endpoint?.port ?? 3306,
      hostedZoneId: 'Z29XKXDKYMONMX',
    },
    masterUsername: spec.masterUsername ?? 'admin',
    subnetGroup: {
      name: spec.subnetGroupName ?? 'default',
      vpcId: spec.vpcId ?? Object.values(world.subnets)[0]?.vpcId ?? 'vpc-00000000000000000',
      subnetIds: spec.subnetIds ?? Object.keys(world.subnets),
    },
    vpcSecurityGroupIds: spec.vpcSecurityGroupIds ?? [],
    availabilityZone: spec.availabilityZone ?? `${world.region}a`,
    multiAZ: spec.multiAZ ?? false,
    publiclyAccessible: spec.publiclyAccessible ?? false,
    deletionProtection: spec.deletionProtection ?? false,
    backupRetentionPeriod: spec.backupRetentionPeriod ?? 7,
    iamDatabaseAuthenticationEnabled: spec.iamDatabaseAuthenticationEnabled ?? false,
    storageEncrypted: spec.storageEncrypted ?? true,
    createdAt,
    tags: Object.entries(spec.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
    history: [{ state: status, at: now }],
  };
  if (iops !== undefined) db.iops = iops;
  if (throughput !== undefined) db.storageThroughput = throughput;
  if (spec.dbName !== undefined) db.dbName = spec.dbName;
  if (spec.restoredFrom) db.restoredFrom = { ...spec.restoredFrom };
  if (spec.extension) db.extension = structuredClone(spec.extension);
  if (status === 'creating') db.next = { at: now + timing.dbCreate, event: 'available' };
  world.dbInstances[spec.id] = db;
  return db;
}

/** The newest time a point-in-time restore can target (undefined while there is no backup). */
export function latestRestorableTime(
  db: DbInstanceState,
  now: number,
  timing: SandboxTiming,
): number | undefined {
  if (db.backupRetentionPeriod <= 0 || db.status === 'creating') return undefined;
  const available = db.history.find((h) => h.state === 'available')?.at ?? db.createdAt;
  return Math.max(available, db.createdAt, now - timing.restorableLag);
}

export function dbInstanceView(
  world: World,
  db: DbInstanceState,
  now: number,
  timing: SandboxTiming,
): DBInstance {
  const latest = latestRestorableTime(db, now, timing);
  const view: DBInstance = {
    DBInstanceIdentifier: db.id,
    DBInstanceArn: db.arn,
    DbiResourceId: db.resourceId,
    DBInstanceClass: db.instanceClass,
    Engine: db.engine,
    EngineVersion: db.engineVersion,
    DBInstanceStatus: db.status,
    MasterUsername: db.masterUsername,
    AllocatedStorage: db.allocatedStorage,
    StorageType: db.storageType,
    InstanceCreateTime: db.status === 'creating' ? undefined : toDate(db.createdAt),
    PreferredBackupWindow: '03:00-03:30',
    BackupRetentionPeriod: db.backupRetentionPeriod,
    DBSecurityGroups: [],
    VpcSecurityGroups: db.vpcSecurityGroupIds.map((id) => ({ VpcSecurityGroupId: id, Status: 'active' })),
    DBParameterGroups: [{ DBParameterGroupName: `default.${db.engine}8.0`, ParameterApplyStatus: 'in-sync' }],
    AvailabilityZone: db.availabilityZone,
    DBSubnetGroup: {
      DBSubnetGroupName: db.subnetGroup.name,
      DBSubnetGroupDescription: db.subnetGroup.name,
      VpcId: db.subnetGroup.vpcId,
      SubnetGroupStatus: 'Complete',
      Subnets: db.subnetGroup.subnetIds.map((id) => ({
        SubnetIdentifier: id,
        SubnetAvailabilityZone: { Name: world.subnets[id]?.availabilityZone ?? db.availabilityZone },
        SubnetStatus: 'Active',
      })),
    },
    PreferredMaintenanceWindow: 'sun:04:00-sun:04:30',
    PendingModifiedValues: {},
    MultiAZ: db.multiAZ,
    AutoMinorVersionUpgrade: true,
    ReadReplicaDBInstanceIdentifiers: [],
    LicenseModel: 'general-public-license',
    PubliclyAccessible: db.publiclyAccessible,
    StorageEncrypted: db.storageEncrypted,
    CopyTagsToSnapshot: false,
    IAMDatabaseAuthenticationEnabled: db.iamDatabaseAuthenticationEnabled,
    DeletionProtection: db.deletionProtection,
    TagList: db.tags.map((t) => ({ ...t })),
  };
  // An endpoint appears once the instance has been created.
  if (db.status !== 'creating') {
    view.Endpoint = {
      Address: db.endpoint.address,
      Port: db.endpoint.port,
      HostedZoneId: db.endpoint.hostedZoneId,
    };
  }
  if (latest !== undefined) view.LatestRestorableTime = toDate(latest);
  if (db.iops !== undefined) view.Iops = db.iops;
  if (db.storageThroughput !== undefined) view.StorageThroughput = db.storageThroughput;
  if (db.dbName !== undefined) view.DBName = db.dbName;
  return view;
}

/** A DB instance by identifier or ARN. */
export function findDbInstance(world: World, idOrArn: string | undefined): DbInstanceState {
  const id = idOrArn?.startsWith('arn:') ? idOrArn.split(':db:')[1] : idOrArn;
  const db = id ? world.dbInstances[id] : undefined;
  if (!db) throw rdsError('DBInstanceNotFound', `DBInstance ${id ?? ''} not found.`, 404);
  return db;
}

function describeDBInstances(
  ctx: CallContext,
  input: DescribeDBInstancesCommandInput,
): Out<DescribeDBInstancesCommandOutput> {
  const { world, now, timing } = ctx;
  let dbs = Object.values(world.dbInstances).sort((a, b) => a.id.localeCompare(b.id));
  if (input.DBInstanceIdentifier) dbs = [findDbInstance(world, input.DBInstanceIdentifier)];
  dbs = applyFilters(
    dbs,
    input.Filters,
    (name, db) => {
      switch (name) {
        case 'db-instance-id':
          return [db.id, db.arn];
        case 'dbi-resource-id':
          return [db.resourceId];
        case 'engine':
          return [db.engine];
        case 'db-cluster-id':
          return [];
        default:
          return undefined;
      }
    },
    (name) => rdsError('InvalidParameterValue', `Unrecognized filter name: ${name}.`),
  );
  const max = input.MaxRecords ?? 100;
  if (!Number.isInteger(max) || max < 20 || max > 100) {
    throw rdsError(
      'InvalidParameterValue',
      `Invalid value ${max} for MaxRecords. Must be between 20 and 100`,
    );
  }
  const { page, next } = paginate(dbs, input.Marker, max, () =>
    rdsError('InvalidParameterValue', 'Invalid marker'),
  );
  return { DBInstances: page.map((db) => dbInstanceView(world, db, now, timing)), Marker: next };
}

function deleteDBInstance(
  ctx: CallContext,
  input: DeleteDBInstanceCommandInput,
): Out<DeleteDBInstanceCommandOutput> {
  const { world, now, timing } = ctx;
  const db = findDbInstance(world, input.DBInstanceIdentifier);
  if (db.status === 'deleting')
    throw rdsError('InvalidDBInstanceState', `Instance ${db.id} is already being deleted.`);
  if (db.deletionProtection) {
    throw rdsError(
      'InvalidParameterCombination',
      'Cannot delete protected DB Instance, please disable deletion protection and try again.',
    );
  }
  if (!input.SkipFinalSnapshot) {
    const snap = input.FinalDBSnapshotIdentifier;
    if (!snap) {
      throw rdsError(
        'InvalidParameterCombination',
        'FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.',
      );
    }
    if (db.status === 'creating') {
      throw rdsError(
        'InvalidDBInstanceState',
        `Instance ${db.id} is currently creating - a final snapshot cannot be taken.`,
      );
    }
    if (world.dbSnapshots[snap]) {
      throw rdsError(
        'DBSnapshotAlreadyExists',
        `Cannot create the snapshot because a snapshot with the identifier ${snap} already exists.`,
      );
    }
    world.dbSnapshots[snap] = { id: snap, dbInstanceId: db.id, createdAt: now, engine: db.engine };
  } else if (input.FinalDBSnapshotIdentifier) {
    throw rdsError(
      'InvalidParameterCombination',
      'FinalDBSnapshotIdentifier can not be specified when deleting a DB instance with SkipFinalSnapshot.',
    );
  }
  db.status = 'deleting';
  db.history.push({ state: 'deleting', at: now });
  db.next = { at: now + timing.dbDelete, event: 'deleted' };
  return { DBInstance: dbInstanceView(world, db, now, timing) };
}

function addTagsToResource(ctx: CallContext, input: AddTagsToResourceCommandInput): Out<object> {
  const db = findDbInstance(ctx.world, input.ResourceName);
  for (const t of input.Tags ?? []) {
    if (!t.Key) continue;
    const at = db.tags.findIndex((x) => x.Key === t.Key);
    const tag = { Key: t.Key, Value: t.Value ?? '' };
    if (at >= 0) db.tags[at] = tag;
    else db.tags.push(tag);
  }
  return {};
}

function removeTagsFromResource(ctx: CallContext, input: RemoveTagsFromResourceCommandInput): Out<object> {
  const db = findDbInstance(ctx.world, input.ResourceName);
  const keys = new Set(input.TagKeys ?? []);
  db.tags = db.tags.filter((t) => !keys.has(t.Key));
  return {};
}

function listTagsForResource(
  ctx: CallContext,
  input: ListTagsForResourceCommandInput,
): Out<ListTagsForResourceCommandOutput> {
  const db = findDbInstance(ctx.world, input.ResourceName);
  return { TagList: db.tags.map((t) => ({ ...t })) };
}

export const rdsHandlers: HandlerTable = {
  DescribeDBInstances: describeDBInstances,
  DeleteDBInstance: deleteDBInstance,
  AddTagsToResource: addTagsToResource,
  RemoveTagsFromResource: removeTagsFromResource,
  ListTagsForResource: listTagsForResource,
};
