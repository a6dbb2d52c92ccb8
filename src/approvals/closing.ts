/**
 * How a closed approval request reads on the requester's progress message (pure): approved by whom
 * and which job runs it, rejected by whom, or expired.
 */
import { jobIdFor } from '../queue/contract.js';
import type { ApprovalRecord } from './store.js';

/** The id of the job an approval starts (its request id is `approval:<id>`). */
export function approvedJobId(approvalId: string): string {
  return jobIdFor(`approval:${approvalId}`);
}

/** How `record` closed, in one line; undefined while it is pending. */
export function closingOf(
  record: ApprovalRecord,
): { closing: 'approved' | 'rejected' | 'expired'; line: string } | undefined {
  switch (record.status) {
    case 'pending':
      return undefined;
    case 'approved':
      return {
        closing: 'approved',
        line: `by ${record.approvals.map((a) => `<@${a.userId}>`).join(', ')}; job \`${approvedJobId(record.id)}\` runs it.`,
      };
    case 'rejected':
      return { closing: 'rejected', line: `by <@${record.decidedBy ?? '?'}>; nothing was done.` };
    case 'expired':
      return { closing: 'expired', line: 'without a decision; nothing was done.' };
  }
}
