/**
 * SNS's HTTP(S) messages (pure): the JSON bodies SNS POSTs to an HTTP/HTTPS subscription, signed as
 * AWS signs them, the headers it sends with them, and the XML its query API answers with.
 *
 * - Notification body: https://docs.aws.amazon.com/sns/latest/dg/http-notification-json.html
 * - SubscriptionConfirmation body: https://docs.aws.amazon.com/sns/latest/dg/http-subscription-confirmation-json.html
 * - Headers: https://docs.aws.amazon.com/sns/latest/dg/http-header.html
 * - Signatures (string to sign, SignatureVersion 1 = SHA1withRSA, 2 = SHA256withRSA):
 *   https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
 * - ConfirmSubscription / Unsubscribe answers and errors:
 *   https://docs.aws.amazon.com/sns/latest/api/API_ConfirmSubscription.html,
 *   https://docs.aws.amazon.com/sns/latest/api/CommonErrors.html
 */
import { createSign, randomBytes, randomUUID } from 'node:crypto';
import { snsHost } from './regions.js';

export type SnsMessageType = 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';

/** SNS's two signature versions: 1 (SHA1withRSA, AWS's default for a topic) and 2 (SHA256withRSA). */
export type SnsSignatureVersion = '1' | '2';

/** What a message says; the rest (ids, times, URLs) has defaults. */
export interface SnsMessageFields {
  Type: SnsMessageType;
  TopicArn: string;
  Message: string;
  /** Notifications only, when the publisher gave one. */
  Subject?: string;
  /** Default: a new UUID. */
  MessageId?: string;
  /** ISO-8601 with milliseconds; default now. */
  Timestamp?: string;
  /** Confirmation messages: the token ConfirmSubscription takes (default: a new random one). */
  Token?: string;
  /** Confirmation messages; default `https://sns.<region>.amazonaws.com/?Action=ConfirmSubscription&TopicArn=…&Token=…`. */
  SubscribeURL?: string;
  /** Notifications: the subscription it is delivered to (its UnsubscribeURL names it). */
  SubscriptionArn?: string;
  /** Notifications; default `https://sns.<region>.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=…`. */
  UnsubscribeURL?: string;
  /** Default '2'. */
  SignatureVersion?: SnsSignatureVersion;
}

/** The JSON document SNS POSTs, with its fields in SNS's order. */
export interface SnsHttpMessage {
  Type: SnsMessageType;
  MessageId: string;
  Token?: string;
  TopicArn: string;
  Subject?: string;
  Message: string;
  SubscribeURL?: string;
  Timestamp: string;
  SignatureVersion: SnsSignatureVersion;
  Signature: string;
  SigningCertURL: string;
  UnsubscribeURL?: string;
}

/** A message before it is signed. */
export type UnsignedSnsMessage = Omit<SnsHttpMessage, 'Signature' | 'SigningCertURL' | 'UnsubscribeURL'>;

/** What signing needs: the private key and the name its certificate is served under. */
export interface SnsSigner {
  signingKey: string;
  /** `SimpleNotificationService-<32 hex>.pem`. */
  certificateName: string;
}

/** A topic ARN's parts: `arn:<partition>:sns:<region>:<account>:<name>`. */
export interface TopicArnParts {
  partition: string;
  region: string;
  accountId: string;
  name: string;
}

const TOPIC_ARN =
  /^arn:(aws[a-z-]*):sns:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):([A-Za-z0-9_-]{1,256}(?:\.fifo)?)$/;

/** The parts of a topic ARN, or undefined when it is not one. */
export function parseTopicArn(arn: string): TopicArnParts | undefined {
  const m = TOPIC_ARN.exec(arn);
  if (!m) return undefined;
  return {
    partition: m[1] as string,
    region: m[2] as string,
    accountId: m[3] as string,
    name: m[4] as string,
  };
}

function topicParts(arn: string): TopicArnParts {
  const parts = parseTopicArn(arn);
  if (!parts) throw new Error(`not an SNS topic ARN: ${arn}`);
  return parts;
}

/** `https://sns.<region>.amazonaws.com` for the topic's Region. */
export function snsBaseUrl(topicArn: string): string {
  return `https://${snsHost(topicParts(topicArn).region)}`;
}

/** The SubscribeURL of a confirmation message (the ARN unencoded, as SNS writes it). */
export function subscribeUrl(topicArn: string, token: string): string {
  return `${snsBaseUrl(topicArn)}/?Action=ConfirmSubscription&TopicArn=${topicArn}&Token=${token}`;
}

/** The UnsubscribeURL of a notification. */
export function unsubscribeUrl(subscriptionArn: string): string {
  const topicArn = subscriptionArn.slice(0, subscriptionArn.lastIndexOf(':'));
  return `${snsBaseUrl(topicArn)}/?Action=Unsubscribe&SubscriptionArn=${subscriptionArn}`;
}

/** A confirmation token: a long hex string, like SNS's. */
export function newSubscriptionToken(): string {
  return randomBytes(64).toString('hex');
}

/** The text SNS sends as the Message of a subscription confirmation. */
export function confirmationText(topicArn: string): string {
  return `You have chosen to subscribe to the topic ${topicArn}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`;
}

/** The fields signed, in the order AWS documents, for each message type. */
function signedKeys(type: SnsMessageType): (keyof UnsignedSnsMessage)[] {
  return type === 'Notification'
    ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
    : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
}

/**
 * The string to sign: each signed field present, as `name\nvalue\n`, in byte order of the names
 * (Subject only when the message has one).
 */
export function stringToSign(message: UnsignedSnsMessage): string {
  let out = '';
  for (const key of signedKeys(message.Type)) {
    const value = message[key];
    if (value === undefined) continue;
    out += `${key}\n${value}\n`;
  }
  return out;
}

/** A full SNS message body, signed with `signer` as AWS signs it. */
export function signSnsMessage(
  fields: SnsMessageFields,
  signer: SnsSigner,
  now = Date.now(),
): SnsHttpMessage {
  const version = fields.SignatureVersion ?? '2';
  const base = snsBaseUrl(fields.TopicArn);
  const confirmation = fields.Type !== 'Notification';
  const token = confirmation ? (fields.Token ?? newSubscriptionToken()) : undefined;
  const unsigned: UnsignedSnsMessage = {
    Type: fields.Type,
    MessageId: fields.MessageId ?? randomUUID(),
    ...(token !== undefined ? { Token: token } : {}),
    TopicArn: fields.TopicArn,
    ...(!confirmation && fields.Subject !== undefined ? { Subject: fields.Subject } : {}),
    Message: fields.Message,
    ...(token !== undefined
      ? { SubscribeURL: fields.SubscribeURL ?? subscribeUrl(fields.TopicArn, token) }
      : {}),
    Timestamp: fields.Timestamp ?? new Date(now).toISOString(),
    SignatureVersion: version,
  };
  const signature = createSign(version === '1' ? 'sha1WithRSAEncryption' : 'sha256WithRSAEncryption')
    .update(stringToSign(unsigned), 'utf8')
    .sign(signer.signingKey, 'base64');
  const message: SnsHttpMessage = {
    ...unsigned,
    Signature: signature,
    SigningCertURL: `${base}/${signer.certificateName}`,
  };
  if (!confirmation) {
    message.UnsubscribeURL =
      fields.UnsubscribeURL ?? unsubscribeUrl(fields.SubscriptionArn ?? `${fields.TopicArn}:${randomUUID()}`);
  }
  return message;
}

/** The body as SNS writes it: one field a line, `"Name" : value`. */
export function snsMessageBody(message: SnsHttpMessage): string {
  const lines = Object.entries(message)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `  ${JSON.stringify(k)} : ${JSON.stringify(v)}`);
  return `{\n${lines.join(',\n')}\n}`;
}

/** The headers SNS sends with a message to an HTTP/HTTPS endpoint. */
export function snsMessageHeaders(message: SnsHttpMessage, subscriptionArn?: string): Record<string, string> {
  return {
    'x-amz-sns-message-type': message.Type,
    'x-amz-sns-message-id': message.MessageId,
    'x-amz-sns-topic-arn': message.TopicArn,
    ...(subscriptionArn && message.Type === 'Notification'
      ? { 'x-amz-sns-subscription-arn': subscriptionArn }
      : {}),
    'Content-Type': 'text/plain; charset=UTF-8',
    'User-Agent': 'Amazon Simple Notification Service Agent',
  };
}

const XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';

function xmlEscape(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** ConfirmSubscription's answer. */
export function confirmSubscriptionXml(subscriptionArn: string, requestId: string): string {
  return `<ConfirmSubscriptionResponse xmlns="${XMLNS}">
  <ConfirmSubscriptionResult>
    <SubscriptionArn>${xmlEscape(subscriptionArn)}</SubscriptionArn>
  </ConfirmSubscriptionResult>
  <ResponseMetadata>
    <RequestId>${requestId}</RequestId>
  </ResponseMetadata>
</ConfirmSubscriptionResponse>
`;
}

/** Unsubscribe's answer. */
export function unsubscribeXml(requestId: string): string {
  return `<UnsubscribeResponse xmlns="${XMLNS}">
  <ResponseMetadata>
    <RequestId>${requestId}</RequestId>
  </ResponseMetadata>
</UnsubscribeResponse>
`;
}

/** An SNS query API error. */
export interface SnsErrorAnswer {
  status: number;
  code: string;
  message: string;
}

/** SNS's error document. */
export function snsErrorXml(error: SnsErrorAnswer, requestId: string): string {
  return `<ErrorResponse xmlns="${XMLNS}">
  <Error>
    <Type>${error.status >= 500 ? 'Receiver' : 'Sender'}</Type>
    <Code>${xmlEscape(error.code)}</Code>
    <Message>${xmlEscape(error.message)}</Message>
  </Error>
  <RequestId>${requestId}</RequestId>
</ErrorResponse>
`;
}
