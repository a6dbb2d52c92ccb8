/**
 * The fake's Workflow Builder step executions: what a workflow run hands an app's custom step (its
 * execution id and per-execution token, sent in a `function_executed` event), and
 * `functions.completeSuccess` / `functions.completeError`, answered as Slack documents them
 * (https://docs.slack.dev/reference/methods/functions.completeSuccess,
 * https://docs.slack.dev/reference/methods/functions.completeError): the execution must exist and
 * still be running, the token must be the execution's (or the app's bot token), and the outputs must
 * match the step's output parameters.
 */
import { randomBytes } from 'node:crypto';

/** One parameter of a step, as the app manifest's `functions` declares it. */
export interface FakeFunctionParameter {
  type: string;
  title?: string;
  description?: string;
  is_required?: boolean;
  hint?: string;
}

/** A step as the app manifest declares it (`functions.<callback_id>`). */
export interface FakeFunctionDefinition {
  title: string;
  description?: string;
  input_parameters: Record<string, FakeFunctionParameter>;
  output_parameters: Record<string, FakeFunctionParameter>;
}

/** A step's execution the fake started, and how it ended. */
export interface FakeFunctionExecution {
  /** `function_execution_id`, e.g. `Fx0123456789`. */
  executionId: string;
  /** `workflow_execution_id`, e.g. `Wx0123456789`. */
  workflowExecutionId: string;
  /** The step's `callback_id`. */
  callbackId: string;
  definition: FakeFunctionDefinition;
  inputs: Record<string, unknown>;
  /** The execution's token (`bot_access_token`), `xwfp-…`. */
  token: string;
  state: 'running' | 'completed' | 'failed';
  /** `functions.completeSuccess`'s outputs. */
  outputs?: Record<string, unknown>;
  /** `functions.completeError`'s error. */
  error?: string;
  /** When it ended (`Date.now()`). */
  endedAt?: number;
  /** Every attempt to end it, accepted or not (Slack's error code, or `ok`). */
  attempts: Array<{ method: string; answer: string; at: number }>;
}

const USER_ID = /^[UW][A-Z0-9]{2,}$/;
const CHANNEL_ID = /^[CGD][A-Z0-9]{2,}$/;

/**
 * Why `value` is not of Slack type `type` (https://docs.slack.dev/reference/types), if it is not:
 * Slack checks a step's outputs with it, and the console a step's inputs.
 */
export function slackTypeProblem(type: string, value: unknown): string | undefined {
  switch (type) {
    case 'string':
      return typeof value === 'string' ? undefined : 'must be a string';
    case 'integer':
      return Number.isInteger(value) ? undefined : 'must be an integer';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : 'must be a number';
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be a boolean';
    case 'slack#/types/user_id':
      return typeof value === 'string' && USER_ID.test(value) ? undefined : 'must be a user id';
    case 'slack#/types/channel_id':
      return typeof value === 'string' && CHANNEL_ID.test(value) ? undefined : 'must be a channel id';
    case 'slack#/types/timestamp':
      return Number.isInteger(value) && (value as number) > 0
        ? undefined
        : 'must be a Unix timestamp in seconds';
    default:
      return undefined;
  }
}

/** The step executions a fake Slack keeps. */
export class FakeFunctions {
  readonly #executions = new Map<string, FakeFunctionExecution>();
  #seq = 0;

  /** Starts an execution of step `callbackId` (declared as `definition`) with `inputs`. */
  start(
    callbackId: string,
    definition: FakeFunctionDefinition,
    inputs: Record<string, unknown>,
  ): FakeFunctionExecution {
    this.#seq += 1;
    const id = String(this.#seq).padStart(10, '0');
    const execution: FakeFunctionExecution = {
      executionId: `Fx${id}`,
      workflowExecutionId: `Wx${id}`,
      callbackId,
      definition,
      inputs,
      token: `xwfp-${randomBytes(6).toString('hex')}-${randomBytes(16).toString('hex')}`,
      state: 'running',
      attempts: [],
    };
    this.#executions.set(execution.executionId, execution);
    return execution;
  }

  /** The execution `executionId`, if the fake started it. */
  get(executionId: string): FakeFunctionExecution | undefined {
    return this.#executions.get(executionId);
  }

  /** Every execution started, oldest first. */
  all(): FakeFunctionExecution[] {
    return [...this.#executions.values()];
  }

  clear(): void {
    this.#executions.clear();
  }

  /**
   * Answers `functions.completeSuccess` (`success`) or `functions.completeError`. `token` is the one
   * the call carried; `isBotToken` says whether it is the app's own.
   */
  complete(
    method: 'functions.completeSuccess' | 'functions.completeError',
    args: Record<string, unknown>,
    token: string | undefined,
    isBotToken: boolean,
  ): Record<string, unknown> {
    const id = typeof args.function_execution_id === 'string' ? args.function_execution_id : '';
    const execution = this.#executions.get(id);
    const answer = (body: Record<string, unknown>) => {
      execution?.attempts.push({ method, answer: body.ok ? 'ok' : String(body.error), at: Date.now() });
      return body;
    };
    if (!id) return answer({ ok: false, error: 'invalid_arguments' });
    if (!token) return answer({ ok: false, error: 'not_authed' });
    if (!execution) return answer({ ok: false, error: 'function_execution_not_found' });
    if (token !== execution.token && !isBotToken) return answer({ ok: false, error: 'invalid_auth' });
    if (execution.state !== 'running') return answer({ ok: false, error: 'execution_not_in_running_state' });
    if (method === 'functions.completeError') {
      if (typeof args.error !== 'string' || args.error.trim() === '')
        return answer({ ok: false, error: 'invalid_arguments' });
      execution.state = 'failed';
      execution.error = args.error;
      execution.endedAt = Date.now();
      return answer({ ok: true });
    }
    const outputs = args.outputs;
    if (outputs === null || typeof outputs !== 'object' || Array.isArray(outputs))
      return answer({ ok: false, error: 'invalid_arguments' });
    const problems = this.#outputProblems(execution.definition, outputs as Record<string, unknown>);
    if (problems.length > 0)
      return answer({ ok: false, error: 'parameter_validation_failed', errors: problems });
    execution.state = 'completed';
    execution.outputs = outputs as Record<string, unknown>;
    execution.endedAt = Date.now();
    return answer({ ok: true });
  }

  #outputProblems(definition: FakeFunctionDefinition, outputs: Record<string, unknown>): string[] {
    const problems: string[] = [];
    for (const [name, param] of Object.entries(definition.output_parameters)) {
      const value = outputs[name];
      if (value === undefined || value === null) {
        if (param.is_required) problems.push(`${name}: required`);
        continue;
      }
      const problem = slackTypeProblem(param.type, value);
      if (problem) problems.push(`${name}: ${problem}`);
    }
    for (const name of Object.keys(outputs))
      if (!(name in definition.output_parameters)) problems.push(`${name}: not an output of the step`);
    return problems;
  }
}

/** A step's parameters in the form the `function_executed` event lists them (`function.input_parameters`). */
export function wireFunctionParameters(
  params: Record<string, FakeFunctionParameter>,
): Array<Record<string, unknown>> {
  return Object.entries(params).map(([name, p]) => ({
    type: p.type,
    name,
    ...(p.description ? { description: p.description } : {}),
    ...(p.title ? { title: p.title } : {}),
    is_required: p.is_required ?? false,
  }));
}
