/**
 * CloudFormation's stack operations on the sandbox clock (pure: world, time, timing).
 *
 * An operation is a set of tasks, one per resource, each waiting for the tasks it depends on; a
 * task runs for `timing.stackResource` (its resource IN_PROGRESS), then completes or fails. Stack
 * statuses move as AWS's do
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html#cfn-console-view-stack-data-resources-status-codes):
 * CREATE_IN_PROGRESS → CREATE_COMPLETE, or ROLLBACK_IN_PROGRESS → ROLLBACK_COMPLETE (OnFailure);
 * UPDATE_IN_PROGRESS → UPDATE_COMPLETE_CLEANUP_IN_PROGRESS → UPDATE_COMPLETE, or
 * UPDATE_ROLLBACK_IN_PROGRESS → UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS → UPDATE_ROLLBACK_COMPLETE;
 * DELETE_IN_PROGRESS → DELETE_COMPLETE or DELETE_FAILED. Resources are created in dependency order
 * and deleted in reverse; a replaced resource's old physical resource is deleted in the cleanup.
 */

import { RESOURCE_PROVIDERS, ResourceFailure, type ResourceProvider } from './cfn-resources.js';
import {
  cfnError,
  creationOrder,
  readTemplate,
  resolveValue,
  type Scope,
  type Template,
} from './cfn-template.js';
import type { CallContext } from './context.js';
import { SandboxAwsError } from './errors.js';
import { advanceWorld, reconcileAll } from './lifecycle.js';
import {
  nextUuid,
  type ResourceChangeState,
  type SandboxTiming,
  type StackOperation,
  type StackResourceState,
  type StackState,
  type StackTask,
  type TemplateValue,
  type World,
} from './world.js';

type Props = Record<string, TemplateValue>;

const MAX_EVENTS_PER_STACK = 2_000;

export function stacksOf(world: World): Record<string, StackState> {
  world.stacks ??= {};
  return world.stacks;
}

/** Statuses an UpdateStack or a change set may start from. */
export const UPDATABLE = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE']);

const GONE = new Set(['DELETE_COMPLETE', 'DELETE_SKIPPED']);

// ── Events ───────────────────────────────────────────────────────────────────────────────────

function stackEvent(world: World, stack: StackState, status: string, at: number, reason?: string): void {
  stack.status = status;
  stack.statusReason = reason;
  pushEvent(world, stack, {
    logicalId: stack.name,
    physicalId: stack.id,
    type: 'AWS::CloudFormation::Stack',
    status,
    reason,
    at,
  });
}

function resourceEvent(
  world: World,
  stack: StackState,
  r: StackResourceState,
  status: string,
  at: number,
  reason?: string,
  physicalId = r.physicalId,
  setStatus = true,
): void {
  if (setStatus) {
    r.status = status;
    r.statusReason = reason;
    r.updatedAt = at;
  }
  pushEvent(world, stack, {
    logicalId: r.logicalId,
    physicalId: physicalId ?? '',
    type: r.type,
    status,
    reason,
    at,
  });
}

function pushEvent(
  world: World,
  stack: StackState,
  e: { logicalId: string; physicalId: string; type: string; status: string; reason?: string; at: number },
): void {
  stack.events.push({ id: nextUuid(world), ...e, token: stack.operation?.token });
  if (stack.events.length > MAX_EVENTS_PER_STACK)
    stack.events.splice(0, stack.events.length - MAX_EVENTS_PER_STACK);
}

// ── Scope ────────────────────────────────────────────────────────────────────────────────────

/** Marks a value not known until the update runs (a change set's "Dynamic" evaluation). */
const DYNAMIC = '{{sandbox:dynamic}}';

export function stackScope(
  world: World,
  stack: StackState,
  template: Template,
  parameters: Record<string, string>,
  unknown?: { refs: Set<string>; atts: Set<string> },
): Scope {
  return {
    stackName: stack.name,
    stackId: stack.id,
    region: world.region,
    accountId: world.accountId,
    parameters,
    parameterTypes: Object.fromEntries(template.parameters.map((p) => [p.key, p.type])),
    ref(id) {
      if (unknown?.refs.has(id)) return `${DYNAMIC}${id}`;
      const r = stack.resources[id];
      if (!r?.physicalId) return `${DYNAMIC}${id}`;
      return r.physicalId;
    },
    getAtt(id, attribute) {
      if (unknown?.atts.has(id)) return `${DYNAMIC}${id}.${attribute}`;
      const value = stack.resources[id]?.attributes[attribute];
      return value ?? `${DYNAMIC}${id}.${attribute}`;
    },
  };
}

/**
 * Reads a template for a stack: readTemplate's checks, and Fn::GetAtt asking only for attributes the
 * resource type has (CloudFormation refuses the template otherwise, before anything is created).
 */
export function readStackTemplate(body: string): Template {
  const template = readTemplate(body);
  const dummy: Scope = {
    stackName: 'stack',
    stackId: 'stack',
    region: 'region',
    accountId: 'account',
    parameters: Object.fromEntries(template.parameters.map((p) => [p.key, p.default ?? ''])),
    parameterTypes: Object.fromEntries(template.parameters.map((p) => [p.key, p.type])),
    ref: (id) => id,
    getAtt(id, attribute) {
      const type = template.resources.find((r) => r.logicalId === id)?.type ?? '';
      const provider = RESOURCE_PROVIDERS[type];
      if (provider && !provider.attributes.includes(attribute)) {
        throw cfnError(
          'ValidationError',
          `Template error: resource ${id} does not support attribute type ${attribute} in Fn::GetAtt`,
        );
      }
      return `${id}.${attribute}`;
    },
  };
  for (const r of template.resources) resolveValue(r.properties, dummy);
  for (const o of template.outputs) resolveValue(o.value, dummy);
  return template;
}

function isDynamic(v: unknown): boolean {
  return JSON.stringify(v ?? null).includes(DYNAMIC);
}

// ── Starting operations ──────────────────────────────────────────────────────────────────────

function tasksFor(
  ids: string[],
  action: StackTask['action'],
  after: (id: string) => string[],
): Record<string, StackTask> {
  const set = new Set(ids);
  const tasks: Record<string, StackTask> = {};
  for (const id of ids)
    tasks[id] = { action, after: after(id).filter((d) => set.has(d) && d !== id), state: 'waiting' };
  return tasks;
}

/** Who depends on `id` in a template: deleting `id` waits for them. */
function dependents(template: Template, id: string): string[] {
  return template.resources.filter((r) => r.deps.includes(id)).map((r) => r.logicalId);
}

function templateOf(text: string): Template {
  return readTemplate(text);
}

export function startCreate(
  world: World,
  stack: StackState,
  at: number,
  token?: string,
  changeSetId?: string,
): void {
  const template = templateOf(stack.template);
  stack.operation = { phase: 'CREATE_IN_PROGRESS', token, changeSetId, tasks: {}, failed: [] };
  stack.lastToken = token;
  stackEvent(world, stack, 'CREATE_IN_PROGRESS', at, 'User Initiated');
  const order = creationOrder(template.resources);
  stack.operation.tasks = tasksFor(
    order,
    'create',
    (id) => template.resources.find((r) => r.logicalId === id)?.deps ?? [],
  );
  stack.next = { at, event: 'step' };
}

function deletionTasks(
  stack: StackState,
  template: Template,
  retain: string[] = [],
): Record<string, StackTask> {
  const ids = Object.values(stack.resources)
    .filter((r) => !GONE.has(r.status))
    .map((r) => r.logicalId);
  const tasks = tasksFor(ids, 'delete', (id) => dependents(template, id));
  for (const id of retain) {
    const t = tasks[id];
    if (t) t.did = 'retain';
  }
  return tasks;
}

export function startDelete(
  world: World,
  stack: StackState,
  at: number,
  token?: string,
  retain: string[] = [],
): void {
  const template = templateOf(stack.template);
  if (stack.operation?.phase === 'CREATE_IN_PROGRESS') cancelRunning(world, stack, at);
  stack.operation = {
    phase: 'DELETE_IN_PROGRESS',
    token,
    tasks: deletionTasks(stack, template, retain),
    failed: [],
  };
  stack.lastToken = token;
  stackEvent(world, stack, 'DELETE_IN_PROGRESS', at, 'User Initiated');
  stack.next = { at, event: 'step' };
}

export function startUpdate(
  world: World,
  stack: StackState,
  at: number,
  change: { template: string; parameters: Record<string, string>; tags: { Key: string; Value: string }[] },
  token?: string,
  changeSetId?: string,
): void {
  const template = templateOf(change.template);
  stack.operation = {
    phase: 'UPDATE_IN_PROGRESS',
    token,
    changeSetId,
    tasks: {},
    failed: [],
    before: {
      template: stack.template,
      parameters: stack.parameters,
      tags: stack.tags,
      outputs: stack.outputs,
    },
    attempted: change.template,
    touched: {},
  };
  stack.lastToken = token;
  stack.template = change.template;
  stack.parameters = change.parameters;
  stack.tags = change.tags;
  stack.lastUpdatedAt = at;
  stackEvent(world, stack, 'UPDATE_IN_PROGRESS', at, 'User Initiated');
  stack.operation.tasks = tasksFor(
    creationOrder(template.resources),
    'apply',
    (id) => template.resources.find((r) => r.logicalId === id)?.deps ?? [],
  );
  stack.next = { at, event: 'step' };
}

// ── Running tasks ────────────────────────────────────────────────────────────────────────────

function failureReason(error: unknown): string {
  if (error instanceof ResourceFailure) return error.message;
  if (error instanceof SandboxAwsError) return error.message;
  throw error;
}

function providerOf(type: string): ResourceProvider {
  const p = RESOURCE_PROVIDERS[type];
  if (!p) throw new ResourceFailure(`Resource type ${type} is not supported by the sandbox`);
  return p;
}

function checkProperties(provider: ResourceProvider, props: Props): void {
  for (const key of Object.keys(props)) {
    if (!Object.hasOwn(provider.properties, key))
      throw new ResourceFailure(`Encountered unsupported property ${key}`);
  }
}

/** The resource's properties under the stack's current template, parameters and resources. */
function desiredProps(world: World, stack: StackState, template: Template, id: string): Props {
  const res = template.resources.find((r) => r.logicalId === id);
  if (!res) return {};
  return resolveValue(res.properties, stackScope(world, stack, template, stack.parameters)) as Props;
}

function changedKeys(before: Props, after: Props): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => JSON.stringify(before[k] ?? null) !== JSON.stringify(after[k] ?? null));
}

function tagsChanged(op: StackOperation, stack: StackState): boolean {
  return op.before !== undefined && JSON.stringify(op.before.tags) !== JSON.stringify(stack.tags);
}

const REPLACING = 'Requested update requires the creation of a new physical resource; hence creating one.';

/** Starts a task at `at`: does its change in the world now, reports it when the task is due. */
function startTask(
  world: World,
  stack: StackState,
  id: string,
  task: StackTask,
  at: number,
  timing: SandboxTiming,
): void {
  const op = stack.operation as StackOperation;
  const ctx: CallContext = { world, now: at, timing };
  const call = { ctx, stack, logicalId: id };
  const template = templateOf(stack.template);
  const res = template.resources.find((r) => r.logicalId === id);
  task.state = 'running';
  task.at = at + timing.stackResource;
  let r = stack.resources[id];
  const attempt = (fn: () => void) => {
    try {
      fn();
    } catch (error) {
      task.error = failureReason(error);
    }
  };
  switch (task.action) {
    case 'create': {
      r = stack.resources[id] = {
        logicalId: id,
        type: res?.type ?? 'AWS::CloudFormation::WaitConditionHandle',
        status: 'CREATE_IN_PROGRESS',
        updatedAt: at,
        properties: {},
        attributes: {},
        deletionPolicy: res?.deletionPolicy ?? 'Delete',
      };
      resourceEvent(world, stack, r, 'CREATE_IN_PROGRESS', at);
      const created = r;
      attempt(() => {
        const provider = providerOf(created.type);
        const props = desiredProps(world, stack, template, id);
        checkProperties(provider, props);
        const made = provider.create(call, props);
        created.physicalId = made.physicalId;
        created.attributes = made.attributes;
        created.properties = props;
        resourceEvent(world, stack, created, 'CREATE_IN_PROGRESS', at, 'Resource creation Initiated');
      });
      task.did = 'create';
      if (op.touched) op.touched[id] = 'create';
      return;
    }
    case 'apply': {
      if (!r || GONE.has(r.status) || !r.physicalId) {
        task.action = 'create';
        startTask(world, stack, id, task, at, timing);
        return;
      }
      const current = r;
      let props: Props;
      let provider: ResourceProvider;
      try {
        provider = providerOf(current.type);
        props = desiredProps(world, stack, template, id);
      } catch (error) {
        resourceEvent(world, stack, current, 'UPDATE_IN_PROGRESS', at);
        task.error = failureReason(error);
        task.did = 'update';
        return;
      }
      const keys = changedKeys(current.properties, props);
      const typeChanged = res !== undefined && res.type !== current.type;
      current.deletionPolicy = res?.deletionPolicy ?? current.deletionPolicy;
      if (keys.length === 0 && !typeChanged && !(provider.taggable && tagsChanged(op, stack))) {
        task.state = 'done';
        task.did = 'none';
        return;
      }
      const replace = typeChanged || keys.some((k) => provider.properties[k] === 'Always');
      resourceEvent(world, stack, current, 'UPDATE_IN_PROGRESS', at);
      if (replace) {
        task.did = 'replace';
        if (op.touched) op.touched[id] = 'replace';
        const nameProp = provider.nameProperty;
        if (
          nameProp &&
          props[nameProp] !== undefined &&
          JSON.stringify(props[nameProp]) === JSON.stringify(current.properties[nameProp])
        ) {
          task.error = `CloudFormation cannot update a stack when a custom-named resource requires replacing. Rename ${String(props[nameProp])} and update the stack again.`;
          return;
        }
        attempt(() => {
          const p = providerOf(res?.type ?? current.type);
          checkProperties(p, props);
          const made = p.create(call, props);
          current.previous = {
            physicalId: current.physicalId as string,
            properties: current.properties,
            attributes: current.attributes,
          };
          current.type = res?.type ?? current.type;
          current.physicalId = made.physicalId;
          current.attributes = made.attributes;
          current.properties = props;
          resourceEvent(world, stack, current, 'UPDATE_IN_PROGRESS', at, REPLACING);
        });
        return;
      }
      task.did = 'update';
      if (op.touched) op.touched[id] = 'update';
      attempt(() => {
        checkProperties(provider, props);
        const before = current.properties;
        // The change is made (and so must be reverted on rollback) even if it is reported failed.
        current.properties = props;
        const made = provider.update(call, current.physicalId as string, before, props);
        current.attributes = made.attributes;
      });
      return;
    }
    case 'revert': {
      const current = r as StackResourceState;
      const kind = op.touched?.[id];
      if (!current || kind === 'create' || kind === undefined) {
        task.state = 'done';
        return;
      }
      resourceEvent(world, stack, current, 'UPDATE_IN_PROGRESS', at);
      if (kind === 'replace' && current.previous) {
        // Back to the old physical resource; the new one goes in the rollback's cleanup.
        const newer = {
          physicalId: current.physicalId as string,
          properties: current.properties,
          attributes: current.attributes,
        };
        current.physicalId = current.previous.physicalId;
        current.properties = current.previous.properties;
        current.attributes = current.previous.attributes;
        current.type = res?.type ?? current.type;
        current.previous = newer;
        task.did = 'update';
        return;
      }
      task.did = 'update';
      attempt(() => {
        const provider = providerOf(current.type);
        const props = desiredProps(world, stack, template, id);
        const before = current.properties;
        current.properties = props;
        const made = provider.update(call, current.physicalId as string, before, props);
        current.attributes = made.attributes;
      });
      return;
    }
    case 'delete':
    case 'cleanup': {
      const current = r as StackResourceState;
      const inTemplate = res !== undefined;
      if (task.action === 'cleanup' && inTemplate) {
        // Only the replaced physical resource goes: the resource itself stays.
        const old = current.previous;
        if (!old) {
          task.state = 'done';
          return;
        }
        task.did = 'delete-previous';
        resourceEvent(world, stack, current, 'DELETE_IN_PROGRESS', at, undefined, old.physicalId, false);
        attempt(() => providerOf(current.type).delete(call, old.physicalId, old.properties));
        return;
      }
      if (task.did === 'retain' || current.deletionPolicy === 'Retain') {
        resourceEvent(world, stack, current, 'DELETE_SKIPPED', at);
        task.state = 'done';
        if (op.phase.includes('CLEANUP')) delete stack.resources[id];
        return;
      }
      task.did = 'delete';
      resourceEvent(world, stack, current, 'DELETE_IN_PROGRESS', at);
      if (!current.physicalId) return;
      attempt(() => providerOf(current.type).delete(call, current.physicalId as string, current.properties));
      return;
    }
  }
}

/** Finishes a due task (or, when its change has not taken effect yet, checks again later). */
function finishTask(
  world: World,
  stack: StackState,
  id: string,
  task: StackTask,
  at: number,
  timing: SandboxTiming,
): void {
  const r = stack.resources[id] as StackResourceState;
  const op = stack.operation as StackOperation;
  const action = task.did === 'create' ? 'create' : task.did?.startsWith('delete') ? 'delete' : 'update';
  if (task.error === undefined) {
    const provider = RESOURCE_PROVIDERS[r.type];
    const physical = task.did === 'delete-previous' ? r.previous?.physicalId : r.physicalId;
    if (physical && provider?.settled && !provider.settled(world, action, physical)) {
      task.at = at + Math.max(1, Math.round(timing.stackResource / 4));
      return;
    }
  }
  task.at = undefined;
  if (task.error !== undefined) {
    task.state = 'failed';
    op.failed.push(id);
    const status =
      action === 'create' ? 'CREATE_FAILED' : action === 'delete' ? 'DELETE_FAILED' : 'UPDATE_FAILED';
    if (task.did === 'delete-previous') {
      resourceEvent(world, stack, r, status, at, task.error, r.previous?.physicalId, false);
    } else {
      resourceEvent(world, stack, r, status, at, task.error);
    }
    return;
  }
  task.state = 'done';
  if (task.did === 'delete-previous') {
    resourceEvent(world, stack, r, 'DELETE_COMPLETE', at, undefined, r.previous?.physicalId, false);
    r.previous = undefined;
  } else if (action === 'delete') {
    resourceEvent(world, stack, r, 'DELETE_COMPLETE', at);
    // A resource removed by an update (or an update's rollback) leaves the stack.
    if (op.phase.includes('CLEANUP')) delete stack.resources[id];
  } else {
    resourceEvent(world, stack, r, action === 'create' ? 'CREATE_COMPLETE' : 'UPDATE_COMPLETE', at);
  }
}

/** On a failure in create or update: what is still running is reported cancelled. */
function cancelRunning(world: World, stack: StackState, at: number): void {
  const op = stack.operation as StackOperation;
  for (const [id, task] of Object.entries(op.tasks)) {
    if (task.state !== 'running') continue;
    task.state = 'failed';
    task.at = undefined;
    const r = stack.resources[id];
    if (!r) continue;
    if (task.did === 'create')
      resourceEvent(world, stack, r, 'CREATE_FAILED', at, 'Resource creation cancelled');
    else resourceEvent(world, stack, r, 'UPDATE_FAILED', at, 'Resource update cancelled');
  }
}

// ── Phases ───────────────────────────────────────────────────────────────────────────────────

const FAIL_FAST = new Set(['CREATE_IN_PROGRESS', 'UPDATE_IN_PROGRESS']);

function failedList(op: StackOperation): string {
  return `[${op.failed.join(', ')}]`;
}

function computeOutputs(world: World, stack: StackState): void {
  const template = templateOf(stack.template);
  const scope = stackScope(world, stack, template, stack.parameters);
  stack.outputs = template.outputs.map((o) => {
    // Templates are checked before they are used; a value that still cannot be resolved stays empty
    // rather than wedging the world (this runs while the clock advances, for whichever caller).
    const resolve = (v: TemplateValue) => {
      try {
        return resolveValue(v, scope);
      } catch {
        return '';
      }
    };
    const v = resolve(o.value);
    const exportName = o.exportName === undefined ? undefined : resolve(o.exportName);
    return {
      key: o.key,
      value: Array.isArray(v) ? v.join(',') : String(v ?? ''),
      description: o.description,
      exportName: exportName === undefined ? undefined : String(exportName),
    };
  });
}

function finishChangeSet(world: World, op: StackOperation, status: string): void {
  const cs = op.changeSetId ? world.changeSets?.[op.changeSetId] : undefined;
  if (cs) cs.executionStatus = status;
}

function cleanupTasks(stack: StackState, templates: Template[]): Record<string, StackTask> {
  const ids = Object.values(stack.resources)
    .filter(
      (r) => r.previous !== undefined || !templates[0]?.resources.some((x) => x.logicalId === r.logicalId),
    )
    .filter((r) => !GONE.has(r.status) || r.previous !== undefined)
    .map((r) => r.logicalId);
  return tasksFor(ids, 'cleanup', (id) => templates.flatMap((t) => dependents(t, id)));
}

/** Moves a stack whose phase has nothing left to run to its next status (and phase). */
/** Returns true (the phase ended), so each branch can end in one `return`. */
function endPhase(world: World, stack: StackState, at: number): true {
  const op = stack.operation as StackOperation;
  const failed = op.failed.length > 0;
  const next = (phase: string, tasks: Record<string, StackTask>, reason?: string) => {
    stack.operation = { ...op, phase, tasks, failed: [] };
    stackEvent(world, stack, phase, at, reason);
    return true as const;
  };
  const done = (status: string, reason?: string) => {
    stackEvent(world, stack, status, at, reason);
    stack.operation = undefined;
    stack.next = undefined;
    return true as const;
  };
  switch (op.phase) {
    case 'CREATE_IN_PROGRESS': {
      if (!failed) {
        computeOutputs(world, stack);
        finishChangeSet(world, op, 'EXECUTE_COMPLETE');
        return done('CREATE_COMPLETE');
      }
      finishChangeSet(world, op, 'EXECUTE_FAILED');
      const reason = `The following resource(s) failed to create: ${failedList(op)}. `;
      const template = templateOf(stack.template);
      if (stack.onFailure === 'DO_NOTHING') return done('CREATE_FAILED', reason);
      if (stack.onFailure === 'DELETE') {
        return next(
          'DELETE_IN_PROGRESS',
          deletionTasks(stack, template),
          `${reason}Delete requested by user.`,
        );
      }
      return next(
        'ROLLBACK_IN_PROGRESS',
        deletionTasks(stack, template),
        `${reason}Rollback requested by user.`,
      );
    }
    case 'ROLLBACK_IN_PROGRESS':
      return failed
        ? done('ROLLBACK_FAILED', `The following resource(s) failed to delete: ${failedList(op)}. `)
        : done('ROLLBACK_COMPLETE');
    case 'DELETE_IN_PROGRESS':
      if (failed)
        return done('DELETE_FAILED', `The following resource(s) failed to delete: ${failedList(op)}. `);
      stack.deletedAt = at;
      return done('DELETE_COMPLETE');
    case 'UPDATE_IN_PROGRESS': {
      if (!failed) {
        computeOutputs(world, stack);
        const templates = [templateOf(stack.template), templateOf(op.before?.template ?? stack.template)];
        return next('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', cleanupTasks(stack, templates));
      }
      const verbs = new Set(op.failed.map((id) => (op.touched?.[id] === 'create' ? 'create' : 'update')));
      const reason = [...verbs]
        .map(
          (v) =>
            `The following resource(s) failed to ${v}: [${op.failed.filter((id) => (op.touched?.[id] === 'create' ? 'create' : 'update') === v).join(', ')}]. `,
        )
        .join('');
      const before = op.before;
      if (before) {
        stack.template = before.template;
        stack.parameters = before.parameters;
        stack.tags = before.tags;
        stack.outputs = before.outputs;
      }
      const template = templateOf(stack.template);
      const touched = Object.keys(op.touched ?? {});
      const tasks = tasksFor(
        creationOrder(template.resources).filter((id) => touched.includes(id)),
        'revert',
        (id) => template.resources.find((r) => r.logicalId === id)?.deps ?? [],
      );
      return next('UPDATE_ROLLBACK_IN_PROGRESS', tasks, reason);
    }
    case 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS':
      finishChangeSet(world, op, 'EXECUTE_COMPLETE');
      return done('UPDATE_COMPLETE');
    case 'UPDATE_ROLLBACK_IN_PROGRESS': {
      if (failed) {
        finishChangeSet(world, op, 'EXECUTE_FAILED');
        return done(
          'UPDATE_ROLLBACK_FAILED',
          `The following resource(s) failed to update: ${failedList(op)}. `,
        );
      }
      const templates = [templateOf(stack.template), templateOf(op.attempted ?? stack.template)];
      return next('UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', cleanupTasks(stack, templates));
    }
    case 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS':
      finishChangeSet(world, op, 'EXECUTE_FAILED');
      return done('UPDATE_ROLLBACK_COMPLETE');
    default:
      return done(stack.status);
  }
}

/** Runs a stack's operation at `at`: finishes due tasks, starts ready ones, ends phases. */
export function stepStack(world: World, stack: StackState, at: number, timing: SandboxTiming): void {
  for (let guard = 0; guard < 10_000 && stack.operation; guard++) {
    const op: StackOperation = stack.operation;
    const entries = Object.entries(op.tasks);
    // Same-time steps finish in the order they started (stable sort keeps the task order).
    const due = entries
      .filter(([, t]) => t.state === 'running' && (t.at ?? 0) <= at)
      .sort(([, x], [, y]) => (x.at ?? 0) - (y.at ?? 0));
    for (const [id, task] of due) finishTask(world, stack, id, task, at, timing);
    if (FAIL_FAST.has(op.phase) && op.failed.length > 0) {
      cancelRunning(world, stack, at);
      endPhase(world, stack, at);
      continue;
    }
    let started = false;
    for (const [id, task] of Object.entries(op.tasks)) {
      if (task.state !== 'waiting') continue;
      if (!task.after.every((d) => op.tasks[d]?.state === 'done')) continue;
      startTask(world, stack, id, task, at, timing);
      started = true;
      if (FAIL_FAST.has(op.phase) && op.failed.length > 0) break;
    }
    if (started) continue;
    const running = Object.values(op.tasks).filter((t) => t.state === 'running');
    if (running.length === 0) {
      endPhase(world, stack, at);
      continue;
    }
    stack.next = { at: Math.min(...running.map((t) => t.at ?? at)), event: 'step' };
    return;
  }
}

// ── Change sets ──────────────────────────────────────────────────────────────────────────────

/** What an update to `template` would change, as a change set lists it. */
export function computeChanges(
  world: World,
  stack: StackState,
  template: Template,
  parameters: Record<string, string>,
  tags: { Key: string; Value: string }[],
): ResourceChangeState[] {
  const changes: ResourceChangeState[] = [];
  const unknown = { refs: new Set<string>(), atts: new Set<string>() };
  const oldTemplate = stack.status === 'REVIEW_IN_PROGRESS' ? undefined : templateOf(stack.template);
  const tagsDiffer = JSON.stringify(tags) !== JSON.stringify(stack.tags);
  const byId = new Map(template.resources.map((r) => [r.logicalId, r]));
  for (const id of creationOrder(template.resources)) {
    const res = byId.get(id);
    if (!res) continue;
    const r = stack.resources[id];
    if (!r || GONE.has(r.status) || !r.physicalId || !oldTemplate) {
      unknown.refs.add(id);
      unknown.atts.add(id);
      changes.push({ action: 'Add', logicalId: id, type: res.type, scope: [], details: [] });
      continue;
    }
    const provider = RESOURCE_PROVIDERS[res.type];
    const props = resolveValue(
      res.properties,
      stackScope(world, stack, template, parameters, unknown),
    ) as Props;
    const details: ResourceChangeState['details'] = [];
    const oldRaw = oldTemplate.resources.find((x) => x.logicalId === id)?.properties ?? {};
    for (const key of changedKeys(r.properties, props)) {
      const recreation = provider?.properties[key] ?? 'Never';
      const dynamic = isDynamic(props[key]);
      const sameText = JSON.stringify(oldRaw[key] ?? null) === JSON.stringify(res.properties[key] ?? null);
      const causing = dynamic
        ? causingEntity(props[key])
        : sameText
          ? changedParameter(res.properties[key], stack.parameters, parameters)
          : undefined;
      details.push({
        attribute: 'Properties',
        name: key,
        requiresRecreation: dynamic && recreation === 'Always' ? 'Conditionally' : recreation,
        evaluation: dynamic ? 'Dynamic' : 'Static',
        changeSource: dynamic
          ? causing?.includes('.')
            ? 'ResourceAttribute'
            : 'ResourceReference'
          : causing
            ? 'ParameterReference'
            : 'DirectModification',
        causingEntity: causing,
      });
    }
    if (tagsDiffer && provider?.taggable) {
      details.push({
        attribute: 'Tags',
        requiresRecreation: 'Never',
        evaluation: 'Static',
        changeSource: 'DirectModification',
      });
    }
    const typeChanged = res.type !== r.type;
    if (details.length === 0 && !typeChanged) continue;
    const replacement =
      typeChanged || details.some((d) => d.evaluation === 'Static' && d.requiresRecreation === 'Always')
        ? 'True'
        : details.some((d) => d.requiresRecreation !== 'Never')
          ? 'Conditional'
          : 'False';
    unknown.atts.add(id);
    if (replacement !== 'False') unknown.refs.add(id);
    changes.push({
      action: 'Modify',
      logicalId: id,
      physicalId: r.physicalId,
      type: res.type,
      replacement,
      scope: [...new Set(details.map((d) => d.attribute))],
      details,
    });
  }
  for (const r of Object.values(stack.resources)) {
    if (byId.has(r.logicalId) || GONE.has(r.status)) continue;
    changes.push({
      action: 'Remove',
      logicalId: r.logicalId,
      physicalId: r.physicalId,
      type: r.type,
      scope: [],
      details: [],
    });
  }
  return changes;
}

function causingEntity(value: TemplateValue | undefined): string | undefined {
  const m = JSON.stringify(value ?? null).match(/\{\{sandbox:dynamic\}\}([A-Za-z0-9]+(?:\.[A-Za-z0-9.]+)?)/);
  return m?.[1];
}

function changedParameter(
  raw: TemplateValue | undefined,
  before: Record<string, string>,
  after: Record<string, string>,
): string | undefined {
  const text = JSON.stringify(raw ?? null);
  return Object.keys(after).find(
    (k) => before[k] !== after[k] && (text.includes(`"Ref":"${k}"`) || text.includes(`\${${k}}`)),
  );
}

/** Whether an update would change the stack at all (resources, tags or outputs). */
export function updateChangesNothing(
  world: World,
  stack: StackState,
  template: Template,
  parameters: Record<string, string>,
  tags: { Key: string; Value: string }[],
  changes: ResourceChangeState[],
): boolean {
  if (changes.length > 0 || JSON.stringify(tags) !== JSON.stringify(stack.tags)) return false;
  const scope = stackScope(world, stack, template, parameters);
  const outputs = template.outputs.map((o) => [o.key, resolveValue(o.value, scope), o.description ?? null]);
  const current = (stack.outputs ?? []).map((o) => [o.key, o.value, o.description ?? null]);
  return (
    JSON.stringify(outputs.map(([k, v, d]) => [k, Array.isArray(v) ? v.join(',') : String(v ?? ''), d])) ===
    JSON.stringify(current)
  );
}

function noChangeSafely(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}

function stepChangeSets(world: World, at: number, timing: SandboxTiming): void {
  for (const cs of Object.values(world.changeSets ?? {})) {
    if (!cs.next || cs.next.at > at) continue;
    if (cs.next.event === 'in-progress') {
      cs.status = 'CREATE_IN_PROGRESS';
      cs.next = { at: Math.max(at, cs.createdAt + timing.changeSet), event: 'complete' };
      continue;
    }
    cs.next = undefined;
    const stack = stacksOf(world)[cs.stackId];
    const nothing =
      cs.type === 'UPDATE' &&
      stack !== undefined &&
      noChangeSafely(() =>
        updateChangesNothing(world, stack, templateOf(cs.template), cs.parameters, cs.tags, cs.changes),
      );
    if (nothing) {
      cs.status = 'FAILED';
      cs.statusReason =
        "The submitted information didn't contain changes. Submit different information to create a change set.";
      cs.executionStatus = 'UNAVAILABLE';
    } else {
      cs.status = 'CREATE_COMPLETE';
      cs.executionStatus = 'AVAILABLE';
    }
  }
}

// ── The clock ────────────────────────────────────────────────────────────────────────────────

function earliest(world: World, now: number): number | undefined {
  let best: number | undefined;
  for (const s of Object.values(world.stacks ?? {})) {
    if (s.next && s.next.at <= now && (best === undefined || s.next.at < best)) best = s.next.at;
  }
  for (const c of Object.values(world.changeSets ?? {})) {
    if (c.next && c.next.at <= now && (best === undefined || c.next.at < best)) best = c.next.at;
  }
  return best;
}

/**
 * Advances the world to `now` with its stacks: every stack step is taken at its own due time,
 * after the rest of the world has been advanced to that time (so a step sees, say, an Auto
 * Scaling group deleted at that moment).
 */
export function advanceWithStacks(world: World, now: number, timing: SandboxTiming): World {
  const target = Math.max(now, world.lastAdvancedAt);
  for (let n = 0; n < 100_000; n++) {
    const at = earliest(world, target);
    if (at === undefined) break;
    advanceWorld(world, at, timing);
    stepChangeSets(world, at, timing);
    for (const stack of Object.values(world.stacks ?? {})) {
      if (stack.next && stack.next.at <= at) {
        stack.next = undefined;
        stepStack(world, stack, at, timing);
      }
    }
    reconcileAll(world, at, timing);
  }
  return advanceWorld(world, target, timing);
}
