/**
 * The notifier port: the few Slack Web API calls jobs make, behind a small interface so jobs never
 * see Bolt. {@link createSlackNotifier} implements it over `@slack/web-api`'s WebClient, whose own
 * retry policy handles `ratelimited` (HTTP 429 + Retry-After) and transient HTTP failures.
 */
import { type HomeView, type KnownBlock, type MessageMetadata, WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import { toSlackLogger } from '../observability/logger.js';

/** A message to post. */
export interface OutgoingMessage {
  channel: string;
  text: string;
  blocks?: KnownBlock[];
  threadTs?: string;
  /** Message metadata (https://docs.slack.dev/messaging/message-metadata), e.g. which job posted it. */
  metadata?: MessageMetadata;
}

/** Where to look for messages by their metadata; see {@link SlackNotifier.findByMetadata}. */
export interface MetadataQuery {
  channel: string;
  /** Look among the replies in this thread; absent: among the channel's top-level messages. */
  threadTs?: string;
  /** Only messages posted since this time (epoch seconds). */
  oldest: number;
  /** Only messages whose metadata has this `event_type`. */
  eventType: string;
}

/** A message found by its metadata. */
export interface FoundMessage {
  ts: string;
  metadata: MessageMetadata;
}

/** A file to upload into a channel or thread (e.g. a chart). */
export interface OutgoingFile {
  channel: string;
  threadTs?: string;
  filename: string;
  title: string;
  data: Buffer;
}

/** What jobs may say to Slack. */
export interface SlackNotifier {
  /** Posts a message; returns its `ts`. */
  post(message: OutgoingMessage): Promise<{ ts: string }>;
  /** Replaces the text and blocks of the message `ts`. */
  update(message: Omit<OutgoingMessage, 'threadTs'> & { ts: string }): Promise<void>;
  /** Uploads a file. */
  upload(file: OutgoingFile): Promise<void>;
  /** A link to a message, for pointing one thread at another. */
  permalink(channel: string, ts: string): Promise<string>;
  /**
   * A link to a message built from the workspace's address (`auth.test`, asked once) in the form
   * Slack's permalinks take, `…/archives/<channel>/p<ts>`: for pages of links (a Home tab) without
   * one `chat.getPermalink` each. Undefined when the address cannot be had.
   */
  messageLink(channel: string, ts: string): Promise<string | undefined>;
  /** Publishes `view` as `userId`'s App Home tab (https://docs.slack.dev/reference/methods/views.publish). */
  publishHome(userId: string, view: HomeView): Promise<void>;
  /**
   * Messages carrying metadata of `eventType` posted since `oldest`, oldest first: how a job resumed
   * after a crash finds a message it posted but did not get to checkpoint (Slack has no idempotency
   * key for chat.postMessage). Reads history: needs the channels:history / groups:history scopes.
   * Optional: without it a resumed job posts again.
   */
  findByMetadata?(query: MetadataQuery): Promise<FoundMessage[]>;
}

/** Options for the Slack Web API client shared by the web and worker sides. */
export interface SlackClientOptions {
  token: string;
  apiUrl?: string;
  logger: Logger;
}

/** Builds the WebClient Capstan uses: our base URL, our logger, Slack's own retry policy. */
export function createSlackClient({ token, apiUrl, logger }: SlackClientOptions): WebClient {
  return new WebClient(token, {
    ...(apiUrl ? { slackApiUrl: apiUrl } : {}),
    logger: toSlackLogger(logger, 'slack-web-api'),
    // Retries 429s after Retry-After and transient HTTP errors with backoff, for up to ~5 minutes.
    retryConfig: { retries: 12, factor: 1.6, minTimeout: 250, maxTimeout: 30_000, randomize: true },
    timeout: 15_000,
  });
}

/** Messages per page, and pages at most, that {@link SlackNotifier.findByMetadata} reads. */
const LOOKUP_PAGE = 200;
const LOOKUP_PAGES = 5;

/** The notifier over a WebClient. */
export function createSlackNotifier(client: WebClient): SlackNotifier {
  let workspaceUrl: Promise<string | undefined> | undefined;
  return {
    async post({ channel, text, blocks, threadTs, metadata }) {
      const res = await client.chat.postMessage({
        channel,
        text,
        ...(blocks ? { blocks } : {}),
        ...(threadTs ? { thread_ts: threadTs } : {}),
        ...(metadata ? { metadata } : {}),
        unfurl_links: false,
        unfurl_media: false,
      });
      if (!res.ts) throw new Error('chat.postMessage returned no ts');
      return { ts: res.ts };
    },
    async update({ channel, ts, text, blocks }) {
      await client.chat.update({ channel, ts, text, ...(blocks ? { blocks } : {}) });
    },
    async permalink(channel, ts) {
      const res = await client.chat.getPermalink({ channel, message_ts: ts });
      if (!res.permalink) throw new Error('chat.getPermalink returned no permalink');
      return res.permalink;
    },
    async messageLink(channel, ts) {
      workspaceUrl ??= client.auth.test().then(
        (res) =>
          typeof res.url === 'string' && /^https:\/\/[^\s|<>]+\/$/.test(res.url) ? res.url : undefined,
        () => undefined,
      );
      const base = await workspaceUrl;
      // Asked again next time when Slack did not answer.
      if (!base) workspaceUrl = undefined;
      return base ? `${base}archives/${channel}/p${ts.replace('.', '')}` : undefined;
    },
    async publishHome(userId, view) {
      await client.views.publish({ user_id: userId, view });
    },
    async findByMetadata({ channel, threadTs, oldest, eventType }) {
      // https://docs.slack.dev/reference/methods/conversations.history (newest first) and
      // conversations.replies (the parent, then its replies oldest first); metadata only on request.
      const found: FoundMessage[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < LOOKUP_PAGES; page++) {
        const args = {
          channel,
          oldest: String(oldest),
          include_all_metadata: true,
          limit: LOOKUP_PAGE,
          ...(cursor ? { cursor } : {}),
        };
        const res = threadTs
          ? await client.conversations.replies({ ...args, ts: threadTs })
          : await client.conversations.history(args);
        for (const message of res.messages ?? []) {
          const { ts, metadata } = message;
          if (!ts || (threadTs && ts === threadTs) || metadata?.event_type !== eventType) continue;
          const payload = (metadata.event_payload ?? {}) as MessageMetadata['event_payload'];
          found.push({ ts, metadata: { event_type: eventType, event_payload: payload } });
        }
        cursor = res.response_metadata?.next_cursor;
        if (!res.has_more || !cursor) break;
      }
      return found.sort((a, b) => compareTs(a.ts, b.ts));
    },
    async upload({ channel, threadTs, filename, title, data }) {
      const destination = threadTs ? { channel_id: channel, thread_ts: threadTs } : { channel_id: channel };
      await client.files.uploadV2({ ...destination, filename, title, file: data });
    },
  };
}

/** Orders two Slack timestamps (`seconds.micros`) without the rounding of parsing them as numbers. */
export function compareTs(a: string, b: string): number {
  const [as = '', af = ''] = a.split('.');
  const [bs = '', bf = ''] = b.split('.');
  const key = (s: string, f: string) => `${s.padStart(12, '0')}.${f.padEnd(6, '0')}`;
  const ka = key(as, af);
  const kb = key(bs, bf);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
