import { LlmStateError } from '../errors.js';
import { decodeCommitRecord, decodeSeqKey, indexKeysOf } from '../events/eventLog.js';
import { SUBLEVELS, type BatchOp, type RangeOptions, type StorageBackend, type SublevelName } from '../storage/index.js';
import type { BackupRecord } from './file/index.js';

const BATCH_OPS = 2048;
const BATCH_BYTES = 4 << 20;

/**
 * Writes backup records into `target`, in order, in batches, so that memory stays flat whatever the
 * backup's size. A range tombstone first commits what came before it, then deletes what the range holds
 * in `target`; on the event log it also deletes the index entries of the records it removes.
 *
 * `target` is a staging store: a failure part way leaves it half-written, and the caller discards it.
 *
 * @param options.keep When given, only the records it accepts are applied (a partial restore).
 * @returns how many records were read.
 * @throws {BACKUP_CORRUPT} for a record of a namespace this version does not know.
 */
export async function applyBackupRecords(
  target: StorageBackend,
  records: AsyncIterable<BackupRecord>,
  options: { file: string; keep?: (record: BackupRecord) => boolean },
): Promise<number> {
  const batch = new PendingBatch(target);
  let read = 0;
  for await (const record of records) {
    read++;
    const sublevel = knownSublevel(record.sublevel, options.file);
    if (options.keep !== undefined && !options.keep(record)) continue;
    if (record.op === 'put') await batch.add({ type: 'put', sublevel, key: record.key, value: record.value });
    else if (record.op === 'del') await batch.add({ type: 'del', sublevel, key: record.key });
    else {
      await batch.flush();
      await clearRange(target, sublevel, record);
    }
  }
  await batch.flush();
  return read;
}

/** Deletes every entry of `sublevel` in the range; for the event log, with the entries that index them. */
export async function clearRange(target: StorageBackend, sublevel: SublevelName, range: { gte?: Buffer; lt?: Buffer }): Promise<void> {
  const batch = new PendingBatch(target);
  const bounds: RangeOptions = {};
  if (range.gte !== undefined) bounds.gte = range.gte;
  if (range.lt !== undefined) bounds.lt = range.lt;
  for await (const [key, value] of target.iterate(sublevel, bounds)) {
    await batch.add({ type: 'del', sublevel, key });
    if (sublevel === 'events') {
      const seq = decodeSeqKey(key);
      for (const entry of indexKeysOf(seq, decodeCommitRecord(value, seq))) await batch.add({ type: 'del', ...entry });
    }
  }
  await batch.flush();
}

/** Ops gathered into batches of a bounded size. */
export class PendingBatch {
  #ops: BatchOp[] = [];
  #bytes = 0;
  readonly #target: StorageBackend;

  constructor(target: StorageBackend) {
    this.#target = target;
  }

  async add(op: BatchOp): Promise<void> {
    this.#ops.push(op);
    this.#bytes += op.key.length + (op.type === 'put' ? op.value.length : 0);
    if (this.#ops.length >= BATCH_OPS || this.#bytes >= BATCH_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#ops.length === 0) return;
    const ops = this.#ops;
    this.#ops = [];
    this.#bytes = 0;
    await this.#target.batch(ops);
  }
}

function knownSublevel(name: string, file: string): SublevelName {
  if ((SUBLEVELS as readonly string[]).includes(name)) return name as SublevelName;
  throw new LlmStateError(
    'BACKUP_CORRUPT',
    `The backup ${file} holds records of a namespace this version of llmstate does not know (${JSON.stringify(name)}): it was made by a newer version, or it is damaged`,
    { details: { file, sublevel: name, region: 'body' } },
  );
}
