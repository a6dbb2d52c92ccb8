/**
 * Drill 8 — Sentinel failover. Capstan (web in this process, two `capstan worker` processes) runs on
 * a primary with two replicas watched by three sentinels (`scripts/services up redis-sentinel`:
 * down-after 3 s, append-only file with appendfsync everysec), found through REDIS_SENTINELS. Each of
 * `count` runs is two failover rounds of `failover.ts` (light traffic, an approval left open, an
 * environment create holding its lock): one SIGKILLs the primary (the sentinels agree it is down and
 * promote a replica; the killed node is restarted and must come back as a replica), one asks for a
 * clean `SENTINEL FAILOVER capstan`. Either way nothing acknowledged may be lost. Prints each
 * failover's downtime (its start → the first write the new primary accepted, probed every 25 ms),
 * split by kind, the commands sent meanwhile and how many were acked, the jobs it delayed, anything
 * lost, and for the clean failover how long the old primary still accepted writes.
 */
import { startRedisSentinel } from '../../devkit/local/services.js';
import { waitFor } from '../../test/helpers/wait-for.js';
import {
  type Failover,
  type FailoverReport,
  failoverFigures,
  failoverRound,
  withFailoverRig,
} from './failover.js';
import type { DrillOptions, DrillResult } from './harness.js';
import { onAnyNode, roleOf, sentinelPrimaryOf } from './topology.js';

/** Options of {@link sentinelFailoverDrill}. */
export interface SentinelDrillOptions extends DrillOptions {
  /** The set's base port: data nodes on port…port+2, sentinels on port+10…port+12. Default 21100. */
  port?: number;
  /** Which failovers each run has: a SIGKILL of the primary, a clean SENTINEL FAILOVER (default both). */
  kinds?: ReadonlyArray<'kill' | 'clean'>;
}

/** Runs the drill: `count` × (a SIGKILL failover + a clean one). It always starts a set of its own. */
export async function sentinelFailoverDrill(options: SentinelDrillOptions): Promise<DrillResult> {
  const log = options.log ?? (() => undefined);
  const set = await startRedisSentinel(options.port ?? 21_100);
  const reports: FailoverReport[] = [];
  const runsOk: boolean[] = [];
  try {
    await withFailoverRig({ ...set.env }, log, async (rig) => {
      const sentinels = [...set.sentinelPorts];
      const primary = () => sentinelPrimaryOf(sentinels, set.name);
      log(`primary and replicas on ${set.dataPorts.join(', ')}, sentinels on ${sentinels.join(', ')}`);
      // The old primary is back, and a replica, once the set is whole again. After a clean
      // failover it never went away: Sentinel turns it into a replica of the new primary some
      // seconds after the switch (measured: up to about 8 s), so it is given 30 s to become one.
      const recover = async (from: number) => {
        await set.restart();
        let role = '';
        await waitFor(
          async () => {
            role = await roleOf(from).catch((error: Error) => error.message);
            return role.startsWith('replica');
          },
          { timeoutMs: 30_000, intervalMs: 250, message: `port ${from} to be a replica` },
        ).catch(() => {
          throw new Error(`port ${from} is ${role}, not a replica`);
        });
        return `back as ${role}`;
      };
      const kill: Failover = {
        kind: 'SIGKILL',
        async trigger() {
          const from = await primary();
          const pid = set.pidOf(from);
          if (!pid) throw new Error(`no pid for the primary on port ${from}`);
          const at = Date.now();
          process.kill(pid, 'SIGKILL');
          return { at, from };
        },
        recover,
      };
      const clean: Failover = {
        kind: 'SENTINEL FAILOVER',
        async trigger() {
          const from = await primary();
          const at = Date.now();
          await onAnyNode(sentinels, (c) => c.call('SENTINEL', 'FAILOVER', set.name));
          return { at, from };
        },
        recover,
      };
      const rig2 = { ...rig, dataPorts: [...set.dataPorts] };
      const kinds = options.kinds ?? ['kill', 'clean'];
      for (let run = 1; run <= options.count; run++) {
        const round: FailoverReport[] = [];
        if (kinds.includes('kill')) round.push(await failoverRound(rig2, kill, `kill-${run}`));
        if (kinds.includes('clean')) round.push(await failoverRound(rig2, clean, `clean-${run}`));
        reports.push(...round);
        runsOk.push(round.every((r) => r.ok));
      }
    });
  } finally {
    await set.stop({ purge: true });
  }
  return {
    drill: 'sentinel',
    runs: options.count,
    passed: runsOk.filter(Boolean).length,
    checked:
      'per run a SIGKILL of the Sentinel-watched primary and a SENTINEL FAILOVER under traffic (2 replicas, 3 sentinels, 2 workers): each acked command ran once, one final message; open approval decided after, ran once; locks kept; audit',
    figures: failoverFigures(reports),
    failures: reports.flatMap((r) => r.failures),
  };
}
