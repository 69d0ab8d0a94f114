import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { readBackupRecords, writeBackupFile, type BackupRecord } from '../../../src/backup/file/index.js';
import { headerInput, KEY, tempDir } from './backupFixtures.js';

const RECORDS = 200_000;
const VALUE_BYTES = 500;
const MIB = 1024 * 1024;

// Garbage would blur the measure: collect it before each sample.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** What the process still holds that would grow with buffered data: the live heap and the memory behind Buffers. */
function heldBytes(): number {
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

/** Agent-like values, each different, so the body is about 100 MB before compression. */
function record(i: number): BackupRecord {
  const text = JSON.stringify({ role: i % 2 === 0 ? 'user' : 'assistant', turn: i, content: `message ${i} `.repeat(40) });
  return { op: 'put', sublevel: 'state', key: Buffer.from(`agent:a${i % 100}/m${i}`), value: Buffer.from(text.padEnd(VALUE_BYTES).slice(0, VALUE_BYTES)) };
}

describe('backup file memory', function () {
  this.timeout(300_000);
  const { dir, cleanup } = tempDir();
  after(cleanup);
  const file = join(dir, 'large.llmbackup');
  const rawBytes = RECORDS * VALUE_BYTES;

  it(`writing ${RECORDS} records holds far less than their ${Math.round(rawBytes / MIB)} MiB at any time`, async () => {
    const baseline = heldBytes();
    let peak = 0;
    async function* records(): AsyncGenerator<BackupRecord> {
      for (let i = 0; i < RECORDS; i++) {
        if (i % 10_000 === 0) peak = Math.max(peak, heldBytes() - baseline);
        yield record(i);
      }
    }
    const written = await writeBackupFile(file, headerInput(), records(), { compression: 'brotli', key: KEY });
    assert.equal(written.records, RECORDS);
    assert.ok(peak < rawBytes / 6, `the writer held ${Math.round(peak / MIB)} MiB above its start, for ${Math.round(rawBytes / MIB)} MiB of records`);
  });

  it(`reading them back holds far less than their ${Math.round(rawBytes / MIB)} MiB at any time`, async () => {
    const baseline = heldBytes();
    let peak = 0;
    let count = 0;
    for await (const { op } of readBackupRecords(file, { key: KEY })) {
      assert.equal(op, 'put');
      if (++count % 10_000 === 0) peak = Math.max(peak, heldBytes() - baseline);
    }
    assert.equal(count, RECORDS);
    assert.ok(peak < rawBytes / 6, `the reader held ${Math.round(peak / MIB)} MiB above its start, for ${Math.round(rawBytes / MIB)} MiB of records`);
  });
});
