/**
 * Drill 2 — Redis restarted. Capstan runs on a private Redis (append-only file on, as
 * `scripts/services` starts it) with two worker processes of one job slot each. Each of `count`
 * rounds leaves jobs running (environment creates whose instances take seconds to launch), jobs
 * queued behind them, an approval request open (a change to the protected `prod`) and target
 * locks held, then stops Redis (SIGTERM: it writes its append-only file) and starts it again on the
 * same folder. Nothing may be lost — every job, the approval, every lock still held, every audit
 * entry — and afterwards the running jobs resume and everything ends as asked: the approval is
 * clicked and its job runs, each environment has its instances, one progress message per job.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startRedis } from '../../devkit/local/services.js';
import { messageText } from '../../devkit/local/slack-api.js';
import { APPROVE_ACTION } from '../../src/slack/blocks/approval.js';
import { waitFor } from '../../test/helpers/wait-for.js';
import {
  attempt,
  check,
  type DrillOptions,
  type DrillResult,
  startDrillWorld,
  workerAttached,
} from './harness.js';
import { loadConfig } from './load.js';
import { DB_PASSWORD, drillSeed, liveInstances, TIMING } from './world.js';

/** Runs the drill: `count` restarts. The drill always uses a Redis of its own (`redisUrl` is ignored). */
export async function redisRestartDrill(options: DrillOptions): Promise<DrillResult> {
  const log = options.log ?? (() => undefined);
  const redis = await startRedis(await freePort());
  const failures: string[] = [];
  const figures: Record<string, string> = {};
  let passed = 0;
  const downtimes: number[] = [];
  const world = await startDrillWorld({
    configYaml: loadConfig(['U0ALICE', 'U0BOB']),
    redisUrl: redis.url,
    env: {
      DRILL_DB_PASSWORD: DB_PASSWORD,
      CAPSTAN_WORKER_CONCURRENCY: '1',
      // Production-like leases: a Redis restart of a second or two must not look like a dead worker.
      CAPSTAN_JOB_LOCK_MS: '15000',
      CAPSTAN_STALLED_INTERVAL_MS: '5000',
    },
  }).catch(async (error: unknown) => {
    await redis.stop({ purge: true });
    throw error;
  });
  const { sandbox, fake } = world;
  try {
    await sandbox.seed(
      drillSeed({
        environments: ['stage', 'prod'],
        max: 6,
        timing: { ...TIMING, instanceLaunch: 3_000 },
      }),
    );
    world.spawnWorker();
    world.spawnWorker();
    await workerAttached(world);
    const auditKey = `${world.prefix}:audit`;

    for (let round = 0; round < options.count; round++) {
      const ok = await attempt(failures, `restart ${round + 1}`, async () => {
        // An approval left open.
        const prod = liveInstances(await sandbox.snapshot(), 'prod-web').find(
          (x) => x.lifecycle === 'InService',
        );
        const approvalsBefore = fake.messagesIn('C0APPROVALS').length;
        const ask = await world.slash('/lb', `disable prod --instance ${prod?.id} --reason round-${round}`, {
          userId: 'U0BOB',
        });
        check(/needs an approval/.test(ask.body), `no approval asked: ${ask.body.slice(0, 160)}`);
        const request = await waitFor(() => fake.messagesIn('C0APPROVALS')[approvalsBefore], {
          timeoutMs: 30_000,
          message: 'the approval request',
        });
        const approvalId = JSON.stringify(request.blocks).match(/"value":"(j[0-9a-f]+)"/)?.[1] ?? '';
        // Four creates on two one-slot workers: two run, two wait.
        const names = [0, 1, 2, 3].map((k) => `redis-${round}-${k}`);
        const ids: string[] = [];
        for (const name of names) {
          const reply = await world.slash('/env', `create ${name} --size 1`, { userId: 'U0BOB' });
          const id = reply.body.match(/Queued as job `(j[0-9a-f]+)`/)?.[1];
          check(id, `create ${name} not queued: ${reply.body.slice(0, 160)}`);
          ids.push(id);
        }
        await waitFor(
          async () => {
            const active = await Promise.all(
              ids.map(async (id) => (await world.queue.getJob(id))?.isActive()),
            );
            return active.filter(Boolean).length >= 2;
          },
          { timeoutMs: 20_000, message: 'two running creates' },
        ).catch(async (error: Error) => {
          const active = (await world.queue.getActive()).map((j) => `${j.name}:${j.id}`);
          const workers = await world.queue.getWorkersCount();
          for (const id of ids) {
            const j = await world.queue.getJob(id);
            active.push(`${id}=${await j?.getState()} ${j?.failedReason ?? ''}`);
          }
          throw new Error(
            `${error.message.slice(0, 80)}; active: ${active.join(', ')}; ${workers} worker(s)`,
          );
        });

        // What Redis holds just before the restart.
        const states = new Map<string, string>();
        for (const id of ids) states.set(id, (await (await world.queue.getJob(id))?.getState()) ?? 'missing');
        const running = ids.filter((id) => states.get(id) === 'active');
        const waiting = ids.filter((id) => states.get(id) !== 'active');
        const locksBefore = new Set(await world.redis.keys(`${world.prefix}:lock:*`));
        const approvalKeys = await world.redis.keys(`${world.prefix}:approval:*`);
        check(approvalKeys.length > 0, 'no approval record in Redis');
        const auditBefore = await world.redis.xlen(auditKey);
        const keysBefore = await world.redis.dbsize();

        const down = Date.now();
        await redis.stop();
        await startRedis(redis.port);
        await waitFor(async () => (await world.redis.ping().catch(() => '')) === 'PONG', {
          timeoutMs: 30_000,
        });
        downtimes.push(Date.now() - down);
        log(
          `round ${round + 1}: Redis back after ${Date.now() - down} ms (${running.length} running, ${waiting.length} queued, ${locksBefore.size} locks, ${keysBefore} keys)`,
        );

        // Nothing lost.
        for (const id of ids) check(await world.queue.getJob(id), `job ${id} (${states.get(id)}) lost`);
        for (const key of approvalKeys) check(await world.redis.exists(key), `approval ${key} lost`);
        const locksAfter = new Set(await world.redis.keys(`${world.prefix}:lock:*`));
        // A lock may only be gone because its job finished in the meantime.
        for (const key of locksBefore) {
          if (locksAfter.has(key)) continue;
          const holder = await world.redis.get(key);
          check(holder === null, `lock ${key} lost`);
        }
        const lostLocks = [...locksBefore].filter((k) => !locksAfter.has(k));
        const auditAfter = await world.redis.xlen(auditKey);
        check(auditAfter >= auditBefore, `audit stream shrank from ${auditBefore} to ${auditAfter}`);

        // And everything goes on: the approval is given, every job ends as asked.
        const click = await world.click('U0APPR1', request, APPROVE_ACTION, approvalId);
        check(click.status === 200, `approval click answered ${click.status}`);
        for (const id of ids) {
          await waitFor(async () => (await world.queue.getJob(id))?.isCompleted(), {
            timeoutMs: 90_000,
            intervalMs: 100,
            message: `job ${id} to complete`,
          });
        }
        const world2 = await sandbox.snapshot();
        for (const name of names) {
          const live = liveInstances(world2, `capstan-env-${name}`);
          check(live.length === 1, `${name}: ${live.length} instance(s)`);
        }
        const disabled = await waitFor(
          () =>
            fake
              .messagesIn('C0OPS')
              .find(
                (m) =>
                  /: (done|failed) in/.test(messageText(m)) &&
                  messageText(m).includes(`--reason round-${round}`) &&
                  !/Waiting for an approval/.test(messageText(m)),
              ),
          { timeoutMs: 60_000, message: 'the approved job to finish' },
        );
        check(
          /out of the load balancer/.test(messageText(disabled)),
          `approved job: ${messageText(disabled).slice(0, 160)}`,
        );
        for (const id of ids) {
          const job = await world.queue.getJob(id);
          const ts = job?.data.checkpoints.reporter?.messageTs;
          const root = job?.data.checkpoints.reporter?.rootTs;
          check(ts && root, `job ${id}: no progress message`);
          const replies = fake.threadReplies('C0OPS', root);
          check(replies.length === 1, `job ${id}: ${replies.length} progress messages`);
          check(/: done in/.test(messageText(replies[0] ?? { text: '' })), `job ${id} did not end done`);
        }
        if (lostLocks.length > 0)
          log(`round ${round + 1}: ${lostLocks.length} lock(s) released by finished jobs meanwhile`);
        // Put prod back for the next round.
        const enable = await world.slash('/lb', 'enable prod', { userId: 'U0BOB' });
        const enableId = enable.body.match(/Queued as job `(j[0-9a-f]+)`/)?.[1] ?? '';
        await waitFor(async () => (await world.queue.getJob(enableId))?.isCompleted(), {
          timeoutMs: 60_000,
          message: 'prod back in service',
        });
        await sleep(200);
      });
      if (ok) passed += 1;
      log(`round ${round + 1}: ${ok ? 'ok' : `FAILED ${failures.at(-1)}`}`);
    }
    const audit = await world.redis.xlen(auditKey);
    figures['Redis downtime per restart'] = downtimes.map((d) => `${d} ms`).join(', ');
    figures['audit entries at the end'] = String(audit);
  } finally {
    await world.stop();
    await redis.stop({ purge: true });
  }
  return {
    drill: 'redis',
    runs: options.count,
    passed,
    checked:
      'Redis (AOF) stopped and started under 2 running + 2 queued jobs, an open approval and held locks: nothing lost, jobs resume, approval acts, one message each',
    figures,
    failures,
  };
}
