import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';

/** Values `waitFor` treats as "not yet". */
export type Falsy = false | 0 | 0n | '' | null | undefined;

/** What `waitFor` resolves with for a predicate returning `T`: its awaited, truthy part. */
export type Truthy<T> = Exclude<Awaited<T>, Falsy>;

/** Options for {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this many milliseconds. Default 10000. */
  timeoutMs?: number;
  /** Re-evaluate the predicate this often, in milliseconds. Default 25. */
  intervalMs?: number;
  /** Describes what is being waited for; included in the timeout error. */
  message?: string;
}

/**
 * Polls `predicate` until it returns (or resolves to) a truthy value and resolves with that value.
 *
 * A predicate that throws counts as "not yet", so `expect(...)`-style assertions can be used as predicates;
 * the last thrown error is attached as the `cause` of the timeout error. On timeout the promise rejects with
 * an error naming the timeout, the optional `message`, and the last value or error seen.
 *
 * @example
 * const msg = await waitFor(() => fake.messagesIn('C0OPS').find((m) => m.text.includes('approved')));
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 25, message }: WaitForOptions = {},
): Promise<Truthy<T>> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  let lastValue: unknown;
  let lastError: unknown;
  let threw = false;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value as Truthy<T>;
      lastValue = value;
      threw = false;
    } catch (error) {
      lastError = error;
      threw = true;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    await sleep(Math.min(intervalMs, remaining));
  }
  const what = message ? ` waiting for ${message}` : '';
  const last = threw
    ? `last attempt threw: ${lastError instanceof Error ? lastError.message : inspect(lastError)}`
    : `last result: ${inspect(lastValue, { depth: 3, breakLength: Number.POSITIVE_INFINITY })}`;
  throw new Error(`waitFor timed out after ${Date.now() - started}ms${what} (${last})`, {
    cause: threw ? lastError : undefined,
  });
}
