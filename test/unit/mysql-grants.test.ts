/**
 * Reading `SHOW GRANTS` (pure). The lines are in the forms the manuals show:
 * https://dev.mysql.com/doc/refman/8.0/en/show-grants.html (roles, `ALL PRIVILEGES`, column lists,
 * backquoted names) and https://mariadb.com/kb/en/show-grants/ (`IDENTIFIED BY PASSWORD`, `PROXY`);
 * schema-level grants may use `_` and `%` as wildcards, `\_` for a literal underscore
 * (https://dev.mysql.com/doc/refman/8.0/en/grant.html#grant-quoting).
 */
import { describe, expect, it } from 'vitest';
import { recurringProblem } from '../../src/mysql/connection.js';
import { missingPrivileges, readGrants } from '../../src/mysql/privileges.js';
import { withTableComment } from '../../src/mysql/table.js';

const restoreNeeds = (table: string) => [
  { privilege: 'SELECT', table },
  { privilege: 'CREATE' },
  { privilege: 'INSERT' },
  { privilege: 'SELECT' },
];

describe('readGrants / missingPrivileges', () => {
  it('global ALL PRIVILEGES covers everything (MariaDB root, with its password hash and PROXY line)', () => {
    const grants = readGrants([
      "GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` IDENTIFIED BY PASSWORD '*81F5E21E35407D884A6CD4A731AEBFB6AF209E1B' WITH GRANT OPTION",
      "GRANT PROXY ON ''@'%' TO 'root'@'localhost' WITH GRANT OPTION",
    ]);
    expect(grants.roles).toBe(false);
    expect(missingPrivileges(grants, 'secret', restoreNeeds('payroll'))).toEqual([]);
  });

  it('schema-level grants count for that schema only; USAGE gives nothing', () => {
    const grants = readGrants([
      'GRANT USAGE ON *.* TO `capstan`@`%`',
      'GRANT SELECT, INSERT, CREATE ON `shop`.* TO `capstan`@`%`',
    ]);
    expect(missingPrivileges(grants, 'shop', restoreNeeds('billing'))).toEqual([]);
    expect(missingPrivileges(grants, 'secret', restoreNeeds('payroll'))).toEqual(restoreNeeds('payroll'));
    expect(missingPrivileges(grants, 'shop', [{ privilege: 'DROP', table: 'billing' }])).toEqual([
      { privilege: 'DROP', table: 'billing' },
    ]);
  });

  it('a table-level grant covers that table, not the schema; column-level grants cover neither', () => {
    const grants = readGrants([
      'GRANT SELECT, ALTER ON `shop`.`billing` TO `capstan`@`%`',
      'GRANT SELECT (`id`), UPDATE (`note`, `amount`) ON `shop`.`orders` TO `capstan`@`%`',
    ]);
    expect(missingPrivileges(grants, 'shop', [{ privilege: 'SELECT', table: 'billing' }])).toEqual([]);
    expect(missingPrivileges(grants, 'shop', [{ privilege: 'SELECT' }])).toEqual([{ privilege: 'SELECT' }]);
    expect(missingPrivileges(grants, 'shop', [{ privilege: 'SELECT', table: 'orders' }])).toHaveLength(1);
  });

  it('schema wildcards: `_` is any one character, `%` any run, `\\_` a literal underscore', () => {
    const grants = readGrants([
      'GRANT ALL PRIVILEGES ON `shop\\_%`.* TO `capstan`@`%`',
      'GRANT SELECT ON `db_`.* TO `capstan`@`%`',
    ]);
    expect(missingPrivileges(grants, 'shop_eu', [{ privilege: 'CREATE' }])).toEqual([]);
    expect(missingPrivileges(grants, 'shopxeu', [{ privilege: 'CREATE' }])).toHaveLength(1);
    expect(missingPrivileges(grants, 'db1', [{ privilege: 'SELECT' }])).toEqual([]);
    expect(missingPrivileges(grants, 'db12', [{ privilege: 'SELECT' }])).toHaveLength(1);
  });

  it('notes granted roles, whose privileges SHOW GRANTS may not list', () => {
    const grants = readGrants([
      'GRANT USAGE ON *.* TO `u1`@`localhost`',
      'GRANT `r1`@`%`,`r2`@`%` TO `u1`@`localhost`',
    ]);
    expect(grants.roles).toBe(true);
  });

  it('backquoted names with dots and doubled backquotes', () => {
    const grants = readGrants(['GRANT INSERT ON `we.ird`.`ta``ble` TO `capstan`@`%`']);
    expect(grants.lines).toEqual([{ privileges: ['INSERT'], schema: 'we.ird', table: 'ta`ble' }]);
  });
});

describe('recurringProblem', () => {
  it('names access denied, unknown database and refused logins; not a lost connection', () => {
    const err = (errno: number, message: string) => Object.assign(new Error(message), { errno });
    expect(recurringProblem(err(1044, "Access denied for user 'u'@'%' to database 'secret'"))).toContain(
      'access to the schema is denied',
    );
    expect(recurringProblem(err(1045, "Access denied for user 'root'@'x' (using password: YES)"))).toContain(
      'the login was refused',
    );
    expect(recurringProblem(err(1049, "Unknown database 'nope'"))).toContain('the database does not exist');
    expect(recurringProblem(err(1142, 'SELECT command denied'))).toContain('access to the table is denied');
    expect(recurringProblem(err(2013, 'Lost connection to MySQL server during query'))).toBeUndefined();
    expect(recurringProblem(new Error('ECONNREFUSED'))).toBeUndefined();
  });
});

describe('withTableComment', () => {
  it('replaces the table comment (quotes doubled) or adds one', () => {
    const create =
      "CREATE TABLE `t` (\n  `id` int(11) NOT NULL COMMENT 'the id',\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='it''s old'";
    expect(withTableComment(create, "capstan:job=j1 it's")).toBe(
      "CREATE TABLE `t` (\n  `id` int(11) NOT NULL COMMENT 'the id',\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='capstan:job=j1 it''s'",
    );
    expect(withTableComment('CREATE TABLE `t` (\n  `x` int\n) ENGINE=InnoDB', 'm')).toBe(
      "CREATE TABLE `t` (\n  `x` int\n) ENGINE=InnoDB COMMENT='m'",
    );
  });
});
