/**
 * `home.publish`: builds one person's App Home tab and publishes it (`views.publish`). A job, because
 * the tab shows the environments they own, which only AWS knows, and the web process never calls
 * AWS: the web process enqueues this when the tab is opened or a click on it changed something;
 * workers enqueue it when a job of theirs ends or an approval they may decide comes or goes.
 * Coalesced per person (`HomeTabs.publish`), so a burst of changes costs one publish.
 *
 * Each section is read on its own: one that cannot be read says so and the rest is still shown.
 */
import type { Job } from 'bullmq';
import { findGroupsByTag } from '../src/aws/autoscaling.js';
import { findStacksByTag } from '../src/aws/cloudformation.js';
import { alertActionRefusal, routeFor } from '../src/domain/alerts/routing.js';
import { isActive } from '../src/domain/alerts/state.js';
import { allPlacements, countStates, TAG } from '../src/domain/env.js';
import { describeForUser } from '../src/errors.js';
import type { PublishReason } from '../src/home/tabs.js';
import { type Actor, approvalRefusal, authorize, rolesOf } from '../src/policy/index.js';
import type { JobDataOf, JobResult } from '../src/queue/contract.js';
import {
  type HomeAlert,
  type HomeApproval,
  type HomeEnvironment,
  type HomeJob,
  renderHome,
  SECTION_LIMITS,
} from '../src/slack/blocks/home.js';
import type { HomePublishDeps } from './deps.js';

/** Runs `home.publish` for the request's user. */
export async function homePublishJob(
  job: Job<JobDataOf<'home.publish'>>,
  deps: HomePublishDeps,
): Promise<JobResult> {
  const { userId, text } = job.data.request;
  const reason: PublishReason = text.endsWith(' changed') ? 'changed' : 'opened';
  // Within the workspace's publishes a minute (Slack's limit): past them, the tab is published
  // when a slot is free (one run waiting per person: a later change is in it too).
  const wait = await deps.homes.takePublishSlot(reason);
  if (wait > 0) {
    await deps.homes.publish(userId, { delayMs: wait, reason });
    return {
      outcome: 'done',
      summary: `Home tab of <@${userId}> deferred ${Math.ceil(wait / 1000)} s: the workspace's publishes a minute are used up`,
      quiet: true,
    };
  }
  const now = Date.now();
  const opener = await deps.homes.openedBy(userId);
  // The groups they were in when they last opened the tab: what it offers them. Every click is
  // decided again with their groups as Slack says at that moment.
  const actor: Actor = { userId, groupIds: opener?.groupIds ?? [] };
  // Where their Home-tab commands run: what `/ops cancel` there would be allowed is what Cancel offers.
  const dm = opener?.dm ?? '';
  const file = deps.config.file;
  const admin = rolesOf(file, actor).has(file.policy.adminRole);

  const [environments, jobs, approvals, alerts, notices, audit] = await Promise.all([
    environmentsOwnedBy(deps, userId).catch((error: unknown) => ({ error: describeForUser(error) })),
    jobsOf(deps, actor, dm, now),
    approvalsFor(deps, actor, now),
    alertsFor(deps, actor),
    deps.homes.notices(userId, now),
    admin ? deps.audit.latest(SECTION_LIMITS.audit) : Promise.resolve(undefined),
  ]);
  const view = renderHome({
    userId,
    now,
    notices,
    environments,
    jobs,
    approvals,
    alerts,
    ...(audit
      ? {
          audit: audit.map((e) => ({
            at: e.at,
            kind: e.kind,
            actor: e.actor,
            subject: e.subject,
            outcome: e.outcome,
            ...(typeof e.detail?.text === 'string' ? { text: e.detail.text } : {}),
          })),
        }
      : {}),
  });
  // Recorded before the tab shows them, so a click that follows at once finds them offered.
  await deps.homes.markShown(
    userId,
    approvals.slice(0, SECTION_LIMITS.approvals).map((a) => a.id),
  );
  await deps.notifier.publishHome(userId, view);
  const envCount = 'error' in environments ? 'unreadable' : String(environments.length);
  return {
    outcome: 'done',
    summary: `Home tab of <@${userId}> published: ${envCount} environment(s), ${jobs.length} job(s), ${approvals.length} approval request(s), ${alerts.length} alert(s)`,
    // Published on every open: not an audit entry each time.
    quiet: true,
  };
}

/** The environments `userId` owns (`capstan:owner`), groups and stacks, in every placement. */
async function environmentsOwnedBy(deps: HomePublishDeps, userId: string): Promise<HomeEnvironment[]> {
  const found: HomeEnvironment[] = [];
  const stacks = Object.values(deps.config.file.blueprints).some((b) => b.kind === 'stack');
  for (const placement of allPlacements(deps.config)) {
    const { autoScaling, cloudFormation } = deps.aws.clients(placement, userId);
    for (const g of await findGroupsByTag(autoScaling, TAG.owner, userId)) {
      const name = g.tags[TAG.env];
      if (!name) continue;
      const c = countStates(g);
      const version = g.tags[TAG.version];
      const expiresAt = g.tags[TAG.expiresAt];
      found.push({
        name,
        kind: 'group',
        ...(version ? { version } : {}),
        size: { inService: c.inService, desired: g.desired },
        ...(expiresAt ? { expiresAt } : {}),
        state: g.status ? g.status : c.inService === g.desired ? 'ready' : `${c.pending} pending`,
        region: placement.region,
      });
    }
    if (!stacks) continue;
    for (const s of await findStacksByTag(cloudFormation, TAG.owner, userId)) {
      const name = s.tags[TAG.env];
      if (!name) continue;
      const version = s.tags[TAG.version];
      const expiresAt = s.tags[TAG.expiresAt];
      found.push({
        name,
        kind: 'stack',
        ...(version ? { version } : {}),
        ...(expiresAt ? { expiresAt } : {}),
        state: s.status,
        region: placement.region,
      });
    }
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/** Their queued and running jobs, then those that finished lately; Cancel where `/ops cancel` would do it. */
async function jobsOf(deps: HomePublishDeps, actor: Actor, dm: string, now: number): Promise<HomeJob[]> {
  const [open, finished] = await Promise.all([
    deps.jobsAdmin.list(200),
    deps.jobsAdmin.finishedOf(actor.userId, SECTION_LIMITS.jobs),
  ]);
  // The same decision as `/ops cancel` typed in their direct messages with Capstan.
  const mayCancel = authorize(deps.config.file, actor, { kind: 'ops.cancel', jobId: 'j' }, dm).allowed;
  const link = (channel: string, ts: string | undefined) =>
    ts && channel ? deps.notifier.messageLink(channel, ts) : Promise.resolve(undefined);
  const running = open
    .filter((j) => j.userId === actor.userId)
    .map(async (j): Promise<HomeJob> => {
      const url = await link(j.channelId, j.threadTs);
      return {
        id: j.id,
        text: j.text,
        state: j.state,
        at: j.since,
        ...(j.step ? { step: j.step } : {}),
        ...(url ? { link: url } : {}),
        cancellable: mayCancel,
      };
    });
  const done = finished.map(async (j): Promise<HomeJob> => {
    const url = await link(j.channelId, j.threadTs);
    // An approval request's job waits for people: how the request stands says more than its job.
    const standing = j.name === 'approval.request' ? await approvalStanding(deps, j.id, now) : undefined;
    return {
      id: j.id,
      text: j.text,
      state: standing?.state ?? j.state,
      at: j.at,
      ...(standing ? { detail: standing.detail } : {}),
      ...(url ? { link: url } : {}),
      cancellable: false,
    };
  });
  return Promise.all([...running, ...done]);
}

/** How an approval request stands now, for its job's line: still waiting, or how it closed. */
async function approvalStanding(
  deps: HomePublishDeps,
  id: string,
  now: number,
): Promise<{ state: HomeJob['state']; detail: string } | undefined> {
  const record = await deps.approvals.get(id);
  if (!record) return undefined;
  if (record.status === 'pending' && record.expiresAt > now)
    return {
      state: 'waiting',
      detail: `waiting for ${record.quorum === 1 ? 'an approval' : `${record.quorum} approvals`} from role \`${record.role}\` (${record.approvals.length} so far)`,
    };
  if (record.status === 'approved')
    return {
      state: 'done',
      detail: `approved by ${record.approvals.map((a) => `<@${a.userId}>`).join(', ')}: the job it asked for is listed on its own`,
    };
  if (record.status === 'rejected')
    return {
      state: 'cancelled',
      detail: `rejected by <@${record.decidedBy ?? 'unknown'}>; nothing was done`,
    };
  return { state: 'cancelled', detail: 'expired without a decision; nothing was done' };
}

/** Open approval requests `actor` may decide and has not approved yet. */
async function approvalsFor(deps: HomePublishDeps, actor: Actor, now: number): Promise<HomeApproval[]> {
  const open = await deps.approvals.listOpen(now);
  const mine = open.filter(
    (r) =>
      approvalRefusal(deps.config.file, actor, r, r.request.userId) === undefined &&
      !r.approvals.some((a) => a.userId === actor.userId),
  );
  return Promise.all(
    mine.map(async (r): Promise<HomeApproval> => {
      const url = r.message ? await deps.notifier.messageLink(r.message.channel, r.message.ts) : undefined;
      return {
        id: r.id,
        commandText: r.request.text,
        target: r.target,
        requester: r.request.userId,
        ...(r.reason ? { reason: r.reason } : {}),
        plan: r.plan,
        role: r.role,
        quorum: r.quorum,
        approvals: r.approvals.length,
        expiresAt: r.expiresAt,
        ...(url ? { link: url } : {}),
      };
    }),
  );
}

/**
 * Open alerts posted in their channels that `actor` may acknowledge and snooze: which channels
 * someone is in is not asked of Slack (`conversations.members` per channel), so the route's roles
 * decide, as they do for the buttons. Critical first, then the latest seen.
 */
async function alertsFor(deps: HomePublishDeps, actor: Actor): Promise<HomeAlert[]> {
  const file = deps.config.file;
  const stored = await deps.alerts.list();
  const mine = stored
    .map((s) => s.state)
    .filter(
      (state) =>
        isActive(state) &&
        state.message !== undefined &&
        alertActionRefusal(file, actor, routeFor(file, state.key)) === undefined,
    )
    .sort(
      (a, b) =>
        Number(b.severity === 'critical') - Number(a.severity === 'critical') || b.lastSeenAt - a.lastSeenAt,
    );
  return Promise.all(
    mine.map(async (state): Promise<HomeAlert> => {
      const url = state.message
        ? await deps.notifier.messageLink(state.message.channel, state.message.ts)
        : undefined;
      return { state, ...(url ? { link: url } : {}) };
    }),
  );
}
