import { LlmStateError } from './errors.js';
import { readLastSeq } from './events/eventLog.js';
import { SCOPE_KINDS, type ScopeKind } from './state/Scope.js';
import { decodeStateKey } from './state/keyCodec.js';
import { readStoreFormat } from './state/storeFormat.js';
import { directorySize } from './storage/directorySize.js';
import type { StorageBackend } from './storage/index.js';

/** What {@link Runtime.stats} counts for one scope kind, or for all of them. */
export interface KindStats {
  /** Distinct scopes that hold at least one key. */
  scopes: number;
  keys: number;
  /** Stored bytes of the values' records (envelope included). */
  valueBytes: number;
}

/** What `rt.stats()` returns, and `llmstate stats` prints. */
export interface StoreStats {
  /** The version of the stored layout, written when the store was created. */
  storeFormat: number;
  /** When the store was created, in ms since the epoch. */
  createdAt: number;
  /** The sequence of the newest commit; retention never lowers it. */
  lastCommitSeq: number;
  /** Scopes, keys and value bytes per scope kind. */
  kinds: Record<ScopeKind, KindStats>;
  /** The same, over every kind. */
  total: KindStats;
  /** State keys that do not decode as (scope, key); a sound store has none. */
  unrecognisedKeys: number;
  /** Commit records in the event log, one per committed batch. */
  eventLogRecords: number;
  /** Bytes of every file under the data directory; 0 for an in-memory store. */
  sizeOnDisk: number;
}

/**
 * Counts what a store holds. The counts of keys and log records come from one snapshot of the store.
 *
 * @param dataDir The data directory to measure, or undefined for a store in memory or in a database.
 * @throws {DATA_CORRUPT} when the format record is damaged or missing.
 */
export async function readStoreStats(storage: StorageBackend, dataDir: string | undefined): Promise<StoreStats> {
  const format = await readStoreFormat(storage);
  if (format === undefined) {
    throw new LlmStateError('DATA_CORRUPT', `The store at ${storage.location} has lost its format record`, {
      details: { location: storage.location, record: 'store format', reason: 'missing' },
    });
  }
  const kinds = Object.fromEntries(SCOPE_KINDS.map((kind) => [kind, emptyKindStats()])) as Record<ScopeKind, KindStats>;
  let unrecognisedKeys = 0;
  let eventLogRecords = 0;
  const snapshot = storage.snapshot();
  try {
    // Keys sort by scope first, so the keys of one scope are contiguous: a new scope starts where the text changes.
    let previousScope = '';
    for await (const [key, value] of storage.iterate('state', { snapshot })) {
      const decoded = decodeStateKey(key);
      if (decoded === undefined) {
        unrecognisedKeys++;
        continue;
      }
      const counts = kinds[decoded.scope.kind];
      const scopeText = decoded.scope.toString();
      if (scopeText !== previousScope) counts.scopes++;
      previousScope = scopeText;
      counts.keys++;
      counts.valueBytes += value.length;
    }
    for await (const _ of storage.iterate('events', { snapshot })) eventLogRecords++;
  } finally {
    await snapshot.close();
  }

  const total = emptyKindStats();
  for (const counts of Object.values(kinds)) {
    total.scopes += counts.scopes;
    total.keys += counts.keys;
    total.valueBytes += counts.valueBytes;
  }
  return {
    storeFormat: format.format,
    createdAt: format.createdAt,
    lastCommitSeq: await readLastSeq(storage),
    kinds,
    total,
    unrecognisedKeys,
    eventLogRecords,
    // A database measures itself; a store in memory has no size on disk.
    sizeOnDisk: dataDir === undefined ? ((await storage.approximateSize()) ?? 0) : await directorySize(dataDir),
  };
}

function emptyKindStats(): KindStats {
  return { scopes: 0, keys: 0, valueBytes: 0 };
}
