/**
 * The resource types a sandbox stack can hold, each made of real sandbox resources: a stack's
 * AWS::AutoScaling::AutoScalingGroup is a sandbox Auto Scaling group (its instances launch and go
 * InService on the sandbox clock), its AWS::EC2::LaunchTemplate a sandbox launch template, and so on.
 * Plus `Capstan::Sandbox::Failure`, which fails on demand so tests can watch rollbacks.
 *
 * Which property changes need a replacement follows each type's reference page ("Update requires"):
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-autoscaling-autoscalinggroup.html
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-launchtemplate.html
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-elasticloadbalancingv2-targetgroup.html
 */
import type {
  CreateAutoScalingGroupCommandInput,
  UpdateAutoScalingGroupCommandInput,
} from '@aws-sdk/client-auto-scaling';
import { autoScalingHandlers } from './autoscaling.js';
import type { CallContext } from './context.js';
import { addLaunchTemplate, addTemplateVersion } from './ec2.js';
import { addTargetGroup } from './elbv2.js';
import { SandboxAwsError } from './errors.js';
import { deregisterTarget, groupMembers, registerInGroupTargets } from './lifecycle.js';
import {
  type AsgTag,
  type LaunchTemplateData,
  nextHex,
  type StackState,
  type TemplateValue,
  type World,
} from './world.js';

/** A failure CloudFormation reports as the resource's status reason. */
export class ResourceFailure extends Error {}

export type Recreation = 'Never' | 'Conditionally' | 'Always';

type Props = Record<string, TemplateValue>;

export interface ProvidedResource {
  physicalId: string;
  attributes: Record<string, string>;
}

/** One step on one resource: the world at the step's time, the stack and the resource's name in it. */
export interface ResourceCall {
  ctx: CallContext;
  stack: StackState;
  logicalId: string;
}

export interface ResourceProvider {
  /** The properties the sandbox knows for this type, and whether changing each needs a replacement. */
  properties: Record<string, Recreation>;
  /** Whether stack tags reach it (CloudFormation tags what supports tags). */
  taggable: boolean;
  /** The property giving the resource a custom name (a replacement needs a new one). */
  nameProperty?: string;
  /** The attributes Fn::GetAtt may ask for. */
  attributes: string[];
  create(call: ResourceCall, props: Props): ProvidedResource;
  update(call: ResourceCall, physicalId: string, before: Props, props: Props): ProvidedResource;
  delete(call: ResourceCall, physicalId: string, props: Props): void;
  /**
   * Whether the step has taken effect in the world (checked when the step is due); `false` keeps the
   * resource IN_PROGRESS and checks again. Absent: at once.
   */
  settled?(world: World, action: 'create' | 'update' | 'delete', physicalId: string): boolean;
}

/** The tags CloudFormation puts on what a stack creates: its own three and the stack's tags. */
export function stackTags(stack: StackState, logicalId: string): { Key: string; Value: string }[] {
  return [
    ...stack.tags,
    { Key: 'aws:cloudformation:stack-name', Value: stack.name },
    { Key: 'aws:cloudformation:stack-id', Value: stack.id },
    { Key: 'aws:cloudformation:logical-id', Value: logicalId },
  ];
}

/** `stack-Logical-1A2B3C4D5E6F`, the shape of CloudFormation's generated names, cut to `max`. */
function generatedName(world: World, stack: StackState, logicalId: string, max = 255): string {
  const suffix = nextHex(world, 12).toUpperCase();
  const room = max - suffix.length - 2;
  const stackPart = stack.name.slice(0, Math.max(1, Math.ceil(room / 2)));
  const logicalPart = logicalId.slice(0, Math.max(1, room - stackPart.length));
  return `${stackPart}-${logicalPart}-${suffix}`;
}

function text(v: TemplateValue | undefined): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new ResourceFailure(`Value of property must be of type String: ${JSON.stringify(v)}`);
}

function num(v: TemplateValue | undefined, name: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = Number(v);
  if (typeof v === 'boolean' || !Number.isFinite(n) || String(v).trim() === '') {
    throw new ResourceFailure(`Value of property ${name} must be of type Integer`);
  }
  return n;
}

function list(v: TemplateValue | undefined, name: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v))
    throw new ResourceFailure(`Value of property ${name} must be of type List of String`);
  return v.map((x) => text(x) ?? '');
}

function bool(v: TemplateValue | undefined): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  return v === true || String(v).toLowerCase() === 'true';
}

function required(logicalId: string, props: Props, names: string[]): void {
  for (const name of names) {
    if (props[name] === undefined) {
      throw new ResourceFailure(
        `Properties validation failed for resource ${logicalId} with message: #: required key [${name}] not found`,
      );
    }
  }
}

function keyValues(v: TemplateValue | undefined): { Key: string; Value: string }[] {
  if (!Array.isArray(v)) return [];
  return v.map((t) => {
    const o = (t ?? {}) as Props;
    return { Key: text(o.Key) ?? '', Value: text(o.Value) ?? '' };
  });
}

// ── AWS::AutoScaling::AutoScalingGroup ──────────────────────────────────────────────────────

function groupTags(call: ResourceCall, props: Props): AsgTag[] {
  const tags = new Map<string, AsgTag>();
  for (const t of Array.isArray(props.Tags) ? props.Tags : []) {
    const o = (t ?? {}) as Props;
    const Key = text(o.Key) ?? '';
    tags.set(Key, { Key, Value: text(o.Value) ?? '', PropagateAtLaunch: bool(o.PropagateAtLaunch) ?? false });
  }
  // Stack-level tags reach the group and, through it, its instances.
  for (const t of stackTags(call.stack, call.logicalId)) {
    if (!tags.has(t.Key)) tags.set(t.Key, { ...t, PropagateAtLaunch: true });
  }
  return [...tags.values()];
}

function launchTemplateSpec(props: Props) {
  const lt = props.LaunchTemplate as Props | undefined;
  if (!lt || typeof lt !== 'object') return undefined;
  return {
    LaunchTemplateId: text(lt.LaunchTemplateId),
    LaunchTemplateName: text(lt.LaunchTemplateName),
    Version: text(lt.Version),
  };
}

function asAsgFailure(error: unknown): never {
  if (error instanceof SandboxAwsError) {
    throw new ResourceFailure(
      `Resource handler returned message: "${error.message} (Service: AutoScaling, Status Code: ${error.status})" (HandlerErrorCode: InvalidRequest)`,
    );
  }
  throw error;
}

const autoScalingGroup: ResourceProvider = {
  properties: {
    AutoScalingGroupName: 'Always',
    MinSize: 'Never',
    MaxSize: 'Never',
    DesiredCapacity: 'Never',
    LaunchTemplate: 'Never',
    VPCZoneIdentifier: 'Never',
    AvailabilityZones: 'Never',
    TargetGroupARNs: 'Never',
    Tags: 'Never',
    HealthCheckType: 'Never',
    HealthCheckGracePeriod: 'Never',
    Cooldown: 'Never',
    TerminationPolicies: 'Never',
    NewInstancesProtectedFromScaleIn: 'Never',
  },
  taggable: true,
  nameProperty: 'AutoScalingGroupName',
  attributes: [],
  create(call, props) {
    required(call.logicalId, props, ['MinSize', 'MaxSize']);
    const name =
      text(props.AutoScalingGroupName) ?? generatedName(call.ctx.world, call.stack, call.logicalId);
    const input: CreateAutoScalingGroupCommandInput = {
      AutoScalingGroupName: name,
      LaunchTemplate: launchTemplateSpec(props),
      MinSize: num(props.MinSize, 'MinSize'),
      MaxSize: num(props.MaxSize, 'MaxSize'),
      DesiredCapacity: num(props.DesiredCapacity, 'DesiredCapacity'),
      VPCZoneIdentifier: list(props.VPCZoneIdentifier, 'VPCZoneIdentifier')?.join(','),
      AvailabilityZones: list(props.AvailabilityZones, 'AvailabilityZones'),
      TargetGroupARNs: list(props.TargetGroupARNs, 'TargetGroupARNs'),
      HealthCheckType: text(props.HealthCheckType),
      HealthCheckGracePeriod: num(props.HealthCheckGracePeriod, 'HealthCheckGracePeriod'),
      DefaultCooldown: num(props.Cooldown, 'Cooldown'),
      TerminationPolicies: list(props.TerminationPolicies, 'TerminationPolicies'),
      NewInstancesProtectedFromScaleIn: bool(props.NewInstancesProtectedFromScaleIn),
      Tags: groupTags(call, props),
    };
    try {
      autoScalingHandlers.CreateAutoScalingGroup?.(call.ctx, input);
    } catch (error) {
      asAsgFailure(error);
    }
    return { physicalId: name, attributes: {} };
  },
  update(call, name, before, props) {
    const { world, now, timing } = call.ctx;
    const group = world.groups[name];
    if (!group) throw new ResourceFailure(`Auto Scaling group ${name} does not exist`);
    const input: UpdateAutoScalingGroupCommandInput = {
      AutoScalingGroupName: name,
      MinSize: num(props.MinSize, 'MinSize'),
      MaxSize: num(props.MaxSize, 'MaxSize'),
      // Without DesiredCapacity in the template CloudFormation leaves the group's own alone.
      DesiredCapacity: num(props.DesiredCapacity, 'DesiredCapacity'),
      LaunchTemplate: launchTemplateSpec(props),
      HealthCheckType: text(props.HealthCheckType),
      HealthCheckGracePeriod: num(props.HealthCheckGracePeriod, 'HealthCheckGracePeriod'),
      DefaultCooldown: num(props.Cooldown, 'Cooldown'),
      TerminationPolicies: list(props.TerminationPolicies, 'TerminationPolicies'),
      NewInstancesProtectedFromScaleIn: bool(props.NewInstancesProtectedFromScaleIn),
    };
    if (JSON.stringify(before.VPCZoneIdentifier) !== JSON.stringify(props.VPCZoneIdentifier)) {
      input.VPCZoneIdentifier = list(props.VPCZoneIdentifier, 'VPCZoneIdentifier')?.join(',') ?? '';
    }
    const wantedTgs = list(props.TargetGroupARNs, 'TargetGroupARNs') ?? [];
    for (const arn of wantedTgs) {
      if (!world.targetGroups[arn]) {
        asAsgFailure(
          new SandboxAwsError(
            'AutoScaling',
            'ValidationError',
            'Provided Target Groups may not be valid. Please ensure they exist and try again.',
          ),
        );
      }
    }
    try {
      autoScalingHandlers.UpdateAutoScalingGroup?.(call.ctx, input);
    } catch (error) {
      asAsgFailure(error);
    }
    group.tags = groupTags(call, props);
    const added = wantedTgs.filter((arn) => !group.targetGroupArns.includes(arn));
    const removed = group.targetGroupArns.filter((arn) => !wantedTgs.includes(arn));
    group.targetGroupArns = [...wantedTgs];
    const inService = groupMembers(world, name).filter((i) => i.lifecycle === 'InService');
    for (const inst of inService) {
      for (const arn of removed) {
        const tg = world.targetGroups[arn];
        if (tg) deregisterTarget(tg, inst.id, undefined, now, timing);
      }
      if (added.length > 0)
        registerInGroupTargets(world, { ...group, targetGroupArns: added }, inst, now, timing);
    }
    return { physicalId: name, attributes: {} };
  },
  delete(call, name) {
    const group = call.ctx.world.groups[name];
    // Already gone, or already going: CloudFormation only waits for it.
    if (!group || group.status === 'Delete in progress') return;
    try {
      autoScalingHandlers.DeleteAutoScalingGroup?.(call.ctx, {
        AutoScalingGroupName: name,
        ForceDelete: true,
      });
    } catch (error) {
      asAsgFailure(error);
    }
  },
  settled: (world, action, name) => action !== 'delete' || !world.groups[name],
};

// ── AWS::EC2::LaunchTemplate ─────────────────────────────────────────────────────────────────

function templateTags(call: ResourceCall, props: Props): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const spec of Array.isArray(props.TagSpecifications) ? props.TagSpecifications : []) {
    const s = (spec ?? {}) as Props;
    if (text(s.ResourceType) !== 'launch-template') continue;
    for (const t of keyValues(s.Tags)) tags[t.Key] = t.Value;
  }
  for (const t of stackTags(call.stack, call.logicalId)) tags[t.Key] ??= t.Value;
  return tags;
}

function templateData(props: Props): LaunchTemplateData {
  const data = props.LaunchTemplateData;
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new ResourceFailure('Value of property LaunchTemplateData must be an object');
  }
  return structuredClone(data) as LaunchTemplateData;
}

function templateAttributes(world: World, id: string): Record<string, string> {
  const lt = world.launchTemplates[id];
  return {
    LaunchTemplateId: id,
    LatestVersionNumber: String(lt?.latestVersion ?? 1),
    DefaultVersionNumber: String(lt?.defaultVersion ?? 1),
  };
}

function asEc2Failure(error: unknown): never {
  if (error instanceof SandboxAwsError) {
    throw new ResourceFailure(
      `Resource handler returned message: "${error.message} (Service: Ec2, Status Code: ${error.status})" (HandlerErrorCode: ${error.code.includes('AlreadyExists') ? 'AlreadyExists' : 'InvalidRequest'})`,
    );
  }
  throw error;
}

const launchTemplate: ResourceProvider = {
  properties: {
    LaunchTemplateName: 'Always',
    LaunchTemplateData: 'Never',
    TagSpecifications: 'Never',
    VersionDescription: 'Never',
  },
  taggable: true,
  nameProperty: 'LaunchTemplateName',
  attributes: ['LaunchTemplateId', 'LatestVersionNumber', 'DefaultVersionNumber'],
  create(call, props) {
    required(call.logicalId, props, ['LaunchTemplateData']);
    const { world, now } = call.ctx;
    const name = text(props.LaunchTemplateName) ?? generatedName(world, call.stack, call.logicalId, 128);
    try {
      const lt = addLaunchTemplate(world, now, {
        name,
        data: templateData(props),
        description: text(props.VersionDescription),
        tags: templateTags(call, props),
      });
      return { physicalId: lt.id, attributes: templateAttributes(world, lt.id) };
    } catch (error) {
      asEc2Failure(error);
    }
  },
  update(call, id, before, props) {
    const { world, now } = call.ctx;
    const lt = world.launchTemplates[id];
    if (!lt)
      throw new ResourceFailure(`The specified launch template, with template ID ${id}, does not exist.`);
    if (
      JSON.stringify(before.LaunchTemplateData) !== JSON.stringify(props.LaunchTemplateData) ||
      JSON.stringify(before.VersionDescription) !== JSON.stringify(props.VersionDescription)
    ) {
      // An update makes a new version, which becomes the default.
      const v = addTemplateVersion(lt, now, templateData(props), undefined, text(props.VersionDescription));
      lt.defaultVersion = v.number;
    }
    lt.tags = templateTags(call, props);
    return { physicalId: id, attributes: templateAttributes(world, id) };
  },
  delete(call, id) {
    delete call.ctx.world.launchTemplates[id];
  },
};

// ── AWS::ElasticLoadBalancingV2::TargetGroup ────────────────────────────────────────────────

function targetGroupAttributes(world: World, arn: string): Record<string, string> {
  const tg = world.targetGroups[arn];
  const name = tg?.name ?? '';
  return {
    TargetGroupArn: arn,
    TargetGroupName: name,
    TargetGroupFullName: arn.slice(arn.indexOf(':targetgroup/') + 1),
  };
}

const targetGroup: ResourceProvider = {
  properties: {
    Name: 'Always',
    Port: 'Always',
    Protocol: 'Always',
    VpcId: 'Always',
    TargetType: 'Always',
    HealthCheckPath: 'Never',
    Tags: 'Never',
  },
  taggable: true,
  nameProperty: 'Name',
  attributes: ['TargetGroupArn', 'TargetGroupName', 'TargetGroupFullName'],
  create(call, props) {
    required(call.logicalId, props, ['Port', 'Protocol']);
    const { world } = call.ctx;
    const targetType = text(props.TargetType) ?? 'instance';
    if (targetType !== 'instance') {
      throw new ResourceFailure(`TargetType ${targetType} is not supported by the sandbox (instance only)`);
    }
    const name = text(props.Name) ?? generatedName(world, call.stack, call.logicalId, 32);
    if (Object.values(world.targetGroups).some((tg) => tg.name === name)) {
      throw new ResourceFailure(
        `Resource handler returned message: "A target group with the same name '${name}' exists, but with different settings (Service: ElasticLoadBalancingV2, Status Code: 400)" (HandlerErrorCode: AlreadyExists)`,
      );
    }
    const tags: Record<string, string> = {};
    for (const t of keyValues(props.Tags)) tags[t.Key] = t.Value;
    for (const t of stackTags(call.stack, call.logicalId)) tags[t.Key] ??= t.Value;
    const tg = addTargetGroup(world, {
      name,
      protocol: text(props.Protocol) ?? 'HTTP',
      port: num(props.Port, 'Port') ?? 80,
      vpcId: text(props.VpcId),
      healthCheckPath: text(props.HealthCheckPath) ?? '/',
      loadBalancerArns: [],
      tags,
    });
    return { physicalId: tg.arn, attributes: targetGroupAttributes(world, tg.arn) };
  },
  update(call, arn, _before, props) {
    const { world } = call.ctx;
    const tg = world.targetGroups[arn];
    if (!tg) throw new ResourceFailure(`Target groups '${arn}' not found`);
    tg.healthCheckPath = text(props.HealthCheckPath) ?? '/';
    const tags: Record<string, string> = {};
    for (const t of keyValues(props.Tags)) tags[t.Key] = t.Value;
    for (const t of stackTags(call.stack, call.logicalId)) tags[t.Key] ??= t.Value;
    tg.tags = tags;
    return { physicalId: arn, attributes: targetGroupAttributes(world, arn) };
  },
  delete(call, arn) {
    delete call.ctx.world.targetGroups[arn];
  },
};

// ── AWS::CloudFormation::WaitConditionHandle ────────────────────────────────────────────────

const waitConditionHandle: ResourceProvider = {
  properties: {},
  taggable: false,
  attributes: [],
  create(call) {
    const { world } = call.ctx;
    const id = `https://cloudformation-waitcondition-${world.region}.s3.amazonaws.com/${encodeURIComponent(call.stack.id)}/${call.logicalId}?sandbox=${nextHex(world, 16)}`;
    return { physicalId: id, attributes: {} };
  },
  update: (_call, id) => ({ physicalId: id, attributes: {} }),
  delete() {},
};

// ── Capstan::Sandbox::Failure ───────────────────────────────────────────────────────────────

/** `FailOn: create | update | delete` (or a list of them), `Reason`: the status reason it fails with. */
function failWhen(props: Props, action: 'create' | 'update' | 'delete'): void {
  const on = props.FailOn;
  const actions = (Array.isArray(on) ? on : on === undefined || on === null ? [] : [on]).map((x) =>
    String(x).toLowerCase(),
  );
  if (actions.includes(action)) {
    throw new ResourceFailure(text(props.Reason) ?? `Capstan::Sandbox::Failure asked to fail on ${action}`);
  }
}

const failure: ResourceProvider = {
  properties: { FailOn: 'Never', Reason: 'Never' },
  taggable: false,
  attributes: [],
  create(call, props) {
    failWhen(props, 'create');
    return { physicalId: generatedName(call.ctx.world, call.stack, call.logicalId), attributes: {} };
  },
  update(_call, id, _before, props) {
    failWhen(props, 'update');
    return { physicalId: id, attributes: {} };
  },
  delete(_call, _id, props) {
    failWhen(props, 'delete');
  },
};

export const RESOURCE_PROVIDERS: Record<string, ResourceProvider> = {
  'AWS::AutoScaling::AutoScalingGroup': autoScalingGroup,
  'AWS::EC2::LaunchTemplate': launchTemplate,
  'AWS::ElasticLoadBalancingV2::TargetGroup': targetGroup,
  'AWS::CloudFormation::WaitConditionHandle': waitConditionHandle,
  'Capstan::Sandbox::Failure': failure,
};
