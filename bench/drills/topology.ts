/**
 * Looking at a Redis topology from outside Capstan, for the drills: one short-lived plain
 * connection per question, to a node by port on loopback.
 */
import { Redis } from 'ioredis';

/** Runs `f` on a fresh connection to 127.0.0.1:`port` (no retries: a dead node fails at once). */
export async function onNode<T>(port: number, f: (c: Redis) => Promise<T>): Promise<T> {
  const c = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: 1_000,
    retryStrategy: () => null,
    connectionName: 'drill-inspect',
  });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return await f(c);
  } finally {
    c.disconnect();
  }
}

/** The first answer of `f` from any of `ports` (the first node that answers). */
export async function onAnyNode<T>(ports: number[], f: (c: Redis) => Promise<T>): Promise<T> {
  let last: unknown;
  for (const port of ports) {
    try {
      return await onNode(port, f);
    } catch (error) {
      last = error;
    }
  }
  throw new Error(`no node of ${ports.join(', ')} answered: ${(last as Error | undefined)?.message}`);
}

/** What a node says of its role: `master`, or `replica of <port>` with its link's state. */
export async function roleOf(port: number): Promise<string> {
  const info = await onNode(port, (c) => c.info('replication'));
  const field = (k: string) => info.match(new RegExp(`^${k}:(.*)$`, 'm'))?.[1]?.trim();
  return field('role') === 'slave'
    ? `replica of ${field('master_port')} (link ${field('master_link_status')})`
    : (field('role') ?? 'unknown');
}

/** The port of the Cluster primary serving the slot of `key`'s hash tag (CLUSTER KEYSLOT, CLUSTER SLOTS). */
export async function clusterPrimaryOf(ports: number[], key: string): Promise<number> {
  return onAnyNode(ports, async (c) => {
    const slot = Number(await c.call('CLUSTER', 'KEYSLOT', key));
    // Each range: [start, end, [primary host, port, id], [replica host, port, id]…].
    const ranges = (await c.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, string]]>;
    const range = ranges.find(([start, end]) => slot >= start && slot <= end);
    if (!range) throw new Error(`no node serves slot ${slot} (of ${key})`);
    return Number(range[2][1]);
  });
}

/** The port of the primary the sentinels name for `name` (SENTINEL GET-MASTER-ADDR-BY-NAME). */
export async function sentinelPrimaryOf(sentinelPorts: number[], name: string): Promise<number> {
  return onAnyNode(sentinelPorts, async (c) => {
    const addr = (await c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as [string, string] | null;
    if (!addr) throw new Error(`the sentinels know no master ${name}`);
    return Number(addr[1]);
  });
}
