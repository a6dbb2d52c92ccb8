/** What handlers need from the composition root. Handlers decide and enqueue; they never call AWS or MySQL. */
import type { Logger } from 'pino';
import type { Config } from '../src/config.js';
import type { Metrics } from '../src/observability/metrics.js';
import type { JobProducer } from '../src/queue/producer.js';

/** Handler dependencies. */
export interface HandlerDeps {
  config: Config;
  producer: JobProducer;
  logger: Logger;
  metrics: Metrics;
}
