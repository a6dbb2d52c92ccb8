import { describe, expect, it } from 'vitest';
import { addKeysSql, deferSecondaryKeys, definitionDifferences } from '../../src/domain/table-definition.js';

const WIDE = [
  'CREATE TABLE `wide` (',
  '  `id` bigint(20) NOT NULL AUTO_INCREMENT,',
  '  `a` int(11) NOT NULL,',
  '  `b` int(11) NOT NULL,',
  '  `code` varchar(20) NOT NULL,',
  '  `name` varchar(100) NOT NULL,',
  '  `body` text DEFAULT NULL,',
  '  PRIMARY KEY (`id`),',
  '  UNIQUE KEY `code` (`code`),',
  '  KEY `ab` (`a`,`b`),',
  '  FULLTEXT KEY `ft` (`body`),',
  '  KEY `name` (`name`(20))',
  ") ENGINE=InnoDB AUTO_INCREMENT=1001 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='orders'",
].join('\n');

describe('deferSecondaryKeys', () => {
  it('defers the non-unique keys, keeps primary, unique and FULLTEXT keys, and leaves valid SQL', () => {
    const plan = deferSecondaryKeys(WIDE);
    expect(plan.deferred).toEqual([
      { name: 'ab', definition: 'KEY `ab` (`a`,`b`)' },
      { name: 'name', definition: 'KEY `name` (`name`(20))' },
    ]);
    expect(plan.create).toContain(
      'PRIMARY KEY (`id`),\n  UNIQUE KEY `code` (`code`),\n  FULLTEXT KEY `ft` (`body`)\n)',
    );
    expect(plan.create).not.toContain('KEY `ab`');
    expect(plan.create.split('\n').at(-1)).toBe(WIDE.split('\n').at(-1));
  });

  it('keeps the key that the AUTO_INCREMENT column needs, and defers nothing when there is nothing to defer', () => {
    const create = [
      'CREATE TABLE `t` (',
      '  `grp` int(11) NOT NULL,',
      '  `id` int(11) NOT NULL AUTO_INCREMENT,',
      '  PRIMARY KEY (`grp`,`id`),',
      '  KEY `id` (`id`),',
      '  KEY `id2` (`id`,`grp`)',
      ') ENGINE=InnoDB',
    ].join('\n');
    const plan = deferSecondaryKeys(create);
    expect(plan.deferred.map((k) => k.name)).toEqual(['id2']);
    expect(plan.create).toContain('  KEY `id` (`id`)\n)');
    const bare = 'CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB';
    expect(deferSecondaryKeys(bare)).toEqual({ create: bare, deferred: [] });
  });

  it('adds every deferred key in one ALTER, in place when asked', () => {
    const { deferred } = deferSecondaryKeys(WIDE);
    expect(addKeysSql('`s`.`w`', deferred, true)).toBe(
      'ALTER TABLE `s`.`w` ADD KEY `ab` (`a`,`b`), ADD KEY `name` (`name`(20)), ALGORITHM=INPLACE',
    );
    expect(addKeysSql('`s`.`w`', deferred, false)).not.toContain('ALGORITHM');
  });
});

describe('definitionDifferences', () => {
  const copy = WIDE.replace('CREATE TABLE `wide`', 'CREATE TABLE `wide__restored_202601010000`')
    // Keys added after the load are listed after the FULLTEXT key; the copy's counter and comment are its own.
    .replace('  KEY `ab` (`a`,`b`),\n', '')
    .replace(
      '  KEY `name` (`name`(20))\n) ENGINE=InnoDB AUTO_INCREMENT=1001',
      '  KEY `name` (`name`(20)),\n  KEY `ab` (`a`,`b`)\n) ENGINE=InnoDB AUTO_INCREMENT=1234',
    )
    .replace("COMMENT='orders'", "COMMENT='capstan:job=j1 restored'");

  it('sets aside the name, key order, the AUTO_INCREMENT counter, the comment and integer display widths', () => {
    expect(copy).not.toBe(WIDE);
    expect(definitionDifferences(WIDE, copy)).toEqual([]);
    expect(definitionDifferences(WIDE, copy.replace(/int\(11\)/g, 'int'))).toEqual([]);
  });

  it('names a missing key, a changed column and changed table options', () => {
    const broken = copy
      .replace(',\n  KEY `ab` (`a`,`b`)', '')
      .replace('`name` varchar(100) NOT NULL', '`name` varchar(50) NOT NULL')
      .replace('CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci', 'CHARSET=latin1');
    expect(definitionDifferences(WIDE, broken)).toEqual([
      'column `name` is "varchar(50) NOT NULL" in the copy, "varchar(100) NOT NULL" in the source',
      'key `ab` is missing from the copy',
      'the table options are "ENGINE=InnoDB DEFAULT CHARSET=latin1" in the copy, "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci" in the source',
    ]);
  });
});
