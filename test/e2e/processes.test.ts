/** The CLI and the probes: bad configuration stops start-up with a useful message; /ready tells the truth. */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestCapstan, type TestCapstan } from '../helpers/capstan.js';
import { freePort } from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

async function capstanCli(args: string[], env: Record<string, string>) {
  try {
    const out = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      timeout: 20_000,
    });
    return { code: 0, stdout: out.stdout, stderr: out.stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

let t: TestCapstan | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

describe('capstan CLI', () => {
  it('exits 2 naming the file, line and field of a bad config value, without starting', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'capstan-cli-'));
    const path = join(dir, 'capstan.yml');
    writeFileSync(path, 'roles:\n  admins:\n    users: [bob]\n');
    const result = await capstanCli(['start'], { CAPSTAN_CONFIG: path, PORT: '0' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${path}:3:13 roles.admins.users.0: a Slack user id such as U012ABCDEF`);
  });

  it('exits 2 naming the field of a policy error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'capstan-cli-'));
    const path = join(dir, 'capstan.yml');
    writeFileSync(
      path,
      'roles:\n  admins: { users: [U0ADMIN] }\npolicy:\n  environments:\n    prod:\n      allow:\n        env.delete: [ghosts]\n',
    );
    const result = await capstanCli(['start'], { CAPSTAN_CONFIG: path, PORT: '0' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `${path}:7:22 policy.environments.prod.allow.env.delete.0: no role named ghosts under roles`,
    );
  });

  it('exits 2 naming a bad variable, and never prints a token', async () => {
    const result = await capstanCli(['web'], {
      SLACK_BOT_TOKEN: 'xoxp-secret-user-token',
      SLACK_SIGNING_SECRET: 'abcdefghij',
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('SLACK_BOT_TOKEN: a bot token starting with xoxb-');
    expect(result.stderr).not.toContain('secret-user-token');
  });

  it('refuses an unknown role with its usage', async () => {
    const result = await capstanCli(['serve'], {});
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('usage: capstan start | web | worker');
  });
});

describe('/ready', () => {
  it('is 503 while no worker is attached, 200 once one is', async () => {
    t = await startTestCapstan({ role: 'web' });
    const notReady = await fetch(`${t.baseUrl}/ready`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({
      status: 'not ready',
      reasons: ['no worker is attached to the queue'],
    });
    t.spawnWorker();
    const tc = t;
    await waitFor(async () => (await fetch(`${tc.baseUrl}/ready`)).status === 200, { timeoutMs: 20_000 });
  });

  it('is 503 when Redis is unreachable, while /health stays 200', async () => {
    const deadPort = await freePort();
    t = await startTestCapstan({
      env: { REDIS_URL: `redis://127.0.0.1:${deadPort}`, CAPSTAN_SHUTDOWN_GRACE_MS: '500' },
    });
    const tc = t;
    const res = await waitFor(async () => {
      const r = await fetch(`${tc.baseUrl}/ready`);
      return r.status === 503 ? r : undefined;
    });
    expect(JSON.stringify(await res.json())).toContain('redis unreachable');
    expect((await fetch(`${tc.baseUrl}/health`)).status).toBe(200);
  });
});
