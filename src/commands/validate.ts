/**
 * Validation of every name and value a command carries, before anything else sees it: whatever passes
 * here matches {@link PATTERNS}, so no shell, SQL or AWS-filter syntax can get through as a name.
 * Each check returns the clean value or a message that says what was wrong and what is allowed.
 */
import { describeChar, echo } from './echo.js';
import { parseDuration } from './time.js';
import type { RestoreMode } from './types.js';

/** A checked value, or why it was refused. */
export type Check<T> = { ok: true; value: T } | { ok: false; error: string };

/** What an accepted value looks like. Every name in a parsed command matches one of these. */
export const PATTERNS = {
  /** Environment and blueprint names: 1–32 lowercase letters, digits, single hyphens; a letter first; no hyphen last. */
  envName: /^(?=.{1,32}$)[a-z](?:-?[a-z0-9])*$/,
  /** EC2 instance ids. */
  instanceId: /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/,
  /** RDS DB instance identifiers, normalised to lowercase (AWS treats them case-insensitively). */
  dbInstance: /^(?=.{1,63}$)[a-z](?:-?[a-z0-9])*$/,
  /** A MySQL schema or table name (no quoting of any kind). */
  identifier: /^[A-Za-z0-9_$]{1,64}$/,
  /** `--version`. */
  version: /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/,
  /** Job ids. */
  jobId: /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
  /** `--reason`: 1–200 characters, none of them a control character. */
  reason: /^[^\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]{1,200}$/u,
} as const;

/** Restore modes, the default first. */
export const RESTORE_MODES: readonly RestoreMode[] = ['side-table', 'merge-missing', 'replace'];

/** Limits of the numeric and duration options. */
export const LIMITS = {
  size: { min: 1, max: 100 },
  hours: { min: 1, max: 336, default: 24 },
  audit: { min: 1, max: 100, default: 20 },
  ttlMs: { min: 15 * 60_000, max: 30 * 86_400_000 },
  reason: { max: 200 },
} as const;

function ok<T>(value: T): Check<T> {
  return { ok: true, value };
}

function no<T>(error: string): Check<T> {
  return { ok: false, error };
}

interface NameRules {
  /** `environment name`. */
  what: string;
  max: number;
  /** Lowercase the input (DB instance identifiers) rather than refuse uppercase. */
  caseInsensitive: boolean;
  /** What is allowed, e.g. `1–32 lowercase letters, …`. */
  allowed: string;
  example: string;
}

/** The rule as one sentence: `Environment names are 1–32 …, e.g. `feature-42`.` */
function ruleOf(rules: NameRules): string {
  return `${capitalise(rules.what)}s are ${rules.allowed}, e.g. \`${rules.example}\`.`;
}

const ENV_RULES: NameRules = {
  what: 'environment name',
  max: 32,
  caseInsensitive: false,
  allowed:
    '1–32 lowercase letters, digits and single hyphens, starting with a letter and not ending with a hyphen',
  example: 'feature-42',
};

const BLUEPRINT_RULES: NameRules = {
  what: 'blueprint name',
  max: 32,
  caseInsensitive: false,
  allowed:
    '1–32 lowercase letters, digits and single hyphens, starting with a letter and not ending with a hyphen',
  example: 'web',
};

const DB_RULES: NameRules = {
  what: 'DB instance identifier',
  max: 63,
  caseInsensitive: true,
  allowed: '1–63 letters, digits and single hyphens, starting with a letter and not ending with a hyphen',
  example: 'orders-db',
};

/** Names made of letters, digits and single hyphens: environments, blueprints, DB instances. */
function checkName(raw: string, rules: NameRules, pattern: RegExp): Check<string> {
  const value = rules.caseInsensitive ? raw.toLowerCase() : raw;
  if (value.length <= rules.max && pattern.test(value)) return ok(value);
  const shown = echo(raw);
  const rule = ruleOf(rules);
  if (raw === '') return no(`The ${rules.what} is empty. ${rule}`);
  const length = [...raw].length;
  if (length > rules.max) {
    return no(
      `${shown} is ${length} characters long, too long for ${article(rules.what)} ${rules.what}. ${rule}`,
    );
  }
  const lower = raw.toLowerCase();
  if (!rules.caseInsensitive && lower.length <= rules.max && pattern.test(lower)) {
    return no(`${capitalise(rules.what)}s are lowercase: use ${echo(lower)} (${rules.allowed}).`);
  }
  return no(`${shown} is not a valid ${rules.what}: ${nameFault(value, rules.caseInsensitive)}. ${rule}`);
}

/** The first thing wrong with a name that failed its pattern. */
function nameFault(value: string, caseInsensitive: boolean): string {
  for (const ch of value) {
    if (/[a-z0-9-]/.test(ch)) continue;
    if (/[A-Z]/.test(ch) && !caseInsensitive) return 'it has uppercase letters';
    if (/[A-Za-z]/.test(ch)) continue;
    return `${describeChar(ch)} is not allowed`;
  }
  if (!/^[a-z]/.test(value)) return 'it must start with a letter';
  if (value.includes('--')) return 'it has two hyphens in a row';
  if (value.endsWith('-')) return 'it must not end with a hyphen';
  return 'it is not allowed';
}

function article(word: string): string {
  return /^[aeiou]/i.test(word) ? 'an' : 'a';
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** An environment name (`/env`, `/lb`). Uppercase is refused, with the lowercase form suggested. */
export function checkEnvName(raw: string): Check<string> {
  return checkName(raw, ENV_RULES, PATTERNS.envName);
}

/** A blueprint name: the same rules as environment names. */
export function checkBlueprint(raw: string): Check<string> {
  return checkName(raw, BLUEPRINT_RULES, PATTERNS.envName);
}

/** An RDS DB instance identifier, lowercased. */
export function checkDbInstance(raw: string): Check<string> {
  return checkName(raw, DB_RULES, PATTERNS.dbInstance);
}

/** An EC2 instance id: `i-` and 8 or 17 lowercase hexadecimal digits. */
export function checkInstanceId(raw: string): Check<string> {
  if (PATTERNS.instanceId.test(raw)) return ok(raw);
  const rule =
    'EC2 instance ids are `i-` followed by 8 or 17 lowercase hexadecimal digits (0–9, a–f), e.g. `i-0abc1234def567890`.';
  const lower = raw.toLowerCase();
  if (raw.length < 20 && PATTERNS.instanceId.test(lower)) {
    return no(`Instance ids are lowercase: use ${echo(lower)}. ${rule}`);
  }
  return no(`${echo(raw)} is not an EC2 instance id. ${rule}`);
}

/** `<schema>.<table>`: exactly one dot; each side 1–64 letters, digits, `_` or `$`; no quoting. */
export function checkSchemaTable(raw: string): Check<{ schema: string; table: string }> {
  const rule = 'Schema and table names are 1–64 letters, digits, `_` and `$` each.';
  const shown = echo(raw);
  if (/[`"'“”‘’]/.test(raw)) {
    return no(`Write the table as \`<schema>.<table>\` without quotes or backticks, e.g. \`shop.billing\`.`);
  }
  const parts = raw.split('.');
  if (parts.length === 1) {
    return no(`${shown} needs its schema: write \`<schema>.<table>\`, e.g. \`shop.billing\`.`);
  }
  if (parts.length > 2) {
    return no(`${shown} has more than one dot: write exactly \`<schema>.<table>\`, e.g. \`shop.billing\`.`);
  }
  const [schema = '', table = ''] = parts;
  for (const [what, name] of [
    ['schema', schema],
    ['table', table],
  ] as const) {
    if (PATTERNS.identifier.test(name)) continue;
    if (name === '') return no(`${shown} has no ${what} name. Write \`<schema>.<table>\`. ${rule}`);
    if (name.length > 64) return no(`The ${what} name in ${shown} is longer than 64 characters. ${rule}`);
    const bad = [...name].find((ch) => !/[A-Za-z0-9_$]/.test(ch)) ?? '';
    return no(`${shown} is not a valid \`<schema>.<table>\`: ${describeChar(bad)} is not allowed. ${rule}`);
  }
  return ok({ schema, table });
}

/** A whole number from `min` to `max`; `label` names it in messages (e.g. ``the `--size` ``). */
export function checkInteger(raw: string, label: string, min: number, max: number): Check<number> {
  const range = `a whole number from ${min} to ${max}`;
  if (!/^\d{1,12}$/.test(raw)) return no(`${label} must be ${range}, not ${echo(raw)}.`);
  const n = Number(raw);
  if (n < min || n > max)
    return no(`${label} must be ${range}; ${n} is ${n < min ? 'too small' : 'too big'}.`);
  return ok(n);
}

/** `--ttl`: a duration from 15 minutes to 30 days, in milliseconds. */
export function checkTtl(raw: string): Check<number> {
  const duration = parseDuration(raw);
  if (!duration.ok) return no(`\`--ttl\`: ${duration.error} It goes from \`15m\` to \`30d\`.`);
  if (duration.ms < LIMITS.ttlMs.min || duration.ms > LIMITS.ttlMs.max) {
    return no(
      `\`--ttl\` must be from \`15m\` to \`30d\`; ${echo(raw)} is ${duration.ms < LIMITS.ttlMs.min ? 'too short' : 'too long'}.`,
    );
  }
  return ok(duration.ms);
}

/** `--version`: a letter or digit, then up to 63 letters, digits, `.`, `_`, `+`, `-`. */
export function checkVersion(raw: string): Check<string> {
  if (PATTERNS.version.test(raw)) return ok(raw);
  return no(
    `${echo(raw)} is not a valid \`--version\`: use up to 64 letters, digits, \`.\`, \`_\`, \`+\` and \`-\`, starting with a letter or digit, e.g. \`1.4.2\`.`,
  );
}

/**
 * `--param K=V`: a template parameter (letters and digits, as CloudFormation names them) and its value
 * (at most 4096 characters, no control characters).
 */
export function checkParam(raw: string): Check<{ key: string; value: string }> {
  const eq = raw.indexOf('=');
  if (eq <= 0) {
    return no(
      `${echo(raw)} is not \`K=V\`: give \`--param\` a parameter name and its value, e.g. \`--param InstanceType=t3.large\`.`,
    );
  }
  const key = raw.slice(0, eq);
  const value = raw.slice(eq + 1);
  if (!/^[A-Za-z0-9]{1,255}$/.test(key)) {
    return no(
      `${echo(key)} is not a template parameter name: letters and digits only, e.g. \`InstanceType\`.`,
    );
  }
  if (value.length > 4096) return no(`\`--param ${key}\` is ${value.length} characters long; at most 4096.`);
  if (/[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/u.test(value)) {
    return no(`\`--param ${key}\` must not contain control characters.`);
  }
  return ok({ key, value });
}

/** `--reason`: 1–200 characters (trimmed), no control characters. */
export function checkReason(raw: string): Check<string> {
  const value = raw.trim();
  if (value === '') return no('`--reason` is empty: give 1–200 characters, e.g. `--reason "kernel patch"`.');
  const length = [...value].length;
  if (length > LIMITS.reason.max) {
    return no(`\`--reason\` is ${length} characters long; it can be at most ${LIMITS.reason.max}.`);
  }
  if (!PATTERNS.reason.test(value)) {
    const bad = [...value].find((ch) => !PATTERNS.reason.test(ch)) ?? '';
    return no(`\`--reason\` must not contain control characters (it has ${describeChar(bad)}).`);
  }
  return ok(value);
}

/** A job id, as Capstan shows it when a job is queued. */
export function checkJobId(raw: string): Check<string> {
  if (PATTERNS.jobId.test(raw)) return ok(raw);
  return no(
    `${echo(raw)} is not a job id: job ids are up to 64 letters, digits, \`.\`, \`_\` and \`-\`, starting with a letter or digit, as shown when the job was queued (see \`/ops jobs\`).`,
  );
}

/** `--mode`: `side-table`, `merge-missing` or `replace` (any case). */
export function checkMode(raw: string, suggest: (word: string) => string | undefined): Check<RestoreMode> {
  const value = raw.toLowerCase();
  const mode = RESTORE_MODES.find((m) => m === value);
  if (mode) return ok(mode);
  const guess = suggest(value);
  return no(
    `\`--mode\` must be \`side-table\` (the default), \`merge-missing\` or \`replace\`, not ${echo(raw)}.${guess ? ` Did you mean \`${guess}\`?` : ''}`,
  );
}
