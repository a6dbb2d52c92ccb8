/**
 * Drill 4 — AWS throttling storm. The sandbox throttles half of all AWS calls for `stormMs`, then
 * answers 30% of them with transient 5xx for half as long, while two worker processes create
 * `count` environments (size 2) and delete each once it is up, and take a `stage` instance out of
 * the load balancer and put it back. Jobs slow down but finish, done; nothing is done twice: one
 * group, one launch template and exactly two instances launched per environment, each deleted
 * cleanly, `stage` whole again.
 */
import { messageText } from '../../devkit/local/slack-api.js';
import { waitFor } from '../../test/helpers/wait-for.js';
import {
  attempt,
  check,
  type DrillOptions,
  type DrillResult,
  type DrillWorld,
  quantile,
  workerAttached,
} from './harness.js';
import { liveInstances, startAccountWorld, watchResources } from './world.js';

/** Options of {@link throttlingStormDrill}. */
export interface ThrottleDrillOptions extends DrillOptions {
  /** How long half the calls are throttled; default one minute (then half as long of 5xx). */
  stormMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends a command and resolves with its job id once the job has ended. */
async function runToEnd(
  world: DrillWorld,
  command: string,
  text: string,
): Promise<{ id: string; ms: number }> {
  const started = Date.now();
  const reply = await world.slash(command, text);
  const id = reply.body.match(/Queued as job `(j[0-9a-f]+)`/)?.[1];
  check(reply.status === 200 && id, `${command} ${text}: not queued: ${reply.body.slice(0, 160)}`);
  await waitFor(
    async () => {
      const job = await world.queue.getJob(id);
      return (await job?.isCompleted()) || (await job?.isFailed());
    },
    { timeoutMs: 300_000, intervalMs: 100, message: `${command} ${text} to end` },
  );
  const job = await world.queue.getJob(id);
  check(await job?.isCompleted(), `${command} ${text}: job ${id} failed: ${job?.failedReason}`);
  const ts = job?.data.checkpoints.reporter?.messageTs;
  const final = await waitFor(
    () => {
      const m = ts ? world.fake.findMessage('C0OPS', ts) : undefined;
      return m && /(done|failed|cancelled) in/.test(messageText(m)) ? messageText(m) : undefined;
    },
    { timeoutMs: 10_000, message: `the final message of ${command} ${text}` },
  );
  check(/: done in/.test(final), `${command} ${text}: ${final.slice(0, 200)}`);
  return { id, ms: Date.now() - started };
}

/** Runs the drill; see the file comment. */
export async function throttlingStormDrill(options: ThrottleDrillOptions): Promise<DrillResult> {
  const log = options.log ?? (() => undefined);
  const stormMs = options.stormMs ?? 60_000;
  const account = await startAccountWorld({ ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}) });
  const { world } = account;
  const { sandbox } = world;
  const failures: string[] = [];
  const durations: number[] = [];
  let passed = 0;
  let runs = 0;
  const figures: Record<string, string> = {};
  try {
    world.spawnWorker();
    world.spawnWorker();
    await workerAttached(world);
    const watch = watchResources(world, 150);
    const stageIds = liveInstances(await sandbox.snapshot(), 'stage-web')
      .map((x) => x.id)
      .sort();

    await sandbox.setFaults({ throttleRate: 0.5, transientRate: 0 });
    const storm = Date.now();
    const phases = (async () => {
      await sleep(stormMs);
      await sandbox.setFaults({ throttleRate: 0, transientRate: 0.3 });
      log('throttling over; 30% transient 5xx now');
      await sleep(stormMs / 2);
      await sandbox.setFaults({ throttleRate: 0, transientRate: 0 });
      log('storm over');
    })();

    // Each environment: created (sent spread over the first half of the storm), then deleted.
    const lifecycles = Array.from({ length: options.count }, async (_, i) => {
      await sleep(Math.floor((i * stormMs) / 2 / Math.max(1, options.count)));
      const name = `storm-${i}`;
      runs += 1;
      const ok = await attempt(failures, name, async () => {
        durations.push((await runToEnd(world, '/env', `create ${name} --size 2`)).ms);
        durations.push((await runToEnd(world, '/env', `delete ${name}`)).ms);
      });
      if (ok) passed += 1;
    });
    // Meanwhile, on `stage`: out of the load balancer and back, once per 4 environments.
    const lbRounds = Math.max(1, Math.ceil(options.count / 4));
    const lb = (async () => {
      for (let r = 0; r < lbRounds; r++) {
        runs += 1;
        const id = stageIds[r % stageIds.length] ?? '';
        const ok = await attempt(failures, `stage round ${r}`, async () => {
          durations.push((await runToEnd(world, '/lb', `disable stage --instance ${id}`)).ms);
          durations.push((await runToEnd(world, '/lb', 'enable stage')).ms);
        });
        if (ok) passed += 1;
      }
    })();
    await Promise.all([...lifecycles, lb, phases]);
    const seen = await watch.stop();
    const { counters } = await sandbox.faults();

    // Nothing done twice, and everything back as it was.
    await attempt(failures, 'afterwards', async () => {
      const after = await sandbox.snapshot();
      for (let i = 0; i < options.count; i++) {
        const group = `capstan-env-storm-${i}`;
        const launched = seen.instancesByGroup.get(group)?.size ?? 0;
        check(launched === 2, `${group}: ${launched} instances launched (want 2)`);
        check(!after.groups[group], `${group} still exists`);
      }
      const groups = [...seen.groups].filter((g) => g.startsWith('capstan-env-storm-'));
      check(
        groups.length === options.count,
        `${groups.length} groups made for ${options.count} environments`,
      );
      const templates = [...seen.launchTemplates].filter((t) => t.startsWith('capstan-env-storm-'));
      check(
        templates.length === options.count,
        `${templates.length} launch templates for ${options.count} environments`,
      );
      const leftTemplates = Object.values(after.launchTemplates).filter((t) =>
        t.name.startsWith('capstan-env-storm-'),
      );
      check(leftTemplates.length === 0, `${leftTemplates.length} launch template(s) left behind`);
      const stage = liveInstances(after, 'stage-web');
      check(
        stage
          .map((x) => x.id)
          .sort()
          .join() === stageIds.join() && stage.every((x) => x.lifecycle === 'InService'),
        'stage-web is not whole again',
      );
      check(
        after.groups['stage-web']?.desired === 3 && after.groups['stage-web'].suspended.length === 0,
        'stage-web not restored',
      );
      const orphans = Object.values(after.instances).filter((x) => !x.group && x.state !== 'terminated');
      check(orphans.length === 0, `${orphans.length} instance(s) outside any group`);
      check(
        counters.throttling > 0 && counters.transient > 0,
        `faults injected: ${JSON.stringify(counters)}`,
      );
    });
    figures['faults injected'] =
      `${counters.throttling} throttled, ${counters.transient} transient 5xx of ${counters.calls} AWS calls (${(((counters.throttling + counters.transient) / Math.max(1, counters.calls)) * 100).toFixed(0)}%)`;
    figures['job time under the storm'] =
      `p50 ${(quantile(durations, 0.5) / 1000).toFixed(1)} s, max ${(Math.max(0, ...durations) / 1000).toFixed(1)} s (${durations.length} jobs; storm ${((Date.now() - storm) / 1000).toFixed(0)} s)`;
  } finally {
    await account.stop();
  }
  return {
    drill: 'throttle',
    runs,
    passed: Math.max(0, passed - failures.filter((f) => f.startsWith('afterwards')).length),
    checked: `AWS 50% throttled ${(stormMs / 1000).toFixed(0)} s then 30% 5xx ${(stormMs / 2000).toFixed(0)} s: ${options.count} env create+delete, lb disable+enable all done; one group/LT/2 instances each; nothing left`,
    figures,
    failures,
  };
}
