import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readBackupHeader, readBackupRecords, verifyBackupFile, writeBackupFile, type BackupRecord, type Compression } from '../../../src/backup/file/index.js';
import { fromArray, headerInput, KEY, PASSPHRASE, readAll, tempDir } from './backupFixtures.js';

const MIB = 1024 * 1024;

function sampleRecords(): BackupRecord[] {
  const large = Buffer.alloc(3 * MIB + 17);
  for (let i = 0; i < large.length; i++) large[i] = (i * 7919) % 251;
  return [
    { op: 'put', sublevel: 'state', key: Buffer.from('agent:a1/topic'), value: Buffer.from(JSON.stringify({ text: 'héllo \u{1F600}', n: [1, 2] })) },
    { op: 'put', sublevel: 'state', key: Buffer.alloc(0), value: Buffer.alloc(0) },
    { op: 'put', sublevel: 'events', key: Buffer.from([0, 0, 0, 1]), value: large },
    { op: 'del', sublevel: 'state', key: Buffer.from('agent:a1/old') },
    { op: 'del', sublevel: 'outbox', key: Buffer.alloc(0) },
    { op: 'clear', sublevel: 'state', gte: Buffer.from('agent:a2/'), lt: Buffer.from('agent:a2/\xff') },
    { op: 'clear', sublevel: 'events', gte: Buffer.from([0, 0, 0, 9]) },
    { op: 'clear', sublevel: 'events', lt: Buffer.alloc(0) },
    { op: 'clear', sublevel: 'outbox' },
    { op: 'put', sublevel: 'outbox', key: Buffer.from([0xff, 0x00]), value: Buffer.from([0x00, 0xff]) },
  ];
}

function countsOf(records: BackupRecord[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const record of records) counts[record.sublevel] = (counts[record.sublevel] ?? 0) + 1;
  return counts;
}

describe('backup file round trip', function () {
  this.timeout(120_000);
  const { dir, cleanup } = tempDir();
  after(cleanup);

  const keys: { label: string; key: Buffer | string | undefined }[] = [
    { label: 'plain', key: undefined },
    { label: 'encrypted with a 32-byte key', key: KEY },
    { label: 'encrypted with a passphrase', key: PASSPHRASE },
  ];
  for (const compression of ['brotli', 'gzip', 'none'] as const satisfies readonly Compression[]) {
    for (const { label, key } of keys) {
      it(`gives back every record exactly, ${compression}, ${label}`, async () => {
        const file = join(dir, `sample-${compression}-${label.replace(/\W+/g, '-')}.llmbackup`);
        const records = sampleRecords();
        const written = await writeBackupFile(file, headerInput(), fromArray(records), { compression, key });
        assert.deepEqual(await readAll(file, { key }), records);
        assert.equal(written.records, records.length);
        assert.deepEqual(written.counts, countsOf(records));
        assert.equal(written.bytes, (await stat(file)).size);
        const { header, trailer } = await verifyBackupFile(file, { key });
        assert.equal(header.compression, compression);
        assert.equal(header.encryption === null, key === undefined);
        assert.equal(header.encryption?.kdf, key === undefined ? undefined : typeof key === 'string' ? 'scrypt' : 'none');
        assert.deepEqual(trailer, JSON.parse(JSON.stringify(trailer)));
        assert.equal(trailer.records, records.length);
        assert.equal(trailer.sha256, written.sha256);
        assert.deepEqual(trailer.counts, written.counts);
      });
    }
  }

  for (const { label, key } of keys) {
    it(`writes and reads a backup of no records, ${label}`, async () => {
      const file = join(dir, `empty-${label.replace(/\W+/g, '-')}.llmbackup`);
      const written = await writeBackupFile(file, headerInput({ sublevels: [] }), fromArray([]), { compression: 'brotli', key });
      assert.equal(written.records, 0);
      assert.deepEqual(written.counts, {});
      assert.deepEqual(await readAll(file, { key }), []);
      assert.equal((await verifyBackupFile(file, { key })).trailer.records, 0);
    });
  }

  it('shows the magic line and the header as the first two lines, and the header reads back as written', async () => {
    const file = join(dir, 'head.llmbackup');
    const input = headerInput({ id: 'bk-0002', parentId: 'bk-0001', fromSeq: 40, seq: 99, kind: 'incremental', reason: 'scheduled', meta: { 10: 'a', b: [1, 'x'], 2: null } });
    await writeBackupFile(file, input, fromArray(sampleRecords().slice(0, 2)), { compression: 'gzip', key: PASSPHRASE });
    const [magic, headerLine] = (await readFile(file)).toString('latin1').split('\n');
    assert.equal(magic, 'LLMSTATE-BACKUP 1');
    const header = await readBackupHeader(file);
    assert.deepEqual(JSON.parse(headerLine), header);
    assert.deepEqual(header, JSON.parse(JSON.stringify(header)));
    const { encryption, ...rest } = header;
    assert.deepEqual(rest, { format: 1, ...input, compression: 'gzip' });
    assert.equal(encryption?.cipher, 'aes-256-gcm');
    assert.deepEqual(encryption?.scrypt, { N: 2 ** 15, r: 8, p: 1 });
    assert.equal(Buffer.from(encryption!.salt!, 'base64').length, 16);
    assert.ok(!headerLine.includes(PASSPHRASE));
  });

  it('draws a fresh salt and fresh IVs each time, so the same backup never gives the same bytes', async () => {
    const [a, b] = [join(dir, 'same-a.llmbackup'), join(dir, 'same-b.llmbackup')];
    for (const file of [a, b]) await writeBackupFile(file, headerInput(), fromArray(sampleRecords().slice(0, 3)), { compression: 'none', key: PASSPHRASE });
    assert.notEqual((await readBackupHeader(a)).encryption!.salt, (await readBackupHeader(b)).encryption!.salt);
    const bodyOf = async (file: string) => (await readFile(file)).subarray(-200_000, -300);
    assert.notDeepEqual(await bodyOf(a), await bodyOf(b));
  });

  it('never holds the plaintext in an encrypted file', async () => {
    const file = join(dir, 'secret.llmbackup');
    const marker = 'secret-marker-9d41';
    await writeBackupFile(file, headerInput(), fromArray([{ op: 'put', sublevel: 'state', key: Buffer.from(marker), value: Buffer.from(marker) }]), { compression: 'none', key: KEY });
    assert.ok(!(await readFile(file)).includes(marker));
  });

  it('takes the passphrase from LLMSTATE_BACKUP_KEY when reading without a key option', async () => {
    const file = join(dir, 'env.llmbackup');
    const records = sampleRecords().slice(0, 4);
    await writeBackupFile(file, headerInput(), fromArray(records), { compression: 'gzip', key: PASSPHRASE });
    const saved = process.env.LLMSTATE_BACKUP_KEY;
    process.env.LLMSTATE_BACKUP_KEY = PASSPHRASE;
    try {
      assert.deepEqual(await readAll(file), records);
      assert.equal((await verifyBackupFile(file)).trailer.records, records.length);
      // The option wins over the environment.
      assert.deepEqual(await readAll(file, { key: PASSPHRASE }), records);
    } finally {
      if (saved === undefined) delete process.env.LLMSTATE_BACKUP_KEY;
      else process.env.LLMSTATE_BACKUP_KEY = saved;
    }
  });

  it('reports progress while writing and reading, ending with the totals', async () => {
    const file = join(dir, 'progress.llmbackup');
    const records = sampleRecords();
    const writes: { records: number; bytes: number }[] = [];
    const written = await writeBackupFile(file, headerInput(), fromArray(records), { compression: 'brotli', onProgress: (p) => writes.push(p) });
    assert.deepEqual(writes.at(-1), { records: records.length, bytes: written.bytes });
    const reads: { records: number; bytes: number; totalBytes: number }[] = [];
    await verifyBackupFile(file, { onProgress: (p) => reads.push(p) });
    assert.deepEqual(reads.at(-1), { records: records.length, bytes: written.bytes, totalBytes: written.bytes });
    assert.ok(reads.length <= 3, `at most a few reports for a fast read, got ${reads.length}`);
  });

  it('cuts the body into many frames when the chunk size is small, and reads them back', async () => {
    const file = join(dir, 'small-chunks.llmbackup');
    const records = sampleRecords().slice(0, 6);
    await writeBackupFile(file, headerInput(), fromArray(records), { compression: 'none', key: KEY, chunkBytes: 1000 });
    const { trailer } = await verifyBackupFile(file, { key: KEY });
    assert.ok(trailer.frames > 3000, `expected many frames, got ${trailer.frames}`);
    assert.deepEqual(await readAll(file, { key: KEY }), records);
  });

  it('a reader that stops early gets the first records, and the file reads again from the start', async () => {
    const file = join(dir, 'early.llmbackup');
    const records = sampleRecords();
    await writeBackupFile(file, headerInput(), fromArray(records), { compression: 'brotli', key: KEY, chunkBytes: 512 });
    for (let attempt = 0; attempt < 2; attempt++) {
      const firstTwo: BackupRecord[] = [];
      for await (const record of readBackupRecords(file, { key: KEY })) {
        firstTwo.push(record);
        if (firstTwo.length === 2) break;
      }
      assert.deepEqual(firstTwo, records.slice(0, 2));
    }
  });

  it('replaces an existing file only with a complete one', async () => {
    const file = join(dir, 'replaced.llmbackup');
    await writeBackupFile(file, headerInput({ id: 'first' }), fromArray([]), { compression: 'none' });
    await writeBackupFile(file, headerInput({ id: 'second' }), fromArray([]), { compression: 'none' });
    assert.equal((await readBackupHeader(file)).id, 'second');
  });
});
