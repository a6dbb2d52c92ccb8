/**
 * Real point-in-time recovery for the sandbox: DB instances backed by a real `mariadbd`.
 *
 *   const sandbox = createSandbox({ redis, prefix, extensions: [pitrExtension()] });
 *   await createBackedDbInstance(sandbox, { id: 'orders-db' });   // starts a server, base backup
 *   // … RestoreDBInstanceToPointInTime through the real RDSClient starts another server holding
 *   // the data as of RestoreTime; DeleteDBInstance stops a backed instance's server and purges it.
 *
 * A backed instance keeps `extension.pitr` (see {@link PitrState}) in the world: which server backs
 * it, and its base backup (dump path, binary-log file and position). The earliest restorable time
 * is the instance's creation (the base backup is taken just before it is added); the latest is
 * RDS's `LatestRestorableTime` (now minus `timing.restorableLag`). Sources without `extension.pitr`
 * are restored as plain world entries (no server), as before.
 *
 * Sandbox times are converted to real time with the world's clock offset (`sandbox.advance`), since
 * the binary log is written on the real clock.
 */
import type {
  DeleteDBInstanceCommandInput,
  RestoreDBInstanceToPointInTimeCommandInput,
  RestoreDBInstanceToPointInTimeCommandOutput,
} from '@aws-sdk/client-rds';
import type { CallContext, Out } from '../context.js';
import { rdsError } from '../errors.js';
import type { SandboxExtension } from '../extension.js';
import type { Sandbox } from '../index.js';
import {
  addDbInstance,
  type DbInstanceSpec,
  dbInstanceView,
  findDbInstance,
  latestRestorableTime,
  rdsHandlers,
} from '../rds.js';
import { parseTime } from '../util.js';
import { type DbInstanceState, effectiveTiming, type SandboxTiming, type World } from '../world.js';
import {
  type BackingServer,
  type BaseBackup,
  destroyServer,
  restoreInto,
  serverDir,
  startServer,
  takeBaseBackup,
} from './mariadb.js';

export { destroyServer, serverDir, serverExists } from './mariadb.js';

/** What a backed instance keeps in `extension.pitr`. */
export interface PitrState {
  /** `scripts/services` name of the server (folder `mariadb-<name>`). */
  server: string;
  /** Someone's own server (`capstan sandbox attach-db`): never stopped nor deleted by the sandbox. */
  attached?: boolean;
  /** Where it listens (default 127.0.0.1). */
  host?: string;
  port: number;
  user: string;
  /** The environment variable holding this server's password (default CAPSTAN_MYSQL_ROOT_PASSWORD's). */
  passwordEnv?: string;
  backup: Omit<BaseBackup, 'takenAt'> & { takenAt: number };
}

export interface PitrOptions {
  /** This process's timing, as given to createSandbox (the world's own timing wins). */
  timing?: Partial<SandboxTiming>;
}

/** The root password of servers started by scripts/services. */
function rootPassword(): string {
  return process.env.CAPSTAN_MYSQL_ROOT_PASSWORD ?? 'capstan';
}

export function pitrState(db: DbInstanceState): PitrState | undefined {
  const value = db.extension?.pitr as PitrState | undefined;
  return value && typeof value.server === 'string' ? value : undefined;
}

function asServer(state: PitrState): BackingServer {
  const password = state.passwordEnv ? process.env[state.passwordEnv] : rootPassword();
  if (password === undefined)
    throw rdsError('InvalidDBInstanceState', `${state.passwordEnv} is not set in this worker's environment.`);
  return {
    name: state.server,
    ...(state.host ? { host: state.host } : {}),
    port: state.port,
    user: state.user,
    password,
  };
}

/** The `scripts/services` name of the server backing a restored instance. */
export function restoredServerName(targetId: string): string {
  return `pitr-${targetId}`;
}

/** The earliest time a point-in-time restore of `db` can target (sandbox epoch ms). */
export function earliestRestorableTime(db: DbInstanceState): number {
  const pitr = pitrState(db);
  return Math.max(db.createdAt, pitr?.backup.takenAt ?? db.createdAt);
}

interface Validated {
  source: DbInstanceState;
  targetId: string;
  restoreTime: number;
}

/** Validates a restore as RDS does; pure. */
function validateRestore(
  world: World,
  now: number,
  timing: SandboxTiming,
  input: RestoreDBInstanceToPointInTimeCommandInput,
): Validated {
  if (!input.TargetDBInstanceIdentifier) {
    throw rdsError('InvalidParameterValue', 'The parameter TargetDBInstanceIdentifier must be provided.');
  }
  if (!input.SourceDBInstanceIdentifier) {
    throw rdsError(
      'InvalidParameterCombination',
      'Either SourceDBInstanceIdentifier, SourceDbiResourceId or SourceDBInstanceAutomatedBackupsArn must be specified.',
    );
  }
  const source = findDbInstance(world, input.SourceDBInstanceIdentifier);
  if (input.RestoreTime !== undefined && input.UseLatestRestorableTime) {
    throw rdsError(
      'InvalidParameterCombination',
      'Cannot specify both RestoreTime and UseLatestRestorableTime.',
    );
  }
  if (input.RestoreTime === undefined && !input.UseLatestRestorableTime) {
    throw rdsError(
      'InvalidParameterCombination',
      'Either RestoreTime or UseLatestRestorableTime must be specified.',
    );
  }
  const latest = latestRestorableTime(source, now, timing);
  if (latest === undefined) {
    throw rdsError(
      'InvalidDBInstanceState',
      source.backupRetentionPeriod <= 0
        ? `Automated backups are not enabled for DB instance ${source.id}.`
        : `DB instance ${source.id} has no restorable backup yet (status ${source.status}).`,
    );
  }
  const earliest = earliestRestorableTime(source);
  let restoreTime: number;
  if (input.UseLatestRestorableTime) restoreTime = latest;
  else {
    restoreTime = parseTime(input.RestoreTime as Date | string | number, now);
    if (!Number.isFinite(restoreTime)) {
      throw rdsError('InvalidParameterValue', 'RestoreTime is not a valid timestamp.');
    }
    if (restoreTime < earliest || restoreTime > latest) {
      throw rdsError(
        'InvalidRestoreFault',
        `Restore time must be between ${new Date(earliest).toISOString()} and ${new Date(latest).toISOString()} for DB instance ${source.id}.`,
      );
    }
  }
  if (world.dbInstances[input.TargetDBInstanceIdentifier]) {
    throw rdsError('DBInstanceAlreadyExists', 'DB instance already exists');
  }
  return { source, targetId: input.TargetDBInstanceIdentifier, restoreTime };
}

/** What `prepare` hands to `apply` for a backed source. */
interface PreparedRestore {
  restoreTime: number;
  pitr?: PitrState;
}

function tagMap(tags: RestoreDBInstanceToPointInTimeCommandInput['Tags']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) if (t.Key) out[t.Key] = t.Value ?? '';
  return out;
}

/** The sandbox extension: RDS RestoreDBInstanceToPointInTime and a DeleteDBInstance that stops servers. */
export function pitrExtension(options: PitrOptions = {}): SandboxExtension {
  const timingOf = (world: World) => effectiveTiming(world, options.timing);
  return {
    commands: {
      RDS: {
        RestoreDBInstanceToPointInTime: {
          async prepare(
            input: RestoreDBInstanceToPointInTimeCommandInput,
            env: { world: World; now: number },
          ): Promise<PreparedRestore> {
            const v = validateRestore(env.world, env.now, timingOf(env.world), input);
            const sourcePitr = pitrState(v.source);
            if (!sourcePitr) return { restoreTime: v.restoreTime };
            const name = restoredServerName(v.targetId);
            // A leftover from an earlier attempt (a retried call) goes first.
            await destroyServer(name);
            try {
              const target = await startServer(name);
              const realTime = v.restoreTime - env.world.clockOffsetMs;
              await restoreInto(target, asServer(sourcePitr), sourcePitr.backup, realTime);
              const backup = await takeBaseBackup(target);
              return {
                restoreTime: v.restoreTime,
                pitr: {
                  server: name,
                  port: target.port,
                  user: target.user,
                  backup: { ...backup, takenAt: backup.takenAt + env.world.clockOffsetMs },
                },
              };
            } catch (error) {
              await destroyServer(name).catch(() => {});
              throw error;
            }
          },
          apply(
            ctx: CallContext,
            input: RestoreDBInstanceToPointInTimeCommandInput,
            prepared: PreparedRestore,
          ): Out<RestoreDBInstanceToPointInTimeCommandOutput> {
            const { world, now, timing } = ctx;
            const v = validateRestore(world, now, timing, {
              ...input,
              // The time was fixed in prepare (UseLatestRestorableTime moves with the clock).
              RestoreTime: new Date(prepared.restoreTime),
              UseLatestRestorableTime: undefined,
            });
            const src = v.source;
            const sameGroup = !input.DBSubnetGroupName || input.DBSubnetGroupName === src.subnetGroup.name;
            const spec: DbInstanceSpec = {
              id: v.targetId,
              engine: src.engine,
              engineVersion: src.engineVersion,
              instanceClass: input.DBInstanceClass ?? src.instanceClass,
              allocatedStorage: input.AllocatedStorage ?? src.allocatedStorage,
              storageType: input.StorageType ?? src.storageType,
              masterUsername: src.masterUsername,
              subnetGroupName: input.DBSubnetGroupName ?? src.subnetGroup.name,
              vpcId: src.subnetGroup.vpcId,
              availabilityZone: input.AvailabilityZone ?? src.availabilityZone,
              vpcSecurityGroupIds: input.VpcSecurityGroupIds ?? [...src.vpcSecurityGroupIds],
              multiAZ: input.MultiAZ ?? false,
              publiclyAccessible: input.PubliclyAccessible ?? src.publiclyAccessible,
              deletionProtection: input.DeletionProtection ?? false,
              backupRetentionPeriod: src.backupRetentionPeriod,
              iamDatabaseAuthenticationEnabled:
                input.EnableIAMDatabaseAuthentication ?? src.iamDatabaseAuthenticationEnabled,
              storageEncrypted: src.storageEncrypted,
              tags: tagMap(input.Tags),
              status: 'creating',
              restoredFrom: { sourceId: src.id, restoreTime: prepared.restoreTime },
            };
            if (sameGroup) spec.subnetIds = [...src.subnetGroup.subnetIds];
            if (input.Iops ?? src.iops) spec.iops = input.Iops ?? src.iops;
            if (
              src.storageThroughput !== undefined &&
              (input.StorageType ?? src.storageType) === src.storageType
            )
              spec.storageThroughput = input.StorageThroughput ?? src.storageThroughput;
            if (src.dbName !== undefined) spec.dbName = src.dbName;
            if (prepared.pitr) {
              spec.endpoint = { address: '127.0.0.1', port: prepared.pitr.port };
              spec.extension = { pitr: prepared.pitr };
            }
            const db = addDbInstance(world, now, timing, spec);
            return { DBInstance: dbInstanceView(world, db, now, timing) };
          },
        },
        DeleteDBInstance: {
          async prepare(
            input: DeleteDBInstanceCommandInput,
            env: { world: World; now: number },
          ): Promise<void> {
            // Dry run on a copy: a refused delete leaves the server alone.
            const copy = structuredClone(env.world);
            rdsHandlers.DeleteDBInstance?.({ world: copy, now: env.now, timing: timingOf(env.world) }, input);
            const db = findDbInstance(env.world, input.DBInstanceIdentifier);
            const pitr = pitrState(db);
            // An attached server is someone's own: deleting its sandbox instance leaves it running.
            if (pitr && !pitr.attached) await destroyServer(pitr.server);
          },
          apply(ctx: CallContext, input: DeleteDBInstanceCommandInput) {
            return rdsHandlers.DeleteDBInstance?.(ctx, input);
          },
        },
      },
    },
  };
}

export interface BackedDbInstanceOptions
  extends Omit<DbInstanceSpec, 'endpoint' | 'extension' | 'status' | 'restoredFrom' | 'createdAt'> {
  /** The server to start (or reuse): default name `pitr-<id>` on a free port. */
  server?: { name?: string; port?: number };
}

/**
 * Starts a `mariadbd` (binary log on, UTC) for a new sandbox DB instance, takes its base backup,
 * and adds the instance (available) with that server as its endpoint.
 */
export async function createBackedDbInstance(
  sandbox: Sandbox,
  options: BackedDbInstanceOptions,
): Promise<{ server: BackingServer; backup: BaseBackup; dir: string }> {
  const { server: want, ...spec } = options;
  const name = want?.name ?? restoredServerName(spec.id);
  const server = await startServer(name, want?.port);
  try {
    const backup = await takeBaseBackup(server);
    const world = await sandbox.snapshot();
    const pitr: PitrState = {
      server: name,
      port: server.port,
      user: server.user,
      backup: { ...backup, takenAt: backup.takenAt + world.clockOffsetMs },
    };
    await sandbox.seed({
      dbInstances: [
        {
          ...spec,
          endpoint: { address: '127.0.0.1', port: server.port },
          extension: { pitr: { ...pitr } },
        },
      ],
    });
    const after = await sandbox.snapshot();
    const db = after.dbInstances[spec.id];
    if (!db || pitrState(db)?.server !== name) {
      throw new Error(`DB instance ${spec.id} already exists in the sandbox without this server`);
    }
    return { server, backup, dir: serverDir(name) };
  } catch (error) {
    if (!want?.name) await destroyServer(name).catch(() => {});
    throw error;
  }
}
