/**
 * CloudFormation, thinly: SDK calls in, domain-shaped stacks, events, resources and change sets out
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/).
 */
import {
  type Capability,
  type CloudFormationClient,
  CreateChangeSetCommand,
  CreateStackCommand,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  paginateDescribeStackEvents,
  paginateDescribeStacks,
  paginateListStackResources,
  type Stack as SdkStack,
  type StackEvent as SdkStackEvent,
  UpdateStackCommand,
  ValidateTemplateCommand,
} from '@aws-sdk/client-cloudformation';

/** A stack, as Capstan sees it. */
export interface Stack {
  id: string;
  name: string;
  status: string;
  statusReason?: string;
  createdAt?: Date;
  updatedAt?: Date;
  tags: Record<string, string>;
  parameters: Record<string, string>;
  outputs: Array<{ key: string; value: string; description?: string }>;
}

/** One stack event: a resource (or the stack itself) changing status. */
export interface StackEvent {
  id: string;
  at: Date;
  logicalId: string;
  physicalId?: string;
  type: string;
  status: string;
  reason?: string;
  /** The token of the operation that caused it (CreateStack, UpdateStack, DeleteStack …), if given. */
  token?: string;
}

/** One resource of a stack. */
export interface StackResource {
  logicalId: string;
  physicalId?: string;
  type: string;
  status: string;
  reason?: string;
}

/** One resource change of a change set. */
export interface ResourceChange {
  action: string;
  logicalId: string;
  physicalId?: string;
  type: string;
  /** `True`, `False` or `Conditional` (Modify only). */
  replacement?: string;
}

/** A change set. */
export interface ChangeSet {
  id: string;
  status: string;
  statusReason?: string;
  executionStatus?: string;
  changes: ResourceChange[];
}

/** Where a template comes from: its body, or (too big for a body) its S3 URL. */
export type TemplateInput = { body: string } | { url: string };

function templateFields(template: TemplateInput) {
  return 'body' in template ? { TemplateBody: template.body } : { TemplateURL: template.url };
}

function toStack(s: SdkStack): Stack {
  return {
    id: s.StackId ?? '',
    name: s.StackName ?? '',
    status: s.StackStatus ?? 'UNKNOWN',
    ...(s.StackStatusReason ? { statusReason: s.StackStatusReason } : {}),
    ...(s.CreationTime ? { createdAt: s.CreationTime } : {}),
    ...(s.LastUpdatedTime ? { updatedAt: s.LastUpdatedTime } : {}),
    tags: Object.fromEntries((s.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
    parameters: Object.fromEntries(
      (s.Parameters ?? []).map((p) => [p.ParameterKey ?? '', p.ParameterValue ?? '']),
    ),
    outputs: (s.Outputs ?? []).map((o) => ({
      key: o.OutputKey ?? '',
      value: o.OutputValue ?? '',
      ...(o.Description ? { description: o.Description } : {}),
    })),
  };
}

function toEvent(e: SdkStackEvent): StackEvent {
  return {
    id: e.EventId ?? '',
    at: e.Timestamp ?? new Date(0),
    logicalId: e.LogicalResourceId ?? '',
    ...(e.PhysicalResourceId ? { physicalId: e.PhysicalResourceId } : {}),
    type: e.ResourceType ?? '',
    status: e.ResourceStatus ?? '',
    ...(e.ResourceStatusReason ? { reason: e.ResourceStatusReason } : {}),
    ...(e.ClientRequestToken ? { token: e.ClientRequestToken } : {}),
  };
}

/**
 * Whether `error` is CloudFormation saying a stack does not exist: a ValidationError "Stack with id X
 * does not exist" (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html).
 */
export function isMissingStack(error: unknown): boolean {
  const e = error as { name?: string; message?: string };
  return e?.name === 'ValidationError' && /does not exist/i.test(e.message ?? '');
}

/** Whether `error` is CloudFormation saying an update changes nothing. */
export function isNoUpdate(error: unknown): boolean {
  const e = error as { name?: string; message?: string };
  return e?.name === 'ValidationError' && /No updates are to be performed/i.test(e.message ?? '');
}

/**
 * The stack named (or with the id) `nameOrId`, if there is one. By name, a deleted stack is not
 * found; by id, it is, with status DELETE_COMPLETE.
 */
export async function describeStack(cf: CloudFormationClient, nameOrId: string): Promise<Stack | undefined> {
  try {
    const out = await cf.send(new DescribeStacksCommand({ StackName: nameOrId }));
    const stack = out.Stacks?.[0];
    return stack ? toStack(stack) : undefined;
  } catch (error) {
    if (isMissingStack(error)) return undefined;
    throw error;
  }
}

/** Every live stack carrying tag `key` (with `value`, when given). */
export async function findStacksByTag(
  cf: CloudFormationClient,
  key: string,
  value?: string,
): Promise<Stack[]> {
  const found: Stack[] = [];
  for await (const page of paginateDescribeStacks({ client: cf }, {})) {
    for (const s of page.Stacks ?? []) {
      const stack = toStack(s);
      if (stack.status === 'DELETE_COMPLETE') continue;
      if (key in stack.tags && (value === undefined || stack.tags[key] === value)) found.push(stack);
    }
  }
  return found;
}

/** What CreateStack needs. */
export interface CreateStackInput {
  name: string;
  template: TemplateInput;
  parameters: Record<string, string>;
  capabilities: readonly string[];
  tags: Record<string, string>;
  /** Makes retries of the same create one create. */
  token: string;
}

/** Creates a stack (rolled back on failure, as CloudFormation does by default); its id. */
export async function createStack(cf: CloudFormationClient, input: CreateStackInput): Promise<string> {
  const out = await cf.send(
    new CreateStackCommand({
      StackName: input.name,
      ...templateFields(input.template),
      Parameters: Object.entries(input.parameters).map(([ParameterKey, ParameterValue]) => ({
        ParameterKey,
        ParameterValue,
      })),
      Capabilities: input.capabilities as Capability[],
      Tags: Object.entries(input.tags).map(([Key, Value]) => ({ Key, Value })),
      ClientRequestToken: input.token,
    }),
  );
  return out.StackId ?? '';
}

/** Deletes a stack (idempotent); `retain` names resources of a DELETE_FAILED stack to leave. */
export async function deleteStack(
  cf: CloudFormationClient,
  nameOrId: string,
  token: string,
  retain: readonly string[] = [],
): Promise<void> {
  await cf.send(
    new DeleteStackCommand({
      StackName: nameOrId,
      ClientRequestToken: token,
      ...(retain.length > 0 ? { RetainResources: [...retain] } : {}),
    }),
  );
}

/** Changes only a stack's tags (same template, same parameter values); false when nothing changed. */
export async function retagStack(
  cf: CloudFormationClient,
  stack: Stack,
  tags: Record<string, string>,
  capabilities: readonly string[],
): Promise<boolean> {
  try {
    await cf.send(
      new UpdateStackCommand({
        StackName: stack.id,
        UsePreviousTemplate: true,
        Parameters: Object.keys(stack.parameters).map((ParameterKey) => ({
          ParameterKey,
          UsePreviousValue: true,
        })),
        Capabilities: capabilities as Capability[],
        Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    return true;
  } catch (error) {
    if (isNoUpdate(error)) return false;
    throw error;
  }
}

/**
 * The stack's events after `afterId` (every event when absent), oldest first. DescribeStackEvents
 * lists newest first, so paging stops at `afterId`.
 */
export async function stackEventsSince(
  cf: CloudFormationClient,
  stackId: string,
  afterId?: string,
): Promise<StackEvent[]> {
  const newestFirst: StackEvent[] = [];
  outer: for await (const page of paginateDescribeStackEvents({ client: cf }, { StackName: stackId })) {
    for (const e of page.StackEvents ?? []) {
      if (afterId !== undefined && e.EventId === afterId) break outer;
      newestFirst.push(toEvent(e));
    }
  }
  return newestFirst.reverse();
}

/** The id of the stack's newest event (one page read: events come newest first). */
export async function latestEventId(cf: CloudFormationClient, stackId: string): Promise<string | undefined> {
  const out = await cf.send(new DescribeStackEventsCommand({ StackName: stackId }));
  return out.StackEvents?.[0]?.EventId;
}

/** A stack's resources (a deleted stack's too, by its id, for 90 days). */
export async function stackResources(cf: CloudFormationClient, stackId: string): Promise<StackResource[]> {
  const resources: StackResource[] = [];
  for await (const page of paginateListStackResources({ client: cf }, { StackName: stackId })) {
    for (const r of page.StackResourceSummaries ?? []) {
      resources.push({
        logicalId: r.LogicalResourceId ?? '',
        ...(r.PhysicalResourceId ? { physicalId: r.PhysicalResourceId } : {}),
        type: r.ResourceType ?? '',
        status: r.ResourceStatus ?? '',
        ...(r.ResourceStatusReason ? { reason: r.ResourceStatusReason } : {}),
      });
    }
  }
  return resources;
}

/** The parameters a template declares, and the capabilities it needs. */
export async function validateTemplate(
  cf: CloudFormationClient,
  template: TemplateInput,
): Promise<{ parameters: Array<{ key: string; hasDefault: boolean }>; capabilities: string[] }> {
  const out = await cf.send(new ValidateTemplateCommand(templateFields(template)));
  return {
    parameters: (out.Parameters ?? []).map((p) => ({
      key: p.ParameterKey ?? '',
      hasDefault: p.DefaultValue !== undefined,
    })),
    capabilities: out.Capabilities ?? [],
  };
}

/** What CreateChangeSet needs for an update. */
export interface ChangeSetInput {
  stackId: string;
  name: string;
  template: TemplateInput;
  /** A value, or `undefined` to keep the stack's. */
  parameters: Record<string, string | undefined>;
  capabilities: readonly string[];
  tags: Record<string, string>;
  token: string;
}

/** Creates an UPDATE change set; its id. */
export async function createChangeSet(cf: CloudFormationClient, input: ChangeSetInput): Promise<string> {
  const out = await cf.send(
    new CreateChangeSetCommand({
      StackName: input.stackId,
      ChangeSetName: input.name,
      ChangeSetType: 'UPDATE',
      ...templateFields(input.template),
      Parameters: Object.entries(input.parameters).map(([ParameterKey, value]) =>
        value === undefined
          ? { ParameterKey, UsePreviousValue: true }
          : { ParameterKey, ParameterValue: value },
      ),
      Capabilities: input.capabilities as Capability[],
      Tags: Object.entries(input.tags).map(([Key, Value]) => ({ Key, Value })),
      ClientToken: input.token,
    }),
  );
  return out.Id ?? '';
}

/** The change set `name` of `stackId` with every change (all pages), or undefined when there is none. */
export async function describeChangeSet(
  cf: CloudFormationClient,
  stackId: string,
  name: string,
): Promise<ChangeSet | undefined> {
  const changes: ResourceChange[] = [];
  let token: string | undefined;
  let head: Omit<ChangeSet, 'changes'> | undefined;
  try {
    do {
      const out = await cf.send(
        new DescribeChangeSetCommand({ StackName: stackId, ChangeSetName: name, NextToken: token }),
      );
      head = {
        id: out.ChangeSetId ?? '',
        status: out.Status ?? 'UNKNOWN',
        ...(out.StatusReason ? { statusReason: out.StatusReason } : {}),
        ...(out.ExecutionStatus ? { executionStatus: out.ExecutionStatus } : {}),
      };
      for (const c of out.Changes ?? []) {
        const r = c.ResourceChange;
        if (!r) continue;
        changes.push({
          action: r.Action ?? '',
          logicalId: r.LogicalResourceId ?? '',
          ...(r.PhysicalResourceId ? { physicalId: r.PhysicalResourceId } : {}),
          type: r.ResourceType ?? '',
          ...(r.Replacement ? { replacement: r.Replacement } : {}),
        });
      }
      token = out.NextToken;
    } while (token);
  } catch (error) {
    // AWS answers ChangeSetNotFound (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeChangeSet.html);
    // moto a ValidationError "Stack with id <change set> does not exist" (the conformance suite names the gap).
    const name = (error as { name?: string }).name;
    if (name === 'ChangeSetNotFoundException' || name === 'ChangeSetNotFound' || isMissingStack(error))
      return undefined;
    throw error;
  }
  return head ? { ...head, changes } : undefined;
}

/** Executes a change set. */
export async function executeChangeSet(
  cf: CloudFormationClient,
  stackId: string,
  name: string,
  token: string,
): Promise<void> {
  await cf.send(
    new ExecuteChangeSetCommand({ StackName: stackId, ChangeSetName: name, ClientRequestToken: token }),
  );
}

/** Deletes a change set (one not executed). */
export async function deleteChangeSet(
  cf: CloudFormationClient,
  stackId: string,
  name: string,
): Promise<void> {
  await cf.send(new DeleteChangeSetCommand({ StackName: stackId, ChangeSetName: name }));
}
