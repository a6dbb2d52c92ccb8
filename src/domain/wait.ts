/** Polling with backoff for long AWS transitions, reporting as it goes, giving up after a deadline. */
import { UserError } from '../errors.js';

/** Options for {@link waitUntil}. */
export interface WaitOptions {
  /** What we wait for, for the timeout message ("3 instances InService"). */
  what: string;
  timeoutMs: number;
  /** First pause between polls; it grows by half each time up to `maxIntervalMs`. */
  intervalMs?: number;
  maxIntervalMs?: number;
  /** Called between polls: a checkpoint where the job may be cancelled or returned to the queue. */
  between?: () => Promise<void>;
  /** Read back on giving up: what is true instead, for the failure message. */
  actually?: () => Promise<string>;
}

/**
 * Polls `check` until it returns a value other than undefined. `check` reports progress itself.
 * @throws UserError naming what did not happen in time.
 */
export async function waitUntil<T>(check: () => Promise<T | undefined>, opts: WaitOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let interval = opts.intervalMs ?? 1_000;
  for (;;) {
    const result = await check();
    if (result !== undefined) return result;
    if (Date.now() + interval > deadline) {
      const now = opts.actually ? await opts.actually().catch(() => undefined) : undefined;
      throw new UserError(
        `gave up waiting for ${opts.what} after ${Math.round(opts.timeoutMs / 1000)} s${now ? `. ${now}` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
    await opts.between?.();
    interval = Math.min(Math.round(interval * 1.5), opts.maxIntervalMs ?? 15_000);
  }
}

/** The waits of a job: the configured polling and limit, with the job's checkpoint between polls. */
export function jobWaits(
  waits: { pollIntervalMs: number; timeoutMs: number },
  between: () => Promise<void>,
): Omit<WaitOptions, 'what'> {
  return { timeoutMs: waits.timeoutMs, intervalMs: waits.pollIntervalMs, between };
}
