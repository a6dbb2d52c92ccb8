/**
 * `alerts.check`: on a schedule (once per interval however many workers there are), reads what the
 * enabled checks watch — DB instances and their CloudWatch metrics, environments' Auto Scaling
 * groups, Capstan's own failed jobs and temporary restore instances — evaluates the rules, steps
 * each alert's state atomically in Redis, and brings Slack in line with it: one message per alert,
 * posted once, updated in place, re-notified in its thread, resolved.
 */
import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import { describeGroup, findGroupsByTag, type Group } from '../src/aws/autoscaling.js';
import type { AwsPlacement } from '../src/aws/clients.js';
import { getMetricSeries, latestValue, type MetricQuery, type MetricSeries } from '../src/aws/cloudwatch.js';
import { describeDbInstance, listDbInstances } from '../src/aws/rds.js';
import { ALERT_CHECKS, type AlertCheckName, type Config } from '../src/config.js';
import { routeFor } from '../src/domain/alerts/routing.js';
import {
  type DatabaseInput,
  type EnvironmentInput,
  evaluateDatabase,
  evaluateEnvironment,
  type FailedJobInput,
  failedJobsRule,
  type Observation,
  type TemporaryInstanceInput,
  temporaryRestoresRule,
} from '../src/domain/alerts/rules.js';
import {
  type AlertState,
  type AlertTiming,
  alertIdFor,
  claimPosting,
  externalInput,
  isActive,
  type Notice,
  recordMessage,
  step,
} from '../src/domain/alerts/state.js';
import { allPlacements, resolveEnvironment, standbyNotes, TAG } from '../src/domain/env.js';
import { balanceForecast } from '../src/domain/io-credits.js';
import { refreshForAlert } from '../src/home/tabs.js';
import type { JobDataOf, JobResult } from '../src/queue/contract.js';
import { renderAlert, renderRenotify } from '../src/slack/blocks/alert.js';
import { standbyRecordsOf } from '../src/standby/store.js';
import type { AlertsCheckDeps } from './deps.js';

/** True for the checks Capstan runs on a schedule (not the signals AWS sends). */
function isScheduledCheck(check: string): check is AlertCheckName {
  return (ALERT_CHECKS as readonly string[]).includes(check);
}

/** A worker that claimed an alert's post holds the claim this long; if it dies, the next check posts. */
const POST_LEASE_MS = 60_000;

/** How far back metrics are read: enough for the latest datapoint, and for a forecast to fit a trend. */
const METRIC_LOOKBACK_MS = 3 * 3_600_000;

const RDS_CHECKS: readonly AlertCheckName[] = ['burstBalance', 'rdsStatus', 'replicaLag'];
const ENV_CHECKS: readonly AlertCheckName[] = ['inService', 'unhealthy', 'standby', 'expiry'];

/**
 * Hours until `BurstBalance` reaches zero at its trend over the last hour (the investigation's own
 * forecast: {@link balanceForecast}); undefined when it is not falling or already empty (the
 * threshold conditions cover that).
 */
export function projectEmptyInHours(burstBalance: MetricSeries, now: number): number | undefined {
  const forecast = balanceForecast(burstBalance);
  if (!forecast?.zeroAt) return undefined;
  return Math.max(0, (forecast.zeroAt - now) / 3_600_000);
}

/** Runs `alerts.check`. */
export async function alertsCheckJob(
  _job: Job<JobDataOf<'alerts.check'>>,
  deps: AlertsCheckDeps,
): Promise<JobResult> {
  const { config } = deps;
  const settings = config.file.alerts;
  const now = deps.now?.() ?? Date.now();
  const timing: AlertTiming = {
    quietPeriodMs: settings.quietPeriod,
    renotifyAfterMs: settings.renotifyAfter,
  };

  // 1. Which checks are due (each at most once per its interval, across every worker).
  const due = new Set<AlertCheckName>();
  const evaluated = new Set<AlertCheckName>();
  const tick = config.alertsCheckMs;
  for (const [name, check] of Object.entries(settings.checks) as [
    AlertCheckName,
    { enabled: boolean; interval?: number },
  ][]) {
    if (!settings.enabled) continue;
    if (!check.enabled) {
      // Switched off: what it raised resolves (after the quiet period) instead of staying open forever.
      evaluated.add(name);
      continue;
    }
    const every = Math.max(check.interval ?? tick, tick);
    if (await deps.alerts.claimCheckRun(name, every - tick / 2)) due.add(name);
  }

  // 2. Read the world for the due checks; a check whose inputs cannot be read is not evaluated.
  const problems: string[] = [];
  const observations: Observation[] = [];
  const gather = async (checks: readonly AlertCheckName[], read: () => Promise<Observation[]>) => {
    const wanted = checks.filter((c) => due.has(c));
    if (wanted.length === 0) return;
    try {
      observations.push(...(await read()).filter((o) => (wanted as readonly string[]).includes(o.key.check)));
      for (const c of wanted) evaluated.add(c);
    } catch (error) {
      problems.push(`${wanted.join(', ')}: ${(error as Error).message}`);
    }
  };
  await gather(RDS_CHECKS, async () =>
    (await readDatabases(deps, now)).flatMap((input) => evaluateDatabase(input, settings.checks)),
  );
  await gather(ENV_CHECKS, async () =>
    (await readEnvironments(deps)).flatMap((input) => evaluateEnvironment(input, settings.checks, now)),
  );
  await gather(['failedJobs'], async () => {
    const failed = await readFailedJobs(deps, now - settings.checks.failedJobs.window);
    const found = failedJobsRule(failed, settings.checks.failedJobs, now);
    return found ? [found] : [];
  });
  await gather(['temporaryRestores'], async () =>
    temporaryRestoresRule(await readTemporaryInstances(deps), config.file.restore.temporaryMaxAge, now),
  );

  // 3. Step every alert that was observed or is known, atomically, then bring Slack in line.
  const observed = new Map<string, Observation>();
  const unroutable = new Set<string>();
  for (const obs of observations) {
    const route = routeFor(config.file, obs.key, { source: 'scheduled' });
    if (!route.channel) {
      problems.push(`${alertIdFor(obs.key)}: no channel to post to (set alerts.default.channel)`);
      unroutable.add(alertIdFor(obs.key));
      continue;
    }
    observed.set(alertIdFor(obs.key), route.severity ? { ...obs, severity: route.severity } : obs);
  }
  const ids = new Set([...observed.keys(), ...(await deps.alerts.list()).map((a) => a.state.id)]);
  const tally = { opened: 0, resolved: 0, active: 0 };
  for (const id of ids) {
    if (unroutable.has(id)) continue;
    try {
      await checkAlert(deps, id, observed.get(id), evaluated, now, timing, tally);
    } catch (error) {
      problems.push(`${id}: ${(error as Error).message}`);
    }
  }
  const checked = [...due].filter((c) => evaluated.has(c)).join(', ') || 'none due';
  const trouble =
    problems.length > 0 ? `; ${problems.length} problem(s): ${problems.slice(0, 3).join('; ')}` : '';
  return {
    outcome: 'done',
    summary: `checks: ${checked}; ${tally.opened} opened, ${tally.resolved} resolved, ${tally.active} active${trouble}`,
    ...(tally.opened === 0 && tally.resolved === 0 && problems.length === 0 ? { quiet: true } : {}),
  };
}

async function checkAlert(
  deps: AlertsCheckDeps,
  id: string,
  obs: Observation | undefined,
  evaluated: ReadonlySet<AlertCheckName>,
  now: number,
  timing: AlertTiming,
  tally: { opened: number; resolved: number; active: number },
): Promise<void> {
  const result = await deps.alerts.update<Notice>(id, (current) => {
    const check = obs?.key.check ?? current?.key.check;
    const scheduled = check !== undefined && isScheduledCheck(check);
    const own = obs ?? (scheduled && evaluated.has(check) ? undefined : 'not-evaluated');
    // Signals AWS sent hold their alerts open, or let them resolve after the quiet period.
    const input = externalInput(current, own, scheduled);
    const route = obs ? routeFor(deps.config.file, obs.key, { source: 'scheduled' }) : undefined;
    const s = step(current, input, now, timing, route ? { ...pick(route) } : current?.route);
    return { next: s.changed ? s.next : 'unchanged', result: s.notice };
  });
  const notice = result.result;
  const state = result.stored?.state;
  if (!state) return;
  if (state.phase === 'open' && result.before?.phase !== 'open' && result.before?.phase !== 'clearing')
    tally.opened += 1;
  if (state.phase === 'resolved' && result.before?.phase === 'clearing') tally.resolved += 1;
  if (isActive(state)) tally.active += 1;

  await deliver(deps, id, now);
  if (notice?.kind === 'renotify' && state.message) {
    await deps.notifier.post({
      channel: state.message.channel,
      threadTs: state.message.ts,
      ...renderRenotify(state, notice.reason, now),
    });
  }
}

function pick(route: { channel?: string; oncall?: string }): AlertState['route'] {
  return {
    ...(route.channel ? { channel: route.channel } : {}),
    ...(route.oncall ? { oncall: route.oncall } : {}),
  };
}

/**
 * Makes the alert's Slack message show its state: posts it once (only the worker holding the claim
 * does), then updates it whenever the stored version is newer than the one it shows.
 */
export async function deliver(
  deps: Pick<AlertsCheckDeps, 'alerts' | 'notifier'> & Partial<Pick<AlertsCheckDeps, 'homes' | 'config'>>,
  id: string,
  now: number,
): Promise<void> {
  await deliverMessage(deps, id, now);
  // The Home tabs that show it, when what they show of it changed.
  const { homes, config } = deps;
  const stored = homes && config ? await deps.alerts.get(id) : undefined;
  if (homes && config && stored) await refreshForAlert(homes, config.file, stored.state);
}

async function deliverMessage(
  deps: Pick<AlertsCheckDeps, 'alerts' | 'notifier'>,
  id: string,
  now: number,
): Promise<void> {
  let stored = await deps.alerts.get(id);
  if (!stored) return;
  const channel = stored.state.route.channel;
  if (isActive(stored.state) && !stored.state.message && channel) {
    const token = randomUUID();
    const claim = await deps.alerts.update(id, (current) => ({
      next: claimPosting(current, token, now, POST_LEASE_MS) ?? 'unchanged',
      result: undefined,
    }));
    if (!claim.written || !claim.stored) return; // someone else is posting it
    const posted = claim.stored.state;
    const { ts } = await deps.notifier.post({ channel, ...renderAlert(posted, now) });
    const recorded = await deps.alerts.update(id, (current) => ({
      next: recordMessage(current, { channel, ts }) ?? 'unchanged',
      result: undefined,
    }));
    if (recorded.written && recorded.stored && sameContent(recorded.before, posted)) {
      // Nothing changed while posting: the message shows this version already.
      await deps.alerts.markSynced(id, recorded.stored.version);
    }
    stored = await deps.alerts.get(id);
    if (!stored) return;
  }
  const { state, version, syncedVersion } = stored;
  if (state.message && version > syncedVersion) {
    await deps.notifier.update({
      channel: state.message.channel,
      ts: state.message.ts,
      ...renderAlert(state, now),
    });
    await deps.alerts.markSynced(id, version);
  }
}

function sameContent(a: AlertState | undefined, b: AlertState): boolean {
  if (!a) return false;
  const { posting: _a, message: _am, ...restA } = a;
  const { posting: _b, message: _bm, ...restB } = b;
  return JSON.stringify(restA) === JSON.stringify(restB);
}

// ── Reading the world ───────────────────────────────────────────────────────────────────────────

/** Where AWS is reached for `config` (a resource's own region or role first). */
export function placementFor(config: Config, own: { region?: string; roleArn?: string } = {}): AwsPlacement {
  const region = own.region ?? config.file.aws.region ?? config.aws.region;
  if (!region) throw new Error('no AWS region is configured (aws.region in the config file, or AWS_REGION)');
  const roleArn = own.roleArn ?? config.file.aws.roleArn;
  return roleArn ? { region, roleArn } : { region };
}

/** The DB instances alerts watch: those under `databases`, and `alerts.databases`. */
function watchedDatabases(config: Config): Array<{ id: string; placement: AwsPlacement }> {
  const ids = new Set([...Object.keys(config.file.databases), ...config.file.alerts.databases]);
  return [...ids].map((id) => ({ id, placement: placementFor(config, config.file.databases[id]) }));
}

function byPlacement<T extends { placement: AwsPlacement }>(items: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = `${item.placement.roleArn ?? ''}|${item.placement.region}`;
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  return groups;
}

async function readDatabases(deps: AlertsCheckDeps, now: number): Promise<DatabaseInput[]> {
  const inputs: DatabaseInput[] = [];
  for (const dbs of byPlacement(watchedDatabases(deps.config)).values()) {
    const placement = (dbs[0] as { placement: AwsPlacement }).placement;
    const { rds, cloudWatch } = deps.aws.clients(placement);
    const queries: MetricQuery[] = dbs.flatMap(({ id }) => [
      // RDS publishes these every minute (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-metrics.html).
      metric(`${id}|BurstBalance`, 'BurstBalance', id, 'Minimum'),
      metric(`${id}|ReplicaLag`, 'ReplicaLag', id, 'Maximum'),
    ]);
    const series = await getMetricSeries(cloudWatch, queries, {
      start: new Date(now - METRIC_LOOKBACK_MS),
      end: new Date(now + 60_000),
    });
    for (const { id } of dbs) {
      const db = await describeDbInstance(rds, id);
      const burst = series.get(`${id}|BurstBalance`) ?? [];
      const burstBalance = latestValue(burst);
      const projected = burstBalance !== undefined ? projectEmptyInHours(burst, now) : undefined;
      const replicaLag = latestValue(series.get(`${id}|ReplicaLag`));
      inputs.push({
        dbInstance: id,
        status: db?.status,
        ...(burstBalance !== undefined ? { burstBalance } : {}),
        ...(projected !== undefined ? { projectedEmptyInHours: projected } : {}),
        ...(replicaLag !== undefined ? { replicaLagSeconds: replicaLag } : {}),
      });
    }
  }
  return inputs;
}

function metric(key: string, metricName: string, id: string, stat: string): MetricQuery {
  return {
    key,
    namespace: 'AWS/RDS',
    metricName,
    dimensions: { DBInstanceIdentifier: id },
    stat,
    periodSeconds: 60,
  };
}

async function readEnvironments(deps: AlertsCheckDeps): Promise<EnvironmentInput[]> {
  const { config } = deps;
  const found = new Map<string, { env: string; group: Group; region: string }>();
  for (const placement of allPlacements(config)) {
    for (const group of await findGroupsByTag(deps.aws.clients(placement).autoScaling, TAG.env)) {
      const env = group.tags[TAG.env] ?? group.name;
      found.set(env, { env, group, region: placement.region });
    }
  }
  // Declared environments (e.g. prod) need not carry Capstan's tag.
  for (const name of Object.keys(config.file.environments)) {
    if (found.has(name)) continue;
    const ref = resolveEnvironment(config, name);
    const group = await describeGroup(deps.aws.clients(ref.placement).autoScaling, ref.groupName);
    if (group) found.set(name, { env: name, group, region: ref.placement.region });
  }
  const records = standbyRecordsOf(deps);
  const inputs: EnvironmentInput[] = [];
  for (const { env, group, region } of found.values()) {
    // A group being deleted is going away on purpose.
    if (group.status) continue;
    const notes = standbyNotes(group, await records.read(region, group.name));
    const expiresAt = Date.parse(group.tags[TAG.expiresAt] ?? '');
    inputs.push({
      env,
      desired: group.desired,
      instances: group.instances.map((i) => {
        const since = Date.parse(notes.get(i.id)?.since ?? '');
        return {
          id: i.id,
          lifecycle: i.lifecycle,
          health: i.health,
          ...(i.lifecycle === 'Standby' && !Number.isNaN(since) ? { standbySince: since } : {}),
        };
      }),
      ...(Number.isNaN(expiresAt) ? {} : { expiresAt }),
    });
  }
  return inputs;
}

async function readFailedJobs(deps: AlertsCheckDeps, since: number): Promise<FailedJobInput[]> {
  const jobs = await deps.producer.queue.getJobs(['failed'], 0, 499);
  return jobs
    .filter((j) => j && (j.finishedOn ?? 0) >= since)
    .map((j) => ({
      id: String(j.id),
      name: j.name,
      failedAt: j.finishedOn ?? 0,
      reason: j.failedReason ?? 'unknown',
    }));
}

async function readTemporaryInstances(deps: AlertsCheckDeps): Promise<TemporaryInstanceInput[]> {
  const { config } = deps;
  const placements = byPlacement([
    ...watchedDatabases(config),
    ...(config.file.aws.region || config.aws.region ? [{ placement: placementFor(config) }] : []),
  ]);
  const found: TemporaryInstanceInput[] = [];
  for (const [first] of placements.values()) {
    if (!first) continue;
    for (const db of await listDbInstances(deps.aws.clients(first.placement).rds)) {
      if (db.tags['capstan:temporary'] !== 'true') continue;
      found.push({
        id: db.id,
        status: db.status,
        ...(db.createdAt ? { createdAt: db.createdAt.getTime() } : {}),
        ...(db.tags['capstan:job'] ? { job: db.tags['capstan:job'] } : {}),
      });
    }
  }
  return found;
}
