/**
 * Times and durations as people type them (pure: the clock and the zone come from the caller).
 *
 * `parseTime` understands three forms:
 * - ISO-8601 with an offset: `2026-11-22T01:30:00Z`, `2026-11-22T02:30:00+01:00` (also `+0100`,
 *   `+01`, a space instead of `T`, fractional seconds, which are truncated to milliseconds);
 * - `YYYY-MM-DD HH:MM[:SS]` without an offset, read in the configured time zone. Across daylight
 *   saving changes: a local time that does not exist (the spring-forward gap) is refused; a local time
 *   that happens twice (the fall-back hour) means the EARLIER of the two instants (the first time the
 *   clock showed it). An offset removes any doubt;
 * - a time of day as said during an incident: `14:05`, `14:05:30`, `today 14:05`, `yesterday 23:50`,
 *   read on today's (or yesterday's) date in the configured time zone. `14:05` later than now is
 *   refused, with its nearest valid reading (`yesterday 14:05`) offered: it is never guessed at;
 * - relative: `90s ago`, `15m ago`, `2h ago`, `1d ago`, `15 min ago`, `2 hours ago`, `1h30m ago`.
 *
 * A time in the future is refused. `2026-11-22T01:30` (a `T` but no offset) is refused rather than
 * guessed at: with a `T` it looks like a machine's UTC timestamp, without an offset it is not one.
 */
import { echo } from './echo.js';
import type { ParseContext } from './types.js';

/** The outcome of {@link parseTime}. */
export type TimeResult = { ok: true; at: Date } | { ok: false; error: string };

/** The outcome of {@link parseDuration}: milliseconds. */
export type DurationResult = { ok: true; ms: number } | { ok: false; error: string };

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Unit words → milliseconds. */
const UNITS: ReadonlyMap<string, number> = new Map([
  ...['s', 'sec', 'secs', 'second', 'seconds'].map((u) => [u, SECOND] as const),
  ...['m', 'min', 'mins', 'minute', 'minutes'].map((u) => [u, MINUTE] as const),
  ...['h', 'hr', 'hrs', 'hour', 'hours'].map((u) => [u, HOUR] as const),
  ...['d', 'day', 'days'].map((u) => [u, DAY] as const),
  ...['w', 'week', 'weeks'].map((u) => [u, 7 * DAY] as const),
]);

/** Longest text worth reading as a time or duration. */
const MAX_LENGTH = 80;

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

function forms(timeZone: string): string {
  return (
    'Use ISO-8601 with an offset (`2026-11-22T01:30:00Z`, `2026-11-22T02:30:00+01:00`), ' +
    `\`YYYY-MM-DD HH:MM[:SS]\`, \`HH:MM\`, \`today HH:MM\` or \`yesterday HH:MM\` in ${zoneName(timeZone)}, or a relative time (\`15m ago\`, \`2h ago\`).`
  );
}

/** The configured zone, as shown in messages (it comes from the config file, but keep it tidy). */
function zoneName(timeZone: string): string {
  return /^[A-Za-z0-9_/+-]{1,64}$/.test(timeZone) ? timeZone : 'the configured time zone';
}

/**
 * A duration such as `30m`, `8h`, `2d`, `1h30m` or `90 min` in milliseconds. Units: s, m, h, d, w
 * (and their words: `min`, `hours`, `days`, …); segments add up. A number without a unit is refused.
 */
export function parseDuration(text: string): DurationResult {
  const t = text.trim().toLowerCase();
  const shown = echo(text);
  if (t.length === 0 || t.length > MAX_LENGTH) {
    return { ok: false, error: `${shown} is not a duration like \`30m\`, \`8h\`, \`2d\` or \`1h30m\`.` };
  }
  if (/^\d{1,6}$/.test(t)) {
    return { ok: false, error: `${shown} has no unit: write e.g. \`${t}h\` or \`${t}m\`.` };
  }
  if (!/^(?:\d{1,9}\s*[a-z]{1,12}\s*)+$/.test(t)) {
    return { ok: false, error: `${shown} is not a duration like \`30m\`, \`8h\`, \`2d\` or \`1h30m\`.` };
  }
  let ms = 0;
  for (const [, amount, unit] of t.matchAll(/(\d+)\s*([a-z]+)/g)) {
    const size = UNITS.get(unit ?? '');
    if (size === undefined) {
      return {
        ok: false,
        error: `${shown} has an unknown unit ${echo(unit ?? '')}: use \`s\`, \`m\`, \`h\`, \`d\` or \`w\`.`,
      };
    }
    ms += Number(amount) * size;
  }
  return { ok: true, ms };
}

/** A duration for messages: `1h30m`, `2d`, `45s`. */
export function formatDuration(ms: number): string {
  let rest = Math.round(Math.abs(ms) / SECOND);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(`${n}${unit}`);
  }
  return parts.length > 0 ? parts.join('') : '0s';
}

/**
 * Reads `text` as a moment in the past (see the file comment for the forms). `ctx.now` is "now";
 * `ctx.timeZone` is the zone of times written without an offset. Never throws.
 */
export function parseTime(text: string, ctx: ParseContext): TimeResult {
  try {
    return readTime(text, ctx);
  } catch {
    return { ok: false, error: `${echo(text)} could not be read as a time. ${forms(ctx.timeZone)}` };
  }
}

const ABSOLUTE =
  /^(\d{4})-(\d{1,2})-(\d{1,2})(t|\s+)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(?:(z|utc)|([+\-\u2212])(\d{2})(?::?(\d{2}))?)?$/;

function readTime(text: string, ctx: ParseContext): TimeResult {
  const t = text.trim().replace(/\s+/g, ' ').toLowerCase();
  const shown = echo(text.trim());
  const fail = (why: string): TimeResult => ({ ok: false, error: `${shown} ${why}` });
  const now = ctx.now.getTime();
  if (!Number.isFinite(now)) return { ok: false, error: 'The clock is not set, so no time can be read.' };
  if (t.length === 0) return { ok: false, error: `No time given. ${forms(ctx.timeZone)}` };
  if (t.length > MAX_LENGTH) return fail(`is too long to be a time. ${forms(ctx.timeZone)}`);

  // Relative: `15m ago`, `2 hours ago`, `1h30m ago`.
  const relative = /^((?:\d{1,9} ?[a-z]{1,12} ?)+)ago$/.exec(t);
  if (relative) {
    const duration = parseDuration(relative[1] ?? '');
    if (!duration.ok)
      return fail(`is not a relative time: write it like \`90s ago\`, \`15m ago\`, \`2h ago\`.`);
    const at = new Date(now - duration.ms);
    if (!Number.isFinite(at.getTime()) || at.getUTCFullYear() < 1970) return fail('is too far in the past.');
    return { ok: true, at };
  }
  if (t.length <= 20 && /^(?:\d{1,9} ?[a-z]{1,12} ?)+$/.test(t) && parseDuration(t).ok) {
    return fail(`is a duration, not a time: did you mean \`${t} ago\`?`);
  }

  const clock = CLOCK.exec(t);
  if (clock) return readClock(clock, shown, ctx);

  if (/^\d{4}-\d{1,2}-\d{1,2}$/.test(t)) {
    return fail(`has no time of day: write e.g. \`${t} 01:30\` (in ${zoneName(ctx.timeZone)}).`);
  }
  const m = ABSOLUTE.exec(t);
  if (!m) return fail(`is not a time Capstan understands. ${forms(ctx.timeZone)}`);
  const [, y, mo, d, sep, h, mi, s, frac, utc, sign, oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s ?? '0');
  const millis = Number((frac ?? '').padEnd(3, '0').slice(0, 3));
  if (year < 1970) return fail('is before 1970: Capstan only reads times from 1970 on.');
  if (month < 1 || month > 12) return fail(`is not a valid date: there is no month ${month}.`);
  const days = daysInMonth(year, month);
  if (day < 1 || day > days) {
    return fail(`is not a valid date: ${MONTHS[month - 1]} ${year} has ${days} days.`);
  }
  if (hour > 23) return fail('is not a valid time of day: hours go from 00 to 23.');
  if (minute > 59 || second > 59)
    return fail('is not a valid time of day: minutes and seconds go from 00 to 59.');

  // The wall-clock reading as if it were UTC.
  const wall = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  let at: number;
  if (utc !== undefined) {
    at = wall;
  } else if (sign !== undefined) {
    const offsetMinutes = Number(oh) * 60 + Number(om ?? '0');
    if (Number(oh) > 18 || Number(om ?? '0') > 59 || offsetMinutes > 18 * 60) {
      return fail('has an offset out of range: offsets go from -18:00 to +18:00.');
    }
    at = wall - (sign === '+' ? 1 : -1) * offsetMinutes * MINUTE;
  } else if (sep === 't') {
    return fail(
      `has a \`T\` but no offset: add one (\`Z\` for UTC, e.g. \`+01:00\`), or write \`YYYY-MM-DD HH:MM\` for a time in ${zoneName(ctx.timeZone)}.`,
    );
  } else {
    const local = fromWallClock(wall, ctx.timeZone);
    if (!local.ok) {
      return local.reason === 'zone'
        ? { ok: false, error: `The configured time zone is not valid, so ${shown} cannot be read.` }
        : fail(
            `does not exist in ${zoneName(ctx.timeZone)}: the clocks jump forward ${formatDuration(local.jumpMs)} then (daylight saving time). Choose a time outside the gap, or give an offset.`,
          );
    }
    at = local.at;
  }
  if (at > now) {
    return fail(
      `is in the future (now is ${formatWallClock(now, ctx.timeZone)}): a restore needs a time in the past.`,
    );
  }
  return { ok: true, at: new Date(at) };
}

/** `14:05`, `14:05:30`, `today 14:05`, `yesterday 23:50` (already trimmed and lowercased). */
const CLOCK = /^(?:(today|yesterday) )?(\d{1,2}):(\d{2})(?::(\d{2}))?$/;

/** A time of day on today's or yesterday's date in the configured zone (see the file comment). */
function readClock(m: RegExpExecArray, shown: string, ctx: ParseContext): TimeResult {
  const fail = (why: string): TimeResult => ({ ok: false, error: `${shown} ${why}` });
  const [, word, h, mi, s] = m;
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s ?? '0');
  if (hour > 23) return fail('is not a valid time of day: hours go from 00 to 23.');
  if (minute > 59 || second > 59)
    return fail('is not a valid time of day: minutes and seconds go from 00 to 59.');
  const now = ctx.now.getTime();
  let today: number;
  try {
    today = wallClockAt(now, ctx.timeZone);
  } catch {
    return { ok: false, error: `The configured time zone is not valid, so ${shown} cannot be read.` };
  }
  const midnight = today - (((today % DAY) + DAY) % DAY);
  const timeOfDay = hour * HOUR + minute * MINUTE + second * SECOND;
  const hhmm = `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}${s !== undefined ? `:${s}` : ''}`;
  const onDay = (dayStart: number): Local => fromWallClock(dayStart + timeOfDay, ctx.timeZone);
  const gap = (local: Extract<Local, { ok: false }>): TimeResult =>
    local.reason === 'zone'
      ? { ok: false, error: `The configured time zone is not valid, so ${shown} cannot be read.` }
      : fail(
          `does not exist in ${zoneName(ctx.timeZone)}: the clocks jump forward ${formatDuration(local.jumpMs)} then (daylight saving time). Choose a time outside the gap.`,
        );
  if (word === 'yesterday') {
    const local = onDay(midnight - DAY);
    return local.ok ? { ok: true, at: new Date(local.at) } : gap(local);
  }
  const local = onDay(midnight);
  if (!local.ok) return gap(local);
  if (local.at <= now) return { ok: true, at: new Date(local.at) };
  // Later than now today: the nearest reading in the past is yesterday's, but it is offered, not taken.
  const nearest = onDay(midnight - DAY);
  const offer = nearest.ok
    ? ` The nearest valid reading is \`yesterday ${hhmm}\` (${formatWallClock(nearest.at, ctx.timeZone)}): write that if you meant it.`
    : '';
  return fail(
    `is later than now today (now is ${formatWallClock(now, ctx.timeZone)}): a restore needs a time in the past.${offer}`,
  );
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

// ---- Time zones, by Intl.DateTimeFormat alone ----

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    if (formatters.size < 100) formatters.set(timeZone, f);
  }
  return f;
}

/** What a clock in `timeZone` shows at instant `ms`, as epoch ms read as if it were UTC. */
function wallClockAt(ms: number, timeZone: string): number {
  const fields: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(ms))) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  const { year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0 } = fields;
  return Date.UTC(year, month - 1, day, hour % 24, minute, second, ((ms % 1000) + 1000) % 1000);
}

/** The zone's offset from UTC at instant `ms`, in ms (positive east of Greenwich). */
export function offsetAt(ms: number, timeZone: string): number {
  return wallClockAt(ms, timeZone) - ms;
}

/**
 * `2026-11-22 04:59:59 +01:00`: instant `ms` (whole seconds) on the clock of `timeZone`, with the
 * zone's offset at that instant. The offset keeps the fall-back hour unambiguous (an offset-less
 * repeated time reads as the earlier instant); {@link parseTime} reads this form as is.
 */
export function formatZonedTime(ms: number, timeZone: string): string {
  const offset = Math.round(offsetAt(ms, timeZone) / 60_000);
  const wall = new Date(Math.floor(ms / 1000) * 1000 + offset * 60_000).toISOString();
  const abs = Math.abs(offset);
  const sign = offset < 0 ? '-' : '+';
  const hhmm = `${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${wall.slice(0, 10)} ${wall.slice(11, 19)} ${sign}${hhmm}`;
}

type Local =
  | { ok: true; at: number }
  | { ok: false; reason: 'gap'; jumpMs: number }
  | { ok: false; reason: 'zone' };

/**
 * The instant at which a clock in `timeZone` shows `wall`. Offsets are sampled a day either side
 * (every transition near `wall` lies between them); each candidate instant that really shows `wall`
 * counts. None: the time falls in a gap. Two: it is ambiguous, and the earlier one is taken.
 */
function fromWallClock(wall: number, timeZone: string): Local {
  let offsets: number[];
  try {
    offsets = [offsetAt(wall - DAY, timeZone), offsetAt(wall, timeZone), offsetAt(wall + DAY, timeZone)];
  } catch {
    return { ok: false, reason: 'zone' };
  }
  const candidates = [...new Set(offsets)]
    .map((offset) => wall - offset)
    .filter((at) => wallClockAt(at, timeZone) === wall)
    .sort((a, b) => a - b);
  const earliest = candidates[0];
  if (earliest !== undefined) return { ok: true, at: earliest };
  const [before = 0, , after = 0] = offsets;
  return { ok: false, reason: 'gap', jumpMs: after - before };
}

/** `2026-11-22 01:30 Europe/Berlin`: instant `ms` on the zone's clock, for messages. */
export function formatWallClock(ms: number, timeZone: string): string {
  try {
    const iso = new Date(wallClockAt(ms, timeZone)).toISOString();
    return `${iso.slice(0, 10)} ${iso.slice(11, 16)} ${zoneName(timeZone)}`;
  } catch {
    return new Date(ms).toISOString();
  }
}
