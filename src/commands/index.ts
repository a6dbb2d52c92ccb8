export { ECHO_LIMIT, echo, escapeSlack, unescapeSlack } from './echo.js';
export {
  COMMAND_HELP,
  type CommandHelp,
  commandsWithSubcommand,
  findHelp,
  type HelpTopic,
  helpText,
  resolveHelpTopic,
  type SubcommandHelp,
  usageOf,
} from './help.js';
export { closest, parseMention, parseSlashCommand } from './parse.js';
export { type DurationResult, formatDuration, parseDuration, parseTime, type TimeResult } from './time.js';
export { type TokenizeResult, tokenize } from './tokenize.js';
export type {
  Command,
  CommandKind,
  EnvCreate,
  EnvDelete,
  EnvExtend,
  EnvList,
  EnvStatus,
  LbDisable,
  LbEnable,
  LbStatus,
  OpsAudit,
  OpsCancel,
  OpsHelp,
  OpsJobs,
  OpsPing,
  ParseContext,
  ParseResult,
  RdsIoCredits,
  RdsRestoreTable,
  RestoreMode,
  UsageProblem,
} from './types.js';
export {
  type Check,
  checkBlueprint,
  checkDbInstance,
  checkEnvName,
  checkInstanceId,
  checkJobId,
  checkReason,
  checkSchemaTable,
  checkVersion,
  LIMITS,
  PATTERNS,
  RESTORE_MODES,
} from './validate.js';
