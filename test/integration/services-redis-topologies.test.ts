/**
 * scripts/services' Redis topologies, started for real: a Cluster that fails a SIGKILLed master over to its replica
 * and takes it back as a replica, a Sentinel set ioredis finds its master through (before and after a fail-over), and
 * a TLS-only Redis that refuses plaintext, an unrelated CA and the default user.
 */
import { readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
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

/** Clients a test opened; closed after each test. */
const clients: Array<Redis | Cluster> = [];

/** A client that fails fast instead of retrying, closed after the test. */
function client(options: RedisOptions): Redis {
  const redis = new Redis({
    host: '127.0.0.1',
    retryStrategy: () => null,
    maxRetriesPerRequest: 1,
    ...options,
  });
  redis.on('error', () => {}); // each test asserts the errors it expects through the promises
  clients.push(redis);
  return redis;
}

afterEach(() => {
  for (const c of clients.splice(0)) c.disconnect();
});

/** `name:value` lines (INFO, CLUSTER INFO) as a record. */
function fields(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\r\n')
      .filter((line) => line.includes(':') && !line.startsWith('#'))
      .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)]),
  );
}

/** One node of a CLUSTER NODES reply. */
interface ClusterNodeLine {
  id: string;
  port: number;
  flags: string[];
  masterId: string;
  link: string;
  slots: string[];
}

/** Parses a CLUSTER NODES reply (one node a line: id, ip:port@bus, flags, master id, …, link state, slots). */
function clusterNodes(text: string): ClusterNodeLine[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id, address, flags, masterId, , , , link, ...slots] = line.trim().split(' ');
      return {
        id,
        port: Number(/:(\d+)@/.exec(address)?.[1]),
        flags: flags.split(','),
        masterId,
        link,
        slots,
      };
    });
}

/** Masters and replicas as a node on `port` sees them. */
async function clusterView(port: number) {
  const nodes = clusterNodes((await client({ port }).cluster('NODES')) as string);
  const masters = nodes.filter((n) => n.flags.includes('master') && !n.flags.includes('fail'));
  const replicas = nodes.filter((n) => n.flags.includes('slave') && !n.flags.includes('fail'));
  return { nodes, masters, replicas };
}

/**
 * Sends `commands` (RESP arrays) over TLS verified with `ca`, without a client library in between, and resolves with
 * the first line of each reply.
 */
function tlsExchange(port: number, ca: Buffer, commands: string[][]): Promise<string[]> {
  const resp = commands
    .map((args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`)
    .join('');
  return new Promise((resolve, reject) => {
    const socket = connectTls({ host: '127.0.0.1', port, ca }, () => socket.write(resp));
    let received = '';
    socket.setTimeout(5_000, () => {
      socket.destroy();
      reject(new Error(`fewer than ${commands.length} replies in 5 s: ${JSON.stringify(received)}`));
    });
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      const lines = received.split('\r\n').filter(Boolean);
      if (lines.length >= commands.length) {
        socket.destroy();
        resolve(lines);
      }
    });
  });
}

describe('redis-cluster', () => {
  let cluster: RedisClusterService;

  beforeAll(async () => {
    cluster = await startRedisCluster(await freePortBase(REDIS_CLUSTER_PORT_OFFSETS));
  });
  afterAll(async () => {
    await cluster?.stop({ purge: true });
  });

  it('runs six nodes as 3 masters each with 1 replica, all slots served, AOF on', async () => {
    expect(cluster.nodes).toEqual(cluster.ports.map((port) => `127.0.0.1:${port}`));
    expect(cluster.ports).toEqual([0, 1, 2, 3, 4, 5].map((i) => cluster.ports[0] + i));
    expect(cluster.env.REDIS_CLUSTER_NODES).toBe(cluster.nodes.join(','));
    for (const port of cluster.ports) {
      const node = client({ port });
      expect(fields((await node.cluster('INFO')) as string)).toMatchObject({
        cluster_state: 'ok',
        cluster_slots_assigned: '16384',
        cluster_slots_ok: '16384',
        cluster_known_nodes: '6',
      });
      expect(await node.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await node.config('GET', 'appendfsync')).toEqual(['appendfsync', 'everysec']);
      expect(await node.config('GET', 'cluster-node-timeout')).toEqual(['cluster-node-timeout', '2000']);
      expect(cluster.pidOf(port)).toBe(Number(fields(await node.info('server')).process_id));
    }
    const { masters, replicas } = await clusterView(cluster.ports[0]);
    expect(masters).toHaveLength(3);
    expect(replicas).toHaveLength(3);
    for (const master of masters) {
      expect(master.slots.length).toBeGreaterThan(0);
      expect(replicas.filter((r) => r.masterId === master.id)).toHaveLength(1);
    }
  });

  it('takes writes through ioredis Cluster, spread over the three masters', async () => {
    const redis = new Cluster(cluster.nodes, { clusterRetryStrategy: () => null });
    clients.push(redis);
    const keys = Array.from({ length: 30 }, (_, i) => `topology-key-${i}`);
    for (const key of keys) await redis.set(key, `value of ${key}`);
    for (const key of keys) expect(await redis.get(key)).toBe(`value of ${key}`);
    const sizes = await Promise.all(redis.nodes('master').map((node) => node.dbsize()));
    expect(sizes).toHaveLength(3);
    expect(sizes.every((size) => size > 0)).toBe(true);
  });

  it('fails a SIGKILLed master over to its replica, and restart() brings it back as a replica', async () => {
    const { masters, replicas } = await clusterView(cluster.ports[0]);
    const victim = masters[0];
    const heir = replicas.find((r) => r.masterId === victim.id);
    expect(heir).toBeDefined();
    const survivor = cluster.ports.find((port) => port !== victim.port && port !== heir?.port) as number;
    // A key served by the victim, written before it dies (WAIT: its replica has it too).
    const before = new Cluster(cluster.nodes, { clusterRetryStrategy: () => null });
    clients.push(before);
    const [first, last = first] = victim.slots[0].split('-').map(Number);
    const probe = client({ port: survivor });
    let key = '';
    for (let i = 0; key === ''; i++) {
      const slot = Number(await probe.cluster('KEYSLOT', `drill-${i}`));
      if (slot >= first && slot <= last) key = `drill-${i}`;
    }
    expect(key).toBeTruthy();
    await before.set(key, 'written before the kill');
    expect(
      await before
        .nodes('master')
        .find((n) => n.options.port === victim.port)
        ?.wait(1, 2000),
    ).toBe(1);

    const pid = cluster.pidOf(victim.port);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid as number, 'SIGKILL');

    const killedAt = Date.now();
    await waitFor(
      async () => {
        const view = await clusterView(survivor);
        const info = fields((await client({ port: survivor }).cluster('INFO')) as string);
        return info.cluster_state === 'ok' && view.masters.some((m) => m.port === heir?.port);
      },
      {
        timeoutMs: 10_000,
        intervalMs: 200,
        message: `replica ${heir?.port} promoted in place of ${victim.port}`,
      },
    );
    expect(Date.now() - killedAt).toBeLessThan(10_000);

    const after = new Cluster(cluster.nodes, { clusterRetryStrategy: () => null });
    clients.push(after);
    expect(await after.get(key)).toBe('written before the kill');
    await after.set(key, 'written after the fail-over');
    expect(await after.get(key)).toBe('written after the fail-over');

    await cluster.restart();
    expect(cluster.pidOf(victim.port)).not.toBe(pid);
    const back = fields(await client({ port: victim.port }).info('replication'));
    expect(back).toMatchObject({ role: 'slave', master_port: String(heir?.port), master_link_status: 'up' });
    const view = await clusterView(survivor);
    expect(view.masters.map((m) => m.port)).toContain(heir?.port);
    expect(view.replicas.find((r) => r.port === victim.port)?.masterId).toBe(heir?.id);
    expect(view.nodes.every((n) => n.link === 'connected')).toBe(true);
  });
});

describe('redis-sentinel', () => {
  let set: RedisSentinelService;
  const sentinelClient = () => {
    const redis = new Redis({
      sentinels: set.sentinels.map((s) => ({ host: s.split(':')[0], port: Number(s.split(':')[1]) })),
      name: set.name,
      sentinelRetryStrategy: () => null,
    });
    redis.on('error', () => {});
    clients.push(redis);
    return redis;
  };

  beforeAll(async () => {
    set = await startRedisSentinel(await freePortBase(REDIS_SENTINEL_PORT_OFFSETS));
  });
  afterAll(async () => {
    await set?.stop({ purge: true });
  });

  it('has three sentinels that see the master, its 2 replicas and each other', async () => {
    const base = set.dataPorts[0];
    expect(set.name).toBe('capstan');
    expect(set.dataPorts).toEqual([base, base + 1, base + 2]);
    expect(set.sentinelPorts).toEqual([base + 10, base + 11, base + 12]);
    expect(set.sentinels).toEqual(set.sentinelPorts.map((port) => `127.0.0.1:${port}`));
    expect(set.env).toEqual({ REDIS_SENTINELS: set.sentinels.join(','), REDIS_SENTINEL_NAME: 'capstan' });
    for (const port of set.sentinelPorts) {
      const sentinel = client({ port });
      expect(await sentinel.call('SENTINEL', 'get-master-addr-by-name', 'capstan')).toEqual([
        '127.0.0.1',
        String(base),
      ]);
      const replicas = (await sentinel.call('SENTINEL', 'replicas', 'capstan')) as string[][];
      expect(replicas.map((r) => Number(r[r.indexOf('port') + 1])).sort()).toEqual([base + 1, base + 2]);
      expect((await sentinel.call('SENTINEL', 'sentinels', 'capstan')) as unknown[]).toHaveLength(2);
      expect(set.pidOf(port)).toBe(Number(fields(await sentinel.info('server')).process_id));
    }
    for (const port of set.dataPorts) {
      expect(await client({ port }).config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    }
  });

  it('lets ioredis find the master through the sentinels and write, replicated to both replicas', async () => {
    const redis = sentinelClient();
    await redis.set('sentinel-key', 'through the sentinels');
    expect(await redis.get('sentinel-key')).toBe('through the sentinels');
    expect(await redis.wait(2, 2000)).toBe(2);
    for (const port of set.dataPorts.slice(1)) {
      expect(await client({ port }).get('sentinel-key')).toBe('through the sentinels');
    }
  });

  it('fails a SIGKILLed master over, and restart() brings it back as a replica of the new master', async () => {
    const [oldMaster] = set.dataPorts;
    const sentinel = client({ port: set.sentinelPorts[0] });
    process.kill(set.pidOf(oldMaster) as number, 'SIGKILL');
    const newMaster = await waitFor(
      async () => {
        const [, port] = (await sentinel.call('SENTINEL', 'get-master-addr-by-name', 'capstan')) as string[];
        return Number(port) !== oldMaster && Number(port);
      },
      { timeoutMs: 10_000, intervalMs: 200, message: 'sentinels promote a replica' },
    );
    expect(set.dataPorts.slice(1)).toContain(newMaster);
    const redis = sentinelClient();
    expect(await redis.get('sentinel-key')).toBe('through the sentinels');
    await redis.set('sentinel-key', 'after the fail-over');
    expect(await client({ port: newMaster }).get('sentinel-key')).toBe('after the fail-over');

    // Sentinel turns the restarted ex-master into a replica 10-20 s after it reappears (hence 45 s for this test).
    await set.restart();
    expect(fields(await client({ port: oldMaster }).info('replication'))).toMatchObject({
      role: 'slave',
      master_port: String(newMaster),
      master_link_status: 'up',
    });
    expect(await client({ port: oldMaster }).get('sentinel-key')).toBe('after the fail-over');
  }, 45_000);
});

describe('redis-tls', () => {
  let tls: RedisTlsService;

  beforeAll(async () => {
    tls = await startRedisTls(await freePort());
  });
  afterAll(async () => {
    await tls?.stop({ purge: true });
  });

  it('prints a rediss:// URL for user capstan and the CA file', () => {
    expect(tls.url).toBe(`rediss://capstan:${encodeURIComponent(tls.password)}@127.0.0.1:${tls.port}`);
    expect(tls.user).toBe('capstan');
    expect(tls.password.length).toBeGreaterThanOrEqual(24);
    expect(tls.env).toEqual({ REDIS_URL: tls.url, REDIS_TLS_CA_FILE: tls.caFile });
    expect(readFileSync(tls.caFile, 'utf8')).toContain('BEGIN CERTIFICATE');
    expect(readFileSync(tls.otherCaFile, 'utf8')).not.toBe(readFileSync(tls.caFile, 'utf8'));
  });

  it('serves user capstan over TLS verified by its CA', async () => {
    const redis = new Redis(tls.url, { tls: { ca: readFileSync(tls.caFile) }, retryStrategy: () => null });
    clients.push(redis);
    expect(await redis.call('ACL', 'WHOAMI')).toBe('capstan');
    await redis.set('tls-key', 'secret');
    expect(await redis.get('tls-key')).toBe('secret');
    expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    expect(await redis.config('GET', 'port')).toEqual(['port', '0']);
  });

  it('refuses plaintext: the server answers no command and closes the connection', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = new Socket();
      let received = '';
      socket.setTimeout(5_000, () => {
        socket.destroy();
        reject(new Error('plaintext connection neither answered nor closed in 5 s'));
      });
      socket.on('data', (chunk) => {
        received += chunk.toString('latin1');
      });
      socket.on('error', () => {}); // a reset is one way of refusing
      socket.on('close', () => resolve(received));
      socket.connect(tls.port, '127.0.0.1', () => socket.write('PING\r\n'));
    });
    expect(reply).not.toContain('PONG');
    const plain = client({ port: tls.port, username: tls.user, password: tls.password, lazyConnect: true });
    await expect(plain.connect()).rejects.toThrow();
  });

  it('fails certificate verification with an unrelated CA', async () => {
    const errors: Error[] = [];
    const redis = new Redis(tls.url, {
      tls: { ca: readFileSync(tls.otherCaFile) },
      retryStrategy: () => null,
      lazyConnect: true,
    });
    redis.on('error', (error) => errors.push(error));
    clients.push(redis);
    await expect(redis.connect()).rejects.toThrow();
    // Redis sends its CA along with its certificate, so Node finds an untrusted root in the chain.
    expect(errors.map((e) => (e as NodeJS.ErrnoException).code)).toContain('SELF_SIGNED_CERT_IN_CHAIN');
  });

  it('refuses the default user', async () => {
    const ca = readFileSync(tls.caFile);
    expect(await tlsExchange(tls.port, ca, [['PING'], ['AUTH', 'default', tls.password], ['PING']])).toEqual([
      expect.stringMatching(/^-NOAUTH /),
      expect.stringMatching(/^-WRONGPASS /),
      expect.stringMatching(/^-NOAUTH /),
    ]);
    expect(await tlsExchange(tls.port, ca, [['AUTH', tls.user, tls.password], ['PING']])).toEqual([
      '+OK',
      '+PONG',
    ]);
  });
});
