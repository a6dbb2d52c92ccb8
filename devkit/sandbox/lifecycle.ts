/**
 * The lifecycle engine (pure: a function of world, time and timing; no I/O, no timers).
 *
 * Lazy clock: nothing runs in the background. Each call first advances the world to `now`:
 * every due transition is applied in time order, at the time it was due (not when it is
 * observed), and groups reconcile after each one, so the result depends only on the world and
 * `now` — whichever process happens to make the next call.
 */

import { hostAddress, isoSeconds } from './util.js';
import type {
  ActivityState,
  DbInstanceState,
  GroupState,
  InstanceState,
  SandboxTiming,
  TargetGroupState,
  TargetState,
  World,
} from './world.js';
import { nextId, nextUuid } from './world.js';

/** Lifecycle states that count toward a group's desired capacity. */
export const ACTIVE_STATES: ReadonlySet<string> = new Set(['Pending', 'InService']);

/** The processes SuspendProcesses / ResumeProcesses know. */
export const SCALING_PROCESSES = [
  'Launch',
  'Terminate',
  'AddToLoadBalancer',
  'AlarmNotification',
  'AZRebalance',
  'HealthCheck',
  'InstanceRefresh',
  'ReplaceUnhealthy',
  'ScheduledActions',
] as const;

const MAX_ACTIVITIES_PER_GROUP = 50;
const MAX_EVENTS_PER_ADVANCE = 100_000;

export function isSuspended(group: GroupState, process: string): boolean {
  return group.suspended.some((p) => p.name === process);
}

/** Members of a group that have not finished terminating. */
export function groupMembers(world: World, name: string): InstanceState[] {
  return Object.values(world.instances)
    .filter((i) => i.group === name && i.lifecycle !== undefined && i.lifecycle !== 'Terminated')
    .sort((a, b) => a.launchedAt - b.launchedAt || a.id.localeCompare(b.id));
}

function enter<T extends { history: { state: string; at: number }[] }>(
  resource: T,
  state: string,
  at: number,
) {
  resource.history.push({ state, at });
  // Keep documents small: a long-lived resource keeps its latest transitions.
  if (resource.history.length > 40) resource.history.splice(0, resource.history.length - 40);
}

// ── Activities ───────────────────────────────────────────────────────────────────────────────

export function recordActivity(
  world: World,
  a: Omit<ActivityState, 'id' | 'status'> & { status?: ActivityState['status'] },
): ActivityState {
  const activity: ActivityState = { id: nextUuid(world), status: a.status ?? 'Successful', ...a };
  world.activities.push(activity);
  const mine = world.activities.filter((x) => x.group === a.group);
  if (mine.length > MAX_ACTIVITIES_PER_GROUP) {
    const drop = new Set(mine.slice(0, mine.length - MAX_ACTIVITIES_PER_GROUP).map((x) => x.id));
    world.activities = world.activities.filter((x) => !drop.has(x.id));
  }
  return activity;
}

// ── Targets ──────────────────────────────────────────────────────────────────────────────────

/** Registers a target (or re-registers a draining one): initial, then healthy after the health check. */
export function registerTarget(
  tg: TargetGroupState,
  id: string,
  port: number,
  at: number,
  timing: SandboxTiming,
): void {
  const existing = tg.targets.find((t) => t.id === id && t.port === port);
  if (existing) {
    if (existing.state === 'draining' || existing.state === 'unused') {
      existing.state = 'initial';
      existing.registeredAt = at;
      existing.next = { at: at + timing.healthCheck, event: 'healthy' };
      enter(existing, 'initial', at);
    }
    return;
  }
  const target: TargetState = {
    id,
    port,
    state: 'initial',
    registeredAt: at,
    next: { at: at + timing.healthCheck, event: 'healthy' },
    history: [{ state: 'initial', at }],
  };
  tg.targets.push(target);
}

/** Deregisters a target: draining, then gone after the deregistration delay. */
export function deregisterTarget(
  tg: TargetGroupState,
  id: string,
  port: number | undefined,
  at: number,
  timing: SandboxTiming,
): void {
  for (const t of tg.targets) {
    if (t.id !== id || (port !== undefined && t.port !== port) || t.state === 'draining') continue;
    t.state = 'draining';
    t.next = { at: at + timing.deregistration, event: 'removed' };
    enter(t, 'draining', at);
  }
}

export function registerInGroupTargets(
  world: World,
  group: GroupState,
  inst: InstanceState,
  at: number,
  timing: SandboxTiming,
) {
  if (isSuspended(group, 'AddToLoadBalancer')) return;
  for (const arn of group.targetGroupArns) {
    const tg = world.targetGroups[arn];
    if (tg) registerTarget(tg, inst.id, tg.port, at, timing);
  }
}

function deregisterFromGroupTargets(
  world: World,
  group: GroupState | undefined,
  inst: InstanceState,
  at: number,
  timing: SandboxTiming,
) {
  const arns = group ? group.targetGroupArns : Object.keys(world.targetGroups);
  for (const arn of arns) {
    const tg = world.targetGroups[arn];
    if (tg) deregisterTarget(tg, inst.id, undefined, at, timing);
  }
}

// ── Instances ────────────────────────────────────────────────────────────────────────────────

/** Resolves `$Latest` / `$Default` / a number against a launch template. */
export function resolveTemplateVersion(world: World, templateId: string, version: string) {
  const lt = world.launchTemplates[templateId];
  if (!lt) return undefined;
  const n =
    version === '$Latest'
      ? lt.latestVersion
      : version === '$Default' || version === ''
        ? lt.defaultVersion
        : Number(version);
  const v = lt.versions.find((x) => x.number === n);
  return v ? { lt, version: v } : undefined;
}

function capacityCause(at: number, from: number, to: number): string {
  return `At ${isoSeconds(at)} an instance was ${to > from ? 'started' : 'taken out of service'} in response to a difference between desired and actual capacity, ${to > from ? 'increasing' : 'shrinking'} the capacity from ${from} to ${to}.`;
}

/** Launches `count` instances into a group (Pending → InService after the launch delay). */
export function launchInstances(
  world: World,
  group: GroupState,
  count: number,
  at: number,
  timing: SandboxTiming,
): InstanceState[] {
  if (count <= 0) return [];
  const resolved = resolveTemplateVersion(world, group.launchTemplate.id, group.launchTemplate.version);
  const failure = !resolved
    ? `The specified launch template, with template ID ${group.launchTemplate.id}, does not exist.`
    : !resolved.version.data.ImageId
      ? 'The request must contain the parameter ImageId'
      : undefined;
  if (failure || !resolved) {
    if (group.launchFailure !== failure) {
      group.launchFailure = failure;
      recordActivity(world, {
        group: group.name,
        description: `Launching a new EC2 instance.  Status Reason: ${failure}`,
        cause: capacityCause(at, 0, count),
        startedAt: at,
        endsAt: at,
        status: 'Failed',
        statusMessage: failure,
        details: '{}',
      });
    }
    return [];
  }
  group.launchFailure = undefined;
  const { lt, version } = resolved;
  const data = version.data;
  const reservationId = nextId(world, 'r');
  const active = groupMembers(world, group.name).filter((i) => ACTIVE_STATES.has(i.lifecycle ?? ''));
  const before = active.length;
  const launched: InstanceState[] = [];
  const templateTags: { Key: string; Value: string }[] = [];
  const specs = (data.TagSpecifications ?? []) as {
    ResourceType?: string;
    Tags?: { Key?: string; Value?: string }[];
  }[];
  for (const spec of specs) {
    if (spec.ResourceType !== 'instance') continue;
    for (const t of spec.Tags ?? []) if (t.Key) templateTags.push({ Key: t.Key, Value: t.Value ?? '' });
  }
  for (let n = 0; n < count; n++) {
    const placement = choosePlacement(world, group, [...active, ...launched]);
    const id = nextId(world, 'i');
    const subnet = placement.subnetId ? world.subnets[placement.subnetId] : undefined;
    let subnetIp: string;
    if (subnet) {
      subnetIp = hostAddress(subnet.cidr, 4 + subnet.allocated);
      subnet.allocated += 1;
    } else {
      subnetIp = hostAddress('10.0.0.0/16', 4 + world.seq);
    }
    // Sandbox instances live on this machine: their address is a loopback one (the subnet address's
    // low 24 bits under 127/8), so anything Capstan probes on them — health URLs — stays here.
    const privateIp = `127.${subnetIp.split('.').slice(1).join('.')}`;
    const tags = new Map<string, string>();
    for (const t of templateTags) tags.set(t.Key, t.Value);
    for (const t of group.tags) if (t.PropagateAtLaunch) tags.set(t.Key, t.Value);
    tags.set('aws:autoscaling:groupName', group.name);
    tags.set('aws:ec2launchtemplate:id', lt.id);
    tags.set('aws:ec2launchtemplate:version', String(version.number));
    const inst: InstanceState = {
      id,
      reservationId,
      imageId: String(data.ImageId),
      instanceType: String(data.InstanceType ?? 'm1.small'),
      availabilityZone: placement.availabilityZone,
      privateIp,
      launchedAt: at,
      state: 'pending',
      tags: [...tags].map(([Key, Value]) => ({ Key, Value })),
      launchTemplate: { id: lt.id, name: lt.name, version: group.launchTemplate.version },
      group: group.name,
      lifecycle: 'Pending',
      health: 'Healthy',
      protectedFromScaleIn: group.newInstancesProtectedFromScaleIn,
      next: { at: at + timing.instanceLaunch, event: 'in-service' },
      history: [{ state: 'Pending', at }],
    };
    if (subnet) {
      inst.subnetId = subnet.id;
      inst.vpcId = subnet.vpcId;
    }
    world.instances[id] = inst;
    launched.push(inst);
    recordActivity(world, {
      group: group.name,
      description: `Launching a new EC2 instance: ${id}`,
      cause: capacityCause(at, before, before + count),
      startedAt: at,
      endsAt: at + timing.instanceLaunch,
      details: JSON.stringify({
        'Subnet ID': inst.subnetId ?? '',
        'Availability Zone': inst.availabilityZone,
      }),
    });
  }
  return launched;
}

/** The subnet (and zone) with the fewest of the group's active instances: AZ balance. */
function choosePlacement(
  world: World,
  group: GroupState,
  active: InstanceState[],
): { subnetId?: string; availabilityZone: string } {
  const perZone = (az: string) => active.filter((i) => i.availabilityZone === az).length;
  const subnets = group.subnets.map((id) => world.subnets[id]).filter((s) => s !== undefined);
  if (subnets.length > 0) {
    let best = subnets[0];
    for (const s of subnets)
      if (best && perZone(s.availabilityZone) < perZone(best.availabilityZone)) best = s;
    return best
      ? { subnetId: best.id, availabilityZone: best.availabilityZone }
      : { availabilityZone: `${world.region}a` };
  }
  const zones = group.availabilityZones.length > 0 ? group.availabilityZones : [`${world.region}a`];
  let zone = zones[0] ?? `${world.region}a`;
  for (const z of zones) if (perZone(z) < perZone(zone)) zone = z;
  return { availabilityZone: zone };
}

/** Starts terminating an instance: deregistered from its targets, Terminating / shutting-down. */
export function startTermination(
  world: World,
  inst: InstanceState,
  at: number,
  timing: SandboxTiming,
  cause?: string,
): void {
  if (inst.state === 'shutting-down' || inst.state === 'terminated') return;
  const group = inst.group ? world.groups[inst.group] : undefined;
  deregisterFromGroupTargets(world, group, inst, at, timing);
  if (inst.lifecycle !== undefined) {
    inst.lifecycle = 'Terminating';
    enter(inst, 'Terminating', at);
  }
  inst.state = 'shutting-down';
  enter(inst, 'shutting-down', at);
  inst.next = { at: at + timing.terminate, event: 'terminated' };
  if (group) {
    recordActivity(world, {
      group: group.name,
      description: `Terminating EC2 instance: ${inst.id}`,
      cause: cause ?? `At ${isoSeconds(at)} instance ${inst.id} was selected for termination.`,
      startedAt: at,
      endsAt: at + timing.terminate,
      details: JSON.stringify({ 'Availability Zone': inst.availabilityZone }),
    });
  }
}

/**
 * Brings a group to its desired capacity: replaces unhealthy instances, launches what is missing,
 * terminates extras (newest first, never protected ones). Standby instances don't count.
 */
export function reconcileGroup(world: World, group: GroupState, at: number, timing: SandboxTiming): void {
  if (group.status === 'Delete in progress') return;
  if (!isSuspended(group, 'ReplaceUnhealthy')) {
    for (const inst of groupMembers(world, group.name)) {
      if (inst.lifecycle === 'InService' && inst.health === 'Unhealthy') {
        startTermination(
          world,
          inst,
          at,
          timing,
          `At ${isoSeconds(at)} an instance was taken out of service in response to an EC2 health check indicating it has been terminated or stopped.`,
        );
      }
    }
  }
  const active = groupMembers(world, group.name).filter((i) => ACTIVE_STATES.has(i.lifecycle ?? ''));
  if (active.length < group.desired && !isSuspended(group, 'Launch')) {
    launchInstances(world, group, group.desired - active.length, at, timing);
  } else if (active.length > group.desired && !isSuspended(group, 'Terminate')) {
    const candidates = active
      .filter((i) => !i.protectedFromScaleIn)
      .sort((a, b) => b.launchedAt - a.launchedAt || b.id.localeCompare(a.id));
    const extra = active.length - group.desired;
    for (const inst of candidates.slice(0, extra)) {
      startTermination(
        world,
        inst,
        at,
        timing,
        `${capacityCause(at, active.length, group.desired)} At ${isoSeconds(at)} instance ${inst.id} was selected for termination.`,
      );
    }
  }
}

export function reconcileAll(world: World, at: number, timing: SandboxTiming): void {
  for (const group of Object.values(world.groups)) reconcileGroup(world, group, at, timing);
}

// ── The clock ────────────────────────────────────────────────────────────────────────────────

type Due =
  | { kind: 0; at: number; key: string; instance: InstanceState }
  | { kind: 1; at: number; key: string; tg: TargetGroupState; target: TargetState }
  | { kind: 2; at: number; key: string; group: GroupState }
  | { kind: 3; at: number; key: string; db: DbInstanceState };

function earliestDue(world: World, now: number): Due | undefined {
  let best: Due | undefined;
  const consider = (d: Due) => {
    if (d.at > now) return;
    if (
      !best ||
      d.at < best.at ||
      (d.at === best.at && (d.kind < best.kind || (d.kind === best.kind && d.key < best.key)))
    ) {
      best = d;
    }
  };
  for (const instance of Object.values(world.instances)) {
    if (instance.next) consider({ kind: 0, at: instance.next.at, key: instance.id, instance });
  }
  for (const tg of Object.values(world.targetGroups)) {
    for (const target of tg.targets) {
      if (target.next)
        consider({ kind: 1, at: target.next.at, key: `${tg.arn}/${target.id}:${target.port}`, tg, target });
    }
  }
  for (const group of Object.values(world.groups)) {
    if (group.next) consider({ kind: 2, at: group.next.at, key: group.name, group });
  }
  for (const db of Object.values(world.dbInstances)) {
    if (db.next) consider({ kind: 3, at: db.next.at, key: db.id, db });
  }
  return best;
}

function applyInstanceEvent(world: World, inst: InstanceState, at: number, timing: SandboxTiming): void {
  const event = inst.next?.event;
  inst.next = undefined;
  const group = inst.group ? world.groups[inst.group] : undefined;
  switch (event) {
    case 'in-service':
      if (inst.state === 'pending') {
        inst.state = 'running';
        enter(inst, 'running', at);
      }
      if (inst.lifecycle === 'Pending') {
        inst.lifecycle = 'InService';
        enter(inst, 'InService', at);
        if (group) registerInGroupTargets(world, group, inst, at, timing);
      }
      break;
    case 'standby':
      if (inst.lifecycle === 'EnteringStandby') {
        inst.lifecycle = 'Standby';
        enter(inst, 'Standby', at);
      }
      break;
    case 'terminated':
      inst.state = 'terminated';
      enter(inst, 'terminated', at);
      if (inst.lifecycle !== undefined) {
        inst.lifecycle = 'Terminated';
        enter(inst, 'Terminated', at);
      }
      // A terminated instance leaves every target group at once.
      for (const tg of Object.values(world.targetGroups)) {
        tg.targets = tg.targets.filter((t) => t.id !== inst.id);
      }
      inst.next = { at: at + timing.terminatedRetention, event: 'purge' };
      break;
    case 'purge':
      delete world.instances[inst.id];
      break;
    default:
      break;
  }
}

function applyTargetEvent(
  world: World,
  tg: TargetGroupState,
  target: TargetState,
  at: number,
  timing: SandboxTiming,
): void {
  const event = target.next?.event;
  target.next = undefined;
  if (event === 'removed') {
    tg.targets = tg.targets.filter((t) => t !== target);
    return;
  }
  if (event === 'healthy') {
    const inst = world.instances[target.id];
    if (inst && inst.state === 'pending') {
      // Health checks pass once the instance is up.
      const upAt = inst.next?.at ?? at;
      target.next = { at: Math.max(upAt, at) + timing.healthCheck, event: 'healthy' };
      return;
    }
    const state = !inst || inst.state === 'running' ? 'healthy' : 'unused';
    target.state = state;
    enter(target, state, at);
  }
}

function applyGroupEvent(world: World, group: GroupState, at: number): void {
  group.next = undefined;
  const members = groupMembers(world, group.name);
  if (members.length > 0) {
    const latest = Math.max(...members.map((m) => m.next?.at ?? at + 100));
    group.next = { at: Math.max(latest, at + 1), event: 'deleted' };
    return;
  }
  delete world.groups[group.name];
  world.activities = world.activities.filter((a) => a.group !== group.name);
  for (const inst of Object.values(world.instances)) {
    if (inst.group === group.name) {
      inst.group = undefined;
      inst.lifecycle = undefined;
    }
  }
}

function applyDbEvent(world: World, db: DbInstanceState, at: number): void {
  const event = db.next?.event;
  db.next = undefined;
  if (event === 'available') {
    db.status = 'available';
    enter(db, 'available', at);
  } else if (event === 'deleted') {
    delete world.dbInstances[db.id];
  }
}

/**
 * Advances the world to `now`: applies every due transition in time order (each at its own due
 * time) and reconciles groups after each. Mutates and returns `world`.
 */
export function advanceWorld(world: World, now: number, timing: SandboxTiming): World {
  const target = Math.max(now, world.lastAdvancedAt);
  for (let n = 0; n < MAX_EVENTS_PER_ADVANCE; n++) {
    const due = earliestDue(world, target);
    if (!due) break;
    const at = due.at;
    switch (due.kind) {
      case 0:
        applyInstanceEvent(world, due.instance, at, timing);
        break;
      case 1:
        applyTargetEvent(world, due.tg, due.target, at, timing);
        break;
      case 2:
        applyGroupEvent(world, due.group, at);
        break;
      case 3:
        applyDbEvent(world, due.db, at);
        break;
    }
    reconcileAll(world, at, timing);
  }
  world.lastAdvancedAt = target;
  return world;
}

/** The sandbox clock for a call: never behind where the world already stands. */
export function worldNow(world: World, processNow: number): number {
  return Math.max(processNow + world.clockOffsetMs, world.lastAdvancedAt);
}
