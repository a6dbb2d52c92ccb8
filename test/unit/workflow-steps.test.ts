/**
 * Workflow Builder steps (pure parts): the manifest declares exactly the steps Capstan listens for,
 * with Slack's parameter shape; a step's inputs (as a `function_executed` event carries them) become
 * the slash command's typed command or a clear reason; a job's end becomes the step's outputs or its
 * error, and only the job that did the work ends it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { JobData, StepRun } from '../../src/queue/contract.js';
import { STEPS } from '../../src/steps/definitions.js';
import { stepRequestOf } from '../../src/steps/inputs.js';
import { type JobEnd, stepEndingOf, stepError } from '../../src/steps/outputs.js';

const NOW = new Date('2026-03-02T10:00:00Z');
const CTX = { now: NOW, timeZone: 'Europe/Amsterdam' };
const WHO = { user: 'U0ALICE', channel: 'C0OPS' };

interface ManifestParameter {
  type: string;
  title?: string;
  is_required?: boolean;
}
interface ManifestFunction {
  title?: string;
  input_parameters: Record<string, ManifestParameter>;
  output_parameters: Record<string, ManifestParameter>;
}
interface Manifest {
  functions: Record<string, ManifestFunction>;
  settings: {
    org_deploy_enabled?: boolean;
    function_runtime?: string;
    event_subscriptions: { bot_events: string[] };
  };
}

describe('the manifest', () => {
  const manifest = parse(readFileSync('manifest.yml', 'utf8')) as Manifest;

  it('declares every step as src/steps/definitions.ts does', () => {
    expect(manifest.functions).toEqual(JSON.parse(JSON.stringify(STEPS)));
  });

  it('is set up for custom steps as Slack documents: org-ready, remote runtime, function_executed', () => {
    expect(manifest.settings.org_deploy_enabled).toBe(true);
    expect(manifest.settings.function_runtime).toBe('remote');
    expect(manifest.settings.event_subscriptions.bot_events).toContain('function_executed');
  });

  it('types every parameter with a Slack type, titles it, and asks each step for who and where', () => {
    const types = new Set([
      'string',
      'integer',
      'slack#/types/user_id',
      'slack#/types/channel_id',
      'slack#/types/timestamp',
    ]);
    for (const [id, fn] of Object.entries(manifest.functions)) {
      expect(fn.title, id).toBeTruthy();
      for (const params of [fn.input_parameters, fn.output_parameters]) {
        for (const [name, p] of Object.entries(params)) {
          expect(types.has(p.type), `${id}.${name}: ${p.type}`).toBe(true);
          expect(p.title, `${id}.${name}`).toBeTruthy();
        }
      }
      expect(fn.input_parameters.user).toMatchObject({ type: 'slack#/types/user_id', is_required: true });
      expect(fn.input_parameters.channel).toMatchObject({
        type: 'slack#/types/channel_id',
        is_required: true,
      });
      expect(fn.output_parameters.job_id).toMatchObject({ type: 'string', is_required: true });
    }
  });
});

describe('step inputs → the command', () => {
  it('create_environment: the same command /env create makes, with integer and text inputs', () => {
    const read = stepRequestOf(
      'create_environment',
      { ...WHO, environment: 'demo', blueprint: 'web', version: '1.4.2', size: 3, ttl: '10h' },
      CTX,
    );
    expect(read).toEqual({
      ok: true,
      request: {
        command: {
          kind: 'env.create',
          name: 'demo',
          blueprint: 'web',
          version: '1.4.2',
          size: 3,
          ttlMs: 36_000_000,
        },
        text: '/env create demo --blueprint web --size 3 --ttl 10h --version 1.4.2',
        userId: 'U0ALICE',
        channelId: 'C0OPS',
      },
    });
  });

  it('optional inputs left empty are absent, as Workflow Builder sends them', () => {
    const read = stepRequestOf('create_environment', { ...WHO, environment: 'demo', version: '' }, CTX);
    expect(read.ok && read.request.command).toEqual({ kind: 'env.create', name: 'demo' });
  });

  it('delete, lb disable/enable and io-credits map to their commands', () => {
    expect(stepRequestOf('delete_environment', { ...WHO, environment: 'prod' }, CTX)).toMatchObject({
      ok: true,
      request: { command: { kind: 'env.delete', name: 'prod' }, text: '/env delete prod' },
    });
    expect(
      stepRequestOf(
        'lb_disable',
        { ...WHO, environment: 'prod', instance: 'i-0abc1234def567890', reason: 'kernel patch' },
        CTX,
      ),
    ).toMatchObject({
      ok: true,
      request: {
        command: {
          kind: 'lb.disable',
          env: 'prod',
          instanceId: 'i-0abc1234def567890',
          reason: 'kernel patch',
        },
      },
    });
    expect(stepRequestOf('lb_enable', { ...WHO, environment: 'prod' }, CTX)).toMatchObject({
      ok: true,
      request: { command: { kind: 'lb.enable', env: 'prod' } },
    });
    expect(stepRequestOf('investigate_io_credits', { ...WHO, database: 'Orders-DB' }, CTX)).toMatchObject({
      ok: true,
      request: { command: { kind: 'rds.io-credits', dbInstance: 'orders-db', hours: 24 } },
    });
  });

  it('restore_table reads its time as a Slack timestamp (Unix seconds), default mode side-table', () => {
    const at = Date.parse('2026-03-02T08:30:00Z') / 1000;
    const read = stepRequestOf(
      'restore_table',
      { ...WHO, database: 'orders-db', table: 'shop.billing', time: at },
      CTX,
    );
    expect(read).toMatchObject({
      ok: true,
      request: {
        command: {
          kind: 'rds.restore-table',
          dbInstance: 'orders-db',
          schema: 'shop',
          table: 'billing',
          at: '2026-03-02T08:30:00.000Z',
          mode: 'side-table',
        },
      },
    });
    const asText = stepRequestOf(
      'restore_table',
      { ...WHO, database: 'orders-db', table: 'shop.billing', time: String(at), mode: 'Replace' },
      CTX,
    );
    expect(asText.ok && asText.request.command).toMatchObject({
      at: '2026-03-02T08:30:00.000Z',
      mode: 'replace',
    });
  });

  it.each([
    [
      'create_environment',
      { ...WHO, environment: 'Demo' },
      /"Environment": Environment names are lowercase: use `demo`/,
    ],
    ['create_environment', { ...WHO, environment: '' }, /"Environment" is required but was empty/],
    [
      'create_environment',
      { ...WHO, environment: 'demo', size: 0 },
      /"Size": the size must be a whole number from 1 to 100; 0 is too small/,
    ],
    [
      'create_environment',
      { ...WHO, environment: 'demo', size: 2.5 },
      /"Size": the size must be a whole number/,
    ],
    ['create_environment', { ...WHO, environment: 'demo', ttl: 'forever' }, /"Time to live": `--ttl`/],
    ['create_environment', { channel: 'C0OPS', environment: 'demo' }, /"Run as" is required/],
    [
      'create_environment',
      { user: 'U0ALICE', channel: 'D0ALICE', environment: 'demo' },
      /"Progress channel" is not a Slack channel/,
    ],
    [
      'lb_disable',
      { ...WHO, environment: 'prod', instance: 'i-XYZ' },
      /"Instance": `i-XYZ` is not an EC2 instance id/,
    ],
    [
      'restore_table',
      { ...WHO, database: 'orders-db', table: 'billing', time: 1 },
      /"Table": `billing` needs its schema/,
    ],
    ['restore_table', { ...WHO, database: 'orders-db', table: 'shop.billing' }, /"Restore to" is required/],
    [
      'restore_table',
      { ...WHO, database: 'orders-db', table: 'shop.billing', time: 'yesterday' },
      /"Restore to" is not a time/,
    ],
    [
      'restore_table',
      { ...WHO, database: 'orders-db', table: 'shop.billing', time: NOW.getTime() / 1000 + 60 },
      /"Restore to" is in the future/,
    ],
    [
      'restore_table',
      { ...WHO, database: 'orders-db', table: 'shop.billing', time: 1, mode: 'all' },
      /"Mode": `--mode` must be/,
    ],
    [
      'investigate_io_credits',
      { ...WHO, database: 'orders-db', hours: 1000 },
      /"Hours": the number of hours must be a whole number from 1 to 336/,
    ],
    ['no_such_step', WHO, /Capstan has no step called `no_such_step`/],
  ] as const)('%s with bad input %j fails saying what is wrong', (step, inputs, error) => {
    const read = stepRequestOf(step, inputs as Record<string, unknown>, CTX);
    expect(read.ok).toBe(false);
    if (!read.ok) expect(read.error).toMatch(error);
  });

  it('shows text inputs escaped: no mention or link from an input reaches a message', () => {
    const read = stepRequestOf('create_environment', { ...WHO, environment: '<!channel>' }, CTX);
    expect(read.ok).toBe(false);
    if (!read.ok) expect(read.error).not.toMatch(/<!channel>/);
  });
});

describe('a job end → the step end', () => {
  const run: StepRun = { callbackId: 'create_environment', executionId: 'Fx0123ABC' };
  const data = (command: JobData['command'], step: StepRun | null = run): JobData => ({
    command,
    checkpoints: {},
    request: {
      requestId: 'step:Fx0123ABC',
      userId: 'U0ALICE',
      channelId: 'C0OPS',
      text: '/env create demo',
      source: 'workflow',
      receivedAt: 0,
      ...(step ? { step } : {}),
    },
  });
  const created: JobEnd = {
    name: 'env.create',
    jobId: 'j0123',
    data: data({ kind: 'env.create', name: 'demo' }),
    outcome: 'done',
    summary: 'Environment `demo` is up',
    facts: {
      environmentStatus: 'up',
      instances: 2,
      version: '1.4.2',
      expiresAt: '2026-03-02T18:00:00.000Z',
    },
  };

  it('a done create completes with the read-back outputs (expiry as Unix seconds)', () => {
    expect(stepEndingOf(created)).toEqual({
      run,
      ending: {
        ok: true,
        outputs: {
          job_id: 'j0123',
          environment: 'demo',
          status: 'up',
          instances: 2,
          version: '1.4.2',
          expires_at: Date.parse('2026-03-02T18:00:00Z') / 1000,
        },
      },
    });
  });

  it('a failed or cancelled job fails the step with its reason, without emoji codes', () => {
    expect(
      stepEndingOf({ ...created, outcome: 'failed', summary: 'the blueprint `nope` is unknown' })?.ending,
    ).toEqual({
      ok: false,
      error: 'Job j0123 failed: the blueprint `nope` is unknown',
    });
    expect(
      stepEndingOf({ ...created, outcome: 'cancelled', summary: 'cancelled by <@U0BOB>' })?.ending,
    ).toEqual({
      ok: false,
      error: 'Job j0123 was cancelled: cancelled by <@U0BOB>',
    });
    expect(stepError(':no_entry: Not allowed: no role')).toEqual({
      ok: false,
      error: 'Not allowed: no role',
    });
  });

  it('a done job that did not read back what the step promises fails it rather than invent outputs', () => {
    expect(stepEndingOf({ ...created, facts: {} })?.ending).toMatchObject({
      ok: false,
      error: expect.stringMatching(/did not read back the environment/),
    });
  });

  it('restore, io-credits, lb map their facts', () => {
    const restore = stepEndingOf({
      name: 'rds.restore-table',
      jobId: 'j1',
      data: data(
        {
          kind: 'rds.restore-table',
          dbInstance: 'orders-db',
          schema: 'shop',
          table: 'billing',
          at: 'x',
          mode: 'side-table',
        },
        { callbackId: 'restore_table', executionId: 'Fx1' },
      ),
      outcome: 'done',
      summary: 'restored',
      facts: { restoredTable: 'shop.billing_restored_0830' },
    });
    expect(restore?.ending).toEqual({
      ok: true,
      outputs: { job_id: 'j1', restored_table: 'shop.billing_restored_0830', status: 'restored' },
    });
    const io = stepEndingOf({
      name: 'rds.io-credits',
      jobId: 'j2',
      data: data(
        { kind: 'rds.io-credits', dbInstance: 'orders-db', hours: 24 },
        { callbackId: 'investigate_io_credits', executionId: 'Fx2' },
      ),
      outcome: 'done',
      summary: 'report',
      facts: { verdict: 'throttled', severity: 'critical' },
    });
    expect(io?.ending).toEqual({
      ok: true,
      outputs: { job_id: 'j2', verdict: 'throttled', severity: 'critical' },
    });
  });

  it('only the job that does the work ends the step', () => {
    // No step carried.
    expect(
      stepEndingOf({ ...created, data: data({ kind: 'env.create', name: 'demo' }, null) }),
    ).toBeUndefined();
    // The approval request waits; the approved job (or the rejection, or the expiry) ends the step.
    expect(stepEndingOf({ ...created, name: 'approval.request', outcome: 'waiting' })).toBeUndefined();
    // A job that handed the work on to an approval request.
    expect(stepEndingOf({ ...created, facts: { handedOnTo: 'j9' } })).toBeUndefined();
    // Capstan's own jobs carrying the request (the approval's timer).
    expect(stepEndingOf({ ...created, name: 'approval.expire' })).toBeUndefined();
    // An approval request that could not be made fails the step.
    expect(
      stepEndingOf({ ...created, name: 'approval.request', outcome: 'failed', summary: 'AWS down' })?.ending,
    ).toEqual({
      ok: false,
      error: 'Capstan could not ask for approval (request j0123): AWS down',
    });
  });
});
