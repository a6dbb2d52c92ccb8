/**
 * Alert rules (pure): each check's condition, evaluated from plain inputs the `alerts.check` job
 * gathered (CloudWatch values, instance states, job lists) and the configured thresholds. A rule
 * returns what is wrong right now; whether that opens, repeats or resolves an alert is the state
 * machine's business (state.ts).
 */
import type { AlertCheckName, AlertsConfig, SignalCheckName } from '../../config.js';

/** How bad it is. Critical alerts mention the on-call group and are re-notified until acknowledged. */
export type Severity = 'warning' | 'critical';

/**
 * One alert per (check, resource). Resources read `db:orders-db`, `env:prod`, `capstan:jobs`, and for
 * signals AWS sends, `alarm:<name>`, `asg:<group>`, `event:<source>:<resource>`.
 */
export interface AlertKey {
  check: AlertCheckName | SignalCheckName;
  resource: string;
}

/** A condition a check found, as of one evaluation. */
export interface Observation {
  key: AlertKey;
  severity: Severity;
  /** The current value, for people: `12.5%`, `1/3 InService`. */
  value: string;
  /** One line on what is wrong. */
  summary: string;
  /**
   * The condition must hold this long before the alert opens (a grace period); the state machine
   * keeps when it was first seen. Absent: the alert opens at once.
   */
  holdForMs?: number;
  /** Burst alerts: the DB instance Investigate runs `/rds io-credits` on. */
  investigate?: { dbInstance: string };
}

/** The thresholds of every check (the `alerts.checks` section). */
export type CheckSettings = AlertsConfig['checks'];

/** Resource names. */
export const resourceOf = {
  database: (id: string) => `db:${id}`,
  environment: (name: string) => `env:${name}`,
  jobs: 'capstan:jobs',
} as const;

// ── RDS ───────────────────────────────────────────────────────────────────────────────────────

/** What the job knows about one DB instance. */
export interface DatabaseInput {
  dbInstance: string;
  /** `DBInstanceStatus`; undefined when DescribeDBInstances does not find the instance. */
  status: string | undefined;
  /** The latest `BurstBalance` (percent); absent when the metric has no data (gp3, io1, io2 storage). */
  burstBalance?: number;
  /**
   * Hours until the burst balance reaches zero at the current rate (the io-credits forecast,
   * `src/domain/io-credits.ts`); absent when not draining or not forecast.
   */
  projectedEmptyInHours?: number;
  /** The latest `ReplicaLag` (seconds); absent for instances that are not read replicas. */
  replicaLagSeconds?: number;
}

const formatPercent = (v: number) => `${v.toFixed(v < 10 ? 1 : 0)}%`;

/**
 * `BurstBalance` below `warn` / `critical` percent, or projected to reach zero within
 * `projectedEmptyHours`. Below 0 credits gp2 volumes fall back to their baseline of 3 IOPS/GiB
 * (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Storage.html#Concepts.Storage.GeneralSSD).
 */
export function burstBalanceRule(
  input: DatabaseInput,
  settings: CheckSettings['burstBalance'],
): Observation | undefined {
  const { burstBalance: value, projectedEmptyInHours: hours } = input;
  if (value === undefined) return undefined;
  const projected = hours !== undefined && hours <= settings.projectedEmptyHours;
  let severity: Severity | undefined;
  if (value < settings.critical) severity = 'critical';
  else if (value < settings.warn || projected) severity = 'warning';
  if (!severity) return undefined;
  const forecast = hours !== undefined ? `, empty in ~${formatHours(hours)} at the current rate` : '';
  const why =
    value < settings.warn
      ? `below ${severity === 'critical' ? settings.critical : settings.warn}%`
      : `projected to reach zero within ${settings.projectedEmptyHours} h`;
  return {
    key: { check: 'burstBalance', resource: resourceOf.database(input.dbInstance) },
    severity,
    value: `${formatPercent(value)}${forecast}`,
    summary: `BurstBalance of \`${input.dbInstance}\` is ${formatPercent(value)} (${why})`,
    investigate: { dbInstance: input.dbInstance },
  };
}

/** Statuses that need a person now, not after a grace period (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/accessing-monitoring.html#Overview.DBInstance.Status). */
const CRITICAL_STATUSES = new Set([
  'failed',
  'storage-full',
  'inaccessible-encryption-credentials',
  'inaccessible-encryption-credentials-recoverable',
  'incompatible-network',
  'incompatible-option-group',
  'incompatible-parameters',
  'incompatible-restore',
  'insufficient-capacity',
  'restore-error',
  'not found',
]);

/** Instance status other than `available`: critical ones at once, the rest after `grace`. */
export function rdsStatusRule(
  input: DatabaseInput,
  settings: CheckSettings['rdsStatus'],
): Observation | undefined {
  const status = input.status ?? 'not found';
  if (status === 'available') return undefined;
  const critical = CRITICAL_STATUSES.has(status);
  return {
    key: { check: 'rdsStatus', resource: resourceOf.database(input.dbInstance) },
    severity: critical ? 'critical' : 'warning',
    value: status,
    summary:
      input.status === undefined
        ? `DB instance \`${input.dbInstance}\` was not found`
        : `DB instance \`${input.dbInstance}\` is \`${status}\`, not \`available\``,
    ...(critical || settings.grace === 0 ? {} : { holdForMs: settings.grace }),
  };
}

/** `ReplicaLag` of a read replica above the thresholds. */
export function replicaLagRule(
  input: DatabaseInput,
  settings: CheckSettings['replicaLag'],
): Observation | undefined {
  const lag = input.replicaLagSeconds;
  if (lag === undefined || lag <= settings.warnSeconds) return undefined;
  const severity: Severity = lag > settings.criticalSeconds ? 'critical' : 'warning';
  const limit = severity === 'critical' ? settings.criticalSeconds : settings.warnSeconds;
  return {
    key: { check: 'replicaLag', resource: resourceOf.database(input.dbInstance) },
    severity,
    value: `${Math.round(lag)} s`,
    summary: `Replica \`${input.dbInstance}\` lags ${Math.round(lag)} s behind its source (above ${limit} s)`,
  };
}

// ── Environments ──────────────────────────────────────────────────────────────────────────────

/** One instance of an environment's Auto Scaling group. */
export interface EnvironmentInstanceInput {
  id: string;
  /** Auto Scaling lifecycle state: InService, Pending, Standby, Terminating … */
  lifecycle: string;
  /** Auto Scaling health status: Healthy or Unhealthy. */
  health: string;
  /** When Capstan put it in Standby (`/lb disable` records it on the group); absent when unknown. */
  standbySince?: number;
}

/** What the job knows about one environment. */
export interface EnvironmentInput {
  env: string;
  desired: number;
  instances: EnvironmentInstanceInput[];
  /** The expiry tag (epoch ms); absent for environments that do not expire. */
  expiresAt?: number;
}

const GONE = new Set(['Terminating', 'Terminating:Wait', 'Terminating:Proceed', 'Terminated']);

/** Fewer InService instances than desired, for longer than `grace` (none in service: critical). */
export function inServiceRule(
  input: EnvironmentInput,
  settings: CheckSettings['inService'],
): Observation | undefined {
  const inService = input.instances.filter((i) => i.lifecycle === 'InService').length;
  if (inService >= input.desired) return undefined;
  return {
    key: { check: 'inService', resource: resourceOf.environment(input.env) },
    severity: inService === 0 ? 'critical' : 'warning',
    value: `${inService}/${input.desired} InService`,
    summary: `Environment \`${input.env}\` has ${inService} of ${input.desired} desired instance(s) InService`,
    ...(settings.grace > 0 ? { holdForMs: settings.grace } : {}),
  };
}

/** Instances Auto Scaling reports Unhealthy (every in-service one unhealthy: critical). */
export function unhealthyRule(
  input: EnvironmentInput,
  settings: CheckSettings['unhealthy'],
): Observation | undefined {
  const live = input.instances.filter((i) => !GONE.has(i.lifecycle));
  const unhealthy = live.filter((i) => i.health === 'Unhealthy');
  if (unhealthy.length === 0) return undefined;
  const healthyInService = live.filter((i) => i.lifecycle === 'InService' && i.health !== 'Unhealthy');
  return {
    key: { check: 'unhealthy', resource: resourceOf.environment(input.env) },
    severity: healthyInService.length === 0 ? 'critical' : 'warning',
    value: `${unhealthy.length} unhealthy`,
    summary: `Environment \`${input.env}\`: ${unhealthy.map((i) => `\`${i.id}\``).join(', ')} unhealthy`,
    ...(settings.grace > 0 ? { holdForMs: settings.grace } : {}),
  };
}

/**
 * Instances in Standby longer than `maxAge`. Capstan's own `/lb disable` notes say since when;
 * for instances put in Standby some other way the state machine counts from when it first saw them.
 */
export function standbyRule(
  input: EnvironmentInput,
  settings: CheckSettings['standby'],
  now: number,
): Observation | undefined {
  const standby = input.instances.filter((i) => i.lifecycle === 'Standby');
  if (standby.length === 0) return undefined;
  const overdue = standby.filter(
    (i) => i.standbySince !== undefined && now - i.standbySince >= settings.maxAge,
  );
  const unknown = standby.filter((i) => i.standbySince === undefined);
  if (overdue.length === 0 && unknown.length === 0) return undefined;
  const listed = overdue.length > 0 ? overdue : unknown;
  const oldest = Math.min(...overdue.map((i) => i.standbySince as number));
  return {
    key: { check: 'standby', resource: resourceOf.environment(input.env) },
    severity: 'warning',
    value: `${listed.length} in Standby`,
    summary: `Environment \`${input.env}\`: ${listed.map((i) => `\`${i.id}\``).join(', ')} in Standby${
      overdue.length > 0 ? ` for ${formatDuration(now - oldest)}` : ''
    } (longer than ${formatDuration(settings.maxAge)}; \`/lb enable ${input.env}\` puts them back)`,
    ...(overdue.length === 0 ? { holdForMs: settings.maxAge } : {}),
  };
}

/** Environments that expire within `within` (they are deleted when they do). */
export function expiryRule(
  input: EnvironmentInput,
  settings: CheckSettings['expiry'],
  now: number,
): Observation | undefined {
  const at = input.expiresAt;
  if (at === undefined || at <= now || at - now > settings.within) return undefined;
  return {
    key: { check: 'expiry', resource: resourceOf.environment(input.env) },
    severity: 'warning',
    value: `expires in ${formatDuration(at - now)}`,
    summary: `Environment \`${input.env}\` expires at ${new Date(at).toISOString()} and will then be deleted (\`/env extend ${input.env}\` keeps it)`,
  };
}

// ── Capstan itself ────────────────────────────────────────────────────────────────────────────

/** A job in BullMQ's failed set. */
export interface FailedJobInput {
  id: string;
  name: string;
  /** When it failed for the last time (epoch ms). */
  failedAt: number;
  reason: string;
}

/** Jobs that failed within `window`: one alert for all of them. */
export function failedJobsRule(
  failed: readonly FailedJobInput[],
  settings: CheckSettings['failedJobs'],
  now: number,
): Observation | undefined {
  const recent = failed
    .filter((j) => now - j.failedAt <= settings.window)
    .sort((a, b) => b.failedAt - a.failedAt);
  if (recent.length === 0) return undefined;
  const shown = recent
    .slice(0, 5)
    .map((j) => `\`${j.id}\` ${j.name}: ${j.reason.split('\n')[0]?.slice(0, 120) ?? ''}`);
  const more = recent.length > shown.length ? ` and ${recent.length - shown.length} more` : '';
  return {
    key: { check: 'failedJobs', resource: resourceOf.jobs },
    severity: 'warning',
    value: `${recent.length} failed`,
    summary: `${recent.length} job(s) failed in the last ${formatDuration(settings.window)}: ${shown.join('; ')}${more}`,
  };
}

/** A DB instance tagged `capstan:temporary=true` (made by a table restore). */
export interface TemporaryInstanceInput {
  id: string;
  status: string;
  createdAt?: number;
  /** The job that made it (`capstan:job`). */
  job?: string;
}

/** Temporary restore instances older than `maxAgeMs` (the janitor's age), one alert each. */
export function temporaryRestoresRule(
  instances: readonly TemporaryInstanceInput[],
  maxAgeMs: number,
  now: number,
): Observation[] {
  return instances
    .filter((i) => i.status !== 'deleting' && i.createdAt !== undefined && now - i.createdAt > maxAgeMs)
    .map((i) => ({
      key: { check: 'temporaryRestores', resource: resourceOf.database(i.id) },
      severity: 'warning' as const,
      value: `${formatDuration(now - (i.createdAt as number))} old`,
      summary: `Temporary restore instance \`${i.id}\`${i.job ? ` (job \`${i.job}\`)` : ''} is ${formatDuration(
        now - (i.createdAt as number),
      )} old, older than ${formatDuration(maxAgeMs)}: the janitor could not delete it`,
    }));
}

// ── Together ──────────────────────────────────────────────────────────────────────────────────

/** Every enabled database check for one instance. */
export function evaluateDatabase(input: DatabaseInput, checks: CheckSettings): Observation[] {
  return [
    checks.burstBalance.enabled ? burstBalanceRule(input, checks.burstBalance) : undefined,
    checks.rdsStatus.enabled ? rdsStatusRule(input, checks.rdsStatus) : undefined,
    checks.replicaLag.enabled ? replicaLagRule(input, checks.replicaLag) : undefined,
  ].filter((o): o is Observation => o !== undefined);
}

/** Every enabled environment check for one environment. */
export function evaluateEnvironment(
  input: EnvironmentInput,
  checks: CheckSettings,
  now: number,
): Observation[] {
  return [
    checks.inService.enabled ? inServiceRule(input, checks.inService) : undefined,
    checks.unhealthy.enabled ? unhealthyRule(input, checks.unhealthy) : undefined,
    checks.standby.enabled ? standbyRule(input, checks.standby, now) : undefined,
    checks.expiry.enabled ? expiryRule(input, checks.expiry, now) : undefined,
  ].filter((o): o is Observation => o !== undefined);
}

/** `90 s`, `25 min`, `3 h 20 min`, `2 d 4 h`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 ? `${d} d` : `${d} d ${h % 24} h`;
}

function formatHours(hours: number): string {
  return formatDuration(hours * 3_600_000);
}
