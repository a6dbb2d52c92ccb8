/**
 * Fault injection: throttling and transient server errors at configured rates, decided before a
 * call touches any state. The settings and the counters live in the world, so they apply to
 * every process sharing it and tests can assert that faults really happened.
 */
import { SandboxAwsError, type ServiceId } from './errors.js';
import type { FaultSettings, World } from './world.js';

export type InjectedFault = SandboxAwsError & { kind: 'throttling' | 'transient' };

/** A uniform number in [0, 1) from a seed and a counter (splitmix32): reproducible fault sequences. */
export function seededUniform(seed: number, n: number): number {
  let z = (Math.imul(seed | 0, 0x9e3779b9) + Math.imul(n + 1, 0x85ebca6b)) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  z ^= z >>> 15;
  return (z >>> 0) / 2 ** 32;
}

function applies(settings: FaultSettings, service: ServiceId, command: string): boolean {
  if (!settings.commands || settings.commands.length === 0) return true;
  return settings.commands.includes(command) || settings.commands.includes(`${service}:${command}`);
}

/** The error a service answers with when it throttles a caller. */
export function throttlingError(service: ServiceId): SandboxAwsError {
  return service === 'EC2'
    ? new SandboxAwsError(service, 'RequestLimitExceeded', 'Request limit exceeded.', 400)
    : new SandboxAwsError(service, 'Throttling', 'Rate exceeded', 400);
}

/** A transient server-side failure (500 or 503). */
export function transientError(service: ServiceId, unavailable: boolean): SandboxAwsError {
  if (service === 'EC2') {
    return unavailable
      ? new SandboxAwsError(
          service,
          'Unavailable',
          'The server is overloaded and cannot handle the request.',
          503,
        )
      : new SandboxAwsError(service, 'InternalError', 'An internal error has occurred.', 500);
  }
  return unavailable
    ? new SandboxAwsError(
        service,
        'ServiceUnavailable',
        'Service is unavailable. Please try again later.',
        503,
      )
    : new SandboxAwsError(
        service,
        'InternalFailure',
        'An internal error occurred. Please try again later.',
        500,
      );
}

/**
 * Decides whether this call fails (and counts it). Returns the error to throw, or undefined.
 * Mutates the world's counters only while faults are set.
 */
export function drawFault(
  world: World,
  service: ServiceId,
  command: string,
  random: () => number = Math.random,
): InjectedFault | undefined {
  const f = world.faults;
  if (!(f.throttleRate > 0 || f.transientRate > 0) || !applies(f, service, command)) return undefined;
  const c = world.faultCounters;
  const r = f.seed !== undefined ? seededUniform(f.seed, c.calls) : random();
  c.calls += 1;
  let kind: 'throttling' | 'transient' | undefined;
  if (r < f.throttleRate) kind = 'throttling';
  else if (r < f.throttleRate + f.transientRate) kind = 'transient';
  if (!kind) return undefined;
  c[kind] += 1;
  const key = `${service}:${command}`;
  const per = c.byCommand[key] ?? { throttling: 0, transient: 0 };
  per[kind] += 1;
  c.byCommand[key] = per;
  const error =
    kind === 'throttling'
      ? throttlingError(service)
      : transientError(service, (r - f.throttleRate) / (f.transientRate || 1) >= 0.5);
  return Object.assign(error, { kind });
}

export function validateFaults(settings: FaultSettings): FaultSettings {
  const rate = (x: unknown, name: string) => {
    const n = Number(x ?? 0);
    if (!Number.isFinite(n) || n < 0 || n > 1) throw new Error(`${name} must be between 0 and 1`);
    return n;
  };
  const out: FaultSettings = {
    throttleRate: rate(settings.throttleRate, 'throttleRate'),
    transientRate: rate(settings.transientRate, 'transientRate'),
  };
  if (out.throttleRate + out.transientRate > 1)
    throw new Error('throttleRate + transientRate must not exceed 1');
  if (settings.seed !== undefined) out.seed = Math.trunc(Number(settings.seed));
  if (settings.commands) out.commands = [...settings.commands];
  if (settings.ignored) out.ignored = [...settings.ignored];
  return out;
}

/** Whether `command` is set to answer success and do nothing (see {@link FaultSettings.ignored}). */
export function isIgnored(settings: FaultSettings, service: ServiceId, command: string): boolean {
  const ignored = settings.ignored ?? [];
  return ignored.includes(command) || ignored.includes(`${service}:${command}`);
}
