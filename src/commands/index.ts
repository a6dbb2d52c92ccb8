export { COMMAND_HELP, findHelp, helpText, usageOf } from './help.js';
export { closest, parseMention, parseSlashCommand } from './parse.js';
export type { Command, CommandKind, ParseResult, UsageProblem } from './types.js';
