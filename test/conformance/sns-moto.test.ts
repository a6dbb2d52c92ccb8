/**
 * Conformance: what Capstan's `POST /aws/sns` (src/web/sns-endpoint.ts) and the signal mapping
 * (src/domain/alerts/signals.ts) assume about SNS's HTTP deliveries, checked against moto's SNS (which
 * nobody here wrote), through the plain Query API (this project has no @aws-sdk/client-sns). A topic,
 * an `http` subscription to a loopback server this test runs at `/aws/sns`, and a CloudWatch-alarm
 * Message published to it; what moto POSTs is checked against AWS's documentation:
 * - body: https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
 * - headers: https://docs.aws.amazon.com/sns/latest/dg/http-header.html
 * - signature: https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
 *
 * Gaps found in moto 5.2.1 (moto/sns/models.py), each asserted as it is:
 * - MOTO GAP no-subscription-confirmation: an http(s) subscription is confirmed at once
 *   (PendingConfirmation false, nothing POSTed); AWS first POSTs a SubscriptionConfirmation with
 *   Token and SubscribeURL and delivers nothing until it is confirmed
 *   (https://docs.aws.amazon.com/sns/latest/dg/SendMessageToHttp.confirm.html).
 * - MOTO GAP no-sns-headers: the POST carries none of x-amz-sns-message-type, x-amz-sns-message-id,
 *   x-amz-sns-topic-arn, x-amz-sns-subscription-arn (only Content-Type text/plain; charset=UTF-8).
 *   Capstan's endpoint refuses a POST without x-amz-sns-message-type (400), so moto cannot deliver
 *   to Capstan end to end.
 * - MOTO GAP signing-cert-not-on-aws: SigningCertURL names the real host sns.<region>.amazonaws.com,
 *   but the certificate is moto's own self-signed one, served only by moto at that path. The test
 *   never fetches the URL: it takes the certificate from moto's own server to check the signature
 *   itself, and the validator Capstan uses, given an agent that refuses every connection, rejects.
 * - MOTO GAP signature-omits-subject: moto signs Message, MessageId, Timestamp, TopicArn, Type only;
 *   when a message has a Subject, AWS's string to sign includes it, so a delivery with a Subject does
 *   not verify the way AWS documents.
 * - MOTO GAP fixed-unsubscribe-url: UnsubscribeURL is hard-coded (us-east-1, a constant
 *   subscription id) instead of naming the subscription.
 */
import { createVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { Agent } from 'node:https';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import SnsPayloadValidator from 'sns-payload-validator';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { signalsFromNotification } from '../../src/domain/alerts/signals.js';
import { parseSnsEnvelope, SNS_PATH, snsRoute } from '../../src/web/sns-endpoint.js';
import { waitFor } from '../helpers/wait-for.js';

interface Delivery {
  path: string | undefined;
  headers: IncomingHttpHeaders;
  body: string;
}

type Envelope = Record<string, unknown>;

const ALARM = readFileSync(
  new URL('../fixtures/sns/cloudwatch-alarm-burst-balance.json', import.meta.url),
  'utf8',
);
const SUBJECT = 'ALARM: "orders-db-burst-balance" in EU (Ireland)';

let motoUrl: string;
let receiver: Server;
let endpoint: string;
const deliveries: Delivery[] = [];

/** moto's server picks the service from the credential scope; moto checks no signature. */
const AUTHORIZATION =
  'AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/sns/aws4_request, SignedHeaders=host, Signature=0';

/** One SNS Query API call to moto; the XML answer. */
async function sns(params: Record<string, string>): Promise<string> {
  const res = await fetch(`${motoUrl}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: AUTHORIZATION },
    body: new URLSearchParams({ Version: '2010-03-31', ...params }).toString(),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`SNS ${params.Action}: HTTP ${res.status}: ${text}`);
  return text;
}

function xmlField(xml: string, name: string): string {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  if (!m?.[1]) throw new Error(`no <${name}> in ${xml}`);
  return m[1];
}

/** AWS's string to sign for a Notification (sns-verify-signature-of-message.html). */
function stringToSign(e: Envelope): string {
  const keys = [
    'Message',
    'MessageId',
    ...(e.Subject !== undefined ? ['Subject'] : []),
    'Timestamp',
    'TopicArn',
    'Type',
  ];
  return keys.map((k) => `${k}\n${String(e[k])}\n`).join('');
}

/** moto's certificate for a delivery, read from moto itself (the path of SigningCertURL), never from AWS. */
async function motoCertificate(e: Envelope): Promise<string> {
  const path = new URL(String(e.SigningCertURL)).pathname;
  const res = await fetch(`${motoUrl}${path}`, { headers: { authorization: AUTHORIZATION } });
  expect(res.status).toBe(200);
  return res.text();
}

/** An https.Agent that refuses every connection, recording the hosts asked for. */
function refusingAgent(): { agent: Agent; hosts: string[] } {
  const hosts: string[] = [];
  const agent = new Agent();
  agent.createConnection = (options) => {
    hosts.push(String(options.host ?? options.hostname));
    throw new Error('no network in this test');
  };
  return { agent, hosts };
}

let topicArn: string;
let subscriptionArn: string;

beforeAll(async () => {
  motoUrl = inject('motoUrl');
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      deliveries.push({ path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}${SNS_PATH}`;
  topicArn = xmlField(await sns({ Action: 'CreateTopic', Name: `capstan-alerts-${Date.now()}` }), 'TopicArn');
  subscriptionArn = xmlField(
    await sns({
      Action: 'Subscribe',
      TopicArn: topicArn,
      Protocol: 'http',
      Endpoint: endpoint,
      ReturnSubscriptionArn: 'true',
    }),
    'SubscriptionArn',
  );
});

afterAll(async () => {
  await new Promise((resolve) => receiver?.close(resolve));
});

describe('SNS HTTP delivery (moto)', () => {
  // MOTO GAP no-subscription-confirmation: nothing is POSTed on Subscribe, and the subscription is confirmed already.
  it('confirms an http subscription without a SubscriptionConfirmation', async () => {
    const attrs = await sns({ Action: 'GetSubscriptionAttributes', SubscriptionArn: subscriptionArn });
    expect(attrs).toMatch(/<key>PendingConfirmation<\/key>\s*<value>false<\/value>/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(deliveries.filter((d) => d.body.includes('SubscriptionConfirmation'))).toEqual([]);
    expect(deliveries).toEqual([]);
  });

  let plain: Delivery;
  let withSubject: Delivery;

  it('POSTs a Notification whose body has every documented field', async () => {
    const published = xmlField(
      await sns({ Action: 'Publish', TopicArn: topicArn, Message: ALARM }),
      'MessageId',
    );
    plain = await waitFor(() => deliveries.find((d) => JSON.parse(d.body).MessageId === published), {
      message: 'the Notification',
    });
    expect(plain.path).toBe(SNS_PATH);
    const e = JSON.parse(plain.body) as Envelope;
    expect(e).toMatchObject({
      Type: 'Notification',
      MessageId: published,
      TopicArn: topicArn,
      Message: ALARM,
      SignatureVersion: '2',
    });
    // Timestamp: ISO 8601 with milliseconds, now.
    expect(String(e.Timestamp)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Math.abs(Date.parse(String(e.Timestamp)) - Date.now())).toBeLessThan(60_000);
    expect(String(e.Signature)).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(String(e.SigningCertURL)).toMatch(
      /^https:\/\/sns\.us-east-1\.amazonaws\.com\/SimpleNotificationService-[a-f0-9]{32}\.pem$/,
    );
    expect(e).not.toHaveProperty('Subject'); // AWS omits Subject when none was given.
    expect(e).not.toHaveProperty('Token');
    expect(e).not.toHaveProperty('SubscribeURL');
    // MOTO GAP fixed-unsubscribe-url: present, an SNS Unsubscribe URL, but not this subscription's ARN.
    expect(String(e.UnsubscribeURL)).toMatch(
      /^https:\/\/sns\.us-east-1\.amazonaws\.com\/\?Action=Unsubscribe&SubscriptionArn=/,
    );
    expect(String(e.UnsubscribeURL)).not.toContain(subscriptionArn);
    expect(plain.headers['content-type']).toBe('text/plain; charset=UTF-8');
  });

  // MOTO GAP no-sns-headers: none of the x-amz-sns-* headers AWS documents.
  it('sends none of the x-amz-sns-* headers', () => {
    expect(plain.headers['x-amz-sns-message-type']).toBeUndefined();
    expect(plain.headers['x-amz-sns-message-id']).toBeUndefined();
    expect(plain.headers['x-amz-sns-topic-arn']).toBeUndefined();
    expect(plain.headers['x-amz-sns-subscription-arn']).toBeUndefined();
  });

  it("passes Capstan's envelope schema", () => {
    const parsed = parseSnsEnvelope(JSON.parse(plain.body));
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  });

  it('maps the delivered Message to the BurstBalance signal', () => {
    const e = JSON.parse(plain.body) as Envelope;
    const result = signalsFromNotification({
      topicArn: String(e.TopicArn),
      message: String(e.Message),
      timestamp: String(e.Timestamp),
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.signals).toHaveLength(1);
    expect(result.signals[0]).toMatchObject({
      source: 'cloudwatch-alarm',
      via: 'sns',
      key: { check: 'burstBalance', resource: 'db:orders-db' },
      kind: 'problem',
      value: 'BurstBalance 12.5 < 20 (3 datapoints)',
      investigate: { dbInstance: 'orders-db' },
      match: { alarmName: 'orders-db-burst-balance', database: 'orders-db', region: 'eu-west-1' },
      occurredAt: Date.parse('2026-11-22T12:00:41.123Z'),
    });
  });

  // MOTO GAP signing-cert-not-on-aws: the signature is real over AWS's string to sign, but only under moto's certificate.
  it("signs AWS's string to sign, with a certificate only moto serves", async () => {
    const e = JSON.parse(plain.body) as Envelope;
    const cert = await motoCertificate(e);
    expect(cert).toContain('BEGIN CERTIFICATE');
    const ok = createVerify('sha256WithRSAEncryption')
      .update(stringToSign(e))
      .verify(cert, String(e.Signature), 'base64');
    expect(ok).toBe(true);
  });

  it("is rejected by Capstan's validator when the certificate cannot be fetched (never fetched from AWS)", async () => {
    const { agent, hosts } = refusingAgent();
    const validator = new SnsPayloadValidator({ useCache: false, requestAgent: agent });
    await expect(validator.validate(JSON.parse(plain.body))).rejects.toThrow();
    expect(hosts).toEqual(['sns.us-east-1.amazonaws.com']);
  });

  it('is a forged signature once any signed field changes', async () => {
    const e = JSON.parse(plain.body) as Envelope;
    const cert = await motoCertificate(e);
    const forged = { ...e, Message: e.Message === ALARM ? `${ALARM} ` : ALARM };
    const ok = createVerify('sha256WithRSAEncryption')
      .update(stringToSign(forged))
      .verify(cert, String(e.Signature), 'base64');
    expect(ok).toBe(false);
  });

  // MOTO GAP signature-omits-subject: with a Subject (as CloudWatch alarms send), AWS's string to sign does not verify.
  it('delivers Subject but leaves it out of the signature', async () => {
    const published = xmlField(
      await sns({ Action: 'Publish', TopicArn: topicArn, Message: ALARM, Subject: SUBJECT }),
      'MessageId',
    );
    withSubject = await waitFor(() => deliveries.find((d) => JSON.parse(d.body).MessageId === published), {
      message: 'the Notification with a Subject',
    });
    const e = JSON.parse(withSubject.body) as Envelope;
    expect(e.Subject).toBe(SUBJECT);
    expect(parseSnsEnvelope(e).success).toBe(true);
    const cert = await motoCertificate(e);
    const verify = (text: string) =>
      createVerify('sha256WithRSAEncryption').update(text).verify(cert, String(e.Signature), 'base64');
    expect(verify(stringToSign(e))).toBe(false);
    const { Subject: _subject, ...unsubjected } = e;
    expect(verify(stringToSign(unsubjected))).toBe(true);
  });

  // MOTO GAP no-sns-headers, end to end: Capstan's endpoint refuses moto's POST as it comes.
  it("is refused by Capstan's endpoint for want of x-amz-sns-message-type", async () => {
    const { agent } = refusingAgent();
    const enqueued: unknown[] = [];
    const route = snsRoute({
      topics: () => [topicArn],
      enqueue: async (m) => {
        enqueued.push(m);
        return { duplicate: false };
      },
      logger: pino({ level: 'silent' }),
      agent: async () => agent,
    });
    const server = createServer(route.handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${SNS_PATH}`;
      const post = (headers: Record<string, string>) =>
        fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'text/plain; charset=UTF-8', ...headers },
          body: plain.body,
        });
      const asMotoSent = await post({});
      expect(asMotoSent.status).toBe(400);
      expect(await asMotoSent.json()).toEqual({
        error: 'not an SNS message (no x-amz-sns-message-type header)',
      });
      // With the headers AWS would add, it gets as far as the signature: the certificate cannot be fetched here.
      const withHeaders = await post({
        'x-amz-sns-message-type': 'Notification',
        'x-amz-sns-topic-arn': topicArn,
      });
      expect(withHeaders.status).toBe(503);
      expect(enqueued).toEqual([]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
