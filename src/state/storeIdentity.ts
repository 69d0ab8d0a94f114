import { customAlphabet } from 'nanoid';
import { decodeRecord, encodeRecord } from '../storage/recordEnvelope.js';
import type { BatchOp, ReadOptions, StorageBackend } from '../storage/index.js';

const STORE_ID_KEY = Buffer.from('storeId', 'utf8');
const newStoreId = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 16);

/**
 * Which store this is, and so which store a backup is of. Backups of several stores may share a directory (a data directory lost and
 * recreated, a directory shared on purpose); an increment must build on a backup of its own store, and
 * a point in time must start from one. The id lives in `meta`, so a restore carries it over: a store
 * restored from a backup continues that store's history.
 */
export async function readStoreId(storage: StorageBackend, options: ReadOptions = {}): Promise<string | undefined> {
  const raw = await storage.get('meta', STORE_ID_KEY, options);
  if (raw === undefined) return undefined;
  return JSON.parse(decodeRecord(raw, { record: 'store id (meta storeId)' }).payload.toString('utf8')) as string;
}

/** The record that gives a store a new id: written with its format record, or on its first backup when it was made before ids. */
export function newStoreIdOp(now: number): BatchOp {
  return { type: 'put', sublevel: 'meta', key: STORE_ID_KEY, value: encodeRecord({ seq: 0, timestamp: now }, JSON.stringify(newStoreId())) };
}

/** The store's id, giving it one when it has none. */
export async function ensureStoreId(storage: StorageBackend, now: number): Promise<string> {
  const found = await readStoreId(storage);
  if (found !== undefined) return found;
  await storage.batch([newStoreIdOp(now)]);
  return (await readStoreId(storage))!;
}
