/** RDS, thinly: DB instances and point-in-time restores. */
import {
  type DBInstance,
  DBInstanceNotFoundFault,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  paginateDescribeDBInstances,
  type RDSClient,
  RestoreDBInstanceToPointInTimeCommand,
} from '@aws-sdk/client-rds';

/** A DB instance, as Capstan sees it. */
export interface DbInstance {
  id: string;
  engine: string;
  status: string;
  instanceClass: string;
  endpoint?: { address: string; port: number };
  subnetGroup?: string;
  securityGroups: string[];
  createdAt?: Date;
  latestRestorableTime?: Date;
  /** Storage: `gp2`, `gp3`, `io1`, `io2`, `standard`… */
  storageType?: string;
  allocatedGiB?: number;
  /** Provisioned IOPS (io1/io2, and gp3 when set above its baseline). */
  iops?: number;
  /** Provisioned storage throughput in MiB/s (gp3). */
  throughputMiBps?: number;
  /** The instance this one replicates from, when it is a read replica. */
  replicaOf?: string;
  tags: Record<string, string>;
}

/** The instance `id`, or undefined when RDS says it does not exist. */
export async function describeDbInstance(client: RDSClient, id: string): Promise<DbInstance | undefined> {
  try {
    const out = await client.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
    const db = out.DBInstances?.[0];
    return db ? toDbInstance(db) : undefined;
  } catch (error) {
    if (error instanceof DBInstanceNotFoundFault || (error as Error).name === 'DBInstanceNotFound')
      return undefined;
    throw error;
  }
}

/** Every DB instance in the account and region, across all pages. */
export async function listDbInstances(client: RDSClient): Promise<DbInstance[]> {
  const found: DbInstance[] = [];
  for await (const page of paginateDescribeDBInstances({ client, pageSize: 100 }, {})) {
    for (const db of page.DBInstances ?? []) found.push(toDbInstance(db));
  }
  return found;
}

function toDbInstance(db: DBInstance): DbInstance {
  return {
    id: db.DBInstanceIdentifier ?? '',
    engine: db.Engine ?? '',
    status: db.DBInstanceStatus ?? 'unknown',
    instanceClass: db.DBInstanceClass ?? '',
    ...(db.Endpoint?.Address && db.Endpoint.Port
      ? { endpoint: { address: db.Endpoint.Address, port: db.Endpoint.Port } }
      : {}),
    ...(db.DBSubnetGroup?.DBSubnetGroupName ? { subnetGroup: db.DBSubnetGroup.DBSubnetGroupName } : {}),
    securityGroups: (db.VpcSecurityGroups ?? []).map((g) => g.VpcSecurityGroupId ?? '').filter(Boolean),
    ...(db.InstanceCreateTime ? { createdAt: db.InstanceCreateTime } : {}),
    ...(db.LatestRestorableTime ? { latestRestorableTime: db.LatestRestorableTime } : {}),
    ...(db.StorageType ? { storageType: db.StorageType } : {}),
    ...(db.AllocatedStorage ? { allocatedGiB: db.AllocatedStorage } : {}),
    ...(db.Iops ? { iops: db.Iops } : {}),
    ...(db.StorageThroughput ? { throughputMiBps: db.StorageThroughput } : {}),
    ...(db.ReadReplicaSourceDBInstanceIdentifier
      ? { replicaOf: db.ReadReplicaSourceDBInstanceIdentifier }
      : {}),
    tags: Object.fromEntries((db.TagList ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
  };
}

/** Starts restoring `source` as it was at `at` into a new, private, single-AZ instance `target`. */
export async function restoreToPointInTime(
  client: RDSClient,
  input: {
    source: DbInstance;
    target: string;
    at: Date;
    instanceClass?: string;
    tags: Record<string, string>;
  },
): Promise<void> {
  await client.send(
    new RestoreDBInstanceToPointInTimeCommand({
      SourceDBInstanceIdentifier: input.source.id,
      TargetDBInstanceIdentifier: input.target,
      RestoreTime: input.at,
      // In the source's network and security groups, so no security-group change is needed or left behind.
      ...(input.source.subnetGroup ? { DBSubnetGroupName: input.source.subnetGroup } : {}),
      ...(input.source.securityGroups.length > 0 ? { VpcSecurityGroupIds: input.source.securityGroups } : {}),
      DBInstanceClass: input.instanceClass ?? input.source.instanceClass,
      MultiAZ: false,
      PubliclyAccessible: false,
      DeletionProtection: false,
      Tags: Object.entries(input.tags).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
}

/** Deletes an instance without a final snapshot. */
export async function deleteDbInstance(client: RDSClient, id: string): Promise<void> {
  await client.send(
    new DeleteDBInstanceCommand({
      DBInstanceIdentifier: id,
      SkipFinalSnapshot: true,
      DeleteAutomatedBackups: true,
    }),
  );
}
