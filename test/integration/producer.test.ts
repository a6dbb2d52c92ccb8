/**
 * The producer against a real Redis: a job's name says what its data is (`JobDataOf`), so a
 * command job is only ever written with a command of its own kind; the processors rely on it.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Command } from '../../src/commands/index.js';
import type { JobRequest } from '../../src/queue/contract.js';
import { JobProducer } from '../../src/queue/producer.js';

let redis: Redis;
let producer: JobProducer;
const prefix = `{t-${randomBytes(4).toString('hex')}}`;

beforeAll(() => {
  redis = new Redis(inject('redisUrl'));
  producer = new JobProducer(redis, prefix);
});
afterAll(async () => {
  await producer.close();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

const request = (requestId: string): JobRequest => ({
  requestId,
  userId: 'U0ALICE',
  channelId: 'C0OPS',
  text: '/ops ping',
  source: 'slash',
  receivedAt: Date.now(),
});
const ping: Command = { kind: 'ops.ping' };
const disable: Command = { kind: 'lb.disable', env: 'prod' };

describe('JobProducer.enqueue', () => {
  it('keeps a command job with its own command', async () => {
    const { jobId, duplicate } = await producer.enqueue('ops.ping', ping, request('r-1'));
    expect(duplicate).toBe(false);
    const job = await producer.queue.getJob(jobId);
    expect(job?.name).toBe('ops.ping');
    expect(job?.data.command).toEqual(ping);
  });

  it('refuses a command job carrying another command, and adds nothing', async () => {
    await expect(producer.enqueue('lb.disable', ping, request('r-2'))).rejects.toThrow(
      'job lb.disable cannot carry a ops.ping command',
    );
    expect(await producer.queue.getJobCounts('waiting', 'delayed')).toMatchObject({ waiting: 1, delayed: 0 });
  });

  it('lets an approval request carry the command it waits for, of any kind', async () => {
    const ask = { jobName: 'lb.disable' as const, role: 'oncall', quorum: 1, timeoutMs: 60_000, rule: 'r' };
    const { jobId } = await producer.enqueue('approval.request', disable, request('r-3'), { ask });
    const job = await producer.queue.getJob(jobId);
    expect(job?.data).toMatchObject({ command: disable, ask });
  });
});
