import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { Scope } from '../../src/index.js';
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
