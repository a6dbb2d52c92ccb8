/**
 * CloudFormation: stacks made of sandbox resources, their events and resources, updates through
 * UpdateStack or change sets, and template validation — a bounded emulation, not a template engine
 * (see cfn-template.ts for what templates may hold and cfn-resources.ts for the resource types).
 *
 * API reference: https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/Welcome.html
 */
import type {
  Change,
  ChangeSetSummary,
  CreateChangeSetCommandInput,
  CreateChangeSetCommandOutput,
  CreateStackCommandInput,
  CreateStackCommandOutput,
  DeleteChangeSetCommandInput,
  DeleteStackCommandInput,
  DescribeChangeSetCommandInput,
  DescribeChangeSetCommandOutput,
  DescribeStackEventsCommandInput,
  DescribeStackEventsCommandOutput,
  DescribeStackResourcesCommandInput,
  DescribeStackResourcesCommandOutput,
  DescribeStacksCommandInput,
  DescribeStacksCommandOutput,
  ExecuteChangeSetCommandInput,
  GetTemplateCommandInput,
  GetTemplateCommandOutput,
  ListChangeSetsCommandInput,
  ListChangeSetsCommandOutput,
  ListStackResourcesCommandInput,
  ListStackResourcesCommandOutput,
  Stack,
  StackEvent,
  UpdateStackCommandInput,
  UpdateStackCommandOutput,
  ValidateTemplateCommandInput,
  ValidateTemplateCommandOutput,
} from '@aws-sdk/client-cloudformation';
import {
  computeChanges,
  readStackTemplate,
  stacksOf,
  startCreate,
  startDelete,
  startUpdate,
  stepStack,
  UPDATABLE,
  updateChangesNothing,
} from './cfn-engine.js';
import { cfnError, readTemplate, resolveParameters, type Template } from './cfn-template.js';
import type { CallContext, HandlerTable, Out } from './context.js';
import { paginate, toDate } from './util.js';
import {
  type ChangeSetState,
  nextUuid,
  type StackResourceState,
  type StackState,
  type World,
} from './world.js';

const NAME = /^[a-zA-Z][-a-zA-Z0-9]*$/;
const CAPABILITIES = ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'];
const ON_FAILURE = ['DO_NOTHING', 'ROLLBACK', 'DELETE'];
const invalidToken = () => cfnError('ValidationError', 'Invalid NextToken');

function changeSetsOf(world: World): Record<string, ChangeSetState> {
  world.changeSets ??= {};
  return world.changeSets;
}

function notFound(name: string) {
  return cfnError('ValidationError', `Stack with id ${name} does not exist`);
}

/** By name: the live stack of that name; by stack id: any stack, a deleted one too. */
export function findStack(world: World, nameOrId: string | undefined): StackState {
  if (!nameOrId) throw cfnError('ValidationError', 'StackName is required');
  const stacks = stacksOf(world);
  const stack = nameOrId.startsWith('arn:')
    ? stacks[nameOrId]
    : Object.values(stacks).find((s) => s.name === nameOrId && s.status !== 'DELETE_COMPLETE');
  if (!stack) throw notFound(nameOrId);
  return stack;
}

function liveStack(world: World, name: string): StackState | undefined {
  return Object.values(stacksOf(world)).find((s) => s.name === name && s.status !== 'DELETE_COMPLETE');
}

function checkName(name: string | undefined, what = 'stackName'): string {
  if (!name)
    throw cfnError(
      'ValidationError',
      `1 validation error detected: Value null at '${what}' failed to satisfy constraint: Member must not be null`,
    );
  if (!NAME.test(name) || name.length > 128) {
    throw cfnError(
      'ValidationError',
      `1 validation error detected: Value '${name}' at '${what}' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*`,
    );
  }
  return name;
}

function checkCapabilities(given: string[] | undefined, template: Template): string[] {
  const caps = [...(given ?? [])];
  for (const c of caps) {
    if (!CAPABILITIES.includes(c)) {
      throw cfnError(
        'ValidationError',
        `1 validation error detected: Value '[${c}]' at 'capabilities' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [CAPABILITY_AUTO_EXPAND, CAPABILITY_NAMED_IAM, CAPABILITY_IAM]]`,
      );
    }
  }
  const needed = requiredCapability(template);
  if (needed && !caps.includes(needed) && !caps.includes('CAPABILITY_NAMED_IAM')) {
    throw cfnError('InsufficientCapabilitiesException', `Requires capabilities : [${needed}]`);
  }
  return caps;
}

/** IAM resources need an acknowledgement; named ones the NAMED_IAM one. */
function requiredCapability(template: Template): string | undefined {
  const iam = template.resources.filter((r) => r.type.startsWith('AWS::IAM::'));
  if (iam.length === 0) return undefined;
  const named = iam.some((r) =>
    ['RoleName', 'UserName', 'GroupName', 'ManagedPolicyName', 'InstanceProfileName'].some(
      (k) => r.properties[k] !== undefined,
    ),
  );
  return named ? 'CAPABILITY_NAMED_IAM' : 'CAPABILITY_IAM';
}

function templateBody(input: {
  TemplateBody?: string | undefined;
  TemplateURL?: string | undefined;
}): string {
  if (input.TemplateURL !== undefined) {
    throw cfnError(
      'ValidationError',
      'TemplateURL is not supported by the Capstan AWS sandbox: pass the template as TemplateBody',
    );
  }
  if (!input.TemplateBody)
    throw cfnError('ValidationError', 'Either Template URL or Template Body must be specified.');
  return input.TemplateBody;
}

function stackTagsOf(tags: { Key?: string | undefined; Value?: string | undefined }[] | undefined) {
  const list = (tags ?? []).map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' }));
  if (list.length > 50)
    throw cfnError(
      'ValidationError',
      '1 validation error detected: Member must have length less than or equal to 50',
    );
  for (const t of list) {
    if (t.Key.toLowerCase().startsWith('aws:')) {
      throw cfnError('ValidationError', `Tag key ${t.Key} is invalid: tag keys may not start with aws:`);
    }
  }
  return list;
}

function stackId(world: World, name: string): string {
  return `arn:aws:cloudformation:${world.region}:${world.accountId}:stack/${name}/${nextUuid(world)}`;
}

function newStack(
  world: World,
  now: number,
  name: string,
  body: string,
  template: Template,
  fields: Partial<StackState>,
): StackState {
  const stack: StackState = {
    id: stackId(world, name),
    name,
    status: 'CREATE_IN_PROGRESS',
    description: template.description,
    createdAt: now,
    template: body,
    parameters: {},
    tags: [],
    capabilities: [],
    onFailure: 'ROLLBACK',
    resources: {},
    events: [],
    ...fields,
  };
  stacksOf(world)[stack.id] = stack;
  // Deleted stacks are kept (found by id) but not for ever: the oldest beyond 100 go.
  const deleted = Object.values(stacksOf(world))
    .filter((s) => s.status === 'DELETE_COMPLETE')
    .sort((a, b) => (a.deletedAt ?? 0) - (b.deletedAt ?? 0));
  for (const s of deleted.slice(0, Math.max(0, deleted.length - 100))) delete stacksOf(world)[s.id];
  return stack;
}

// ── Stacks ───────────────────────────────────────────────────────────────────────────────────

function createStack(ctx: CallContext, input: CreateStackCommandInput): Out<CreateStackCommandOutput> {
  const { world, now, timing } = ctx;
  const name = checkName(input.StackName);
  const existing = liveStack(world, name);
  if (existing) {
    // A retried request (same ClientRequestToken) gets the stack it created.
    if (input.ClientRequestToken && existing.createToken === input.ClientRequestToken)
      return { StackId: existing.id };
    throw cfnError('AlreadyExistsException', `Stack [${name}] already exists`);
  }
  const body = templateBody(input);
  const template = readStackTemplate(body);
  const capabilities = checkCapabilities(input.Capabilities, template);
  const parameters = resolveParameters(template, input.Parameters);
  if (input.OnFailure !== undefined && input.DisableRollback !== undefined) {
    throw cfnError('ValidationError', 'You cannot specify both OnFailure and DisableRollback.');
  }
  if (input.OnFailure !== undefined && !ON_FAILURE.includes(input.OnFailure)) {
    throw cfnError(
      'ValidationError',
      `1 validation error detected: Value '${input.OnFailure}' at 'onFailure' failed to satisfy constraint: Member must satisfy enum value set: [DO_NOTHING, ROLLBACK, DELETE]`,
    );
  }
  const onFailure = input.OnFailure ?? (input.DisableRollback ? 'DO_NOTHING' : 'ROLLBACK');
  const stack = newStack(world, now, name, body, template, {
    parameters,
    tags: stackTagsOf(input.Tags),
    capabilities,
    onFailure: onFailure as StackState['onFailure'],
    createToken: input.ClientRequestToken,
  });
  startCreate(world, stack, now, input.ClientRequestToken);
  stepStack(world, stack, now, timing);
  return { StackId: stack.id };
}

function parameterView(stack: StackState, template: Template | undefined) {
  return Object.entries(stack.parameters).map(([ParameterKey, value]) => ({
    ParameterKey,
    ParameterValue: template?.parameters.find((p) => p.key === ParameterKey)?.noEcho ? '****' : value,
  }));
}

function safeTemplate(body: string): Template | undefined {
  try {
    return readTemplate(body);
  } catch {
    return undefined;
  }
}

function stackView(stack: StackState): Stack {
  const view: Stack = {
    StackId: stack.id,
    StackName: stack.name,
    Description: stack.description,
    Parameters: parameterView(stack, safeTemplate(stack.template)),
    CreationTime: toDate(stack.createdAt),
    RollbackConfiguration: {},
    StackStatus: stack.status as Stack['StackStatus'],
    StackStatusReason: stack.statusReason,
    DisableRollback: stack.onFailure === 'DO_NOTHING',
    NotificationARNs: [],
    Capabilities: stack.capabilities as Stack['Capabilities'],
    Tags: stack.tags.map((t) => ({ ...t })),
    EnableTerminationProtection: false,
    DriftInformation: { StackDriftStatus: 'NOT_CHECKED' },
  };
  if (stack.lastUpdatedAt !== undefined) view.LastUpdatedTime = toDate(stack.lastUpdatedAt);
  if (stack.deletedAt !== undefined) view.DeletionTime = toDate(stack.deletedAt);
  if (stack.outputs && stack.outputs.length > 0) {
    view.Outputs = stack.outputs.map((o) => ({
      OutputKey: o.key,
      OutputValue: o.value,
      Description: o.description,
      ExportName: o.exportName,
    }));
  }
  return view;
}

function describeStacks(
  ctx: CallContext,
  input: DescribeStacksCommandInput,
): Out<DescribeStacksCommandOutput> {
  const { world } = ctx;
  if (input.StackName) return { Stacks: [stackView(findStack(world, input.StackName))] };
  const live = Object.values(stacksOf(world))
    .filter((s) => s.status !== 'DELETE_COMPLETE')
    .sort((a, b) => b.createdAt - a.createdAt || a.name.localeCompare(b.name));
  const { page, next } = paginate(live, input.NextToken, 100, invalidToken);
  return { Stacks: page.map(stackView), NextToken: next };
}

function describeStackEvents(
  ctx: CallContext,
  input: DescribeStackEventsCommandInput,
): Out<DescribeStackEventsCommandOutput> {
  const stack = findStack(ctx.world, input.StackName);
  const events = [...stack.events].reverse().map(
    (e): StackEvent => ({
      StackId: stack.id,
      EventId: e.id,
      StackName: stack.name,
      LogicalResourceId: e.logicalId,
      PhysicalResourceId: e.physicalId,
      ResourceType: e.type,
      Timestamp: toDate(e.at),
      ResourceStatus: e.status as StackEvent['ResourceStatus'],
      ResourceStatusReason: e.reason,
      ClientRequestToken: e.token,
    }),
  );
  const { page, next } = paginate(events, input.NextToken, 100, invalidToken);
  return { StackEvents: page, NextToken: next };
}

/** The fields ListStackResources and DescribeStackResources share. */
function resourceFields(r: StackResourceState) {
  return {
    LogicalResourceId: r.logicalId,
    PhysicalResourceId: r.physicalId,
    ResourceType: r.type,
    ResourceStatus: r.status as 'CREATE_COMPLETE',
    ResourceStatusReason: r.statusReason,
    DriftInformation: { StackResourceDriftStatus: 'NOT_CHECKED' as const },
  };
}

function listStackResources(
  ctx: CallContext,
  input: ListStackResourcesCommandInput,
): Out<ListStackResourcesCommandOutput> {
  const stack = findStack(ctx.world, input.StackName);
  const summaries = Object.values(stack.resources).map((r) => ({
    ...resourceFields(r),
    LastUpdatedTimestamp: toDate(r.updatedAt),
  }));
  const { page, next } = paginate(summaries, input.NextToken, 100, invalidToken);
  return { StackResourceSummaries: page, NextToken: next };
}

function describeStackResources(
  ctx: CallContext,
  input: DescribeStackResourcesCommandInput,
): Out<DescribeStackResourcesCommandOutput> {
  const { world } = ctx;
  let stack: StackState | undefined;
  if (input.StackName) stack = findStack(world, input.StackName);
  else if (input.PhysicalResourceId) {
    stack = Object.values(stacksOf(world)).find((s) =>
      Object.values(s.resources).some((r) => r.physicalId === input.PhysicalResourceId),
    );
    if (!stack) throw cfnError('ValidationError', `Stack for ${input.PhysicalResourceId} does not exist`);
  } else {
    throw cfnError('ValidationError', 'Either StackName or PhysicalResourceId must be specified.');
  }
  const found = stack;
  return {
    StackResources: Object.values(found.resources)
      .filter((r) => !input.LogicalResourceId || r.logicalId === input.LogicalResourceId)
      .map((r) => ({
        StackName: found.name,
        StackId: found.id,
        ...resourceFields(r),
        Timestamp: toDate(r.updatedAt),
      })),
  };
}

const BUSY_DELETE = new Set(['DELETE_COMPLETE', 'DELETE_IN_PROGRESS']);

function deleteStack(ctx: CallContext, input: DeleteStackCommandInput): Out<object> {
  const { world, now, timing } = ctx;
  if (!input.StackName) throw cfnError('ValidationError', 'StackName is required');
  const stack = input.StackName.startsWith('arn:')
    ? stacksOf(world)[input.StackName]
    : liveStack(world, input.StackName);
  // Deleting what is gone (or going) is not an error.
  if (!stack || BUSY_DELETE.has(stack.status)) return {};
  const retain = input.RetainResources ?? [];
  if (retain.length > 0 && stack.status !== 'DELETE_FAILED') {
    throw cfnError(
      'ValidationError',
      `Invalid operation on stack [${stack.id}]. RetainResources can only be specified when the stack is in the DELETE_FAILED state.`,
    );
  }
  for (const id of retain) {
    if (!stack.resources[id]) {
      throw cfnError('ValidationError', `The specified resources [${id}] do not exist in the stack.`);
    }
  }
  if (
    stack.status.endsWith('_IN_PROGRESS') &&
    stack.status !== 'CREATE_IN_PROGRESS' &&
    stack.status !== 'REVIEW_IN_PROGRESS'
  ) {
    throw cfnError(
      'ValidationError',
      `Stack [${stack.name}] cannot be deleted while in status ${stack.status}`,
    );
  }
  startDelete(world, stack, now, input.ClientRequestToken, retain);
  stepStack(world, stack, now, timing);
  return {};
}

function updatableStack(world: World, name: string | undefined): StackState {
  const stack = findStack(world, name);
  if (!UPDATABLE.has(stack.status)) {
    throw cfnError(
      'ValidationError',
      `Stack:${stack.id} is in ${stack.status} state and can not be updated.`,
    );
  }
  return stack;
}

interface UpdateRequest {
  TemplateBody?: string | undefined;
  TemplateURL?: string | undefined;
  UsePreviousTemplate?: boolean | undefined;
  Parameters?: { ParameterKey?: string; ParameterValue?: string; UsePreviousValue?: boolean }[] | undefined;
  Tags?: { Key?: string; Value?: string }[] | undefined;
  Capabilities?: string[] | undefined;
}

/** The template, parameters and tags an update asks for. */
function updateOf(stack: StackState, input: UpdateRequest) {
  if (input.UsePreviousTemplate && (input.TemplateBody !== undefined || input.TemplateURL !== undefined)) {
    throw cfnError(
      'ValidationError',
      'You cannot specify both usePreviousTemplate and Template Body/Template URL',
    );
  }
  const body = input.UsePreviousTemplate ? stack.template : templateBody(input);
  const template = readStackTemplate(body);
  const capabilities = checkCapabilities(input.Capabilities, template);
  const parameters = resolveParameters(template, input.Parameters, stack.parameters);
  // Without Tags the stack keeps its own; an empty list removes them.
  const tags = input.Tags === undefined ? stack.tags : stackTagsOf(input.Tags);
  return { body, template, parameters, tags, capabilities };
}

function updateStack(ctx: CallContext, input: UpdateStackCommandInput): Out<UpdateStackCommandOutput> {
  const { world, now, timing } = ctx;
  const found = findStack(world, input.StackName);
  if (input.ClientRequestToken && found.lastToken === input.ClientRequestToken) return { StackId: found.id };
  const stack = updatableStack(world, input.StackName);
  const u = updateOf(stack, input);
  const changes = computeChanges(world, stack, u.template, u.parameters, u.tags);
  if (updateChangesNothing(world, stack, u.template, u.parameters, u.tags, changes)) {
    throw cfnError('ValidationError', 'No updates are to be performed.');
  }
  stack.capabilities = u.capabilities;
  obsoleteChangeSets(world, stack.id);
  startUpdate(
    world,
    stack,
    now,
    { template: u.body, parameters: u.parameters, tags: u.tags },
    input.ClientRequestToken,
  );
  stepStack(world, stack, now, timing);
  return { StackId: stack.id };
}

// ── Change sets ──────────────────────────────────────────────────────────────────────────────

function obsoleteChangeSets(world: World, stackId: string, except?: string): void {
  for (const cs of Object.values(changeSetsOf(world))) {
    if (cs.stackId === stackId && cs.id !== except && cs.executionStatus === 'AVAILABLE')
      cs.executionStatus = 'OBSOLETE';
  }
}

function findChangeSet(
  world: World,
  name: string | undefined,
  stackName: string | undefined,
): ChangeSetState {
  if (!name) throw cfnError('ValidationError', 'ChangeSetName is required');
  const sets = changeSetsOf(world);
  let cs: ChangeSetState | undefined;
  if (name.startsWith('arn:')) cs = sets[name];
  else {
    if (!stackName) {
      throw cfnError(
        'ValidationError',
        'StackName must be specified if ChangeSetName is not specified as an ARN.',
      );
    }
    const stack = findStack(world, stackName);
    cs = Object.values(sets).find((c) => c.stackId === stack.id && c.name === name);
  }
  if (!cs || cs.status === 'DELETE_COMPLETE')
    throw cfnError('ChangeSetNotFound', `ChangeSet [${name}] does not exist`);
  return cs;
}

function createChangeSet(
  ctx: CallContext,
  input: CreateChangeSetCommandInput,
): Out<CreateChangeSetCommandOutput> {
  const { world, now, timing } = ctx;
  const name = checkName(input.ChangeSetName, 'changeSetName');
  const stackName = input.StackName ?? '';
  const type = input.ChangeSetType ?? 'UPDATE';
  if (type !== 'UPDATE' && type !== 'CREATE') {
    throw cfnError(
      'ValidationError',
      `ChangeSetType ${type} is not supported by the sandbox (CREATE or UPDATE)`,
    );
  }
  let stack: StackState;
  let body: string;
  let template: Template;
  let parameters: Record<string, string>;
  let tags: { Key: string; Value: string }[];
  let capabilities: string[];
  if (type === 'CREATE') {
    checkName(stackName);
    const existing = liveStack(world, stackName);
    if (existing && existing.status !== 'REVIEW_IN_PROGRESS') {
      throw cfnError(
        'ValidationError',
        `Stack [${stackName}] already exists and cannot be created again with the changeSet [${name}].`,
      );
    }
    body = templateBody(input);
    template = readStackTemplate(body);
    capabilities = checkCapabilities(input.Capabilities, template);
    parameters = resolveParameters(template, input.Parameters);
    tags = stackTagsOf(input.Tags);
    stack =
      existing ??
      newStack(world, now, stackName, body, template, {
        status: 'REVIEW_IN_PROGRESS',
        parameters,
        tags,
        capabilities,
      });
    if (!existing) {
      stack.events.push({
        id: nextUuid(world),
        logicalId: stack.name,
        physicalId: stack.id,
        type: 'AWS::CloudFormation::Stack',
        status: 'REVIEW_IN_PROGRESS',
        reason: 'User Initiated',
        at: now,
        token: input.ClientToken,
      });
      stack.statusReason = 'User Initiated';
    }
  } else {
    const found = findStack(world, stackName);
    if (found.status === 'REVIEW_IN_PROGRESS') {
      throw cfnError('ValidationError', `Stack [${found.name}] does not exist`);
    }
    stack = updatableStack(world, stackName);
    const u = updateOf(stack, input);
    ({ body, template, parameters, tags, capabilities } = u);
  }
  if (
    Object.values(changeSetsOf(world)).some(
      (c) => c.stackId === stack.id && c.name === name && c.status !== 'DELETE_COMPLETE',
    )
  ) {
    throw cfnError(
      'AlreadyExistsException',
      `ChangeSet [${name}] already exists and cannot be created again`,
    );
  }
  const id = `arn:aws:cloudformation:${world.region}:${world.accountId}:changeSet/${name}/${nextUuid(world)}`;
  changeSetsOf(world)[id] = {
    id,
    name,
    stackId: stack.id,
    stackName: stack.name,
    type,
    description: input.Description,
    createdAt: now,
    status: 'CREATE_PENDING',
    executionStatus: 'UNAVAILABLE',
    template: body,
    parameters,
    tags,
    capabilities,
    changes: computeChanges(world, stack, template, parameters, tags),
    token: input.ClientToken,
    next: { at: now + Math.round(timing.changeSet / 2), event: 'in-progress' },
  };
  return { Id: id, StackId: stack.id };
}

function changeView(c: ChangeSetState['changes'][number]): Change {
  return {
    Type: 'Resource',
    ResourceChange: {
      Action: c.action,
      LogicalResourceId: c.logicalId,
      PhysicalResourceId: c.physicalId,
      ResourceType: c.type,
      Replacement: c.replacement,
      Scope: c.scope as ('Properties' | 'Tags')[],
      Details: c.details.map((d) => ({
        Target: {
          Attribute: d.attribute as 'Properties',
          Name: d.name,
          RequiresRecreation: d.requiresRecreation,
        },
        Evaluation: d.evaluation,
        ChangeSource: d.changeSource as 'DirectModification',
        CausingEntity: d.causingEntity,
      })),
    },
  };
}

function describeChangeSet(
  ctx: CallContext,
  input: DescribeChangeSetCommandInput,
): Out<DescribeChangeSetCommandOutput> {
  const cs = findChangeSet(ctx.world, input.ChangeSetName, input.StackName);
  const ready = cs.status === 'CREATE_COMPLETE';
  const stack = stacksOf(ctx.world)[cs.stackId];
  const noEcho = new Set(
    safeTemplate(cs.template)
      ?.parameters.filter((p) => p.noEcho)
      .map((p) => p.key),
  );
  const { page, next } = paginate(
    ready ? cs.changes.map(changeView) : [],
    input.NextToken,
    100,
    invalidToken,
  );
  return {
    ChangeSetName: cs.name,
    ChangeSetId: cs.id,
    StackId: cs.stackId,
    StackName: stack?.name ?? cs.stackName,
    Description: cs.description,
    Parameters: Object.entries(cs.parameters).map(([ParameterKey, v]) => ({
      ParameterKey,
      ParameterValue: noEcho.has(ParameterKey) ? '****' : v,
    })),
    CreationTime: toDate(cs.createdAt),
    ExecutionStatus: cs.executionStatus as 'AVAILABLE',
    Status: cs.status as 'CREATE_COMPLETE',
    StatusReason: cs.statusReason,
    NotificationARNs: [],
    RollbackConfiguration: {},
    Capabilities: cs.capabilities as 'CAPABILITY_IAM'[],
    Tags: cs.tags.map((t) => ({ ...t })),
    Changes: page,
    NextToken: next,
    IncludeNestedStacks: false,
  };
}

function executeChangeSet(ctx: CallContext, input: ExecuteChangeSetCommandInput): Out<object> {
  const { world, now, timing } = ctx;
  const cs = findChangeSet(world, input.ChangeSetName, input.StackName);
  if (cs.executionStatus !== 'AVAILABLE') {
    throw cfnError(
      'InvalidChangeSetStatus',
      `ChangeSet [${cs.id}] cannot be executed in its current execution status of [${cs.executionStatus}]`,
    );
  }
  const stack = stacksOf(world)[cs.stackId];
  if (!stack) throw notFound(cs.stackName);
  cs.executionStatus = 'EXECUTE_IN_PROGRESS';
  obsoleteChangeSets(world, stack.id, cs.id);
  stack.capabilities = cs.capabilities;
  if (cs.type === 'CREATE') {
    if (stack.status !== 'REVIEW_IN_PROGRESS') {
      throw cfnError(
        'ValidationError',
        `Stack:${stack.id} is in ${stack.status} state and can not be updated.`,
      );
    }
    stack.template = cs.template;
    stack.parameters = cs.parameters;
    stack.tags = cs.tags;
    stack.onFailure = input.DisableRollback ? 'DO_NOTHING' : 'ROLLBACK';
    startCreate(world, stack, now, input.ClientRequestToken, cs.id);
  } else {
    if (!UPDATABLE.has(stack.status)) {
      throw cfnError(
        'ValidationError',
        `Stack:${stack.id} is in ${stack.status} state and can not be updated.`,
      );
    }
    startUpdate(
      world,
      stack,
      now,
      { template: cs.template, parameters: cs.parameters, tags: cs.tags },
      input.ClientRequestToken,
      cs.id,
    );
  }
  stepStack(world, stack, now, timing);
  return {};
}

function deleteChangeSet(ctx: CallContext, input: DeleteChangeSetCommandInput): Out<object> {
  const cs = findChangeSet(ctx.world, input.ChangeSetName, input.StackName);
  if (cs.executionStatus === 'EXECUTE_IN_PROGRESS') {
    throw cfnError(
      'InvalidChangeSetStatus',
      `ChangeSet [${cs.id}] cannot be deleted in its current execution status of [${cs.executionStatus}]`,
    );
  }
  delete changeSetsOf(ctx.world)[cs.id];
  return {};
}

function listChangeSets(
  ctx: CallContext,
  input: ListChangeSetsCommandInput,
): Out<ListChangeSetsCommandOutput> {
  const stack = findStack(ctx.world, input.StackName);
  const summaries = Object.values(changeSetsOf(ctx.world))
    .filter((c) => c.stackId === stack.id)
    .sort((a, b) => a.createdAt - b.createdAt)
    .map(
      (c): ChangeSetSummary => ({
        StackId: c.stackId,
        StackName: stack.name,
        ChangeSetId: c.id,
        ChangeSetName: c.name,
        ExecutionStatus: c.executionStatus as 'AVAILABLE',
        Status: c.status as 'CREATE_COMPLETE',
        StatusReason: c.statusReason,
        CreationTime: toDate(c.createdAt),
        Description: c.description,
        IncludeNestedStacks: false,
      }),
    );
  const { page, next } = paginate(summaries, input.NextToken, 100, invalidToken);
  return { Summaries: page, NextToken: next };
}

// ── Templates ────────────────────────────────────────────────────────────────────────────────

function validateTemplate(
  _ctx: CallContext,
  input: ValidateTemplateCommandInput,
): Out<ValidateTemplateCommandOutput> {
  const template = readStackTemplate(templateBody(input));
  const cap = requiredCapability(template);
  return {
    Parameters: template.parameters.map((p) => ({
      ParameterKey: p.key,
      DefaultValue: p.default,
      NoEcho: p.noEcho,
      Description: p.description,
    })),
    Description: template.description,
    Capabilities: cap ? [cap as 'CAPABILITY_IAM'] : [],
    CapabilitiesReason: cap
      ? `The following resource(s) require capabilities: [${[...new Set(template.resources.filter((r) => r.type.startsWith('AWS::IAM::')).map((r) => r.type))].join(', ')}]`
      : undefined,
    DeclaredTransforms: [],
  };
}

function getTemplate(ctx: CallContext, input: GetTemplateCommandInput): Out<GetTemplateCommandOutput> {
  const body = input.ChangeSetName
    ? findChangeSet(ctx.world, input.ChangeSetName, input.StackName).template
    : findStack(ctx.world, input.StackName).template;
  return { TemplateBody: body, StagesAvailable: ['Original', 'Processed'] };
}

export const cloudFormationHandlers: HandlerTable = {
  CreateStack: createStack,
  DescribeStacks: describeStacks,
  DescribeStackEvents: describeStackEvents,
  ListStackResources: listStackResources,
  DescribeStackResources: describeStackResources,
  DeleteStack: deleteStack,
  UpdateStack: updateStack,
  CreateChangeSet: createChangeSet,
  DescribeChangeSet: describeChangeSet,
  ExecuteChangeSet: executeChangeSet,
  DeleteChangeSet: deleteChangeSet,
  ListChangeSets: listChangeSets,
  ValidateTemplate: validateTemplate,
  GetTemplate: getTemplate,
};
