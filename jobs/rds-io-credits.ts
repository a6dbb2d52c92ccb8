/**
 * `/rds io-credits`: why the database is slow. Reads the instance (DescribeDBInstances), its
 * CloudWatch series over the window, and what performance_schema says about which statements burn
 * the I/O; computes the burst arithmetic and the forecast; reports the verdict, the cause and what
 * to change, with a chart. Read-only: it changes nothing in AWS or the database.
 * Whatever part cannot be had (CloudWatch refused, database unreachable or not configured) is named
 * in the report, and the rest is still made.
 */
import type { Job } from 'bullmq';
import type { AwsPlacement } from '../src/aws/clients.js';
import { getMetricSeries, type MetricQuery } from '../src/aws/cloudwatch.js';
import { connectionOptions } from '../src/aws/database-credentials.js';
import { type DbInstance, describeDbInstance } from '../src/aws/rds.js';
import { resolveDatabase } from '../src/domain/database.js';
import { investigateIoCredits, type Point, totalIops } from '../src/domain/io-credits.js';
import type { IoStatementsReport } from '../src/domain/statements.js';
import { ErrorCode, UserError } from '../src/errors.js';
import { openConnection } from '../src/mysql/index.js';
import { readIoStatements } from '../src/mysql/statements.js';
import type { JobDataOf, JobResult } from '../src/queue/contract.js';
import type { JobContext } from '../src/queue/worker.js';
import { ioCreditsReportText } from '../src/slack/blocks/io-credits.js';
import { renderIoCreditsChart } from '../src/slack/charts.js';
import type { EnvJobDeps } from './deps.js';
import { openJob } from './opening.js';

/**
 * The RDS metrics read (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-metrics.html):
 * the volume's, the instance's EBS and CPU credits, and the load and latency around them.
 */
export const IO_METRICS = [
  'BurstBalance',
  'ReadIOPS',
  'WriteIOPS',
  'ReadThroughput',
  'WriteThroughput',
  'DiskQueueDepth',
  'ReadLatency',
  'WriteLatency',
  'EBSIOBalance%',
  'EBSByteBalance%',
  'CPUCreditBalance',
] as const;

/**
 * A period giving about 300 points over the window, a multiple of 60 s, at least 60 s
 * (1-minute data is kept 15 days, 5-minute data 63 days:
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Metric).
 */
export function metricPeriodSeconds(hours: number): number {
  const period = Math.max(60, Math.ceil((hours * 3600) / 300 / 60) * 60);
  return hours > 15 * 24 ? Math.max(300, Math.ceil(period / 300) * 300) : period;
}

function placementFor(deps: EnvJobDeps, dbInstance: string): AwsPlacement {
  if (deps.config.file.databases[dbInstance]) return resolveDatabase(deps.config, dbInstance).placement;
  const region = deps.config.file.aws.region ?? deps.config.aws.region;
  if (!region)
    throw new UserError(`No AWS region is configured (aws.region in the config file, or AWS_REGION).`);
  const roleArn = deps.config.file.aws.roleArn;
  return roleArn ? { region, roleArn } : { region };
}

function reason(error: unknown): string {
  const e = error as { name?: string; message?: string };
  return e instanceof UserError ? (e.message ?? '') : `${e?.name ?? 'Error'}: ${e?.message ?? String(error)}`;
}

/** Runs `rds.io-credits`. */
export async function rdsIoCreditsJob(
  job: Job<JobDataOf<'rds.io-credits'>>,
  ctx: JobContext,
  deps: EnvJobDeps,
): Promise<JobResult> {
  const command = job.data.command;
  const { reporter } = ctx;
  const placement = placementFor(deps, command.dbInstance);
  const { clients } = openJob(job, ctx, deps, placement);
  const notes: string[] = [];

  await reporter.step(`Look up ${command.dbInstance}`);
  const instance: DbInstance | undefined = await describeDbInstance(clients.rds, command.dbInstance);
  if (!instance)
    throw new UserError(
      `There is no DB instance \`${command.dbInstance}\` in ${placement.region}. Check the name (it is the DB instance identifier).`,
      ErrorCode.NotFound,
    );
  reporter.progress(
    `${instance.engine} ${instance.instanceClass}, ${instance.storageType ?? '?'} ${instance.allocatedGiB ?? '?'} GiB${instance.iops ? `, ${instance.iops} IOPS` : ''}`,
  );
  await ctx.betweenSteps();

  const now = Date.now();
  const from = now - command.hours * 3_600_000;
  await reporter.step(`Read CloudWatch metrics for the last ${command.hours} h`);
  const series: Record<string, Point[]> = {};
  const periodSeconds = metricPeriodSeconds(command.hours);
  try {
    const queries: MetricQuery[] = IO_METRICS.map((metricName) => ({
      key: metricName,
      namespace: 'AWS/RDS',
      metricName,
      dimensions: { DBInstanceIdentifier: instance.id },
      stat: 'Average',
      periodSeconds,
    }));
    const got = await getMetricSeries(clients.cloudWatch, queries, {
      start: new Date(from),
      end: new Date(now),
    });
    for (const [key, points] of got) if (points.length > 0) series[key] = points;
    reporter.progress(`${Object.keys(series).length} metrics with data, ${periodSeconds / 60}-minute points`);
    if (Object.keys(series).length === 0)
      notes.push(`CloudWatch has no AWS/RDS data for ${instance.id} in the last ${command.hours} h.`);
  } catch (error) {
    notes.push(`CloudWatch could not be read (${reason(error)}): no IOPS or balance figures.`);
    reporter.warn('CloudWatch could not be read; the report goes on without its figures');
  }
  await ctx.betweenSteps();

  let statements: IoStatementsReport | undefined;
  if (!deps.config.file.databases[command.dbInstance]) {
    notes.push(
      `\`${command.dbInstance}\` is not under \`databases:\` in the config file, so its statements were not read: add it with a read-only user to see which queries burn the I/O.`,
    );
  } else {
    await reporter.step('Ask the database which statements burn the I/O');
    try {
      const db = resolveDatabase(deps.config, command.dbInstance);
      const conn = await openConnection(await connectionOptions(db, clients, instance));
      try {
        // More than the 3 shown, since one-off statements (DDL, bulk loads, single runs) are left out of the list.
        statements = await readIoStatements(conn, { limit: 10 });
      } finally {
        await conn.end().catch(() => undefined);
      }
      reporter.progress(
        statements.performanceSchema === 'off'
          ? 'performance_schema is off'
          : `${statements.topByRowsExamined.length} statements, ${statements.tables.length} tables`,
      );
      for (const note of statements.notes) notes.push(note);
    } catch (error) {
      notes.push(`The database could not be asked (${reason(error)}): no statements in this report.`);
      reporter.warn('The database could not be reached; the report goes on without it');
    }
    await ctx.betweenSteps();
  }

  await reporter.step('Work out the credits, the forecast and what to change');
  const report = investigateIoCredits({
    instance: {
      id: instance.id,
      engine: instance.engine,
      instanceClass: instance.instanceClass,
      storageType: instance.storageType ?? 'unknown',
      allocatedGiB: instance.allocatedGiB ?? 0,
      ...(instance.iops ? { iops: instance.iops } : {}),
      ...(instance.throughputMiBps ? { throughputMiBps: instance.throughputMiBps } : {}),
    },
    series,
    now,
    prices: deps.config.file.ioCredits.prices,
    timezone: deps.config.file.timezone,
    periodSeconds,
  });

  const total = totalIops(series.ReadIOPS, series.WriteIOPS);
  if (total.length > 0 && report.profile.baselineIops !== undefined) {
    await reporter.step('Draw the chart');
    const png = await renderIoCreditsChart({
      title: `${instance.id}: burst balance and IOPS, last ${command.hours} h`,
      burstBalance: series.BurstBalance ?? [],
      totalIops: total,
      baselineIops: report.profile.baselineIops,
      ...(report.profile.burstMatters && report.profile.burstIops
        ? { burstIops: report.profile.burstIops }
        : {}),
      from,
      to: now,
      timezone: deps.config.file.timezone,
    });
    await reporter.attach({
      filename: `${instance.id}-io-credits.png`,
      title: `${instance.id}: burst balance and IOPS against the baseline`,
      data: png,
    });
  }
  return {
    outcome: 'done',
    summary: ioCreditsReportText(report, statements, notes, command.hours),
    facts: { verdict: report.verdict, severity: report.severity },
  };
}
