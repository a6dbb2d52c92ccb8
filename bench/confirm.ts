/**
 * `npm run bench -- confirm [--writes N] [--rounds R]`
 *
 * What a confirmed write costs under Sentinel: on a private Sentinel set (1 primary, 2 replicas, 3 sentinels, from
 * `scripts/services`), the same small write (an HSET of a job-sized value) made N times as a plain write and N times
 * through `writeDurably` (the write, then: the sentinels asked, the primary's INFO replication, WAIT for its replicas in
 * sync), in R alternating rounds. A job pays one confirmation when it starts, one when it ends, and one per checkpoint
 * (src/queue/worker.ts); a command's enqueue pays one before Slack is answered (src/queue/producer.ts).
 *
 * Prints p50/p90/p99/max and writes/s for both, and the difference of the medians: the cost of one confirmation.
 * Exits 0 whatever the figures (a benchmark reports).
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { freePortBase, REDIS_SENTINEL_PORT_OFFSETS, startRedisSentinel } from '../devkit/local/services.js';
import { readRedisConfig } from '../src/config.js';
import { closeRedis, createRedis, createWriteConfirmer, writeDurably } from '../src/redis.js';
import { quantile } from './drills/harness.js';

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { writes: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '4' } },
  });
  const writes = Number(values.writes);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(writes) || writes < 1)
    throw new Error(`--writes: a positive integer, got ${values.writes}`);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`--rounds: a positive integer, got ${values.rounds}`);

  process.stderr.write('confirm bench: starting a Sentinel set…\n');
  const set = await startRedisSentinel(await freePortBase(REDIS_SENTINEL_PORT_OFFSETS));
  const config = readRedisConfig(set.env);
  const redis = createRedis(config);
  const confirmer = createWriteConfirmer(config);
  const key = '{capstan}:bench:confirm';
  // About what a job's data is when it checkpoints: its request, command and a reporter snapshot.
  const value = randomBytes(600).toString('base64');
  const times: Record<'plain' | 'confirmed', number[]> = { plain: [], confirmed: [] };
  let unconfirmed = 0;
  try {
    await redis.ping();
    const once = {
      plain: async (i: number) => {
        await redis.hset(key, `f${i % 100}`, value);
      },
      confirmed: async (i: number) => {
        const r = await writeDurably(confirmer, redis, key, () => redis.hset(key, `f${i % 100}`, value));
        if (!r.confirmed) unconfirmed += 1;
      },
    };
    // Warm-up: connections to every sentinel and replica open.
    for (let i = 0; i < 50; i++) await once.confirmed(i);
    const perRound = Math.ceil(writes / rounds);
    for (let round = 0; round < rounds; round++) {
      const order = (round % 2 === 0 ? ['plain', 'confirmed'] : ['confirmed', 'plain']) as Array<
        keyof typeof once
      >;
      for (const kind of order)
        for (let i = 0; i < perRound; i++) {
          const started = performance.now();
          await once[kind](i);
          times[kind].push(performance.now() - started);
        }
    }
  } finally {
    await confirmer.close();
    await closeRedis(redis);
    await set.stop({ purge: true });
  }

  const fmt = (x: number) => x.toFixed(2);
  const rows = (['plain', 'confirmed'] as const).map((kind) => {
    const sorted = [...times[kind]].sort((a, b) => a - b);
    const total = sorted.reduce((a, b) => a + b, 0);
    return {
      kind,
      p50: quantile(sorted, 0.5),
      line: `${kind.padEnd(10)} ${String(sorted.length).padStart(6)}  ${[0.5, 0.9, 0.99, 1].map((q) => fmt(quantile(sorted, q)).padStart(7)).join(' ')}  ${String(Math.round((sorted.length / total) * 1000)).padStart(8)}`,
    };
  });
  const [plain, confirmed] = rows;
  let out = `\nconfirm: one HSET on a Sentinel set (1 primary, 2 replicas, 3 sentinels on loopback), ${writes} writes each, ${rounds} alternating rounds, one at a time\n\n`;
  out += `kind        writes   p50 ms  p90 ms  p99 ms  max ms  writes/s\n`;
  out += `${rows.map((r) => r.line).join('\n')}\n\n`;
  out += `one confirmation costs ${fmt((confirmed?.p50 ?? 0) - (plain?.p50 ?? 0))} ms at the median (a job: one at its start, one at its end, one per checkpoint)`;
  out += `; writes not confirmed within the deadline: ${unconfirmed}\n`;
  process.stdout.write(out);
}
