/** Dating a binary log back: the format description event's time and checksum, nothing else. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { backdateBinlogStart } from '../../src/local/demo/orders-db.js';

const dir = mkdtempSync(join(tmpdir(), 'capstan-binlog-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A binary log as MariaDB starts one: magic, then a format description event (flag "in use" set), then more. */
function binlog(algorithm: number, when: number): Buffer {
  const body = Buffer.alloc(2 + 50 + 4 + 1 + 20 + 1);
  body.writeUInt16LE(4, 0);
  body.write('10.11.19-MariaDB-log', 2, 'latin1');
  body[body.length - 1] = algorithm;
  const size = 19 + body.length + 4;
  const header = Buffer.alloc(19);
  header.writeUInt32LE(when, 0);
  header[4] = 0x0f;
  header.writeUInt32LE(3390, 5);
  header.writeUInt32LE(size, 9);
  header.writeUInt32LE(4 + size, 13);
  header.writeUInt16LE(1, 17);
  const event = Buffer.concat([header, body, Buffer.alloc(4)]);
  const summed = Buffer.from(event.subarray(0, size - 4));
  summed[17] = 0;
  event.writeUInt32LE(algorithm === 1 ? crc32(summed) : 0, size - 4);
  return Buffer.concat([Buffer.from([0xfe, 0x62, 0x69, 0x6e]), event, Buffer.from('next events')]);
}

describe('backdateBinlogStart', () => {
  it('rewrites the time and the CRC32 (computed with the in-use flag cleared, as MariaDB does)', async () => {
    const path = join(dir, 'mariadb-bin.000002');
    const before = binlog(1, 1_795_320_925);
    writeFileSync(path, before);
    await backdateBinlogStart(path, 1_795_306_000);
    const after = readFileSync(path);
    const size = after.readUInt32LE(4 + 9);
    expect(after.readUInt32LE(4)).toBe(1_795_306_000);
    const summed = Buffer.from(after.subarray(4, 4 + size - 4));
    summed[17] = 0;
    expect(after.readUInt32LE(4 + size - 4)).toBe(crc32(summed));
    expect(after.readUInt16LE(4 + 17)).toBe(1);
    // Everything but the time and the checksum is as it was.
    expect(after.subarray(8, 4 + size - 4)).toEqual(before.subarray(8, 4 + size - 4));
    expect(after.subarray(4 + size)).toEqual(before.subarray(4 + size));
  });

  it('leaves the checksum alone when the log has none', async () => {
    const path = join(dir, 'mariadb-bin.000003');
    writeFileSync(path, binlog(0, 1_795_320_925));
    await backdateBinlogStart(path, 1_795_306_000);
    const after = readFileSync(path);
    const size = after.readUInt32LE(4 + 9);
    expect(after.readUInt32LE(4)).toBe(1_795_306_000);
    expect(after.readUInt32LE(4 + size - 4)).toBe(0);
  });

  it('refuses a file that is not a binary log', async () => {
    const path = join(dir, 'not-a-binlog');
    writeFileSync(path, Buffer.alloc(64, 1));
    await expect(backdateBinlogStart(path, 1)).rejects.toThrow(
      /does not start with a binary-log format description event/,
    );
  });
});
