/**
 * The sandbox's SNS, as far as an HTTP(S) subscriber sees it: topics and HTTP/HTTPS subscriptions in
 * the sandbox world, messages signed exactly as AWS signs them (sns-payload-validator accepts them),
 * SubscriptionConfirmation and Notification POSTs to loopback endpoints, and a loopback HTTPS endpoint
 * that answers as `sns.<region>.amazonaws.com`: the signing certificate at its SigningCertURL path,
 * and the SubscribeURL / UnsubscribeURL actions.
 *
 * What the product gets (src/stand-ins.ts, `snsStandIn`): an `https.Agent` that connects every
 * `sns.<region>.amazonaws.com(.cn)` request to that endpoint over TLS, trusting only the sandbox's
 * CA, and refuses any other host, so nothing leaves the machine. Passed to sns-payload-validator as
 * `requestAgent`, and used to GET a SubscribeURL, it makes Capstan's own verification and
 * confirmation code run unchanged. The stand-in also runs the sandbox's CloudWatch alarm evaluator
 * (alarm-evaluator.ts), publishing alarm notifications through this SNS.
 *
 *   const sns = await openSnsStandIn({ redis, prefix: '{capstan}' });
 *   await new Validator({ requestAgent: sns.agent }).validate(body);
 *
 * The identity (CA, TLS and signing certificates) is made once and shared through Redis
 * (sns-identity.ts); messages are signed with SignatureVersion 2 unless the topic says 1.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { Logger } from 'pino';
import type { RedisClient } from '../../src/redis.js';
import {
  type AlarmEvaluator,
  DEFAULT_ALARM_INTERVAL_MS,
  type DeliveryResult,
  evaluateAlarmsOnce,
  type PublishedTransition,
  startAlarmEvaluator,
} from './alarm-evaluator.js';
import { worldNow } from './lifecycle.js';
import { SNS_HOST_PATTERN } from './regions.js';
import { loadSnsIdentity, type SnsIdentity } from './sns-identity.js';
import {
  confirmationText,
  confirmSubscriptionXml,
  type SnsErrorAnswer,
  type SnsHttpMessage,
  type SnsMessageFields,
  signSnsMessage,
  snsErrorXml,
  snsMessageBody,
  snsMessageHeaders,
  unsubscribeXml,
} from './sns-messages.js';
import {
  addSubscription,
  CONFIRMATION_RETRY_MS,
  checkEndpoint,
  confirmationsDue,
  confirmSubscription,
  ensureTopic,
  recordConfirmationDelivery,
  removeSubscription,
} from './sns-world.js';
import { WorldStore } from './store.js';
import type { SnsSubscriptionState, SnsTopicState } from './world.js';

export type { DeliveryResult, PublishedTransition } from './alarm-evaluator.js';
export type { SnsIdentity } from './sns-identity.js';
export type { SnsHttpMessage, SnsMessageFields } from './sns-messages.js';

/** How long a delivery waits for the endpoint (SNS gives an HTTP endpoint 15 seconds). */
const DELIVERY_TIMEOUT_MS = 15_000;

export interface SnsSandboxOptions {
  /** The Redis holding the sandbox world (and the SNS identity). */
  redis: RedisClient;
  /** Key prefix, e.g. `{capstan}`. */
  prefix: string;
  /** The process clock (epoch ms); the world's clock offset is added for world times. Default Date.now. */
  clock?: () => number;
  logger?: Logger;
}

/** The sandbox's SNS, without an endpoint of its own (signing, topics, subscriptions, deliveries). */
export interface SnsSandbox {
  readonly identity: SnsIdentity;
  /**
   * A full SNS message body signed as AWS signs it (SignatureVersion 2 unless said; Timestamp is the
   * process clock, as SNS stamps a message when it sends it).
   */
  sign(fields: SnsMessageFields): SnsHttpMessage;
  /** Creates a topic (idempotent). */
  createTopic(arn: string, options?: { signatureVersion?: '1' | '2' }): Promise<void>;
  /** The topic as the world has it. */
  topic(arn: string): Promise<SnsTopicState | undefined>;
  /**
   * Subscribes a loopback HTTP(S) endpoint and POSTs it a signed SubscriptionConfirmation (a new or
   * still pending subscription; a confirmed one is left alone; none when one was sent in the last
   * 10 s). Refuses non-loopback endpoints.
   */
  subscribe(
    topicArn: string,
    endpoint: string,
  ): Promise<{ subscription: SnsSubscriptionState; confirmation?: DeliveryResult }>;
  /** Removes a subscription; false when there was none. */
  unsubscribe(subscriptionArn: string): Promise<boolean>;
  /** POSTs a signed Notification to each confirmed subscription of the topic; one result per subscription. */
  publish(topicArn: string, message: { subject?: string; message: string }): Promise<DeliveryResult[]>;
  /**
   * POSTs the SubscriptionConfirmation of pending subscriptions that never reached their endpoint
   * (seeded ones; the endpoint was down), at most every 10 s each across processes.
   */
  deliverPendingConfirmations(): Promise<DeliveryResult[]>;
}

/** Opens the sandbox's SNS over the world in Redis (making the identity the first time). */
export async function openSnsSandbox(options: SnsSandboxOptions): Promise<SnsSandbox> {
  const { redis, prefix, logger } = options;
  const clock = options.clock ?? Date.now;
  const identity = await loadSnsIdentity(redis, prefix);
  const store = new WorldStore(redis, prefix);

  const sign = (fields: SnsMessageFields) => signSnsMessage(fields, identity, clock());

  /** One process sends a subscription's confirmation at a time, and at most every 10 s. */
  const claimConfirmation = async (subscriptionArn: string) =>
    (await redis.set(
      `${prefix}:sandbox:sns:confirm-claim:${subscriptionArn}`,
      '1',
      'PX',
      CONFIRMATION_RETRY_MS,
      'NX',
    )) === 'OK';

  async function sendConfirmation(
    topicArn: string,
    subscription: SnsSubscriptionState,
  ): Promise<DeliveryResult> {
    const topic = (await store.read()).snsTopics?.[topicArn];
    const message = sign({
      Type: 'SubscriptionConfirmation',
      TopicArn: topicArn,
      Token: subscription.token,
      Message: confirmationText(topicArn),
      SignatureVersion: topic?.signatureVersion ?? '2',
    });
    const result = await deliver(subscription.endpoint, message, subscription.arn);
    await store.transact((world) =>
      recordConfirmationDelivery(world, subscription.arn, result, worldNow(world, clock())),
    );
    if (result.error || !result.status || result.status >= 300)
      logger?.warn(
        { topicArn, endpoint: subscription.endpoint, status: result.status, error: result.error },
        'sandbox: the endpoint did not take its SNS subscription confirmation',
      );
    return result;
  }

  return {
    identity,
    sign,
    async createTopic(arn, topicOptions = {}) {
      await store.transact((world) => {
        ensureTopic(world, arn, worldNow(world, clock()), topicOptions.signatureVersion);
      });
    },
    async topic(arn) {
      return (await store.read()).snsTopics?.[arn];
    },
    async subscribe(topicArn, endpoint) {
      const checked = checkEndpoint(endpoint);
      if ('error' in checked) throw new Error(`SNS sandbox: ${checked.error}`);
      const subscription = await store.transact((world) => {
        if (!world.snsTopics?.[topicArn]) throw new Error(`SNS sandbox: Topic does not exist: ${topicArn}`);
        return structuredClone(
          addSubscription(world, topicArn, endpoint, worldNow(world, clock())).subscription,
        );
      });
      if (subscription.status === 'confirmed') return { subscription };
      // The claim keeps another process's round from sending the same confirmation meanwhile.
      if (!(await claimConfirmation(subscription.arn))) return { subscription };
      return { subscription, confirmation: await sendConfirmation(topicArn, subscription) };
    },
    async unsubscribe(subscriptionArn) {
      return store.transact((world) => removeSubscription(world, subscriptionArn));
    },
    async publish(topicArn, published) {
      const topic = (await store.read()).snsTopics?.[topicArn];
      if (!topic) throw new Error(`SNS sandbox: Topic does not exist: ${topicArn}`);
      const messageId = randomUUID();
      const confirmed = topic.subscriptions.filter((s) => s.status === 'confirmed');
      return Promise.all(
        confirmed.map((s) =>
          deliver(
            s.endpoint,
            sign({
              Type: 'Notification',
              MessageId: messageId,
              TopicArn: topicArn,
              ...(published.subject !== undefined ? { Subject: published.subject } : {}),
              Message: published.message,
              SubscriptionArn: s.arn,
              SignatureVersion: topic.signatureVersion,
            }),
            s.arn,
          ),
        ),
      );
    },
    async deliverPendingConfirmations() {
      const world = await store.read();
      const due = confirmationsDue(world, worldNow(world, clock()));
      const results: DeliveryResult[] = [];
      for (const { topicArn, subscription } of due) {
        if (!(await claimConfirmation(subscription.arn))) continue;
        results.push(await sendConfirmation(topicArn, subscription));
      }
      return results;
    },
  };
}

/** POSTs a message to a loopback endpoint as SNS does; never throws. */
export async function deliver(
  endpoint: string,
  message: SnsHttpMessage,
  subscriptionArn: string,
): Promise<DeliveryResult> {
  const base = { subscriptionArn, endpoint, messageId: message.MessageId };
  const checked = checkEndpoint(endpoint);
  if ('error' in checked) return { ...base, error: checked.error };
  const body = Buffer.from(snsMessageBody(message), 'utf8');
  const headers = { ...snsMessageHeaders(message, subscriptionArn), 'Content-Length': String(body.length) };
  const request = checked.protocol === 'https' ? https.request : http.request;
  return new Promise<DeliveryResult>((resolve) => {
    const req = request(endpoint, { method: 'POST', headers, timeout: DELIVERY_TIMEOUT_MS }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ...base, status: res.statusCode ?? 0 }));
      res.on('error', (err) => resolve({ ...base, error: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${DELIVERY_TIMEOUT_MS / 1000} s`)));
    req.on('error', (err) => resolve({ ...base, error: err.message }));
    req.end(body);
  });
}

// ── The loopback endpoint and the agent ──────────────────────────────────────────────────────

/**
 * An https.Agent that connects requests for `sns.<region>.amazonaws.com(.cn)` to the sandbox's
 * loopback endpoint (TLS, servername = the requested host, only the sandbox's CA trusted) and
 * refuses every other host. sns-payload-validator checks an agent by `agent.requests`, which every
 * https.Agent has.
 */
export class SandboxSnsAgent extends https.Agent {
  private readonly target: { port: number; ca: string };

  constructor(target: { port: number; ca: string }) {
    super({ keepAlive: false });
    this.target = target;
  }

  override createConnection(
    options: https.RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const host = String(options.host ?? options.hostname ?? '');
    if (!SNS_HOST_PATTERN.test(host)) {
      const error = Object.assign(
        new Error(
          `the AWS sandbox's SNS agent connects only to sns.<region>.amazonaws.com, not ${host || '(no host)'}: nothing leaves this machine`,
        ),
        { code: 'ERR_SANDBOX_HOST_REFUSED' },
      );
      // The agent reports an error given to the callback as the request's 'error'.
      process.nextTick(() => callback?.(error, undefined as unknown as Duplex));
      return undefined;
    }
    return tls.connect({
      host: '127.0.0.1',
      port: this.target.port,
      servername: host,
      ca: this.target.ca,
      ALPNProtocols: ['http/1.1'],
    });
  }
}

/** The sandbox's SNS with its loopback endpoint, the agent and (optionally) the alarm evaluator. */
export interface SnsStandInHandle extends SnsSandbox {
  /** Give it to sns-payload-validator (`requestAgent`) and to the GET of a SubscribeURL. */
  readonly agent: https.Agent;
  /** `https://127.0.0.1:<port>`: where the agent connects. */
  readonly endpointUrl: string;
  /**
   * One round of the background work now: pending confirmations, then every alarm not evaluated
   * elsewhere within the interval; returns the alarm transitions this process published.
   */
  tick(): Promise<PublishedTransition[]>;
  close(): Promise<void>;
}

export interface SnsStandInOptions extends SnsSandboxOptions {
  /** Evaluate the world's alarms and retry pending confirmations on an interval (default true). */
  evaluate?: boolean;
  /** Default 5 s. */
  intervalMs?: number;
}

/** Opens the SNS stand-in: identity, loopback HTTPS endpoint, agent, and the alarm evaluator. */
export async function openSnsStandIn(options: SnsStandInOptions): Promise<SnsStandInHandle> {
  const { redis, prefix, logger } = options;
  const clock = options.clock ?? Date.now;
  const sns = await openSnsSandbox(options);
  const store = new WorldStore(redis, prefix);
  const server = https.createServer({ key: sns.identity.tlsKey, cert: sns.identity.tlsCert }, (req, res) => {
    answer(req, res).catch((err: unknown) => {
      logger?.warn({ err }, 'sandbox: SNS endpoint failed');
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/xml' });
      res.end(
        snsErrorXml({ status: 500, code: 'InternalError', message: (err as Error).message }, randomUUID()),
      );
    });
  });

  async function answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://sns.amazonaws.com');
    const requestId = randomUUID();
    const xml = (status: number, text: string) => {
      res.writeHead(status, { 'Content-Type': 'text/xml', 'x-amzn-RequestId': requestId });
      res.end(text);
    };
    const fail = (error: SnsErrorAnswer) => xml(error.status, snsErrorXml(error, requestId));
    if (req.method === 'GET' && url.pathname === `/${sns.identity.certificateName}`) {
      res.writeHead(200, { 'Content-Type': 'application/x-x509-ca-cert' });
      res.end(sns.identity.signingCert);
      return;
    }
    const action = url.pathname === '/' ? url.searchParams.get('Action') : null;
    if ((req.method !== 'GET' && req.method !== 'POST') || !action) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('Not Found\n');
      return;
    }
    if (action === 'ConfirmSubscription') {
      const topicArn = url.searchParams.get('TopicArn') ?? '';
      const token = url.searchParams.get('Token') ?? '';
      const outcome = await store.transact((world) =>
        confirmSubscription(world, topicArn, token, worldNow(world, clock())),
      );
      if ('code' in outcome) {
        logger?.info({ topicArn, code: outcome.code }, 'sandbox: SNS ConfirmSubscription refused');
        return fail(outcome);
      }
      logger?.info(
        { topicArn, subscriptionArn: outcome.subscriptionArn },
        'sandbox: SNS subscription confirmed',
      );
      return xml(200, confirmSubscriptionXml(outcome.subscriptionArn, requestId));
    }
    if (action === 'Unsubscribe') {
      const arn = url.searchParams.get('SubscriptionArn') ?? '';
      const removed = await store.transact((world) => removeSubscription(world, arn));
      if (!removed) return fail({ status: 404, code: 'NotFound', message: 'Subscription does not exist' });
      return xml(200, unsubscribeXml(requestId));
    }
    return fail({
      status: 400,
      code: 'InvalidAction',
      message: `The action ${action} is not valid for this endpoint.`,
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const agent = new SandboxSnsAgent({ port, ca: sns.identity.caCert });
  const intervalMs = options.intervalMs ?? DEFAULT_ALARM_INTERVAL_MS;
  const evaluatorOptions = {
    redis,
    prefix,
    store,
    clock,
    intervalMs,
    publish: sns.publish,
    before: () => sns.deliverPendingConfirmations(),
    ...(logger ? { logger } : {}),
  };
  const evaluator: AlarmEvaluator | undefined =
    options.evaluate === false ? undefined : startAlarmEvaluator(evaluatorOptions);
  let closing: Promise<void> | undefined;
  return {
    ...sns,
    agent,
    endpointUrl: `https://127.0.0.1:${port}`,
    async tick() {
      if (evaluator) return evaluator.runOnce();
      await sns.deliverPendingConfirmations();
      return evaluateAlarmsOnce(evaluatorOptions);
    },
    close() {
      closing ??= (async () => {
        await evaluator?.stop();
        agent.destroy();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}
