/**
 * `rds.janitor`: on a schedule, deletes temporary restore instances (`capstan:temporary=true`)
 * older than the configured age — ones a lost job could not clean up — and says so.
 */
import type { Job } from 'bullmq';
import { deleteDbInstance, listDbInstances } from '../src/aws/rds.js';
import { resolveDatabase } from '../src/domain/database.js';
import type { JobDataOf, JobResult } from '../src/queue/contract.js';
import type { JanitorDeps } from './deps.js';

/** Runs `rds.janitor`. */
export async function rdsJanitorJob(
  _job: Job<JobDataOf<'rds.janitor'>>,
  deps: JanitorDeps,
): Promise<JobResult> {
  const maxAge = deps.config.file.restore.temporaryMaxAge;
  const now = Date.now();
  const placements = new Map(
    Object.keys(deps.config.file.databases).map((id) => {
      const { placement } = resolveDatabase(deps.config, id);
      return [`${placement.roleArn ?? ''}|${placement.region}`, placement];
    }),
  );
  const deleted: string[] = [];
  for (const placement of placements.values()) {
    const { rds } = deps.aws.clients(placement);
    for (const db of await listDbInstances(rds)) {
      const age = db.createdAt ? now - db.createdAt.getTime() : 0;
      if (db.tags['capstan:temporary'] !== 'true' || age <= maxAge || db.status === 'deleting') continue;
      await deleteDbInstance(rds, db.id);
      deleted.push(db.id);
      const channel = deps.config.file.slack.notificationsChannel;
      if (channel) {
        await deps.notifier.post({
          channel,
          text: `:broom: Deleted leftover temporary restore instance \`${db.id}\` (job \`${db.tags['capstan:job'] ?? '?'}\`, created ${db.createdAt?.toISOString() ?? '?'}, ${Math.round(age / 3_600_000)} h old).`,
        });
      }
    }
  }
  return {
    outcome: 'done',
    summary: deleted.length > 0 ? `deleted ${deleted.join(', ')}` : 'nothing left over',
    ...(deleted.length === 0 ? { quiet: true } : {}),
  };
}
