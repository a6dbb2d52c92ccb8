/**
 * Benchmark dispatcher: `npm run bench -- <name> [args…]` runs `bench/<name>.ts`'s exported `run(args)`.
 * With no name, or one not listed below, prints the list and exits 2.
 *
 * To add a benchmark: write `bench/<name>.ts` exporting `run(args: string[]): Promise<void>`, and add
 * one line to {@link BENCHMARKS}.
 */

/** What a benchmark module exports. */
export interface Benchmark {
  run(args: string[]): Promise<void>;
}

/** Every benchmark: name → one-line description and how to load it (lazily, so each stays independent). */
const BENCHMARKS: Record<string, { describe: string; load: () => Promise<Benchmark> }> = {
  ack: {
    describe: 'Slack slash-command ack latency: Capstan web process vs a bare Bolt app',
    load: () => import('./ack.js'),
  },
  confirm: {
    describe: 'Sentinel: a write confirmed against a failover vs a plain write',
    load: () => import('./confirm.js'),
  },
  restore: { describe: 'Table copy: Capstan vs mariadb-dump | mariadb', load: () => import('./restore.js') },
};

function usage(): string {
  const width = Math.max(...Object.keys(BENCHMARKS).map((name) => name.length));
  const lines = Object.entries(BENCHMARKS).map(([name, b]) => `  ${name.padEnd(width)}  ${b.describe}`);
  return `usage: npm run bench -- <name> [args…]\n\nbenchmarks:\n${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const entry = name === undefined ? undefined : BENCHMARKS[name];
  if (name === undefined || entry === undefined || !Object.hasOwn(BENCHMARKS, name)) {
    if (name !== undefined && !['-h', '--help', 'help'].includes(name)) {
      process.stderr.write(`unknown benchmark: ${name}\n\n`);
    }
    process.stderr.write(usage());
    return 2;
  }
  const benchmark = await entry.load();
  await benchmark.run(args);
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}

main(process.argv.slice(2)).then(
  // Exit explicitly: a benchmark's leftover keep-alive sockets must not keep the process up.
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
