/**
 * `npm run drill [-- --only <name>[,<name>…]] [--count N]`
 *
 * Reliability drills against local services (a private Redis, MariaDB) and the AWS sandbox: faults
 * survived, load held, nothing lost. Each drill runs at its full count (or `--count`), then one
 * table prints: drill, runs, passed, what was checked, and each drill's figures below it. Exits 1
 * when any run failed, 2 on bad arguments. The same drill functions run in CI at reduced counts
 * (`test/drills`).
 */
import { parseArgs } from 'node:util';
import type { DrillResult } from './drills/harness.js';
import { DRILLS, type DrillName } from './drills/index.js';

function usage(): string {
  const names = Object.entries(DRILLS)
    .map(([name, d]) => `  ${name.padEnd(10)} ${d.describe} (full count ${d.fullCount})`)
    .join('\n');
  return `usage: npm run drill -- [--only <name>[,<name>…]] [--count N] [--quiet]\n\ndrills:\n${names}\n`;
}

/** Renders results as a plain-text table followed by each drill's figures and failures. */
export function renderTable(results: DrillResult[]): string {
  const rows = [
    ['drill', 'runs', 'passed', 'checked'],
    ...results.map((r) => [r.drill, String(r.runs), String(r.passed), r.checked]),
  ];
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) =>
    `${[0, 1, 2].map((c) => (r[c] ?? '').padEnd(widths[c] ?? 0)).join('  ')}  ${r[3] ?? ''}`;
  const out = [
    line(rows[0] ?? []),
    line(widths.map((w) => '-'.repeat(w)).concat(['-------'])),
    ...rows.slice(1).map(line),
  ];
  for (const r of results) {
    const figures = Object.entries(r.figures ?? {});
    if (figures.length > 0 || r.failures.length > 0) out.push('', `${r.drill}:`);
    for (const [k, v] of figures) out.push(`  ${k}: ${v}`);
    for (const f of r.failures.slice(0, 20)) out.push(`  FAILED ${f}`);
    if (r.failures.length > 20) out.push(`  … and ${r.failures.length - 20} more failures`);
  }
  return `${out.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  let values: { only?: string; count?: string; quiet?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        only: { type: 'string' },
        count: { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${usage()}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(usage());
    return 0;
  }
  const names = (values.only ? values.only.split(',') : Object.keys(DRILLS)) as DrillName[];
  const unknown = names.filter((n) => !Object.hasOwn(DRILLS, n));
  if (unknown.length > 0) {
    process.stderr.write(`unknown drill(s): ${unknown.join(', ')}\n\n${usage()}`);
    return 2;
  }
  const count = values.count === undefined ? undefined : Number(values.count);
  if (count !== undefined && !(Number.isInteger(count) && count > 0)) {
    process.stderr.write(`--count must be a positive integer\n\n${usage()}`);
    return 2;
  }
  const results: DrillResult[] = [];
  for (const name of names) {
    const drill = DRILLS[name];
    const started = Date.now();
    process.stdout.write(`== ${name}: ${drill.describe}\n`);
    const log = values.quiet ? undefined : (line: string) => process.stdout.write(`   ${line}\n`);
    try {
      const result = await drill.run({ count: count ?? drill.fullCount, ...(log ? { log } : {}) });
      results.push(result);
      process.stdout.write(
        `   ${result.passed}/${result.runs} passed in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
      );
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      process.stdout.write(`   could not run: ${message}\n`);
      results.push({
        drill: name,
        runs: 0,
        passed: 0,
        checked: 'could not run',
        failures: [message.split('\n')[0] ?? ''],
      });
    }
  }
  process.stdout.write(`\n${renderTable(results)}`);
  const failed = results.some((r) => r.passed < r.runs || r.runs === 0);
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  // Exit explicitly: leftover keep-alive sockets must not keep the process up.
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `drill: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
