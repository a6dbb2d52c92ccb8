/**
 * Capstan's layers, checked in `npm test` (see README "Development"):
 *   main.ts → handlers/, jobs/ → src/queue, slack, policy, commands, approvals → src/domain (pure),
 *   src/aws, src/mysql → src/config, src/errors.
 * The stand-ins (devkit/: sandbox, local mode) never reach the product: src/stand-ins.ts loads them by
 * a dynamic import whose specifier the build does not follow.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'Imports run one way: a cycle means two modules are one, or a layer is upside down.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment: 'src/domain holds decisions and arithmetic: no I/O module, no SDK, no Redis, no Slack.',
      from: { path: '^src/domain' },
      to: {
        path: [
          '^src/(aws|mysql|slack|queue|approvals|alerts|standby|audit|web|http|observability|main|stand-ins)',
          '^devkit/',
          'node_modules/(@aws-sdk|@smithy|mysql2|ioredis|bullmq|@slack|pino|prom-client)/',
        ],
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'handlers-never-touch-aws-or-mysql',
      severity: 'error',
      comment: 'The web process only decides and enqueues: AWS and MySQL are the workers’ business.',
      from: { path: '^handlers/' },
      to: { path: ['^src/(aws|mysql)/', 'node_modules/(@aws-sdk|mysql2)/'] },
    },
    {
      name: 'jobs-never-touch-bolt-or-handlers',
      severity: 'error',
      comment: 'Jobs run in workers: no Bolt, no listeners.',
      from: { path: '^jobs/' },
      to: { path: ['^handlers/', 'node_modules/@slack/bolt/'] },
    },
    {
      name: 'product-never-imports-stand-ins',
      severity: 'error',
      comment:
        'devkit/ holds stand-ins: the product loads them only through src/stand-ins.ts, never by import.',
      from: { path: '^(src|handlers|jobs)/' },
      to: { path: '^devkit/' },
    },
    {
      name: 'queue-knows-no-slack',
      severity: 'error',
      comment: 'The worker is handed its reporter (src/queue/reporting.ts); Slack is wired in by main.ts.',
      from: { path: '^src/queue/' },
      to: { path: ['^src/slack/', 'node_modules/@slack/'] },
    },
    {
      name: 'one-redis-connection-factory',
      severity: 'error',
      comment:
        'Every Redis connection (single node, Cluster, Sentinel, TLS) is made by src/redis.ts from the one validated configuration.',
      from: { path: '^(src|handlers|jobs|devkit)/', pathNot: '^src/redis\\.ts$' },
      to: { path: 'node_modules/ioredis/' },
    },
    {
      name: 'product-never-imports-tests',
      severity: 'error',
      from: { path: '^(src|handlers|jobs|devkit)/' },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|\\.services)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
