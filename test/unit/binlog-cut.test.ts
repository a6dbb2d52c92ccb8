/** Cutting mariadb-binlog's text before the first transaction at or after a time (the sandbox's point-in-time replay). */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { cutBinlogAt, gtidEventSecond } from '../../devkit/sandbox/pitr/mariadb.js';

/** `2026-11-22 HH:MM:SS` UTC as epoch seconds. */
const at = (hh: number, mm: number, ss: number) => Date.UTC(2026, 10, 22, hh, mm, ss) / 1000;

/** One transaction as mariadb-binlog prints it (row format), stamped `time` (`H:MM:SS`). */
function transaction(pos: number, time: string, gtid: number, row: string): string {
  return [
    `# at ${pos}`,
    `#261122 ${time} server id 3390  end_log_pos ${pos + 42} CRC32 0x1a2b3c4d \tGTID 0-3390-${gtid} trans`,
    '/*!100001 SET @@session.gtid_seq_no=1*//*!*/;',
    'START TRANSACTION',
    '/*!*/;',
    `# at ${pos + 42}`,
    `#261122 ${time} server id 3390  end_log_pos ${pos + 100} CRC32 0x1a2b3c4d \tWrite_rows_v1: table id 33 flags: STMT_END_F`,
    "BINLOG '",
    row,
    "'/*!*/;",
    `# at ${pos + 100}`,
    `#261122 ${time} server id 3390  end_log_pos ${pos + 131} CRC32 0x1a2b3c4d \tXid = ${gtid}`,
    'COMMIT/*!*/;',
  ].join('\n');
}

/** A log opened at 12:00:00 (header events stamped then), holding transactions stamped earlier and later. */
const LOG = [
  '/*!50530 SET @@SESSION.PSEUDO_SLAVE_MODE=1*/;',
  'DELIMITER /*!*/;',
  '# at 4',
  '#261122 12:00:00 server id 3390  end_log_pos 256 CRC32 0x0badcafe \tStart: binlog v 4, server v 10.11.6-MariaDB-log created 261122 12:00:00',
  "BINLOG '",
  'AAAA',
  "'/*!*/;",
  '# at 256',
  '#261122 12:00:00 server id 3390  end_log_pos 299 CRC32 0x0badcafe \tGtid list [0-3390-12]',
  '# at 299',
  '#261122 12:00:00 server id 3390  end_log_pos 346 CRC32 0x0badcafe \tBinlog checkpoint mariadb-bin.000002',
  transaction(346, ' 9:00:00', 13, 'ROW-A\u00e9\u0000\u00ff'),
  transaction(500, '10:59:59', 14, 'ROW-B'),
  transaction(700, '11:00:00', 15, 'ROW-C'),
  transaction(900, '11:30:00', 16, 'ROW-D'),
  'DELIMITER ;',
  '# End of log file',
  'ROLLBACK /* added by mysqlbinlog */;',
  '/*!50003 SET COMPLETION_TYPE=@OLD_COMPLETION_TYPE*/;',
  '',
].join('\n');

/** Runs `text` through the cut in chunks of `size` bytes. */
async function cut(text: string, stop: number, size: number): Promise<string> {
  const bytes = Buffer.from(text, 'latin1');
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  const out: Buffer[] = [];
  for await (const b of Readable.from(chunks).pipe(cutBinlogAt(stop))) out.push(b as Buffer);
  return Buffer.concat(out).toString('latin1');
}

describe('gtidEventSecond', () => {
  it('reads the time of a GTID event header, and only of one', () => {
    expect(
      gtidEventSecond(
        '#261122  9:05:07 server id 3390  end_log_pos 388 CRC32 0x1a2b3c4d \tGTID 0-3390-13 trans',
      ),
    ).toBe(at(9, 5, 7));
    expect(gtidEventSecond('#261122 23:59:59 server id 1  end_log_pos 9 \tGTID 0-1-2 ddl')).toBe(
      at(23, 59, 59),
    );
    expect(gtidEventSecond('#261122 12:00:00 server id 3390  end_log_pos 299 \tGtid list [0-3390-12]')).toBe(
      undefined,
    );
    expect(gtidEventSecond('#261122 12:00:00 server id 3390  end_log_pos 131 \tXid = 15')).toBe(undefined);
    expect(
      gtidEventSecond("INSERT INTO t VALUES ('#261122 9:00:00 server id 1 end_log_pos 1 \tGTID ')"),
    ).toBe(undefined);
  });
});

describe('cutBinlogAt', () => {
  it('replays what came before the time although the log was opened after it', async () => {
    for (const size of [7, 64, 100_000]) {
      const out = await cut(LOG, at(11, 0, 0), size);
      // The log's own events (stamped 12:00) pass; so do the transactions of 9:00 and 10:59:59.
      expect(out).toContain('Start: binlog v 4');
      expect(out).toContain('ROW-A\u00e9\u0000\u00ff');
      expect(out).toContain('ROW-B');
      // The transaction of 11:00:00 (at the time asked for) and everything after it do not.
      expect(out).not.toContain('ROW-C');
      expect(out).not.toContain('GTID 0-3390-15');
      expect(out).not.toContain('ROW-D');
      // It ends with nothing open: the transaction before ends with its COMMIT, then the delimiter is reset.
      expect(out.endsWith('COMMIT/*!*/;\nDELIMITER ;\nROLLBACK /* cut by Capstan */;\n')).toBe(true);
    }
  });

  it('passes everything, byte for byte, when no transaction is at or after the time', async () => {
    expect(await cut(LOG, at(12, 0, 1), 13)).toBe(LOG);
  });

  it('replays nothing of the transactions when the first one is already at the time', async () => {
    const out = await cut(LOG, at(9, 0, 0), 50);
    expect(out).toContain('Binlog checkpoint');
    expect(out).not.toContain('ROW-A');
    expect(out).not.toContain('START TRANSACTION');
  });
});
