/**
 * The `REDIS_*` variables: a single node (redis:// or rediss:// with an ACL user, as
 * https://redis.io/docs/latest/develop/clients/nodejs/connect/ shows), a Redis Cluster's seed
 * nodes, or Sentinel, and never a password in what Capstan says back.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeRedis, readConfig, readRedisConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

function tempFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'capstan-redis-')), name);
  writeFileSync(path, text);
  return path;
}

function problemsOf(env: Record<string, string>): string[] {
  try {
    readRedisConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('expected readRedisConfig to fail');
}

describe('REDIS_* configuration', () => {
  it('defaults to a single node on 127.0.0.1:6379, database 0, no TLS', () => {
    expect(readConfig({}).redis).toEqual({
      mode: 'single',
      nodes: [{ host: '127.0.0.1', port: 6379 }],
      db: 0,
    });
  });

  it('reads an ACL user, password and database from a rediss:// URL, and turns TLS on', () => {
    const redis = readRedisConfig({ REDIS_URL: 'rediss://capstan:s%40cret@cache.example.com:6380/2' });
    expect(redis).toEqual({
      mode: 'single',
      nodes: [{ host: 'cache.example.com', port: 6380 }],
      db: 2,
      username: 'capstan',
      password: 's@cret',
      tls: {},
    });
  });

  it('lets REDIS_USERNAME and REDIS_PASSWORD win over the URL', () => {
    const redis = readRedisConfig({
      REDIS_URL: 'redis://old:old@10.0.0.1:6379',
      REDIS_USERNAME: 'capstan',
      REDIS_PASSWORD: 'from-secrets-manager',
    });
    expect(redis.username).toBe('capstan');
    expect(redis.password).toBe('from-secrets-manager');
  });

  it('trusts the CA in REDIS_TLS_CA_FILE (TLS on even for host:port entries) and checks the server name', () => {
    const caFile = tempFile('ca.crt', CA_PEM);
    const redis = readRedisConfig({
      REDIS_CLUSTER_NODES: '10.0.0.1:6379',
      REDIS_TLS_CA_FILE: caFile,
      REDIS_TLS_SERVERNAME: 'redis.internal',
    });
    expect(redis.tls).toEqual({ ca: CA_PEM, caFile, servername: 'redis.internal' });
  });

  it('takes Cluster seed nodes, with or without a scheme, and the credentials of the entry that has them', () => {
    const redis = readRedisConfig({
      REDIS_CLUSTER_NODES:
        'rediss://capstan:pw@clustercfg.capstan.abc123.use1.cache.amazonaws.com:6379, rediss://10.0.0.2:6379',
    });
    expect(redis.mode).toBe('cluster');
    expect(redis.nodes).toEqual([
      { host: 'clustercfg.capstan.abc123.use1.cache.amazonaws.com', port: 6379 },
      { host: '10.0.0.2', port: 6379 },
    ]);
    expect(redis.username).toBe('capstan');
    expect(redis.password).toBe('pw');
    expect(redis.tls).toEqual({});
  });

  it('takes sentinels and the master name; the sentinels’ own credentials stay apart from the data nodes’', () => {
    const redis = readRedisConfig({
      REDIS_SENTINELS: 'redis://sentinel-user:sentinel-pw@127.0.0.1:26379,127.0.0.1:26380,[::1]:26381',
      REDIS_SENTINEL_NAME: 'capstan',
      REDIS_USERNAME: 'capstan',
      REDIS_PASSWORD: 'data-pw',
    });
    expect(redis).toEqual({
      mode: 'sentinel',
      nodes: [
        { host: '127.0.0.1', port: 26379 },
        { host: '127.0.0.1', port: 26380 },
        { host: '::1', port: 26381 },
      ],
      db: 0,
      sentinelName: 'capstan',
      username: 'capstan',
      password: 'data-pw',
      sentinelUsername: 'sentinel-user',
      sentinelPassword: 'sentinel-pw',
    });
  });

  it('refuses two topologies at once, a sentinel set without its master name, and a Cluster database', () => {
    expect(problemsOf({ REDIS_URL: 'redis://a:1', REDIS_CLUSTER_NODES: 'b:2' })).toEqual([
      'REDIS_URL and REDIS_CLUSTER_NODES: set only one of them (a single node, a Cluster, or Sentinel)',
    ]);
    expect(problemsOf({ REDIS_SENTINELS: '127.0.0.1:26379' })).toEqual([
      expect.stringMatching(/^REDIS_SENTINEL_NAME: the master name .* is needed with REDIS_SENTINELS/),
    ]);
    expect(problemsOf({ REDIS_SENTINEL_NAME: 'capstan' })).toEqual([
      'REDIS_SENTINEL_NAME: set, but REDIS_SENTINELS is not',
    ]);
    expect(problemsOf({ REDIS_CLUSTER_NODES: 'redis://10.0.0.1:6379/3' })).toEqual([
      'REDIS_CLUSTER_NODES: a Redis Cluster has only database 0',
    ]);
  });

  it('refuses a CA file that is missing or not PEM, TLS options without TLS, and mixed schemes', () => {
    expect(problemsOf({ REDIS_URL: 'rediss://h:1', REDIS_TLS_CA_FILE: '/nonexistent/ca.crt' })).toEqual([
      'REDIS_TLS_CA_FILE: cannot read /nonexistent/ca.crt: no such file',
    ]);
    const notPem = tempFile('ca.txt', 'hello');
    expect(problemsOf({ REDIS_URL: 'rediss://h:1', REDIS_TLS_CA_FILE: notPem })).toEqual([
      `REDIS_TLS_CA_FILE: ${notPem} holds no PEM certificate`,
    ]);
    const ca = tempFile('ca.crt', CA_PEM);
    expect(problemsOf({ REDIS_URL: 'redis://h:1', REDIS_TLS_CA_FILE: ca })).toEqual([
      'REDIS_TLS_CA_FILE: set, but REDIS_URL says redis:// (no TLS); use rediss://',
    ]);
    expect(problemsOf({ REDIS_URL: 'redis://h:1', REDIS_TLS_SERVERNAME: 'x' })).toEqual([
      expect.stringMatching(/^REDIS_TLS_SERVERNAME: set, but the connection is not TLS/),
    ]);
    expect(problemsOf({ REDIS_CLUSTER_NODES: 'redis://a:1,rediss://b:2' })).toEqual([
      'REDIS_CLUSTER_NODES: mix of redis:// and rediss:// entries; use one scheme',
    ]);
  });

  it('never repeats a password: not in problems, not in the description', () => {
    const secret = 'hunter2-very-secret';
    const problems = [
      ...problemsOf({ REDIS_URL: `http://capstan:${secret}@cache.example.com:6379` }),
      ...problemsOf({ REDIS_CLUSTER_NODES: `ftp://capstan:${secret}@a:1` }),
      ...problemsOf({ REDIS_SENTINELS: `redis://u:${secret}@a:1/x`, REDIS_SENTINEL_NAME: 'm' }),
      ...problemsOf({ REDIS_URL: 'redis://a:1', REDIS_CLUSTER_NODES: 'b:2', REDIS_PASSWORD: secret }),
    ];
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(
      /^REDIS_URL: a redis:\/\/ or rediss:\/\/ URL \(got "http:\/\/capstan:\*\*\*@cache/,
    );
    for (const problem of problems) expect(problem).not.toContain(secret);

    const described = describeRedis(
      readRedisConfig({ REDIS_CLUSTER_NODES: `rediss://capstan:${secret}@a:1,b:2`, REDIS_PASSWORD: secret }),
    );
    expect(described).toBe('Redis Cluster via a:1 (+1 more), TLS, user capstan');
    expect(described).not.toContain(secret);
  });
});
