/**
 * What the Cluster and Sentinel drills share: one failover of the primary that holds Capstan's keys,
 * under a lighter version of the load drill's traffic, and the checks that nothing acknowledged was
 * lost.
 *
 * A round: an approval request is left open and an environment create holds its target's lock;
 * traffic runs (pings, environment creates and deletes, load balancer rounds on `stage`, changes to
 * the protected `prod` that approvers approve or reject); a probe writes into Capstan's hash-tag slot
 * every 25 ms from connections of its own, one per data node; the failover is triggered (the caller
 * says how: SIGKILL, SENTINEL FAILOVER). The failover ends when a node other than the old primary
 * accepts a probe write. Then: the locks held before are held by the same jobs (or their jobs have
 * ended), the approval records and the jobs in flight are all there, the open approval is approved
 * and runs; traffic goes on for a while, the old primary is brought back, every job drains, and each
 * command is checked. Acknowledged with a job — HTTP 200 within 3 s saying it was queued or an
 * approval was asked, at once or, for a command answered as held (Redis slow), by the ephemeral
 * message that follows — → its job exists, ran to its end once (one job outcome in the audit
 * stream) and has one final message; approved → its job likewise; rejected → no job. A held command
 * must be told its outcome; a command told it failed must have no job.
 *
 * CAPSTAN_DRILL_TRACE=1 prints every command of a round: when it was sent relative to the failover,
 * its answer, and a held one's follow-up.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { fakeTriggerId } from '../../devkit/local/signed-request.js';
import { type FakeEphemeral, type FakeMessage, messageText } from '../../devkit/local/slack-api.js';
import { readRedisConfig } from '../../src/config.js';
import { type JobData, jobIdFor } from '../../src/queue/contract.js';
import { createWriteConfirmer } from '../../src/redis.js';
import { APPROVE_ACTION, REJECT_ACTION } from '../../src/slack/blocks/approval.js';
import { waitFor } from '../../test/helpers/wait-for.js';
import {
  attempt,
  check,
  type DrillWorld,
  isFinal,
  quantile,
  randomInt,
  startDrillWorld,
  workerAttached,
} from './harness.js';
import { ACK_DEADLINE_MS, loadConfig, outcomeOf, type Sent } from './load.js';
import { DB_PASSWORD, drillSeed, liveInstances, TIMING } from './world.js';

/**
 * What a crash can lose, whatever Capstan does: printed with the figures of both drills. Redis
 * replicates asynchronously (https://redis.io/docs/latest/operate/oss_and_stack/management/replication/)
 * and `appendfsync everysec` syncs the append-only file once a second
 * (https://redis.io/docs/latest/operate/oss_and_stack/management/persistence/).
 */
export const CRASH_LOSS_NOTE =
  'a SIGKILLed primary loses the writes it acknowledged but had not yet sent to a replica (replication is asynchronous), and an old primary still up after a failover drops the writes it took since: Capstan acks an enqueue, an approval decision and a job outcome only once confirmed (Sentinel: every replica in sync has it and no sentinel reports a failover or another primary; Cluster: one replica, WAIT at most 500 ms), and a running job goes on only once its checkpoints, its lock and the alert, registry, step and standby records it writes are confirmed; appendfsync everysec: a crash of every node at once loses up to the last second';

/** A command of the traffic: when it was sent, how it was answered. */
export interface TimedSent extends Sent {
  /** When it was sent (ms since the epoch). */
  at: number;
  /** A held command's outcome, told afterwards in an ephemeral message. */
  followUp?: { outcome: Sent['outcome']; text: string; afterMs: number };
}

/** What a command came to: its answer's outcome, or for a held one, its follow-up's (if any yet). */
export function outcomeOfCommand(s: TimedSent): Sent['outcome'] {
  return s.outcome === 'held' ? (s.followUp?.outcome ?? 'held') : s.outcome;
}

/**
 * Whether a command was acknowledged with a job: answered HTTP 200 within Slack's 3 s, saying it was
 * queued or an approval was asked — at once, or by the follow-up of a command answered as held.
 */
export function acknowledged(s: TimedSent): boolean {
  const outcome = outcomeOfCommand(s);
  return s.status === 200 && s.ms <= ACK_DEADLINE_MS && (outcome === 'queued' || outcome === 'approval');
}

/**
 * Finds each held command's follow-up among the ephemeral messages to its user after it: the one
 * naming its job (queued: the job id comes from the request), else the one quoting its text (an
 * approval asked), else the one saying its environment is busy, else the first one left (an error).
 * A busy answer names the job holding the target and quotes its command, which may be this
 * person's own earlier one with the same text: only the third pass takes busy answers.
 */
function matchFollowUps(world: DrillWorld, sent: TimedSent[]): void {
  const claimed = new Set<FakeEphemeral>();
  const held = sent.filter((s) => s.outcome === 'held').sort((a, b) => a.at - b.at);
  const environmentOf = (s: TimedSent) => s.text.match(/^\/(?:env \w+|lb \w+) ([\w-]+)/)?.[1] ?? '?';
  const passes: Array<(s: TimedSent, e: FakeEphemeral) => boolean> = [
    // Its own job named as queued (a busy answer names the job holding the target: someone else's).
    (s, e) => e.text.includes(jobIdFor(s.triggerId)) && !/is busy/.test(e.text),
    (s, e) => e.text.includes(s.text) && !/is busy/.test(e.text),
    (s, e) => e.text.includes(`environment ${environmentOf(s)} is busy`),
    (_, e) => !/Queued as job|needs an? .*approval|is busy/.test(e.text),
  ];
  for (const matches of passes) {
    for (const s of held) {
      if (s.followUp) continue;
      const e = world.fake.ephemerals.find(
        (x) => x.user === s.user && x.channel === 'C0OPS' && x.at >= s.at && !claimed.has(x) && matches(s, x),
      );
      if (!e) continue;
      claimed.add(e);
      const outcome = outcomeOf(200, e.text);
      s.followUp = { outcome, text: e.text, afterMs: e.at - s.at };
      if (outcome === 'queued' || outcome === 'approval') s.jobId = jobIdFor(s.triggerId);
    }
  }
}

/** Sends one slash command to the in-process web as `user`; records it in `sent`. */
export async function sendCommand(
  world: DrillWorld,
  sent: TimedSent[],
  user: string,
  command: string,
  text: string,
  triggerId = fakeTriggerId(),
): Promise<TimedSent> {
  const at = Date.now();
  const result = await world
    .slash(command, text, { userId: user, channelId: 'C0OPS', triggerId })
    .catch((error: Error) => ({ status: 0, body: error.message, ms: Date.now() - at }));
  const outcome = outcomeOf(result.status, result.body);
  // Job ids come from the request (`jobIdFor`): the approval request's job is the approval's id.
  const jobId =
    outcome === 'queued'
      ? result.body.match(/job `(j[0-9a-f]+)`/)?.[1]
      : outcome === 'approval'
        ? jobIdFor(triggerId)
        : undefined;
  const s: TimedSent = {
    user,
    text: `${command} ${text}`,
    triggerId,
    status: result.status,
    ms: result.ms,
    reply: result.body,
    outcome,
    at,
    ...(jobId ? { jobId } : {}),
  };
  sent.push(s);
  return s;
}

/** The traffic's mix, lighter than the load drill's: no lists, cancels or retried deliveries. */
function pickCommand(stageIds: string[], prodIds: string[]): { command: string; text: string } {
  const r = Math.random() * 100;
  const env = `fo-${randomInt(0, 5)}`;
  if (r < 30) return { command: '/ops', text: 'ping' };
  if (r < 50) return { command: '/env', text: `create ${env} --size 1` };
  if (r < 62) return { command: '/env', text: `delete ${env}` };
  if (r < 72)
    return {
      command: '/lb',
      text: `disable stage --instance ${stageIds[randomInt(0, stageIds.length - 1)]}`,
    };
  if (r < 82) return { command: '/lb', text: 'enable stage' };
  if (r < 94)
    return {
      command: '/lb',
      text: `disable prod --instance ${prodIds[randomInt(0, prodIds.length - 1)]} --reason failover-drill`,
    };
  return { command: '/lb', text: 'enable prod' };
}

/** Commands sent at a steady pace until stopped. */
export interface Traffic {
  sent: TimedSent[];
  /** Stops sending; resolves once every command sent has been answered. */
  stop(): Promise<void>;
}

/** Sends one command of the mix every `intervalMs`, from a random user, without waiting for answers. */
export function startTraffic(
  world: DrillWorld,
  options: { users: string[]; stageIds: string[]; prodIds: string[]; intervalMs: number },
): Traffic {
  const sent: TimedSent[] = [];
  const answers = new Set<Promise<unknown>>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const { command, text } = pickCommand(options.stageIds, options.prodIds);
      const user = options.users[randomInt(0, options.users.length - 1)] ?? 'U0ALICE';
      const answer = sendCommand(world, sent, user, command, text);
      answers.add(answer);
      void answer.finally(() => answers.delete(answer));
      await sleep(options.intervalMs);
    }
  })();
  return {
    sent,
    async stop() {
      running = false;
      await loop;
      await Promise.all(answers);
    },
  };
}

/** The approval id an approval request message carries on its buttons. */
export function approvalIdOf(message: FakeMessage): string | undefined {
  return JSON.stringify(message.blocks ?? []).match(/"value":"(j[0-9a-f]+)"/)?.[1];
}

/** Approvers deciding every approval request as it appears (two in three approved). */
export interface Approvers {
  /** Decisions taken, by approval id. */
  decided: Map<string, 'approved' | 'rejected'>;
  /** Approval ids left open until removed from here. */
  hold: Set<string>;
  /** Clicks repeated because the request was still open seconds after the first. */
  repeats: number;
  /** Clicks not answered with HTTP 200 within 3 s. */
  badClicks: string[];
  stop(): Promise<void>;
}

/** How long a decision may take to show in the approval record before the approver clicks again. */
const RECLICK_AFTER_MS = 5_000;

/** Starts the approvers (they click on the in-process web). */
export function startApprovers(world: DrillWorld): Approvers {
  const decided = new Map<string, 'approved' | 'rejected'>();
  const clickedAt = new Map<string, number>();
  const hold = new Set<string>();
  const badClicks: string[] = [];
  const state = { repeats: 0, running: true };
  let k = 0;
  const click = async (m: FakeMessage, id: string, decision: 'approved' | 'rejected') => {
    clickedAt.set(id, Date.now());
    const result = await world
      .click(
        k % 2 === 0 ? 'U0APPR1' : 'U0APPR2',
        m,
        decision === 'approved' ? APPROVE_ACTION : REJECT_ACTION,
        id,
      )
      .catch((error: Error) => ({ status: 0, ms: Number.NaN, body: error.message }));
    if (result.status !== 200 || !(result.ms <= ACK_DEADLINE_MS))
      badClicks.push(`click on ${id}: HTTP ${result.status} in ${result.ms.toFixed(0)} ms`);
    clickedAt.set(id, Date.now());
  };
  const loop = (async () => {
    while (state.running) {
      for (const m of world.fake.messagesIn('C0APPROVALS')) {
        const id = approvalIdOf(m);
        const text = messageText(m);
        if (!id || hold.has(id) || !/Approval needed/.test(text)) continue;
        const earlier = decided.get(id);
        if (earlier) {
          // A click taken while Redis was failing over may have been acknowledged but not recorded:
          // an approver who sees the request still open clicks again, as a person would.
          if (Date.now() - (clickedAt.get(id) ?? 0) < RECLICK_AFTER_MS) continue;
          const status = await world.redis.hget(`${world.prefix}:approval:${id}`, 'status').catch(() => null);
          if (status !== 'pending') continue;
          state.repeats += 1;
          await click(m, id, earlier);
          continue;
        }
        if (/Approved|Rejected|Expired/.test(text)) continue;
        const decision = k++ % 3 !== 2 ? 'approved' : 'rejected';
        decided.set(id, decision);
        await click(m, id, decision);
      }
      await sleep(200);
    }
  })();
  return {
    decided,
    hold,
    badClicks,
    get repeats() {
      return state.repeats;
    },
    async stop() {
      state.running = false;
      await loop;
    },
  };
}

/** One write of the probe. */
export interface ProbeWrite {
  port: number;
  seq: number;
  sentAt: number;
  doneAt: number;
  ok: boolean;
}

/** Writes into Capstan's slot on every data node directly, every `intervalMs`, until stopped. */
export interface WriteProbe {
  writes: ProbeWrite[];
  /** The first write a node other than `except` accepted after `at`. */
  firstAcceptedAfter(at: number, except: number): ProbeWrite | undefined;
  stop(): Promise<void>;
}

/**
 * Starts the probe: on each data node its own connection (no offline queue, no retries: a write is
 * answered at once or fails), `RPUSH key <port>:<seq>`. A primary accepts it; a replica answers
 * READONLY (Sentinel) or MOVED (Cluster); a dead node refuses the connection.
 */
export function startWriteProbe(ports: number[], key: string, intervalMs = 25): WriteProbe {
  const connections = new Map(
    ports.map((port) => {
      const c = new Redis({
        host: '127.0.0.1',
        port,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        connectTimeout: 1_000,
        retryStrategy: () => 25,
        connectionName: 'drill-probe',
      });
      c.on('error', () => undefined);
      return [port, c] as const;
    }),
  );
  const writes: ProbeWrite[] = [];
  const busy = new Set<number>();
  let seq = 0;
  let running = true;
  const write = async (port: number, c: Redis) => {
    busy.add(port);
    const n = ++seq;
    const sentAt = Date.now();
    const ok = await Promise.race([
      c.rpush(key, `${port}:${n}`).then(
        () => true,
        () => false,
      ),
      sleep(1_000).then(() => false),
    ]);
    writes.push({ port, seq: n, sentAt, doneAt: Date.now(), ok });
    busy.delete(port);
  };
  const loop = (async () => {
    while (running) {
      for (const [port, c] of connections) if (!busy.has(port)) void write(port, c);
      await sleep(intervalMs);
    }
  })();
  return {
    writes,
    firstAcceptedAfter(at, except) {
      return writes
        .filter((w) => w.ok && w.port !== except && w.sentAt >= at)
        .sort((a, b) => a.doneAt - b.doneAt)[0];
    },
    async stop() {
      running = false;
      await loop;
      await waitFor(() => busy.size === 0, { timeoutMs: 5_000 }).catch(() => undefined);
      for (const c of connections.values()) c.disconnect();
    },
  };
}

/** The engineers the traffic comes from (U0BOB asks for the held approval). */
const FAILOVER_USERS = ['U0BOB', ...Array.from({ length: 19 }, (_, i) => `U0F${String(i).padStart(3, '0')}`)];

/**
 * Starts what a failover drill stands on, on the topology `redisEnv` names: Capstan's web in this
 * process and two `capstan worker` processes, the sandbox with `stage` and a protected `prod` whose
 * instances take 10 s to launch (so a create outlasts a failover), then runs `body`; stops it all.
 */
export async function withFailoverRig<T>(
  redisEnv: Record<string, string>,
  log: (line: string) => void,
  body: (rig: FailoverRig) => Promise<T>,
): Promise<T> {
  const world = await startDrillWorld({
    configYaml: loadConfig(FAILOVER_USERS),
    redisEnv,
    sandboxRedis: true,
    env: {
      DRILL_DB_PASSWORD: DB_PASSWORD,
      // Production-like leases (the default is 30 s): a failover of a few seconds must not look
      // like a dead worker.
      CAPSTAN_JOB_LOCK_MS: '15000',
      CAPSTAN_STALLED_INTERVAL_MS: '5000',
    },
  });
  const ownConnectionEnded: number[] = [];
  const state = { stopping: false };
  try {
    await world.sandbox.seed(
      drillSeed({ environments: ['stage', 'prod'], timing: { ...TIMING, instanceLaunch: 10_000 } }),
    );
    const snapshot = await world.sandbox.snapshot();
    const idsOf = (g: string) => liveInstances(snapshot, g).map((x) => x.id);
    world.spawnWorker();
    world.spawnWorker();
    await workerAttached(world);
    // The drill's own connection must outlive every failover to check anything. One in Sentinel mode
    // can end for good when the sentinels' +switch-master arrives while it is reconnecting (ioredis's
    // FailoverDetector disconnects the connector mid-connect, and connect() then gives up): note it
    // and connect again, so the drill can go on and say so.
    world.redis.on('end', () => {
      if (state.stopping) return;
      ownConnectionEnded.push(Date.now());
      log(`the drill's own Redis connection ended (status end); connecting it again`);
      void world.redis.connect().catch(() => undefined);
    });
    const result = await body({
      world,
      users: FAILOVER_USERS,
      stageIds: idsOf('stage-web'),
      prodIds: idsOf('prod-web'),
      dataPorts: [],
      intervalMs: 200,
      log,
      ownConnectionEnded,
    });
    state.stopping = true;
    return result;
  } finally {
    state.stopping = true;
    await world.stop();
  }
}

/** What the drill stands on for its rounds. */
export interface FailoverRig {
  world: DrillWorld;
  /** The engineers the traffic comes from. */
  users: string[];
  stageIds: string[];
  prodIds: string[];
  /** Every data node's port (the probe writes to each). */
  dataPorts: number[];
  /** Milliseconds between two commands of the traffic. */
  intervalMs: number;
  log: (line: string) => void;
  /** When the drill's own connection ended for good and had to be connected again. */
  ownConnectionEnded: number[];
}

/** One way of failing the primary over. */
export interface Failover {
  /** As the figures name it, e.g. `SIGKILL`. */
  kind: string;
  /** Fails over the primary holding Capstan's keys; resolves with when it began and that primary's port. */
  trigger(): Promise<{ at: number; from: number }>;
  /** Brings the old primary back (and waits for a healthy set); resolves with what it is now. */
  recover(from: number): Promise<string>;
}

/** What one failover did to Capstan. */
export interface FailoverReport {
  label: string;
  kind: string;
  /** No failure in this round. */
  ok: boolean;
  failures: string[];
  /** Anything acknowledged and lost (a job, an approval, a lock): must stay empty. */
  lost: string[];
  /** From the failover's start to the first write a new primary accepted. */
  downtimeMs?: number;
  /** From the failover's start to the first command acknowledged with a job after it. */
  capstanBackMs?: number;
  /** Commands sent between the failover's start and its end, by outcome. */
  during: {
    sent: number;
    acked: number;
    outcomes: Map<string, number>;
    slowestMs: number;
    /** What the commands not acknowledged were told (distinct answers). */
    errors: Set<string>;
  };
  /** Commands not acknowledged whose job exists all the same. */
  unackedButQueued: string[];
  /** Jobs queued or running at the failover, and of those, the ones that ended after it ended. */
  inFlight: number;
  delayed: number;
  /** Jobs that ran again after a stall (their worker's lock lapsed) — resumed from checkpoints. */
  stalled: number;
  /** Probe writes: acknowledged by a primary, and of those missing afterwards. */
  probe: { acked: number; lost: number; oldPrimaryAcceptedAfterMs?: number };
  /** What became of the old primary. */
  rejoined: string;
  /** Locks held at the failover: still held by their job after it, or let go by a job finishing then. */
  locksKept: number;
  locksReleased: number;
  commands: number;
  acked: number;
  ackMs: number[];
  reclicks: number;
  /** Times the drill's own connection ended for good during the round (see {@link withFailoverRig}). */
  ownConnectionEnds: number;
}

const OPEN_STATES = ['wait', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;

/** Jobs still to run (approval expiry timers stay delayed for the approval's lifetime: not work left). */
async function openJobs(world: DrillWorld): Promise<Job<JobData>[]> {
  const jobs = await world.queue.getJobs([...OPEN_STATES]);
  return jobs.filter(
    (j): j is Job<JobData> =>
      Boolean(j) && j.name !== 'approval.expire' && !String(j.id).startsWith('repeat:'),
  );
}

/** Holders of Capstan's locks now: key → job id. */
async function lockHolders(world: DrillWorld): Promise<Map<string, string>> {
  const holders = new Map<string, string>();
  for (const key of await world.keys(`${world.prefix}:lock:*`)) {
    const value = await world.redis.get(key);
    if (value) holders.set(key, (JSON.parse(value) as { jobId: string }).jobId);
  }
  return holders;
}

/**
 * With Sentinel: waits until the drill's own connection is on the primary the sentinels name, and
 * the failover is over. Until then it may still be on the old primary, which keeps taking writes
 * (and showing its own state: a lock a job let go there, a job it finished there) until Sentinel
 * turns it into a replica and it drops them. What the drill checks is judged where it lasts.
 */
async function onNamedPrimary(world: DrillWorld, log: (line: string) => void): Promise<void> {
  const config = readRedisConfig(world.redisEnv);
  if (config.mode !== 'sentinel') return;
  const confirmer = createWriteConfirmer(config);
  const started = Date.now();
  try {
    for (;;) {
      const seen = await confirmer.confirm(world.redis, `${world.prefix}:drill`, 500);
      if (seen.confirmed || /replicas in sync/.test(seen.reason)) break;
      if (Date.now() - started > 30_000) {
        log(`the drill's connection is not on the sentinels' primary after 30 s: ${seen.reason}`);
        break;
      }
      if (seen.stale && world.redis.status === 'ready') world.redis.disconnect(true);
      await sleep(100);
    }
  } finally {
    await confirmer.close();
  }
}

/** Job outcome entries of the whole audit stream by job id, and entries since `since` by kind. */
async function auditCounts(
  world: DrillWorld,
  since: number,
): Promise<{ jobs: Map<string, number>; kinds: Map<string, number>; commands: string[] }> {
  const jobs = new Map<string, number>();
  const kinds = new Map<string, number>();
  // Each command entry since `since` as `<actor> <text>`, to name a command that has none.
  const commands: string[] = [];
  for (const [id, flat] of await world.redis.xrange(`${world.prefix}:audit`, '-', '+')) {
    const field = (name: string) => flat[flat.indexOf(name) + 1] ?? '';
    if (Number(id.split('-')[0]) >= since) {
      kinds.set(field('kind'), (kinds.get(field('kind')) ?? 0) + 1);
      if (field('kind') === 'command') {
        const detail = JSON.parse(field('detail') || '{}') as { text?: string };
        commands.push(`${field('actor')} ${detail.text ?? ''}`);
      }
    }
    if (field('kind') !== 'job') continue;
    const jobId = field('subject').replace(/^job /, '');
    jobs.set(jobId, (jobs.get(jobId) ?? 0) + 1);
  }
  return { jobs, kinds, commands };
}

/** What is wrong with the job's progress message, if anything: it must exist and be final. */
function finalMessageProblem(world: DrillWorld, job: Job<JobData>): string | undefined {
  const ts = job.data.checkpoints.reporter?.messageTs;
  const root = job.data.checkpoints.reporter?.rootTs;
  const channel = job.data.request.channelId || 'C0OPS';
  const m = ts ? world.fake.findMessage(channel, ts) : undefined;
  if (!m) return 'no progress message';
  if (!isFinal(m)) return `progress message not final: ${messageText(m).slice(0, 100)}`;
  // A slash command's job starts its own thread and keeps one message there (an approval request's
  // thread also gets the decision and the approved job's message).
  if (root && !job.data.request.threadTs && job.name !== 'approval.request') {
    const replies = world.fake.threadReplies(channel, root).length;
    if (replies !== 1) return `${replies} progress messages in its thread`;
  }
  return undefined;
}

/** Failed for a reason the user was told about (not a crash). */
function failedAsUserError(job: Job<JobData>): boolean {
  return /UserError|already exists|no environment|not in environment|There is no|not in service|is busy/i.test(
    job.failedReason ?? '',
  );
}

/** Runs one round: traffic, the failover, recovery, drain, checks. */
export async function failoverRound(
  rig: FailoverRig,
  failover: Failover,
  label: string,
): Promise<FailoverReport> {
  const { world, log } = rig;
  const failures: string[] = [];
  const lost: string[] = [];
  const report: FailoverReport = {
    label,
    kind: failover.kind,
    ok: false,
    failures,
    lost,
    during: { sent: 0, acked: 0, outcomes: new Map(), slowestMs: 0, errors: new Set() },
    unackedButQueued: [],
    inFlight: 0,
    delayed: 0,
    stalled: 0,
    probe: { acked: 0, lost: 0 },
    rejoined: '?',
    locksKept: 0,
    locksReleased: 0,
    commands: 0,
    acked: 0,
    ackMs: [],
    reclicks: 0,
    ownConnectionEnds: 0,
  };
  const roundStart = Date.now();
  const approvers = startApprovers(world);
  const held: TimedSent[] = [];
  const probeKey = `${world.prefix}:probe:${label.replace(/\W+/g, '-')}`;
  let traffic: Traffic | undefined;
  let probe: WriteProbe | undefined;
  let heldApproval = '';
  let from = 0;
  let at = 0;
  let endedAt = 0;
  const before = { locks: new Map<string, string>(), approvals: [] as string[], inFlight: [] as string[] };
  const locksLetGo: Array<{ key: string; jobId: string; at: number; holder?: string }> = [];

  await attempt(failures, `${label}: failover`, async () => {
    // An approval request left open across the failover.
    const approvalsBefore = world.fake.messagesIn('C0APPROVALS').length;
    const ask = await sendCommand(
      world,
      held,
      'U0BOB',
      '/lb',
      `disable prod --instance ${rig.prodIds[0]} --reason held-${label}`,
    );
    check(ask.outcome === 'approval', `the held approval was not asked: ${ask.reply.slice(0, 160)}`);
    heldApproval = ask.jobId ?? '';
    approvers.hold.add(heldApproval);
    await waitFor(
      async () =>
        world.fake
          .messagesIn('C0APPROVALS')
          .slice(approvalsBefore)
          .some((m) => approvalIdOf(m) === heldApproval) &&
        (await world.redis.hget(`${world.prefix}:approval:${heldApproval}`, 'message')),
      { timeoutMs: 30_000, intervalMs: 50, message: 'the held approval request to be posted' },
    );
    // An environment create holding its target's lock across the failover (instances take seconds).
    const create = await sendCommand(world, held, 'U0BOB', '/env', `create hold-${label} --size 1`);
    check(create.outcome === 'queued', `the held create was not queued: ${create.reply.slice(0, 160)}`);
    await waitFor(async () => (await world.queue.getJob(create.jobId ?? ''))?.isActive(), {
      timeoutMs: 20_000,
      intervalMs: 50,
      message: 'the held create to start',
    });

    traffic = startTraffic(world, rig);
    probe = startWriteProbe(rig.dataPorts, probeKey);
    await sleep(2_000);

    // What Redis holds just before.
    before.locks = await lockHolders(world);
    check(
      [...before.locks.values()].includes(create.jobId ?? ''),
      `the held create ${create.jobId} holds no lock`,
    );
    before.approvals = await world.keys(`${world.prefix}:approval:*`);
    before.inFlight = (await openJobs(world)).map((j) => String(j.id));

    ({ at, from } = await failover.trigger());
    log(
      `${label}: ${failover.kind} of the primary on port ${from} (${before.inFlight.length} jobs in flight, ${before.locks.size} locks held)`,
    );
    const first = await waitFor(() => probe?.firstAcceptedAfter(at, from), {
      timeoutMs: 60_000,
      intervalMs: 10,
      message: 'a new primary to accept a write',
    });
    endedAt = first.doneAt;
    report.downtimeMs = endedAt - at;
    log(`${label}: port ${first.port} accepted a write ${report.downtimeMs} ms after the ${failover.kind}`);
    await onNamedPrimary(world, log);

    // Nothing Redis held is gone: locks (unless their job has ended since), approvals, jobs.
    // Each key read by itself (GET follows the slot to its new primary; KEYS on "every primary"
    // would ask the node list the client had before the failover).
    // A lock no longer held by its job is judged once everything has drained (below): a job frees
    // its target before it reports its outcome, so one finishing at the failover may have let go.
    for (const [key, jobId] of before.locks) {
      const now = await world.redis.get(key);
      const holder = now ? (JSON.parse(now) as { jobId: string }).jobId : undefined;
      if (holder === jobId) report.locksKept += 1;
      else locksLetGo.push({ key, jobId, at: Date.now(), ...(holder ? { holder } : {}) });
    }
    for (const key of before.approvals)
      if (!(await world.redis.exists(key)))
        lost.push(`approval record ${key.slice(world.prefix.length + 1)}`);
    for (const id of before.inFlight)
      if (!(await world.queue.getJob(id))) lost.push(`job ${id}, in flight at the failover`);

    // The approval open before the failover is decided after it.
    const request = world.fake.messagesIn('C0APPROVALS').find((m) => approvalIdOf(m) === heldApproval);
    check(request, 'the held approval request message is gone');
    const click = await world.click('U0APPR1', request, APPROVE_ACTION, heldApproval);
    check(click.status === 200, `approving the held request answered HTTP ${click.status}`);
    approvers.decided.set(heldApproval, 'approved');
    approvers.hold.delete(heldApproval);

    await sleep(2_500);
  });
  await traffic?.stop();
  await probe?.stop();
  const sent = [...held, ...(traffic?.sent ?? [])];

  // The old primary comes back while the jobs drain.
  const recovered = from
    ? failover.recover(from).then(
        (what) => {
          report.rejoined = what;
        },
        (error: Error) => {
          report.rejoined = 'did not come back';
          failures.push(`${label}: bringing port ${from} back: ${error.message.split('\n')[0]}`);
        },
      )
    : Promise.resolve();
  await attempt(failures, `${label}: drain`, async () => {
    // An open request still has its buttons (a decision takes them off). A decided one still
    // pending in Redis: its click was lost (the approver clicks again while the buttons show), or the
    // decision was shown in Slack and then lost in Redis — nobody can click any more: a loss.
    const undecided = async () => {
      const left: string[] = [];
      for (const m of world.fake.messagesIn('C0APPROVALS')) {
        const id = approvalIdOf(m);
        if (id && !approvers.decided.has(id)) left.push(`${id} not decided`);
        if (id && approvers.decided.has(id)) {
          const status = await world.redis.hget(`${world.prefix}:approval:${id}`, 'status');
          if (status === 'pending') left.push(`${id} ${approvers.decided.get(id)} but still pending`);
        }
      }
      return left;
    };
    const left = async () => {
      const open = (await openJobs(world)).map((j) => `${j.name} ${j.id}`);
      return `open jobs: ${open.join(', ') || 'none'}; approvals: ${(await undecided()).join(', ') || 'none open'}`;
    };
    await waitFor(async () => (await openJobs(world)).length === 0 && (await undecided()).length === 0, {
      timeoutMs: 60_000,
      intervalMs: 250,
      message: 'every job to end',
    }).catch(async (error: Error) => {
      throw new Error(`${error.message.split(' (last')[0]}: ${await left()}`);
    });
  }).catch(() => undefined);
  await sleep(500);
  await approvers.stop();
  await recovered;
  report.reclicks = approvers.repeats;
  failures.push(...approvers.badClicks.map((c) => `${label}: ${c}`));

  // Capstan reconnected: the web answers /ready (its Redis answers, a worker is attached), and both
  // workers are attached to the queue again.
  await attempt(failures, `${label}: Capstan reconnected`, async () => {
    const ready = async () => {
      const res = await fetch(`${world.baseUrl}/ready`, { signal: AbortSignal.timeout(10_000) });
      return { status: res.status, body: await res.text() };
    };
    await waitFor(async () => (await ready()).status === 200, { timeoutMs: 20_000, intervalMs: 250 }).catch(
      async () => {
        const r = await ready();
        throw new Error(`the web's /ready answers ${r.status}: ${r.body.slice(0, 200)}`);
      },
    );
    const workers = await waitFor(async () => ((await world.queue.getWorkersCount()) >= 2 ? 2 : 0), {
      timeoutMs: 20_000,
      intervalMs: 250,
    }).catch(async () => world.queue.getWorkersCount());
    check(workers >= 2, `${workers} of the 2 workers attached to the queue after the failover`);
  });
  // A held command is told its outcome once its intake ends, which may be after every job has
  // drained (it waits out the failover, up to ~20 s): give the follow-ups that long to arrive.
  // Matched afresh each time (every ephemeral is claimed by one command at most).
  const rematch = () => {
    for (const s of sent) if (s.outcome === 'held') delete s.followUp;
    matchFollowUps(world, sent);
  };
  await waitFor(
    () => {
      rematch();
      return sent.every((s) => s.outcome !== 'held' || s.followUp !== undefined);
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  ).catch(() => undefined);
  rematch();
  if (process.env.CAPSTAN_DRILL_TRACE)
    for (const s of [...sent].sort((a, b) => a.at - b.at))
      log(
        `  ${label} +${s.at - at} ms ${s.text}: ${s.outcome} in ${s.ms.toFixed(0)} ms${s.followUp ? ` → ${s.followUp.outcome} after ${s.followUp.afterMs} ms` : ''} ${s.user}`,
      );
  await attempt(failures, `${label}: checks`, async () => {
    const audit = await auditCounts(world, roundStart);
    const problems: string[] = [];
    const checkJob = async (id: string, what: string): Promise<Job<JobData> | undefined> => {
      const job = await world.queue.getJob(id);
      if (!job) {
        lost.push(`${what}: job ${id} missing`);
        return undefined;
      }
      const state = await job.getState();
      if (state !== 'completed' && state !== 'failed') problems.push(`${what}: job ${id} ${state}`);
      else if (state === 'failed' && !failedAsUserError(job))
        problems.push(`${what}: job ${id} failed: ${job.failedReason}`);
      const runs = audit.jobs.get(id) ?? 0;
      if (runs !== 1)
        problems.push(
          `${what}: job ${id} has ${runs} job outcome audit entries (ran ${runs} times to its end)`,
        );
      const message = finalMessageProblem(world, job);
      if (message) problems.push(`${what}: job ${id}: ${message}`);
      if ((job.stalledCounter ?? 0) > 0) report.stalled += 1;
      return job;
    };
    for (const s of sent) {
      report.commands += 1;
      if (s.status === 200 && s.ms <= ACK_DEADLINE_MS) report.ackMs.push(s.ms);
      if (s.outcome === 'held' && !s.followUp) {
        // What that person was told after it, to tell a follow-up never sent from one not matched.
        const told = world.fake.ephemerals
          .filter((e) => e.user === s.user && e.at >= s.at)
          .map((e) => `+${e.at - s.at} ms "${e.text.slice(0, 100)}"`);
        problems.push(
          `${s.text}: answered as held, never told its outcome (${s.user} was told after it: ${told.join('; ') || 'nothing'})`,
        );
      }
      if (!acknowledged(s)) {
        // Not acknowledged with a job (an error, too late, or said to be not taken), yet queued: the
        // user was told it failed while it runs.
        const id = jobIdFor(s.triggerId);
        if (outcomeOfCommand(s) !== 'busy' && (await world.queue.getJob(id))) {
          const told = s.followUp
            ? `held, then "${s.followUp.text.slice(0, 60)}"`
            : `${s.outcome} after ${s.ms.toFixed(0)} ms`;
          report.unackedButQueued.push(`${s.text} (${told})`);
          problems.push(`${s.text}: told ${told}, yet job ${id} was queued`);
          await checkJob(id, `${s.text} (not acked)`);
        }
        continue;
      }
      report.acked += 1;
      await checkJob(s.jobId ?? '', s.text);
    }
    // Every decided approval: approved → its job ran once; rejected → none.
    for (const [id, decision] of approvers.decided) {
      const status = await world.redis.hget(`${world.prefix}:approval:${id}`, 'status');
      if (status === null) {
        lost.push(`approval ${id}: record missing`);
        continue;
      }
      const approvedJob = jobIdFor(`approval:${id}`);
      if (status === 'approved')
        await checkJob(
          approvedJob,
          `approved ${id}${id === heldApproval ? ' (held across the failover)' : ''}`,
        );
      else if (status === 'rejected') {
        if (await world.queue.getJob(approvedJob)) problems.push(`rejected ${id} has a job`);
      } else if (status === 'pending')
        lost.push(
          `approval ${id}: ${decision} in Slack (buttons gone), still pending in Redis: the decision was lost`,
        );
      else problems.push(`approval ${id} (${decision}) ended ${status}`);
    }
    check(approvers.decided.get(heldApproval) === 'approved', 'the held approval was not decided');
    // Audit: one command entry per command decided, one approval entry per decision.
    const decided = sent.filter((s) => s.status === 200 && !['error', 'held'].includes(outcomeOfCommand(s)));
    const decidedCommands = decided.length;
    // Which commands have no entry (matched by who sent what, each entry once).
    const entries = [...audit.commands];
    const unaudited = decided.filter((s) => {
      const i = entries.indexOf(`${s.user} ${s.text}`);
      if (i >= 0) entries.splice(i, 1);
      return i < 0;
    });
    check(
      (audit.kinds.get('command') ?? 0) >= decidedCommands,
      `${audit.kinds.get('command') ?? 0} command audit entries for ${decidedCommands} commands; none for: ${unaudited
        .map(
          (s) =>
            `\`${s.text}\` by ${s.user} (${outcomeOfCommand(s)}, sent ${s.at - at} ms after the failover)`,
        )
        .join('; ')}`,
    );

    // A lock its job no longer held right after the failover: fine if the job was finishing (it
    // ended, and started no step after); lost if it was still working on its target.
    for (const g of locksLetGo) {
      const job = await world.queue.getJob(g.jobId);
      const ended = job ? (await job.isCompleted()) || (await job.isFailed()) : false;
      const stepsAfter = (job?.data.checkpoints.reporter?.state.steps ?? []).filter(
        (st) => typeof st.startedAt === 'number' && st.startedAt > g.at,
      ).length;
      const what = `lock ${g.key.slice(world.prefix.length + 1)} of job ${g.jobId} ${g.holder ? `held by ${g.holder}` : 'gone'} after the failover`;
      if (!job) lost.push(`${what}, and the job is missing`);
      else if (!ended) lost.push(`${what}, and the job never ended`);
      else if (stepsAfter > 0)
        lost.push(`${what}, while the job went on (${stepsAfter} step(s) started after)`);
      else report.locksReleased += 1;
    }

    // Jobs in flight at the failover that ended after it ended.
    report.inFlight = before.inFlight.length;
    for (const id of before.inFlight) {
      const job = await world.queue.getJob(id);
      if (job?.finishedOn && job.finishedOn > endedAt) report.delayed += 1;
    }
    check(problems.length === 0, `${problems.length} problem(s): ${problems.slice(0, 4).join('; ')}`);
  });

  // Figures of the window.
  if (at) {
    const during = sent.filter((s) => s.at >= at && s.at <= endedAt);
    report.during.sent = during.length;
    report.during.acked = during.filter(acknowledged).length;
    for (const s of during) {
      const kind =
        s.status === 200 && s.ms > ACK_DEADLINE_MS
          ? 'late'
          : s.outcome === 'held'
            ? `held→${s.followUp?.outcome ?? 'never told'}`
            : s.outcome;
      report.during.outcomes.set(kind, (report.during.outcomes.get(kind) ?? 0) + 1);
      report.during.slowestMs = Math.max(report.during.slowestMs, s.ms);
      if (outcomeOfCommand(s) === 'error')
        report.during.errors.add(
          s.followUp
            ? `held, then: ${s.followUp.text.slice(0, 140)}`
            : `HTTP ${s.status}: ${s.reply.replace(/^\{.*"text":"/, '').slice(0, 140)}`,
        );
    }
    const back = sent
      .filter((s) => s.at >= at && acknowledged(s))
      .map((s) => s.at + (s.followUp ? s.followUp.afterMs : s.ms) - at);
    if (back.length > 0) report.capstanBackMs = Math.min(...back);
    if (probe) {
      const accepted = probe.writes.filter((w) => w.ok);
      const kept = new Set(await world.redis.lrange(probeKey, 0, -1));
      report.probe.acked = accepted.length;
      report.probe.lost = accepted.filter((w) => !kept.has(`${w.port}:${w.seq}`)).length;
      const late = accepted.filter((w) => w.port === from && w.sentAt >= at).map((w) => w.doneAt - endedAt);
      if (late.length > 0) report.probe.oldPrimaryAcceptedAfterMs = Math.max(...late);
    }
  }
  report.ownConnectionEnds = rig.ownConnectionEnded.filter((t) => t >= roundStart).length;
  failures.push(...lost.map((l) => `${label}: LOST ${l}`));
  report.ok = failures.length === 0;
  log(
    `${label}: ${report.ok ? 'ok' : `FAILED ${failures[0]}`} — ${report.commands} commands, ${report.acked} acked; during the failover ${report.during.sent} sent, ${report.during.acked} acked; ${report.delayed}/${report.inFlight} in-flight jobs ended after it; old primary ${report.rejoined}`,
  );
  return report;
}

/** Milliseconds as the figures print them. */
function ms(n: number | undefined): string {
  return n === undefined ? '—' : `${n.toFixed(0)} ms`;
}

/** The drill's figures from its rounds' reports: per failover, then summarized per kind. */
export function failoverFigures(reports: FailoverReport[]): Record<string, string> {
  const figures: Record<string, string> = {};
  for (const r of reports) {
    const outcomes = [...r.during.outcomes].map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
    figures[`${r.label} (${r.kind})`] = [
      `downtime ${ms(r.downtimeMs)}`,
      `first command taken after it +${ms(r.capstanBackMs)}`,
      `${r.during.sent} commands sent during it, ${r.during.acked} acked (${outcomes}; slowest answer ${ms(r.during.slowestMs)})`,
      `${r.delayed} of ${r.inFlight} jobs in flight ended after it`,
      `locks held across it ${r.locksKept}${r.locksReleased ? ` (+${r.locksReleased} let go by their jobs finishing)` : ''}`,
      `${r.stalled} job(s) resumed after a stall`,
      `lost ${r.lost.length}`,
      `probe writes acked ${r.probe.acked}, lost ${r.probe.lost}${r.probe.oldPrimaryAcceptedAfterMs !== undefined ? `, old primary still accepted writes until +${ms(r.probe.oldPrimaryAcceptedAfterMs)} after the new one` : ''}`,
      `old primary ${r.rejoined}`,
    ].join('; ');
  }
  for (const kind of new Set(reports.map((r) => r.kind))) {
    const of = reports.filter((r) => r.kind === kind);
    const downs = of.map((r) => r.downtimeMs).filter((d): d is number => d !== undefined);
    figures[`downtime, ${kind}`] =
      downs.length > 0
        ? `${downs.map((d) => ms(d)).join(', ')} (median ${ms(quantile(downs, 0.5))}, max ${ms(Math.max(...downs))})`
        : 'not measured';
  }
  const sum = (f: (r: FailoverReport) => number) => reports.reduce((n, r) => n + f(r), 0);
  const acks = reports.flatMap((r) => r.ackMs);
  figures.commands = `${sum((r) => r.commands)} sent, ${sum((r) => r.acked)} acked with a job or an approval request; ack p50 / p99 / max ${ms(quantile(acks, 0.5))} / ${ms(quantile(acks, 0.99))} / ${ms(acks.length ? Math.max(...acks) : undefined)}`;
  figures['during the failovers'] =
    `${sum((r) => r.during.sent)} commands sent, ${sum((r) => r.during.acked)} acked`;
  const errors = new Set(reports.flatMap((r) => [...r.during.errors]));
  figures['answers that were errors during the failovers'] =
    errors.size === 0 ? 'none' : [...errors].slice(0, 4).join(' | ');
  const unacked = reports.flatMap((r) => r.unackedButQueued);
  figures['not acked, job queued anyway'] =
    unacked.length === 0 ? '0' : `${unacked.length}: ${unacked.slice(0, 3).join('; ')}`;
  figures['jobs delayed (in flight at a failover, ended after it ended)'] =
    `${sum((r) => r.delayed)} of ${sum((r) => r.inFlight)}`;
  figures['approval clicks repeated (first one not recorded)'] = String(sum((r) => r.reclicks));
  figures.lost = String(sum((r) => r.lost.length));
  const ended = sum((r) => r.ownConnectionEnds);
  if (ended > 0)
    figures["the drill's own connection ended for good"] =
      `${ended} time(s), after a +switch-master arrived while it was reconnecting (ioredis FailoverDetector); connected again by the drill — Capstan's connections are made the same way`;
  figures['probe writes lost'] = `${sum((r) => r.probe.lost)} of ${sum((r) => r.probe.acked)} acknowledged`;
  figures['what a crash can lose'] = CRASH_LOSS_NOTE;
  return figures;
}
