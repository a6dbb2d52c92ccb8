/** Auto Scaling: groups, their instances' lifecycle, standby, processes, tags, activities. */
import type {
  Activity,
  AutoScalingGroup,
  AutoScalingInstanceDetails,
  CreateAutoScalingGroupCommandInput,
  CreateOrUpdateTagsCommandInput,
  DeleteAutoScalingGroupCommandInput,
  DeleteTagsCommandInput,
  DescribeAutoScalingGroupsCommandInput,
  DescribeAutoScalingGroupsCommandOutput,
  DescribeAutoScalingInstancesCommandInput,
  DescribeAutoScalingInstancesCommandOutput,
  DescribeScalingActivitiesCommandInput,
  DescribeScalingActivitiesCommandOutput,
  DescribeTagsCommandInput,
  DescribeTagsCommandOutput,
  EnterStandbyCommandInput,
  EnterStandbyCommandOutput,
  ExitStandbyCommandInput,
  ExitStandbyCommandOutput,
  Instance,
  ResumeProcessesCommandInput,
  SetDesiredCapacityCommandInput,
  SetInstanceHealthCommandInput,
  SuspendProcessesCommandInput,
  TagDescription,
  TerminateInstanceInAutoScalingGroupCommandInput,
  TerminateInstanceInAutoScalingGroupCommandOutput,
  UpdateAutoScalingGroupCommandInput,
} from '@aws-sdk/client-auto-scaling';
import type { CallContext, HandlerTable, Out } from './context.js';
import { asgError } from './errors.js';
import {
  deregisterTarget,
  groupMembers,
  isSuspended,
  recordActivity,
  SCALING_PROCESSES,
  startTermination,
} from './lifecycle.js';
import { applyFilters, isoSeconds, paginate, tagFilterValues, toDate } from './util.js';
import type {
  ActivityState,
  AsgTag,
  GroupState,
  InstanceState,
  LaunchTemplateState,
  World,
} from './world.js';
import { nextUuid } from './world.js';

const DELETING = 'Delete in progress';

function notFound(name: string | undefined): Error {
  return asgError(
    'ValidationError',
    `AutoScalingGroup name not found - AutoScalingGroup '${name ?? 'null'}' not found`,
  );
}

/** A group that exists and may be modified. */
function mutableGroup(world: World, name: string | undefined): GroupState {
  const group = name ? world.groups[name] : undefined;
  if (!group) throw notFound(name);
  if (group.status === DELETING) {
    throw asgError('ValidationError', 'The AutoScaling group may not be modified while it is pending delete');
  }
  return group;
}

function pageSize(max: number | undefined, dflt: number, limit: number): number {
  if (max === undefined) return dflt;
  if (!Number.isInteger(max) || max < 1 || max > limit) {
    throw asgError('ValidationError', `MaxRecords must be between 1 and ${limit}`);
  }
  return max;
}

const invalidToken = () => asgError('InvalidNextToken', 'The token provided is not valid');

export function groupArn(world: World, name: string): string {
  const id = nextUuid(world);
  return `arn:aws:autoscaling:${world.region}:${world.accountId}:autoScalingGroup:${id}:autoScalingGroupName/${name}`;
}

/** Finds a launch template by id or name the way Auto Scaling reports a bad one. */
function findTemplate(
  world: World,
  spec: { LaunchTemplateId?: string; LaunchTemplateName?: string },
): LaunchTemplateState {
  if (spec.LaunchTemplateId && spec.LaunchTemplateName) {
    throw asgError(
      'ValidationError',
      'Valid requests must contain either launchTemplateId or LaunchTemplateName',
    );
  }
  const lt = spec.LaunchTemplateId
    ? world.launchTemplates[spec.LaunchTemplateId]
    : Object.values(world.launchTemplates).find((t) => t.name === spec.LaunchTemplateName);
  if (!lt) {
    const which = spec.LaunchTemplateId
      ? `template ID ${spec.LaunchTemplateId}`
      : `template name ${spec.LaunchTemplateName ?? ''}`;
    throw asgError(
      'ValidationError',
      `You must use a valid fully-formed launch template. The specified launch template, with ${which}, does not exist.`,
    );
  }
  return lt;
}

function checkVersion(lt: LaunchTemplateState, version: string): void {
  if (version === '$Latest' || version === '$Default') return;
  const n = Number(version);
  if (!Number.isInteger(n) || !lt.versions.some((v) => v.number === n)) {
    throw asgError(
      'ValidationError',
      `You must use a valid fully-formed launch template. The specified launch template version, ${version}, does not exist.`,
    );
  }
}

function checkSizes(min: number, max: number, desired: number): void {
  if (min < 0 || max < 0 || desired < 0) throw asgError('ValidationError', 'Sizes must be non-negative');
  if (min > max) {
    throw asgError(
      'ValidationError',
      `Max bound, ${max}, must be greater than or equal to min bound, ${min}`,
    );
  }
  if (desired < min || desired > max) {
    throw asgError(
      'ValidationError',
      `Desired capacity:${desired} must be between the specified min size:${min} and max size:${max}`,
    );
  }
}

function resolveSubnets(world: World, vpcZoneIdentifier: string | undefined): string[] {
  const ids = (vpcZoneIdentifier ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  for (const id of ids) {
    if (!world.subnets[id]) throw asgError('ValidationError', `The subnet ID '${id}' does not exist`);
  }
  return ids;
}

function resolveTargetGroups(world: World, arns: string[] | undefined): string[] {
  for (const arn of arns ?? []) {
    if (!world.targetGroups[arn]) {
      throw asgError(
        'ValidationError',
        `Provided Target Groups may not be valid. Please ensure they exist and try again.`,
      );
    }
  }
  return [...(arns ?? [])];
}

// ── Views ────────────────────────────────────────────────────────────────────────────────────

function instanceView(inst: InstanceState): Instance {
  return {
    InstanceId: inst.id,
    InstanceType: inst.instanceType,
    AvailabilityZone: inst.availabilityZone,
    LifecycleState: inst.lifecycle as Instance['LifecycleState'],
    HealthStatus: inst.health,
    LaunchTemplate: inst.launchTemplate
      ? {
          LaunchTemplateId: inst.launchTemplate.id,
          LaunchTemplateName: inst.launchTemplate.name,
          Version: inst.launchTemplate.version,
        }
      : undefined,
    ProtectedFromScaleIn: inst.protectedFromScaleIn,
  };
}

function tagView(group: GroupState, t: AsgTag): TagDescription {
  return {
    ResourceId: group.name,
    ResourceType: 'auto-scaling-group',
    Key: t.Key,
    Value: t.Value,
    PropagateAtLaunch: t.PropagateAtLaunch,
  };
}

export function groupView(world: World, group: GroupState): AutoScalingGroup {
  const view: AutoScalingGroup = {
    AutoScalingGroupName: group.name,
    AutoScalingGroupARN: group.arn,
    LaunchTemplate: {
      LaunchTemplateId: group.launchTemplate.id,
      LaunchTemplateName: group.launchTemplate.name,
      Version: group.launchTemplate.version,
    },
    MinSize: group.min,
    MaxSize: group.max,
    DesiredCapacity: group.desired,
    DefaultCooldown: group.defaultCooldown,
    AvailabilityZones: [...group.availabilityZones],
    LoadBalancerNames: [],
    TargetGroupARNs: [...group.targetGroupArns],
    HealthCheckType: group.healthCheckType,
    HealthCheckGracePeriod: group.healthCheckGracePeriod,
    Instances: groupMembers(world, group.name).map(instanceView),
    CreatedTime: toDate(group.createdAt),
    SuspendedProcesses: group.suspended.map((p) => ({ ProcessName: p.name, SuspensionReason: p.reason })),
    VPCZoneIdentifier: group.subnets.join(','),
    EnabledMetrics: [],
    Tags: group.tags.map((t) => tagView(group, t)),
    TerminationPolicies: [...group.terminationPolicies],
    NewInstancesProtectedFromScaleIn: group.newInstancesProtectedFromScaleIn,
    ServiceLinkedRoleARN: `arn:aws:iam::${world.accountId}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`,
    CapacityRebalance: false,
    TrafficSources: group.targetGroupArns.map((arn) => ({ Identifier: arn, Type: 'elbv2' })),
  };
  if (group.status) view.Status = group.status;
  return view;
}

function activityView(world: World, a: ActivityState, now: number): Activity {
  const done = now >= a.endsAt;
  const group = world.groups[a.group];
  return {
    ActivityId: a.id,
    AutoScalingGroupName: a.group,
    AutoScalingGroupARN: group?.arn,
    Description: a.description,
    Cause: a.cause,
    StartTime: toDate(a.startedAt),
    EndTime: done ? toDate(a.endsAt) : undefined,
    StatusCode: done ? a.status : 'InProgress',
    StatusMessage: a.statusMessage,
    Progress: done ? 100 : 50,
    Details: a.details,
  };
}

// ── Groups ───────────────────────────────────────────────────────────────────────────────────

function createAutoScalingGroup(ctx: CallContext, input: CreateAutoScalingGroupCommandInput): Out<object> {
  const { world, now } = ctx;
  const name = input.AutoScalingGroupName;
  if (!name) throw asgError('ValidationError', 'AutoScalingGroupName is required');
  if (world.groups[name]) {
    throw asgError(
      'AlreadyExists',
      `AutoScalingGroup by this name already exists - A group with the name ${name} already exists`,
    );
  }
  if (input.LaunchConfigurationName || input.MixedInstancesPolicy || input.InstanceId) {
    throw asgError(
      'UnsupportedOperation',
      'The Capstan AWS sandbox only emulates groups created from a LaunchTemplate',
    );
  }
  if (!input.LaunchTemplate) {
    throw asgError(
      'ValidationError',
      'Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter.',
    );
  }
  const lt = findTemplate(world, input.LaunchTemplate);
  const version = input.LaunchTemplate.Version ?? '$Default';
  checkVersion(lt, version);
  if (input.MinSize === undefined || input.MaxSize === undefined) {
    throw asgError('ValidationError', 'MinSize and MaxSize are required');
  }
  const desired = input.DesiredCapacity ?? input.MinSize;
  checkSizes(input.MinSize, input.MaxSize, desired);
  const subnets = resolveSubnets(world, input.VPCZoneIdentifier);
  const zones =
    subnets.length > 0
      ? [...new Set(subnets.map((id) => world.subnets[id]?.availabilityZone ?? ''))]
      : [...(input.AvailabilityZones ?? [])];
  if (zones.length === 0)
    throw asgError('ValidationError', 'At least one Availability Zone or VPC Subnet is required.');
  const targetGroupArns = resolveTargetGroups(world, input.TargetGroupARNs);
  const healthCheckType = input.HealthCheckType ?? 'EC2';
  if (!['EC2', 'ELB', 'VPC_LATTICE', 'EBS'].some((t) => healthCheckType.split(',').includes(t))) {
    throw asgError('ValidationError', `Health check type ${healthCheckType} is not valid`);
  }
  const tags: AsgTag[] = [];
  for (const t of input.Tags ?? []) {
    if (!t.Key) throw asgError('ValidationError', 'Tag key is required');
    const existing = tags.findIndex((x) => x.Key === t.Key);
    const tag = { Key: t.Key, Value: t.Value ?? '', PropagateAtLaunch: t.PropagateAtLaunch ?? false };
    if (existing >= 0) tags[existing] = tag;
    else tags.push(tag);
  }
  checkTagLimit(name, tags.length);
  world.groups[name] = {
    name,
    arn: groupArn(world, name),
    createdAt: now,
    launchTemplate: { id: lt.id, name: lt.name, version },
    min: input.MinSize,
    max: input.MaxSize,
    desired,
    defaultCooldown: input.DefaultCooldown ?? 300,
    subnets,
    availabilityZones: zones,
    targetGroupArns,
    tags,
    healthCheckType,
    healthCheckGracePeriod: input.HealthCheckGracePeriod ?? 0,
    terminationPolicies: input.TerminationPolicies ?? ['Default'],
    newInstancesProtectedFromScaleIn: input.NewInstancesProtectedFromScaleIn ?? false,
    suspended: [],
    history: [{ state: 'Created', at: now }],
  };
  return {};
}

function describeAutoScalingGroups(
  ctx: CallContext,
  input: DescribeAutoScalingGroupsCommandInput,
): Out<DescribeAutoScalingGroupsCommandOutput> {
  const { world } = ctx;
  let groups = Object.values(world.groups).sort((a, b) => a.name.localeCompare(b.name));
  if (input.AutoScalingGroupNames && input.AutoScalingGroupNames.length > 0) {
    const names = new Set(input.AutoScalingGroupNames);
    groups = groups.filter((g) => names.has(g.name));
  }
  groups = applyFilters(
    groups,
    input.Filters,
    (name, g) => tagFilterValues(name, g.tags),
    (name) => asgError('ValidationError', `Filter name ${name} is not valid`),
  );
  const { page, next } = paginate(groups, input.NextToken, pageSize(input.MaxRecords, 50, 100), invalidToken);
  return { AutoScalingGroups: page.map((g) => groupView(world, g)), NextToken: next };
}

function updateAutoScalingGroup(ctx: CallContext, input: UpdateAutoScalingGroupCommandInput): Out<object> {
  const { world } = ctx;
  const group = mutableGroup(world, input.AutoScalingGroupName);
  const min = input.MinSize ?? group.min;
  const max = input.MaxSize ?? group.max;
  let desired = input.DesiredCapacity ?? group.desired;
  if (input.DesiredCapacity === undefined) {
    // AWS moves the desired capacity into a new [min, max] when only the bounds change.
    if (input.MinSize !== undefined && desired < min) desired = min;
    if (input.MaxSize !== undefined && desired > max) desired = max;
  }
  checkSizes(min, max, desired);
  let launchTemplate = group.launchTemplate;
  if (input.LaunchTemplate) {
    const lt = findTemplate(world, input.LaunchTemplate);
    const version = input.LaunchTemplate.Version ?? '$Default';
    checkVersion(lt, version);
    launchTemplate = { id: lt.id, name: lt.name, version };
  }
  const subnets =
    input.VPCZoneIdentifier !== undefined ? resolveSubnets(world, input.VPCZoneIdentifier) : group.subnets;
  group.min = min;
  group.max = max;
  group.desired = desired;
  group.launchTemplate = launchTemplate;
  if (input.VPCZoneIdentifier !== undefined) {
    group.subnets = subnets;
    group.availabilityZones = [...new Set(subnets.map((id) => world.subnets[id]?.availabilityZone ?? ''))];
  }
  if (input.HealthCheckType !== undefined) group.healthCheckType = input.HealthCheckType;
  if (input.HealthCheckGracePeriod !== undefined) group.healthCheckGracePeriod = input.HealthCheckGracePeriod;
  if (input.DefaultCooldown !== undefined) group.defaultCooldown = input.DefaultCooldown;
  if (input.TerminationPolicies !== undefined) group.terminationPolicies = [...input.TerminationPolicies];
  if (input.NewInstancesProtectedFromScaleIn !== undefined) {
    group.newInstancesProtectedFromScaleIn = input.NewInstancesProtectedFromScaleIn;
  }
  return {};
}

function setDesiredCapacity(ctx: CallContext, input: SetDesiredCapacityCommandInput): Out<object> {
  const group = mutableGroup(ctx.world, input.AutoScalingGroupName);
  const d = input.DesiredCapacity;
  if (d === undefined || !Number.isInteger(d))
    throw asgError('ValidationError', 'DesiredCapacity is required');
  if (d < group.min) {
    throw asgError(
      'ValidationError',
      `New SetDesiredCapacity value ${d} is below min value ${group.min} for the AutoScalingGroup.`,
    );
  }
  if (d > group.max) {
    throw asgError(
      'ValidationError',
      `New SetDesiredCapacity value ${d} is above max value ${group.max} for the AutoScalingGroup.`,
    );
  }
  group.desired = d;
  return {};
}

function deleteAutoScalingGroup(ctx: CallContext, input: DeleteAutoScalingGroupCommandInput): Out<object> {
  const { world, now, timing } = ctx;
  const group = mutableGroup(world, input.AutoScalingGroupName);
  const members = groupMembers(world, group.name);
  if (!input.ForceDelete) {
    if (members.some((i) => i.lifecycle !== 'Terminating')) {
      throw asgError(
        'ResourceInUse',
        'You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group.',
      );
    }
    if (members.length > 0) {
      throw asgError(
        'ScalingActivityInProgress',
        'You cannot delete an AutoScalingGroup while there are scaling activities in progress for that group.',
      );
    }
  }
  group.status = DELETING;
  group.history.push({ state: DELETING, at: now });
  group.desired = 0;
  group.min = 0;
  for (const inst of members) {
    startTermination(world, inst, now, timing, `At ${isoSeconds(now)} the group was deleted.`);
  }
  const latest = Math.max(now, ...members.map((m) => m.next?.at ?? now));
  group.next = { at: Math.max(now + timing.asgDelete, latest), event: 'deleted' };
  return {};
}

// ── Instances ────────────────────────────────────────────────────────────────────────────────

function member(world: World, group: GroupState, id: string): InstanceState {
  const inst = world.instances[id];
  if (!inst || inst.group !== group.name || inst.lifecycle === undefined || inst.lifecycle === 'Terminated') {
    throw asgError('ValidationError', `The instance ${id} is not part of Auto Scaling group ${group.name}.`);
  }
  return inst;
}

function instanceIds(ids: string[] | undefined): string[] {
  if (!ids || ids.length === 0)
    throw asgError('ValidationError', 'InstanceIds must contain at least one instance ID');
  if (ids.length > 20) throw asgError('ValidationError', 'InstanceIds may contain at most 20 instance IDs');
  return ids;
}

function enterStandby(ctx: CallContext, input: EnterStandbyCommandInput): Out<EnterStandbyCommandOutput> {
  const { world, now, timing } = ctx;
  const group = mutableGroup(world, input.AutoScalingGroupName);
  if (input.ShouldDecrementDesiredCapacity === undefined) {
    throw asgError('ValidationError', 'ShouldDecrementDesiredCapacity is required');
  }
  const insts = instanceIds(input.InstanceIds).map((id) => member(world, group, id));
  for (const inst of insts) {
    if (inst.lifecycle !== 'InService')
      throw asgError('ValidationError', `The instance ${inst.id} is not in InService.`);
  }
  if (input.ShouldDecrementDesiredCapacity && group.desired - insts.length < group.min) {
    throw asgError(
      'ValidationError',
      `AutoScalingGroup ${group.name} has min-size=${group.min}, max-size=${group.max}, and desired-size=${group.desired}. To place into standby ${insts.length} instances, please update the AutoScalingGroup sizes appropriately.`,
    );
  }
  const from = group.desired;
  if (input.ShouldDecrementDesiredCapacity) group.desired -= insts.length;
  const activities: Activity[] = [];
  for (const inst of insts) {
    for (const arn of group.targetGroupArns) {
      const tg = world.targetGroups[arn];
      if (tg) deregisterTarget(tg, inst.id, undefined, now, timing);
    }
    inst.lifecycle = 'EnteringStandby';
    inst.history.push({ state: 'EnteringStandby', at: now });
    inst.next = { at: now + timing.standby, event: 'standby' };
    const cause = input.ShouldDecrementDesiredCapacity
      ? `At ${isoSeconds(now)} instance ${inst.id} was moved to standby in response to a user request, shrinking the capacity from ${from} to ${group.desired}.`
      : `At ${isoSeconds(now)} instance ${inst.id} was moved to standby in response to a user request.`;
    const a = recordActivity(world, {
      group: group.name,
      description: `Moving EC2 instance to Standby: ${inst.id}`,
      cause,
      startedAt: now,
      endsAt: now + timing.standby,
      details: JSON.stringify({ 'Availability Zone': inst.availabilityZone }),
    });
    activities.push(activityView(world, a, now));
  }
  return { Activities: activities };
}

function exitStandby(ctx: CallContext, input: ExitStandbyCommandInput): Out<ExitStandbyCommandOutput> {
  const { world, now, timing } = ctx;
  const group = mutableGroup(world, input.AutoScalingGroupName);
  const insts = instanceIds(input.InstanceIds).map((id) => member(world, group, id));
  for (const inst of insts) {
    if (inst.lifecycle !== 'Standby')
      throw asgError('ValidationError', `The instance ${inst.id} is not in Standby.`);
  }
  if (group.desired + insts.length > group.max) {
    throw asgError(
      'ValidationError',
      `AutoScalingGroup ${group.name} has min-size=${group.min}, max-size=${group.max}, and desired-size=${group.desired}. To bring ${insts.length} instances out of standby, please update the AutoScalingGroup sizes appropriately.`,
    );
  }
  const from = group.desired;
  group.desired += insts.length;
  const activities: Activity[] = [];
  for (const inst of insts) {
    inst.lifecycle = 'Pending';
    inst.history.push({ state: 'Pending', at: now });
    inst.next = { at: now + timing.exitStandby, event: 'in-service' };
    const a = recordActivity(world, {
      group: group.name,
      description: `Moving EC2 instance out of Standby: ${inst.id}`,
      cause: `At ${isoSeconds(now)} instance ${inst.id} was moved out of standby in response to a user request, increasing the capacity from ${from} to ${group.desired}.`,
      startedAt: now,
      endsAt: now + timing.exitStandby,
      details: JSON.stringify({ 'Availability Zone': inst.availabilityZone }),
    });
    activities.push(activityView(world, a, now));
  }
  return { Activities: activities };
}

function terminateInstanceInAutoScalingGroup(
  ctx: CallContext,
  input: TerminateInstanceInAutoScalingGroupCommandInput,
): Out<TerminateInstanceInAutoScalingGroupCommandOutput> {
  const { world, now, timing } = ctx;
  if (input.ShouldDecrementDesiredCapacity === undefined) {
    throw asgError('ValidationError', 'ShouldDecrementDesiredCapacity is required');
  }
  if (input.InstanceIds !== undefined) {
    throw asgError('UnsupportedOperation', 'The Capstan AWS sandbox takes a single InstanceId here');
  }
  const id = input.InstanceId ?? '';
  const inst = world.instances[id];
  const group = inst?.group ? world.groups[inst.group] : undefined;
  if (!inst || !group || inst.lifecycle === undefined || inst.lifecycle === 'Terminated') {
    throw asgError(
      'ValidationError',
      `Instance Id not found - No managed instance found for instance ID: ${id}`,
    );
  }
  if (group.status === DELETING) {
    throw asgError('ValidationError', 'The AutoScaling group may not be modified while it is pending delete');
  }
  const counts = inst.lifecycle === 'Pending' || inst.lifecycle === 'InService';
  if (input.ShouldDecrementDesiredCapacity && counts) {
    if (group.desired <= group.min) {
      throw asgError(
        'ValidationError',
        `Currently, desiredSize equals minSize (${group.min}). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.`,
      );
    }
    group.desired -= 1;
  }
  startTermination(
    world,
    inst,
    now,
    timing,
    `At ${isoSeconds(now)} instance ${id} was taken out of service in response to a user request.`,
  );
  const a = [...world.activities].reverse().find((x) => x.group === group.name);
  return { Activity: a ? activityView(world, a, now) : undefined };
}

function setInstanceHealth(ctx: CallContext, input: SetInstanceHealthCommandInput): Out<object> {
  const { world } = ctx;
  const inst = world.instances[input.InstanceId ?? ''];
  if (!inst || inst.lifecycle === undefined || inst.lifecycle === 'Terminated') {
    throw asgError(
      'ValidationError',
      `Instance Id not found - No managed instance found for instance ID: ${input.InstanceId}`,
    );
  }
  if (input.HealthStatus !== 'Healthy' && input.HealthStatus !== 'Unhealthy') {
    throw asgError('ValidationError', `Valid values for HealthStatus are Healthy and Unhealthy`);
  }
  inst.health = input.HealthStatus;
  return {};
}

function describeAutoScalingInstances(
  ctx: CallContext,
  input: DescribeAutoScalingInstancesCommandInput,
): Out<DescribeAutoScalingInstancesCommandOutput> {
  const { world } = ctx;
  let insts = Object.values(world.instances)
    .filter((i) => i.group && world.groups[i.group] && i.lifecycle && i.lifecycle !== 'Terminated')
    .sort((a, b) => a.id.localeCompare(b.id));
  if (input.InstanceIds && input.InstanceIds.length > 0) {
    const ids = new Set(input.InstanceIds);
    insts = insts.filter((i) => ids.has(i.id));
  }
  const { page, next } = paginate(insts, input.NextToken, pageSize(input.MaxRecords, 50, 50), invalidToken);
  return {
    AutoScalingInstances: page.map(
      (i): AutoScalingInstanceDetails => ({
        InstanceId: i.id,
        InstanceType: i.instanceType,
        AutoScalingGroupName: i.group,
        AvailabilityZone: i.availabilityZone,
        LifecycleState: i.lifecycle,
        // This API spells health in capitals (DescribeAutoScalingGroups does not).
        HealthStatus: i.health.toUpperCase(),
        LaunchTemplate: i.launchTemplate
          ? {
              LaunchTemplateId: i.launchTemplate.id,
              LaunchTemplateName: i.launchTemplate.name,
              Version: i.launchTemplate.version,
            }
          : undefined,
        ProtectedFromScaleIn: i.protectedFromScaleIn,
      }),
    ),
    NextToken: next,
  };
}

// ── Processes ────────────────────────────────────────────────────────────────────────────────

function processList(names: string[] | undefined): string[] {
  if (!names || names.length === 0) return [...SCALING_PROCESSES];
  for (const n of names) {
    if (!(SCALING_PROCESSES as readonly string[]).includes(n)) {
      throw asgError('ValidationError', `Process '${n}' is not a valid process`);
    }
  }
  return names;
}

function suspendProcesses(ctx: CallContext, input: SuspendProcessesCommandInput): Out<object> {
  const group = mutableGroup(ctx.world, input.AutoScalingGroupName);
  for (const name of processList(input.ScalingProcesses)) {
    if (isSuspended(group, name)) continue;
    group.suspended.push({ name, reason: `User suspended at ${isoSeconds(ctx.now)}` });
  }
  return {};
}

function resumeProcesses(ctx: CallContext, input: ResumeProcessesCommandInput): Out<object> {
  const group = mutableGroup(ctx.world, input.AutoScalingGroupName);
  const names = new Set(processList(input.ScalingProcesses));
  group.suspended = group.suspended.filter((p) => !names.has(p.name));
  return {};
}

// ── Tags ─────────────────────────────────────────────────────────────────────────────────────

function taggedGroup(world: World, t: { ResourceId?: string; ResourceType?: string }): GroupState {
  if (t.ResourceType !== undefined && t.ResourceType !== 'auto-scaling-group') {
    throw asgError('ValidationError', `Invalid resource type: ${t.ResourceType}`);
  }
  return mutableGroup(world, t.ResourceId);
}

/**
 * Auto Scaling allows at most 50 tags per group
 * (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-tagging.html) and answers
 * LimitExceeded beyond it (https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_CreateOrUpdateTags.html).
 */
export const MAX_TAGS_PER_GROUP = 50;

function checkTagLimit(group: string, count: number): void {
  if (count > MAX_TAGS_PER_GROUP) {
    throw asgError(
      'LimitExceeded',
      `The maximum number of tags per Auto Scaling group (${MAX_TAGS_PER_GROUP}) would be exceeded: ${group} would have ${count}.`,
    );
  }
}

function createOrUpdateTags(ctx: CallContext, input: CreateOrUpdateTagsCommandInput): Out<object> {
  const tags = input.Tags ?? [];
  // Validate all before changing any.
  const targets = tags.map((t) => {
    if (!t.Key) throw asgError('ValidationError', 'Tag key is required');
    return taggedGroup(ctx.world, t);
  });
  for (const group of new Set(targets)) {
    const keys = new Set(group.tags.map((x) => x.Key));
    tags.forEach((t, i) => {
      if (targets[i] === group) keys.add(t.Key as string);
    });
    checkTagLimit(group.name, keys.size);
  }
  tags.forEach((t, i) => {
    const group = targets[i] as GroupState;
    const tag = {
      Key: t.Key as string,
      Value: t.Value ?? '',
      PropagateAtLaunch: t.PropagateAtLaunch ?? false,
    };
    const at = group.tags.findIndex((x) => x.Key === tag.Key);
    if (at >= 0) group.tags[at] = tag;
    else group.tags.push(tag);
  });
  return {};
}

function deleteTags(ctx: CallContext, input: DeleteTagsCommandInput): Out<object> {
  const tags = input.Tags ?? [];
  const targets = tags.map((t) => taggedGroup(ctx.world, t));
  tags.forEach((t, i) => {
    const group = targets[i] as GroupState;
    group.tags = group.tags.filter((x) => x.Key !== t.Key || (t.Value !== undefined && t.Value !== x.Value));
  });
  return {};
}

function describeTags(ctx: CallContext, input: DescribeTagsCommandInput): Out<DescribeTagsCommandOutput> {
  const { world } = ctx;
  const all = Object.values(world.groups)
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((g) => g.tags.map((t) => tagView(g, t)));
  const filtered = applyFilters(
    all,
    input.Filters,
    (name, t) => {
      switch (name) {
        case 'auto-scaling-group':
          return [t.ResourceId ?? ''];
        case 'key':
          return [t.Key ?? ''];
        case 'value':
          return [t.Value ?? ''];
        case 'propagate-at-launch':
          return [String(t.PropagateAtLaunch)];
        default:
          return undefined;
      }
    },
    (name) => asgError('ValidationError', `Filter name ${name} is not valid`),
  );
  const { page, next } = paginate(
    filtered,
    input.NextToken,
    pageSize(input.MaxRecords, 50, 100),
    invalidToken,
  );
  return { Tags: page, NextToken: next };
}

function describeScalingActivities(
  ctx: CallContext,
  input: DescribeScalingActivitiesCommandInput,
): Out<DescribeScalingActivitiesCommandOutput> {
  const { world, now } = ctx;
  let activities = [...world.activities].reverse();
  if (input.AutoScalingGroupName)
    activities = activities.filter((a) => a.group === input.AutoScalingGroupName);
  if (input.ActivityIds && input.ActivityIds.length > 0) {
    const ids = new Set(input.ActivityIds);
    activities = activities.filter((a) => ids.has(a.id));
  }
  const { page, next } = paginate(
    activities,
    input.NextToken,
    pageSize(input.MaxRecords, 100, 100),
    invalidToken,
  );
  return { Activities: page.map((a) => activityView(world, a, now)), NextToken: next };
}

export const autoScalingHandlers: HandlerTable = {
  CreateAutoScalingGroup: createAutoScalingGroup,
  DescribeAutoScalingGroups: describeAutoScalingGroups,
  UpdateAutoScalingGroup: updateAutoScalingGroup,
  SetDesiredCapacity: setDesiredCapacity,
  DeleteAutoScalingGroup: deleteAutoScalingGroup,
  EnterStandby: enterStandby,
  ExitStandby: exitStandby,
  TerminateInstanceInAutoScalingGroup: terminateInstanceInAutoScalingGroup,
  SetInstanceHealth: setInstanceHealth,
  DescribeAutoScalingInstances: describeAutoScalingInstances,
  SuspendProcesses: suspendProcesses,
  ResumeProcesses: resumeProcesses,
  CreateOrUpdateTags: createOrUpdateTags,
  DeleteTags: deleteTags,
  DescribeTags: describeTags,
  DescribeScalingActivities: describeScalingActivities,
};
