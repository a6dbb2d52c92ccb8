/**
 * One entry per command: what it is to the rest of Capstan. The policy's action list, which commands
 * run as jobs, which read only, which change their target (and so lock it), which destroy, which are
 * admin-only — all derived from here. Adding a command is one entry here, its grammar and help in
 * `src/commands/`, and its job in `jobs/` (the type checks say what is missing).
 *
 * Nothing here imports anything: the configuration (the lowest layer) reads it too.
 */

/** What a command acts on, and which field of the parsed command names it. */
export type CatalogTarget =
  | { kind: 'environment'; field: 'name' | 'env' }
  | { kind: 'database'; field: 'dbInstance' }
  | { kind: 'none' };

/** One command. */
export interface CatalogEntry {
  /** How people type it: `/env create`. */
  words: string;
  target: CatalogTarget;
  /** Only reads Capstan's or AWS's state: anyone may run it, even without a role. */
  readOnly: boolean;
  /** Changes its target: one such job per target at a time (a lock). */
  mutating: boolean;
  /**
   * Destroys or overwrites something, so it needs approval on a protected target. `mode` for
   * `/rds restore-table`: every mode but `side-table`.
   */
  destructive: boolean | 'mode';
  /** Granted only by the admin role or a rule naming it; never by `*`, never to everyone. */
  adminOnly: boolean;
  /** Carried out by a worker as a job of the same name; false: the web process answers at once. */
  job: boolean;
}

/** Every command Capstan understands. */
export const CATALOG = {
  'env.create': {
    words: '/env create',
    target: { kind: 'environment', field: 'name' },
    readOnly: false,
    mutating: true,
    destructive: false,
    adminOnly: false,
    job: true,
  },
  'env.delete': {
    words: '/env delete',
    target: { kind: 'environment', field: 'name' },
    readOnly: false,
    mutating: true,
    destructive: true,
    adminOnly: false,
    job: true,
  },
  'env.extend': {
    words: '/env extend',
    target: { kind: 'environment', field: 'name' },
    readOnly: false,
    mutating: true,
    destructive: false,
    adminOnly: false,
    job: true,
  },
  'env.list': {
    words: '/env list',
    target: { kind: 'none' },
    readOnly: true,
    mutating: false,
    destructive: false,
    adminOnly: false,
    job: true,
  },
  'env.status': {
    words: '/env status',
    target: { kind: 'environment', field: 'name' },
    readOnly: true,
    mutating: false,
    destructive: false,
    adminOnly: false,
    job: true,
  },
  'env.update': {
    words: '/env update',
    target: { kind: 'environment', field: 'name' },
    readOnly: false,
    mutating: true,
    // A change set may replace or delete resources: a protected environment's update needs approval.
    destructive: true,
    adminOnly: false,
    job: true,
  },
  'lb.disable': {
    words: '/lb disable',
    target: { kind: 'environment', field: 'env' },
    readOnly: false,
    mutating: true,
    destructive: true,
    adminOnly: false,
    job: true,
  },
  'lb.enable': {
    words: '/lb enable',
    target: { kind: 'environment', field: 'env' },
    readOnly: false,
    mutating: true,
    destructive: false,
    adminOnly: false,
    job: true,
  },
  'lb.status': {
    words: '/lb status',
    target: { kind: 'environment', field: 'env' },
    readOnly: true,
    mutating: false,
    destructive: false,
    adminOnly: false,
    job: true,
  },
  'rds.restore-table': {
    words: '/rds restore-table',
    target: { kind: 'database', field: 'dbInstance' },
    readOnly: false,
    mutating: true,
    destructive: 'mode',
    adminOnly: false,
    job: true,
  },
  'rds.io-credits': {
    words: '/rds io-credits',
    target: { kind: 'database', field: 'dbInstance' },
    readOnly: false,
    mutating: false,
    destructive: false,
    adminOnly: false,
    job: true,
  },
  'ops.help': {
    words: '/ops help',
    target: { kind: 'none' },
    readOnly: true,
    mutating: false,
    destructive: false,
    adminOnly: false,
    job: false,
  },
  'ops.jobs': {
    words: '/ops jobs',
    target: { kind: 'none' },
    readOnly: true,
    mutating: false,
    destructive: false,
    adminOnly: false,
    job: false,
  },
  'ops.cancel': {
    words: '/ops cancel',
    target: { kind: 'none' },
    readOnly: false,
    mutating: false,
    destructive: false,
    adminOnly: true,
    job: false,
  },
  'ops.audit': {
    words: '/ops audit',
    target: { kind: 'none' },
    readOnly: false,
    mutating: false,
    destructive: false,
    adminOnly: true,
    job: false,
  },
  'ops.ping': {
    words: '/ops ping',
    target: { kind: 'none' },
    readOnly: true,
    mutating: false,
    destructive: false,
    adminOnly: false,
    job: true,
  },
} as const satisfies Record<string, CatalogEntry>;

/** A command's kind: `env.create`. */
export type CatalogKind = keyof typeof CATALOG;

/** Every command kind, in the catalog's order. */
export const COMMAND_KINDS = Object.keys(CATALOG) as CatalogKind[];

/** The kinds whose entry has `flag` set. */
function kindsWhere(flag: (entry: CatalogEntry) => boolean): CatalogKind[] {
  return COMMAND_KINDS.filter((kind) => flag(CATALOG[kind]));
}

/** Commands that only read. */
export const READ_ONLY_KINDS: readonly CatalogKind[] = kindsWhere((e) => e.readOnly);
/** Commands that change their target (one at a time per target). */
export const MUTATING_KINDS: readonly CatalogKind[] = kindsWhere((e) => e.mutating);
/** Commands only the admin role or a rule naming them grants. */
export const ADMIN_ONLY_KINDS: readonly CatalogKind[] = kindsWhere((e) => e.adminOnly);

/** The commands carried out as jobs (each job is named after its command). */
export const COMMAND_JOBS = [
  'env.create',
  'env.delete',
  'env.extend',
  'env.list',
  'env.status',
  'env.update',
  'lb.disable',
  'lb.enable',
  'lb.status',
  'rds.restore-table',
  'rds.io-credits',
  'ops.ping',
] as const satisfies readonly CatalogKind[];

// The list above is the catalog's `job: true` entries, spelled out so it is a type; the two agree.
type JobKinds = { [K in CatalogKind]: (typeof CATALOG)[K]['job'] extends true ? K : never }[CatalogKind];
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const _jobsMatch: Same<JobKinds, (typeof COMMAND_JOBS)[number]> = true;
void _jobsMatch;
