/**
 * Extensions: commands added to (or replacing) the sandbox's own, for features that need more
 * than the world document — e.g. RDS RestoreDBInstanceToPointInTime backed by a real mariadbd.
 *
 * A command runs in two steps:
 *  - `prepare` (optional, async): work outside the world's transaction, once per call — start a
 *    server, copy data. It sees a snapshot of the world (advanced to now). It may throw a
 *    SandboxAwsError to answer with an AWS error.
 *  - `apply` (sync, pure): the state change inside the transaction, from the world, the input and
 *    what `prepare` returned. It may run more than once (optimistic retries), so it must not do
 *    I/O. It returns the command's output (without `$metadata`) or throws a SandboxAwsError.
 *
 * Extension commands get fault injection and lifecycle advancing like built-in ones.
 */
import type { CallContext } from './context.js';
import type { ServiceId } from './errors.js';
import type { World } from './world.js';

// biome-ignore lint/suspicious/noExplicitAny: an extension command declares its own input/output types
export interface ExtensionCommand<I = any, P = any, O = any> {
  prepare?(input: I, env: { world: World; now: number }): Promise<P>;
  apply(ctx: CallContext, input: I, prepared: P): O;
}

export interface SandboxExtension {
  /** Commands by service, then by name without the `Command` suffix. */
  commands: Partial<Record<ServiceId, Record<string, ExtensionCommand>>>;
}
