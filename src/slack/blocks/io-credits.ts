/**
 * The IO-credit investigation's report as Slack text, most important first: the verdict, the
 * forecast, the cause found in the database, what to change (with numbers), then what the report
 * could not cover. Pure: a function of the two reports and the notes.
 */

import { escapeSlack } from '../../commands/index.js';
import type { IoCreditsReport } from '../../domain/io-credits.js';
import { type IoStatementsReport, isRecurringStatement } from '../../domain/statements.js';

const SEVERITY_ICON: Record<IoCreditsReport['severity'], string> = {
  critical: ':red_circle:',
  warning: ':large_orange_circle:',
  ok: ':large_green_circle:',
  unknown: ':white_circle:',
};

const n = (x: number, digits = 0) =>
  x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });

/** "1 run", "60 runs": a count with its noun, singular for exactly one. */
const count = (x: number, one: string, many: string) => `${n(x)} ${x === 1 ? one : many}`;

/** A statement's normalised text, safe inside inline code (no backticks, one line, bounded). */
function code(text: string, max = 160): string {
  // Digest texts quote identifiers with backticks, which would end the inline code: drop them.
  const flat = text.replace(/\s+/g, ' ').replace(/`/g, '').trim();
  return `\`${flat.length > max ? `${flat.slice(0, max - 1)}…` : flat}\``;
}

/** What the database says, or undefined when it was not asked. */
function databaseSection(db: IoStatementsReport): string[] {
  const lines: string[] = ['*Cause in the database* (performance_schema, since its last reset)'];
  if (db.performanceSchema === 'off') {
    lines.push(`• ${escapeSlack(db.howToEnable ?? 'performance_schema is off.')}`);
    return lines;
  }
  const cause = db.cause;
  if (cause) {
    const s = cause.statement;
    lines.push(
      `• ${code(s.digestText)} ran ${count(s.count, 'time', 'times')}, examining ${n(s.rowsExaminedPerCall)} rows per call for ${n(s.rowsSentPerCall, 1)} sent — ${n(s.sharePct, 1)}% of all rows examined${cause.scans ? `, ${count(Math.max(s.noIndexUsed, s.fullScans), 'run', 'runs')} without an index` : ''}.`,
    );
    if (cause.table)
      lines.push(
        `• Table: \`${escapeSlack(cause.schema ? `${cause.schema}.${cause.table}` : cause.table)}\`${cause.tableFrom === 'explain' ? ' (full scan in EXPLAIN)' : ''}.`,
      );
  } else {
    lines.push('• No statement stands out: none examines a large share of the rows.');
  }
  // One-off statements (schema changes, bulk loads, anything run only once or twice) are not the workload.
  const others = db.topByRowsExamined
    .filter((s) => s.digest !== cause?.statement.digest && isRecurringStatement(s))
    .slice(0, 3);
  if (others.length > 0) {
    lines.push('Next by rows examined:');
    for (const s of others)
      lines.push(`• ${code(s.digestText, 100)} — ${count(s.count, 'run', 'runs')}, ${n(s.sharePct, 1)}%`);
  }
  const tables = db.tables.slice(0, 3);
  if (tables.length > 0)
    lines.push(
      `Busiest tables: ${tables.map((t) => `\`${escapeSlack(`${t.schema}.${t.table}`)}\` ${n(t.sharePct, 1)}%`).join(', ')}`,
    );
  const explained = db.explains.find((e) => e.status === 'explained' && e.fullScanTables.length > 0);
  if (explained)
    lines.push(
      `EXPLAIN of ${code(explained.digestText, 80)}: full scan of ${explained.fullScanTables.map((t) => `\`${escapeSlack(t)}\``).join(', ')} (${explained.rows
        .filter((r) => r.fullScan)
        .map((r) => `~${n(r.rows ?? 0)} rows, possible keys: ${r.possibleKeys.join(', ') || 'none'}`)
        .join('; ')}).`,
    );
  return lines;
}

/** The report as mrkdwn (several sections' worth; the progress message splits it between paragraphs). */
export function ioCreditsReportText(
  report: IoCreditsReport,
  db: IoStatementsReport | undefined,
  notes: readonly string[],
  hours: number,
): string {
  const parts: string[] = [];
  const cause = db?.cause;
  const verdict = `${SEVERITY_ICON[report.severity]} *${escapeSlack(report.instanceId)}: ${escapeSlack(report.verdict)}*`;
  const causeLine =
    cause?.table && cause.scans
      ? `\nLikely cause: ${code(cause.statement.digestText, 100)} scanning \`${escapeSlack(cause.table)}\` (${n(cause.statement.sharePct, 0)}% of rows examined).`
      : '';
  const impact = report.impact ? `\n${escapeSlack(report.impact)}` : '';
  parts.push(verdict + impact + causeLine);

  // Each line once: what the verdict already says is not repeated here.
  const forecast: string[] = [];
  if (report.forecast && !report.verdict.includes(report.forecast.summary))
    forecast.push(`• ${escapeSlack(report.forecast.summary)}`);
  for (const c of report.credits.filter((c) => !c.missing && !c.inVerdict && c.kind !== 'BurstBalance'))
    forecast.push(`• ${escapeSlack(c.summary)}`);
  if (forecast.length > 0) parts.push(['*Forecast*', ...forecast].join('\n'));

  const facts = [`*Storage and load* (last ${hours} h)`, ...report.facts.map((f) => `• ${escapeSlack(f)}`)];
  parts.push(facts.join('\n'));

  if (db) parts.push(databaseSection(db).join('\n'));

  if (report.recommendations.length > 0 || cause?.hypothesis) {
    const lines = ['*What to change*'];
    if (cause?.hypothesis)
      lines.push(
        `• *Query or index* (a hypothesis to check first): ${escapeSlack(cause.hypothesis.replace(/^Hypothesis:\s*/i, ''))}`,
      );
    for (const r of report.recommendations)
      lines.push(`• *${escapeSlack(r.title)}*: ${escapeSlack(r.detail)}`);
    parts.push(lines.join('\n'));
  }
  if (notes.length > 0)
    parts.push(['*Not covered*', ...notes.map((note) => `• ${escapeSlack(note)}`)].join('\n'));
  return parts.join('\n\n');
}
