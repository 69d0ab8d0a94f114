import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import crc32c from 'crc-32/crc32c.js';
import { Scope, verifyStore } from '../../src/index.js';
import { scanLevelLog } from '../../src/storage/levelLog.js';
import { rejection, RuntimeFixture } from '../helpers.js';

const scope = Scope.agent('a1');

function logFiles(dataDir: string): string[] {
  return readdirSync(join(dataDir, 'db')).filter((name) => name.endsWith('.log'));
}

/** The one write-ahead log of a store that holds `count` acknowledged keys, closed cleanly. */
async function storeWithLog(fixture: RuntimeFixture, count: number): Promise<string> {
  const rt = await fixture.open();
  for (let i = 0; i < count; i++) await rt.state.set(scope, `k${i}`, { i, text: 'x'.repeat(40) });
  await rt.close();
  const logs = logFiles(fixture.dir).map((name) => join(fixture.dir, 'db', name));
  const withData = logs.filter((path) => readFileSync(path).length > 0);
  assert.equal(withData.length, 1, 'the writes are in one log');
  return withData[0];
}

function flipBit(path: string, at: number): void {
  const bytes = readFileSync(path);
  bytes[at] ^= 0x10;
  writeFileSync(path, bytes);
}

describe('damaged write-ahead logs', () => {
  let fixture: RuntimeFixture;
  beforeEach(() => {
    fixture = new RuntimeFixture('wal');
  });
  afterEach(() => fixture.dispose());

  it('one flipped bit in the log of a cleanly closed store refuses the open with DATA_CORRUPT, and changes nothing', async () => {
    const log = await storeWithLog(fixture, 300);
    flipBit(log, 20_000);
    const damaged = readFileSync(log);
    const error = await rejection(fixture.open());
    assert.equal(error.code, 'DATA_CORRUPT');
    assert.match(error.message, /\d+\.log/, 'names the log');
    assert.match(error.message, /checksum mismatch/);
    assert.match(error.message, /llmstate repair --data-dir/, 'says what to do next');
    assert.ok(Number(error.details?.damagedBytes) > 0, 'says how much would be dropped');
    assert.deepEqual(readFileSync(log), damaged, 'the log is left exactly as it was');
    const copy = String(error.details?.copy);
    assert.deepEqual(readFileSync(join(copy, log.split('/').at(-1)!)), damaged, 'and a copy is kept');
    // Refused again on every open, never opened as if nothing happened.
    assert.equal((await rejection(fixture.open())).code, 'DATA_CORRUPT');
  });

  it('a flipped bit in a log left by a crash (no clean close) is refused too', async () => {
    const log = await storeWithLog(fixture, 300);
    writeFileSync(join(fixture.dir, 'db', 'LLMSTATE-CLEAN-CLOSE'), 'not json');
    flipBit(log, 1_000);
    assert.equal((await rejection(fixture.open())).code, 'DATA_CORRUPT');
  });

  it('a log cut at a record boundary after a clean close is refused: acknowledged writes would be missing', async () => {
    const log = await storeWithLog(fixture, 300);
    const bytes = readFileSync(log);
    const boundary = lastRecordStart(bytes);
    writeFileSync(log, bytes.subarray(0, boundary));
    assert.deepEqual(scanLevelLog(readFileSync(log)).damage, [], 'the cut log still parses');
    const error = await rejection(fixture.open());
    assert.equal(error.code, 'DATA_CORRUPT');
    assert.match(error.message, /changed since the clean close/);
  });

  it('a torn last record after a crash is a write that was never acknowledged: the store opens', async () => {
    const log = await storeWithLog(fixture, 300);
    writeFileSync(join(fixture.dir, 'db', 'LLMSTATE-CLEAN-CLOSE'), 'not json');
    const bytes = readFileSync(log);
    writeFileSync(log, bytes.subarray(0, bytes.length - 5));
    const rt = await fixture.open();
    assert.deepEqual(await rt.state.get(scope, 'k0'), { i: 0, text: 'x'.repeat(40) });
    assert.equal(await rt.state.get(scope, 'k299'), undefined, 'only the torn write is gone');
    assert.deepEqual(await rt.state.get(scope, 'k298'), { i: 298, text: 'x'.repeat(40) });
  });

  it('a store closed cleanly and reopened many times opens every time', async () => {
    let rt = await fixture.open();
    for (let round = 0; round < 5; round++) {
      await rt.state.set(scope, `r${round}`, round);
      rt = await fixture.reopen(rt);
      assert.equal(await rt.state.get(scope, `r${round}`), round);
    }
  });

  it('a store opened and closed by LevelDB itself in between opens: its new logs follow the crash rules', async () => {
    await storeWithLog(fixture, 50);
    const db = new ClassicLevel(join(fixture.dir, 'db'));
    await db.open();
    await db.close();
    const rt = await fixture.open();
    assert.deepEqual(await rt.state.get(scope, 'k49'), { i: 49, text: 'x'.repeat(40) });
  });

  it('after a crash, a record whose length a flip pushed past the end of the file is damage when intact records follow it', async () => {
    const log = await storeWithLog(fixture, 300);
    writeFileSync(join(fixture.dir, 'db', 'LLMSTATE-CLEAN-CLOSE'), 'not json');
    const bytes = readFileSync(log);
    const starts = recordStarts(bytes).filter((at) => at >= bytes.length - (bytes.length % 32768));
    assert.ok(starts.length >= 3, 'several records in the last block');
    const victim = starts[1];
    // Claims to run to the end of its block: past the end of the file, as a torn write would.
    const length = 32768 - (victim % 32768) - 7;
    bytes[victim + 4] = length & 0xff;
    bytes[victim + 5] = length >> 8;
    writeFileSync(log, bytes);
    const error = await rejection(fixture.open());
    assert.equal(error.code, 'DATA_CORRUPT');
    assert.match(error.message, /bad record length/);
  });

  it('a zeroed record header in the middle of a block is damage: LevelDB would skip the rest of the block', async () => {
    const log = await storeWithLog(fixture, 300);
    writeFileSync(join(fixture.dir, 'db', 'LLMSTATE-CLEAN-CLOSE'), 'not json');
    const bytes = readFileSync(log);
    bytes.fill(0, recordStarts(bytes)[3], recordStarts(bytes)[3] + 7);
    writeFileSync(log, bytes);
    const error = await rejection(fixture.open());
    assert.equal(error.code, 'DATA_CORRUPT');
    assert.match(error.message, /zeroed record header/);
  });

  it('a manifest cut short after a clean close is damage: LevelDB would silently drop its last version edit', async () => {
    await storeWithLog(fixture, 20);
    const db = join(fixture.dir, 'db');
    const manifest = join(db, readFileSync(join(db, 'CURRENT'), 'latin1').trim());
    const bytes = readFileSync(manifest);
    writeFileSync(manifest, bytes.subarray(0, bytes.length - 3));
    const error = await rejection(fixture.open());
    assert.equal(error.code, 'DATA_CORRUPT');
    assert.match(error.message, /MANIFEST-\d+/);
  });

  it('records appended to a log after the clean close was recorded (another opener) follow the crash rules', async () => {
    const log = await storeWithLog(fixture, 300);
    const bytes = readFileSync(log);
    const cut = recordStarts(bytes).at(-10)!;
    // As if the marker had been written when the log ended at `cut`, and another opener then wrote on.
    const marker = join(fixture.dir, 'db', 'LLMSTATE-CLEAN-CLOSE');
    const record = JSON.parse(readFileSync(marker, 'utf8')) as { logs: { name: string; bytes: number; crc32c: number }[] };
    const entry = record.logs.find((one) => log.endsWith(one.name))!;
    entry.bytes = cut;
    entry.crc32c = crc32c.buf(bytes.subarray(0, cut), 0) >>> 0;
    writeFileSync(marker, JSON.stringify(record));
    const rt = await fixture.open();
    assert.deepEqual(await rt.state.get(scope, 'k299'), { i: 299, text: 'x'.repeat(40) });
  });

  it('a table file without a footer, left by a compaction cut short, is neither damage to verify nor to the open', async () => {
    await storeWithLog(fixture, 20);
    writeFileSync(join(fixture.dir, 'db', '000999.ldb'), Buffer.alloc(5000, 7));
    const report = await verifyStore({ dataDir: fixture.dir });
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    assert.equal(report.tables.unfinished, 1);
    const rt = await fixture.open();
    assert.deepEqual(await rt.state.get(scope, 'k19'), { i: 19, text: 'x'.repeat(40) });
  });

  it('a damaged LevelDB table is DATA_CORRUPT on read, not STORAGE_FAILED', async () => {
    await storeWithLog(fixture, 2_000);
    // Opening replays the log into a table; the next close leaves the values only there.
    await (await fixture.open()).close();
    const tables = readdirSync(join(fixture.dir, 'db')).filter((name) => name.endsWith('.ldb'));
    assert.ok(tables.length > 0, 'the values are in a table');
    const table = join(fixture.dir, 'db', tables[0]);
    const bytes = readFileSync(table);
    // State keys sort after every other namespace, so their blocks are in the latter part of the table.
    for (let at = Math.floor(bytes.length * 0.6); at < bytes.length * 0.8; at += 97) bytes[at] ^= 0xff;
    writeFileSync(table, bytes);
    const rt = await fixture.open();
    let error: (Error & { code?: string }) | undefined;
    for (let i = 0; i < 2_000 && error === undefined; i += 50) {
      error = await rt.state.get(scope, `k${i}`).then(() => undefined, (caught: Error & { code?: string }) => caught);
    }
    assert.ok(error, 'some read meets the damage');
    assert.equal(error.code, 'DATA_CORRUPT');
    assert.ok(existsSync(table));
  });
});

/** The offsets where the physical records of a log start (walking its 32 KiB blocks). */
function recordStarts(log: Buffer): number[] {
  const starts: number[] = [];
  let offset = 0;
  while (offset + 7 <= log.length) {
    const inBlock = offset % 32768;
    if (32768 - inBlock < 7) {
      offset += 32768 - inBlock;
      continue;
    }
    starts.push(offset);
    offset += 7 + (log[offset + 4] | (log[offset + 5] << 8));
  }
  return starts;
}

/** The offset where the last FULL record of a log starts (walking its 32 KiB blocks). */
function lastRecordStart(log: Buffer): number {
  let offset = 0;
  let last = 0;
  while (offset + 7 <= log.length) {
    const inBlock = offset % 32768;
    if (32768 - inBlock < 7) {
      offset += 32768 - inBlock;
      continue;
    }
    const length = log[offset + 4] | (log[offset + 5] << 8);
    if (log[offset + 6] === 1) last = offset;
    offset += 7 + length;
  }
  return last;
}
