/** Auto Scaling, thinly: SDK calls in, domain-shaped groups out. */
import {
  type AutoScalingClient,
  type AutoScalingGroup,
  CreateAutoScalingGroupCommand,
  type CreateAutoScalingGroupCommandInput,
  CreateOrUpdateTagsCommand,
  DeleteAutoScalingGroupCommand,
  DeleteTagsCommand,
  DescribeAutoScalingGroupsCommand,
  EnterStandbyCommand,
  ExitStandbyCommand,
  paginateDescribeAutoScalingGroups,
  ResumeProcessesCommand,
  SuspendProcessesCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';

/** One instance of a group. */
export interface GroupInstance {
  id: string;
  /** Auto Scaling lifecycle state: Pending, InService, EnteringStandby, Standby, Terminating … */
  lifecycle: string;
  health: string;
  zone: string;
}

/** An Auto Scaling group, as Capstan sees it. */
export interface Group {
  name: string;
  min: number;
  max: number;
  desired: number;
  instances: GroupInstance[];
  tags: Record<string, string>;
  suspended: string[];
  targetGroups: string[];
  healthCheckType: string;
  /** Set while AWS deletes the group. */
  status?: string;
  launchTemplate?: { id?: string; name?: string; version?: string };
  createdAt?: Date;
}

function toGroup(g: AutoScalingGroup): Group {
  const lt = g.LaunchTemplate ?? g.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification;
  return {
    name: g.AutoScalingGroupName ?? '',
    min: g.MinSize ?? 0,
    max: g.MaxSize ?? 0,
    desired: g.DesiredCapacity ?? 0,
    instances: (g.Instances ?? []).map((i) => ({
      id: i.InstanceId ?? '',
      lifecycle: i.LifecycleState ?? 'Unknown',
      health: i.HealthStatus ?? 'Unknown',
      zone: i.AvailabilityZone ?? '',
    })),
    tags: Object.fromEntries((g.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
    suspended: (g.SuspendedProcesses ?? []).map((p) => p.ProcessName ?? '').filter(Boolean),
    targetGroups: g.TargetGroupARNs ?? [],
    healthCheckType: g.HealthCheckType ?? 'EC2',
    ...(g.Status ? { status: g.Status } : {}),
    ...(lt
      ? {
          launchTemplate: {
            ...(lt.LaunchTemplateId ? { id: lt.LaunchTemplateId } : {}),
            ...(lt.LaunchTemplateName ? { name: lt.LaunchTemplateName } : {}),
            ...(lt.Version ? { version: lt.Version } : {}),
          },
        }
      : {}),
    ...(g.CreatedTime ? { createdAt: g.CreatedTime } : {}),
  };
}

/** The group named `name`, if it exists. */
export async function describeGroup(client: AutoScalingClient, name: string): Promise<Group | undefined> {
  const out = await client.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
  const group = out.AutoScalingGroups?.[0];
  return group ? toGroup(group) : undefined;
}

/** Every group carrying tag `key` (with `value`, when given), across all pages. */
export async function findGroupsByTag(
  client: AutoScalingClient,
  key: string,
  value?: string,
): Promise<Group[]> {
  const filters =
    value === undefined ? [{ Name: 'tag-key', Values: [key] }] : [{ Name: `tag:${key}`, Values: [value] }];
  const groups: Group[] = [];
  for await (const page of paginateDescribeAutoScalingGroups(
    { client, pageSize: 50 },
    { Filters: filters },
  )) {
    for (const g of page.AutoScalingGroups ?? []) groups.push(toGroup(g));
  }
  return groups;
}

/** Creates a group. */
export async function createGroup(
  client: AutoScalingClient,
  input: CreateAutoScalingGroupCommandInput,
): Promise<void> {
  await client.send(new CreateAutoScalingGroupCommand(input));
}

/** Changes a group's sizes. */
export async function resizeGroup(
  client: AutoScalingClient,
  name: string,
  size: { min?: number; max?: number; desired?: number },
): Promise<void> {
  await client.send(
    new UpdateAutoScalingGroupCommand({
      AutoScalingGroupName: name,
      ...(size.min !== undefined ? { MinSize: size.min } : {}),
      ...(size.max !== undefined ? { MaxSize: size.max } : {}),
      ...(size.desired !== undefined ? { DesiredCapacity: size.desired } : {}),
    }),
  );
}

/** Deletes a group (its instances must be gone unless `force`). */
export async function deleteGroup(client: AutoScalingClient, name: string, force = false): Promise<void> {
  await client.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: name, ForceDelete: force }));
}

/** Sets tags on a group. */
export async function tagGroup(
  client: AutoScalingClient,
  name: string,
  tags: Record<string, string>,
  propagate = false,
): Promise<void> {
  await client.send(
    new CreateOrUpdateTagsCommand({
      Tags: Object.entries(tags).map(([Key, Value]) => ({
        ResourceId: name,
        ResourceType: 'auto-scaling-group',
        Key,
        Value,
        PropagateAtLaunch: propagate,
      })),
    }),
  );
}

/** EnterStandby and ExitStandby take at most this many instances per call. */
const STANDBY_BATCH = 20;

function batches(ids: string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < ids.length; i += STANDBY_BATCH) out.push(ids.slice(i, i + STANDBY_BATCH));
  return out;
}

/**
 * Moves instances to Standby: out of the load balancer, and (decrementing desired) not replaced.
 * AWS refuses (ValidationError) when the desired capacity would fall below MinSize.
 */
export async function enterStandby(client: AutoScalingClient, name: string, ids: string[]): Promise<void> {
  for (const batch of batches(ids)) {
    await client.send(
      new EnterStandbyCommand({
        AutoScalingGroupName: name,
        InstanceIds: batch,
        ShouldDecrementDesiredCapacity: true,
      }),
    );
  }
}

/**
 * Returns instances from Standby to service (incrementing desired). AWS refuses (ValidationError)
 * when the desired capacity would rise above MaxSize.
 */
export async function exitStandby(client: AutoScalingClient, name: string, ids: string[]): Promise<void> {
  for (const batch of batches(ids)) {
    await client.send(new ExitStandbyCommand({ AutoScalingGroupName: name, InstanceIds: batch }));
  }
}

/** Suspends Auto Scaling processes. */
export async function suspendProcesses(
  client: AutoScalingClient,
  name: string,
  processes: string[],
): Promise<void> {
  if (processes.length === 0) return;
  await client.send(new SuspendProcessesCommand({ AutoScalingGroupName: name, ScalingProcesses: processes }));
}

/** Resumes Auto Scaling processes. */
export async function resumeProcesses(
  client: AutoScalingClient,
  name: string,
  processes: string[],
): Promise<void> {
  if (processes.length === 0) return;
  await client.send(new ResumeProcessesCommand({ AutoScalingGroupName: name, ScalingProcesses: processes }));
}

/** Removes tags from a group. */
export async function untagGroup(client: AutoScalingClient, name: string, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  await client.send(
    new DeleteTagsCommand({
      Tags: keys.map((Key) => ({ ResourceId: name, ResourceType: 'auto-scaling-group', Key })),
    }),
  );
}
