/** Prometheus metrics (`GET /metrics`): requests, jobs by name and outcome, durations. */
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** The metrics one Capstan process exposes. */
export interface Metrics {
  registry: Registry;
  slackRequests: Counter<'kind' | 'outcome'>;
  ackSeconds: Histogram<'kind'>;
  jobs: Counter<'name' | 'outcome'>;
  jobSeconds: Histogram<'name' | 'outcome'>;
}

/** A fresh registry with Capstan's metrics (and Node's defaults). */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'capstan_' });
  return {
    registry,
    slackRequests: new Counter({
      name: 'capstan_slack_requests_total',
      help: 'Slack requests handled, by kind (command, action, event) and outcome',
      labelNames: ['kind', 'outcome'],
      registers: [registry],
    }),
    ackSeconds: new Histogram({
      name: 'capstan_ack_seconds',
      help: 'Time from receiving a Slack request to acknowledging it',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    jobs: new Counter({
      name: 'capstan_jobs_total',
      help: 'Jobs finished, by job name and outcome',
      labelNames: ['name', 'outcome'],
      registers: [registry],
    }),
    jobSeconds: new Histogram({
      name: 'capstan_job_duration_seconds',
      help: 'Job run time, by job name and outcome',
      labelNames: ['name', 'outcome'],
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
      registers: [registry],
    }),
  };
}
