/**
 * Alerts fed by signals AWS sends (SNS), alongside Capstan's scheduled checks: one alert per
 * problem whichever source saw it first. A CloudWatch alarm's ALARM opens it (or updates the one a
 * scheduled check opened), OK lets it clear and resolve after the quiet period, INSUFFICIENT_DATA
 * is shown and resolves nothing (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html).
 */
import { describe, expect, it } from 'vitest';
import { parseConfigFile } from '../../src/config.js';
import { globMatches, routeFor } from '../../src/domain/alerts/routing.js';
import type { Observation } from '../../src/domain/alerts/rules.js';
import {
  type AlertState,
  type AlertTiming,
  externalInput,
  type SignalInput,
  step,
  stepSignal,
} from '../../src/domain/alerts/state.js';
import { renderAlert } from '../../src/slack/blocks/alert.js';

const T0 = Date.parse('2026-12-06T12:00:00Z');
const MIN = 60_000;
const timing: AlertTiming = { quietPeriodMs: 10 * MIN, renotifyAfterMs: 30 * MIN };
const route = { channel: 'C0ALERTS' };

const burstObs: Observation = {
  key: { check: 'burstBalance', resource: 'db:orders-db' },
  severity: 'warning',
  value: '12%',
  summary: 'BurstBalance of orders-db is 12%',
  investigate: { dbInstance: 'orders-db' },
};

function alarm(
  kind: SignalInput['kind'],
  at: number,
  state = kind === 'problem' ? 'ALARM' : 'OK',
): SignalInput {
  return {
    id: 'cloudwatch-alarm:orders-db-burst',
    source: 'cloudwatch-alarm',
    kind,
    observation: {
      ...burstObs,
      severity: 'critical',
      value: `BurstBalance 14 < 20 (${state})`,
      summary: 'orders-db-burst: BurstBalance below 20',
    },
    state,
    details: [
      'BurstBalance (AWS/RDS) Average < 20 for 3 × 5 min',
      'Threshold Crossed: 3 datapoints were less than 20.0',
    ],
    link: {
      url: 'https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/orders-db-burst',
      label: 'the alarm',
    },
    at,
  };
}

function apply(state: AlertState | undefined, signal: SignalInput, now: number): AlertState | undefined {
  return stepSignal(state, signal, now, timing, route).next;
}

describe('signals and the alert state machine', () => {
  it('ALARM opens, OK clears, and the scheduled evaluations resolve it after the quiet period', () => {
    const opened = apply(undefined, alarm('problem', T0), T0);
    expect(opened?.phase).toBe('open');
    expect(opened?.source).toBe('cloudwatch-alarm');
    expect(opened?.signals?.['cloudwatch-alarm:orders-db-burst']).toEqual({
      active: true,
      at: T0,
      state: 'ALARM',
    });
    const clearing = apply(opened, alarm('clear', T0 + MIN), T0 + MIN);
    expect(clearing?.phase).toBe('clearing');
    expect(clearing?.clearSince).toBe(T0 + MIN);
    // The scheduled check does not see the condition (or does not evaluate it): the quiet period rules.
    const early = step(clearing, externalInput(clearing, undefined, true), T0 + 5 * MIN, timing, route).next;
    expect(early?.phase).toBe('clearing');
    const late = step(early, externalInput(early, undefined, true), T0 + 12 * MIN, timing, route).next;
    expect(late?.phase).toBe('resolved');
  });

  it('an alarm still in ALARM keeps the alert open when the scheduled check no longer sees it', () => {
    const opened = apply(undefined, alarm('problem', T0), T0);
    expect(externalInput(opened, undefined, true)).toBe('not-evaluated');
    const after = step(opened, externalInput(opened, undefined, true), T0 + 20 * MIN, timing, route).next;
    expect(after?.phase).toBe('open');
  });

  it('is one alert whichever saw it first: the scheduled check opens, the alarm updates the same one', () => {
    const scheduled = step(undefined, burstObs, T0, timing, route).next;
    const message = { channel: 'C0ALERTS', ts: '1.1' };
    const posted = scheduled && { ...scheduled, message };
    const both = apply(posted, alarm('problem', T0 + MIN), T0 + MIN);
    expect(both?.occurrence).toBe(1);
    expect(both?.message).toEqual(message);
    expect(both?.count).toBe(2);
    expect(both?.severity).toBe('critical');
    // The alarm's OK does not clear what the scheduled check still sees at its next evaluation.
    const ok = apply(both, alarm('clear', T0 + 2 * MIN), T0 + 2 * MIN);
    const seenAgain = step(ok, externalInput(ok, burstObs, true), T0 + 3 * MIN, timing, route).next;
    expect(seenAgain?.phase).toBe('open');
    expect(seenAgain?.message).toEqual(message);
  });

  it('while the alarm is in ALARM the scheduled check’s evaluations keep its words and severity, and bring the current value', () => {
    const scheduled = step(undefined, burstObs, T0, timing, route).next;
    const message = { channel: 'C0ALERTS', ts: '1.1' };
    const both = apply(scheduled && { ...scheduled, message }, alarm('problem', T0 + MIN), T0 + MIN);
    const { summary } = alarm('problem', T0).observation;
    expect(both?.summary).toBe(summary);
    // The check sees it again, as a warning at 11 %: still the alarm's message, still critical.
    const later = { ...burstObs, value: '11%' };
    const s = step(both, externalInput(both, later, true), T0 + 2 * MIN, timing, route);
    expect(s.next).toMatchObject({
      summary,
      severity: 'critical',
      value: '11%',
      count: 3,
      message,
      source: 'cloudwatch-alarm',
    });
    expect(s.notice).toBeUndefined();
    const shown = JSON.stringify(renderAlert(s.next as AlertState, T0 + 2 * MIN));
    expect(shown).toContain(summary);
    expect(shown).toContain('BurstBalance (AWS/RDS) Average &lt; 20 for 3 × 5 min');
    // Once the alarm is OK the check speaks for the alert again.
    const ok = apply(s.next, alarm('clear', T0 + 3 * MIN), T0 + 3 * MIN);
    const own = step(ok, externalInput(ok, later, true), T0 + 4 * MIN, timing, route).next;
    expect(own).toMatchObject({ summary: burstObs.summary, severity: 'warning', phase: 'open' });
  });

  it('an alarm with insufficient data does not speak over the scheduled check that sees the problem', () => {
    const alone = apply(undefined, alarm('info', T0, 'INSUFFICIENT_DATA'), T0);
    expect(alone?.signals?.['cloudwatch-alarm:orders-db-burst']).toMatchObject({ active: true, info: true });
    const seen = step(alone, externalInput(alone, burstObs, true), T0 + MIN, timing, route).next;
    expect(seen?.summary).toBe(burstObs.summary);
    expect(seen?.phase).toBe('open');
  });

  it('INSUFFICIENT_DATA is shown on an open alert and resolves nothing; alone it opens a warning', () => {
    const opened = apply(undefined, alarm('problem', T0), T0);
    const insufficient = apply(opened, alarm('info', T0 + MIN, 'INSUFFICIENT_DATA'), T0 + MIN);
    expect(insufficient?.phase).toBe('open');
    expect(insufficient?.severity).toBe('critical');
    // Shown as the value; the alarm's own mark still says it is a problem (nothing resolves).
    expect(insufficient?.value).toContain('INSUFFICIENT_DATA');
    expect(insufficient?.signals?.['cloudwatch-alarm:orders-db-burst']).toEqual({
      active: true,
      at: T0,
      state: 'ALARM',
    });
    const alone = apply(undefined, alarm('info', T0, 'INSUFFICIENT_DATA'), T0);
    expect(alone?.phase).toBe('open');
    expect(alone?.severity).toBe('warning');
  });

  it('ignores a signal older than the one recorded (SNS does not promise order)', () => {
    const opened = apply(undefined, alarm('problem', T0 + 5 * MIN), T0 + 5 * MIN);
    const s = stepSignal(opened, alarm('clear', T0), T0 + 6 * MIN, timing, route);
    expect(s.changed).toBe(false);
    expect(s.next?.phase).toBe('open');
  });

  it('an OK for an alert nobody opened changes nothing', () => {
    expect(stepSignal(undefined, alarm('clear', T0), T0, timing, route)).toEqual({
      next: undefined,
      changed: false,
    });
  });

  it('shows what AWS sent as text: a mention or link in an alarm description is escaped', () => {
    const hostile = alarm('problem', T0);
    hostile.observation.summary = 'disk <!channel> full <https://evil.example|click>';
    hostile.details = ['<@U0BOSS> & friends'];
    hostile.link = { url: 'https://evil.example/x|<!here>', label: 'x' };
    const state = apply(undefined, hostile, T0);
    if (!state) throw new Error('no state');
    const text = JSON.stringify(renderAlert(state, T0));
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<@U0BOSS>');
    expect(text).not.toContain('<!here>');
    expect(text).toContain('&lt;!channel&gt;');
    expect(text).toContain('from a CloudWatch alarm via SNS');
  });
});

describe('routing signals', () => {
  const problems: string[] = [];
  const file = parseConfigFile(
    `
slack: { notificationsChannel: C0NOTES }
alerts:
  sns:
    topics: [arn:aws:sns:us-east-1:123456789012:capstan-alarms]
  routes:
    - match: { alarm: 'prod-*', source: cloudwatch-alarm }
      channel: C0PROD
    - match: { check: autoScaling, environment: stage }
      channel: C0STAGE
    - match: { source: [rds-event, eventbridge] }
      channel: C0DB
`,
    'capstan.yml',
    problems,
  );
  if (!file) throw new Error(problems.join('\n'));

  it('matches alarm name patterns, sources and the environment a group belongs to', () => {
    const alarmKey = { check: 'alarm' as const, resource: 'alarm:prod-api-5xx' };
    expect(routeFor(file, alarmKey, { source: 'cloudwatch-alarm', alarmName: 'prod-api-5xx' }).channel).toBe(
      'C0PROD',
    );
    expect(routeFor(file, alarmKey, { source: 'cloudwatch-alarm', alarmName: 'staging-api' }).channel).toBe(
      'C0NOTES',
    );
    const asg = { check: 'autoScaling' as const, resource: 'asg:capstan-stage-1' };
    expect(routeFor(file, asg, { source: 'autoscaling', environment: 'stage' }).channel).toBe('C0STAGE');
    expect(
      routeFor(file, { check: 'rdsEvent', resource: 'db:orders-db' }, { source: 'rds-event' }).rule,
    ).toBe('alerts.routes.2');
    // A scheduled check matches no source-bound route.
    expect(routeFor(file, { check: 'burstBalance', resource: 'db:orders-db' }).channel).toBe('C0NOTES');
  });

  it('globs treat only * as special', () => {
    expect(globMatches('prod-*', 'prod-db')).toBe(true);
    expect(globMatches('*.fifo', 'x.fifo')).toBe(true);
    expect(globMatches('a.b', 'axb')).toBe(false);
    expect(globMatches('(a|b)', 'a')).toBe(false);
  });

  it('refuses a topic that is not an SNS topic ARN, naming the line', () => {
    const bad: string[] = [];
    parseConfigFile('alerts:\n  sns:\n    topics: [arn:aws:sqs:us-east-1:123456789012:q]\n', 'c.yml', bad);
    expect(bad).toEqual([expect.stringMatching(/^c\.yml:3:\d+ alerts\.sns\.topics\.0: an SNS topic ARN/)]);
  });
});
