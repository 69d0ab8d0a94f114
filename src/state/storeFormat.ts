import { dirname } from 'node:path';
import { LlmStateError } from '../errors.js';
import { noStore, type StoreAccess } from '../storage/dataDirectory.js';
import { LevelBackend, SUBLEVELS, type StorageBackend } from '../storage/index.js';
import { decodeRecord, encodeRecord } from '../storage/recordEnvelope.js';
import { newStoreIdOp } from './storeIdentity.js';

/** Bumped when the stored layout changes in a way older code cannot read. */
export const STORE_FORMAT = 1;

const FORMAT_KEY = Buffer.from('format', 'utf8');

export interface StoreFormat {
  format: number;
  createdAt: number;
}

/**
 * Stamps a new store with the format version, or checks an existing one. A LevelDB that llmstate did not
 * write is refused before anything is written into it: one that holds keys but no format record, or keys
 * outside llmstate's sublevels. A LevelDB with no key at all is stamped (with `create`): that is a store
 * whose first open stopped before stamping it.
 *
 * @param access With `existing`, a store that was never stamped is not stamped now, but refused.
 * @throws {STORAGE_FAILED} when the store was written by a newer, incompatible format, is not an
 * llmstate store, or (with `existing`) holds nothing.
 * @throws {DATA_CORRUPT} when the format record itself is damaged.
 */
export async function ensureStoreFormat(storage: StorageBackend, now: number, access: StoreAccess = 'create'): Promise<StoreFormat> {
  const foreign = storage instanceof LevelBackend ? await storage.firstKeyOutsideSublevels() : undefined;
  if (foreign !== undefined) {
    throw notAnLlmStateStore(storage, `it holds keys outside llmstate's namespaces (the first is 0x${foreign.subarray(0, 32).toString('hex')})`);
  }
  const found = await readStoreFormat(storage);
  if (found === undefined && storage.shared && !stamping.has(storage)) {
    // Several processes may open a new shared store at once: one stamps it, the others read its stamp.
    stamping.add(storage);
    try {
      return await whileHoldingLease(storage, 'llmstate:store-format', () => ensureStoreFormat(storage, now, access));
    } finally {
      stamping.delete(storage);
    }
  }
  if (found === undefined) {
    if (await holdsAnyKey(storage)) throw notAnLlmStateStore(storage, 'it holds keys, but no llmstate format record');
    if (access === 'existing') throw storage.shared ? noSharedStore(storage.location) : noStore(dirname(storage.location));
    const created: StoreFormat = { format: STORE_FORMAT, createdAt: now };
    await storage.batch([{ type: 'put', sublevel: 'meta', key: FORMAT_KEY, value: encodeRecord({ seq: 0, timestamp: now }, JSON.stringify(created)) }, newStoreIdOp(now)]);
    return created;
  }
  if (found.format > STORE_FORMAT) {
    throw new LlmStateError(
      'STORAGE_FAILED',
      `The store at ${storage.location} has format ${found.format}, newer than this llmstate understands (${STORE_FORMAT}). Upgrade llmstate`,
      { details: { location: storage.location, format: found.format, supported: STORE_FORMAT } },
    );
  }
  return found;
}

const stamping = new WeakSet<StorageBackend>();

/** Runs `fn` while holding the lease on `resource`, waiting for another process's turn to end first. */
async function whileHoldingLease<T>(storage: StorageBackend, resource: string, fn: () => Promise<T>): Promise<T> {
  const owner = `open:${process.pid}:${Math.random().toString(36).slice(2)}`;
  for (;;) {
    const attempt = await storage.acquireLease(resource, owner, 30_000);
    if (attempt.acquired) {
      try {
        return await fn();
      } finally {
        await storage.releaseLeases([attempt.hold]);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * The store's format record, or undefined when it has none (a new store, or not an llmstate store).
 *
 * @throws {DATA_CORRUPT} unless the record passes its checksum and holds a format and a creation time.
 */
export async function readStoreFormat(storage: StorageBackend): Promise<StoreFormat | undefined> {
  const raw = await storage.get('meta', FORMAT_KEY);
  return raw === undefined ? undefined : decodeFormat(storage, raw);
}

function decodeFormat(storage: StorageBackend, raw: Buffer): StoreFormat {
  const { payload } = decodeRecord(raw, { record: 'store format', location: storage.location });
  const text = payload.toString('utf8');
  let found: unknown;
  try {
    found = JSON.parse(text);
  } catch (error) {
    throw damagedFormat(storage, 'its payload is not JSON', text, error);
  }
  const { format, createdAt } = (typeof found === 'object' && found !== null && !Array.isArray(found) ? found : {}) as Partial<Record<keyof StoreFormat, unknown>>;
  if (!isCount(format) || format < 1) throw damagedFormat(storage, 'it holds no format version (a positive integer)', text);
  if (!isCount(createdAt)) throw damagedFormat(storage, 'it holds no creation time', text);
  return { format, createdAt };
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

async function holdsAnyKey(storage: StorageBackend): Promise<boolean> {
  for (const sublevel of SUBLEVELS) {
    for await (const _ of storage.iterate(sublevel, { limit: 1 })) return true;
  }
  return false;
}

function damagedFormat(storage: StorageBackend, reason: string, payload: string, cause?: unknown): LlmStateError {
  return new LlmStateError(
    'DATA_CORRUPT',
    `The format record of the store at ${storage.location} is corrupt: ${reason}. Restore the store from a backup`,
    { cause, details: { location: storage.location, record: 'store format', reason, payload: payload.slice(0, 80) } },
  );
}

function notAnLlmStateStore(storage: StorageBackend, why: string): LlmStateError {
  return new LlmStateError(
    'STORAGE_FAILED',
    `The LevelDB at ${storage.location} is not an llmstate store: ${why}. It was left untouched; give llmstate a directory of its own`,
    { details: { location: storage.location, reason: 'not_llmstate' } },
  );
}

/**
 * {@link noStore} for a shared store, whose location is a database and schema rather than a directory.
 * @throws {STORAGE_FAILED}
 */
function noSharedStore(location: string): LlmStateError {
  return new LlmStateError(
    'STORAGE_FAILED',
    `There is no llmstate store in ${location}. Check the connection string and the schema (--postgres, --pg-schema), or write a value first (llmstate set)`,
    { details: { location, reason: 'no_store' } },
  );
}
