/** EC2: instances (as launched by Auto Scaling), launch templates and their versions, subnets. */
import type {
  CreateLaunchTemplateCommandInput,
  CreateLaunchTemplateCommandOutput,
  CreateLaunchTemplateVersionCommandInput,
  CreateLaunchTemplateVersionCommandOutput,
  DeleteLaunchTemplateCommandInput,
  DeleteLaunchTemplateCommandOutput,
  DescribeInstancesCommandInput,
  DescribeInstancesCommandOutput,
  DescribeLaunchTemplatesCommandInput,
  DescribeLaunchTemplatesCommandOutput,
  DescribeLaunchTemplateVersionsCommandInput,
  DescribeLaunchTemplateVersionsCommandOutput,
  DescribeSubnetsCommandInput,
  DescribeSubnetsCommandOutput,
  Instance,
  LaunchTemplate,
  LaunchTemplateVersion,
  ModifyLaunchTemplateCommandInput,
  ModifyLaunchTemplateCommandOutput,
  Reservation,
  Subnet,
} from '@aws-sdk/client-ec2';
import type { CallContext, HandlerTable, Out } from './context.js';
import { ec2Error } from './errors.js';
import { applyFilters, paginate, tagFilterValues, toDate } from './util.js';
import type {
  InstanceState,
  LaunchTemplateData,
  LaunchTemplateState,
  LaunchTemplateVersionState,
  World,
} from './world.js';
import { nextHex, tagList } from './world.js';

const STATE_CODES = { pending: 0, running: 16, 'shutting-down': 32, terminated: 48 } as const;

const invalidToken = () => ec2Error('InvalidParameterValue', 'Invalid value for parameter nextToken');
const badFilter = (name: string) => ec2Error('InvalidParameterValue', `The filter '${name}' is invalid`);

function maxResults(value: number | undefined, dflt: number, min: number, max: number): number {
  if (value === undefined) return dflt;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw ec2Error(
      'InvalidParameterValue',
      `Value ( ${value} ) for parameter maxResults is invalid. Expecting a value between ${min} and ${max}.`,
    );
  }
  return value;
}

function creator(world: World): string {
  return `arn:aws:iam::${world.accountId}:user/capstan-sandbox`;
}

// ── Instances ────────────────────────────────────────────────────────────────────────────────

export function instanceView(world: World, inst: InstanceState): Instance {
  const view: Instance = {
    InstanceId: inst.id,
    ImageId: inst.imageId,
    State: { Code: STATE_CODES[inst.state], Name: inst.state },
    PrivateDnsName:
      inst.state === 'terminated'
        ? ''
        : `ip-${inst.privateIp.replaceAll('.', '-')}.${world.region}.compute.internal`,
    PublicDnsName: '',
    StateTransitionReason: '',
    AmiLaunchIndex: 0,
    ProductCodes: [],
    InstanceType: inst.instanceType as Instance['InstanceType'],
    LaunchTime: toDate(inst.launchedAt),
    Placement: { AvailabilityZone: inst.availabilityZone, GroupName: '', Tenancy: 'default' },
    Monitoring: { State: 'disabled' },
    Architecture: 'x86_64',
    Hypervisor: 'xen',
    RootDeviceName: '/dev/xvda',
    RootDeviceType: 'ebs',
    VirtualizationType: 'hvm',
    EbsOptimized: false,
    EnaSupport: true,
    SecurityGroups: [],
    Tags: inst.tags.map((t) => ({ ...t })),
  };
  if (inst.state !== 'terminated') {
    view.PrivateIpAddress = inst.privateIp;
    if (inst.subnetId) view.SubnetId = inst.subnetId;
    if (inst.vpcId) view.VpcId = inst.vpcId;
  }
  if (inst.state === 'shutting-down' || inst.state === 'terminated') {
    const at = inst.history.find((h) => h.state === 'shutting-down')?.at ?? inst.launchedAt;
    view.StateTransitionReason = `User initiated (${new Date(at)
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, ' GMT')})`;
    view.StateReason = {
      Code: 'Client.UserInitiatedShutdown',
      Message: 'Client.UserInitiatedShutdown: User initiated shutdown',
    };
  }
  return view;
}

const INSTANCE_ID = /^i-([0-9a-f]{8}|[0-9a-f]{17})$/;

function describeInstances(
  ctx: CallContext,
  input: DescribeInstancesCommandInput,
): Out<DescribeInstancesCommandOutput> {
  const { world } = ctx;
  const ids = input.InstanceIds ?? [];
  if (ids.length > 0 && input.MaxResults !== undefined) {
    throw ec2Error(
      'InvalidParameterCombination',
      'The parameter instancesSet cannot be used with the parameter maxResults',
    );
  }
  for (const id of ids) {
    if (!INSTANCE_ID.test(id)) throw ec2Error('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
  }
  const missing = ids.filter((id) => !world.instances[id]);
  if (missing.length === 1)
    throw ec2Error('InvalidInstanceID.NotFound', `The instance ID '${missing[0]}' does not exist`);
  if (missing.length > 1)
    throw ec2Error('InvalidInstanceID.NotFound', `The instance IDs '${missing.join(', ')}' do not exist`);
  let insts = Object.values(world.instances).sort(
    (a, b) =>
      a.launchedAt - b.launchedAt ||
      a.reservationId.localeCompare(b.reservationId) ||
      a.id.localeCompare(b.id),
  );
  if (ids.length > 0) {
    const wanted = new Set(ids);
    insts = insts.filter((i) => wanted.has(i.id));
  }
  insts = applyFilters(
    insts,
    input.Filters,
    (name, i) => {
      switch (name) {
        case 'instance-state-name':
          return [i.state];
        case 'instance-state-code':
          return [String(STATE_CODES[i.state])];
        case 'instance-id':
          return [i.id];
        case 'instance-type':
          return [i.instanceType];
        case 'image-id':
          return [i.imageId];
        case 'availability-zone':
          return [i.availabilityZone];
        case 'private-ip-address':
          return i.state === 'terminated' ? [] : [i.privateIp];
        case 'subnet-id':
          return i.subnetId ? [i.subnetId] : [];
        case 'vpc-id':
          return i.vpcId ? [i.vpcId] : [];
        case 'reservation-id':
          return [i.reservationId];
        default:
          return tagFilterValues(name, i.tags);
      }
    },
    badFilter,
    true,
  );
  const { page, next } = paginate(
    insts,
    input.NextToken,
    maxResults(input.MaxResults, 1000, 5, 1000),
    invalidToken,
  );
  const reservations: Reservation[] = [];
  const byId = new Map<string, Reservation>();
  for (const inst of page) {
    let r = byId.get(inst.reservationId);
    if (!r) {
      r = {
        ReservationId: inst.reservationId,
        OwnerId: world.accountId,
        // Instances launched by Auto Scaling carry its requester id.
        RequesterId: inst.group ? '940372691376' : undefined,
        Groups: [],
        Instances: [],
      };
      byId.set(inst.reservationId, r);
      reservations.push(r);
    }
    r.Instances?.push(instanceView(world, inst));
  }
  return { Reservations: reservations, NextToken: next };
}

// ── Launch templates ─────────────────────────────────────────────────────────────────────────

const TEMPLATE_NAME = /^[a-zA-Z0-9().\-/_]{3,128}$/;
const TEMPLATE_ID = /^lt-[0-9a-f]{17}$/;

export function templateView(world: World, lt: LaunchTemplateState): LaunchTemplate {
  return {
    LaunchTemplateId: lt.id,
    LaunchTemplateName: lt.name,
    CreateTime: toDate(lt.createdAt),
    CreatedBy: creator(world),
    DefaultVersionNumber: lt.defaultVersion,
    LatestVersionNumber: lt.latestVersion,
    Tags: tagList(lt.tags),
  };
}

function versionView(
  world: World,
  lt: LaunchTemplateState,
  v: LaunchTemplateVersionState,
): LaunchTemplateVersion {
  return {
    LaunchTemplateId: lt.id,
    LaunchTemplateName: lt.name,
    VersionNumber: v.number,
    VersionDescription: v.description,
    CreateTime: toDate(v.createdAt),
    CreatedBy: creator(world),
    DefaultVersion: v.number === lt.defaultVersion,
    LaunchTemplateData: structuredClone(v.data) as LaunchTemplateVersion['LaunchTemplateData'],
  };
}

/** Finds one launch template by id or name, failing as EC2 does. */
export function findTemplate(
  world: World,
  id: string | undefined,
  name: string | undefined,
): LaunchTemplateState {
  if (id && name) {
    throw ec2Error(
      'InvalidParameterCombination',
      'The parameters launchTemplateId and launchTemplateName cannot be used together. Specify one or the other.',
    );
  }
  if (id) {
    if (!TEMPLATE_ID.test(id))
      throw ec2Error('InvalidLaunchTemplateId.Malformed', `The launch template ID '${id}' is malformed.`);
    const lt = world.launchTemplates[id];
    if (!lt)
      throw ec2Error(
        'InvalidLaunchTemplateId.NotFound',
        `The specified launch template, with template ID ${id}, does not exist.`,
      );
    return lt;
  }
  if (name) {
    const lt = Object.values(world.launchTemplates).find((t) => t.name === name);
    if (!lt) {
      throw ec2Error(
        'InvalidLaunchTemplateName.NotFoundException',
        `The specified launch template, with template name ${name}, does not exist.`,
      );
    }
    return lt;
  }
  throw ec2Error(
    'MissingParameter',
    'The request must contain the parameter launchTemplateName or launchTemplateId',
  );
}

function tagsFor(
  specs:
    | {
        ResourceType?: string | undefined;
        Tags?: { Key?: string | undefined; Value?: string | undefined }[] | undefined;
      }[]
    | undefined,
  resourceType: string,
): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const spec of specs ?? []) {
    if (spec.ResourceType !== resourceType) {
      throw ec2Error(
        'InvalidParameterValue',
        `'${spec.ResourceType}' is not a valid taggable resource type for this operation.`,
      );
    }
    for (const t of spec.Tags ?? []) if (t.Key) tags[t.Key] = t.Value ?? '';
  }
  return tags;
}

/** Creates a launch template (also used by seeding). */
export function addLaunchTemplate(
  world: World,
  now: number,
  spec: {
    name: string;
    id?: string;
    data: LaunchTemplateData;
    description?: string;
    tags?: Record<string, string>;
  },
): LaunchTemplateState {
  if (!TEMPLATE_NAME.test(spec.name)) {
    throw ec2Error(
      'InvalidLaunchTemplateName.MalformedException',
      'A launch template name must be between 3 and 128 characters, and may contain letters, numbers, and the following characters: - ( ) . / _.',
    );
  }
  if (Object.values(world.launchTemplates).some((t) => t.name === spec.name)) {
    throw ec2Error(
      'InvalidLaunchTemplateName.AlreadyExistsException',
      `Launch template name already in use.`,
    );
  }
  const id = spec.id ?? `lt-0${nextHex(world, 16)}`;
  const lt: LaunchTemplateState = {
    id,
    name: spec.name,
    createdAt: now,
    defaultVersion: 1,
    latestVersion: 1,
    versions: [
      { number: 1, description: spec.description, createdAt: now, data: structuredClone(spec.data) },
    ],
    tags: { ...(spec.tags ?? {}) },
  };
  world.launchTemplates[id] = lt;
  return lt;
}

/** Adds a version to a template (data merged over the source version's when one is given). */
export function addTemplateVersion(
  lt: LaunchTemplateState,
  now: number,
  data: LaunchTemplateData,
  source?: string,
  description?: string,
): LaunchTemplateVersionState {
  let base: LaunchTemplateData = {};
  if (source !== undefined) {
    const n =
      source === '$Latest' ? lt.latestVersion : source === '$Default' ? lt.defaultVersion : Number(source);
    const src = lt.versions.find((v) => v.number === n);
    if (!src) {
      throw ec2Error(
        'InvalidLaunchTemplateId.VersionNotFound',
        `Could not find launch template version ${source} for launch template ${lt.id}`,
      );
    }
    base = structuredClone(src.data);
  }
  const version: LaunchTemplateVersionState = {
    number: lt.latestVersion + 1,
    description,
    createdAt: now,
    data: { ...base, ...structuredClone(data) },
  };
  lt.versions.push(version);
  lt.latestVersion = version.number;
  return version;
}

function createLaunchTemplate(
  ctx: CallContext,
  input: CreateLaunchTemplateCommandInput,
): Out<CreateLaunchTemplateCommandOutput> {
  const { world, now } = ctx;
  if (!input.LaunchTemplateName)
    throw ec2Error('MissingParameter', 'The request must contain the parameter LaunchTemplateName');
  if (!input.LaunchTemplateData)
    throw ec2Error('MissingParameter', 'The request must contain the parameter LaunchTemplateData');
  const tags = tagsFor(input.TagSpecifications, 'launch-template');
  const lt = addLaunchTemplate(world, now, {
    name: input.LaunchTemplateName,
    data: input.LaunchTemplateData as LaunchTemplateData,
    description: input.VersionDescription,
    tags,
  });
  return { LaunchTemplate: templateView(world, lt) };
}

function createLaunchTemplateVersion(
  ctx: CallContext,
  input: CreateLaunchTemplateVersionCommandInput,
): Out<CreateLaunchTemplateVersionCommandOutput> {
  const { world, now } = ctx;
  const lt = findTemplate(world, input.LaunchTemplateId, input.LaunchTemplateName);
  if (!input.LaunchTemplateData)
    throw ec2Error('MissingParameter', 'The request must contain the parameter LaunchTemplateData');
  const v = addTemplateVersion(
    lt,
    now,
    input.LaunchTemplateData as LaunchTemplateData,
    input.SourceVersion,
    input.VersionDescription,
  );
  return { LaunchTemplateVersion: versionView(world, lt, v) };
}

function modifyLaunchTemplate(
  ctx: CallContext,
  input: ModifyLaunchTemplateCommandInput,
): Out<ModifyLaunchTemplateCommandOutput> {
  const { world } = ctx;
  const lt = findTemplate(world, input.LaunchTemplateId, input.LaunchTemplateName);
  if (input.DefaultVersion !== undefined) {
    const n = input.DefaultVersion === '$Latest' ? lt.latestVersion : Number(input.DefaultVersion);
    if (!lt.versions.some((v) => v.number === n)) {
      throw ec2Error(
        'InvalidLaunchTemplateId.VersionNotFound',
        `Could not find launch template version ${input.DefaultVersion} for launch template ${lt.id}`,
      );
    }
    lt.defaultVersion = n;
  }
  return { LaunchTemplate: templateView(world, lt) };
}

function deleteLaunchTemplate(
  ctx: CallContext,
  input: DeleteLaunchTemplateCommandInput,
): Out<DeleteLaunchTemplateCommandOutput> {
  const { world } = ctx;
  const lt = findTemplate(world, input.LaunchTemplateId, input.LaunchTemplateName);
  delete world.launchTemplates[lt.id];
  return { LaunchTemplate: templateView(world, lt) };
}

function describeLaunchTemplates(
  ctx: CallContext,
  input: DescribeLaunchTemplatesCommandInput,
): Out<DescribeLaunchTemplatesCommandOutput> {
  const { world } = ctx;
  let templates = Object.values(world.launchTemplates).sort(
    (a, b) => a.createdAt - b.createdAt || a.name.localeCompare(b.name),
  );
  const ids = input.LaunchTemplateIds ?? [];
  const names = input.LaunchTemplateNames ?? [];
  if (ids.length > 0 || names.length > 0) {
    for (const id of ids) findTemplate(world, id, undefined);
    for (const name of names) {
      if (!templates.some((t) => t.name === name)) {
        throw ec2Error(
          'InvalidLaunchTemplateName.NotFoundException',
          'At least one of the launch templates specified in the request does not exist.',
        );
      }
    }
    templates = templates.filter((t) => ids.includes(t.id) || names.includes(t.name));
  }
  templates = applyFilters(
    templates,
    input.Filters,
    (name, t) => {
      if (name === 'launch-template-name') return [t.name];
      return tagFilterValues(name, tagList(t.tags));
    },
    badFilter,
    true,
  );
  const { page, next } = paginate(
    templates,
    input.NextToken,
    maxResults(input.MaxResults, 200, 1, 200),
    invalidToken,
  );
  return { LaunchTemplates: page.map((t) => templateView(world, t)), NextToken: next };
}

function describeLaunchTemplateVersions(
  ctx: CallContext,
  input: DescribeLaunchTemplateVersionsCommandInput,
): Out<DescribeLaunchTemplateVersionsCommandOutput> {
  const { world } = ctx;
  const lt = findTemplate(world, input.LaunchTemplateId, input.LaunchTemplateName);
  let versions = [...lt.versions].sort((a, b) => b.number - a.number);
  if (input.Versions && input.Versions.length > 0) {
    const wanted = input.Versions.map((v) => {
      const n = v === '$Latest' ? lt.latestVersion : v === '$Default' ? lt.defaultVersion : Number(v);
      if (!lt.versions.some((x) => x.number === n)) {
        throw ec2Error(
          'InvalidLaunchTemplateId.VersionNotFound',
          `Could not find launch template version ${v} for launch template ${lt.id}`,
        );
      }
      return n;
    });
    versions = versions.filter((v) => wanted.includes(v.number));
  }
  const min = input.MinVersion !== undefined ? Number(input.MinVersion) : undefined;
  const max = input.MaxVersion !== undefined ? Number(input.MaxVersion) : undefined;
  if (min !== undefined) versions = versions.filter((v) => v.number >= min);
  if (max !== undefined) versions = versions.filter((v) => v.number <= max);
  versions = applyFilters(
    versions,
    input.Filters,
    (name, v) => {
      switch (name) {
        case 'image-id':
          return v.data.ImageId ? [String(v.data.ImageId)] : [];
        case 'instance-type':
          return v.data.InstanceType ? [String(v.data.InstanceType)] : [];
        case 'is-default-version':
          return [String(v.number === lt.defaultVersion)];
        default:
          return undefined;
      }
    },
    badFilter,
    true,
  );
  const { page, next } = paginate(
    versions,
    input.NextToken,
    maxResults(input.MaxResults, 200, 1, 200),
    invalidToken,
  );
  return { LaunchTemplateVersions: page.map((v) => versionView(world, lt, v)), NextToken: next };
}

// ── Subnets ──────────────────────────────────────────────────────────────────────────────────

function describeSubnets(
  ctx: CallContext,
  input: DescribeSubnetsCommandInput,
): Out<DescribeSubnetsCommandOutput> {
  const { world } = ctx;
  const ids = input.SubnetIds ?? [];
  for (const id of ids) {
    if (!world.subnets[id])
      throw ec2Error('InvalidSubnetID.NotFound', `The subnet ID '${id}' does not exist`);
  }
  let subnets = Object.values(world.subnets).sort((a, b) => a.id.localeCompare(b.id));
  if (ids.length > 0) subnets = subnets.filter((s) => ids.includes(s.id));
  subnets = applyFilters(
    subnets,
    input.Filters,
    (name, s) => {
      switch (name) {
        case 'subnet-id':
          return [s.id];
        case 'vpc-id':
          return [s.vpcId];
        case 'availability-zone':
          return [s.availabilityZone];
        case 'cidr-block':
        case 'cidr':
          return [s.cidr];
        case 'state':
          return ['available'];
        default:
          return tagFilterValues(name, tagList(s.tags));
      }
    },
    badFilter,
    true,
  );
  const { page, next } = paginate(
    subnets,
    input.NextToken,
    maxResults(input.MaxResults, 1000, 5, 1000),
    invalidToken,
  );
  return {
    Subnets: page.map(
      (s): Subnet => ({
        SubnetId: s.id,
        SubnetArn: `arn:aws:ec2:${world.region}:${world.accountId}:subnet/${s.id}`,
        VpcId: s.vpcId,
        State: 'available',
        AvailabilityZone: s.availabilityZone,
        CidrBlock: s.cidr,
        AvailableIpAddressCount: Math.max(
          0,
          2 ** (32 - Number(s.cidr.split('/')[1] ?? 32)) - 5 - s.allocated,
        ),
        DefaultForAz: false,
        MapPublicIpOnLaunch: false,
        OwnerId: world.accountId,
        Tags: tagList(s.tags),
      }),
    ),
    NextToken: next,
  };
}

export const ec2Handlers: HandlerTable = {
  DescribeInstances: describeInstances,
  DescribeLaunchTemplates: describeLaunchTemplates,
  DescribeLaunchTemplateVersions: describeLaunchTemplateVersions,
  CreateLaunchTemplate: createLaunchTemplate,
  CreateLaunchTemplateVersion: createLaunchTemplateVersion,
  ModifyLaunchTemplate: modifyLaunchTemplate,
  DeleteLaunchTemplate: deleteLaunchTemplate,
  DescribeSubnets: describeSubnets,
};
