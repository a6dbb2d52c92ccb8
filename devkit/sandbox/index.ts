/**
 * The stateful AWS sandbox (`CAPSTAN_AWS=sandbox`): emulates the AWS calls Capstan makes beneath
 * the real SDK v3 clients, so Capstan's own commands, waiters, paginators and retries are what
 * run. State lives in Redis (shared by every process, surviving crashes), resources move through
 * their lifecycle on a lazily advanced clock, and answers use AWS's own error codes.
 *
 *   const sandbox = createSandbox({ redis, prefix: '{capstan}' });
 *   await sandbox.loadSeedFile('sandbox.yml');
 *   const asg = sandbox.attach(new AutoScalingClient({ region: 'eu-west-1' }));
 */
import type { RedisClient } from '../../src/redis.js';
import { autoScalingHandlers } from './autoscaling.js';
import { advanceWithStacks } from './cfn-engine.js';
import { cloudFormationHandlers } from './cloudformation.js';
import { cloudWatchHandlers, type MetricSeriesInput, putSeries } from './cloudwatch.js';
import type { CallContext, HandlerTable } from './context.js';
import { ec2Handlers } from './ec2.js';
import { elbv2Handlers } from './elbv2.js';
import { type ServiceId, unsupported } from './errors.js';
import type { ExtensionCommand, SandboxExtension } from './extension.js';
import { drawFault, isIgnored, refusal, validateFaults } from './faults.js';
import { reconcileAll, worldNow } from './lifecycle.js';
import { attachTo, type SandboxAttachable } from './middleware.js';
import { rdsHandlers } from './rds.js';
import { secretsHandlers } from './secrets.js';
import { applySeed, parseSeed, readSeedFile, type SandboxSeed } from './seed.js';
import { WorldStore } from './store.js';
import { effectiveTiming, type FaultSettings, type SandboxTiming, type World } from './world.js';

export {
  type AlarmEvaluator,
  alarmClaimKey,
  evaluateAlarmsOnce,
  type PublishedTransition,
  startAlarmEvaluator,
} from './alarm-evaluator.js';
export {
  type AlarmDatapoint,
  type AlarmEvaluation,
  type AlarmSpec,
  type AlarmTransition,
  alarmNotification,
  cloudWatchTime,
  datapointTime,
  describeAlarm,
  type EvaluatedAlarm,
  evaluateAlarm,
  evaluationRange,
  isBreaching,
  javaDouble,
  putAlarm,
  transitionTopics,
} from './alarms.js';
export { advanceWithStacks } from './cfn-engine.js';
export {
  aggregate,
  alarmDatapoints,
  alarmSpecFrom,
  alarmStates,
  buckets,
  evaluateAlarmInWorld,
  type MetricSeriesInput,
  statistic,
} from './cloudwatch.js';
export type { CallContext, Handler, HandlerTable } from './context.js';
export { SandboxAwsError, type ServiceId, toSdkException } from './errors.js';
export type { ExtensionCommand, SandboxExtension } from './extension.js';
export { drawFault, seededUniform } from './faults.js';
export {
  advanceWorld,
  groupMembers,
  launchInstances,
  reconcileAll,
  reconcileGroup,
  startTermination,
  worldNow,
} from './lifecycle.js';
export { CLIENT_SERVICES, MIDDLEWARE_NAME, type SandboxAttachable } from './middleware.js';
export {
  addDbInstance,
  type DbInstanceSpec,
  dbInstanceView,
  findDbInstance,
  latestRestorableTime,
} from './rds.js';
export { REGION_LONG_NAMES, regionLongName, snsHost } from './regions.js';
export { putSecret } from './secrets.js';
export { applySeed, parseSeed, readSeedFile, type SandboxSeed, SandboxSeedError } from './seed.js';
export {
  type DeliveryResult,
  deliver,
  openSnsSandbox,
  openSnsStandIn,
  SandboxSnsAgent,
  type SnsSandbox,
  type SnsSandboxOptions,
  type SnsStandInHandle,
  type SnsStandInOptions,
} from './sns.js';
export { loadSnsIdentity, makeSnsIdentity, type SnsIdentity, snsIdentityKey } from './sns-identity.js';
export {
  parseTopicArn,
  type SnsHttpMessage,
  type SnsMessageFields,
  type SnsSignatureVersion,
  signSnsMessage,
  snsMessageBody,
  snsMessageHeaders,
  stringToSign,
} from './sns-messages.js';
export { SandboxContentionError, WorldStore } from './store.js';
export * from './world.js';

/** The built-in commands, by service. */
export const HANDLERS: Record<ServiceId, HandlerTable> = {
  AutoScaling: autoScalingHandlers,
  EC2: ec2Handlers,
  ElasticLoadBalancingV2: elbv2Handlers,
  RDS: rdsHandlers,
  CloudWatch: cloudWatchHandlers,
  SecretsManager: secretsHandlers,
  CloudFormation: cloudFormationHandlers,
};

export interface SandboxOptions {
  /** Redis holding the world (any connection: the sandbox uses plain GET/EVAL/DEL on it). */
  redis: RedisClient;
  /** Key prefix, e.g. `{capstan}`: the world is at `${prefix}:sandbox:world`. */
  prefix: string;
  /** This process's timing (a world's own `timing`, set by seed or setTiming, wins over it). */
  timing?: Partial<SandboxTiming>;
  /** The clock (epoch ms); default Date.now. */
  now?: () => number;
  /** Source of randomness for faults without a seed; default Math.random. */
  random?: () => number;
  extensions?: SandboxExtension[];
}

export interface FaultState {
  settings: FaultSettings;
  counters: World['faultCounters'];
}

export interface Sandbox {
  /** The Redis key of the world. */
  readonly key: string;
  /** Puts the sandbox beneath an SDK client (returns the same client). */
  attach<T extends SandboxAttachable>(client: T): T;
  /** Runs a command without a client (same path as through one, without the SDK's retries). */
  call<O = Record<string, unknown>>(service: ServiceId, command: string, input?: object): Promise<O>;
  /** Adds resources the account already has; idempotent. */
  seed(seed: SandboxSeed): Promise<void>;
  /** `seed()` from a YAML or JSON file. */
  loadSeedFile(path: string): Promise<void>;
  /** Sets fault injection for every process sharing the world (counters are kept). */
  setFaults(faults: Partial<FaultSettings>): Promise<void>;
  /** Fault settings and counters of injected faults. */
  faults(): Promise<FaultState>;
  /** Sets timing for every process sharing the world. */
  setTiming(timing: Partial<SandboxTiming>): Promise<void>;
  /** Appends metric points (creating series) — for tests and demos. */
  putMetricData(series: MetricSeriesInput | MetricSeriesInput[]): Promise<void>;
  /** The world, advanced to now. */
  snapshot(): Promise<World>;
  /** Forgets everything (the next call starts from an empty world). */
  reset(): Promise<void>;
  /** Moves the sandbox clock forward by `ms` for every process, and returns the world advanced to it. */
  advance(ms: number): Promise<World>;
}

export function createSandbox(options: SandboxOptions): Sandbox {
  const store = new WorldStore(options.redis, options.prefix);
  const clock = options.now ?? Date.now;
  const random = options.random ?? Math.random;

  const extensionCommands = new Map<string, ExtensionCommand>();
  for (const ext of options.extensions ?? []) {
    for (const [service, commands] of Object.entries(ext.commands)) {
      for (const [name, cmd] of Object.entries(commands ?? {}))
        extensionCommands.set(`${service}:${name}`, cmd);
    }
  }

  /** One transaction: advance the world to now, then `fn`, then reconcile. */
  function mutate<R>(fn: (ctx: CallContext) => R): Promise<R> {
    return store.transact((world) => {
      const timing = effectiveTiming(world, options.timing);
      const now = worldNow(world, clock());
      advanceWithStacks(world, now, timing);
      const ctx: CallContext = { world, now, timing };
      const result = fn(ctx);
      reconcileAll(world, now, timing);
      return result;
    });
  }

  async function call<O>(service: ServiceId, command: string, input: object = {}): Promise<O> {
    const ext = extensionCommands.get(`${service}:${command}`);
    const table = HANDLERS[service];
    const handler = table && Object.hasOwn(table, command) ? table[command] : undefined;
    if (!ext && !handler) throw unsupported(service, command);
    let prepared: unknown;
    if (ext?.prepare) {
      const world = await snapshot();
      prepared = await ext.prepare(input, { world, now: worldNow(world, clock()) });
    }
    const outcome = await store.transact((world) => {
      // Faults come first: a failed call never touches the resources.
      const fault = drawFault(world, service, command, random) ?? refusal(world, service, command);
      if (fault) return { fault };
      if (isIgnored(world, service, command)) return { output: {} };
      const timing = effectiveTiming(world, options.timing);
      const now = worldNow(world, clock());
      advanceWithStacks(world, now, timing);
      const ctx: CallContext = { world, now, timing };
      const output = ext ? ext.apply(ctx, input, prepared) : handler?.(ctx, input);
      reconcileAll(world, now, timing);
      return { output };
    });
    if ('fault' in outcome) throw outcome.fault;
    return outcome.output as O;
  }

  async function snapshot(): Promise<World> {
    return mutate((ctx) => structuredClone(ctx.world));
  }

  return {
    key: store.key,
    attach: (client) => attachTo(client, (service, command, input) => call(service, command, input)),
    call,
    async seed(seed) {
      const parsed = parseSeed(seed);
      await mutate((ctx) =>
        applySeed(ctx.world, parsed, ctx.now, effectiveTiming(ctx.world, options.timing)),
      );
    },
    async loadSeedFile(path) {
      const parsed = await readSeedFile(path);
      await mutate((ctx) =>
        applySeed(ctx.world, parsed, ctx.now, effectiveTiming(ctx.world, options.timing)),
      );
    },
    async setFaults(faults) {
      await mutate((ctx) => {
        ctx.world.faults = validateFaults({ ...ctx.world.faults, ...faults });
      });
    },
    async faults() {
      const world = await store.read();
      return { settings: world.faults, counters: world.faultCounters };
    },
    async setTiming(timing) {
      await mutate((ctx) => {
        ctx.world.timing = { ...ctx.world.timing, ...timing };
      });
    },
    async putMetricData(series) {
      const list = Array.isArray(series) ? series : [series];
      await mutate((ctx) => {
        for (const s of list) putSeries(ctx.world, s, ctx.now);
      });
    },
    snapshot,
    reset: () => store.clear(),
    async advance(ms) {
      if (!Number.isFinite(ms) || ms < 0)
        throw new Error('advance(ms) needs a non-negative number of milliseconds');
      return store.transact((world) => {
        world.clockOffsetMs += ms;
        const timing = effectiveTiming(world, options.timing);
        const now = worldNow(world, clock());
        advanceWithStacks(world, now, timing);
        reconcileAll(world, now, timing);
        return structuredClone(world);
      });
    },
  };
}
