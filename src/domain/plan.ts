/**
 * What a command will change, in words, for approval requests. Capabilities refine this with
 * read-only lookups (instances, row counts) as they land; the fallback states the command itself.
 */
import { describeGroup } from '../aws/autoscaling.js';
import type { AwsClientFactory } from '../aws/clients.js';
import { findLaunchTemplatesByTag } from '../aws/ec2.js';
import type { Command } from '../commands/index.js';
import type { Config } from '../config.js';
import { describeForUser } from '../errors.js';
import { resolveEnvironment, TAG } from './env.js';
import { minSizeNote, standbySizing } from './lb.js';

/** The plan of `command`, one line per change. */
export function describePlan(command: Command): string[] {
  switch (command.kind) {
    case 'env.create':
      return [
        `create environment ${command.name}${command.blueprint ? ` from blueprint ${command.blueprint}` : ''}${command.size ? ` with ${command.size} instance(s)` : ''}`,
      ];
    case 'env.delete':
      return [
        `delete environment ${command.name}: take its instances out of the load balancer, scale to zero, delete its Auto Scaling group`,
      ];
    case 'lb.disable':
      return [
        `put ${command.instanceId ?? 'every instance'} of environment ${command.env} into Standby (out of the load balancer)`,
        'suspend ReplaceUnhealthy, AZRebalance, AlarmNotification and ScheduledActions until re-enabled',
      ];
    case 'lb.enable':
      return [
        `return ${command.instanceId ?? 'every standby instance'} of environment ${command.env} to service`,
      ];
    case 'rds.restore-table':
      return [
        `restore a temporary copy of ${command.dbInstance} as it was at ${command.at}`,
        `copy ${command.schema}.${command.table} into ${command.schema}.${command.table}__restored_…`,
        command.mode === 'replace'
          ? `swap it in: rename ${command.table} → ${command.table}__before_restore_…, the copy → ${command.table} (nothing dropped)`
          : command.mode === 'merge-missing'
            ? `insert the rows missing from the live ${command.table}, in one transaction`
            : 'leave the live table untouched (side table only)',
        'delete the temporary instance',
      ];
    default:
      return [`run ${command.kind}`];
  }
}

/**
 * The plan of `command` with what exists now, looked up read-only (which group, which instances,
 * which launch templates), so approvers see exactly what will change.
 */
export async function lookUpPlan(
  command: Command,
  deps: { config: Config; aws: AwsClientFactory },
  actor: string,
): Promise<string[]> {
  const base = describePlan(command);
  if (command.kind !== 'env.delete' && command.kind !== 'lb.disable' && command.kind !== 'lb.enable')
    return base;
  const name = command.kind === 'env.delete' ? command.name : command.env;
  try {
    const env = resolveEnvironment(deps.config, name, undefined);
    const clients = deps.aws.clients(env.placement, actor);
    const group = await describeGroup(clients.autoScaling, env.groupName);
    if (!group)
      return [
        `environment ${name} does not exist (no group ${env.groupName}): the job will say so and change nothing`,
      ];
    const ids = (ids: string[]) => (ids.length > 0 ? ids.join(', ') : 'none');
    const inService = group.instances.filter((i) => i.lifecycle === 'InService').map((i) => i.id);
    const standby = group.instances.filter((i) => i.lifecycle === 'Standby').map((i) => i.id);
    if (command.kind === 'env.delete') {
      const templates = await findLaunchTemplatesByTag(clients.ec2, TAG.env, name);
      return [
        `take ${ids(inService)} out of the load balancer (${group.targetGroups.length} target group(s))`,
        `delete Auto Scaling group ${group.name} with ${group.instances.length} instance(s) (${ids(group.instances.map((i) => i.id))}) and ${templates.length} launch template(s) Capstan made for it`,
        `leave nothing tagged ${TAG.env}=${name}`,
      ];
    }
    if (command.kind === 'lb.disable') {
      const targets = command.instanceId ? [command.instanceId] : inService;
      const sizing = standbySizing(group, targets.filter((i) => inService.includes(i)).length);
      const minSize = typeof sizing === 'string' ? `cannot be done: ${sizing}` : minSizeNote(sizing);
      return [
        `put ${ids(targets)} of group ${group.name} into Standby: ${inService.filter((i) => !targets.includes(i)).length} of ${inService.length} in-service instance(s) stay in service`,
        ...base.slice(1),
        ...(minSize ? [minSize] : []),
      ];
    }
    return [
      `return ${ids(command.instanceId ? [command.instanceId] : standby)} of group ${group.name} to service`,
    ];
  } catch (error) {
    return [...base, `(the current state could not be looked up: ${describeForUser(error)})`];
  }
}
