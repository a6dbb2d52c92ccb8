/**
 * Drill 5 — load. Two `capstan web` processes and three `capstan worker` processes share one
 * Redis; 200 simulated users send `count` commands over `spreadMs` (pings, lists, statuses,
 * environment creates and deletes on a few shared names, load balancer rounds on `stage`, changes
 * to the protected `prod` that need an approval — approvers approve or reject them — cancels of
 * their own jobs, and Slack's retried deliveries). Every command must be acked within 3 s; every
 * queued job must exist and end, with one final message, and no job may exist twice; no two
 * mutating jobs may hold one target at once (from the jobs' own start and end times); the audit
 * stream must hold one entry per command decided, per approval decision and per job outcome.
 * Prints ack p50/p99, job throughput and Slack Web API calls per job.
 */
import type { Job } from 'bullmq';
import { fakeTriggerId } from '../../devkit/local/signed-request.js';
import { messageText } from '../../devkit/local/slack-api.js';
import type { JobData } from '../../src/queue/contract.js';
import { APPROVE_ACTION, REJECT_ACTION } from '../../src/slack/blocks/approval.js';
import { waitFor } from '../../test/helpers/wait-for.js';
import {
  attempt,
  check,
  type DrillOptions,
  type DrillResult,
  quantile,
  randomInt,
  startDrillWorld,
  workerAttached,
} from './harness.js';
import { DB_PASSWORD, drillConfig, drillSeed, liveInstances } from './world.js';

/** Options of {@link loadDrill}. */
export interface LoadDrillOptions extends DrillOptions {
  /** Over how long the commands are sent; default one minute. */
  spreadMs?: number;
  /** Simulated users; default 200. */
  users?: number;
}

/** Slack's deadline for acknowledging a request (https://api.slack.com/interactivity/handling#acknowledgment_response). */
export const ACK_DEADLINE_MS = 3_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The load drill's configuration: `users` as engineers, `stage` and a protected `prod`. */
export function loadConfig(users: string[]): string {
  return drillConfig({ engineers: users, approvers: ['U0APPR1', 'U0APPR2'], prod: true });
}

/** What one simulated command does. */
type Action =
  | { kind: 'slash'; command: string; text: string; mutating?: string }
  | { kind: 'cancel' }
  | { kind: 'retry' };

/** The mix: weights out of 100. */
function pickAction(stageIds: string[], prodIds: string[]): Action {
  const r = Math.random() * 100;
  const env = `load-${randomInt(0, 7)}`;
  if (r < 25) return { kind: 'slash', command: '/ops', text: 'ping' };
  if (r < 35) return { kind: 'slash', command: '/env', text: 'list' };
  if (r < 45) return { kind: 'slash', command: '/lb', text: 'status stage' };
  if (r < 50) return { kind: 'slash', command: '/ops', text: 'jobs' };
  if (r < 62) return { kind: 'slash', command: '/env', text: `create ${env} --size 1`, mutating: env };
  if (r < 72) return { kind: 'slash', command: '/env', text: `delete ${env}`, mutating: env };
  if (r < 78) {
    const id = stageIds[randomInt(0, stageIds.length - 1)];
    return { kind: 'slash', command: '/lb', text: `disable stage --instance ${id}`, mutating: 'stage' };
  }
  if (r < 84) return { kind: 'slash', command: '/lb', text: 'enable stage', mutating: 'stage' };
  if (r < 88) {
    const id = prodIds[randomInt(0, prodIds.length - 1)];
    return {
      kind: 'slash',
      command: '/lb',
      text: `disable prod --instance ${id} --reason load`,
      mutating: 'prod',
    };
  }
  if (r < 90) return { kind: 'slash', command: '/lb', text: 'enable prod', mutating: 'prod' };
  if (r < 95) return { kind: 'cancel' };
  return { kind: 'retry' };
}

/** A command sent and how it was answered. */
export interface Sent {
  user: string;
  text: string;
  triggerId: string;
  status: number;
  ms: number;
  reply: string;
  /** The job it queued (or found already queued). */
  jobId?: string;
  outcome:
    | 'queued'
    | 'duplicate'
    | 'approval'
    | 'busy'
    | 'usage'
    | 'denied'
    | 'answered'
    | 'error'
    /** Answered in time that it is held (Redis slow); its outcome follows as an ephemeral message. */
    | 'held';
}

/** What a reply to a command says happened to it. */
export function outcomeOf(status: number, reply: string): Sent['outcome'] {
  if (status !== 200) return 'error';
  // Acknowledged in time, but saying the command was not taken (Redis could not be written).
  if (/Capstan could not take this command/.test(reply)) return 'error';
  if (/this command is held until it answers/.test(reply)) return 'held';
  if (/Queued as job/.test(reply)) return 'queued';
  if (/Already received/.test(reply)) return 'duplicate';
  if (/needs an? .*approval/.test(reply)) return 'approval';
  if (/is busy: job/.test(reply)) return 'busy';
  if (/^\{"response_type":"ephemeral","text":":warning:/.test(reply)) return 'usage';
  if (/:no_entry:|may only read|needs one of the roles/.test(reply)) return 'denied';
  return 'answered';
}

/** Runs the drill; see the file comment. */
export async function loadDrill(options: LoadDrillOptions): Promise<DrillResult> {
  const log = options.log ?? (() => undefined);
  const spreadMs = options.spreadMs ?? 60_000;
  const users = Array.from({ length: options.users ?? 200 }, (_, i) => `U0L${String(i).padStart(3, '0')}`);
  const world = await startDrillWorld({
    configYaml: loadConfig(users),
    env: { DRILL_DB_PASSWORD: DB_PASSWORD, CAPSTAN_WORKER_CONCURRENCY: '8' },
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
  });
  const { sandbox, fake } = world;
  const failures: string[] = [];
  const figures: Record<string, string> = {};
  const sent: Sent[] = [];
  let runs = 0;
  let passed = 0;
  try {
    // MinSize 1: an approved `/lb disable` of the last in-service instances lowers it for the standby.
    await sandbox.seed(drillSeed({ environments: ['stage', 'prod'] }));
    const snapshot = await sandbox.snapshot();
    const idsOf = (g: string) => liveInstances(snapshot, g).map((x) => x.id);
    const stageIds = idsOf('stage-web');
    const prodIds = idsOf('prod-web');

    const webs = await Promise.all([world.spawnWeb(), world.spawnWeb()]);
    for (let w = 0; w < 3; w++) world.spawnWorker();
    await workerAttached(world);
    const callsBefore = fake.calls.length;
    const auditKey = `${world.prefix}:audit`;
    const auditBefore = await world.redis.xlen(auditKey);

    // Approvers: decide every approval request as it appears (two in three approved).
    const decided = new Map<string, 'approved' | 'rejected'>();
    let approving = true;
    const approvers = (async () => {
      let k = 0;
      while (approving) {
        for (const m of fake.messagesIn('C0APPROVALS')) {
          const id = JSON.stringify(m.blocks ?? []).match(/"value":"(j[0-9a-f]+)"/)?.[1];
          if (!id || decided.has(id) || !/Approval needed/.test(messageText(m))) continue;
          if (/Approved|Rejected|Expired/.test(messageText(m))) continue;
          const approve = k++ % 3 !== 2;
          decided.set(id, approve ? 'approved' : 'rejected');
          const web = webs[k % 2] ?? world;
          const result = await web.click(
            k % 2 === 0 ? 'U0APPR1' : 'U0APPR2',
            m,
            approve ? APPROVE_ACTION : REJECT_ACTION,
            id,
          );
          if (result.status !== 200) failures.push(`approval click on ${id}: HTTP ${result.status}`);
          if (result.ms > ACK_DEADLINE_MS)
            failures.push(`approval click on ${id} acked in ${result.ms.toFixed(0)} ms`);
        }
        await sleep(200);
      }
    })();

    // The users: each command at a random moment of the spread, from a random user, to a random web process.
    const started = Date.now();
    const plan = Array.from({ length: options.count }, () => ({
      at: Math.random() * spreadMs,
      user: users[randomInt(0, users.length - 1)] ?? 'U0L000',
    })).sort((a, b) => a.at - b.at);
    const mine = new Map<string, string[]>();
    const sendOne = async (user: string, command: string, text: string, triggerId: string, retry = false) => {
      const web = webs[randomInt(0, 1)] ?? world;
      const result = await web
        .slash(command, text, {
          userId: user,
          channelId: 'C0OPS',
          triggerId,
          ...(retry ? { headers: { 'X-Slack-Retry-Num': '1', 'X-Slack-Retry-Reason': 'http_timeout' } } : {}),
        })
        .catch((error: Error) => ({ status: 0, body: error.message, ms: Number.NaN, headers: {} }));
      const reply = result.body;
      const s: Sent = {
        user,
        text: `${command} ${text}`,
        triggerId,
        status: result.status,
        ms: result.ms,
        reply,
        outcome: outcomeOf(result.status, reply),
      };
      const jobId = reply.match(/job `(j[0-9a-f]+)`/)?.[1] ?? reply.match(/request `(j[0-9a-f]+)`/)?.[1];
      if (jobId) s.jobId = jobId;
      sent.push(s);
      if (s.outcome === 'queued' && jobId) mine.set(user, [...(mine.get(user) ?? []), jobId]);
      return s;
    };
    await Promise.all(
      plan.map(async ({ at, user }) => {
        await sleep(at);
        const action = pickAction(stageIds, prodIds);
        if (action.kind === 'slash') {
          await sendOne(user, action.command, action.text, fakeTriggerId());
        } else if (action.kind === 'cancel') {
          const target = mine.get(user)?.at(-1) ?? 'j00000000000';
          await sendOne(user, '/ops', `cancel ${target}`, fakeTriggerId());
        } else {
          // Slack delivering the same request twice (its retry after a slow ack).
          const triggerId = fakeTriggerId();
          const text = `create load-${randomInt(0, 7)} --size 1`;
          const first = await sendOne(user, '/env', text, triggerId);
          const again = await sendOne(user, '/env', text, triggerId, true);
          if (first.outcome === 'queued' && !(again.outcome === 'duplicate' && again.jobId === first.jobId))
            failures.push(`Slack's retry of ${triggerId} was not recognised: ${again.reply.slice(0, 160)}`);
        }
      }),
    );
    const sentAllAt = Date.now();
    log(`${sent.length} requests sent in ${((sentAllAt - started) / 1000).toFixed(1)} s`);

    // Every job ends (approvals may still be turning into jobs for a moment).
    await waitFor(
      async () => {
        // Approval expiry timers stay delayed for the approval's lifetime: they are not work left.
        const open = (await world.queue.getJobs(['wait', 'active', 'delayed', 'prioritized'])).filter(
          (j) => j && j.name !== 'approval.expire' && !String(j.id).startsWith('repeat:'),
        );
        const asked = sent.filter((s) => s.outcome === 'approval').length;
        return open.length === 0 && decided.size >= asked;
      },
      { timeoutMs: 180_000, intervalMs: 250, message: 'every job to end' },
    ).catch((error: Error) => failures.push(`drain: ${error.message.slice(0, 300)}`));
    await sleep(1_000);
    approving = false;
    await approvers;
    const drainedAt = Date.now();

    // Acks.
    const acks = sent.map((s) => s.ms).filter((ms) => Number.isFinite(ms));
    for (const s of sent) {
      runs += 1;
      const why =
        s.status !== 200
          ? `HTTP ${s.status}: ${s.reply.slice(0, 100)}`
          : s.ms > ACK_DEADLINE_MS
            ? `acked in ${s.ms.toFixed(0)} ms`
            : s.outcome === 'error'
              ? s.reply.slice(0, 100)
              : undefined;
      if (why) failures.push(`${s.user} ${s.text}: ${why}`);
      else passed += 1;
    }

    // Jobs: every queued one exists and ended with one final message; none twice.
    const all = (
      await world.queue.getJobs(['completed', 'failed', 'wait', 'active', 'delayed', 'prioritized'])
    ).filter((j): j is Job<JobData> => Boolean(j) && !String(j.id).startsWith('repeat:'));
    const byId = new Map(all.map((j) => [String(j.id), j]));
    const queuedIds = new Set(sent.filter((s) => s.outcome === 'queued').map((s) => s.jobId as string));
    const asked = sent.filter((s) => s.outcome === 'approval').length;
    await attempt(failures, 'jobs', async () => {
      const lost = [...queuedIds].filter((id) => !byId.has(id));
      check(lost.length === 0, `${lost.length} queued job(s) missing: ${lost.slice(0, 5).join(', ')}`);
      const approved = [...decided.values()].filter((d) => d === 'approved').length;
      const fromApprovals = all.filter((j) => j.data.approval !== undefined);
      if (fromApprovals.length !== approved) {
        // Which approved requests have no job, and what the approval store says of each.
        const ran = new Set(fromApprovals.map((j) => j.data.approval?.id));
        const missing = [...decided].filter(([id, d]) => d === 'approved' && !ran.has(id)).map(([id]) => id);
        const states = await Promise.all(
          missing.map(async (id) => {
            const record = await world.redis.hgetall(`${world.prefix}:approval:${id}`);
            return `${id}: status ${record.status ?? '?'}, decided by ${record.decidedBy ?? '?'}`;
          }),
        );
        check(
          false,
          `${fromApprovals.length} job(s) run under an approval for ${approved} approved request(s); without a job: ${states.join('; ')}`,
        );
      }
      const commandJobs = all.filter(
        (j) => !j.name.startsWith('approval.') && j.data.request.source === 'slash',
      );
      check(
        commandJobs.length === queuedIds.size + fromApprovals.length,
        `${commandJobs.length} command jobs for ${queuedIds.size} queued + ${fromApprovals.length} approved`,
      );
      const requests = all.filter((j) => j.name === 'approval.request');
      // A job about to take the last in-service instance out asks for an approval of its own.
      const fromJobs = requests.filter((j) => j.data.request.requestId.startsWith('last-instance:')).length;
      check(
        requests.length === asked + fromJobs,
        `${requests.length} approval requests for ${asked} asked by people and ${fromJobs} by jobs`,
      );
      const unfinished: string[] = [];
      for (const j of commandJobs) {
        const state = await j.getState();
        if (state !== 'completed' && state !== 'failed') unfinished.push(`${j.id} ${state}`);
        const ts = j.data.checkpoints.reporter?.messageTs;
        const m = ts ? fake.findMessage('C0OPS', ts) : undefined;
        if (!m || !/(done|failed|cancelled) in/.test(messageText(m)))
          unfinished.push(`${j.id} (${j.name}) has no final message`);
      }
      check(
        unfinished.length === 0,
        `${unfinished.length} job(s) unfinished: ${unfinished.slice(0, 5).join('; ')}`,
      );
      const crashed = commandJobs.filter(
        (j) =>
          j.failedReason &&
          !/UserError|already exists|no environment|not in environment|There is no/i.test(j.failedReason),
      );
      check(
        crashed.length === 0,
        `${crashed.length} job(s) failed for internal reasons: ${crashed
          .slice(0, 3)
          .map((j) => `${j.name}: ${j.failedReason}`)
          .join('; ')}`,
      );
    });

    // Locks: no two mutating jobs on one target at once. A job works on its target from its first
    // step to its last (the reporter checkpoints when each step starts); it frees the target before
    // announcing its outcome, so the next job may start while the previous one is still reporting.
    await attempt(failures, 'locks', async () => {
      const mutating = all.filter((j) =>
        ['env.create', 'env.delete', 'lb.disable', 'lb.enable'].includes(j.name),
      );
      const byTarget = new Map<string, Array<{ id: string; from: number; to: number }>>();
      for (const j of mutating) {
        const command = j.data.command as { name?: string; env?: string } | undefined;
        const target = command?.name ?? command?.env ?? '?';
        const steps = j.data.checkpoints.reporter?.state.steps ?? [];
        const starts = steps.map((st) => st.startedAt).filter((t): t is number => typeof t === 'number');
        if (starts.length === 0) continue;
        const list = byTarget.get(target) ?? [];
        list.push({ id: String(j.id), from: Math.min(...starts), to: Math.max(...starts) });
        byTarget.set(target, list);
      }
      const overlaps: string[] = [];
      for (const [target, list] of byTarget) {
        list.sort((a, b) => a.from - b.from);
        for (let k = 1; k < list.length; k++) {
          const prev = list[k - 1];
          const cur = list[k];
          if (prev && cur && cur.from <= prev.to)
            overlaps.push(`${target}: ${prev.id} steps until ${prev.to}, ${cur.id} from ${cur.from}`);
        }
      }
      figures['mutating jobs checked for overlap'] = `${mutating.length} on ${byTarget.size} targets`;
      check(overlaps.length === 0, `${overlaps.length} overlap(s): ${overlaps.slice(0, 3).join('; ')}`);
    });

    // Audit: one entry per command decided, per approval decision, per job outcome.
    await attempt(failures, 'audit', async () => {
      const entries = await world.redis.xrange(auditKey, '-', '+');
      const kinds = new Map<string, number>();
      for (const [, flat] of entries.slice(auditBefore)) {
        const kind = flat[flat.indexOf('kind') + 1] ?? '?';
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      }
      // One command entry per request, however often Slack delivered it (a retry of one answered
      // busy is answered busy again, and is still one command).
      const decidedCommands = new Set(
        sent
          .filter((s) => s.outcome !== 'duplicate' && s.outcome !== 'error' && !/^\/ops cancel/.test(s.text))
          .map((s) => s.triggerId),
      ).size;
      const cancels = sent.filter((s) => /^\/ops cancel/.test(s.text)).length;
      const ended = all.filter((j) => !j.name.startsWith('approval.') && j.finishedOn).length;
      figures['audit entries'] = [...kinds.entries()].map(([k, n]) => `${k} ${n}`).join(', ');
      check(
        (kinds.get('command') ?? 0) >= decidedCommands,
        `${kinds.get('command') ?? 0} command entries for ${decidedCommands} commands decided`,
      );
      check(
        (kinds.get('approval') ?? 0) >= decided.size,
        `${kinds.get('approval') ?? 0} approval entries for ${decided.size} decisions`,
      );
      check(
        (kinds.get('job') ?? 0) >= ended,
        `${kinds.get('job') ?? 0} job outcome entries for ${ended} jobs ended`,
      );
      check(
        (kinds.get('cancel') ?? 0) + (kinds.get('command') ?? 0) >= decidedCommands + cancels,
        'cancels not audited',
      );
    });

    const jobsRun = all.filter((j) => j.finishedOn).length;
    const outcomes = new Map<string, number>();
    for (const s of sent) outcomes.set(s.outcome, (outcomes.get(s.outcome) ?? 0) + 1);
    figures['ack p50 / p99 / max'] =
      `${quantile(acks, 0.5).toFixed(0)} / ${quantile(acks, 0.99).toFixed(0)} / ${Math.max(...acks).toFixed(0)} ms (${acks.length} requests, 2 web processes)`;
    figures.replies = [...outcomes.entries()].map(([k, n]) => `${k} ${n}`).join(', ');
    figures['job throughput'] =
      `${jobsRun} jobs in ${((drainedAt - started) / 1000).toFixed(1)} s = ${(jobsRun / ((drainedAt - started) / 1000)).toFixed(1)} jobs/s (3 workers)`;
    figures['Slack calls per job'] =
      `${((fake.calls.length - callsBefore) / Math.max(1, jobsRun)).toFixed(2)} (${fake.calls.length - callsBefore} calls)`;
    figures.approvals = `${[...decided.values()].filter((d) => d === 'approved').length} approved, ${[...decided.values()].filter((d) => d === 'rejected').length} rejected`;
  } finally {
    await world.stop();
  }
  const drillLevel = failures.filter((f) => /^(jobs|locks|audit|drain):/.test(f)).length;
  return {
    drill: 'load',
    runs,
    passed: Math.max(0, passed - drillLevel),
    checked: `${options.count} commands from ${users.length} users over ${(spreadMs / 1000).toFixed(0)} s, 2 web + 3 workers: acked < 3 s, no job lost or doubled, locks held, every decision audited`,
    figures,
    failures,
  };
}
