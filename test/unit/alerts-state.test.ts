import { describe, expect, it } from 'vitest';
import type { Observation } from '../../src/domain/alerts/rules.js';
import {
  type AlertState,
  type AlertTiming,
  acknowledge,
  alertIdFor,
  claimPosting,
  durationOf,
  isActive,
  recordMessage,
  snooze,
  step,
} from '../../src/domain/alerts/state.js';
import {
  ALERT_ACK_ACTION,
  ALERT_INVESTIGATE_ACTION,
  ALERT_SNOOZE_1H_ACTION,
  ALERT_SNOOZE_4H_ACTION,
  parseAlertActionValue,
  renderAlert,
  renderRenotify,
} from '../../src/slack/blocks/alert.js';

const T0 = Date.parse('2026-11-22T12:00:00Z');
const MIN = 60_000;
const timing: AlertTiming = { quietPeriodMs: 10 * MIN, renotifyAfterMs: 30 * MIN };
const route = { channel: 'C0ALERTS', oncall: 'S0ONCALL' };

const burst = (value: number, severity: 'warning' | 'critical' = 'warning'): Observation => ({
  key: { check: 'burstBalance', resource: 'db:orders-db' },
  severity,
  value: `${value}%`,
  summary: `BurstBalance of orders-db is ${value}%`,
  investigate: { dbInstance: 'orders-db' },
});

const graced: Observation = {
  key: { check: 'inService', resource: 'env:prod' },
  severity: 'warning',
  value: '1/3 InService',
  summary: 'prod has 1 of 3',
  holdForMs: 5 * MIN,
};

/** Runs steps in order, each at its time; returns every intermediate result. */
function run(
  start: AlertState | undefined,
  steps: Array<[number, Observation | undefined | 'not-evaluated']>,
) {
  let state = start;
  return steps.map(([at, obs]) => {
    const s = step(state, obs, at, timing, route);
    state = s.next;
    return s;
  });
}

function posted(state: AlertState | undefined): AlertState {
  if (!state) throw new Error('no state');
  return { ...state, message: { channel: 'C0ALERTS', ts: '1700000000.000100' } };
}

describe('opening', () => {
  it('opens at once without a grace period, with route, count and times', () => {
    const { next, changed, notice } = step(undefined, burst(25), T0, timing, route);
    expect(changed).toBe(true);
    expect(notice).toBeUndefined();
    expect(next).toMatchObject({
      id: 'burstBalance:db:orders-db',
      occurrence: 1,
      phase: 'open',
      severity: 'warning',
      value: '25%',
      firstSeenAt: T0,
      openedAt: T0,
      lastSeenAt: T0,
      count: 1,
      renotified: 0,
      route,
      investigate: { dbInstance: 'orders-db' },
    });
    expect(next?.message).toBeUndefined();
  });

  it('nothing and nothing seen is nothing, unchanged', () => {
    expect(step(undefined, undefined, T0, timing)).toEqual({ next: undefined, changed: false });
    expect(step(undefined, 'not-evaluated', T0, timing)).toEqual({ next: undefined, changed: false });
  });

  it('waits for the grace period in pending, counting from when it was first seen', () => {
    const [first, second, third] = run(undefined, [
      [T0, graced],
      [T0 + 4 * MIN, graced],
      [T0 + 5 * MIN, graced],
    ]);
    expect(first?.next).toMatchObject({ phase: 'pending', firstSeenAt: T0, count: 1 });
    expect(first?.next?.openedAt).toBeUndefined();
    expect(second?.next).toMatchObject({ phase: 'pending', count: 2 });
    expect(third?.next).toMatchObject({ phase: 'open', openedAt: T0 + 5 * MIN, firstSeenAt: T0, count: 3 });
  });

  it('forgets a pending condition that clears before its grace period, saying nothing', () => {
    const [, cleared] = run(undefined, [
      [T0, graced],
      [T0 + MIN, undefined],
    ]);
    expect(cleared).toEqual({ next: undefined, changed: true });
  });

  it('keeps a pending condition when the check did not run', () => {
    const [first, skipped] = run(undefined, [
      [T0, graced],
      [T0 + MIN, 'not-evaluated'],
    ]);
    expect(skipped?.next).toEqual(first?.next);
    expect(skipped?.changed).toBe(false);
  });
});

describe('repeats', () => {
  it('update count, last seen and the current value of the same alert', () => {
    const opened = posted(step(undefined, burst(25), T0, timing, route).next);
    const { next, changed } = step(opened, burst(22), T0 + MIN, timing, route);
    expect(changed).toBe(true);
    expect(next).toMatchObject({
      occurrence: 1,
      phase: 'open',
      count: 2,
      value: '22%',
      firstSeenAt: T0,
      lastSeenAt: T0 + MIN,
      message: opened.message,
    });
  });
});

describe('clearing and resolving', () => {
  const opened = () => posted(step(undefined, burst(25), T0, timing, route).next);

  it('clears, and resolves only after the condition stayed gone for the quiet period', () => {
    const steps = run(opened(), [
      [T0 + 2 * MIN, undefined],
      [T0 + 5 * MIN, undefined],
      [T0 + 12 * MIN, undefined],
    ]);
    expect(steps[0]?.next).toMatchObject({ phase: 'clearing', clearSince: T0 + 2 * MIN });
    expect(steps[1]?.next).toMatchObject({ phase: 'clearing', clearSince: T0 + 2 * MIN });
    expect(steps[1]?.changed).toBe(false);
    const resolved = steps[2]?.next;
    expect(resolved).toMatchObject({
      phase: 'resolved',
      resolvedAt: T0 + 12 * MIN,
      clearSince: T0 + 2 * MIN,
    });
    // It lasted from first seen until it cleared, not until the quiet period ended.
    expect(durationOf(resolved as AlertState, T0 + 60 * MIN)).toBe(2 * MIN);
    expect(isActive(resolved as AlertState)).toBe(false);
  });

  it('a condition that comes back while clearing stays open with the same message (no flapping)', () => {
    const [clearing, back, cleared, resolved] = run(opened(), [
      [T0 + MIN, undefined],
      [T0 + 3 * MIN, burst(20)],
      [T0 + 4 * MIN, undefined],
      [T0 + 13 * MIN, undefined],
    ]);
    expect(clearing?.next?.phase).toBe('clearing');
    expect(back?.next).toMatchObject({ phase: 'open', count: 2, value: '20%', occurrence: 1 });
    expect(back?.next?.clearSince).toBeUndefined();
    expect(back?.next?.message?.ts).toBe('1700000000.000100');
    // The quiet period starts again from the last time it cleared.
    expect(cleared?.next).toMatchObject({ phase: 'clearing', clearSince: T0 + 4 * MIN });
    expect(resolved?.next?.phase).toBe('clearing');
  });

  it('a check that did not run neither clears nor resolves', () => {
    const [skipped] = run(opened(), [[T0 + 30 * MIN, 'not-evaluated']]);
    expect(skipped?.next?.phase).toBe('open');
    const [, stillClearing] = run(opened(), [
      [T0 + MIN, undefined],
      [T0 + 30 * MIN, 'not-evaluated'],
    ]);
    expect(stillClearing?.next?.phase).toBe('clearing');
  });

  it('resolves at once with no quiet period', () => {
    const s = step(opened(), undefined, T0 + MIN, { ...timing, quietPeriodMs: 0 }, route);
    expect(s.next).toMatchObject({ phase: 'resolved', resolvedAt: T0 + MIN, clearSince: T0 + MIN });
  });

  it('after resolving, a new occurrence opens with a new message', () => {
    const [, resolved, again] = run(opened(), [
      [T0 + MIN, undefined],
      [T0 + 11 * MIN, undefined],
      [T0 + 20 * MIN, burst(15)],
    ]);
    expect(resolved?.next?.phase).toBe('resolved');
    expect(again?.next).toMatchObject({ phase: 'open', occurrence: 2, count: 1, firstSeenAt: T0 + 20 * MIN });
    expect(again?.next?.message).toBeUndefined();
    expect(again?.next?.acknowledged).toBeUndefined();
  });

  it('a resolved alert stays resolved while nothing is seen', () => {
    const [, resolved, later] = run(opened(), [
      [T0 + MIN, undefined],
      [T0 + 11 * MIN, undefined],
      [T0 + 60 * MIN, undefined],
    ]);
    expect(later?.next).toEqual(resolved?.next);
    expect(later?.changed).toBe(false);
  });
});

describe('acknowledge', () => {
  const opened = () => posted(step(undefined, burst(5, 'critical'), T0, timing, route).next);

  it('records who and when; the first acknowledgement stands', () => {
    const first = acknowledge(opened(), 1, 'U0DBA', T0 + MIN);
    expect(first).toMatchObject({ outcome: 'acknowledged' });
    if (first.outcome !== 'acknowledged') throw new Error('not acknowledged');
    expect(first.state.acknowledged).toEqual({ by: 'U0DBA', at: T0 + MIN });
    expect(acknowledge(first.state, 1, 'U0OTHER', T0 + 2 * MIN)).toMatchObject({
      outcome: 'already',
      state: { acknowledged: { by: 'U0DBA' } },
    });
  });

  it('refuses resolved alerts, older occurrences and alerts that are gone', () => {
    const [, resolved] = run(opened(), [
      [T0 + MIN, undefined],
      [T0 + 11 * MIN, undefined],
    ]);
    expect(acknowledge(resolved?.next, 1, 'U0DBA', T0 + 12 * MIN).outcome).toBe('resolved');
    expect(acknowledge(opened(), 2, 'U0DBA', T0).outcome).toBe('stale');
    expect(acknowledge(undefined, 1, 'U0DBA', T0).outcome).toBe('missing');
  });

  it('stops re-notification but not updates, and survives flapping', () => {
    const acked = acknowledge(opened(), 1, 'U0DBA', T0 + MIN);
    if (acked.outcome !== 'acknowledged') throw new Error('not acknowledged');
    const [later, clearing, back] = run(acked.state, [
      [T0 + 45 * MIN, burst(4, 'critical')],
      [T0 + 46 * MIN, undefined],
      [T0 + 47 * MIN, burst(3, 'critical')],
    ]);
    expect(later?.notice).toBeUndefined();
    expect(later?.next).toMatchObject({ count: 2, value: '4%' });
    expect(clearing?.next?.acknowledged?.by).toBe('U0DBA');
    expect(back?.next?.acknowledged?.by).toBe('U0DBA');
  });
});

describe('re-notification', () => {
  const opened = () => posted(step(undefined, burst(5, 'critical'), T0, timing, route).next);

  it('re-notifies an unacknowledged critical after renotifyAfter, then again after as long', () => {
    const steps = run(opened(), [
      [T0 + 29 * MIN, burst(5, 'critical')],
      [T0 + 30 * MIN, burst(5, 'critical')],
      [T0 + 45 * MIN, burst(5, 'critical')],
      [T0 + 60 * MIN, 'not-evaluated'],
    ]);
    expect(steps[0]?.notice).toBeUndefined();
    expect(steps[1]?.notice).toEqual({ kind: 'renotify', reason: 'reminder' });
    expect(steps[1]?.next).toMatchObject({ lastNotifiedAt: T0 + 30 * MIN, renotified: 1 });
    expect(steps[2]?.notice).toBeUndefined();
    // Time passing alone re-notifies too (the check need not run).
    expect(steps[3]?.notice).toEqual({ kind: 'renotify', reason: 'reminder' });
    expect(steps[3]?.next?.renotified).toBe(2);
  });

  it('never re-notifies warnings, unposted alerts, clearing alerts or with renotifyAfter 0', () => {
    const warning = posted(step(undefined, burst(25), T0, timing, route).next);
    expect(step(warning, burst(25), T0 + 60 * MIN, timing).notice).toBeUndefined();
    const unposted = step(undefined, burst(5, 'critical'), T0, timing, route).next;
    expect(step(unposted, burst(5, 'critical'), T0 + 60 * MIN, timing).notice).toBeUndefined();
    const clearing = step(opened(), undefined, T0 + MIN, timing).next;
    expect(step(clearing, 'not-evaluated', T0 + 60 * MIN, timing).notice).toBeUndefined();
    expect(
      step(opened(), burst(5, 'critical'), T0 + 60 * MIN, { ...timing, renotifyAfterMs: 0 }).notice,
    ).toBeUndefined();
  });

  it('re-notifies at once when a posted warning escalates to critical, unless acknowledged', () => {
    const warning = posted(step(undefined, burst(25), T0, timing, route).next);
    const escalated = step(warning, burst(8, 'critical'), T0 + MIN, timing, route);
    expect(escalated.notice).toEqual({ kind: 'renotify', reason: 'escalated' });
    expect(escalated.next).toMatchObject({ severity: 'critical', lastNotifiedAt: T0 + MIN, renotified: 1 });
    const acked = acknowledge(warning, 1, 'U0DBA', T0);
    if (acked.outcome !== 'acknowledged') throw new Error('not acknowledged');
    expect(step(acked.state, burst(8, 'critical'), T0 + MIN, timing).notice).toBeUndefined();
  });
});

describe('snooze', () => {
  const opened = () => posted(step(undefined, burst(5, 'critical'), T0, timing, route).next);

  it('records until when; nothing re-notifies until then, updates go on; afterwards reminders resume', () => {
    const snoozed = snooze(opened(), 1, 'U0DBA', T0 + MIN, 60 * MIN);
    if (snoozed.outcome !== 'snoozed') throw new Error('not snoozed');
    expect(snoozed.state.snoozed).toEqual({ by: 'U0DBA', at: T0 + MIN, until: T0 + 61 * MIN });
    const [during, after] = run(snoozed.state, [
      [T0 + 40 * MIN, burst(4, 'critical')],
      [T0 + 61 * MIN, burst(4, 'critical')],
    ]);
    expect(during?.notice).toBeUndefined();
    expect(during?.next).toMatchObject({ count: 2, value: '4%' });
    expect(after?.notice).toEqual({ kind: 'renotify', reason: 'reminder' });
    expect(after?.next?.snoozed).toBeUndefined();
  });

  it('an escalation while snoozed does not notify', () => {
    const warning = posted(step(undefined, burst(25), T0, timing, route).next);
    const snoozed = snooze(warning, 1, 'U0DBA', T0, 60 * MIN);
    if (snoozed.outcome !== 'snoozed') throw new Error('not snoozed');
    expect(step(snoozed.state, burst(5, 'critical'), T0 + MIN, timing).notice).toBeUndefined();
  });

  it('a snooze ending is a change (the message drops it) even when nothing else happens', () => {
    const snoozed = snooze(step(opened(), undefined, T0 + MIN, timing).next, 1, 'U0DBA', T0 + MIN, 60 * MIN);
    if (snoozed.outcome !== 'snoozed') throw new Error('not snoozed');
    const s = step(snoozed.state, 'not-evaluated', T0 + 62 * MIN, timing);
    expect(s.changed).toBe(true);
    expect(s.next?.snoozed).toBeUndefined();
  });

  it('a snoozed alert that resolves and comes back reopens its own message silently', () => {
    const snoozed = snooze(opened(), 1, 'U0DBA', T0, 4 * 60 * MIN);
    if (snoozed.outcome !== 'snoozed') throw new Error('not snoozed');
    const [, resolved, back] = run(snoozed.state, [
      [T0 + MIN, undefined],
      [T0 + 11 * MIN, undefined],
      [T0 + 20 * MIN, burst(5, 'critical')],
    ]);
    expect(resolved?.next?.phase).toBe('resolved');
    expect(back?.next).toMatchObject({
      phase: 'open',
      occurrence: 1,
      count: 2,
      message: { ts: '1700000000.000100' },
    });
    expect(back?.next?.resolvedAt).toBeUndefined();
    expect(back?.notice).toBeUndefined();
  });

  it('refuses resolved and stale alerts like acknowledge does', () => {
    expect(snooze(undefined, 1, 'U0DBA', T0, MIN).outcome).toBe('missing');
    expect(snooze(opened(), 3, 'U0DBA', T0, MIN).outcome).toBe('stale');
  });
});

describe('posting claims', () => {
  const unposted = () => step(undefined, burst(25), T0, timing, route).next;

  it('only one claim at a time; an expired claim can be taken over; posted or resolved alerts cannot be claimed', () => {
    const claimed = claimPosting(unposted(), 'w1', T0, 60_000);
    expect(claimed?.posting).toEqual({ token: 'w1', until: T0 + 60_000 });
    expect(claimPosting(claimed, 'w2', T0 + 1000, 60_000)).toBeUndefined();
    expect(claimPosting(claimed, 'w2', T0 + 60_001, 60_000)?.posting?.token).toBe('w2');
    expect(claimPosting(posted(unposted()), 'w1', T0, 60_000)).toBeUndefined();
    expect(claimPosting(undefined, 'w1', T0, 60_000)).toBeUndefined();
    const pending = step(undefined, graced, T0, timing, route).next;
    expect(claimPosting(pending, 'w1', T0, 60_000)).toBeUndefined();
  });

  it('records the message once and drops the claim', () => {
    const claimed = claimPosting(unposted(), 'w1', T0, 60_000);
    const recorded = recordMessage(claimed, { channel: 'C0ALERTS', ts: '1.2' });
    expect(recorded?.message).toEqual({ channel: 'C0ALERTS', ts: '1.2' });
    expect(recorded?.posting).toBeUndefined();
    expect(recordMessage(recorded, { channel: 'C0ALERTS', ts: '3.4' })).toBeUndefined();
  });

  it('alert ids join check and resource', () => {
    expect(alertIdFor({ check: 'failedJobs', resource: 'capstan:jobs' })).toBe('failedJobs:capstan:jobs');
  });
});

describe('rendering', () => {
  const open = posted(step(undefined, burst(5, 'critical'), T0, timing, route).next);

  it('an open critical alert: severity, what, resource, value, count, times, state, the on-call mention and buttons', () => {
    const { text, blocks } = renderAlert(open, T0);
    expect(text).toBe('<!subteam^S0ONCALL> CRITICAL: RDS burst balance — BurstBalance of orders-db is 5%');
    const json = JSON.stringify(blocks);
    expect(json).toContain(':rotating_light: *CRITICAL* · *RDS burst balance*');
    expect(json).toContain('`db:orders-db`');
    expect(json).toContain('*Current value*\\n5%');
    expect(json).toContain('*Seen*\\n1 time(s)');
    expect(json).toContain(`<!date^${T0 / 1000}^`);
    expect(json).toContain('*State*\\nOpen');
    const actions = blocks.find((b) => b.type === 'actions') as {
      elements: Array<{ action_id: string; value: string }>;
    };
    expect(actions.elements.map((e) => e.action_id)).toEqual([
      ALERT_ACK_ACTION,
      ALERT_SNOOZE_1H_ACTION,
      ALERT_SNOOZE_4H_ACTION,
      ALERT_INVESTIGATE_ACTION,
    ]);
    expect(actions.elements[0]?.value).toBe('1|burstBalance:db:orders-db');
    expect(actions.elements[3]?.value).toBe('orders-db');
    expect(parseAlertActionValue(actions.elements[0]?.value ?? '')).toEqual({
      occurrence: 1,
      id: 'burstBalance:db:orders-db',
    });
  });

  it('shows acknowledgement and snooze, without the Acknowledge button once acknowledged', () => {
    const acked = acknowledge(open, 1, 'U0DBA', T0 + MIN);
    if (acked.outcome !== 'acknowledged') throw new Error('not acknowledged');
    const snoozed = snooze(acked.state, 1, 'U0DBA', T0 + MIN, 60 * MIN);
    if (snoozed.outcome !== 'snoozed') throw new Error('not snoozed');
    const json = JSON.stringify(renderAlert(snoozed.state, T0 + 2 * MIN).blocks);
    expect(json).toContain('acknowledged by <@U0DBA>');
    expect(json).toContain('snoozed by <@U0DBA> until');
    expect(json).not.toContain(ALERT_ACK_ACTION);
    expect(json).toContain(ALERT_SNOOZE_1H_ACTION);
    // A snooze that has run out no longer shows.
    expect(JSON.stringify(renderAlert(snoozed.state, T0 + 90 * MIN).blocks)).not.toContain('snoozed by');
  });

  it('a warning has no mention; a non-burst alert has no Investigate button', () => {
    const warning = posted(
      step(
        undefined,
        {
          ...burst(25),
          key: { check: 'rdsStatus', resource: 'db:orders-db' },
          investigate: undefined,
        } as Observation,
        T0,
        timing,
        route,
      ).next,
    );
    const { text, blocks } = renderAlert(warning, T0);
    expect(text).toMatch(/^Warning: RDS instance status/);
    expect(JSON.stringify(blocks)).not.toContain(ALERT_INVESTIGATE_ACTION);
  });

  it('a resolved alert says how long it lasted and has no buttons', () => {
    const [, resolved] = run(open, [
      [T0 + 25 * MIN, undefined],
      [T0 + 35 * MIN, undefined],
    ]);
    const { text, blocks } = renderAlert(resolved?.next as AlertState, T0 + 35 * MIN);
    expect(text).toBe('Resolved: RDS burst balance — BurstBalance of orders-db is 5% (lasted 25 min)');
    const json = JSON.stringify(blocks);
    expect(json).toContain(':white_check_mark: *Resolved*');
    expect(json).toContain('lasted 25 min');
    expect(json).not.toContain('"actions"');
  });

  it('the re-notification reply mentions the on-call group', () => {
    expect(renderRenotify(open, 'reminder', T0 + 30 * MIN).text).toBe(
      '<!subteam^S0ONCALL> :rotating_light: still *critical* and unacknowledged after 30 min: BurstBalance of orders-db is 5% (now 5%). Acknowledge to stop these reminders.',
    );
    expect(renderRenotify(open, 'escalated', T0).text).toContain('escalated to *critical*');
    expect(renderRenotify({ ...open, route: { channel: 'C0ALERTS' } }, 'reminder', T0).text).not.toContain(
      'subteam',
    );
  });

  it('reads bad button values as nothing', () => {
    for (const bad of ['', 'x', '0|id', '1|', '|id', 'a|b'])
      expect(parseAlertActionValue(bad)).toBeUndefined();
  });
});
