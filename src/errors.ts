/**
 * Coded errors. A {@link UserError} is shown to the person who asked, word for word; any other error
 * is internal: logged in full, and summarised to the user by {@link describeForUser}.
 */

/** Every error Capstan raises on purpose carries one of these codes. */
export enum ErrorCode {
  ConfigInvalid = 'capstan_config_invalid',
  UsageError = 'capstan_usage_error',
  Forbidden = 'capstan_forbidden',
  NotFound = 'capstan_not_found',
  Conflict = 'capstan_conflict',
  Cancelled = 'capstan_cancelled',
  Internal = 'capstan_internal',
}

/** Base class: an error with a stable, machine-readable code. */
export class CapstanError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(redactSecrets(message), options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** An error whose message is meant for the person who asked, as is (no internals, no secrets). */
export class UserError extends CapstanError {
  constructor(message: string, code: ErrorCode = ErrorCode.UsageError, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** The configuration (environment variables or YAML file) is wrong; the message says where and how. */
export class ConfigError extends CapstanError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(
      ErrorCode.ConfigInvalid,
      `Capstan's configuration is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.problems = problems;
  }
}

/** A job was cancelled on request; processors clean up and report "cancelled". */
export class CancelledError extends CapstanError {
  constructor(message = 'cancelled on request') {
    super(ErrorCode.Cancelled, message);
  }
}

/** Wraps anything thrown into a {@link CapstanError}, keeping the original as `cause`. */
export function asCodedError(error: unknown): CapstanError {
  if (error instanceof CapstanError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new CapstanError(ErrorCode.Internal, message, { cause: error });
}

/**
 * What a user is told about an error: a UserError's own words; for anything else a short,
 * secret-free summary (the details go to the log, not to Slack).
 */
export function describeForUser(error: unknown): string {
  if (error instanceof UserError || error instanceof CancelledError) return error.message;
  const coded = asCodedError(error);
  const first = coded.message.split('\n')[0]?.slice(0, 300) ?? '';
  return `internal error (${coded.code}): ${first}`;
}

// Slack tokens (https://api.slack.com/authentication/token-types), AWS access key ids, passwords in
// URLs and secret-looking key=value pairs are masked wherever a message may leave the process.
const secretPatterns: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b(xox[abposr]|xapp)-[A-Za-z0-9-]+/g, '$1-***'],
  [/\b(AKIA|ASIA)[A-Z0-9]{16}\b/g, '$1***'],
  [/(\/\/[^:/@\s]*:)[^@\s]+@/g, '$1***@'],
  [/\b(password|passwd|secret|token)(\s*[=:]\s*)[^\s,;&]+/gi, '$1$2***'],
];

/** Masks anything that looks like a credential in a piece of text. */
export function redactSecrets(text: string): string {
  return secretPatterns.reduce((out, [pattern, replacement]) => out.replace(pattern, replacement), text);
}
