/**
 * `capstan start` in local mode as a child process (no Slack credentials: the demo world, the
 * console, the terminal as a Slack client), for the tests that use Capstan as a person starting it
 * on their own machine would.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { SERVICES_SCRIPT } from './services.js';
import { waitFor } from './wait-for.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

/** A `capstan start` child process and what it has printed so far. */
export interface LocalCapstan {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
}

/**
 * The environment of a clean machine with no Slack credentials (the tests' Redis, Capstan's keys
 * under `prefix`, scripts/services' servers in `servicesDir`), plus `extra`.
 */
export function localEnv(
  prefix: string,
  servicesDir: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    REDIS_URL: inject('redisUrl'),
    CAPSTAN_QUEUE_PREFIX: prefix,
    CAPSTAN_SERVICES_DIR: servicesDir,
    CAPSTAN_SHUTDOWN_GRACE_MS: '1000',
    LOG_LEVEL: 'warn',
    ...(process.env.CAPSTAN_MYSQL_ROOT_PASSWORD
      ? { CAPSTAN_MYSQL_ROOT_PASSWORD: process.env.CAPSTAN_MYSQL_ROOT_PASSWORD }
      : {}),
    ...extra,
  };
}

/** Starts `capstan start` (from the sources, as `npm start` would run the build) with `env` only. */
export function startLocal(env: Record<string, string>): LocalCapstan {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'start'], {
    cwd: ROOT,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString('utf8');
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exited };
}

/** Stops it as Ctrl-C would (SIGKILL after 15 s) and waits for it to exit. */
export async function stopLocal(running: LocalCapstan | undefined): Promise<void> {
  if (!running || running.child.exitCode !== null) return;
  running.child.kill('SIGTERM');
  const timer = setTimeout(() => running.child.kill('SIGKILL'), 15_000);
  await running.exited;
  clearTimeout(timer);
}

/** Waits until the process has printed something matching `pattern` (after `from` characters). */
export function printed(
  running: LocalCapstan,
  pattern: RegExp,
  timeoutMs = 60_000,
  from = 0,
): Promise<RegExpExecArray> {
  return waitFor(() => pattern.exec(running.out().slice(from)) ?? undefined, {
    timeoutMs,
    intervalMs: 100,
    message: `${pattern} in the output; stdout:\n${running.out().slice(-4000)}\nstderr:\n${running.err().slice(-4000)}`,
  });
}

/** Stops the servers scripts/services started in `servicesDir` (purging their data) and removes it. */
export async function removeLocalServices(servicesDir: string): Promise<void> {
  await run(SERVICES_SCRIPT, ['down', 'all', '--purge'], {
    cwd: ROOT,
    env: { ...process.env, CAPSTAN_SERVICES_DIR: servicesDir },
  }).catch(() => undefined);
  rmSync(servicesDir, { recursive: true, force: true });
}
