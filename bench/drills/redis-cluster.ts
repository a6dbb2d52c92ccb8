/**
 * Drill 7 — Redis Cluster failover. Capstan (web in this process, two `capstan worker` processes)
 * runs on a Redis Cluster of three primaries and three replicas (`scripts/services up
 * redis-cluster`: cluster-node-timeout 2 s, append-only file with appendfsync everysec). Each of
 * `count` rounds is the failover round of `failover.ts` — light traffic, an approval left open, an
 * environment create holding its lock — in which the primary serving Capstan's hash-tag slot is
 * SIGKILLed (`CLUSTER KEYSLOT <prefix>` → its range in `CLUSTER SLOTS`: every key Capstan has is in
 * that one slot, so killing another primary would prove nothing). Its replica is promoted; Capstan
 * must carry on with nothing acknowledged lost. The killed node is restarted and must rejoin as a
 * replica before the next round. Prints each failover's downtime (SIGKILL → first write the new
 * primary accepted, probed every 25 ms), the commands sent meanwhile and how many were acked, the
 * jobs it delayed, and anything lost.
 */
import { startRedisCluster } from '../../devkit/local/services.js';
import {
  type Failover,
  type FailoverReport,
  failoverFigures,
  failoverRound,
  withFailoverRig,
} from './failover.js';
import type { DrillOptions, DrillResult } from './harness.js';
import { clusterPrimaryOf, roleOf } from './topology.js';

/** Options of {@link clusterFailoverDrill}. */
export interface ClusterDrillOptions extends DrillOptions {
  /** The cluster's base port: nodes on port…port+5, their bus ports 10000 higher. Default 21000. */
  port?: number;
}

/** Runs the drill: `count` failovers. It always starts a cluster of its own (`redisUrl` is ignored). */
export async function clusterFailoverDrill(options: ClusterDrillOptions): Promise<DrillResult> {
  const log = options.log ?? (() => undefined);
  const cluster = await startRedisCluster(options.port ?? 21_000);
  const reports: FailoverReport[] = [];
  try {
    await withFailoverRig({ ...cluster.env }, log, async (rig) => {
      const { world } = rig;
      log(`cluster on ports ${cluster.ports.join(', ')}; Capstan's keys under ${world.prefix}`);
      const kill: Failover = {
        kind: 'SIGKILL',
        async trigger() {
          // The primary of the slot all of Capstan's keys are in.
          const from = await clusterPrimaryOf(cluster.ports, world.prefix);
          const pid = cluster.pidOf(from);
          if (!pid) throw new Error(`no pid for the node on port ${from}`);
          const at = Date.now();
          process.kill(pid, 'SIGKILL');
          return { at, from };
        },
        async recover(from) {
          await cluster.restart();
          const role = await roleOf(from);
          if (!role.startsWith('replica'))
            throw new Error(`port ${from} came back as ${role}, not as a replica`);
          return `rejoined as ${role}`;
        },
      };
      for (let round = 1; round <= options.count; round++)
        reports.push(
          await failoverRound({ ...rig, dataPorts: [...cluster.ports] }, kill, `failover-${round}`),
        );
    });
  } finally {
    await cluster.stop({ purge: true });
  }
  return {
    drill: 'cluster',
    runs: options.count,
    passed: reports.filter((r) => r.ok).length,
    checked:
      "SIGKILL of the Cluster primary serving Capstan's slot under traffic (3 primaries + 3 replicas, 2 workers): each acked command's job ran once, one final message; open approval decided after, ran once; locks kept; audit; node rejoined as replica",
    figures: failoverFigures(reports),
    failures: reports.flatMap((r) => r.failures),
  };
}
