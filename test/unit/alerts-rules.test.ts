import { describe, expect, it } from 'vitest';
import { projectEmptyInHours } from '../../jobs/alerts-check.js';
import { configFileSchema } from '../../src/config.js';
import {
  burstBalanceRule,
  type DatabaseInput,
  type EnvironmentInput,
  evaluateDatabase,
  evaluateEnvironment,
  expiryRule,
  failedJobsRule,
  formatDuration,
  inServiceRule,
  rdsStatusRule,
  replicaLagRule,
  standbyRule,
  temporaryRestoresRule,
  unhealthyRule,
} from '../../src/domain/alerts/rules.js';

const checks = configFileSchema.parse({ alerts: {} }).alerts.checks;
const NOW = Date.parse('2026-11-22T12:00:00Z');
const H = 3_600_000;

const db = (over: Partial<DatabaseInput> = {}): DatabaseInput => ({
  dbInstance: 'orders-db',
  status: 'available',
  ...over,
});

const env = (over: Partial<EnvironmentInput> = {}): EnvironmentInput => ({
  env: 'prod',
  desired: 3,
  instances: ['a', 'b', 'c'].map((x) => ({ id: `i-${x}`, lifecycle: 'InService', health: 'Healthy' })),
  ...over,
});

describe('BurstBalance', () => {
  it('is fine at or above warn, and without data (gp3 has no burst balance)', () => {
    expect(burstBalanceRule(db({ burstBalance: 30 }), checks.burstBalance)).toBeUndefined();
    expect(burstBalanceRule(db({ burstBalance: 99 }), checks.burstBalance)).toBeUndefined();
    expect(burstBalanceRule(db(), checks.burstBalance)).toBeUndefined();
  });

  it('warns below 30% and is critical below 10%, naming the instance for Investigate', () => {
    const warn = burstBalanceRule(db({ burstBalance: 29.5 }), checks.burstBalance);
    expect(warn).toMatchObject({
      key: { check: 'burstBalance', resource: 'db:orders-db' },
      severity: 'warning',
      value: '30%',
      investigate: { dbInstance: 'orders-db' },
    });
    expect(warn?.summary).toContain('below 30%');
    const critical = burstBalanceRule(db({ burstBalance: 9.94 }), checks.burstBalance);
    expect(critical).toMatchObject({ severity: 'critical', value: '9.9%' });
    expect(critical?.summary).toContain('below 10%');
    expect(burstBalanceRule(db({ burstBalance: 10 }), checks.burstBalance)?.severity).toBe('warning');
    expect(burstBalanceRule(db({ burstBalance: 0 }), checks.burstBalance)?.severity).toBe('critical');
  });

  it('warns when the forecast says it empties within the configured hours, even while high', () => {
    const soon = burstBalanceRule(db({ burstBalance: 80, projectedEmptyInHours: 2 }), checks.burstBalance);
    expect(soon).toMatchObject({ severity: 'warning' });
    expect(soon?.value).toBe('80%, empty in ~2 h at the current rate');
    expect(soon?.summary).toContain('projected to reach zero within 6 h');
    expect(
      burstBalanceRule(db({ burstBalance: 80, projectedEmptyInHours: 6 }), checks.burstBalance),
    ).toBeDefined();
    expect(
      burstBalanceRule(db({ burstBalance: 80, projectedEmptyInHours: 7 }), checks.burstBalance),
    ).toBeUndefined();
    // Critical by level stays critical with a forecast.
    expect(
      burstBalanceRule(db({ burstBalance: 5, projectedEmptyInHours: 1 }), checks.burstBalance)?.severity,
    ).toBe('critical');
  });

  it('follows configured thresholds', () => {
    const strict = { ...checks.burstBalance, warn: 50, critical: 25 };
    expect(burstBalanceRule(db({ burstBalance: 45 }), strict)?.severity).toBe('warning');
    expect(burstBalanceRule(db({ burstBalance: 20 }), strict)?.severity).toBe('critical');
  });
});

describe('RDS status', () => {
  it('is fine when available', () => {
    expect(rdsStatusRule(db(), checks.rdsStatus)).toBeUndefined();
  });

  it('warns after the grace period for routine states, at once for failures and a missing instance', () => {
    expect(rdsStatusRule(db({ status: 'modifying' }), checks.rdsStatus)).toMatchObject({
      key: { check: 'rdsStatus', resource: 'db:orders-db' },
      severity: 'warning',
      value: 'modifying',
      holdForMs: 10 * 60_000,
    });
    const full = rdsStatusRule(db({ status: 'storage-full' }), checks.rdsStatus);
    expect(full).toMatchObject({ severity: 'critical', value: 'storage-full' });
    expect(full?.holdForMs).toBeUndefined();
    const gone = rdsStatusRule(db({ status: undefined }), checks.rdsStatus);
    expect(gone).toMatchObject({ severity: 'critical', value: 'not found' });
    expect(gone?.summary).toContain('was not found');
    expect(
      rdsStatusRule(db({ status: 'stopped' }), { ...checks.rdsStatus, grace: 0 })?.holdForMs,
    ).toBeUndefined();
  });
});

describe('ReplicaLag', () => {
  it('ignores instances that are not replicas and lag within the threshold', () => {
    expect(replicaLagRule(db(), checks.replicaLag)).toBeUndefined();
    expect(replicaLagRule(db({ replicaLagSeconds: 300 }), checks.replicaLag)).toBeUndefined();
  });

  it('warns above warnSeconds and is critical above criticalSeconds', () => {
    expect(replicaLagRule(db({ replicaLagSeconds: 301 }), checks.replicaLag)).toMatchObject({
      key: { check: 'replicaLag', resource: 'db:orders-db' },
      severity: 'warning',
      value: '301 s',
    });
    expect(replicaLagRule(db({ replicaLagSeconds: 1801 }), checks.replicaLag)?.severity).toBe('critical');
  });
});

describe('environments', () => {
  it('InService below desired waits for the grace period; none in service is critical', () => {
    expect(inServiceRule(env(), checks.inService)).toBeUndefined();
    const short = env({
      instances: [
        { id: 'i-a', lifecycle: 'InService', health: 'Healthy' },
        { id: 'i-b', lifecycle: 'Pending', health: 'Healthy' },
      ],
    });
    expect(inServiceRule(short, checks.inService)).toMatchObject({
      key: { check: 'inService', resource: 'env:prod' },
      severity: 'warning',
      value: '1/3 InService',
      holdForMs: 10 * 60_000,
    });
    expect(inServiceRule(env({ instances: [] }), checks.inService)?.severity).toBe('critical');
    // More than desired is not a problem.
    expect(inServiceRule(env({ desired: 2 }), checks.inService)).toBeUndefined();
    expect(inServiceRule(short, { ...checks.inService, grace: 0 })?.holdForMs).toBeUndefined();
  });

  it('unhealthy instances: warning, critical when no healthy one is in service; terminating ones do not count', () => {
    const one = env({
      instances: [
        { id: 'i-a', lifecycle: 'InService', health: 'Unhealthy' },
        { id: 'i-b', lifecycle: 'InService', health: 'Healthy' },
      ],
    });
    expect(unhealthyRule(one, checks.unhealthy)).toMatchObject({
      key: { check: 'unhealthy', resource: 'env:prod' },
      severity: 'warning',
      value: '1 unhealthy',
      holdForMs: 5 * 60_000,
    });
    const all = env({ instances: [{ id: 'i-a', lifecycle: 'InService', health: 'Unhealthy' }] });
    expect(unhealthyRule(all, checks.unhealthy)?.severity).toBe('critical');
    const leaving = env({ instances: [{ id: 'i-a', lifecycle: 'Terminating', health: 'Unhealthy' }] });
    expect(unhealthyRule(leaving, checks.unhealthy)).toBeUndefined();
  });

  it('Standby longer than maxAge: at once when Capstan recorded since when, after maxAge otherwise', () => {
    const since = (ago: number) => NOW - ago;
    const recent = env({
      instances: [{ id: 'i-a', lifecycle: 'Standby', health: 'Healthy', standbySince: since(H) }],
    });
    expect(standbyRule(recent, checks.standby, NOW)).toBeUndefined();
    const old = env({
      instances: [
        { id: 'i-a', lifecycle: 'Standby', health: 'Healthy', standbySince: since(5 * H) },
        { id: 'i-b', lifecycle: 'Standby', health: 'Healthy', standbySince: since(H) },
      ],
    });
    const found = standbyRule(old, checks.standby, NOW);
    expect(found).toMatchObject({
      key: { check: 'standby', resource: 'env:prod' },
      severity: 'warning',
      value: '1 in Standby',
    });
    expect(found?.summary).toContain(
      '`i-a` in Standby for 5 h (longer than 4 h; `/lb enable prod` puts them back)',
    );
    expect(found?.holdForMs).toBeUndefined();
    const unknown = env({ instances: [{ id: 'i-a', lifecycle: 'Standby', health: 'Healthy' }] });
    expect(standbyRule(unknown, checks.standby, NOW)).toMatchObject({ holdForMs: 4 * H });
    expect(standbyRule(env(), checks.standby, NOW)).toBeUndefined();
  });

  it('expiring within the window warns; later or already expired does not', () => {
    expect(expiryRule(env({ expiresAt: NOW + H }), checks.expiry, NOW)).toMatchObject({
      key: { check: 'expiry', resource: 'env:prod' },
      severity: 'warning',
      value: 'expires in 60 min',
    });
    expect(expiryRule(env({ expiresAt: NOW + 3 * H }), checks.expiry, NOW)).toBeUndefined();
    expect(expiryRule(env({ expiresAt: NOW - 1 }), checks.expiry, NOW)).toBeUndefined();
    expect(expiryRule(env(), checks.expiry, NOW)).toBeUndefined();
  });

  it('evaluates only enabled checks', () => {
    const broken = env({
      instances: [{ id: 'i-a', lifecycle: 'InService', health: 'Unhealthy' }],
      expiresAt: NOW + H,
    });
    expect(
      evaluateEnvironment(broken, checks, NOW)
        .map((o) => o.key.check)
        .sort(),
    ).toEqual(['expiry', 'inService', 'unhealthy']);
    const off = { ...checks, unhealthy: { ...checks.unhealthy, enabled: false } };
    expect(evaluateEnvironment(broken, off, NOW).map((o) => o.key.check)).not.toContain('unhealthy');
    const sick = db({ status: 'failed', burstBalance: 1, replicaLagSeconds: 4000 });
    expect(evaluateDatabase(sick, checks).map((o) => o.key.check)).toEqual([
      'burstBalance',
      'rdsStatus',
      'replicaLag',
    ]);
    expect(
      evaluateDatabase(sick, { ...checks, burstBalance: { ...checks.burstBalance, enabled: false } }).map(
        (o) => o.key.check,
      ),
    ).toEqual(['rdsStatus', 'replicaLag']);
  });
});

describe('Capstan itself', () => {
  it('failed jobs within the window make one alert; older ones do not count', () => {
    const failed = [
      { id: 'j1', name: 'env.create', failedAt: NOW - 10 * 60_000, reason: 'boom\nstack' },
      { id: 'j2', name: 'lb.enable', failedAt: NOW - 5 * 60_000, reason: 'timeout' },
      { id: 'j0', name: 'env.delete', failedAt: NOW - 2 * H, reason: 'old' },
    ];
    const found = failedJobsRule(failed, checks.failedJobs, NOW);
    expect(found).toMatchObject({
      key: { check: 'failedJobs', resource: 'capstan:jobs' },
      severity: 'warning',
      value: '2 failed',
    });
    // Newest first, first line of the reason only.
    expect(found?.summary).toBe(
      '2 job(s) failed in the last 60 min: `j2` lb.enable: timeout; `j1` env.create: boom',
    );
    expect(failedJobsRule([failed[2] as (typeof failed)[number]], checks.failedJobs, NOW)).toBeUndefined();
    expect(failedJobsRule([], checks.failedJobs, NOW)).toBeUndefined();
  });

  it('temporary restore instances older than the janitor’s age, one alert each; deleting ones are fine', () => {
    const found = temporaryRestoresRule(
      [
        { id: 'capstan-restore-a', status: 'available', createdAt: NOW - 30 * H, job: 'j1' },
        { id: 'capstan-restore-b', status: 'available', createdAt: NOW - H },
        { id: 'capstan-restore-c', status: 'deleting', createdAt: NOW - 30 * H },
      ],
      24 * H,
      NOW,
    );
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      key: { check: 'temporaryRestores', resource: 'db:capstan-restore-a' },
      severity: 'warning',
      value: '30 h old',
    });
    expect(found[0]?.summary).toContain('(job `j1`)');
  });
});

describe('formatDuration', () => {
  it('reads like a person would say it', () => {
    expect(formatDuration(45_000)).toBe('45 s');
    expect(formatDuration(25 * 60_000)).toBe('25 min');
    expect(formatDuration(3 * H + 20 * 60_000)).toBe('3 h 20 min');
    expect(formatDuration(4 * H)).toBe('4 h');
    expect(formatDuration(52 * H)).toBe('2 d 4 h');
    expect(formatDuration(-5)).toBe('0 s');
  });
});

describe('projectEmptyInHours', () => {
  const now = Date.UTC(2026, 10, 22, 12);
  const every5min = (from: number, to: number) =>
    Array.from({ length: 13 }, (_, i) => ({
      t: now - (12 - i) * 5 * 60_000,
      v: from + ((to - from) * i) / 12,
    }));

  it('projects a falling balance to zero at its last hour’s rate', () => {
    // 60 % → 50 % over the last hour: 10 %/h, so 5 h from the latest point.
    expect(projectEmptyInHours(every5min(60, 50), now)).toBeCloseTo(5, 5);
  });

  it('has no projection for a steady, rising or empty balance', () => {
    expect(projectEmptyInHours(every5min(80, 80), now)).toBeUndefined();
    expect(projectEmptyInHours(every5min(40, 70), now)).toBeUndefined();
    expect(projectEmptyInHours(every5min(10, 0), now)).toBeUndefined();
    expect(projectEmptyInHours([], now)).toBeUndefined();
  });
});
