/**
 * The kill drill's aim: a worker started with `CAPSTAN_DRILL_KILL_AFTER_CREATE=<step>[,<step>…]`
 * (or `*`) kills itself with SIGKILL the first time a job reports having created `<step>`
 * ({@link JobContext.created}) — after the create, before its checkpoint, the instant where a crash
 * strands what was made unless a resumed attempt can adopt it. Each (job, step) is killed at most
 * once, recorded in Redis under `<prefix>:drill:killed:<job>:<step>`, so the worker that resumes the
 * job goes on. Loaded only by `src/main.ts` in sandbox mode (see `src/stand-ins.ts`).
 */

import type { CreatedHook } from '../../src/queue/worker.js';
import type { RedisClient } from '../../src/redis.js';

/** The Redis key recording that the drill killed `jobId` after creating `what`. */
export function killedKey(prefix: string, jobId: string, what: string): string {
  return `${prefix}:drill:killed:${jobId}:${what}`;
}

/** The hook, or undefined when the variable is not set (every production-like run). */
export function killAfterCreateHook(options: {
  env: NodeJS.ProcessEnv;
  redis: RedisClient;
  prefix: string;
}): CreatedHook | undefined {
  const wanted = (options.env.CAPSTAN_DRILL_KILL_AFTER_CREATE ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (wanted.length === 0) return undefined;
  return async ({ jobId, job, what }) => {
    if (!wanted.includes('*') && !wanted.includes(what) && !wanted.includes(`${job}:${what}`)) return;
    const first = await options.redis.set(killedKey(options.prefix, jobId, what), String(process.pid), 'NX');
    if (first !== 'OK') return;
    process.stderr.write(`drill: SIGKILL after creating ${what} in job ${jobId} (${job})\n`);
    process.kill(process.pid, 'SIGKILL');
    // Never returns: the process is gone before the job can checkpoint what it made.
    await new Promise(() => undefined);
  };
}
