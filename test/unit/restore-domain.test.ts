import { describe, expect, it } from 'vitest';
import {
  beforeRestoreTableName,
  restoredTableName,
  restoreOutcome,
  restoreWindowProblem,
  temporaryInstanceId,
} from '../../src/domain/restore.js';

describe('restore names', () => {
  it('names the restored table after the moment restored to, within 64 characters', () => {
    const at = new Date('2026-11-22T01:29:59Z');
    expect(restoredTableName('billing', at)).toBe('billing__restored_202611220129');
    expect(beforeRestoreTableName('billing', at)).toBe('billing__before_restore_202611220129');
    expect(restoredTableName('x'.repeat(64), at)).toHaveLength(64);
  });

  it('makes a valid DB instance identifier for the temporary instance', () => {
    expect(temporaryInstanceId('billing', 'j3e03bd6b48a')).toBe('capstan-restore-billing-d6b48a');
    const id = temporaryInstanceId('Order_Items$2024', 'jabcdef123456');
    expect(id).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
    expect(id.length).toBeLessThanOrEqual(63);
    expect(temporaryInstanceId('a'.repeat(64), 'j123456789ab').length).toBeLessThanOrEqual(63);
  });
});

describe('restore window', () => {
  const earliest = new Date('2026-11-20T00:00:00Z');
  const latest = new Date('2026-11-22T01:00:00Z');
  it('accepts a moment inside the window and names the window otherwise', () => {
    expect(restoreWindowProblem(new Date('2026-11-21T00:00:00Z'), earliest, latest)).toBeUndefined();
    expect(restoreWindowProblem(new Date('2026-11-22T02:00:00Z'), earliest, latest)).toBe(
      '2026-11-22T02:00:00.000Z is outside the restorable window of this instance: 2026-11-20T00:00:00.000Z to 2026-11-22T01:00:00.000Z',
    );
    expect(restoreWindowProblem(new Date(), undefined, latest)).toMatch(/no restorable window/);
  });
});

describe('restore outcome', () => {
  it('says where the data is and how to undo a swap', () => {
    const command = {
      kind: 'rds.restore-table',
      dbInstance: 'orders-db',
      schema: 'shop',
      table: 'billing',
      at: '2026-11-22T01:29:59.000Z',
      mode: 'replace',
    } as const;
    expect(
      restoreOutcome(
        command,
        { restored: 'billing__restored_202611220129', before: 'billing__before_restore_202611220131' },
        { copied: 10 },
      ),
    ).toContain(
      'To undo: `RENAME TABLE shop.billing TO shop.billing__restored_202611220129, shop.billing__before_restore_202611220131 TO shop.billing`',
    );
  });
});
