/**
 * A step's inputs (the `inputs` of its `function_executed` event) → the same typed Command the
 * slash command makes, checked by the same rules (`src/commands/validate.ts`), plus who it runs as
 * and where it reports. Pure: what is wrong is said in one sentence a workflow's owner can act on.
 */
import { echo } from '../commands/echo.js';
import type { Command, ParseContext } from '../commands/types.js';
import {
  type Check,
  checkBlueprint,
  checkDbInstance,
  checkEnvName,
  checkInstanceId,
  checkInteger,
  checkMode,
  checkReason,
  checkSchemaTable,
  checkTtl,
  checkVersion,
  LIMITS,
} from '../commands/validate.js';
import { isStepId, STEPS, type StepId } from './definitions.js';

/** A step's request, read from its inputs. */
export interface StepRequest {
  command: Command;
  /** The command as if typed (plain text), for the thread's title and the audit log. */
  text: string;
  /** Who it runs as: the `user` input. */
  userId: string;
  /** Where it reports: the `channel` input. */
  channelId: string;
}

/** The outcome of {@link stepRequestOf}. */
export type StepInputResult =
  | { ok: true; request: StepRequest }
  /** With who and where, when those inputs themselves were good: the refusal is said there. */
  | { ok: false; error: string; userId?: string; channelId?: string };

const USER_ID = /^[UW][A-Z0-9]{2,}$/;
const CHANNEL_ID = /^[CG][A-Z0-9]{2,}$/;

/** Reads one input at a time, remembering the first problem. */
class InputReader {
  readonly #step: StepId;
  readonly #inputs: Record<string, unknown>;

  constructor(step: StepId, inputs: Record<string, unknown>) {
    this.#step = step;
    this.#inputs = inputs;
  }

  /** The input's title as Workflow Builder shows it. */
  #title(name: string): string {
    const params = STEPS[this.#step].input_parameters as Record<string, { title: string }>;
    return `"${params[name]?.title ?? name}"`;
  }

  /** A text input, trimmed; undefined when absent or empty. */
  text(name: string): string | undefined {
    const value = this.#inputs[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw new StepInputError(`${this.#title(name)} must be text.`);
    const trimmed = value.trim();
    return trimmed === '' ? undefined : trimmed;
  }

  required(name: string): string {
    const value = this.text(name);
    if (value === undefined) throw new StepInputError(`${this.#title(name)} is required but was empty.`);
    return value;
  }

  /**
   * A whole number from `min` to `max`, checked as typed text would be (Slack sends `integer`
   * inputs as numbers; a string of digits is taken too); undefined when absent.
   */
  integer(name: string, label: string, { min, max }: { min: number; max: number }): number | undefined {
    const value = this.#inputs[name];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'number' && typeof value !== 'string')
      throw new StepInputError(`${this.#title(name)} must be a whole number.`);
    const text = typeof value === 'number' ? String(value) : value.trim();
    return this.checked(name, checkInteger(text, label, min, max));
  }

  /** An optional text input, checked when given. */
  optional<T>(name: string, check: (raw: string) => Check<T>): T | undefined {
    const raw = this.text(name);
    return raw === undefined ? undefined : this.checked(name, check(raw));
  }

  /** A checked value, or the check's message, prefixed with the input's title. */
  checked<T>(name: string, check: Check<T>): T {
    if (check.ok) return check.value;
    throw new StepInputError(`${this.#title(name)}: ${check.error}`);
  }

  /** A Slack user id (`slack#/types/user_id`). */
  userId(name: string): string {
    const value = this.required(name);
    if (!USER_ID.test(value))
      throw new StepInputError(`${this.#title(name)} is not a Slack user: ${echo(value)}.`);
    return value;
  }

  /** A channel id (`slack#/types/channel_id`): a channel, not a direct message. */
  channelId(name: string): string {
    const value = this.required(name);
    if (!CHANNEL_ID.test(value))
      throw new StepInputError(`${this.#title(name)} is not a Slack channel: ${echo(value)}.`);
    return value;
  }

  /** A moment (`slack#/types/timestamp`: Unix seconds), in the past. */
  pastMoment(name: string, now: Date): Date {
    const raw = this.#inputs[name];
    const seconds = typeof raw === 'string' && /^\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : raw;
    if (raw === undefined || raw === null || raw === '')
      throw new StepInputError(`${this.#title(name)} is required but was empty.`);
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0)
      throw new StepInputError(`${this.#title(name)} is not a time: ${echo(String(raw))}.`);
    const at = new Date(Math.floor(seconds * 1000));
    if (at.getTime() > now.getTime())
      throw new StepInputError(
        `${this.#title(name)} is in the future (${at.toISOString()}): a table can only be restored to a moment that has passed.`,
      );
    return at;
  }
}

class StepInputError extends Error {}

/** Reads `inputs` of step `callbackId` into a request; never throws. */
export function stepRequestOf(
  callbackId: string,
  inputs: Record<string, unknown> | undefined,
  ctx: ParseContext,
): StepInputResult {
  if (!isStepId(callbackId)) return { ok: false, error: `Capstan has no step called ${echo(callbackId)}.` };
  const read = new InputReader(callbackId, inputs ?? {});
  let userId: string | undefined;
  let channelId: string | undefined;
  try {
    userId = read.userId('user');
    channelId = read.channelId('channel');
    const { command, text } = commandOf(callbackId, read, ctx);
    return { ok: true, request: { command, text, userId, channelId } };
  } catch (error) {
    if (!(error instanceof StepInputError)) throw error;
    return {
      ok: false,
      error: error.message,
      ...(userId ? { userId } : {}),
      ...(channelId ? { channelId } : {}),
    };
  }
}

function commandOf(step: StepId, read: InputReader, ctx: ParseContext): { command: Command; text: string } {
  switch (step) {
    case 'create_environment': {
      const name = read.checked('environment', checkEnvName(read.required('environment')));
      const ttlRaw = read.text('ttl');
      const blueprint = read.optional('blueprint', checkBlueprint);
      const version = read.optional('version', checkVersion);
      const size = read.integer('size', 'the size', LIMITS.size);
      const ttlMs = read.optional('ttl', checkTtl);
      return {
        command: {
          kind: 'env.create',
          name,
          ...(blueprint ? { blueprint } : {}),
          ...(size !== undefined ? { size } : {}),
          ...(ttlMs !== undefined ? { ttlMs } : {}),
          ...(version ? { version } : {}),
        },
        text: [
          `/env create ${name}`,
          blueprint ? `--blueprint ${blueprint}` : '',
          size !== undefined ? `--size ${size}` : '',
          ttlRaw ? `--ttl ${ttlRaw}` : '',
          version ? `--version ${version}` : '',
        ]
          .filter(Boolean)
          .join(' '),
      };
    }
    case 'delete_environment': {
      const name = read.checked('environment', checkEnvName(read.required('environment')));
      return { command: { kind: 'env.delete', name }, text: `/env delete ${name}` };
    }
    case 'lb_disable':
    case 'lb_enable': {
      const env = read.checked('environment', checkEnvName(read.required('environment')));
      const instanceId = read.optional('instance', checkInstanceId);
      const instance = instanceId ? ` --instance ${instanceId}` : '';
      if (step === 'lb_enable')
        return {
          command: { kind: 'lb.enable', env, ...(instanceId ? { instanceId } : {}) },
          text: `/lb enable ${env}${instance}`,
        };
      const reason = read.optional('reason', checkReason);
      return {
        command: {
          kind: 'lb.disable',
          env,
          ...(instanceId ? { instanceId } : {}),
          ...(reason ? { reason } : {}),
        },
        text: `/lb disable ${env}${instance}${reason ? ` --reason "${reason}"` : ''}`,
      };
    }
    case 'restore_table': {
      const dbInstance = read.checked('database', checkDbInstance(read.required('database')));
      const { schema, table } = read.checked('table', checkSchemaTable(read.required('table')));
      const at = read.pastMoment('time', ctx.now).toISOString();
      const modeRaw = read.text('mode');
      const mode = modeRaw
        ? read.checked(
            'mode',
            checkMode(modeRaw, () => undefined),
          )
        : 'side-table';
      return {
        command: { kind: 'rds.restore-table', dbInstance, schema, table, at, mode },
        text: `/rds restore-table ${dbInstance} ${schema}.${table} --at ${at} --mode ${mode}`,
      };
    }
    case 'investigate_io_credits': {
      const dbInstance = read.checked('database', checkDbInstance(read.required('database')));
      const hours = read.integer('hours', 'the number of hours', LIMITS.hours) ?? LIMITS.hours.default;
      return {
        command: { kind: 'rds.io-credits', dbInstance, hours },
        text: `/rds io-credits ${dbInstance} --hours ${hours}`,
      };
    }
  }
}
