import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readBackupHeader, verifyBackupFile, writeBackupFile, type BackupRecord } from '../../../src/backup/file/index.js';
import { LlmStateError } from '../../../src/errors.js';
import { frameSpans, fromArray, headerInput, KEY, OTHER_KEY, PASSPHRASE, readAll, rejection, tempDir } from './backupFixtures.js';

/** Enough records for a file of a few frames and about 1.5 KiB: small enough to damage at every byte. */
function smallRecords(): BackupRecord[] {
  const records: BackupRecord[] = [];
  for (let i = 0; i < 12; i++) {
    const digest = createHash('sha256').update(String(i)).digest('hex').slice(0, 48);
    records.push({ op: 'put', sublevel: 'state', key: Buffer.from(`agent:a${i}/notes`), value: Buffer.from(JSON.stringify({ i, text: `note ${digest}` })) });
  }
  records.push({ op: 'del', sublevel: 'events', key: Buffer.from([0, 1]) }, { op: 'clear', sublevel: 'outbox', gte: Buffer.from('a') }, { op: 'clear', sublevel: 'outbox' });
  return records;
}

describe('backup file damage', function () {
  this.timeout(300_000);
  const { dir, cleanup } = tempDir();
  after(cleanup);

  const variants = [
    { label: 'plain', key: undefined, compression: 'gzip' as const },
    { label: 'encrypted', key: KEY, compression: 'brotli' as const },
  ];

  for (const { label, key, compression } of variants) {
    describe(label, () => {
      const file = join(dir, `small-${label}.llmbackup`);
      const damaged = join(dir, `damaged-${label}.llmbackup`);
      let original: Buffer;

      before(async () => {
        await writeBackupFile(file, headerInput(), fromArray(smallRecords()), { compression, key, chunkBytes: 128 });
        original = await readFile(file);
        assert.ok(original.length >= 1000 && original.length <= 3 * 1024, `the file is ${original.length} bytes`);
        assert.ok(frameSpans(original).length >= 4);
      });

      async function verifyBytes(bytes: Buffer, what: string): Promise<LlmStateError> {
        await writeFile(damaged, bytes);
        return rejection(verifyBackupFile(damaged, { key }), 'BACKUP_CORRUPT', what);
      }

      it('the intact file verifies', async () => {
        assert.equal((await verifyBackupFile(file, { key })).trailer.records, smallRecords().length);
      });

      it('flipping any one byte of the file, header, body or trailer, fails verification with BACKUP_CORRUPT naming the file', async () => {
        const regions = new Set<unknown>();
        for (let offset = 0; offset < original.length; offset++) {
          const bytes = Buffer.from(original);
          bytes[offset] ^= offset % 2 === 0 ? 0x01 : 0x80;
          const err = await verifyBytes(bytes, `byte ${offset}`);
          assert.ok(err.message.includes(damaged), `byte ${offset}: the message names the file: ${err.message}`);
          assert.equal(err.details?.file, damaged);
          regions.add(err.details?.region);
        }
        for (const region of ['header', 'frame', 'trailer']) assert.ok(regions.has(region), `some damage is reported in the ${region}: ${[...regions].join(', ')}`);
      });

      it('names the region: a damaged header, a damaged frame with its index and offset, a damaged trailer', async () => {
        const spans = frameSpans(original);
        const header = Buffer.from(original);
        header[original.indexOf('"seq":42') + 7] = '3'.charCodeAt(0);
        const headerErr = await verifyBytes(header, 'header');
        assert.equal(headerErr.details?.region, 'header');
        assert.match(headerErr.message, /header/);

        const frame = Buffer.from(original);
        frame[spans[2].start + 10] ^= 0x10;
        const frameErr = await verifyBytes(frame, 'frame');
        assert.equal(frameErr.details?.region, 'frame');
        assert.equal(frameErr.details?.offset, spans[2].start);
        assert.ok(frameErr.message.includes(`frame 2 at byte ${spans[2].start}`), frameErr.message);

        const trailer = Buffer.from(original);
        const records = original.lastIndexOf('"records":15');
        trailer[records + 11] = '6'.charCodeAt(0);
        const trailerErr = await verifyBytes(trailer, 'trailer');
        assert.equal(trailerErr.details?.region, 'trailer');
        assert.match(trailerErr.message, /trailer/);
      });

      it('cut short at any frame boundary or inside any region, it fails as truncated', async () => {
        const spans = frameSpans(original);
        const cuts = [0, 5, 18, 40, spans[0].start, spans[0].start + 2, spans[1].start, spans[1].start + 9, spans.at(-1)!.start, spans.at(-1)!.end, spans.at(-1)!.end + 20, original.length - 1];
        for (const cut of cuts) {
          const err = await verifyBytes(original.subarray(0, cut), `cut at ${cut}`);
          assert.equal(err.details?.region, 'truncated', `cut at ${cut}: ${err.message}`);
          assert.equal(err.details?.offset, cut, `cut at ${cut}: ${err.message}`);
          assert.ok(err.message.includes(`truncated at byte ${cut}`), err.message);
        }
      });

      it('bytes appended after the trailer fail, saying how many and where', async () => {
        for (const tail of [Buffer.from('\n'), Buffer.from('x'), original.subarray(0, 100)]) {
          const err = await verifyBytes(Buffer.concat([original, tail]), `${tail.length} appended`);
          assert.equal(err.details?.region, 'appended');
          assert.equal(err.details?.offset, original.length);
          assert.ok(err.message.includes(`${tail.length} bytes are appended after the trailer, at byte ${original.length}`), err.message);
        }
      });

      it('two chunks swapped, or one dropped, fail at the first frame out of place', async () => {
        const spans = frameSpans(original);
        const [a, b] = [spans[1], spans[2]];
        assert.equal(a.end - a.start, b.end - b.start, 'full chunks frame to the same size');
        const swapped = Buffer.concat([original.subarray(0, a.start), original.subarray(b.start, b.end), original.subarray(a.start, a.end), original.subarray(b.end)]);
        const swapErr = await verifyBytes(swapped, 'swapped');
        assert.equal(swapErr.details?.region, 'frame');
        assert.equal(swapErr.details?.offset, a.start);

        const dropped = Buffer.concat([original.subarray(0, a.start), original.subarray(a.end)]);
        const dropErr = await verifyBytes(dropped, 'dropped');
        assert.equal(dropErr.details?.region, 'frame');
        assert.equal(dropErr.details?.offset, a.start);
      });

      it('a chunk taken from another backup at the same place fails', async () => {
        const other = join(dir, `other-${label}.llmbackup`);
        const records = smallRecords();
        records[0] = { op: 'put', sublevel: 'state', key: Buffer.from('agent:a0/notes'), value: Buffer.from(JSON.stringify({ i: 0, text: 'note 99999' })) };
        await writeBackupFile(other, headerInput({ id: 'bk-other' }), fromArray(records), { compression, key, chunkBytes: 128 });
        const otherBytes = await readFile(other);
        const mine = frameSpans(original)[0];
        const theirs = frameSpans(otherBytes)[0];
        const spliced = Buffer.concat([original.subarray(0, mine.start), otherBytes.subarray(theirs.start, theirs.end), original.subarray(mine.end)]);
        const err = await verifyBytes(spliced, 'spliced');
        if (key !== undefined) assert.equal(err.details?.region, 'frame', 'an encrypted chunk is bound to its backup');
      });

      it('a reader sees the damage too: the record stream throws BACKUP_CORRUPT at the latest when it ends', async () => {
        const bytes = Buffer.from(original);
        bytes[original.length - 5] ^= 0x01;
        await writeFile(damaged, bytes);
        await rejection(readAll(damaged, { key }), 'BACKUP_CORRUPT', 'read');
      });
    });
  }

  describe('keys', () => {
    const withKey = join(dir, 'keyed.llmbackup');
    const withPassphrase = join(dir, 'passphrase.llmbackup');
    before(async () => {
      await writeBackupFile(withKey, headerInput(), fromArray(smallRecords()), { compression: 'brotli', key: KEY });
      await writeBackupFile(withPassphrase, headerInput(), fromArray(smallRecords()), { compression: 'brotli', key: PASSPHRASE });
    });

    it('a wrong key or passphrase fails with BACKUP_CORRUPT saying the key does not match, not that the file is damaged elsewhere', async () => {
      const cases: [string, Buffer | string][] = [
        [withKey, OTHER_KEY],
        [withKey, PASSPHRASE],
        [withPassphrase, 'wrong passphrase'],
        [withPassphrase, KEY],
      ];
      for (const [file, key] of cases) {
        const err = await rejection(verifyBackupFile(file, { key }), 'BACKUP_CORRUPT', `${file} with the wrong key`);
        assert.equal(err.details?.region, 'key');
        assert.match(err.message, /the key does not match the one the backup was encrypted with/);
        await rejection(readAll(file, { key }), 'BACKUP_CORRUPT', 'read with the wrong key');
      }
    });

    it('an encrypted file read without a key, in the option or the environment, fails with BACKUP_KEY_REQUIRED', async () => {
      const saved = process.env.LLMSTATE_BACKUP_KEY;
      delete process.env.LLMSTATE_BACKUP_KEY;
      try {
        const err = await rejection(verifyBackupFile(withKey), 'BACKUP_KEY_REQUIRED');
        assert.ok(err.message.includes(withKey));
        assert.match(err.message, /LLMSTATE_BACKUP_KEY/);
        await rejection(readAll(withPassphrase), 'BACKUP_KEY_REQUIRED');
      } finally {
        if (saved !== undefined) process.env.LLMSTATE_BACKUP_KEY = saved;
      }
    });

    it('the header of an encrypted file reads without a key', async () => {
      assert.equal((await readBackupHeader(withKey)).encryption?.kdf, 'none');
    });

    it('a damaged key check reads as a damaged header, not as a wrong key', async () => {
      const bytes = await readFile(withKey);
      const check = bytes.indexOf('"keyCheck":"') + 12;
      bytes[check] = bytes[check] === 0x30 ? 0x31 : 0x30;
      const damaged = join(dir, 'keycheck.llmbackup');
      await writeFile(damaged, bytes);
      const err = await rejection(verifyBackupFile(damaged, { key: KEY }), 'BACKUP_CORRUPT');
      assert.equal(err.details?.region, 'header', err.message);
    });
  });

  describe('missing and partial files', () => {
    it('a missing file fails with BACKUP_NOT_FOUND naming it', async () => {
      const missing = join(dir, 'missing.llmbackup');
      for (const attempt of [verifyBackupFile(missing), readBackupHeader(missing), readAll(missing)]) {
        const err = await rejection(attempt, 'BACKUP_NOT_FOUND');
        assert.ok(err.message.includes(missing));
        assert.equal(err.details?.file, missing);
      }
    });

    it('a `.partial` file left by a failed write is not the backup, fails verification, and a new write replaces it', async () => {
      const file = join(dir, 'interrupted.llmbackup');
      const whole = join(dir, 'whole.llmbackup');
      await writeBackupFile(whole, headerInput(), fromArray(smallRecords()), { compression: 'gzip', chunkBytes: 128 });
      const bytes = await readFile(whole);
      await writeFile(`${file}.partial`, bytes.subarray(0, Math.floor(bytes.length / 2)));
      await rejection(verifyBackupFile(file), 'BACKUP_NOT_FOUND');
      const err = await rejection(verifyBackupFile(`${file}.partial`), 'BACKUP_CORRUPT');
      assert.equal(err.details?.region, 'truncated');
      await writeBackupFile(file, headerInput(), fromArray(smallRecords()), { compression: 'gzip' });
      assert.equal((await verifyBackupFile(file)).trailer.records, smallRecords().length);
      assert.equal(existsSync(`${file}.partial`), false);
    });

    it('a file that is not a backup fails as a damaged header', async () => {
      const file = join(dir, 'not-a-backup.txt');
      await writeFile(file, 'hello\nworld\n');
      const err = await rejection(verifyBackupFile(file), 'BACKUP_CORRUPT');
      assert.equal(err.details?.region, 'header');
      await rejection(readBackupHeader(file), 'BACKUP_CORRUPT');
    });
  });
});
