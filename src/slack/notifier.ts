/**
 * The notifier port: the few Slack Web API calls jobs make, behind a small interface so jobs never
 * see Bolt. {@link createSlackNotifier} implements it over `@slack/web-api`'s WebClient, whose own
 * retry policy handles `ratelimited` (HTTP 429 + Retry-After) and transient HTTP failures.
 */
import { type KnownBlock, WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import { toSlackLogger } from '../observability/logger.js';

/** A message to post. */
export interface OutgoingMessage {
  channel: string;
  text: string;
  blocks?: KnownBlock[];
  threadTs?: string;
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

/** The notifier over a WebClient. */
export function createSlackNotifier(client: WebClient): SlackNotifier {
  return {
    async post({ channel, text, blocks, threadTs }) {
      const res = await client.chat.postMessage({
        channel,
        text,
        ...(blocks ? { blocks } : {}),
        ...(threadTs ? { thread_ts: threadTs } : {}),
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
    async upload({ channel, threadTs, filename, title, data }) {
      const destination = threadTs ? { channel_id: channel, thread_ts: threadTs } : { channel_id: channel };
      await client.files.uploadV2({ ...destination, filename, title, file: data });
    },
  };
}
