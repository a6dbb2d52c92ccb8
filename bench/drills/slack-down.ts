/**
 * Drill 3 — Slack unreachable. Two worker processes run `count` commands (environment creates and
 * pings, a third sent before the outage, the rest during it) while the fake Slack Web API answers
 * every call with HTTP 503, then 429 with Retry-After, alternating, for `outageMs`. Commands are
 * still acked (acks need no Web API); jobs carry on with AWS meanwhile; once Slack is back every
 * job's final message is delivered: one thread root and one progress message per job, the final
 * state written once and last, roots in the order the commands were sent.
 */
import { messageText } from '../../devkit/local/slack-api.js';
import { waitFor } from '../../test/helpers/wait-for.js';
import { attempt, check, type DrillOptions, type DrillResult, quantile, workerAttached } from './harness.js';
import { liveInstances, startAccountWorld } from './world.js';

/** Options of {@link slackUnreachableDrill}. */
export interface SlackDrillOptions extends DrillOptions {
  /** How long Slack is unreachable; default two minutes. */
  outageMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the drill; see the file comment. */
export async function slackUnreachableDrill(options: SlackDrillOptions): Promise<DrillResult> {
  const log = options.log ?? (() => undefined);
  const outageMs = options.outageMs ?? 120_000;
  const account = await startAccountWorld({ ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}) });
  const { world } = account;
  const { fake } = world;
  const failures: string[] = [];
  let passed = 0;
  const commands = Array.from({ length: options.count }, (_, i) =>
    i % 2 === 0 ? (['/env', `create slack-${i} --size 1`] as const) : (['/ops', 'ping'] as const),
  );
  const figures: Record<string, string> = {};
  try {
    world.spawnWorker();
    world.spawnWorker();
    await workerAttached(world);
    // Every slash command gets a trigger id of its own: the job id, and how the drill finds its job.
    const jobIds: string[] = [];
    const send = async (i: number) => {
      const [command, text] = commands[i] ?? ['/ops', 'ping'];
      const reply = await world.slash(command, text);
      const id = reply.body.match(/Queued as job `(j[0-9a-f]+)`/)?.[1];
      if (reply.status !== 200 || !id)
        failures.push(
          `#${i} ${command} ${text}: not queued (HTTP ${reply.status}: ${reply.body.slice(0, 120)})`,
        );
      jobIds[i] = id ?? '';
    };
    const before = Math.ceil(options.count / 3);
    for (let i = 0; i < before; i++) await send(i);

    // The outage: 503 and 429 (Retry-After 2 s) by turns, every few seconds.
    const outageStarted = Date.now();
    let turn = 0;
    const flip = () => {
      fake.clearFaults();
      fake.failAll(
        turn++ % 2 === 0 ? { kind: 'http', status: 503 } : { kind: 'ratelimited', retryAfterSec: 2 },
      );
    };
    flip();
    const flipper = setInterval(flip, Math.min(5_000, Math.max(1_000, outageMs / 6)));
    const callsAtStart = fake.calls.length;
    const rest = options.count - before;
    for (let i = before; i < options.count; i++) {
      await send(i);
      await sleep(Math.floor((outageMs * 0.6) / Math.max(1, rest)));
    }
    await sleep(Math.max(0, outageStarted + outageMs - Date.now()));
    clearInterval(flipper);
    // What went on while Slack was away: AWS work done, Slack calls refused.
    const during = await world.sandbox.snapshot();
    const envsUp = commands
      .map(([c], i) => (c === '/env' ? `capstan-env-slack-${i}` : undefined))
      .filter((g): g is string => g !== undefined && liveInstances(during, g).length > 0).length;
    const refused = fake.calls.slice(callsAtStart).filter((c) => c.status >= 429).length;
    const slackBack = Date.now();
    fake.clearFaults();
    log(
      `outage over after ${((slackBack - outageStarted) / 1000).toFixed(0)} s: ${refused} Slack calls refused, ${envsUp} environment(s) already up`,
    );

    // Once Slack is back: every job completes and its final message arrives.
    const deliveredAt = new Map<string, number>();
    await waitFor(
      async () => {
        for (const id of jobIds) {
          if (!id || deliveredAt.has(id)) continue;
          const job = await world.queue.getJob(id);
          const ts = job?.data.checkpoints.reporter?.messageTs;
          const m = ts ? fake.findMessage('C0OPS', ts) : undefined;
          if (m && /(done|failed|cancelled) in/.test(messageText(m)) && (await job?.isCompleted()))
            deliveredAt.set(id, Date.now());
        }
        return deliveredAt.size === jobIds.filter(Boolean).length;
      },
      { timeoutMs: 120_000, intervalMs: 100, message: 'every final message after Slack came back' },
    ).catch((error: Error) => failures.push(`delivery: ${error.message.slice(0, 200)}`));

    const roots = fake.messagesIn('C0OPS', { topLevelOnly: true });
    const rootOrder: number[] = [];
    for (const [i, id] of jobIds.entries()) {
      if (!id) continue;
      const ok = await attempt(failures, `#${i} ${commands[i]?.join(' ')}`, async () => {
        const job = await world.queue.getJob(id);
        check(await job?.isCompleted(), `job ${id} is ${await job?.getState()}: ${job?.failedReason ?? ''}`);
        const snap = job?.data.checkpoints.reporter;
        check(snap?.messageTs && snap.rootTs, 'no progress message recorded');
        const text = `${commands[i]?.[0]} ${commands[i]?.[1]}`;
        const mine = roots.filter((r) => messageText(r).includes(`\`${text}\``));
        // Environment names are unique; pings are told apart by their root's ts.
        const root = roots.find((r) => r.ts === snap.rootTs);
        check(root, 'the thread root was never posted');
        if (text.startsWith('/env')) check(mine.length === 1, `${mine.length} thread roots for the command`);
        rootOrder.push(roots.indexOf(root));
        const replies = fake.threadReplies('C0OPS', root.ts);
        check(replies.length === 1, `${replies.length} progress messages in the thread (want 1)`);
        const progress = replies[0];
        check(progress?.ts === snap.messageTs, 'the progress message is not the one the job recorded');
        const history = progress.history.map((v) => messageText(v));
        const finals = history.filter((h) => /(done|failed|cancelled) in/.test(h));
        check(finals.length === 1, `the final state was written ${finals.length} times`);
        check(
          /(done|failed|cancelled) in/.test(history.at(-1) ?? ''),
          'a stale update overwrote the final state',
        );
        check(
          /done in/.test(history.at(-1) ?? ''),
          `did not end done: ${(history.at(-1) ?? '').slice(0, 160)}`,
        );
        if (text.startsWith('/env')) {
          const g = `capstan-env-slack-${i}`;
          check(
            liveInstances(await world.sandbox.snapshot(), g).length === 1,
            `${g} does not have its 1 instance`,
          );
        }
      });
      if (ok) passed += 1;
    }
    // Roots in the order the commands were sent (each command's thread starts before the next's).
    const inversions = rootOrder.filter((r, k) => k > 0 && r < (rootOrder[k - 1] ?? -1)).length;
    const lags = [...deliveredAt.values()].map((t) => t - slackBack);
    figures.outage = `${(outageMs / 1000).toFixed(0)} s of 503/429; ${refused} Slack calls refused; ${envsUp} of ${commands.filter(([c]) => c === '/env').length} environments up before Slack was back`;
    figures['final messages after Slack came back'] =
      `p50 ${(quantile(lags, 0.5) / 1000).toFixed(1)} s, max ${(Math.max(0, ...lags) / 1000).toFixed(1)} s`;
    figures['thread roots out of command order'] =
      `${inversions} (jobs run in parallel on 2 workers × 8 slots)`;
    await attempt(failures, 'work went on during the outage', async () => {
      check(
        envsUp > 0 || commands.every(([c]) => c !== '/env'),
        'no environment came up while Slack was unreachable: jobs waited for Slack',
      );
    });
  } finally {
    await account.stop();
  }
  return {
    drill: 'slack-down',
    runs: options.count,
    passed,
    checked: `Slack Web API 503/429 for ${(outageMs / 1000).toFixed(0)} s under ${options.count} jobs: acked, AWS work went on, every final message delivered once, last, one per job`,
    figures,
    failures,
  };
}
