import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { backupKeyFrom, writeBackupFile, type BackupRecord, type WriteBackupOptions } from '../../../src/backup/file/index.js';
import { fromArray, headerInput, KEY, tempDir } from './backupFixtures.js';

function put(i: number): BackupRecord {
  return { op: 'put', sublevel: 'state', key: Buffer.from(`k${i}`), value: Buffer.alloc(300, i % 256) };
}

describe('writeBackupFile', () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);

  it('when the records fail mid-write, rejects with their error and leaves neither the file nor `.partial`', async () => {
    const file = join(dir, 'failed.llmbackup');
    const failure = new Error('the snapshot iterator broke');
    async function* failing(): AsyncGenerator<BackupRecord> {
      for (let i = 0; i < 5000; i++) yield put(i);
      throw failure;
    }
    for (const key of [undefined, KEY]) {
      await assert.rejects(writeBackupFile(file, headerInput(), failing(), { compression: 'none', key, chunkBytes: 1024 }), (err) => err === failure);
      assert.equal(existsSync(file), false);
      assert.equal(existsSync(`${file}.partial`), false);
    }
    assert.deepEqual(readdirSync(dir), []);
  });

  it('a record naming a sublevel the header does not list is a TypeError, and nothing is left behind', async () => {
    const file = join(dir, 'bad-record.llmbackup');
    const records = [put(1), { op: 'put', sublevel: 'nowhere', key: Buffer.from('k'), value: Buffer.from('v') } as BackupRecord];
    await assert.rejects(writeBackupFile(file, headerInput(), fromArray(records), { compression: 'gzip' }), {
      name: 'TypeError',
      message: 'Expected a backup record\'s sublevel to be one the header lists, got `"nowhere"` (string)',
    });
    assert.deepEqual(readdirSync(dir), []);
  });

  it('a record whose key is not a Buffer is a TypeError', async () => {
    const records = [{ op: 'del', sublevel: 'state', key: 'k' } as unknown as BackupRecord];
    await assert.rejects(writeBackupFile(join(dir, 'x.llmbackup'), headerInput(), fromArray(records), { compression: 'none' }), {
      name: 'TypeError',
      message: "Expected a del record's `key` to be a Buffer, got `\"k\"` (string)",
    });
    assert.deepEqual(readdirSync(dir), []);
  });

  const badOptions: [string, unknown, RegExp][] = [
    ['a missing compression', {}, /^Expected `compression` to be 'brotli', 'gzip' or 'none', got `undefined`/],
    ['an unknown compression', { compression: 'zstd' }, /^Expected `compression` to be 'brotli', 'gzip' or 'none', got `"zstd"` \(string\)$/],
    ['a short key', { compression: 'none', key: Buffer.alloc(16) }, /^Expected `key` to be a 32-byte Buffer or a passphrase, got a Buffer of 16 bytes$/],
    ['an empty passphrase', { compression: 'none', key: '' }, /^Expected `key` to be a 32-byte Buffer or a non-empty passphrase, got `""` \(string\)$/],
    ['a key of another type', { compression: 'none', key: 42 }, /^Expected `key` to be a 32-byte Buffer or a passphrase, got `42` \(number\)$/],
    ['an onProgress that is not a function', { compression: 'none', onProgress: 1 }, /^Expected `onProgress` to be a function, got `1` \(number\)$/],
    ['an unknown option', { compression: 'none', encrypt: true }, /^Unknown option `encrypt`/],
    ['a chunk size of zero', { compression: 'none', chunkBytes: 0 }, /^Expected `chunkBytes` to be an integer from 1 to 1048576, got `0` \(number\)$/],
  ];
  for (const [label, options, message] of badOptions) {
    it(`rejects ${label} with a TypeError`, async () => {
      await assert.rejects(writeBackupFile(join(dir, 'x.llmbackup'), headerInput(), fromArray([]), options as WriteBackupOptions), { name: 'TypeError', message });
      assert.deepEqual(readdirSync(dir), []);
    });
  }

  const badHeaders: [string, Record<string, unknown>, RegExp][] = [
    ['an empty id', { id: '' }, /^Expected `id` to be a non-empty string, got `""` \(string\)$/],
    ['a negative seq', { seq: -1 }, /^Expected `seq` to be a non-negative integer, got `-1` \(number\)$/],
    ['a fromSeq above seq', { fromSeq: 50, seq: 42 }, /^Expected `fromSeq` \(50\) to be at most `seq` \(42\)$/],
    ['an unknown kind', { kind: 'partial' }, /^Expected `kind` to be 'full' or 'incremental', got `"partial"` \(string\)$/],
    ['repeated sublevels', { sublevels: ['state', 'state'] }, /^Expected `sublevels` to be an array of distinct sublevel names/],
    ['meta that is not an object', { meta: [] }, /^Expected `meta` to be an object, got `\[\]` \(array\)$/],
    ['a parentId of the wrong type', { parentId: 3 }, /^Expected `parentId` to be a non-empty string or null, got `3` \(number\)$/],
  ];
  for (const [label, overrides, message] of badHeaders) {
    it(`rejects a header with ${label} with a TypeError`, async () => {
      await assert.rejects(writeBackupFile(join(dir, 'x.llmbackup'), headerInput(overrides as never), fromArray([]), { compression: 'none' }), { name: 'TypeError', message });
    });
  }

  it('rejects a header with a field of its own, and records that are not an async iterable', async () => {
    await assert.rejects(writeBackupFile(join(dir, 'x.llmbackup'), { ...headerInput(), format: 1 } as never, fromArray([]), { compression: 'none' }), {
      name: 'TypeError',
      message: /^Unknown header field `format`/,
    });
    await assert.rejects(writeBackupFile(join(dir, 'x.llmbackup'), headerInput(), [put(1)] as never, { compression: 'none' }), {
      name: 'TypeError',
      message: /^Expected `records` to be an async iterable of backup records/,
    });
  });
});

describe('backupKeyFrom', () => {
  it('returns the option when given, whatever the environment', () => {
    assert.equal(backupKeyFrom(KEY, { LLMSTATE_BACKUP_KEY: 'env' }), KEY);
    assert.equal(backupKeyFrom('pass', { LLMSTATE_BACKUP_KEY: 'env' }), 'pass');
  });

  it('falls back to LLMSTATE_BACKUP_KEY as a passphrase, then to undefined', () => {
    assert.equal(backupKeyFrom(undefined, { LLMSTATE_BACKUP_KEY: 'from env' }), 'from env');
    assert.equal(backupKeyFrom(undefined, {}), undefined);
  });

  it('reads process.env when no environment is passed', () => {
    const saved = process.env.LLMSTATE_BACKUP_KEY;
    process.env.LLMSTATE_BACKUP_KEY = 'process passphrase';
    try {
      assert.equal(backupKeyFrom(undefined), 'process passphrase');
    } finally {
      if (saved === undefined) delete process.env.LLMSTATE_BACKUP_KEY;
      else process.env.LLMSTATE_BACKUP_KEY = saved;
    }
  });

  it('rejects a Buffer that is not 32 bytes, an empty string, and an empty LLMSTATE_BACKUP_KEY with TypeErrors', () => {
    assert.throws(() => backupKeyFrom(Buffer.alloc(31)), { name: 'TypeError', message: 'Expected `key` to be a 32-byte Buffer or a passphrase, got a Buffer of 31 bytes' });
    assert.throws(() => backupKeyFrom(''), { name: 'TypeError', message: 'Expected `key` to be a 32-byte Buffer or a non-empty passphrase, got `""` (string)' });
    assert.throws(() => backupKeyFrom(undefined, { LLMSTATE_BACKUP_KEY: '' }), { name: 'TypeError', message: /^Expected LLMSTATE_BACKUP_KEY to be a non-empty passphrase/ });
  });
});
