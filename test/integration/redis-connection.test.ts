/**
 * Capstan's connection factory (src/redis.ts) against real servers from scripts/services: a
 * TLS-only Redis with an ACL user and its own CA, a Sentinel set and a Redis Cluster. What is
 * checked is what Redis documents: TLS verifies the server against the CA given
 * (https://redis.io/docs/latest/operate/oss_and_stack/management/security/encryption/), an ACL user
 * logs in with AUTH <user> <password> and a wrong one gets WRONGPASS
 * (https://redis.io/docs/latest/commands/auth/), Sentinel names the current master
 * (https://redis.io/docs/latest/operate/oss_and_stack/management/sentinel/), and WAIT returns the
 * number of replicas that acknowledged the connection's writes (https://redis.io/docs/latest/commands/wait/).
 *
 * And what Sentinel's documentation warns of: during a failover the old master, still up, accepts
 * writes that are lost when it is turned into a replica of the new one ("Sentinel and Redis
 * consistency" in the Sentinel docs). A write Capstan confirms must not be one of them.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readConfig, readRedisConfig } from '../../src/config.js';
import { startCapstan } from '../../src/main.js';
import {
  closeRedis,
  createRedis,
  createWriteConfirmer,
  explainRedisError,
  type RedisClient,
  waitForReplicas,
  writeDurably,
} from '../../src/redis.js';
import { sentinelCall } from '../helpers/sentinel.js';
import {
  freePortBase,
  REDIS_CLUSTER_PORT_OFFSETS,
  REDIS_SENTINEL_PORT_OFFSETS,
  type RedisClusterService,
  type RedisSentinelService,
  type RedisTlsService,
  startRedisCluster,
  startRedisSentinel,
  startRedisTls,
} from '../helpers/services.js';
import { waitFor } from '../helpers/wait-for.js';

/** The first error a new connection reports (it retries on its own; this stops it). */
async function firstError(client: RedisClient): Promise<Error> {
  const error = await new Promise<Error>((resolve) => client.once('error', resolve));
  client.disconnect();
  return error;
}

describe('writeDurably', () => {
  it('makes a write again when its connection moved to another socket while making it, however the new node confirms it', async () => {
    const client = createRedis(readRedisConfig({ REDIS_URL: inject('redisUrl') }));
    // The sentinels' side is not what is tested here: this confirmer confirms whatever it is asked.
    const confirmer = {
      replicated: true,
      confirm: async () => ({ confirmed: true as const }),
      close: async () => {},
    };
    const retries: string[] = [];
    try {
      await client.ping();
      let applied = 0;
      const { results, confirmed } = await writeDurably(
        confirmer,
        client,
        '{capstan}:moved',
        async () => {
          applied += 1;
          await client.incr('{capstan}:moved');
          // The first time, the connection goes to a new socket between two parts of the write
          // (as the failover poller moves it to a new primary).
          if (applied === 1) {
            const before = (client as Redis).stream;
            client.disconnect(true);
            await waitFor(() => client.status === 'ready' && (client as Redis).stream !== before);
          }
          return applied;
        },
        { onRetry: (reason) => retries.push(reason) },
      );
      expect({ results, confirmed }).toEqual({ results: [1, 2], confirmed: true });
      expect(retries).toEqual(['the connection moved to another node while writing']);
    } finally {
      await client.del('{capstan}:moved');
      await closeRedis(client);
    }
  });
});

describe('a TLS-only Redis with an ACL user', () => {
  let tls: RedisTlsService;
  beforeAll(async () => {
    tls = await startRedisTls(await freePortBase([0]));
  }, 120_000);
  afterAll(async () => {
    await tls?.stop({ purge: true });
  });

  it('is reached with rediss://, the CA file and the ACL user', async () => {
    const config = readRedisConfig(tls.env);
    expect(config.tls?.caFile).toBe(tls.caFile);
    const client = createRedis(config);
    try {
      expect(await client.set('{capstan}:tls-check', 'ok')).toBe('OK');
      expect(await client.acl('WHOAMI')).toBe('capstan');
    } finally {
      await closeRedis(client);
    }
  });

  it('refuses a server whose certificate another CA signed, and says which setting to fix', async () => {
    const error = await firstError(
      createRedis(readRedisConfig({ ...tls.env, REDIS_TLS_CA_FILE: tls.otherCaFile })),
    );
    const reason = explainRedisError(error);
    expect(reason).toMatch(
      /^the Redis server's TLS certificate is not trusted \([A-Z_]+\): REDIS_TLS_CA_FILE/,
    );
  });

  it('refuses a wrong password with WRONGPASS, named, and never repeats the password', async () => {
    const wrong = 'not-the-password-123';
    const client = createRedis(readRedisConfig({ ...tls.env, REDIS_PASSWORD: wrong }));
    const error = await firstError(client);
    const reason = explainRedisError(error);
    expect(reason).toMatch(/WRONGPASS.*REDIS_USERNAME and REDIS_PASSWORD/);
    expect(reason).not.toContain(wrong);
  });

  it('answers /ready with 503 and the certificate problem when the CA is wrong, and 200 when it is right', async () => {
    const logger = pino({ level: 'silent' });
    const base = {
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      CAPSTAN_AWS: 'sandbox',
      CAPSTAN_SHUTDOWN_GRACE_MS: '1000',
    };
    const wrong = await startCapstan(
      'worker',
      readConfig({ ...base, ...tls.env, REDIS_TLS_CA_FILE: tls.otherCaFile }),
      logger,
    );
    try {
      await sleep(500);
      const res = await fetch(`http://127.0.0.1:${wrong.port}/ready`);
      expect(res.status).toBe(503);
      expect(await res.text()).toMatch(
        /redis unreachable: the Redis server's TLS certificate is not trusted/,
      );
    } finally {
      await wrong.stop();
    }
    const right = await startCapstan('worker', readConfig({ ...base, ...tls.env }), logger);
    try {
      let status = 0;
      for (let i = 0; i < 50 && status !== 200; i++) {
        status = (await fetch(`http://127.0.0.1:${right.port}/ready`)).status;
        if (status !== 200) await sleep(100);
      }
      expect(status).toBe(200);
    } finally {
      await right.stop();
    }
  }, 60_000);
});

describe('Sentinel and Cluster', () => {
  let sentinel: RedisSentinelService;
  let cluster: RedisClusterService;
  beforeAll(async () => {
    sentinel = await startRedisSentinel(await freePortBase(REDIS_SENTINEL_PORT_OFFSETS));
    cluster = await startRedisCluster(await freePortBase(REDIS_CLUSTER_PORT_OFFSETS));
  }, 180_000);
  afterAll(async () => {
    await sentinel?.stop({ purge: true });
    await cluster?.stop({ purge: true });
  });

  it('reaches the master the sentinels name, and a write is on a replica once WAIT says so', async () => {
    const client = createRedis(readRedisConfig(sentinel.env));
    try {
      await client.set('{capstan}:s', 'v');
      expect(await client.config('GET', 'port')).toEqual(['port', String(sentinel.dataPorts[0])]);
      expect(await waitForReplicas(client, '{capstan}:s', 2, 2_000)).toBe(2);
    } finally {
      await closeRedis(client);
    }
  });

  it('confirms a write once every replica in sync has it, and not while one of them is stopped', async () => {
    const config = readRedisConfig(sentinel.env);
    const client = createRedis(config);
    const confirmer = createWriteConfirmer(config);
    const replica = sentinel.pidOf(sentinel.dataPorts[2] as number) as number;
    try {
      await client.set('{capstan}:c', '0');
      await waitFor(async () => (await confirmer.confirm(client, '{capstan}:c', 1_000)).confirmed);
      process.kill(replica, 'SIGSTOP');
      try {
        await client.set('{capstan}:c', '1');
        expect(await confirmer.confirm(client, '{capstan}:c', 300)).toEqual({
          confirmed: false,
          reason: '1 of 2 replicas in sync have the writes',
        });
      } finally {
        process.kill(replica, 'SIGCONT');
      }
      expect(await confirmer.confirm(client, '{capstan}:c', 5_000)).toEqual({ confirmed: true });
    } finally {
      await confirmer.close();
      await closeRedis(client);
    }
  });

  it('sends WAIT for a Cluster key to the primary that serves its slot', async () => {
    const client = createRedis(readRedisConfig(cluster.env));
    try {
      for (const tag of ['{capstan}', '{a}', '{b}']) {
        const key = `${tag}:k`;
        await client.set(key, 'v0');
        // The replica of the primary serving this key's slot, stopped (SIGSTOP) for a moment: a
        // write is then unacknowledged on that primary, and only there (WAIT elsewhere sees no
        // pending write of this connection's and answers at once).
        const slot = Number(await client.cluster('KEYSLOT', key));
        // CLUSTER SLOTS lists a replica once it is in sync with its primary.
        const replicaPort = await waitFor(async () => {
          const ranges = (await client.cluster('SLOTS')) as unknown as [
            number,
            number,
            ...[string, number][],
          ][];
          return ranges.find(([from, to]) => slot >= from && slot <= to)?.[3]?.[1];
        });
        const pid = cluster.pidOf(replicaPort);
        expect(pid).toBeGreaterThan(0);
        process.kill(pid as number, 'SIGSTOP');
        try {
          await client.set(key, 'v1');
          expect(await waitForReplicas(client, key, 1, 300)).toBe(0);
        } finally {
          process.kill(pid as number, 'SIGCONT');
        }
        expect(await waitForReplicas(client, key, 1, 5_000)).toBe(1);
      }
    } finally {
      await closeRedis(client);
    }
  });

  // Last in this group: it moves the master.
  it('during a SENTINEL FAILOVER, confirms no write the old primary took and lost; every confirmed write is on the new one', async () => {
    const config = readRedisConfig(sentinel.env);
    const client = createRedis(config);
    const confirmer = createWriteConfirmer(config);
    const oldPort = Number(
      ((await sentinelCall(sentinel, 'GET-MASTER-ADDR-BY-NAME', sentinel.name)) as string[])[1],
    );
    // The control: a plain connection to the old primary, writing through the failover as a client
    // without Capstan's confirmation would.
    const direct = createRedis(readRedisConfig({ REDIS_URL: `redis://127.0.0.1:${oldPort}` }));
    const confirmed: string[] = [];
    const acked: string[] = [];
    const reasons = new Set<string>();
    try {
      await client.set('{capstan}:before', '1');
      await waitFor(async () => (await confirmer.confirm(client, '{capstan}:before', 1_000)).confirmed);
      await sentinelCall(sentinel, 'FAILOVER', sentinel.name);
      const until = Date.now() + 6_000;
      let i = 0;
      const controlWrites = (async () => {
        for (let j = 0; Date.now() < until; j++) {
          const ok = await direct.set(`{capstan}:raw:${j}`, '1').then(
            () => true,
            () => false,
          );
          if (ok) acked.push(`{capstan}:raw:${j}`);
          await sleep(20);
        }
      })();
      while (Date.now() < until) {
        const key = `{capstan}:f:${i++}`;
        const { confirmed: ok } = await writeDurably(confirmer, client, key, () => client.set(key, '1'), {
          onRetry: (reason) => reasons.add(reason.replace(/[0-9.:]+/g, '#')),
        });
        if (ok) confirmed.push(key);
      }
      await controlWrites;
      // The failover is over: the old primary is a replica of the new one, in sync.
      await waitFor(
        async () => {
          const role = (await direct.call('ROLE')) as unknown[];
          return role[0] === 'slave' && role[3] === 'connected';
        },
        { timeoutMs: 30_000, message: 'the old primary to be a replica in sync' },
      );
      const fresh = createRedis(config);
      try {
        expect(Number(await fresh.config('GET', 'port').then((r) => (r as string[])[1]))).not.toBe(oldPort);
        const missing = [];
        for (const key of confirmed) if ((await fresh.exists(key)) !== 1) missing.push(key);
        expect(missing).toEqual([]);
        expect(confirmed.length).toBe(i);
        // Seen while it was under way (the sentinel running it flags it before it promotes).
        expect(reasons).toContain('a sentinel is failing the primary over');
        // What the confirmation is for: the old primary acknowledged writes the failover lost.
        let lost = 0;
        for (const key of acked) if ((await fresh.exists(key)) !== 1) lost += 1;
        expect(lost).toBeGreaterThan(0);
      } finally {
        await closeRedis(fresh);
      }
    } finally {
      await confirmer.close();
      await closeRedis(client);
      await closeRedis(direct);
    }
  }, 60_000);
});
