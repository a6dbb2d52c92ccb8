/** Typed commands: what a person asked for, after parsing and validation (pure data, JSON-safe). */

/** `/ops ping`: proves the whole path from Slack to a worker and back. */
export interface OpsPing {
  kind: 'ops.ping';
}

/** `/ops help [command]`. */
export interface OpsHelp {
  kind: 'ops.help';
  topic?: string;
}

/** Every command Capstan understands. */
export type Command = OpsPing | OpsHelp;

/** A command's kind, e.g. `ops.ping`. */
export type CommandKind = Command['kind'];

/** Why a command text could not be parsed, with the usage to show. */
export interface UsageProblem {
  /** What was wrong, in one sentence. */
  message: string;
  /** The usage lines of the command the person was trying to use. */
  usage: string;
}

/** The outcome of parsing: a command or a usage problem, never an exception. */
export type ParseResult = { ok: true; command: Command } | { ok: false; problem: UsageProblem };
