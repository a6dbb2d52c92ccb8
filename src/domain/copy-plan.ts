/**
 * How a table copy is cut up (pure): how many key ranges run in parallel, how large each batch and each transaction
 * is, chosen from what was measured on the servers and the table, within the copy's memory bound.
 */

/** What the copy measured before starting. */
export interface CopyMeasurements {
  /** CPUs of the server written to and of the one read from (undefined: the server does not say). */
  targetCores?: number | undefined;
  sourceCores?: number | undefined;
  /** Secondary indexes of the table (unique and not), and how many of them are built after the load. */
  secondaryIndexes: number;
  deferredIndexes: number;
  /** The source's average row length (information_schema.TABLES.AVG_ROW_LENGTH; 0 when unknown). */
  avgRowBytes: number;
  /**
   * The mean width of a sample of the source's rows as the copy reads them (0 or undefined when not measured). The
   * plan takes the larger of this and {@link avgRowBytes}: AVG_ROW_LENGTH is DATA_LENGTH / TABLE_ROWS, and InnoDB
   * counts TABLE_ROWS on every insert but updates DATA_LENGTH only when it recalculates the statistics (in the
   * background, after a tenth of the table changed, at most every 10 s). Just after a table was filled, as on a
   * freshly restored instance whose binary log was just replayed, the quotient can be several times too small
   * (measured on MariaDB 10.11: 30 bytes for rows of ~100 bytes as text, the statistics taken at 20k of 120k rows),
   * which made a 12 MB table look like 4 MB (one range) and its batches and transactions 3–4× the bytes meant.
   */
  sampledRowBytes?: number | undefined;
  /** The source's row estimate. */
  approximateRows: number;
  /** Whether the key can be split into ranges (a single integer key). */
  splittable: boolean;
}

/** The copy's shape. */
export interface CopyPlan {
  ranges: number;
  batchRows: number;
  batchBytes: number;
  commitRows: number;
  /** What a transaction holds, roughly (commitRows × the row width). */
  commitBytes: number;
  /** One line for people: what was chosen and why. */
  reason: string;
}

const MB = 1024 * 1024;

/**
 * Bytes of batches a copy may hold at once. Each range holds at most about four batches (two read ahead, one being
 * filled, one being written; see `batchesOf` in src/mysql/copy.ts), so ranges × 4 × batch bytes stays under this,
 * which keeps the process well under the 200 MB peak RSS measured by `npm run bench -- restore`.
 */
export const COPY_MEMORY_BUDGET_BYTES = 32 * MB;

/**
 * A batch's bytes at most. A transaction's LOAD DATA is one statement fed batch by batch (`loadStream` in
 * src/mysql/copy.ts), so a batch no longer pays a statement's round trip, and small batches keep the process's memory
 * low. Measured with `npm run bench -- restore --rows 1000000 --peers insert-select --batch N` (two runs each, 2
 * ranges): ~1000-row (256 KB) batches 3.28 / 3.22 s narrow and 5.41 / 5.57 s wide, peak RSS 151–161 MB, against
 * 3.59 / 3.26 s, 6.12 / 5.92 s and 178–203 MB with 1 MB batches.
 */
const MAX_BATCH_BYTES = 256 * 1024;

/**
 * A transaction's bytes with no secondary index maintained during the load. Each commit waits for the redo log and
 * the binary log to reach disk, so larger ones cost fewer waits; beyond this the gain is small while the undo log,
 * the binary-log cache (spilled to a temporary file past binlog_cache_size) and a replica's apply lag grow.
 */
const COMMIT_BYTES = 8 * MB;

/**
 * Table bytes below which one more range does not pay for itself: a range costs two connections, a MIN/MAX query and
 * its own stream. Measured on two local mariadbd (2 cores): a copy's fixed costs are ~30 ms (a 1-row table), and a
 * 100k-row, 21 MB table copied in 2 ranges took 0.76–1.0 s against 1.2–1.25 s in one.
 */
const BYTES_PER_RANGE = 4 * MB;

/**
 * Tables up to this size get two ranges per core. Such a copy is short, and it waits on round trips and commits more
 * than on CPUs, so one range per core leaves the cores partly idle. Measured on two local mariadbd (2 cores), 100k
 * rows (25 MB, `npm run bench -- restore --rows 100000 --repeat 5`, two runs each way): 4 ranges 0.38–0.39 s narrow and
 * 0.48–0.53 s wide, against 2 ranges 0.40–0.41 s and 0.51 s. At 1M rows (238 MB) 4 ranges were not faster and used
 * more memory, so larger tables keep one range per core.
 */
const SMALL_TABLE_BYTES = 64 * MB;

/** Ranges at most, whatever the cores: beyond this the target's log writes, not CPUs, are the limit. */
const MAX_RANGES = 8;

/** Cores assumed when neither server says (the smallest RDS classes have 2 vCPUs). */
const DEFAULT_CORES = 2;

/** Row width assumed when the server has no statistics yet. */
const DEFAULT_ROW_BYTES = 200;

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

function formatBytes(bytes: number): string {
  if (bytes >= MB) return `${Math.round(bytes / MB)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

/**
 * Chooses the copy's shape:
 * - ranges: one per core of the busier side (the fewer of the two servers' cores; the target does most of the work:
 *   parsing, inserting, logging), two per core up to {@link SMALL_TABLE_BYTES} of table, at most {@link MAX_RANGES},
 *   and at most one per {@link BYTES_PER_RANGE} of table;
 *   one when the key cannot be split;
 * - batches: {@link MAX_BATCH_BYTES}, smaller when the ranges would otherwise hold more than `memoryBytes`;
 * - transactions: {@link COMMIT_BYTES}, shrunk by a quarter per secondary index maintained row by row during the load
 *   (each adds undo and redo to every row), never below one batch.
 * Pure.
 */
export function chooseCopyPlan(m: CopyMeasurements, memoryBytes = COPY_MEMORY_BUDGET_BYTES): CopyPlan {
  const known = [m.targetCores, m.sourceCores].filter(
    (c): c is number => c !== undefined && Number.isFinite(c) && c > 0,
  );
  const cores = known.length > 0 ? Math.min(...known) : DEFAULT_CORES;
  const measuredBytes = Math.max(m.avgRowBytes, m.sampledRowBytes ?? 0);
  const rowBytes = measuredBytes > 0 ? measuredBytes : DEFAULT_ROW_BYTES;
  const tableBytes = Math.max(0, m.approximateRows) * rowBytes;
  const bySize = Math.max(1, Math.floor(tableBytes / BYTES_PER_RANGE));
  const perCore = tableBytes <= SMALL_TABLE_BYTES ? 2 : 1;
  const ranges = m.splittable ? clamp(Math.min(cores * perCore, bySize), 1, MAX_RANGES) : 1;
  const batchBytes = Math.max(64 * 1024, Math.min(MAX_BATCH_BYTES, Math.floor(memoryBytes / (ranges * 4))));
  const batchRows = clamp(Math.floor(batchBytes / rowBytes), 100, 20_000);
  const maintained = Math.max(0, m.secondaryIndexes - m.deferredIndexes);
  const commitTarget = COMMIT_BYTES / (1 + maintained / 4);
  const commitRows = Math.max(batchRows, Math.floor(commitTarget / rowBytes));
  const commitBytes = commitRows * rowBytes;

  const why: string[] = [known.length > 0 ? `${cores} cores` : `cores unknown, assumed ${DEFAULT_CORES}`];
  why.push(
    m.deferredIndexes > 0
      ? `${m.secondaryIndexes} indexes, ${m.deferredIndexes} built after the load`
      : `${m.secondaryIndexes} indexes`,
  );
  why.push(`${Math.round(rowBytes)}-byte rows${measuredBytes > 0 ? '' : ' assumed'}`);
  if (!m.splittable) why.push('a key that cannot be split');
  else if (bySize < cores * perCore && ranges < MAX_RANGES) why.push(`~${formatBytes(tableBytes)} table`);
  else if (perCore > 1 && ranges > 1) why.push(`2 per core for a ~${formatBytes(tableBytes)} table`);
  const reason = `copying in ${ranges} ${ranges === 1 ? 'range' : 'ranges'} of ~${formatBytes(commitBytes)} transactions (${why.join(', ')})`;
  return { ranges, batchRows, batchBytes, commitRows, commitBytes, reason };
}

/**
 * vCPUs of an RDS instance class, for servers that do not report their cores (MySQL): `large` has 2, `xlarge` 4,
 * `Nxlarge` 4N, and the burstable `micro`/`small`/`medium` 2
 * (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.DBInstanceClass.Summary.html). Undefined for a
 * class it cannot read. Pure.
 */
export function vcpusOfInstanceClass(instanceClass: string | undefined): number | undefined {
  const size = /^db\.[a-z0-9-]+\.(\d*)(micro|small|medium|large|xlarge)$/.exec(instanceClass ?? '');
  if (!size) return undefined;
  const n = size[1] === '' ? 1 : Number(size[1]);
  switch (size[2]) {
    case 'xlarge':
      return 4 * n;
    case 'large':
    case 'medium':
    case 'small':
    case 'micro':
      return size[1] === '' ? 2 : undefined;
  }
  return undefined;
}
