/**
 * The pure parts of the statement diagnosis (issue 16 #3, #4): the index to try puts the equality columns first
 * and then the ORDER BY columns; the "next by rows examined" list leaves out one-off statements (schema changes,
 * bulk loads, anything run fewer than three times) and counts runs in words ("1 run"). Digest texts are spelled as
 * MariaDB 10.11 and MySQL 8 write them (backtick-quoted names, `?` for literals).
 */
import { describe, expect, it } from 'vitest';
import { investigateIoCredits } from '../../src/domain/io-credits.js';
import {
  type DigestStatement,
  type IoStatementsReport,
  indexColumnsFor,
  isRecurringStatement,
  orderByColumns,
  pickCauseStatement,
  whereColumns,
} from '../../src/domain/statements.js';
import { ioCreditsReportText } from '../../src/slack/blocks/io-credits.js';

const LATEST =
  'SELECT `recorded_at` , `value` FROM `telemetry` . `readings` WHERE `device_key` = ? AND `channel_uuid` = ? ORDER BY `recorded_at` DESC LIMIT ?';

describe('the index to try: equality columns, then the sort, then ranges (issue 16 #3)', () => {
  it('… WHERE device_key = ? AND channel_uuid = ? ORDER BY recorded_at DESC LIMIT 1 → (device_key, channel_uuid, recorded_at)', () => {
    expect(orderByColumns(LATEST)).toEqual([{ qualifier: null, column: 'recorded_at', descending: true }]);
    expect(whereColumns(LATEST).map((c) => [c.column, c.equality])).toEqual([
      ['device_key', true],
      ['channel_uuid', true],
    ]);
    expect(indexColumnsFor(whereColumns(LATEST), orderByColumns(LATEST))).toEqual([
      'device_key',
      'channel_uuid',
      'recorded_at',
    ]);
  });

  it('puts range columns (IS NOT NULL too) after the sort, and IN / IS NULL with the equalities', () => {
    const sql =
      'SELECT * FROM `orders` `o` WHERE `o` . `created_at` > ? AND `o` . `status` IN (...) AND `o` . `deleted_at` IS NULL AND `o` . `paid_at` IS NOT NULL ORDER BY `o` . `customer_id` , `o` . `id` DESC';
    expect(indexColumnsFor(whereColumns(sql), orderByColumns(sql))).toEqual([
      'status',
      'deleted_at',
      'customer_id',
      'id',
      'created_at',
      'paid_at',
    ]);
  });

  it('reads only the outer ORDER BY, and stops at the first item that is not a plain column', () => {
    expect(orderByColumns('SELECT a FROM t WHERE b = ? ORDER BY c , LOWER ( d ) , e')).toEqual([
      { qualifier: null, column: 'c', descending: false },
    ]);
    expect(orderByColumns('SELECT a FROM t WHERE b IN ( SELECT b FROM u ORDER BY x ) LIMIT ?')).toEqual([]);
    expect(orderByColumns('SELECT a FROM t ORDER BY 1')).toEqual([]);
    expect(orderByColumns('SELECT a FROM t ORDER BY a + b')).toEqual([]);
    expect(orderByColumns('SELECT a FROM t WHERE b = ? ORDER BY ts ASC FOR UPDATE')).toEqual([
      { qualifier: null, column: 'ts', descending: false },
    ]);
  });
});

function digest(text: string, count: number, rowsExamined: number, total: number): DigestStatement {
  return {
    schema: 'telemetry',
    digest: `d${text.length}-${count}`,
    digestText: text,
    count,
    rowsExamined,
    rowsExaminedPerCall: Math.round(rowsExamined / count),
    rowsSentPerCall: 1,
    noIndexUsed: count,
    noGoodIndexUsed: 0,
    fullScans: count,
    totalLatencyMs: 10,
    sharePct: Math.round((rowsExamined / total) * 10_000) / 100,
  };
}

describe('"next by rows examined" is the workload, not one-offs (issue 16 #4)', () => {
  it('leaves out DDL, maintenance and bulk loads, and statements run fewer than 3 times', () => {
    expect(isRecurringStatement({ count: 40, digestText: LATEST })).toBe(true);
    expect(isRecurringStatement({ count: 3, digestText: 'SELECT COUNT ( * ) FROM `readings`' })).toBe(true);
    expect(isRecurringStatement({ count: 2, digestText: 'SELECT COUNT ( * ) FROM `readings`' })).toBe(false);
    expect(isRecurringStatement({ count: 500, digestText: 'INSERT INTO `readings` VALUES (...)' })).toBe(
      true,
    );
    for (const text of [
      'ALTER TABLE `readings` ADD INDEX `by_device` ( `device_key` )',
      'CREATE TABLE `readings_2026` AS SELECT * FROM `readings`',
      'INSERT INTO `readings_archive` SELECT * FROM `readings` WHERE `recorded_at` < ?',
      "LOAD DATA INFILE ? INTO TABLE `readings` FIELDS TERMINATED BY ','",
      'OPTIMIZE TABLE `readings`',
      'TRUNCATE TABLE `readings_staging`',
      'create index `x` on `readings` ( `value` )',
    ]) {
      expect(isRecurringStatement({ count: 12, digestText: text }), text).toBe(false);
    }
  });

  it('never names a one-off as the cause, however many rows it examined', () => {
    const total = 1_000_000;
    const load = digest('INSERT INTO `readings_archive` SELECT * FROM `readings`', 1, 700_000, total);
    const lookup = digest(LATEST, 40, 200_000, total);
    expect(pickCauseStatement({ topByRowsExamined: [load, lookup], topByFullScans: [load, lookup] })).toEqual(
      {
        statement: lookup,
        scans: true,
      },
    );
    const adHoc = digest('SELECT COUNT ( * ) FROM `readings`', 2, 900_000, total);
    expect(pickCauseStatement({ topByRowsExamined: [adHoc], topByFullScans: [adHoc] })).toBeNull();
  });

  it('renders the list without them, and says "1 run" / "1 time" in the singular', () => {
    const total = 1_000_000;
    const cause = digest(LATEST, 1, 600_000, total);
    const db: IoStatementsReport = {
      performanceSchema: 'on',
      consumers: {
        statementsDigest: true,
        statementsCurrent: true,
        statementsHistory: true,
        statementsHistoryLong: true,
      },
      totalRowsExamined: total,
      topByRowsExamined: [
        cause,
        digest('ALTER TABLE `readings` ADD COLUMN `note` TEXT', 1, 200_000, total),
        digest('INSERT INTO `readings_archive` SELECT * FROM `readings`', 1, 100_000, total),
        digest('SELECT MAX ( `value` ) FROM `readings` WHERE `channel_uuid` = ?', 2, 50_000, total),
        digest('SELECT `value` FROM `readings` WHERE `value` > ?', 12, 30_000, total),
        digest('SELECT AVG ( `value` ) FROM `readings` WHERE `device_key` = ?', 3, 20_000, total),
      ],
      topByFullScans: [],
      tables: [],
      explains: [],
      cause: {
        statement: cause,
        dominant: true,
        scans: true,
        schema: 'telemetry',
        table: 'readings',
        tableFrom: 'statement-text',
        whereColumns: ['device_key', 'channel_uuid'],
        unindexedColumns: ['device_key', 'channel_uuid'],
        hypothesis: null,
        summary: '',
      },
      notes: [],
    };
    const report = investigateIoCredits({
      instance: {
        id: 'telemetry-db',
        engine: 'mysql',
        instanceClass: 'db.m5.large',
        storageType: 'gp2',
        allocatedGiB: 200,
      },
      series: {},
      now: Date.UTC(2026, 10, 22, 12),
    });
    const text = ioCreditsReportText(report, db, [], 24);
    const next = text.slice(text.indexOf('Next by rows examined:'));
    expect(next).toContain('`SELECT value FROM readings WHERE value > ?` — 12 runs, 3%');
    expect(next).toContain('`SELECT AVG ( value ) FROM readings WHERE device_key = ?` — 3 runs, 2%');
    expect(next).not.toMatch(/ALTER|INSERT|MAX/);
    expect(text).toContain('ran 1 time, examining 600,000 rows per call');
    expect(text).toContain('1 run without an index');
    expect(text).not.toMatch(/\b1 runs\b|\b1 times\b/);
  });
});
