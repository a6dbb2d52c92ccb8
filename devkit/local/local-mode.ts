/**
 * Local mode: Capstan with no Slack workspace and no AWS account. It refuses to start when real
 * AWS credentials are set (unless told otherwise); Redis and MariaDB come from `scripts/services`;
 * AWS is the sandbox, seeded with the demo world (devkit/local/demo) and run with the demo
 * configuration unless `CAPSTAN_CONFIG` names another; Slack's Web API is the local stand-in.
 * People use Capstan from the browser console, or from the terminal: type `/ops ping` and the
 * line is sent to Capstan's own `/slack/events` as a signed request, exactly as Slack would send
 * it; every message Capstan posts or edits is printed.
 */
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import { type Config, readConfig, readRedisConfig } from '../../src/config.js';
import { createRedis, type RedisClient } from '../../src/redis.js';
import { startConsole } from './console/server.js';
import {
  DEMO_ALARM_TOPIC_ARN,
  DEMO_BURST_ALARM,
  DEMO_BURST_THRESHOLD,
  DEMO_CHANNELS,
  DEMO_CONFIG_PATH,
  DEMO_DB_PASSWORD_VARIABLE,
  DEMO_USERS,
  type DemoChannel,
  type DemoUser,
  type DemoWorld,
  localAwsRefusal,
  ORDERS_DB,
  startDemoWorld,
} from './demo/index.js';
import { startRedis } from './services.js';
import { appMentionEventBody, postToSlackEndpoint, slashCommandBody } from './signed-request.js';
import { type FakeMessage, type FakeSlack, messageText, startFakeSlack } from './slack-api.js';

/** The user and channel the terminal speaks as when no demo cast is configured. */
export const LOCAL_USER = 'U0LOCAL';
export const LOCAL_CHANNEL = 'C0LOCAL';

/** Local mode must not start (real AWS credentials without the override); the message says why and what to do. */
export class LocalModeRefused extends Error {
  override readonly name = 'LocalModeRefused';
}

/** What local mode started for Capstan. */
export interface LocalWorld {
  config: Config;
  slack: FakeSlack;
  /** People to act as (the first is the default) and channels to show (the first is where commands go). */
  users: readonly DemoUser[];
  channels: readonly DemoChannel[];
  /** The demo world, when local mode runs on it (the sandbox and the demo configuration). */
  demo?: DemoWorld;
  stop(): Promise<void>;
}

/**
 * Starts what local mode needs (Redis unless REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS is set, the demo world, the Slack
 * stand-in) and returns the configuration to run with.
 * @throws LocalModeRefused when real AWS credentials are set without `CAPSTAN_LOCAL_ALLOW_AWS=1`
 */
export async function prepareLocalMode(
  config: Config,
  env: NodeJS.ProcessEnv,
  logger: Logger,
): Promise<LocalWorld> {
  const refusal = localAwsRefusal(env);
  if (refusal) throw new LocalModeRefused(refusal);

  let redis = config.redis;
  if (!env.REDIS_URL && !env.REDIS_CLUSTER_NODES && !env.REDIS_SENTINELS) {
    logger.info('local mode: starting redis-server via scripts/services');
    redis = readRedisConfig({ REDIS_URL: (await startRedis()).url });
  }

  let runConfig: Config = { ...config, redis };
  let demo: DemoWorld | undefined;
  let demoRedis: RedisClient | undefined;
  const useDemo = !config.configPath && config.aws.mode === 'sandbox';
  if (useDemo) {
    demoRedis = createRedis(redis, { name: 'capstan-local-demo' });
    demoRedis.on('error', (err) => logger.warn({ err }, 'redis (demo world) connection error'));
    try {
      demo = await startDemoWorld({ redis: demoRedis, prefix: config.queuePrefix, logger });
      // The demo configuration, with orders-db's password from the server just started.
      const demoConfig = readConfig({
        ...env,
        CAPSTAN_CONFIG: DEMO_CONFIG_PATH,
        [DEMO_DB_PASSWORD_VARIABLE]: demo.ordersDb.server.password,
      });
      runConfig = { ...demoConfig, redis };
    } catch (error) {
      await demo?.stop();
      demoRedis.disconnect();
      throw error;
    }
  } else {
    logger.info(
      { config: config.configPath, aws: config.aws.mode },
      'local mode: no demo world (CAPSTAN_CONFIG is set, or AWS is not the sandbox)',
    );
  }

  const users = useDemo ? DEMO_USERS : [{ id: LOCAL_USER, name: 'you', title: 'local user' }];
  const channels = useDemo ? DEMO_CHANNELS : [{ id: LOCAL_CHANNEL, name: 'local' }];
  const slack = await startFakeSlack({
    users: Object.fromEntries(
      users.map((u) => [u.id, { name: u.name, real_name: u.name, profile: { display_name: u.name } }]),
    ),
    channels: Object.fromEntries(channels.map((c) => [c.id, { name: c.name }])),
  });
  return {
    config: {
      ...runConfig,
      slack: { ...runConfig.slack, apiUrl: runConfig.slack.apiUrl ?? slack.url },
    },
    slack,
    users,
    channels,
    ...(demo ? { demo } : {}),
    async stop() {
      await demo?.stop();
      demoRedis?.disconnect();
      await slack.close();
    },
  };
}

/** What {@link localModeBanner} prints. */
export interface BannerFacts {
  /** Capstan's HTTP address (`http://127.0.0.1:<port>`). */
  baseUrl: string;
  /** The console's address, when the console runs. */
  consoleUrl?: string;
  users: readonly DemoUser[];
  channels: readonly DemoChannel[];
  demo?: DemoWorld;
  /** Now (epoch ms), for the suggested restore time. */
  now: number;
}

/**
 * The text local mode prints once it is up: where it listens (loopback only), the console, the
 * demo cast and world, and commands to try. Pure.
 */
export function localModeBanner(facts: BannerFacts): string {
  const lines = [
    '',
    'Capstan local mode: no Slack workspace, no AWS account; nothing leaves this machine.',
    `  Listening on loopback only (127.0.0.1): ${facts.baseUrl}/slack/events`,
    facts.consoleUrl
      ? `  Console:  ${facts.consoleUrl}   (channels, Capstan's Home tab, Workflow steps)`
      : '  Console:  not available in this build; the terminal below is your Slack client',
    `  Users:    ${facts.users.map((u) => `${u.name} (${u.id}, ${u.title})`).join(', ')}`,
    `  Channels: ${facts.channels.map((c) => `#${c.name} (${c.id})`).join(', ')}`,
  ];
  const demo = facts.demo;
  if (demo) {
    const db = demo.ordersDb;
    lines.push(
      `  Sandbox:  prod (3 instances behind web-tg, protected), blueprints web and shop (a stack), ${ORDERS_DB} (gp2 100 GiB, MariaDB on 127.0.0.1:${db.server.port}, ${db.origin})`,
      `  Alarms:   CloudWatch alarm ${DEMO_BURST_ALARM} (BurstBalance < ${DEMO_BURST_THRESHOLD} % over 3 × 5 min) → SNS topic ${DEMO_ALARM_TOPIC_ARN.split(':').at(-1)} → ${facts.baseUrl}/aws/sns,`,
      `            signed and subscribed as AWS does; its ALARM arrives within a minute of start-up (the balance is already low)`,
      '',
      'Try:',
      '  /env list                      /env create demo --size 1',
      '  /env create shop-1 --blueprint shop --version 1.0.0   then /env status shop-1, /env update shop-1 --version 1.1.0',
      '  /lb disable prod               (needs carol’s approval)',
      '  /rds io-credits orders-db',
    );
    const incident = db.state.incident;
    if (incident) {
      // Five minutes before the clean-up, in whole minutes from now: still inside the window.
      const minutesAgo = Math.ceil((facts.now - incident.at) / 60_000) + 5;
      lines.push(
        `  /rds restore-table orders-db shop.billing --at "${minutesAgo}m ago"   (${incident.deleted} invoices were deleted and ${incident.zeroed} zeroed ${Math.round((facts.now - incident.at) / 60_000)} min ago)`,
      );
    }
  }
  lines.push(
    '',
    'Redis and MariaDB keep running after Ctrl-C, so the next start reuses them; `scripts/services down all` stops them.',
    '',
  );
  return lines.join('\n');
}

/** What {@link openLocalClients} opened. */
export interface LocalClients {
  /** The console's address, when it started. */
  consoleUrl?: string;
  close(): Promise<void>;
}

/**
 * Opens the ways into a running local-mode Capstan: the browser console (on the port after
 * Capstan's, or any free one), and the terminal as a Slack client (as the first user, in the
 * first channel); then prints where everything is.
 */
export async function openLocalClients(
  local: LocalWorld,
  options: { port: number; logger: Logger; output?: NodeJS.WritableStream },
): Promise<LocalClients> {
  const { logger } = options;
  const baseUrl = `http://127.0.0.1:${options.port}`;
  const eventsUrl = `${baseUrl}/slack/events`;
  const signingSecret = local.config.slack.signingSecret;
  const consoleOptions = {
    slack: local.slack,
    eventsUrl,
    signingSecret,
    users: local.users,
    channels: local.channels,
  };
  let consoleServer: Awaited<ReturnType<typeof startConsole>> | undefined;
  try {
    // A steady address (Capstan's port + 1) when that port is free; any free port otherwise.
    const preferred = options.port > 0 && options.port < 65_535 ? options.port + 1 : 0;
    consoleServer = await startConsole({ ...consoleOptions, port: preferred }).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || preferred === 0) throw err;
      return startConsole({ ...consoleOptions, port: 0 });
    });
  } catch (err) {
    logger.warn({ err }, 'local mode: the console could not start; the terminal still works');
  }
  logger.info(
    { url: eventsUrl, console: consoleServer?.url, slackApi: local.config.slack.apiUrl },
    'local mode: no Slack credentials set; listening on loopback only',
  );
  const output = options.output ?? process.stdout;
  output.write(
    localModeBanner({
      baseUrl,
      ...(consoleServer ? { consoleUrl: consoleServer.url } : {}),
      users: local.users,
      channels: local.channels,
      ...(local.demo ? { demo: local.demo } : {}),
      now: Date.now(),
    }),
  );
  // The demo's alarm publishes to Capstan's own /aws/sns, once Capstan has confirmed the subscription.
  local.demo?.connectAlarms(`${baseUrl}/aws/sns`).then(
    (outcome) => logger.debug({ outcome }, 'local mode: demo alarm connected'),
    () => undefined,
  );
  const detachTerminal = attachTerminal({
    slack: local.slack,
    eventsUrl,
    signingSecret,
    users: local.users,
    ...(local.channels[0] ? { channel: local.channels[0] } : {}),
    output,
  });
  return {
    ...(consoleServer ? { consoleUrl: consoleServer.url } : {}),
    async close() {
      detachTerminal();
      await consoleServer?.close();
    },
  };
}

function printMessage(out: NodeJS.WritableStream, message: FakeMessage, kind: 'posted' | 'updated'): void {
  const where =
    message.thread_ts && message.thread_ts !== message.ts ? `thread ${message.thread_ts}` : 'channel';
  const text = messageText(message).replace(/\n+/g, '\n    ');
  out.write(
    `\n[#${message.channel} ${where}] ${kind === 'posted' ? 'capstan' : 'capstan (edited)'}:\n    ${text}\n`,
  );
}

/**
 * Reads commands from the terminal and prints Capstan's messages. Lines starting with `/` are slash
 * commands; `@capstan …` is a mention; `as <name>: <line>` sends the line as another of `users`.
 * Returns a function that stops reading.
 */
export function attachTerminal(opts: {
  slack: FakeSlack;
  eventsUrl: string;
  signingSecret: string;
  /** People to speak as; the first is the default. Default: one local user. */
  users?: readonly DemoUser[];
  /** Where commands are sent. Default: a local channel. */
  channel?: DemoChannel;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
}): () => void {
  const output = opts.output ?? process.stdout;
  const users = opts.users?.length ? opts.users : [{ id: LOCAL_USER, name: 'you', title: 'local user' }];
  const me = users[0] as DemoUser;
  const channel = opts.channel ?? { id: LOCAL_CHANNEL, name: 'local' };
  const onMessage = (message: FakeMessage, kind: 'posted' | 'updated') => printMessage(output, message, kind);
  opts.slack.events.on('message', onMessage);
  const rl = createInterface({ input: opts.input ?? process.stdin, terminal: false });
  let mentions = 0;
  rl.on('line', (raw) => {
    let line = raw.trim();
    if (!line) return;
    let user = me;
    const as = /^as\s+@?([\w.-]+)\s*:\s*(.*)$/i.exec(line);
    if (as) {
      const who = users.find((u) => u.name === as[1]?.toLowerCase() || u.id === as[1]?.toUpperCase());
      if (!who) {
        output.write(`No one called ${as[1]}; try ${users.map((u) => u.name).join(', ')}.\n`);
        return;
      }
      user = who;
      line = as[2]?.trim() ?? '';
    }
    const who = { userId: user.id, userName: user.name, channelId: channel.id, channelName: channel.name };
    let body: string;
    if (line.startsWith('@capstan')) {
      mentions += 1;
      body = appMentionEventBody({
        userId: user.id,
        channelId: channel.id,
        text: line.replace(/^@capstan/, '<@U0CAPSTAN>'),
        ts: `${(Date.now() / 1000).toFixed(6)}`,
        eventId: `Ev0LOCAL${Date.now()}${mentions}`,
      });
    } else if (line.startsWith('/')) {
      const [command = '', ...rest] = line.split(/\s+/);
      body = slashCommandBody({ command, text: rest.join(' '), ...who });
    } else {
      output.write('Type a slash command such as /ops ping, or @capstan ops help.\n');
      return;
    }
    postToSlackEndpoint(opts.eventsUrl, body, { secret: opts.signingSecret }).then(
      (res) => {
        const reply = res.body ? safeText(res.body) : '';
        output.write(`[${res.status} in ${res.ms.toFixed(0)} ms]${reply ? ` (only you) ${reply}` : ''}\n`);
      },
      (err: unknown) => output.write(`could not reach Capstan: ${String(err)}\n`),
    );
  });
  const others = users.slice(1).map((u) => u.name);
  output.write(
    `\nIn this terminal you are ${me.name} (<@${me.id}>) in #${channel.name}.\n` +
      'Type /ops help, /ops ping or @capstan ops ping and press Enter' +
      (others.length > 0 ? `; \`as ${others.at(-1)}: /ops ping\` speaks as someone else` : '') +
      '. Ctrl-C stops.\n\n',
  );
  return () => {
    rl.close();
    opts.slack.events.off('message', onMessage);
  };
}

function safeText(body: string): string {
  try {
    const parsed = JSON.parse(body) as { text?: unknown };
    return typeof parsed.text === 'string' ? parsed.text : body;
  } catch {
    return body;
  }
}
