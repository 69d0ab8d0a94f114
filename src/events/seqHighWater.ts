import { LlmStateError } from '../errors.js';
import { decodeRecord, encodeRecord } from '../storage/recordEnvelope.js';
import type { BatchOp, ReadOptions, StorageBackend } from '../storage/index.js';

/**
 * The highest commit sequence that event retention has removed from the log, kept in `meta`. The
 * newest commit record names the last sequence only while the log holds one: once retention has
 * emptied it, this mark is what keeps a reopened store from handing out a sequence (and so an event
 * id, an outbox key, a hook dead letter's key) that was used before.
 */
export const SEQ_HIGH_WATER_KEY = Buffer.from('seqHighWater', 'utf8');

/** The batch op that records `seq` as the highest sequence removed, written with the removal. */
export function seqHighWaterOp(seq: number, now: number): BatchOp {
  return { type: 'put', sublevel: 'meta', key: SEQ_HIGH_WATER_KEY, value: encodeRecord({ seq, timestamp: now }, JSON.stringify({ seq })) };
}

/**
 * The highest commit sequence ever removed from the event log, or 0 when nothing was.
 *
 * @throws {DATA_CORRUPT} when the mark fails its checksum or does not hold a sequence.
 */
export async function readSeqHighWater(storage: StorageBackend, options: ReadOptions = {}): Promise<number> {
  const raw = await storage.get('meta', SEQ_HIGH_WATER_KEY, options);
  if (raw === undefined) return 0;
  const where = { record: 'commit sequence high-water mark (meta seqHighWater)' };
  const { seq, payload } = decodeRecord(raw, where);
  let found: unknown;
  try {
    found = JSON.parse(payload.toString('utf8'));
  } catch (error) {
    throw damaged(storage, 'its payload is not JSON', error);
  }
  const value = (found as { seq?: unknown } | null)?.seq;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw damaged(storage, `its payload holds no sequence (${JSON.stringify(found)?.slice(0, 80)})`);
  }
  if (value !== seq) throw damaged(storage, `its payload names sequence ${value} but its header ${seq}`);
  return value;
}

function damaged(storage: StorageBackend, reason: string, cause?: unknown): LlmStateError {
  return new LlmStateError(
    'DATA_CORRUPT',
    `The commit sequence high-water mark (meta seqHighWater) of the store at ${storage.location} is corrupt: ${reason}. ` +
      'Restore the store from a backup',
    { cause, details: { location: storage.location, record: 'seqHighWater', reason } },
  );
}
