/**
 * A worker through a clean `SENTINEL FAILOVER`, on a real Sentinel set (scripts/services). What
 * Sentinel documents ("Sentinel and Redis consistency"): the old master, still up, goes on
 * accepting writes after a replica was promoted, and loses them when Sentinel reconfigures it as a
 * replica of the new one. For a BullMQ worker that means two things, each checked here with a
 * control that shows it happens without the worker's failover guard (`failoverGuard`):
 * - a job that ends in that window has its end written on the old primary: on the new one it is
 *   still active (until BullMQ's stalled check gives it to a worker again), with the checkpoints it
 *   wrote meanwhile missing;
 * - a job enqueued on the old primary in that window (by a client that does not confirm its
 *   writes) and fetched there by the worker does not exist on the new primary: running it anyway
 *   runs it on no record (Capstan's producer enqueues it again on the new primary, where it runs);
 * - a checkpoint a running job writes in that window is lost: were its worker to die then, the job
 *   would resume from the checkpoint before and repeat its step (the job's end writes its data
 *   again, but a dead worker never gets there); an alert's state changed then is lost too.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type Job, Queue } from 'bullmq';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertStore } from '../../src/alerts/store.js';
import { AuditLog } from '../../src/audit/index.js';
import { readRedisConfig } from '../../src/config.js';
import type { Observation } from '../../src/domain/alerts/rules.js';
import { alertIdFor, step } from '../../src/domain/alerts/state.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { type JobData, type JobResult, QUEUE_NAME } from '../../src/queue/contract.js';
import { JobsAdmin } from '../../src/queue/jobs-admin.js';
import { TargetLocks } from '../../src/queue/locks.js';
import type { JobReporting } from '../../src/queue/reporting.js';
import { type JobContext, type ProcessorMap, startWorkerHost } from '../../src/queue/worker.js';
import { closeRedis, createRedis, createWriteConfirmer, type RedisClient } from '../../src/redis.js';
import { sentinelCall } from '../helpers/sentinel.js';
import {
  freePortBase,
  REDIS_SENTINEL_PORT_OFFSETS,
  type RedisSentinelService,
  startRedisSentinel,
} from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

const PREFIX = '{capstan}';

/** A processor for any of the jobs here. */
type Processor = (job: Job<JobData>, ctx: JobContext) => Promise<JobResult>;
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** A reporter that reports nothing: what the job tells Slack is not what is checked here. */
const quietReporter = (): JobReporting => ({
  threadTs: undefined,
  start: async () => {},
  step: async () => {},
  progress: () => {},
  info: () => {},
  warn: () => {},
  attach: async () => {},
  done: async () => {},
  waiting: async () => {},
  fail: async () => {},
  cancelled: async () => {},
  flush: async () => {},
});

/** The port a node of the set reports itself by, with its role (`master` or `slave`). */
async function roleOf(port: number): Promise<string> {
  const c = createRedis(readRedisConfig({ REDIS_URL: `redis://127.0.0.1:${port}` }));
  try {
    return String(((await c.call('ROLE')) as unknown[])[0]);
  } finally {
    c.disconnect();
  }
}

describe('a worker through a clean SENTINEL FAILOVER', () => {
  let set: RedisSentinelService;
  beforeAll(async () => {
    set = await startRedisSentinel(await freePortBase(REDIS_SENTINEL_PORT_OFFSETS));
  }, 120_000);
  afterAll(async () => {
    await set?.stop({ purge: true });
  });

  const sentinel = (...args: string[]) => sentinelCall(set, ...args);
  const primaryPort = async () =>
    Number(((await sentinel('GET-MASTER-ADDR-BY-NAME', set.name)) as string[])[1]);

  /** Every sentinel's view of the master: its flags (`failover_in_progress` while one is under way). */
  const sentinelFlags = async (): Promise<string[]> =>
    Promise.all(
      set.sentinelPorts.map(async (port) => {
        const c = createRedis(readRedisConfig({ REDIS_URL: `redis://127.0.0.1:${port}` }));
        try {
          const flat = (await c.call('SENTINEL', 'MASTER', set.name)) as string[];
          return flat[flat.indexOf('flags') + 1] ?? '';
        } catch {
          return 'no answer';
        } finally {
          c.disconnect();
        }
      }),
    );

  /** Waits until the set is whole: one primary, two replicas linked to it, no failover under way. */
  const whole = () =>
    waitFor(
      async () => {
        const infos = await Promise.all(
          set.dataPorts.map(async (port) => {
            const c = createRedis(readRedisConfig({ REDIS_URL: `redis://127.0.0.1:${port}` }));
            try {
              return await c.info('replication');
            } catch {
              return '';
            } finally {
              c.disconnect();
            }
          }),
        );
        const masters = infos.filter((i) => /^role:master/m.test(i)).length;
        const linked = infos.filter(
          (i) => /^role:slave/m.test(i) && /^master_link_status:up/m.test(i),
        ).length;
        const flags = await sentinelFlags();
        return masters === 1 && linked === 2 && flags.every((f) => f === 'master');
      },
      {
        timeoutMs: 60_000,
        intervalMs: 250,
        message: 'the set to be whole (one primary, two replicas, no failover)',
      },
    );

  /**
   * Starts a clean failover once the set is whole, and resolves once a replica was promoted: from
   * then on, until Sentinel reconfigures it, the old primary takes writes it will lose.
   */
  async function failOver(): Promise<{ oldPort: number; newPort: number }> {
    await whole();
    const oldPort = await primaryPort();
    // Retried: a sentinel refuses while it still counts the last failover as under way (INPROG).
    await waitFor(
      () =>
        sentinel('FAILOVER', set.name).then(
          () => true,
          () => false,
        ),
      {
        timeoutMs: 30_000,
        intervalMs: 500,
        message: 'a sentinel to accept SENTINEL FAILOVER',
      },
    );
    const newPort = await waitFor(
      async () => {
        for (const port of set.dataPorts)
          if (port !== oldPort && (await roleOf(port).catch(() => '')) === 'master') return port;
        return undefined;
      },
      { timeoutMs: 10_000, intervalMs: 10, message: 'a replica to be promoted' },
    );
    return { oldPort, newPort };
  }

  /** Waits until Sentinel has made the old primary a replica (its writes since the switch are gone). */
  const oldPrimaryDemoted = (oldPort: number) =>
    waitFor(async () => (await roleOf(oldPort).catch(() => '')) === 'slave', {
      timeoutMs: 30_000,
      message: 'the old primary to be turned into a replica',
    });

  /** A worker host with one processor for `ops.ping` and `lb.enable`, guarded or not, on the set. */
  function worker(processor: Processor, guarded: boolean) {
    const config = readRedisConfig(set.env);
    const redis = createRedis(config);
    const connection = createRedis(config, { forWorker: true });
    const confirmer = createWriteConfirmer(config);
    const queue = new Queue<JobData>(QUEUE_NAME, { connection: redis, prefix: PREFIX });
    const host = startWorkerHost({
      connection,
      prefix: PREFIX,
      concurrency: 2,
      lockDurationMs: 30_000,
      stalledIntervalMs: 30_000,
      shutdownGraceMs: 1_000,
      processors: { 'ops.ping': processor, 'lb.enable': processor } as unknown as ProcessorMap,
      reporterFor: quietReporter,
      logger,
      metrics: createMetrics(),
      jobsAdmin: new JobsAdmin(queue, redis, PREFIX),
      locks: new TargetLocks(redis, PREFIX),
      audit: new AuditLog(redis, PREFIX, logger, confirmer),
      ...(guarded ? { failoverGuard: confirmer, confirmer } : {}),
    });
    return {
      queue,
      host,
      async stop() {
        await host.stop();
        await queue.close();
        await confirmer.close();
        await closeRedis(connection);
        await closeRedis(redis);
      },
    };
  }

  const data = (id: string, lb = false): JobData => ({
    request: {
      requestId: id,
      userId: 'U0TEST',
      channelId: 'C0OPS',
      text: lb ? '/lb enable stage' : '/ops ping',
      source: 'slash',
      receivedAt: Date.now(),
    },
    checkpoints: {},
    // A command that changes `stage`: its job holds the target's lock while it runs.
    ...(lb ? { command: { kind: 'lb.enable', env: 'stage' } } : {}),
  });
  const STAGE_LOCK = `${PREFIX}:lock:environment:stage`;

  /** The job as the primary the sentinels name now keeps it, read on a new connection. */
  async function onPrimary(
    id: string,
  ): Promise<{ state: string; checkpoints?: Record<string, unknown>; stageLocked?: boolean }> {
    const redis: RedisClient = createRedis(readRedisConfig(set.env));
    const queue = new Queue<JobData>(QUEUE_NAME, { connection: redis, prefix: PREFIX });
    try {
      const job: Job<JobData> | undefined = await queue.getJob(id);
      const stageLocked = (await redis.exists(STAGE_LOCK)) === 1;
      if (!job) return { state: 'missing', stageLocked };
      return { state: await job.getState(), checkpoints: job.data.checkpoints, stageLocked };
    } finally {
      await queue.close();
      await closeRedis(redis);
    }
  }

  /** A processor that fails the primary over while it runs and ends once a replica was promoted. */
  const endsInTheWindow = (): Processor => async (_job, ctx) => {
    await failOver();
    // Written on the old primary, after the switch.
    await ctx.checkpoint('after-switch', true);
    return { outcome: 'done', summary: 'enabled' };
  };

  /** Runs a `lb.enable` job that ends in the window; what the new primary has once the old one is a replica. */
  async function endingInTheWindow(guarded: boolean, id: string) {
    await whole();
    // The control leaves `stage` locked for the lease (60 s): not this test's to wait for.
    const redis = createRedis(readRedisConfig(set.env));
    await redis.del(STAGE_LOCK).finally(() => closeRedis(redis));
    const w = worker(endsInTheWindow(), guarded);
    try {
      const oldPort = await primaryPort();
      await w.queue.add('lb.enable', data(id, true), { jobId: id });
      await waitFor(async () => (await primaryPort()) !== oldPort, { timeoutMs: 60_000 });
      await oldPrimaryDemoted(oldPort);
      // Well within BullMQ's stalled check and the target lock's lease (30 s, 60 s): its end.
      return await waitFor(
        async () => {
          const job = await onPrimary(id);
          return job.state === 'completed' ? job : undefined;
        },
        { timeoutMs: 10_000, message: 'the job to be completed on the new primary' },
      );
    } finally {
      await w.stop();
    }
  }

  it('control, no guard: a job that ends in the window loses what it wrote then, and its target stays locked', async () => {
    const seen = await endingInTheWindow(false, 'end-control');
    expect(seen.checkpoints?.['after-switch']).toBeUndefined();
    expect(seen.stageLocked).toBe(true);
  }, 90_000);

  it('guarded: a job that ends in the window ends on the new primary with what it wrote then, its target free', async () => {
    const seen = await endingInTheWindow(true, 'end-guarded');
    expect(seen.checkpoints?.['after-switch']).toBe(true);
    expect(seen.stageLocked).toBe(false);
  }, 90_000);

  /**
   * Enqueues a job on the old primary right after the switch, on a plain connection to it (as a
   * client that does not confirm its writes would), where the worker fetches it; counts its runs.
   */
  async function enqueuedInTheWindow(guarded: boolean, id: string): Promise<{ runs: number; state: string }> {
    let runs = 0;
    const w = worker(async () => {
      runs += 1;
      return { outcome: 'done', summary: 'pong' };
    }, guarded);
    try {
      await waitFor(() => w.host.isReady(), { timeoutMs: 30_000 });
      // The worker's connections are on the current primary (a job went through).
      await w.queue.add('ops.ping', data(`${id}-warm`), { jobId: `${id}-warm` });
      await waitFor(async () => runs === 1, { timeoutMs: 10_000 });
      const { oldPort } = await failOver();
      const direct = createRedis(readRedisConfig({ REDIS_URL: `redis://127.0.0.1:${oldPort}` }));
      const onOld = new Queue<JobData>(QUEUE_NAME, { connection: direct, prefix: PREFIX });
      try {
        await onOld.add('ops.ping', data(id), { jobId: id });
      } finally {
        await onOld.close();
        await closeRedis(direct);
      }
      await oldPrimaryDemoted(oldPort);
      await sleep(2_000);
      const seen = { runs: runs - 1, state: (await onPrimary(id)).state };
      // And the worker takes jobs from the new primary.
      await w.queue.add('ops.ping', data(`${id}-after`), { jobId: `${id}-after` });
      await waitFor(async () => runs === seen.runs + 2, {
        timeoutMs: 10_000,
        message: 'a job enqueued after the failover to run',
      });
      return seen;
    } finally {
      await w.stop();
    }
  }

  it('control, no guard: a job fetched on the old primary in the window runs, on a record the new primary never had', async () => {
    const seen = await enqueuedInTheWindow(false, 'fetch-control');
    expect(seen).toEqual({ runs: 1, state: 'missing' });
  }, 90_000);

  it('guarded: a job fetched on the old primary in the window is not run', async () => {
    const seen = await enqueuedInTheWindow(true, 'fetch-guarded');
    expect(seen).toEqual({ runs: 0, state: 'missing' });
  }, 90_000);

  /**
   * Runs a `lb.enable` job that writes a checkpoint in the window and keeps running; what the new
   * primary has of it once the old primary is a replica (as a worker that died then would leave it).
   */
  async function checkpointInTheWindow(guarded: boolean, id: string) {
    await whole();
    let written = false;
    let finish: () => void = () => {};
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const w = worker(async (_job, ctx) => {
      const { oldPort } = await failOver();
      await ctx.checkpoint('mid-job', oldPort);
      written = true;
      await finished;
      return { outcome: 'done', summary: 'enabled' };
    }, guarded);
    try {
      const oldPort = await primaryPort();
      await w.queue.add('lb.enable', data(id, true), { jobId: id });
      await waitFor(async () => written, { timeoutMs: 60_000, message: 'the checkpoint to be written' });
      await oldPrimaryDemoted(oldPort);
      return await onPrimary(id);
    } finally {
      finish();
      await w.stop();
    }
  }

  it('control, no confirmation: a checkpoint a running job writes in the window is lost', async () => {
    const seen = await checkpointInTheWindow(false, 'mid-control');
    expect(seen.state).toBe('active');
    expect(seen.checkpoints?.['mid-job']).toBeUndefined();
  }, 90_000);

  it('confirmed: a checkpoint a running job writes in the window is on the new primary once written', async () => {
    const seen = await checkpointInTheWindow(true, 'mid-guarded');
    expect(seen.state).toBe('active');
    expect(seen.checkpoints?.['mid-job']).toEqual(expect.any(Number));
    // Its target's lease, taken before the failover, is still its own.
    expect(seen.stageLocked).toBe(true);
  }, 90_000);

  /** Opens an alert in the window (on a connection still on the old primary); what the new primary has. */
  async function alertInTheWindow(confirmed: boolean, id: string) {
    const config = readRedisConfig(set.env);
    const redis = createRedis(config);
    const confirmer = createWriteConfirmer(config);
    const store = new AlertStore(redis, PREFIX, confirmed ? { confirmer } : {});
    const seen: Observation = {
      key: { check: 'burstBalance', resource: `db:${id}` },
      severity: 'critical',
      value: '3%',
      summary: `BurstBalance of ${id} is 3%`,
    };
    try {
      await redis.ping();
      const { oldPort } = await failOver();
      const opened = await store.update(alertIdFor(seen.key), (current) => {
        const r = step(
          current,
          seen,
          Date.now(),
          { quietPeriodMs: 1_000, renotifyAfterMs: 60_000 },
          {
            channel: 'C0ALERTS',
          },
        );
        return { next: r.changed ? r.next : 'unchanged', result: r.notice };
      });
      expect(opened.written).toBe(true);
      await oldPrimaryDemoted(oldPort);
      const fresh = createRedis(config);
      try {
        return await new AlertStore(fresh, PREFIX).get(alertIdFor(seen.key));
      } finally {
        await closeRedis(fresh);
      }
    } finally {
      await confirmer.close();
      await closeRedis(redis);
    }
  }

  it('control, no confirmation: an alert opened in the window is lost', async () => {
    expect(await alertInTheWindow(false, 'alert-control')).toBeUndefined();
  }, 90_000);

  it('confirmed: an alert opened in the window is on the new primary once written', async () => {
    const stored = await alertInTheWindow(true, 'alert-confirmed');
    expect(stored?.state).toMatchObject({ phase: 'open', severity: 'critical', value: '3%' });
    expect(stored?.version).toBeGreaterThan(0);
  }, 90_000);
});
