import assert from 'node:assert/strict';
import type { BackupHeaderInput, BackupRecord, ReadBackupOptions } from '../../../src/backup/file/index.js';
import { readBackupRecords } from '../../../src/backup/file/index.js';
import { LlmStateError, type ErrorCode } from '../../../src/errors.js';
import { tempDir as sharedTempDir } from '../../helpers.js';

export const KEY = Buffer.alloc(32, 0x5a);
export const OTHER_KEY = Buffer.alloc(32, 0xa5);
export const PASSPHRASE = 'correct horse battery staple';

export function headerInput(overrides: Partial<BackupHeaderInput> = {}): BackupHeaderInput {
  return {
    id: 'bk-0001',
    parentId: null,
    fromSeq: 0,
    seq: 42,
    createdAt: Date.UTC(2026, 11, 1, 10),
    kind: 'full',
    reason: 'manual',
    sublevels: ['state', 'events', 'outbox'],
    meta: { storeFormat: 1, scopes: { agent: 2 } },
    ...overrides,
  };
}

/** A fresh directory for one suite, removed by `cleanup`. */
export function tempDir(): { dir: string; cleanup: () => void } {
  return sharedTempDir('backup-file-test');
}

export async function* fromArray(records: BackupRecord[]): AsyncGenerator<BackupRecord> {
  for (const record of records) yield record;
}

export async function readAll(file: string, options?: ReadBackupOptions): Promise<BackupRecord[]> {
  const records: BackupRecord[] = [];
  for await (const record of readBackupRecords(file, options)) records.push(record);
  return records;
}

/** Awaits `promise`, asserts it rejects with an LlmStateError of `code`, and returns the error. */
export async function rejection(promise: Promise<unknown>, code: ErrorCode, label = ''): Promise<LlmStateError> {
  let thrown: unknown;
  try {
    await promise;
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown !== undefined, `${label}: expected ${code}, but it succeeded`);
  assert.ok(thrown instanceof LlmStateError, `${label}: expected an LlmStateError ${code}, got ${String(thrown)}`);
  assert.equal(thrown.code, code, `${label}: ${thrown.message}`);
  return thrown;
}

/** Where each frame of a backup file starts and ends, read from its bytes as the format describes them. */
export function frameSpans(bytes: Buffer): { start: number; end: number }[] {
  let position = bytes.indexOf(0x0a, bytes.indexOf(0x0a) + 1) + 1;
  const spans: { start: number; end: number }[] = [];
  for (;;) {
    const length = bytes.readUInt32BE(position);
    const end = position + 4 + length + 4;
    spans.push({ start: position, end });
    position = end;
    if (bytes.subarray(position, position + 13).toString('latin1') === 'LLMSTATE-END ') return spans;
  }
}
