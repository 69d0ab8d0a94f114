import { LlmStateError } from '../errors.js';
import type { StorageBackend } from '../storage/index.js';
import { decodeRecord, encodeRecord } from './recordEnvelope.js';

/** Bumped when the stored layout changes in a way older code cannot read. */
export const STORE_FORMAT = 1;

const FORMAT_KEY = Buffer.from('format', 'utf8');

export interface StoreFormat {
  format: number;
  createdAt: number;
}

/**
 * Stamps a new store with the format version, or checks an existing one.
 *
 * @throws {STORAGE_FAILED} when the store was written by a newer, incompatible format.
 * @throws {DATA_CORRUPT} when the format record itself is damaged.
 */
export async function ensureStoreFormat(storage: StorageBackend, now: number): Promise<StoreFormat> {
  const raw = await storage.get('meta', FORMAT_KEY);
  if (raw === undefined) {
    const created: StoreFormat = { format: STORE_FORMAT, createdAt: now };
    await storage.batch([{ type: 'put', sublevel: 'meta', key: FORMAT_KEY, value: encodeRecord({ seq: 0, timestamp: now }, JSON.stringify(created)) }]);
    return created;
  }
  const found = JSON.parse(decodeRecord(raw, { record: 'store format' }).payload.toString('utf8')) as StoreFormat;
  if (found.format > STORE_FORMAT) {
    throw new LlmStateError(
      'STORAGE_FAILED',
      `The store at ${storage.location} has format ${found.format}, newer than this llmstate understands (${STORE_FORMAT}). Upgrade llmstate`,
      { details: { location: storage.location, format: found.format, supported: STORE_FORMAT } },
    );
  }
  return found;
}
