import { describe, expect, it } from 'vitest';
import { configFileSchema, parseConfigFile, readConfig } from '../../src/config.js';
import { alertActionRefusal, routeFor } from '../../src/domain/alerts/routing.js';

function parse(yaml: string) {
  const problems: string[] = [];
  const file = parseConfigFile(yaml, 'capstan.yml', problems);
  return { file, problems };
}

describe('alerts config', () => {
  it('is off, with every default, when the section is absent', () => {
    const { alerts } = configFileSchema.parse({});
    expect(alerts.enabled).toBe(false);
    expect(alerts.quietPeriod).toBe(10 * 60_000);
    expect(alerts.renotifyAfter).toBe(30 * 60_000);
    expect(alerts.checks.burstBalance).toMatchObject({
      enabled: true,
      warn: 30,
      critical: 10,
      projectedEmptyHours: 6,
    });
    expect(alerts.checks.replicaLag).toMatchObject({ warnSeconds: 300, criticalSeconds: 1800 });
    expect(alerts.checks.inService.grace).toBe(10 * 60_000);
    expect(alerts.checks.standby.maxAge).toBe(4 * 3_600_000);
    expect(alerts.checks.expiry.within).toBe(2 * 3_600_000);
    expect(alerts.checks.failedJobs.window).toBe(3_600_000);
    expect(alerts.checks.temporaryRestores.enabled).toBe(true);
    expect(alerts.routes).toEqual([]);
  });

  it('is on when the section is present, and reads durations with seconds', () => {
    const { file, problems } = parse(`
alerts:
  quietPeriod: 30s
  renotifyAfter: 2m
  checks:
    burstBalance: { warn: 40, critical: 5, interval: 5m }
    standby: { maxAge: 90m }
    failedJobs: { enabled: false }
`);
    expect(problems).toEqual([]);
    expect(file?.alerts.enabled).toBe(true);
    expect(file?.alerts.quietPeriod).toBe(30_000);
    expect(file?.alerts.renotifyAfter).toBe(120_000);
    expect(file?.alerts.checks.burstBalance).toMatchObject({ warn: 40, critical: 5, interval: 300_000 });
    expect(file?.alerts.checks.standby.maxAge).toBe(90 * 60_000);
    expect(file?.alerts.checks.failedJobs.enabled).toBe(false);
    // Untouched checks keep their defaults.
    expect(file?.alerts.checks.rdsStatus).toMatchObject({ enabled: true, grace: 10 * 60_000 });
  });

  it('can be present and switched off', () => {
    expect(parse('alerts: { enabled: false }').file?.alerts.enabled).toBe(false);
  });

  it('names the line and field of a bad value', () => {
    const { problems } = parse(`
alerts:
  checks:
    burstBalance: { warn: 10, critical: 20 }
  quietPeriod: soon
`);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /capstan\.yml:4:\d+ alerts\.checks\.burstBalance: critical must not be above warn/,
        ),
        expect.stringMatching(/capstan\.yml:5:\d+ alerts\.quietPeriod: a duration such as 30s/),
      ]),
    );
  });

  it('refuses unknown checks, channels that are not ids, and roles that do not exist', () => {
    const { problems } = parse(`
roles:
  dba: { users: [U0DBA] }
alerts:
  checks:
    diskSpace: { enabled: true }
  routes:
    - match: { check: burstBalance }
      channel: dba-alerts
      roles: [dba, nobody]
`);
    expect(problems.join('\n')).toMatch(/alerts\.checks: .*diskSpace/i);
    expect(problems.join('\n')).toMatch(/alerts\.routes\.0\.channel: a Slack channel id/);
    expect(problems.join('\n')).toMatch(/alerts\.routes\.0\.roles\.1: no role named nobody/);
  });

  it('reads the tick from CAPSTAN_ALERTS_CHECK_MS', () => {
    expect(readConfig({}).alertsCheckMs).toBe(60_000);
    expect(readConfig({ CAPSTAN_ALERTS_CHECK_MS: '250' }).alertsCheckMs).toBe(250);
    expect(() => readConfig({ CAPSTAN_ALERTS_CHECK_MS: '0' })).toThrow(/CAPSTAN_ALERTS_CHECK_MS/);
  });
});

describe('alert routing', () => {
  const { file } = parse(`
slack: { notificationsChannel: C0NOTICES }
roles:
  dba: { users: [U0DBA] }
  web: { users: [U0WEB], groups: [S0WEBTEAM] }
  admins: { users: [U0ADMIN] }
alerts:
  routes:
    - match: { check: [burstBalance, replicaLag], database: orders-db }
      channel: C0DBA
      oncall: S0DBAONCALL
      roles: [dba]
    - match: { environment: staging }
      severity: warning
    - match: { check: failedJobs }
      roles: [everyone]
  default: { oncall: S0ONCALL }
`);
  if (!file) throw new Error('config did not parse');

  it('takes the first matching route, then the default, then the notifications channel', () => {
    expect(routeFor(file, { check: 'burstBalance', resource: 'db:orders-db' })).toEqual({
      channel: 'C0DBA',
      oncall: 'S0DBAONCALL',
      roles: ['dba'],
      rule: 'alerts.routes.0',
    });
    // Same database, another check: not the first route.
    expect(routeFor(file, { check: 'rdsStatus', resource: 'db:orders-db' })).toEqual({
      channel: 'C0NOTICES',
      oncall: 'S0ONCALL',
      rule: 'alerts.default',
    });
    expect(routeFor(file, { check: 'inService', resource: 'env:staging' })).toMatchObject({
      channel: 'C0NOTICES',
      severity: 'warning',
      rule: 'alerts.routes.1',
    });
    expect(routeFor(file, { check: 'inService', resource: 'env:prod' }).rule).toBe('alerts.default');
  });

  it('lets members of the route’s roles and admins act, and nobody else', () => {
    const dbaRoute = routeFor(file, { check: 'burstBalance', resource: 'db:orders-db' });
    expect(alertActionRefusal(file, { userId: 'U0DBA', groupIds: [] }, dbaRoute)).toBeUndefined();
    expect(alertActionRefusal(file, { userId: 'U0ADMIN', groupIds: [] }, dbaRoute)).toBeUndefined();
    expect(alertActionRefusal(file, { userId: 'U0WEB', groupIds: [] }, dbaRoute)).toMatch(
      /only the role\(s\) dba may act on this alert \(alerts\.routes\.0\); who can: <@U0DBA>/,
    );
    // Without roles on the route: anyone holding a Capstan role (here by user group).
    const defaultRoute = routeFor(file, { check: 'rdsStatus', resource: 'db:orders-db' });
    expect(
      alertActionRefusal(file, { userId: 'U0OTHER', groupIds: ['S0WEBTEAM'] }, defaultRoute),
    ).toBeUndefined();
    expect(alertActionRefusal(file, { userId: 'U0NOBODY', groupIds: [] }, defaultRoute)).toMatch(
      /Capstan role/,
    );
    // `everyone` means anyone.
    const jobs = routeFor(file, { check: 'failedJobs', resource: 'capstan:jobs' });
    expect(alertActionRefusal(file, { userId: 'U0NOBODY', groupIds: [] }, jobs)).toBeUndefined();
  });

  it('has no channel when nothing names one', () => {
    const bare = configFileSchema.parse({ alerts: {} });
    expect(routeFor(bare, { check: 'failedJobs', resource: 'capstan:jobs' }).channel).toBeUndefined();
  });
});
