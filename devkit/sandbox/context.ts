/** What a command handler gets: the world (to read and change), the sandbox time and the timing. */
import type { SandboxTiming, World } from './world.js';

export interface CallContext {
  world: World;
  /** Sandbox time of the call (epoch ms). */
  now: number;
  timing: SandboxTiming;
}

/**
 * A command handler: a pure function of (world, input, now) that may change the world and
 * returns the command's output without `$metadata`, or throws a SandboxAwsError.
 */
// biome-ignore lint/suspicious/noExplicitAny: handlers are typed by their own SDK input/output; the table is not
export type Handler<I = any, O = any> = (ctx: CallContext, input: I) => O;

export type HandlerTable = Record<string, Handler>;

/** Output of a command without the SDK's `$metadata`. */
export type Out<T> = Omit<T, '$metadata'>;
