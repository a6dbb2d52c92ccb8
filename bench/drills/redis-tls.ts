/**
 * Drill 9 — Redis over TLS with an ACL user. Capstan (web in this process, one `capstan worker`
 * process) runs on a TLS-only Redis whose default user is off (`scripts/services up redis-tls`: its
 * own CA, user `capstan`), through a rediss:// REDIS_URL and REDIS_TLS_CA_FILE: `count` jobs
 * (`/ops ping`, then environment creates in the sandbox) must end with their final message. Then two
 * more `capstan web` processes are started wrong, each beside the good one and under its key prefix:
 * one trusting another CA (REDIS_TLS_CA_FILE), one with a wrong REDIS_PASSWORD. Neither may work,
 * and each must say why: `GET /ready` answers 503 with a reason naming the certificate problem and
 * REDIS_TLS_CA_FILE, or REDIS_PASSWORD; a command sent to it is not queued, and nothing reaches the
 * queue.
 */

import { startRedisTls } from '../../devkit/local/services.js';
import type { SlackEndpointResult } from '../../devkit/local/signed-request.js';
import { fakeTriggerId } from '../../devkit/local/signed-request.js';
import { messageText } from '../../devkit/local/slack-api.js';
import { jobIdFor } from '../../src/queue/contract.js';
import { waitFor } from '../../test/helpers/wait-for.js';
import {
  attempt,
  check,
  type DrillOptions,
  type DrillResult,
  type DrillWorld,
  isFinal,
  startDrillWorld,
  workerAttached,
} from './harness.js';
import { DB_PASSWORD, DRILL_CONFIG, drillSeed } from './world.js';

/** Options of {@link redisTlsDrill}. */
export interface TlsDrillOptions extends DrillOptions {
  /** The TLS Redis's port; default 21200. */
  port?: number;
}

/** What a misconfigured web process said. */
interface Refusal {
  ready: { status: number; reasons: string[] };
  reply: SlackEndpointResult;
  /** The ephemeral message that follows an answer saying the command is held, if any. */
  followUp?: string;
}

/** Jobs in the queue, whatever their state. */
async function jobCount(world: DrillWorld): Promise<number> {
  const counts = await world.queue.getJobCounts();
  return Object.values(counts).reduce((n, c) => n + c, 0);
}

/**
 * Starts `capstan web` with `env` over the world's, waits until `/ready` gives a reason (or 20 s),
 * sends it `/ops ping`, and checks that nothing was queued; always stops it.
 */
async function refusedWeb(world: DrillWorld, env: Record<string, string>): Promise<Refusal> {
  const web = await world.spawnWeb(env);
  try {
    const readyUrl = web.eventsUrl.replace(/\/slack\/events$/, '/ready');
    let ready = { status: 0, reasons: [] as string[] };
    // The first probe may come before the first connection attempt has failed: wait for a reason.
    await waitFor(
      async () => {
        const res = await fetch(readyUrl, { signal: AbortSignal.timeout(10_000) });
        const body = (await res.json().catch(() => ({}))) as { reasons?: string[] };
        ready = { status: res.status, reasons: body.reasons ?? [] };
        if (res.status === 200) return true;
        return ready.reasons.some((r) => r.includes('REDIS_'));
      },
      { timeoutMs: 20_000, intervalMs: 500 },
    ).catch(() => undefined);
    const before = await jobCount(world);
    const triggerId = fakeTriggerId();
    const sentAt = Date.now();
    const reply = await web.slash('/ops', 'ping', { userId: 'U0ALICE', triggerId });
    // Answered as held (Redis not answering): the outcome follows once the command gives up.
    const followUp = /is held until it answers/.test(reply.body)
      ? await waitFor(() => world.fake.ephemerals.find((e) => e.user === 'U0ALICE' && e.at >= sentAt)?.text, {
          timeoutMs: 15_000,
          intervalMs: 100,
        }).catch(() => 'none within 15 s')
      : undefined;
    const jobId = jobIdFor(triggerId);
    check(!(await world.queue.getJob(jobId)), `a job ${jobId} was queued through it`);
    check(!(await world.redis.exists(`${world.prefix}:intake:${jobId}`)), 'its intake marker reached Redis');
    check((await jobCount(world)) === before, 'the queue changed while it was asked');
    return { ready, reply, ...(followUp ? { followUp } : {}) };
  } finally {
    await web.worker.kill();
  }
}

/** Checks what a refusal said: /ready 503 and a reason matching each of `words`. */
function checkRefusal(refusal: Refusal, words: RegExp[]): void {
  const { ready, reply } = refusal;
  check(ready.status === 503, `/ready answered ${ready.status}${ready.status === 200 ? ': it works' : ''}`);
  const said = ready.reasons.join(' | ');
  for (const w of words)
    check(w.test(said), `/ready's reason does not say ${w.source}: ${said.slice(0, 300)}`);
  check(!/Queued as job/.test(reply.body), `the command was queued: ${reply.body.slice(0, 160)}`);
}

/** The figure line of a refusal. */
function describeRefusal(refusal: Refusal): string {
  const reply = refusal.reply.body.replace(/^\{.*"text":"/, '').replace(/"\}$/, '');
  const then = refusal.followUp ? `, then "${refusal.followUp.slice(0, 200)}"` : '';
  return `/ready ${refusal.ready.status} "${refusal.ready.reasons.join(' | ').slice(0, 300)}"; /ops ping answered HTTP ${refusal.reply.status} in ${refusal.reply.ms.toFixed(0)} ms "${reply.slice(0, 120)}"${then}`;
}

/** Runs the drill: `count` jobs over TLS, then the two refusals. It always starts a Redis of its own. */
export async function redisTlsDrill(options: TlsDrillOptions): Promise<DrillResult> {
  const log = options.log ?? (() => undefined);
  const tls = await startRedisTls(options.port ?? 21_200);
  const failures: string[] = [];
  const figures: Record<string, string> = {};
  let passed = 0;
  try {
    const world = await startDrillWorld({
      configYaml: DRILL_CONFIG,
      redisEnv: { ...tls.env },
      env: { DRILL_DB_PASSWORD: DB_PASSWORD },
    });
    try {
      await world.sandbox.seed(drillSeed({ environments: ['stage'] }));
      world.spawnWorker();
      await workerAttached(world);
      const whoami = await world.redis.call('ACL', 'WHOAMI');
      figures.connection = `${tls.env.REDIS_URL.replace(/\/\/([^:@]+):[^@]*@/, '//$1:***@')} (ACL WHOAMI: ${String(whoami)}), CA ${tls.caFile}`;

      // Jobs: a ping, then environment creates in the sandbox.
      const durations: number[] = [];
      for (let k = 0; k < options.count; k++) {
        const [command, text] = k === 0 ? ['/ops', 'ping'] : ['/env', `create tls-${k} --size 1`];
        const ok = await attempt(failures, `${command} ${text}`, async () => {
          const started = Date.now();
          const reply = await world.slash(command, text, { userId: 'U0ALICE' });
          const jobId = reply.body.match(/Queued as job `(j[0-9a-f]+)`/)?.[1];
          check(jobId, `not queued: ${reply.body.slice(0, 160)}`);
          const final = await waitFor(
            async () => {
              const ts = (await world.queue.getJob(jobId))?.data.checkpoints.reporter?.messageTs;
              const m = ts ? world.fake.findMessage('C0OPS', ts) : undefined;
              return m && isFinal(m) ? messageText(m) : undefined;
            },
            { timeoutMs: 60_000, intervalMs: 100, message: `job ${jobId}'s final message` },
          );
          check(/ done in /.test(final), `ended: ${final.slice(0, 160)}`);
          durations.push(Date.now() - started);
        });
        if (ok) passed += 1;
        log(`${command} ${text}: ${ok ? 'done' : `FAILED ${failures.at(-1)}`}`);
      }
      figures['jobs over TLS'] =
        `${durations.length} of ${options.count} done (${durations.map((d) => `${d} ms`).join(', ')})`;

      // A web process trusting another CA.
      const wrongCa = await attempt(failures, 'another CA', async () => {
        const refusal = await refusedWeb(world, { REDIS_TLS_CA_FILE: tls.otherCaFile });
        figures['another CA'] = describeRefusal(refusal);
        checkRefusal(refusal, [/certificate/i, /REDIS_TLS_CA_FILE/]);
      });
      if (wrongCa) passed += 1;
      log(`another CA: ${wrongCa ? 'refused, and said why' : `FAILED ${failures.at(-1)}`}`);

      // A web process with a wrong password for the ACL user.
      const wrongPassword = await attempt(failures, 'wrong password', async () => {
        const refusal = await refusedWeb(world, { REDIS_PASSWORD: 'not-the-password' });
        figures['wrong password'] = describeRefusal(refusal);
        checkRefusal(refusal, [/REDIS_PASSWORD/, /WRONGPASS/]);
      });
      if (wrongPassword) passed += 1;
      log(`wrong password: ${wrongPassword ? 'refused, and said why' : `FAILED ${failures.at(-1)}`}`);
    } finally {
      await world.stop();
    }
  } finally {
    await tls.stop({ purge: true });
  }
  return {
    drill: 'tls',
    runs: options.count + 2,
    passed,
    checked: `${options.count} jobs (ping, env creates) over TLS as ACL user capstan, final message each; + 2 refusals: another CA and a wrong password → /ready 503 naming REDIS_TLS_CA_FILE/the certificate or REDIS_PASSWORD, nothing queued`,
    figures,
    failures,
  };
}
