/**
 * What a command will change, in words, for approval requests (pure). The approval job refines this
 * with read-only lookups (instances, launch templates); the fallback states the command itself.
 */
import { type Command, escapeSlack } from '../commands/index.js';

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
    case 'env.update':
      return [
        `update stack environment ${command.name}${command.version ? ` to template version ${command.version}` : ''}${
          command.params
            ? ` with ${Object.entries(command.params)
                .map(([k, v]) => `${k}=${escapeSlack(v)}`)
                .join(', ')}`
            : ''
        }, by a change set`,
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
