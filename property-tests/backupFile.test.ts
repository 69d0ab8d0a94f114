import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { readBackupRecords, verifyBackupFile, writeBackupFile, type BackupRecord, type Compression } from '../src/backup/file/index.js';
import { runs } from './budget.js';

const SUBLEVELS = ['state', 'events', 'outbox', 'constructor', '__proto__', '1', ''];

/** Bytes of every length around the varint and chunk boundaries, often empty, sometimes large. */
const bytesArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) },
  { weight: 6, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 70_000 }).map((length) => Buffer.alloc(length, length % 251)) },
);

const recordArb: fc.Arbitrary<BackupRecord> = fc.oneof(
  fc.record({ op: fc.constant('put' as const), sublevel: fc.constantFrom(...SUBLEVELS), key: bytesArb, value: bytesArb }),
  fc.record({ op: fc.constant('del' as const), sublevel: fc.constantFrom(...SUBLEVELS), key: bytesArb }),
  fc.record({ op: fc.constant('clear' as const), sublevel: fc.constantFrom(...SUBLEVELS), gte: bytesArb, lt: bytesArb }, { requiredKeys: ['op', 'sublevel'] }),
);

const KEYS: { label: string; key: Buffer | string | undefined }[] = [
  { label: 'plain', key: undefined },
  { label: 'a 32-byte key', key: Buffer.alloc(32, 3) },
  { label: 'a passphrase', key: 'property passphrase' },
];

async function* fromArray(records: BackupRecord[]): AsyncGenerator<BackupRecord> {
  for (const record of records) yield record;
}

describe('backup file properties', function () {
  this.timeout(600_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'backup-file-prop-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const compression of ['brotli', 'gzip', 'none'] as const satisfies readonly Compression[]) {
    for (const { label, key } of KEYS) {
      it(`any list of records reads back exactly as written, ${compression}, ${label}`, async () => {
        await fc.assert(
          fc.asyncProperty(fc.array(recordArb, { maxLength: 40 }), fc.integer({ min: 16, max: 4096 }), async (records, chunkBytes) => {
            const file = join(dir, `${compression}-${label.replace(/\W+/g, '-')}.llmbackup`);
            const header = { id: 'prop', parentId: null, fromSeq: 0, seq: 1, createdAt: 0, kind: 'full' as const, reason: 'manual', sublevels: SUBLEVELS, meta: {} };
            const written = await writeBackupFile(file, header, fromArray(records), { compression, key, chunkBytes });
            const read: BackupRecord[] = [];
            for await (const record of readBackupRecords(file, { key })) read.push(record);
            assert.deepEqual(read, records.map((record) => ({ ...record })));
            const { trailer } = await verifyBackupFile(file, { key });
            assert.equal(trailer.records, records.length);
            assert.deepEqual(trailer.counts, written.counts);
          }),
          { numRuns: runs(typeof key === 'string' ? 8 : 40) },
        );
      });
    }
  }
});
