/**
 * SNS topics and HTTP/HTTPS subscriptions in the sandbox world (pure: functions of the world, their
 * input and the time). A subscription is pending until ConfirmSubscription is called with its token
 * (valid for three days: https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html); only
 * confirmed subscriptions receive notifications.
 */
import { parseTopicArn, type SnsErrorAnswer } from './sns-messages.js';
import { nextHex, nextUuid, type SnsSubscriptionState, type SnsTopicState, type World } from './world.js';

/** How long a confirmation token is valid. */
export const TOKEN_VALIDITY_MS = 3 * 24 * 3_600_000;

/** Hosts the sandbox's SNS delivers to: loopback only (nothing leaves the machine). */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** The protocol of an endpoint URL the sandbox may deliver to, or an error message saying why not. */
export function checkEndpoint(endpoint: string): { protocol: 'http' | 'https' } | { error: string } {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return { error: `not a URL: ${endpoint}` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { error: `only http and https endpoints are emulated: ${endpoint}` };
  if (!LOOPBACK_HOSTS.has(url.hostname))
    return {
      error: `the AWS sandbox delivers to loopback endpoints only (127.0.0.1, localhost, [::1]), not ${url.hostname}`,
    };
  return { protocol: url.protocol === 'http:' ? 'http' : 'https' };
}

/** The topic, created when the world does not have it yet (CreateTopic is idempotent too). */
export function ensureTopic(
  world: World,
  arn: string,
  now: number,
  signatureVersion: '1' | '2' = '2',
): SnsTopicState {
  const parts = parseTopicArn(arn);
  if (!parts) throw new Error(`not an SNS topic ARN: ${arn}`);
  world.snsTopics ??= {};
  const existing = world.snsTopics[arn];
  if (existing) return existing;
  const topic: SnsTopicState = { arn, name: parts.name, createdAt: now, signatureVersion, subscriptions: [] };
  world.snsTopics[arn] = topic;
  return topic;
}

/**
 * Subscribes an endpoint (Subscribe): a new pending subscription, or the one the endpoint already
 * has on the topic (a pending one keeps its token while it is valid, so a confirmation already on its
 * way still works; an expired one gets a new token). `token` defaults to one drawn from the world.
 */
export function addSubscription(
  world: World,
  topicArn: string,
  endpoint: string,
  now: number,
  options: { token?: string; confirmed?: boolean } = {},
): { subscription: SnsSubscriptionState; created: boolean } {
  const checked = checkEndpoint(endpoint);
  if ('error' in checked) throw new Error(checked.error);
  const topic = world.snsTopics?.[topicArn];
  if (!topic) throw new Error(`no SNS topic ${topicArn} in the sandbox`);
  const existing = topic.subscriptions.find((s) => s.endpoint === endpoint);
  if (existing) {
    if (existing.status === 'pending' && options.confirmed) {
      existing.status = 'confirmed';
      existing.confirmedAt = now;
    } else if (existing.status === 'pending' && now - existing.tokenIssuedAt > TOKEN_VALIDITY_MS) {
      existing.token = options.token ?? nextHex(world, 128);
      existing.tokenIssuedAt = now;
    }
    return { subscription: existing, created: false };
  }
  const token = options.token ?? nextHex(world, 128);
  const subscription: SnsSubscriptionState = {
    arn: `${topicArn}:${nextUuid(world)}`,
    protocol: checked.protocol,
    endpoint,
    status: options.confirmed ? 'confirmed' : 'pending',
    token,
    tokenIssuedAt: now,
    createdAt: now,
    ...(options.confirmed ? { confirmedAt: now } : {}),
  };
  topic.subscriptions.push(subscription);
  return { subscription, created: true };
}

/** ConfirmSubscription: the subscription's ARN, or SNS's error. */
export function confirmSubscription(
  world: World,
  topicArn: string,
  token: string,
  now: number,
): { subscriptionArn: string } | SnsErrorAnswer {
  if (!topicArn || !token)
    return { status: 400, code: 'InvalidParameter', message: 'Invalid parameter: TopicArn or Token' };
  const topic = world.snsTopics?.[topicArn];
  if (!topic) return { status: 404, code: 'NotFound', message: 'Topic does not exist' };
  const subscription = topic.subscriptions.find(
    (s) => s.token === token && now - s.tokenIssuedAt <= TOKEN_VALIDITY_MS,
  );
  if (!subscription) return { status: 400, code: 'InvalidParameter', message: 'Invalid token' };
  if (subscription.status === 'pending') {
    subscription.status = 'confirmed';
    subscription.confirmedAt = now;
  }
  return { subscriptionArn: subscription.arn };
}

/** Unsubscribe: removes the subscription; false when there is none with that ARN. */
export function removeSubscription(world: World, subscriptionArn: string): boolean {
  for (const topic of Object.values(world.snsTopics ?? {})) {
    const i = topic.subscriptions.findIndex((s) => s.arn === subscriptionArn);
    if (i >= 0) {
      topic.subscriptions.splice(i, 1);
      return true;
    }
  }
  return false;
}

/** The subscription with this ARN, if any. */
export function findSubscription(world: World, subscriptionArn: string): SnsSubscriptionState | undefined {
  for (const topic of Object.values(world.snsTopics ?? {})) {
    const found = topic.subscriptions.find((s) => s.arn === subscriptionArn);
    if (found) return found;
  }
  return undefined;
}

/** Records a delivery of a subscription's SubscriptionConfirmation. */
export function recordConfirmationDelivery(
  world: World,
  subscriptionArn: string,
  outcome: { status?: number; error?: string },
  now: number,
): void {
  const subscription = findSubscription(world, subscriptionArn);
  if (!subscription) return;
  const ok = outcome.status !== undefined && outcome.status >= 200 && outcome.status < 300;
  subscription.confirmationDelivery = {
    at: now,
    attempts: (subscription.confirmationDelivery?.attempts ?? 0) + 1,
    ok,
    ...(outcome.status !== undefined ? { status: outcome.status } : {}),
    ...(outcome.error !== undefined ? { error: outcome.error } : {}),
  };
}

/** How many times, and how often, the sandbox tries to deliver a subscription's confirmation. */
export const CONFIRMATION_ATTEMPTS = 20;
export const CONFIRMATION_RETRY_MS = 10_000;

/** Pending subscriptions whose confirmation has not reached their endpoint yet and is due again. */
export function confirmationsDue(
  world: World,
  now: number,
): { topicArn: string; subscription: SnsSubscriptionState }[] {
  const due: { topicArn: string; subscription: SnsSubscriptionState }[] = [];
  for (const topic of Object.values(world.snsTopics ?? {})) {
    for (const subscription of topic.subscriptions) {
      if (subscription.status !== 'pending') continue;
      const d = subscription.confirmationDelivery;
      if (d?.ok) continue;
      if (d && (d.attempts >= CONFIRMATION_ATTEMPTS || now - d.at < CONFIRMATION_RETRY_MS)) continue;
      due.push({ topicArn: topic.arn, subscription });
    }
  }
  return due;
}
