/**
 * `POST /aws/sns`: Amazon SNS delivering the signals teams already have — CloudWatch alarms, RDS
 * event subscriptions, Auto Scaling notifications, EventBridge rules — to Capstan over HTTPS
 * (https://docs.aws.amazon.com/sns/latest/dg/sns-http-https-endpoint-as-subscriber.html).
 *
 * Every message is checked before anything else happens: its shape, that its topic is one the
 * configuration lists (`alerts.sns.topics`), that it is recent, and its signature (SignatureVersion
 * 1 or 2, the certificate fetched over HTTPS from an SNS host and cached: `sns-payload-validator`,
 * https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html). Then it is
 * queued (`alerts.signal`, one job per MessageId however often SNS delivers it) and answered: the
 * web process never calls AWS itself, and confirming a subscription (fetching its SubscribeURL) is
 * the job's business.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Agent } from 'node:https';
import type { Logger } from 'pino';
import SnsPayloadValidator from 'sns-payload-validator';
import { z } from 'zod';
import type { ProbeRoute } from '../http/probes.js';
import type { SnsMessage } from '../queue/contract.js';

/** Where SNS posts. */
export const SNS_PATH = '/aws/sns';

/** SNS's largest message is 256 KB; its JSON envelope adds the signature and escaping. */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * How old a message may be. SNS retries a failed HTTP delivery for up to an hour under its default
 * policy's longest custom settings; a message older than that is a replay, not a retry.
 */
export const MAX_MESSAGE_AGE_MS = 60 * 60_000;

/** Clock difference tolerated for a message stamped in the future. */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** How long fetching a signing certificate may take before SNS is told to retry later. */
const CERTIFICATE_TIMEOUT_MS = 5_000;

const envelopeSchema = z.object({
  Type: z.enum(['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation']),
  MessageId: z.string().min(1).max(100),
  TopicArn: z.string().min(1).max(300),
  Subject: z.string().max(100).optional(),
  Message: z.string().max(300 * 1024),
  Timestamp: z.string().max(40),
  SignatureVersion: z.enum(['1', '2']),
  Signature: z.string().min(1).max(4096),
  SigningCertURL: z.string().min(1).max(2048),
  SubscribeURL: z.string().max(4096).optional(),
  Token: z.string().max(4096).optional(),
  UnsubscribeURL: z.string().max(4096).optional(),
});

/** An SNS HTTP delivery's JSON body, as the endpoint accepts it. */
export type SnsEnvelope = z.infer<typeof envelopeSchema>;

/** Checks a parsed body against the envelope the endpoint accepts (shape only: no topic, age or signature check). */
export function parseSnsEnvelope(json: unknown): ReturnType<typeof envelopeSchema.safeParse> {
  return envelopeSchema.safeParse(json);
}

/** What the endpoint needs. */
export interface SnsEndpointOptions {
  /** Topic ARNs accepted (`alerts.sns.topics`), read at each request so a reload takes effect. */
  topics: () => readonly string[];
  /** Queues a checked message; resolves false when this MessageId was queued before. */
  enqueue: (message: SnsMessage) => Promise<{ duplicate: boolean }>;
  logger: Logger;
  /** The HTTPS agent certificates are fetched with (the sandbox's in sandbox mode; Node's default otherwise). */
  agent?: () => Promise<Agent>;
  /** Counts requests by outcome. */
  count?: (outcome: string) => void;
  now?: () => number;
}

/** An answer and why. */
interface Verdict {
  status: number;
  outcome: string;
  reason: string;
}

/** Reads the body, at most `limit` bytes; undefined when it is longer. */
function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        resolve(undefined);
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}

function answer(res: ServerResponse, verdict: Verdict): void {
  if (res.headersSent) return;
  res.writeHead(verdict.status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(verdict.status === 200 ? { status: verdict.outcome } : { error: verdict.reason }));
}

/** The route, as Bolt's `customRoutes` takes it. */
export function snsRoute(options: SnsEndpointOptions): ProbeRoute {
  // Made on first use (the sandbox's agent may not be open yet); a failure to get the agent is a 503.
  let validating: Promise<SnsPayloadValidator> | undefined;
  const validator = () =>
    (validating ??= (async () => {
      const agent = await options.agent?.();
      return new SnsPayloadValidator({
        useCache: true,
        maxCerts: 100,
        ...(agent ? { requestAgent: agent } : {}),
      });
    })().catch((error: unknown) => {
      validating = undefined;
      throw error;
    }));
  const now = options.now ?? Date.now;

  const check = async (req: IncomingMessage): Promise<Verdict> => {
    const headerType = req.headers['x-amz-sns-message-type'];
    if (typeof headerType !== 'string')
      return {
        status: 400,
        outcome: 'refused',
        reason: 'not an SNS message (no x-amz-sns-message-type header)',
      };
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === undefined) return { status: 413, outcome: 'refused', reason: 'message too large' };
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return { status: 400, outcome: 'refused', reason: 'the body is not JSON' };
    }
    const parsed = parseSnsEnvelope(json);
    if (!parsed.success) {
      const field = parsed.error.issues[0]?.path.join('.') || 'body';
      return { status: 400, outcome: 'refused', reason: `not an SNS message (${field})` };
    }
    const msg = parsed.data;
    if (msg.Type !== headerType)
      return { status: 400, outcome: 'refused', reason: 'the message type and its header disagree' };
    const topicHeader = req.headers['x-amz-sns-topic-arn'];
    if (typeof topicHeader === 'string' && topicHeader !== msg.TopicArn)
      return { status: 400, outcome: 'refused', reason: 'the topic and its header disagree' };
    // Only the configured topics: a message from any other is refused before any certificate is fetched.
    if (!options.topics().includes(msg.TopicArn))
      return { status: 403, outcome: 'unknown-topic', reason: 'this topic is not one Capstan accepts' };
    const sent = Date.parse(msg.Timestamp);
    if (!Number.isFinite(sent)) return { status: 400, outcome: 'refused', reason: 'bad Timestamp' };
    if (now() - sent > MAX_MESSAGE_AGE_MS)
      return { status: 400, outcome: 'stale', reason: 'the message is more than an hour old' };
    if (sent - now() > MAX_CLOCK_SKEW_MS)
      return { status: 400, outcome: 'stale', reason: 'the message is dated in the future' };

    const signature = await verify(await validator(), msg);
    if (signature !== 'valid') return signature;

    const { duplicate } = await options.enqueue({
      type: msg.Type,
      messageId: msg.MessageId,
      topicArn: msg.TopicArn,
      ...(msg.Subject ? { subject: msg.Subject } : {}),
      message: msg.Message,
      timestamp: msg.Timestamp,
      ...(msg.SubscribeURL ? { subscribeUrl: msg.SubscribeURL } : {}),
      ...(msg.Token ? { token: msg.Token } : {}),
    });
    return { status: 200, outcome: duplicate ? 'duplicate' : 'accepted', reason: '' };
  };

  return {
    path: SNS_PATH,
    method: 'POST',
    handler: (req, res) => {
      check(req).then(
        (verdict) => {
          options.count?.(verdict.outcome);
          if (verdict.status !== 200)
            options.logger.warn(
              { status: verdict.status, outcome: verdict.outcome },
              `SNS message refused: ${verdict.reason}`,
            );
          answer(res, verdict);
        },
        (error: unknown) => {
          // Redis unreachable, or the like: SNS retries a 5xx.
          options.count?.('error');
          options.logger.error({ err: error }, 'SNS message could not be taken');
          answer(res, { status: 503, outcome: 'error', reason: 'Capstan could not take the message now' });
        },
      );
    },
  };
}

/** Checks the signature; a certificate that cannot be fetched now is a 503 (SNS retries). */
async function verify(validator: SnsPayloadValidator, msg: SnsEnvelope): Promise<Verdict | 'valid'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), CERTIFICATE_TIMEOUT_MS);
  });
  try {
    const result = await Promise.race([validator.validate(msg as SnsPayloadValidator.SnsPayload), timeout]);
    if (result === 'timeout')
      return {
        status: 503,
        outcome: 'certificate-unavailable',
        reason: 'the signing certificate could not be fetched in time',
      };
    return 'valid';
  } catch (error) {
    const message = (error as Error).message;
    if (/SigningCertURL/i.test(message))
      return {
        status: 403,
        outcome: 'bad-signature',
        reason: 'the signing certificate is not on an SNS host',
      };
    if (/Signature/i.test(message))
      return { status: 403, outcome: 'bad-signature', reason: 'the signature does not verify' };
    return {
      status: 503,
      outcome: 'certificate-unavailable',
      reason: 'the signing certificate could not be fetched',
    };
  } finally {
    clearTimeout(timer);
  }
}
