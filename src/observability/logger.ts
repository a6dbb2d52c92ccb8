/** Structured JSON logs (pino), with credentials redacted wherever they might appear. */
import { LogLevel, type Logger as SlackLogger } from '@slack/web-api';
import { type Logger, type LoggerOptions, pino } from 'pino';
import { redactSecrets } from '../errors.js';

/** Builds the process logger. */
export function createLogger(
  level: LoggerOptions['level'] = 'info',
  destination?: pino.DestinationStream,
): Logger {
  const options: LoggerOptions = {
    level,
    base: { service: 'capstan', pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        'token',
        '*.token',
        'botToken',
        '*.botToken',
        'signingSecret',
        '*.signingSecret',
        'appToken',
        '*.appToken',
        'password',
        '*.password',
        'headers.authorization',
        '*.headers.authorization',
        'headers["x-slack-signature"]',
      ],
      censor: '***',
    },
    formatters: {
      log(object) {
        // Error messages can quote a URL or a request: mask secrets in them too.
        if (typeof object.msg === 'string') object.msg = redactSecrets(object.msg);
        return object;
      },
    },
    serializers: {
      err: (err: unknown) => {
        const e = pino.stdSerializers.err(err as Error);
        return {
          ...e,
          message: redactSecrets(e.message),
          stack: e.stack ? redactSecrets(e.stack) : undefined,
        };
      },
    },
    hooks: {
      logMethod(args, method) {
        // Redact the message argument; pino's redact covers only object fields.
        const masked = args.map((a) => (typeof a === 'string' ? redactSecrets(a) : a)) as typeof args;
        method.apply(this, masked);
      },
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Adapts a pino logger to the logger interface Slack's SDKs (Bolt, WebClient) take. */
export function toSlackLogger(logger: Logger, component: string): SlackLogger {
  const child = logger.child({ component });
  const line = (msg: unknown[]) => msg.map(String).join(' ');
  let level: LogLevel = LogLevel.INFO;
  return {
    debug: (...msg: unknown[]) => child.debug(line(msg)),
    info: (...msg: unknown[]) => child.info(line(msg)),
    warn: (...msg: unknown[]) => child.warn(line(msg)),
    error: (...msg: unknown[]) => child.error(line(msg)),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}
