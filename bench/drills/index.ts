/**
 * Every drill `npm run drill` knows: name → what it does, its full count, and how to run it
 * (loaded lazily, so each stays independent).
 */
import type { DrillOptions, DrillResult } from './harness.js';

/** A drill as the runner sees it. */
export interface Drill {
  describe: string;
  /** The count `npm run drill` uses unless `--count` says otherwise. */
  fullCount: number;
  run(options: DrillOptions): Promise<DrillResult>;
}

export const DRILLS = {
  kill: {
    describe: 'worker SIGKILLed at a random step of each job kind',
    fullCount: 20,
    run: async (o) => (await import('./kill.js')).workerKilledDrill(o),
  },
  'bad-input': {
    describe: 'malformed, oversized, badly signed, replayed and injection-laden requests',
    fullCount: 10_000,
    run: async (o) => (await import('./bad-input.js')).badInputDrill(o),
  },
  'slack-down': {
    describe: 'the Slack Web API answering 503/429 for two minutes under running jobs',
    fullCount: 40,
    run: async (o) => (await import('./slack-down.js')).slackUnreachableDrill(o),
  },
  throttle: {
    describe: 'AWS throttling half the calls for a minute, then transient 5xx',
    fullCount: 12,
    run: async (o) => (await import('./throttle.js')).throttlingStormDrill(o),
  },
  load: {
    describe: '2 web + 3 worker processes, 200 users, commands, approvals and cancels over a minute',
    fullCount: 1_000,
    run: async (o) => (await import('./load.js')).loadDrill(o),
  },
  redis: {
    describe: 'Redis (AOF) restarted under running and queued jobs, an open approval and locks',
    fullCount: 5,
    run: async (o) => (await import('./redis-restart.js')).redisRestartDrill(o),
  },
  cluster: {
    describe: "Redis Cluster: the primary of Capstan's slot SIGKILLed under traffic, replica promoted",
    fullCount: 3,
    run: async (o) => (await import('./redis-cluster.js')).clusterFailoverDrill(o),
  },
  sentinel: {
    describe: 'Sentinel: the primary SIGKILLed, then a clean SENTINEL FAILOVER, under traffic (per run)',
    fullCount: 3,
    run: async (o) => (await import('./redis-sentinel.js')).sentinelFailoverDrill(o),
  },
  tls: {
    describe: 'Redis over TLS as an ACL user: jobs run; another CA and a wrong password refused, saying why',
    fullCount: 5,
    run: async (o) => (await import('./redis-tls.js')).redisTlsDrill(o),
  },
} satisfies Record<string, Drill>;

/** A drill's name. */
export type DrillName = keyof typeof DRILLS;
