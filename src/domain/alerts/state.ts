/**
 * The life of one alert (pure), per (check, resource):
 *
 *   (nothing) ─seen─▶ pending ─held for the grace period─▶ open ◀─seen again─┐
 *        └───────seen (no grace)──────────────────────────▶ open ─gone─▶ clearing ─gone for the quiet period─▶ resolved
 *
 * - A repeat (seen again while open) updates the same message: count, last seen, current value.
 * - Clearing is not resolved: a condition must stay gone for `quietPeriodMs`; if it comes back the
 *   alert stays open with the same message (no flapping).
 * - Acknowledged (who, when) stops re-notification; the message keeps being updated.
 * - Snoozed until t: the message keeps being updated silently, nothing re-notifies until t, and if
 *   the condition resolves and comes back before t the same message is reopened instead of a new one.
 * - An unacknowledged, unsnoozed critical alert is re-notified in its thread (with the on-call
 *   mention) `renotifyAfterMs` after it was last notified, and when it escalates from warning.
 *
 * Every function here returns a new state; the store (store.ts) applies them atomically.
 */
import type { AlertSource } from '../../config.js';
import type { AlertRoute } from './routing.js';
import type { AlertKey, Observation, Severity } from './rules.js';

/** Where an alert is in its life. */
export type AlertPhase = 'pending' | 'open' | 'clearing' | 'resolved';

/** One alert, as kept in Redis. */
export interface AlertState {
  /** `check:resource`, see {@link alertIdFor}. */
  id: string;
  key: AlertKey;
  /** Counts the times this (check, resource) opened; buttons name it so old messages act on nothing new. */
  occurrence: number;
  phase: AlertPhase;
  severity: Severity;
  value: string;
  summary: string;
  investigate?: { dbInstance: string };
  /** First seen in this occurrence (the start of the grace period, when there is one). */
  firstSeenAt: number;
  /** When it opened (the grace period over). */
  openedAt?: number;
  lastSeenAt: number;
  /** Evaluations that saw the condition in this occurrence. */
  count: number;
  /** When the condition was last seen gone (clearing and resolved). */
  clearSince?: number;
  resolvedAt?: number;
  acknowledged?: { by: string; at: number };
  snoozed?: { by: string; at: number; until: number };
  /** The last time people were notified (the post, or a re-notification). */
  lastNotifiedAt?: number;
  renotified: number;
  /** Where it is posted, once it is. */
  route: Pick<AlertRoute, 'channel' | 'oncall'>;
  message?: { channel: string; ts: string };
  /** A worker posting the message right now, until `until`: others do not post too. */
  posting?: { token: string; until: number };
  /** Where the latest evidence came from (absent: Capstan's scheduled checks). */
  source?: AlertSource;
  /** Lines from the signal AWS sent: the metric and threshold, the reason, the event's id… */
  details?: string[];
  /** Where to look in the AWS console. */
  link?: { url: string; label: string };
  /**
   * Signals AWS sent about this problem, by their id (`alarm:<name>`, `rds-event:<source id>`…):
   * whether each still says it is a problem. An alert with an active signal is not cleared by a
   * scheduled check that no longer sees the condition, and the reverse.
   */
  signals?: Record<string, SignalMark>;
}

/** What the alert keeps of one signal AWS sent about it. */
export interface SignalMark {
  /** The signal still says there is something to see (not cleared). */
  active: boolean;
  at: number;
  state: string;
  /**
   * The signal only informs (an alarm with insufficient data, which opened the alert as a
   * warning): it keeps the alert from resolving, but does not speak for the problem over a
   * scheduled check that sees it.
   */
  info?: true;
}

/** One signal AWS sent (an SNS message, mapped): what it says about one alert. */
export interface SignalInput {
  /** The signal's identity: a later signal with the same id supersedes it (`alarm:<name>`…). */
  id: string;
  source: AlertSource;
  /** problem: opens or updates; clear: it is gone; info: shown without opening or resolving. */
  kind: 'problem' | 'clear' | 'info';
  /** What it says, as an observation of the alert's key. */
  observation: Observation;
  /** The signal's own word for its state (`ALARM`, `OK`, `INSUFFICIENT_DATA`, `RDS-EVENT-0089`). */
  state: string;
  details: string[];
  link?: { url: string; label: string };
  /** When AWS says it happened. */
  at: number;
}

/** Timing that applies to every alert. */
export interface AlertTiming {
  quietPeriodMs: number;
  renotifyAfterMs: number;
}

/** What a step asks the caller to do besides saving the state. */
export type Notice =
  /** Re-notify in the thread with the on-call mention: still critical, nobody acknowledged. */
  | { kind: 'renotify'; reason: 'reminder' | 'escalated' }
  /** Nothing beyond updating the message (when the state changed). */
  | undefined;

/** The result of a step: the next state (undefined: forget the alert), and whether anything changed. */
export interface Step {
  next: AlertState | undefined;
  changed: boolean;
  notice?: Notice;
}

/** The id of the alert for a key. */
export function alertIdFor(key: AlertKey): string {
  return `${key.check}:${key.resource}`;
}

/** True while an alert shows as a problem (its message says so). */
export function isActive(state: AlertState): boolean {
  return state.phase === 'open' || state.phase === 'clearing';
}

/** True when the alert is snoozed at `now`. */
export function isSnoozed(state: AlertState, now: number): boolean {
  return state.snoozed !== undefined && state.snoozed.until > now;
}

/** How long it lasted: from first seen to when it cleared (or to `now` while it is active). */
export function durationOf(state: AlertState, now: number): number {
  const end = state.phase === 'resolved' || state.phase === 'clearing' ? (state.clearSince ?? now) : now;
  return Math.max(0, end - state.firstSeenAt);
}

function fresh(obs: Observation, route: AlertState['route'], now: number, occurrence: number): AlertState {
  const open = !obs.holdForMs || obs.holdForMs <= 0;
  return {
    id: alertIdFor(obs.key),
    key: obs.key,
    occurrence,
    phase: open ? 'open' : 'pending',
    severity: obs.severity,
    value: obs.value,
    summary: obs.summary,
    ...(obs.investigate ? { investigate: obs.investigate } : {}),
    firstSeenAt: now,
    ...(open ? { openedAt: now, lastNotifiedAt: now } : {}),
    lastSeenAt: now,
    count: 1,
    renotified: 0,
    route,
  };
}

function seen(state: AlertState, obs: Observation, now: number): AlertState {
  const { clearSince: _c, resolvedAt: _r, ...rest } = state;
  return {
    ...rest,
    severity: obs.severity,
    value: obs.value,
    summary: obs.summary,
    ...(obs.investigate ? { investigate: obs.investigate } : {}),
    lastSeenAt: now,
    count: state.count + 1,
  };
}

/**
 * One evaluation of one alert.
 * @param state what the store holds (undefined: no alert)
 * @param observed what the check found this time: an observation, `undefined` for "evaluated and
 *   clear", or `'not-evaluated'` when the check did not run (not due, or its inputs could not be read)
 *   — then only time passes: snoozes end and re-notifications fall due, nothing opens or resolves.
 * @param route where a new alert goes (only used when one opens)
 */
export function step(
  state: AlertState | undefined,
  observed: Observation | undefined | 'not-evaluated',
  now: number,
  timing: AlertTiming,
  route: AlertState['route'] = {},
): Step {
  if (observed === 'not-evaluated') return state ? remind(state, now, timing) : unchanged(state);
  if (!state) {
    if (!observed) return unchanged(undefined);
    return { next: fresh(observed, route, now, 1), changed: true };
  }
  if (observed) return stepSeen(state, observed, now, timing, route);
  return stepClear(state, now, timing);
}

/**
 * One signal AWS sent, applied to its alert. A problem opens the alert (or updates it, as a
 * scheduled check seeing it again would); a clear lets it clear — only when no other signal about
 * the same problem is still active — and it resolves after the quiet period, as the scheduled
 * evaluations then see it (see {@link externalInput}); info is shown on an active alert and, when
 * there is none, opens one as a warning (a metric with insufficient data is worth a look, but it
 * is not resolved by it). A signal older than the one already recorded for its id changes nothing
 * (SNS may deliver out of order).
 */
export function stepSignal(
  state: AlertState | undefined,
  signal: SignalInput,
  now: number,
  timing: AlertTiming,
  route: AlertState['route'] = {},
): Step {
  const previous = state?.signals?.[signal.id];
  if (previous && previous.at > signal.at) return unchanged(state);
  const mark: SignalMark = {
    active: signal.kind !== 'clear',
    at: signal.at,
    state: signal.state,
    ...(signal.kind === 'info' ? { info: true as const } : {}),
  };
  const annotate = (next: AlertState | undefined): AlertState | undefined =>
    next && {
      ...next,
      source: signal.source,
      details: signal.details,
      ...(signal.link ? { link: signal.link } : {}),
      signals: { ...(next.signals ?? state?.signals ?? {}), [signal.id]: mark },
    };
  if (signal.kind === 'problem') {
    const s = step(state, signal.observation, now, timing, route);
    return { ...s, next: annotate(s.next), changed: true };
  }
  if (signal.kind === 'info') {
    if (state && isActive(state)) {
      // Shown, not resolved: the phase, severity and the problem's own mark stay; an alarm's value
      // shows its new state (an alarm is in one state at a time), other sources' in the details.
      const value = signal.source === 'cloudwatch-alarm' ? signal.observation.value : state.value;
      const next = annotate({ ...state, value, lastSeenAt: now });
      const kept = previous ? { ...next?.signals, [signal.id]: previous } : next?.signals;
      return { next: next && { ...next, ...(kept ? { signals: kept } : {}) }, changed: true };
    }
    const s = step(state, { ...signal.observation, severity: 'warning' }, now, timing, route);
    return { ...s, next: annotate(s.next), changed: true };
  }
  // clear
  if (!state) return unchanged(undefined);
  const others = Object.entries(state.signals ?? {}).some(([id, m]) => id !== signal.id && m.active);
  if (others || state.phase === 'clearing' || state.phase === 'resolved')
    return { next: annotate(state), changed: true };
  const s = stepClear(state, now, timing);
  const next = annotate(s.next);
  return { ...s, next: next && { ...next, value: signal.observation.value }, changed: true };
}

/**
 * What a scheduled evaluation makes of an alert, given what signals AWS sent say of it. An alert
 * the scheduled checks do not see (or see no more): held open by a signal until a signal says
 * otherwise; one a signal cleared resolves once the quiet period is over. An alert they do see
 * while a signal still says it is a problem: see {@link seenWhileSignalled}. `observed` is the
 * scheduled check's own finding for alerts it evaluates.
 */
export function externalInput(
  state: AlertState | undefined,
  observed: Observation | undefined | 'not-evaluated',
  scheduled: boolean,
): Observation | undefined | 'not-evaluated' {
  if (observed && observed !== 'not-evaluated') return state ? seenWhileSignalled(state, observed) : observed;
  const active = Object.values(state?.signals ?? {}).some((m) => m.active);
  if (active) return 'not-evaluated';
  if (!scheduled) return state?.phase === 'clearing' ? undefined : 'not-evaluated';
  return observed;
}

/**
 * A scheduled check's observation of an alert that a signal AWS sent still says is a problem (a
 * CloudWatch alarm in ALARM): the message goes on saying what the signal said — the alarm's name
 * and state in the summary, its metric and threshold in the details — and its severity does not
 * drop below the signal's; the check brings the current value and the time it was seen. (One
 * message per problem: the check's next evaluation must not turn "alarm X is in ALARM" back into
 * its own words, nor a critical alarm into a warning.)
 */
export function seenWhileSignalled(state: AlertState, observed: Observation): Observation {
  const held = Object.values(state.signals ?? {}).some((m) => m.active && !m.info);
  if (!held || !isActive(state)) return observed;
  return {
    ...observed,
    summary: state.summary,
    severity: state.severity === 'critical' ? 'critical' : observed.severity,
  };
}

function stepSeen(
  state: AlertState,
  obs: Observation,
  now: number,
  timing: AlertTiming,
  route: AlertState['route'],
): Step {
  switch (state.phase) {
    case 'pending': {
      const next = seen(state, obs, now);
      if (now - state.firstSeenAt >= (obs.holdForMs ?? 0)) {
        // Open now, at the route the configuration names today.
        return {
          next: { ...next, phase: 'open', openedAt: now, lastNotifiedAt: now, route },
          changed: true,
        };
      }
      return { next, changed: true };
    }
    case 'open':
    case 'clearing': {
      const escalated = state.severity === 'warning' && obs.severity === 'critical';
      const next: AlertState = { ...seen(state, obs, now), phase: 'open' };
      if (escalated && state.message && !next.acknowledged && !isSnoozed(next, now)) {
        return {
          next: { ...next, lastNotifiedAt: now, renotified: next.renotified + 1 },
          changed: true,
          notice: { kind: 'renotify', reason: 'escalated' },
        };
      }
      const reminded = remind(next, now, timing);
      return { next: reminded.next, changed: true, notice: reminded.notice };
    }
    case 'resolved': {
      if (isSnoozed(state, now) && state.message) {
        // Snoozed: the same message reopens, silently.
        const { resolvedAt: _r, ...rest } = seen(state, obs, now);
        return { next: { ...rest, phase: 'open' }, changed: true };
      }
      return { next: fresh(obs, route, now, state.occurrence + 1), changed: true };
    }
  }
}

function stepClear(state: AlertState, now: number, timing: AlertTiming): Step {
  switch (state.phase) {
    case 'pending':
      // It never held for its grace period: nothing was said, nothing to resolve.
      return { next: undefined, changed: true };
    case 'open': {
      const clearing: AlertState = { ...state, phase: 'clearing', clearSince: now };
      if (timing.quietPeriodMs <= 0) return { next: resolve(clearing, now), changed: true };
      return { next: clearing, changed: true };
    }
    case 'clearing': {
      if (now - (state.clearSince ?? now) >= timing.quietPeriodMs) {
        return { next: resolve(state, now), changed: true };
      }
      return remind(state, now, timing);
    }
    case 'resolved':
      return remind(state, now, timing);
  }
}

function resolve(state: AlertState, now: number): AlertState {
  const { posting: _p, ...rest } = state;
  return { ...rest, phase: 'resolved', resolvedAt: now, clearSince: state.clearSince ?? now };
}

/** Time passing: a snooze ends; an unacknowledged critical falls due for re-notification. */
function remind(state: AlertState, now: number, timing: AlertTiming): Step {
  let next = state;
  let changed = false;
  if (next.snoozed && next.snoozed.until <= now) {
    const { snoozed: _s, ...rest } = next;
    next = rest;
    changed = true;
  }
  const due =
    next.phase === 'open' &&
    next.severity === 'critical' &&
    next.message !== undefined &&
    !next.acknowledged &&
    !isSnoozed(next, now) &&
    timing.renotifyAfterMs > 0 &&
    now - (next.lastNotifiedAt ?? next.openedAt ?? next.firstSeenAt) >= timing.renotifyAfterMs;
  if (due) {
    return {
      next: { ...next, lastNotifiedAt: now, renotified: next.renotified + 1 },
      changed: true,
      notice: { kind: 'renotify', reason: 'reminder' },
    };
  }
  return { next, changed };
}

function unchanged(state: AlertState | undefined): Step {
  return { next: state, changed: false };
}

/** What a person's click did. */
export type ActionOutcome =
  | { outcome: 'acknowledged' | 'snoozed'; state: AlertState }
  | { outcome: 'already'; state: AlertState }
  | { outcome: 'resolved'; state: AlertState }
  | { outcome: 'stale'; state: AlertState }
  | { outcome: 'missing' };

function actionable(state: AlertState | undefined, occurrence: number): ActionOutcome | undefined {
  if (!state) return { outcome: 'missing' };
  if (state.occurrence !== occurrence) return { outcome: 'stale', state };
  if (state.phase === 'resolved') return { outcome: 'resolved', state };
  return undefined;
}

/** Acknowledge: records who and when; stops re-notification. The first acknowledgement stands. */
export function acknowledge(
  state: AlertState | undefined,
  occurrence: number,
  by: string,
  now: number,
): ActionOutcome {
  const refused = actionable(state, occurrence);
  if (refused || !state) return refused ?? { outcome: 'missing' };
  if (state.acknowledged) return { outcome: 'already', state };
  return { outcome: 'acknowledged', state: { ...state, acknowledged: { by, at: now } } };
}

/** Snooze for `forMs` from now (a later snooze replaces an earlier one). */
export function snooze(
  state: AlertState | undefined,
  occurrence: number,
  by: string,
  now: number,
  forMs: number,
): ActionOutcome {
  const refused = actionable(state, occurrence);
  if (refused || !state) return refused ?? { outcome: 'missing' };
  return { outcome: 'snoozed', state: { ...state, snoozed: { by, at: now, until: now + forMs } } };
}

/**
 * Claims the posting of an alert's message for `token` until `now + leaseMs`: only an active alert
 * with no message and no live claim can be claimed, so two workers never both post. A claim whose
 * holder died runs out, and the next evaluation posts.
 */
export function claimPosting(
  state: AlertState | undefined,
  token: string,
  now: number,
  leaseMs: number,
): AlertState | undefined {
  if (!state || !isActive(state) || state.message) return undefined;
  if (state.posting && state.posting.until > now && state.posting.token !== token) return undefined;
  return { ...state, posting: { token, until: now + leaseMs } };
}

/** Records the posted message (once: a message recorded first stands). */
export function recordMessage(
  state: AlertState | undefined,
  message: { channel: string; ts: string },
): AlertState | undefined {
  if (!state || state.message) return undefined;
  const { posting: _p, ...rest } = state;
  return { ...rest, message };
}
