/**
 * Drill 1 — worker killed. For each job kind (env create, env delete, lb disable, lb enable,
 * restore-table side-table / merge-missing / replace, io-credits) one uninterrupted control run,
 * then `count` runs whose worker gets SIGKILL at a random step: after a random delay once the job
 * is active, or once its checkpoints reach a random step (alternately). A fresh worker
 * takes the job over. Every run must end exactly as the control did: the right sandbox state, no
 * resource made twice (groups, launch templates, instances, temporary DB instances seen over the
 * run), no duplicate rows, the temporary restore instance deleted, one progress message, final.
 *
 * Then, for each job kind that creates something, `count` kills aimed at the instant between each
 * create and its checkpoint (the worker runs with `CAPSTAN_DRILL_KILL_AFTER_CREATE`, see
 * `devkit/drill/kill-after-create.ts`): the restore's temporary instance and side table, the
 * environment's launch template and group. The resumed job must adopt what it made — and end as the
 * control did. The figures say, per create step, how many aimed kills landed there.
 */
import type { Job } from 'bullmq';
import { killedKey } from '../../devkit/drill/kill-after-create.js';
import { messageText } from '../../devkit/local/slack-api.js';
import { LB_MIN_SIZE_TAG } from '../../src/domain/lb.js';
import type { JobData } from '../../src/queue/contract.js';
import { APPROVE_ACTION } from '../../src/slack/blocks/approval.js';
import { waitFor } from '../../test/helpers/wait-for.js';
import {
  attempt,
  check,
  type DrillOptions,
  type DrillResult,
  type DrillWorld,
  randomInt,
  type WorkerProcess,
  workerAttached,
} from './harness.js';
import { type AccountWorld, liveInstances, startAccountWorld, watchResources } from './world.js';

/** The job kinds the drill covers, in the order it runs them. */
export const KILL_KINDS = [
  'env.create',
  'env.delete',
  'lb.disable',
  'lb.enable',
  'restore.side-table',
  'restore.merge-missing',
  'restore.replace',
  'rds.io-credits',
] as const;
export type KillKind = (typeof KILL_KINDS)[number];

/** What each job kind creates, by the step name it gives {@link JobContext.created}. */
export const CREATE_STEPS: Partial<Record<KillKind, readonly string[]>> = {
  'env.create': ['launch-template', 'group'],
  'restore.side-table': ['temporary-instance', 'side-table'],
  'restore.merge-missing': ['temporary-instance', 'side-table'],
  'restore.replace': ['temporary-instance', 'side-table'],
};

/** Options of {@link workerKilledDrill}: `count` kills per job kind. */
export interface KillDrillOptions extends DrillOptions {
  kinds?: readonly KillKind[];
  /** Run each kind once uninterrupted first, to time it and count its checkpoints (default true). */
  control?: boolean;
  /** Also aim `count` kills at each create step of each kind (default true). */
  aimed?: boolean;
}

/** How one job went. */
interface RunOutcome {
  /** Whether the worker was killed while the job was still running. */
  killedMidJob: boolean;
  /** Checkpoint keys the job had written when its worker was killed. */
  stepAtKill?: number;
  /** An aimed kill: whether the worker died right after that create, as aimed. */
  landed?: boolean;
  durationMs: number;
}

/** `stage-web`'s MinSize in this drill: its desired capacity, so `/lb disable` must lower it. */
const STAGE_MIN = 3;

/** The MinSize `/lb disable` recorded on a group (the tag Capstan keeps until enable restores it). */
function recordedMin(g: { tags: Array<{ Key: string; Value: string }> } | undefined): string | undefined {
  return g?.tags.find((t) => t.Key === LB_MIN_SIZE_TAG)?.Value;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The drill's result, with the aimed kills per create step. */
export interface KillDrillResult extends DrillResult {
  aimed: Array<{ kind: string; step: string; aimed: number; landed: number; ok: number }>;
}

/** Runs the drill; see the file comment. */
export async function workerKilledDrill(options: KillDrillOptions): Promise<KillDrillResult> {
  const log = options.log ?? (() => undefined);
  const kinds = options.kinds ?? KILL_KINDS;
  const needsDb = kinds.some((k) => k.startsWith('restore.') || k === 'rds.io-credits');
  const account = await startAccountWorld({
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
    database: needsDb,
    // `stage-web` at its MinSize (3 of 3): every standby must lower MinSize, and every enable put it back.
    min: STAGE_MIN,
  });
  const { world } = account;
  const failures: string[] = [];
  let runs = 0;
  let passed = 0;
  let midJob = 0;
  const stepsHit = new Map<string, Set<number>>();
  /** Per `<kind> <create step>`: kills aimed there, how many landed there, runs that ended right. */
  const aimedAt = new Map<string, { aimed: number; landed: number; ok: number }>();
  const workers = { current: undefined as WorkerProcess | undefined };
  try {
    workers.current = world.spawnWorker();
    await workerAttached(world);
    const control = new Map<KillKind, { durationMs: number; steps: number }>();
    for (let i = options.control === false ? 1 : 0; i <= options.count; i++) {
      for (const [k, kind] of kinds.entries()) {
        const isControl = i === 0;
        const label = `${kind} #${i}${isControl ? ' (control)' : ''}`;
        // Without a control run: a kill within the first 3 s, or at one of the first 3 checkpoints.
        const ref = control.get(kind) ?? { durationMs: 3_000, steps: 3 };
        const plan: KillPlan = isControl
          ? { kind: 'none' }
          : (i + k) % 2 === 0
            ? { kind: 'delay', ms: randomInt(0, Math.max(50, Math.floor(ref.durationMs * 0.9))) }
            : { kind: 'step', step: randomInt(1, Math.max(1, ref.steps)) };
        let outcome: RunOutcome | undefined;
        const ok = await attempt(failures, label, async () => {
          outcome = await runOne(account, kind, i, plan, workers);
        });
        if (isControl) {
          if (!ok) throw new Error(`control run of ${kind} failed: ${failures.at(-1)}`);
          control.set(kind, { durationMs: outcome?.durationMs ?? 2_000, steps: controlSteps.get(kind) ?? 1 });
          log(`control ${kind}: ${outcome?.durationMs} ms, ${controlSteps.get(kind)} checkpoint(s)`);
          continue;
        }
        runs += 1;
        if (ok) passed += 1;
        if (outcome?.killedMidJob) {
          midJob += 1;
          const hit = stepsHit.get(kind) ?? new Set<number>();
          hit.add(outcome.stepAtKill ?? 0);
          stepsHit.set(kind, hit);
        }
        log(
          `${label}: ${ok ? 'ok' : `FAILED ${failures.at(-1)}`} (${plan.kind === 'delay' ? `kill after ${plan.ms} ms` : plan.kind === 'step' ? `kill at checkpoint ${plan.step}` : 'no kill'}, ${outcome === undefined ? 'see the failure' : outcome.killedMidJob ? `killed mid-job at checkpoint ${outcome.stepAtKill}` : 'finished before the kill'})`,
        );
      }
    }
    if (options.aimed !== false) {
      let aimedRuns = 0;
      for (let i = 1; i <= options.count; i++) {
        for (const kind of kinds) {
          for (const what of CREATE_STEPS[kind] ?? []) {
            const label = `${kind} aimed #${i} (after creating the ${what})`;
            const cell = aimedAt.get(`${kind} ${what}`) ?? { aimed: 0, landed: 0, ok: 0 };
            aimedAt.set(`${kind} ${what}`, cell);
            let outcome: RunOutcome | undefined;
            const ok = await attempt(failures, label, async () => {
              // Each aimed run its own environment name (an env.create leaves its environment up).
              outcome = await runOne(account, kind, 100 + aimedRuns, { kind: 'created', what }, workers);
            });
            runs += 1;
            aimedRuns += 1;
            cell.aimed += 1;
            if (outcome?.landed) cell.landed += 1;
            if (outcome?.killedMidJob) midJob += 1;
            if (ok) {
              passed += 1;
              cell.ok += 1;
            }
            log(
              `${label}: ${ok ? 'ok' : `FAILED ${failures.at(-1)}`} (${outcome?.landed ? 'the kill landed there' : 'the kill did not land there'})`,
            );
          }
        }
      }
    }
  } finally {
    await account.stop();
  }
  const steps = [...stepsHit.entries()].map(([k, s]) => `${k} ${[...s].sort((a, b) => a - b).join('/')}`);
  return {
    drill: 'kill',
    runs,
    passed,
    checked: `SIGKILL mid-job ×${options.count} per kind (${kinds.length} kinds): sandbox state, no duplicate group/LT/instance/temp DB, rows exact, temp DB deleted, one final message`,
    figures: {
      'killed mid-job': `${midJob} of ${runs}`,
      'checkpoints killed at': steps.join('; ') || 'none',
      'aimed kills landed (kind step: landed/aimed, ended right)':
        [...aimedAt.entries()].map(([k, c]) => `${k}: ${c.landed}/${c.aimed}, ${c.ok} ok`).join('; ') ||
        'none',
    },
    aimed: [...aimedAt.entries()].map(([key, c]) => {
      const [kind = '', step = ''] = key.split(' ');
      return { kind, step, ...c };
    }),
    failures,
  };
}

type KillPlan =
  | { kind: 'none' }
  | { kind: 'delay'; ms: number }
  | { kind: 'step'; step: number }
  /** The worker kills itself right after the job creates `what` (before its checkpoint). */
  | { kind: 'created'; what: string };

/** Checkpoint keys (reporter's aside) each kind wrote in its control run. */
const controlSteps = new Map<KillKind, number>();

/** Checkpoint keys a job has written, the reporter's snapshot aside. */
function stepsOf(job: Job<JobData> | undefined): number {
  return Object.keys(job?.data?.checkpoints ?? {}).filter((k) => k !== 'reporter').length;
}

const JOB_NAME: Record<KillKind, string> = {
  'env.create': 'env.create',
  'env.delete': 'env.delete',
  'lb.disable': 'lb.disable',
  'lb.enable': 'lb.enable',
  'restore.side-table': 'rds.restore-table',
  'restore.merge-missing': 'rds.restore-table',
  'restore.replace': 'rds.restore-table',
  'rds.io-credits': 'rds.io-credits',
};

/** Runs one job of `kind`, killing its worker as `plan` says, and checks how it ended. */
async function runOne(
  account: AccountWorld,
  kind: KillKind,
  i: number,
  plan: KillPlan,
  workers: { current: WorkerProcess | undefined },
): Promise<RunOutcome> {
  const { world } = account;
  const before = await world.sandbox.snapshot();
  const env = `drill-${i}`;
  const stageIds = liveInstances(before, 'stage-web')
    .map((x) => x.id)
    .sort();
  let command: [string, string];
  switch (kind) {
    case 'env.create':
      command = ['/env', `create ${env} --size 2`];
      break;
    case 'env.delete':
      command = ['/env', `delete ${env}`];
      break;
    case 'lb.disable':
      command = ['/lb', `disable stage --instance ${stageIds[i % stageIds.length]} --reason "drill ${i}"`];
      break;
    case 'lb.enable':
      command = ['/lb', 'enable stage'];
      break;
    case 'restore.side-table':
    case 'restore.merge-missing':
    case 'restore.replace':
      await account.resetBilling();
      // A run that failed may have left its tables: they would make this one refuse to start.
      for (const t of [
        ...(await account.tablesLike('billing__restored_%')),
        ...(await account.tablesLike('billing__before_restore_%')),
      ])
        await account.live?.query(`DROP TABLE shop.\`${t}\``);
      command = [
        '/rds',
        `restore-table orders-db shop.billing --at ${account.noted} --mode ${kind.slice(8)}`,
      ];
      break;
    case 'rds.io-credits':
      command = ['/rds', 'io-credits orders-db --hours 24'];
      break;
  }
  const text = `${command[0]} ${command[1]}`;
  if (plan.kind === 'created') {
    // This run's worker kills itself right after the create it is aimed at.
    await workers.current?.kill();
    workers.current = world.spawnWorker({
      CAPSTAN_DRILL_KILL_AFTER_CREATE: `${JOB_NAME[kind]}:${plan.what}`,
    });
  }
  const mark = world.fake.messages.length;
  const watch = watchResources(world);
  const known = new Set((await world.jobsNamed(JOB_NAME[kind])).map((j) => String(j.id)));
  const reply = await world.slash(command[0], command[1]);
  check(reply.status === 200, `slash answered HTTP ${reply.status}`);
  if (kind === 'restore.replace') {
    check(/needs an approval/.test(reply.body), `replace did not ask for approval: ${reply.body}`);
    const request = await waitFor(
      () => world.fake.messages.slice(mark).find((m) => m.channel === 'C0APPROVALS'),
      { timeoutMs: 30_000, message: 'the approval request' },
    );
    const approvalId = JSON.stringify(request.blocks).match(/"value":"(j[0-9a-f]+)"/)?.[1] ?? '';
    const click = await world.click('U0CAROL', request, APPROVE_ACTION, approvalId);
    check(click.status === 200, `approve click answered HTTP ${click.status}`);
  } else {
    check(/Queued as job/.test(reply.body), `not queued: ${reply.body.slice(0, 200)}`);
  }

  // The job, once a worker has it.
  const job = await waitFor(
    async () => {
      const jobs = await world.jobsNamed(JOB_NAME[kind]);
      const mine = jobs.find((j) => !known.has(String(j.id)));
      if (!mine) return undefined;
      const state = await mine.getState();
      return state === 'active' || state === 'completed' || state === 'failed' ? mine : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 10, message: `the ${kind} job to start` },
  );
  const jobId = String(job.id);
  const started = Date.now();

  let killedMidJob = false;
  let stepAtKill: number | undefined;
  let landed: boolean | undefined;
  let maxSteps = 0;
  if (plan.kind === 'created') {
    const aimedWorker = workers.current;
    const deadline = Date.now() + 90_000;
    for (;;) {
      const died = aimedWorker?.proc.signalCode === 'SIGKILL' || aimedWorker?.proc.exitCode !== null;
      const current = await world.queue.getJob(jobId);
      const state = await current?.getState();
      if (died) {
        landed = (await world.redis.exists(killedKey(world.prefix, jobId, plan.what))) === 1;
        killedMidJob = state !== 'completed' && state !== 'failed';
        stepAtKill = stepsOf(current);
        break;
      }
      if (state === 'completed' || state === 'failed') {
        landed = false;
        break;
      }
      if (Date.now() > deadline) throw new Error(`the job never created its ${plan.what}`);
      await sleep(10);
    }
    // The job goes on (or the next run starts) on a worker that kills nothing.
    await aimedWorker?.kill();
    workers.current = world.spawnWorker();
  } else if (plan.kind !== 'none') {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const current = await world.queue.getJob(jobId);
      const state = await current?.getState();
      if (state !== 'active') break;
      const steps = stepsOf(current);
      const due = plan.kind === 'delay' ? Date.now() - started >= plan.ms : steps >= plan.step;
      if (due) {
        await workers.current?.kill();
        // Still running when the worker died (not finished in the meantime)?
        const after = await world.queue.getJob(jobId);
        killedMidJob = !(await after?.isCompleted()) && !(await after?.isFailed());
        stepAtKill = stepsOf(after);
        workers.current = world.spawnWorker();
        break;
      }
      if (Date.now() > deadline) throw new Error('the job neither finished nor reached the kill point');
      await sleep(10);
    }
  }

  // The job's end, as BullMQ records it.
  const ended = await waitFor(
    async () => {
      const current = await world.queue.getJob(jobId);
      if (plan.kind === 'none') maxSteps = Math.max(maxSteps, stepsOf(current));
      const state = await current?.getState();
      return state === 'completed' || state === 'failed' ? { state, current } : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 25, message: `the ${kind} job ${jobId} to end` },
  );
  const durationMs = Date.now() - started;
  if (plan.kind === 'none') controlSteps.set(kind, Math.max(1, stepsOf(ended.current), maxSteps));
  const mine = (await world.jobsNamed(JOB_NAME[kind])).filter((j) => !known.has(String(j.id)));
  const states = await Promise.all(mine.map(async (j) => `${j.id}:${await j.getState()}`));
  // Was the job taken for stalled (BullMQ then runs it again, maybe while a worker still runs it)?
  const events = await world.redis.xrange(`${world.prefix}:jobs:events`, '-', '+');
  const stalled = events.filter(([, f]) => f.includes('stalled') && f.includes(jobId)).length;
  check(
    ended.state === 'completed',
    `job ${jobId} ${ended.state} after ${ended.current?.attemptsMade} attempt(s), ${stalled} stalled: ${ended.current?.failedReason} [checkpoints: ${JSON.stringify({ ...ended.current?.data.checkpoints, reporter: undefined }).slice(0, 400)}]`,
  );
  check(mine.length === 1, `${mine.length} jobs for one command: ${states.join(', ')}`);
  // One progress message for the job, edited in place to its final state (the approval request of
  // a replace has its own in the same thread). The final edit lands before the job completes.
  const messageTs = ended.current?.data.checkpoints.reporter?.messageTs;
  check(messageTs, 'the job recorded no progress message');
  const progressOf = () =>
    world.fake.messages
      .slice(mark)
      .filter((m) => m.channel === 'C0OPS' && messageText(m).startsWith(`${text}:`));
  const own = await waitFor(
    () => {
      const m = world.fake.findMessage('C0OPS', messageTs);
      return m && /(done|failed|cancelled) in/.test(messageText(m)) ? m : undefined;
    },
    { timeoutMs: 10_000, message: 'the final progress message' },
  );
  const resources = await watch.stop();
  const final = messageText(own);
  check(/: done in/.test(final), `final message is not done: ${final.slice(0, 300)}`);
  const progress = progressOf();
  const want = kind === 'restore.replace' ? 2 : 1;
  check(
    progress.length === want,
    `${progress.length} progress messages (want ${want}): ${progress.map((m) => JSON.stringify(messageText(m).slice(0, 120))).join(' | ')}`,
  );
  // The approval request's own message ends "approved: by …" (never "done" while it waited).
  check(
    progress.every((m) => /(done|failed|cancelled) in|: approved: by /.test(messageText(m))),
    'a progress message was left unfinished',
  );
  const roots = world.fake.messages.slice(mark).filter((m) => m.channel === 'C0OPS' && !m.thread_ts);
  check(roots.length <= 1, `${roots.length} thread roots for one command`);

  const after = await world.sandbox.snapshot();
  await checkOutcome(account, kind, { env, final, before, after, resources, stageIds, text, i });
  return {
    killedMidJob,
    ...(stepAtKill !== undefined ? { stepAtKill } : {}),
    ...(landed !== undefined ? { landed } : {}),
    durationMs,
  };
}

interface OutcomeContext {
  env: string;
  final: string;
  before: Awaited<ReturnType<DrillWorld['sandbox']['snapshot']>>;
  after: Awaited<ReturnType<DrillWorld['sandbox']['snapshot']>>;
  resources: ReturnType<typeof watchResources>['log'];
  stageIds: string[];
  text: string;
  i: number;
}

/** Checks the world is exactly as an uninterrupted job of `kind` leaves it. */
async function checkOutcome(account: AccountWorld, kind: KillKind, c: OutcomeContext): Promise<void> {
  const group = `capstan-env-${c.env}`;
  const orphans = Object.values(c.after.instances).filter((x) => !x.group && x.state !== 'terminated');
  check(orphans.length === 0, `${orphans.length} instance(s) outside any group`);
  // Made during this run (an aimed env.create leaves its environment up for the runs after it).
  const existed = new Set(Object.keys(c.before.groups));
  const groupsSeen = [...c.resources.groups].filter(
    (g) => g.startsWith('capstan-env-') && (!existed.has(g) || g === group),
  );
  const templatesBefore = new Set(Object.values(c.before.launchTemplates).map((t) => t.name));
  const templatesSeen = [...c.resources.launchTemplates].filter((t) => {
    const name = t.split(':')[0] ?? '';
    return name.startsWith('capstan-env-') && (!templatesBefore.has(name) || name === group);
  });
  switch (kind) {
    case 'env.create': {
      check(/Environment `drill-\d+` is up: 2 instance\(s\) InService/.test(c.final), `summary: ${c.final}`);
      check(groupsSeen.join() === group, `groups seen: ${groupsSeen.join(', ')}`);
      check(templatesSeen.length === 1, `launch templates seen: ${templatesSeen.join(', ')}`);
      const live = liveInstances(c.after, group);
      check(
        live.length === 2 && live.every((x) => x.lifecycle === 'InService'),
        `${live.length} live instance(s): ${live.map((x) => x.lifecycle).join(', ')}`,
      );
      const launched = c.resources.instancesByGroup.get(group)?.size ?? 0;
      check(launched === 2, `${launched} instances launched for a size-2 environment`);
      break;
    }
    case 'env.delete': {
      check(/is deleted; nothing tagged/.test(c.final), `summary: ${c.final}`);
      check(!c.after.groups[group], `${group} still exists`);
      check(liveInstances(c.after, group).length === 0, 'instances of the deleted group remain');
      const lts = Object.values(c.after.launchTemplates).filter((t) => t.name.startsWith(group));
      check(lts.length === 0, `launch template(s) left: ${lts.map((t) => t.id).join(', ')}`);
      check(
        groupsSeen.every((g) => g === group),
        `groups seen: ${groupsSeen.join(', ')}`,
      );
      break;
    }
    case 'lb.disable': {
      const id = c.stageIds[c.i % c.stageIds.length] ?? '';
      check(/is out of the load balancer \(Standby\)/.test(c.final), `summary: ${c.final}`);
      check(c.after.instances[id]?.lifecycle === 'Standby', `${id} is ${c.after.instances[id]?.lifecycle}`);
      const g = c.after.groups['stage-web'];
      check(g?.desired === 2, `stage-web desired ${g?.desired} (want 2)`);
      check(g?.min === STAGE_MIN - 1, `stage-web MinSize ${g?.min} (want ${STAGE_MIN - 1} while in standby)`);
      check(recordedMin(g) === String(STAGE_MIN), `recorded MinSize ${recordedMin(g)} (want ${STAGE_MIN})`);
      check(/MinSize 3 → 2/.test(c.final), `no MinSize note: ${c.final}`);
      check(
        (g?.suspended ?? [])
          .map((p) => p.name)
          .sort()
          .join() === 'AZRebalance,AlarmNotification,ReplaceUnhealthy,ScheduledActions',
        `suspended: ${(g?.suspended ?? []).map((p) => p.name).join(', ')}`,
      );
      check(liveInstances(c.after, 'stage-web').length === 3, 'stage-web lost or gained an instance');
      check(groupsSeen.length === 0, `groups made: ${groupsSeen.join(', ')}`);
      break;
    }
    case 'lb.enable': {
      check(/is back in service and healthy/.test(c.final), `summary: ${c.final}`);
      const live = liveInstances(c.after, 'stage-web');
      check(
        live.length === 3 && live.every((x) => x.lifecycle === 'InService'),
        `stage-web: ${live.map((x) => x.lifecycle).join(', ')}`,
      );
      const g = c.after.groups['stage-web'];
      check(g?.desired === 3, `stage-web desired ${g?.desired} (want 3)`);
      check(g?.min === STAGE_MIN, `stage-web MinSize ${g?.min} (want ${STAGE_MIN} back)`);
      check(recordedMin(g) === undefined, `MinSize tag left: ${recordedMin(g)}`);
      check(
        (g?.suspended ?? []).length === 0,
        `still suspended: ${g?.suspended.map((p) => p.name).join(', ')}`,
      );
      check(
        live
          .map((x) => x.id)
          .sort()
          .join() === c.stageIds.join(),
        'stage-web instances replaced instead of put back',
      );
      break;
    }
    case 'restore.side-table':
    case 'restore.merge-missing':
    case 'restore.replace': {
      const temps = [...c.resources.dbInstances].filter((id) => id.startsWith('capstan-restore-'));
      check(temps.length === 1, `temporary instances seen: ${temps.join(', ') || 'none'}`);
      const left = Object.keys(c.after.dbInstances).filter((id) => id.startsWith('capstan-restore-'));
      check(left.length === 0, `temporary instance(s) not deleted: ${left.join(', ')}`);
      const restored = await account.tablesLike('billing__restored_%');
      const beforeTables = await account.tablesLike('billing__before_restore_%');
      const live = await account.fingerprint('billing');
      const { original, damaged, merged } = account.expected;
      if (kind === 'restore.side-table') {
        check(restored.length === 1, `restored tables: ${restored.join(', ')}`);
        const copy = await account.fingerprint(restored[0] ?? '');
        check(same(copy, original), `restored copy ${show(copy)} ≠ original ${show(original)}`);
        check(same(live, damaged), 'the live table changed in side-table mode');
      } else if (kind === 'restore.merge-missing') {
        check(same(live, merged), `live after merge ${show(live)} ≠ expected ${show(merged)}`);
      } else {
        check(/Replaced/.test(c.final), `summary: ${c.final}`);
        check(same(live, original), `live after replace ${show(live)} ≠ original ${show(original)}`);
        check(beforeTables.length === 1, `before-restore tables: ${beforeTables.join(', ')}`);
        const kept = await account.fingerprint(beforeTables[0] ?? '');
        check(same(kept, damaged), 'the kept old table is not the live table as it was');
      }
      // Clean up for the next run (names repeat within a minute).
      for (const t of [...restored, ...beforeTables]) await account.live?.query(`DROP TABLE shop.\`${t}\``);
      break;
    }
    case 'rds.io-credits': {
      check(/orders-db/.test(c.final), `summary: ${c.final.slice(0, 300)}`);
      check(
        Object.keys(c.after.dbInstances).sort().join() === Object.keys(c.before.dbInstances).sort().join(),
        'a read-only report changed the DB instances',
      );
      break;
    }
  }
}

function same(a: { count: number; distinct: number; checksum: string }, b: typeof a): boolean {
  return a.count === b.count && a.distinct === b.distinct && a.checksum === b.checksum;
}

function show(f: { count: number; distinct: number; checksum: string }): string {
  return `${f.count} rows/${f.distinct} ids/${f.checksum}`;
}
