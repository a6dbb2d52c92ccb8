import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

function configFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'capstan-config-'));
  const path = join(dir, 'capstan.yml');
  writeFileSync(path, text);
  return path;
}

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    readConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('expected readConfig to fail');
}

describe('readConfig', () => {
  it('starts in local mode, on loopback, with the sandbox, when no Slack credentials are set', () => {
    const config = readConfig({});
    expect(config.slack.mode).toBe('local');
    // A signing secret of its own at each start: 256 random bits, never a constant anyone could read.
    expect(config.slack.signingSecret).toMatch(/^[0-9a-f]{64}$/);
    expect(readConfig({}).slack.signingSecret).not.toBe(config.slack.signingSecret);
    expect(config.http).toEqual({ port: 3000, host: '127.0.0.1' });
    expect(config.aws.mode).toBe('sandbox');
    expect(config.queuePrefix).toBe('{capstan}');
    expect(config.file.timezone).toBe('UTC');
  });

  it('uses the HTTP receiver with credentials, and Socket Mode with an app token', () => {
    const env = { SLACK_BOT_TOKEN: 'xoxb-1-2-abc', SLACK_SIGNING_SECRET: 'abcdefgh12345678', PORT: '4000' };
    const http = readConfig(env);
    expect(http.slack.mode).toBe('http');
    expect(http.http).toEqual({ port: 4000, host: '0.0.0.0' });
    expect(http.aws.mode).toBe('aws');
    expect(readConfig({ ...env, SLACK_APP_TOKEN: 'xapp-1-A-1-abc' }).slack.mode).toBe('socket');
  });

  it('adds a trailing slash to SLACK_API_URL', () => {
    expect(readConfig({ SLACK_API_URL: 'http://127.0.0.1:9999/api' }).slack.apiUrl).toBe(
      'http://127.0.0.1:9999/api/',
    );
  });

  it('names the variable, what is expected, and never echoes a secret', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      SLACK_BOT_TOKEN: 'xoxp-user-token-secret',
      SLACK_SIGNING_SECRET: 'x',
    });
    const text = problems.join('\n');
    expect(text).toMatch(/^PORT: .*got "eighty"/m);
    expect(text).toMatch(/SLACK_BOT_TOKEN: a bot token starting with xoxb-/);
    expect(text).toMatch(/SLACK_SIGNING_SECRET: /);
    expect(text).not.toContain('xoxp-user-token-secret');
  });

  it('refuses half a set of Slack credentials', () => {
    expect(problemsOf({ SLACK_BOT_TOKEN: 'xoxb-1-2-abc' })).toEqual([
      expect.stringContaining('SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET'),
    ]);
  });

  it('refuses a queue prefix that is not a hash tag', () => {
    expect(problemsOf({ CAPSTAN_QUEUE_PREFIX: 'capstan' })[0]).toMatch(
      /CAPSTAN_QUEUE_PREFIX: a Redis hash tag/,
    );
  });

  it('reads a valid YAML file', () => {
    const path = configFile('timezone: Europe/Berlin\nroles:\n  approvers:\n    users: [U0APPROVER]\n');
    const config = readConfig({ CAPSTAN_CONFIG: path });
    expect(config.file.timezone).toBe('Europe/Berlin');
    expect(config.file.roles.approvers).toEqual({ users: ['U0APPROVER'], groups: [] });
  });

  it('names the file, line and field of a bad value', () => {
    const path = configFile('timezone: UTC\nroles:\n  approvers:\n    users:\n      - U0OK\n      - alice\n');
    const problems = problemsOf({ CAPSTAN_CONFIG: path });
    expect(problems).toEqual([`${path}:6:9 roles.approvers.users.1: a Slack user id such as U012ABCDEF`]);
  });

  it('names unknown fields and bad time zones', () => {
    const path = configFile('timezone: Mars/Olympus\nrolez: {}\n');
    const problems = problemsOf({ CAPSTAN_CONFIG: path }).join('\n');
    expect(problems).toContain(`${path}:1:11 timezone: an IANA time zone`);
    expect(problems).toMatch(/rolez/);
  });

  it('reports YAML syntax errors with their line', () => {
    const path = configFile('roles:\n  a: [\n');
    expect(problemsOf({ CAPSTAN_CONFIG: path })[0]).toMatch(new RegExp(`^${path}:\\d+:\\d+: YAML syntax`));
  });

  it('says when the file is missing', () => {
    expect(problemsOf({ CAPSTAN_CONFIG: '/nonexistent/capstan.yml' })).toEqual([
      'CAPSTAN_CONFIG: cannot read /nonexistent/capstan.yml: no such file',
    ]);
  });
});
