/**
 * moto's server (getmoto/moto, an AWS emulator nobody here wrote) for the conformance suite: found on
 * PATH or in this machine image's pyenv, started on a free loopback port, stopped afterwards.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const FALLBACKS = ['/root/.pyenv/shims/moto_server'];

/** The moto_server executable, if this machine has one. */
export function findMotoServer(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'moto_server');
    if (dir && existsSync(candidate)) return candidate;
  }
  return FALLBACKS.find((p) => existsSync(p));
}

/** A running moto server. */
export interface Moto {
  url: string;
  stop(): Promise<void>;
}

/** Starts moto_server on `port` (loopback only) and waits until it answers. */
export async function startMoto(executable: string, port: number): Promise<Moto> {
  const child: ChildProcess = spawn(executable, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/moto-api/`);
      if (res.ok) break;
    } catch {
      // Not listening yet.
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not start on ${url}:\n${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}
