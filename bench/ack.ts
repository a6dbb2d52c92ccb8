/**
 * `npm run bench -- ack [--requests N] [--concurrency C] [--warmup W] [--rounds R]`
 *
 * Slack-request ack latency of Capstan's web process, next to a bare Bolt app that only acks
 * (`bench/peer/bare-bolt.ts`). Both run as child processes started the same way
 * (`node --import tsx …`), on loopback, against the same fake Slack Web API; Capstan also gets a
 * private Redis. Each target gets W warm-up requests, then N measured signed `/ops ping` slash
 * commands at concurrency C, spread over R rounds whose order alternates (capstan→bare, then
 * bare→capstan, …) to dampen ordering effects. Bodies and signatures are built before each timed phase.
 *
 * Prints per-target p50/p90/p99/max and req/s, the p99 ratio against the 1.30 target, and how many
 * jobs Capstan enqueued. Exits 0 whether the target is met or not (a benchmark reports; tests gate);
 * exits 1 only when the benchmark itself cannot run (start-up failure, 5-minute time limit).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUE_NAME } from '../src/queue/contract.js';
import { type FakeSlack, startFakeSlack } from '../test/helpers/fake-slack.js';
import { freePort, type RedisService, startRedis } from '../test/helpers/services.js';
import { signSlackRequest, slashCommandBody } from '../test/helpers/signed-request.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The whole run, start-up and clean-up included, must finish within this. */
const TIME_LIMIT_MS = 5 * 60_000;
/** How long a child may take to answer `GET /health`. */
const STARTUP_LIMIT_MS = 60_000;
/** SIGTERM, then SIGKILL after this long. */
const STOP_GRACE_MS = 10_000;
/** The p99 ratio capstan/bare the ack path should stay within. */
const P99_RATIO_TARGET = 1.3;

type TargetName = 'capstan' | 'bare';

interface Options {
  requests: number;
  concurrency: number;
  warmup: number;
  rounds: number;
}

/** A signed request, ready to send. */
interface Prepared {
  body: string;
  headers: Record<string, string>;
}

/** A started child process and the tail of what it printed. */
interface Child {
  name: TargetName;
  proc: ChildProcess;
  exited: Promise<void>;
  output(): string;
}

interface Target {
  name: TargetName;
  child: Child;
  eventsUrl: string;
  /** Why a response is not the expected ack, or undefined when it is. */
  check(status: number, body: string): string | undefined;
}

/** The outcome of one timed phase. */
interface Phase {
  latencies: Float64Array;
  elapsedMs: number;
  errors: Map<string, number>;
}

/** What the run started and must stop. */
interface Resources {
  children: Child[];
  monitor?: Redis;
  redis?: RedisService;
  fake?: FakeSlack;
}

interface Totals {
  latencies: number[];
  elapsedMs: number;
  /** Errors in measured requests. */
  errors: Map<string, number>;
  warmupErrors: Map<string, number>;
  /** CPU time the target's process used during its measured phases (NaN where /proc is unavailable). */
  cpuMs: number;
  /** CPU time Redis used meanwhile. */
  redisCpuMs: number;
  /** CPU time this process (the load generator) used meanwhile. */
  clientCpuMs: number;
}

/** Runs the benchmark; see the file comment. */
export async function run(args: string[]): Promise<void> {
  const options = readOptions(args);
  if (!options) {
    process.exitCode = 2;
    return;
  }

  const abort = new AbortController();
  const timer = setTimeout(
    () => abort.abort(new Error(`time limit of ${TIME_LIMIT_MS / 60_000} minutes reached`)),
    TIME_LIMIT_MS,
  );
  timer.unref();
  const onSigint = () => abort.abort(new Error('interrupted (SIGINT)'));
  process.once('SIGINT', onSigint);

  const resources: Resources = { children: [] };
  try {
    await untilAborted(abort.signal, measure(options, abort.signal, resources));
  } catch (error) {
    process.exitCode = 1;
    const reason: unknown = abort.signal.aborted ? abort.signal.reason : error;
    const detail =
      reason instanceof Error
        ? abort.signal.aborted
          ? reason.message
          : (reason.stack ?? reason.message)
        : String(reason);
    process.stderr.write(`\nbench ack FAILED: ${detail}\n`);
  } finally {
    clearTimeout(timer);
    process.off('SIGINT', onSigint);
    // Clean-up is bounded too.
    const force = setTimeout(() => {
      for (const child of resources.children) child.proc.kill('SIGKILL');
      process.stderr.write('bench ack: clean-up took too long; exiting\n');
      process.exit(1);
    }, 60_000);
    force.unref();
    resources.monitor?.disconnect();
    await Promise.allSettled(resources.children.map(stopChild));
    await Promise.allSettled([resources.redis?.stop({ purge: true }), resources.fake?.close()]);
    clearTimeout(force);
  }
}

async function measure(options: Options, signal: AbortSignal, resources: Resources): Promise<void> {
  const cpuList = cpus();
  process.stdout.write(
    `ack latency benchmark: node ${process.version}, ${cpuList.length} CPU(s) (${cpuList[0]?.model.trim() ?? 'unknown'})\n`,
  );

  const redisPort = await freePort();
  const redis = await startRedis(redisPort);
  resources.redis = redis;
  const fake = await startFakeSlack();
  resources.fake = fake;
  // The bench's own Redis connection: CPU readings and the final job count.
  const monitor = new Redis(redis.url, { maxRetriesPerRequest: 3 });
  resources.monitor = monitor;

  const secret = `bench-signing-secret-${randomBytes(8).toString('hex')}`;
  const prefix = `{bench-${randomBytes(4).toString('hex')}}`;
  const common = {
    SLACK_BOT_TOKEN: `xoxb-bench-${randomBytes(6).toString('hex')}`,
    SLACK_SIGNING_SECRET: secret,
    SLACK_API_URL: fake.url,
    HOST: '127.0.0.1',
  };

  const capstanPort = await freePort();
  const capstan = startChild('capstan', ['src/main.ts', 'web'], {
    ...common,
    PORT: String(capstanPort),
    REDIS_URL: redis.url,
    CAPSTAN_QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'warn',
  });
  resources.children.push(capstan);
  const barePort = await freePort();
  const bare = startChild('bare', ['bench/peer/bare-bolt.ts'], { ...common, PORT: String(barePort) });
  resources.children.push(bare);
  await Promise.all([
    waitForHealth(capstan, `http://127.0.0.1:${capstanPort}`, signal),
    waitForHealth(bare, `http://127.0.0.1:${barePort}`, signal),
  ]);

  const targets: Record<TargetName, Target> = {
    capstan: {
      name: 'capstan',
      child: capstan,
      eventsUrl: `http://127.0.0.1:${capstanPort}/slack/events`,
      check: checkCapstanAck,
    },
    bare: {
      name: 'bare',
      child: bare,
      eventsUrl: `http://127.0.0.1:${barePort}/slack/events`,
      check: (status, body) => (status === 200 ? undefined : `HTTP ${status}: ${body.slice(0, 160)}`),
    },
  };

  const measured = split(options.requests, options.rounds);
  const orders: TargetName[][] = Array.from({ length: options.rounds }, (_, r) =>
    r % 2 === 0 ? ['capstan', 'bare'] : ['bare', 'capstan'],
  );
  process.stdout.write(
    [
      `per target: ${options.warmup} warm-up + ${options.requests} measured signed \`/ops ping\` slash commands, ` +
        `concurrency ${options.concurrency}, fetch with keep-alive, loopback`,
      `order: warm-up capstan → bare; then ${orders.map((o, r) => `round ${r + 1}: ${o.join(' → ')}`).join('; ')} ` +
        `(${measured.join(' + ')} measured per target)`,
      "capstan = Capstan's web process only (`node --import tsx src/main.ts web`): its full ack path, Redis writes included.",
      '          Workers run in other processes in production and are not started here: jobs stay queued.',
      'bare    = bench/peer/bare-bolt.ts: a Bolt app whose only listener acks (same start-up, same fake Slack).',
      '',
    ].join('\n'),
  );

  const emptyTotals = (): Totals => ({
    latencies: [],
    elapsedMs: 0,
    errors: new Map(),
    warmupErrors: new Map(),
    cpuMs: 0,
    redisCpuMs: 0,
    clientCpuMs: 0,
  });
  const totals: Record<TargetName, Totals> = { capstan: emptyTotals(), bare: emptyTotals() };
  // Warm-up: JIT, connection pool, Redis scripts. Timings discarded, errors kept.
  for (const name of ['capstan', 'bare'] as const) {
    const phase = await fire(
      targets[name],
      prepare(options.warmup, secret, fake),
      options.concurrency,
      signal,
    );
    assertAlive(targets[name].child);
    totals[name].warmupErrors = phase.errors;
  }
  const perRound: string[] = [];
  for (const [r, order] of orders.entries()) {
    for (const name of order) {
      const target = targets[name];
      const batch = prepare(measured[r] ?? 0, secret, fake);
      const cpuBefore = processCpuMs(target.child.proc.pid);
      const redisBefore = await redisCpuMs(monitor);
      const clientBefore = process.cpuUsage();
      const phase = await fire(target, batch, options.concurrency, signal);
      const client = process.cpuUsage(clientBefore);
      const cpuAfter = processCpuMs(target.child.proc.pid);
      const redisAfter = await redisCpuMs(monitor);
      assertAlive(target.child);
      const total = totals[name];
      total.cpuMs += cpuAfter - cpuBefore;
      total.redisCpuMs += redisAfter - redisBefore;
      total.clientCpuMs += (client.user + client.system) / 1000;
      total.latencies.push(...phase.latencies);
      total.elapsedMs += phase.elapsedMs;
      addCounts(total.errors, phase.errors);
      const s = summarize([...phase.latencies]);
      perRound.push(
        `  round ${r + 1} ${name.padEnd(7)} n=${phase.latencies.length} p50=${ms(s.p50)} p90=${ms(s.p90)} ` +
          `p99=${ms(s.p99)} max=${ms(s.max)} req/s=${Math.round((phase.latencies.length * 1000) / phase.elapsedMs)}` +
          (phase.errors.size > 0 ? ` errors=${sumValues(phase.errors)}` : ''),
      );
    }
  }

  process.stdout.write(`per round:\n${perRound.join('\n')}\n\n`);
  const rows = (['capstan', 'bare'] as const).map((name) => ({ name, total: totals[name] }));
  const stats = Object.fromEntries(
    rows.map(({ name, total }) => [name, summarize(total.latencies)]),
  ) as Record<TargetName, Summary>;
  const header = ['target', 'requests', 'errors', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'req/s'];
  const table = rows.map(({ name, total }) => {
    const s = stats[name];
    return [
      name,
      String(total.latencies.length),
      String(sumValues(total.errors)),
      ms(s.p50),
      ms(s.p90),
      ms(s.p99),
      ms(s.max),
      String(Math.round((total.latencies.length * 1000) / total.elapsedMs)),
    ];
  });
  process.stdout.write(`${formatTable(header, table)}\n\n`);

  const ratio = stats.capstan.p99 / stats.bare.p99;
  const pass = ratio <= P99_RATIO_TARGET;
  process.stdout.write(
    `p99 ratio capstan/bare = ${ratio.toFixed(2)} (target ≤ ${P99_RATIO_TARGET.toFixed(2)})  ${pass ? 'PASS' : 'FAIL'}\n`,
  );
  const rate = (total: Totals) => total.latencies.length / total.elapsedMs;
  process.stdout.write(
    `  for context: p50 ratio ${(stats.capstan.p50 / stats.bare.p50).toFixed(2)}, ` +
      `req/s ratio ${(rate(totals.capstan) / rate(totals.bare)).toFixed(2)} ` +
      `(closed loop at fixed concurrency: latency ≈ concurrency ÷ throughput once the CPUs are busy)\n`,
  );

  const perRequest = (cpu: number, n: number) =>
    Number.isFinite(cpu) ? `${Math.round((cpu * 1000) / n)} µs` : 'n/a';
  process.stdout.write(
    `CPU per measured request: ${rows
      .map(
        ({ name, total }) =>
          `${name} ${perRequest(total.cpuMs, total.latencies.length)} ` +
          `(+ redis ${perRequest(total.redisCpuMs, total.latencies.length)}, ` +
          `+ load generator ${perRequest(total.clientCpuMs, total.latencies.length)})`,
      )
      .join(', ')}\n`,
  );

  for (const { name, total } of rows) {
    for (const [label, errors] of [
      ['measured', total.errors],
      ['warm-up', total.warmupErrors],
    ] as const) {
      if (errors.size === 0) continue;
      process.stdout.write(`errors (${name}, ${label}):\n`);
      for (const [message, n] of errors) process.stdout.write(`  ${n} × ${message}\n`);
    }
  }

  const counts = await jobCounts(monitor, prefix);
  const enqueued = sumValues(new Map(Object.entries(counts)));
  const expected = options.warmup + options.requests;
  const states = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${state} ${n}`)
    .join(', ');
  const failed = sumValues(totals.capstan.errors) + sumValues(totals.capstan.warmupErrors);
  const verdict =
    enqueued === expected
      ? 'OK: every request became exactly one job'
      : enqueued === expected - failed
        ? `${expected - enqueued} short: every successful ack became exactly one job; the ${failed} failed requests made none`
        : `MISMATCH (${failed} requests failed)`;
  process.stdout.write(
    `jobs Capstan enqueued (queue "${QUEUE_NAME}", prefix ${prefix}, warm-up included): ${enqueued} ` +
      `[${states || 'none'}]; expected ${expected} (${options.warmup} warm-up + ${options.requests} measured)\n` +
      `  ${verdict}\n`,
  );
}

function addCounts(into: Map<string, number>, from: Map<string, number>): void {
  for (const [key, n] of from) into.set(key, (into.get(key) ?? 0) + n);
}

function checkCapstanAck(status: number, body: string): string | undefined {
  if (status !== 200) return `HTTP ${status}: ${body.slice(0, 160)}`;
  let text: unknown;
  try {
    text = (JSON.parse(body) as { text?: unknown }).text;
  } catch {
    return `HTTP 200 but not JSON: ${body.slice(0, 160)}`;
  }
  // A failed enqueue is still acked with 200, with an error text: count it as an error.
  if (typeof text !== 'string' || !text.includes('Queued as job')) {
    return `HTTP 200 but not an enqueued ack: ${String(text).slice(0, 160)}`;
  }
  return undefined;
}

/** `n` signed slash commands, each with its own trigger id. */
function prepare(n: number, secret: string, fake: FakeSlack): Prepared[] {
  const out: Prepared[] = [];
  for (let i = 0; i < n; i++) {
    const body = slashCommandBody({
      command: '/ops',
      text: 'ping',
      userId: 'U0BENCH',
      channelId: 'C0BENCH',
      // Loopback only, should anything ever post to it.
      responseUrl: fake.responseUrl(`bench-${i}`),
    });
    out.push({
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...signSlackRequest(secret, body) },
    });
  }
  return out;
}

/** Sends `requests` to `target` with `concurrency` in flight, timing each one. */
async function fire(
  target: Target,
  requests: Prepared[],
  concurrency: number,
  signal: AbortSignal,
): Promise<Phase> {
  const latencies = new Float64Array(requests.length);
  const errors = new Map<string, number>();
  const fail = (message: string) => errors.set(message, (errors.get(message) ?? 0) + 1);
  let next = 0;
  const lane = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      const request = requests[i];
      if (request === undefined) return;
      signal.throwIfAborted();
      const started = performance.now();
      try {
        // No per-request signal: Node 20's fetch leaks abort listeners on a shared signal. On abort,
        // the run stops the children, which ends requests in flight.
        const res = await fetch(target.eventsUrl, {
          method: 'POST',
          headers: request.headers,
          body: request.body,
        });
        const body = await res.text();
        latencies[i] = performance.now() - started;
        const problem = target.check(res.status, body);
        if (problem) fail(problem);
      } catch (error) {
        latencies[i] = performance.now() - started;
        signal.throwIfAborted();
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        fail(
          `request failed: ${(error as Error).message}${cause ? ` (${cause.code ?? cause.message})` : ''}`,
        );
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, requests.length) }, lane));
  return { latencies, elapsedMs: performance.now() - started, errors };
}

interface Summary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

function summarize(values: number[]): Summary {
  const sorted = values.sort((a, b) => a - b);
  // Nearest-rank percentile.
  const at = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
  return { p50: at(50), p90: at(90), p99: at(99), max: sorted[sorted.length - 1] ?? Number.NaN };
}

function ms(value: number): string {
  return value.toFixed(2);
}

function sumValues(map: Map<string, number>): number {
  let sum = 0;
  for (const n of map.values()) sum += n;
  return sum;
}

function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => (row[c] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0)))
      .join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

/** `total` split into `parts` near-equal whole numbers that add up to it. */
function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

async function jobCounts(connection: Redis, prefix: string): Promise<Record<string, number>> {
  const queue = new Queue(QUEUE_NAME, { connection, prefix });
  try {
    return await queue.getJobCounts();
  } finally {
    await queue.close();
  }
}

/** User + system CPU time of process `pid` in ms, from /proc (Linux; NaN elsewhere). */
function processCpuMs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state is field 3, utime 14 and stime 15, in clock ticks (USER_HZ, 100).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Redis's own user + system CPU time in ms (`INFO cpu`). */
async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const read = (key: string) => Number(new RegExp(`^${key}:([0-9.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return (read('used_cpu_user') + read('used_cpu_sys')) * 1000;
}

/** The same base environment for both children, plus their configuration. */
function childEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return { ...env, ...vars };
}

function startChild(name: TargetName, args: string[], vars: Record<string, string>): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    env: childEnv(vars),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-8_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    proc.once('exit', () => resolve());
    proc.once('error', (error) => {
      keep(Buffer.from(`spawn error: ${error.message}\n`));
      resolve();
    });
  });
  return { name, proc, exited, output: () => tail };
}

function hasExited(child: Child): boolean {
  return child.proc.exitCode !== null || child.proc.signalCode !== null;
}

function assertAlive(child: Child): void {
  if (hasExited(child)) {
    throw new Error(
      `${child.name} exited (code ${child.proc.exitCode}, signal ${child.proc.signalCode}); its output:\n${child.output()}`,
    );
  }
}

async function waitForHealth(child: Child, baseUrl: string, signal: AbortSignal): Promise<void> {
  const deadline = performance.now() + STARTUP_LIMIT_MS;
  let last = 'no answer yet';
  while (performance.now() < deadline) {
    signal.throwIfAborted();
    assertAlive(child);
    try {
      const res = await fetch(`${baseUrl}/health`, {
        signal: AbortSignal.any([signal, AbortSignal.timeout(2_000)]),
      });
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (error) {
      signal.throwIfAborted();
      last = (error as Error).message;
    }
    await sleep(100);
  }
  throw new Error(
    `${child.name} did not answer GET ${baseUrl}/health within ${STARTUP_LIMIT_MS / 1000} s (${last}); its output:\n${child.output()}`,
  );
}

async function stopChild(child: Child): Promise<void> {
  if (hasExited(child)) return;
  child.proc.kill('SIGTERM');
  const stopped = await Promise.race([child.exited.then(() => true), sleep(STOP_GRACE_MS, false)]);
  if (!stopped && !hasExited(child)) {
    child.proc.kill('SIGKILL');
    await child.exited;
  }
}

/** `work`, or a rejection as soon as `signal` aborts (the work itself stops via the same signal). */
function untilAborted<T>(signal: AbortSignal, work: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function readOptions(args: string[]): Options | undefined {
  const usage =
    'usage: npm run bench -- ack [--requests N] [--concurrency C] [--warmup W] [--rounds R]\n' +
    '  defaults: --requests 2000 --concurrency 50 --warmup 2000 --rounds 4 (per target; rounds alternate the order)\n';
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        requests: { type: 'string' },
        concurrency: { type: 'string' },
        warmup: { type: 'string' },
        rounds: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${usage}`);
    return undefined;
  }
  const options: Options = { requests: 2_000, concurrency: 50, warmup: 2_000, rounds: 4 };
  for (const key of ['requests', 'concurrency', 'warmup', 'rounds'] as const) {
    const raw = values[key];
    if (raw === undefined) continue;
    const n = Number(raw);
    const min = key === 'warmup' ? 0 : 1;
    if (!Number.isInteger(n) || n < min) {
      process.stderr.write(
        `--${key}: expected a whole number ≥ ${min}, got ${JSON.stringify(raw)}\n${usage}`,
      );
      return undefined;
    }
    options[key] = n;
  }
  if (options.requests < options.rounds) {
    process.stderr.write(`--requests must be at least --rounds (${options.rounds})\n${usage}`);
    return undefined;
  }
  return options;
}
