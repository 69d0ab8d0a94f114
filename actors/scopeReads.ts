import { encodeStateKey, keyAfterPrefix, scopePrefix, scopeRange } from '../src/state/keyCodec.js';
import type { Scope } from '../src/state/Scope.js';
import { parseFrozen } from '../src/state/values.js';
import { decodeRecord } from '../src/storage/recordEnvelope.js';
import type { RangeOptions, StorageBackend } from '../src/storage/index.js';

/** Bounds of a read of a scope's entries, as keys of the scope. */
export interface EntriesRange {
  readonly prefix?: string;
  readonly gt?: string;
  readonly gte?: string;
  readonly lt?: string;
  readonly lte?: string;
  readonly reverse?: boolean;
  readonly limit?: number;
}

/** The committed keys of `scope` that start with `prefix`, in key order, straight from the store. */
export async function scanScopeKeys(storage: StorageBackend, scope: Scope, prefix: string): Promise<string[]> {
  const range = scopeRange(scope, prefix);
  const prefixLength = scopePrefix(scope).length;
  const keys: string[] = [];
  for await (const [stored] of storage.iterate('state', range)) keys.push(keyAfterPrefix(stored, prefixLength));
  return keys;
}

/** The committed [key, JSON] pairs of `scope` in `range`, straight from the store. */
export async function readScopeEntries(storage: StorageBackend, scope: Scope, range: EntriesRange): Promise<Array<[string, string]>> {
  const prefixLength = scopePrefix(scope).length;
  const bounds = scopeRange(scope, range.prefix ?? '');
  const options: RangeOptions = { gte: bounds.gte, lt: bounds.lt, reverse: range.reverse, limit: range.limit };
  if (range.gt !== undefined) narrowLower(options, encodeStateKey(scope, range.gt), false);
  if (range.gte !== undefined) narrowLower(options, encodeStateKey(scope, range.gte), true);
  if (range.lt !== undefined) narrowUpper(options, encodeStateKey(scope, range.lt), false);
  if (range.lte !== undefined) narrowUpper(options, encodeStateKey(scope, range.lte), true);
  const entries: Array<[string, string]> = [];
  for await (const [stored, raw] of storage.iterate('state', options)) {
    const key = keyAfterPrefix(stored, prefixLength);
    entries.push([key, decodeRecord(raw, { scope: scope.toString(), key }).payload.toString('utf8')]);
  }
  return entries;
}

/**
 * Reads of a scope that this process does not own, on a store several processes share: straight from the
 * store, with no cache, so a read made after another process acknowledged a write sees it.
 */
export class StoreReader {
  readonly #storage: StorageBackend;
  readonly #scope: Scope;

  constructor(storage: StorageBackend, scope: Scope) {
    this.#storage = storage;
    this.#scope = scope;
  }

  async get(key: string): Promise<unknown> {
    const raw = await this.#storage.get('state', encodeStateKey(this.#scope, key));
    if (raw === undefined) return undefined;
    return parseFrozen(decodeRecord(raw, { scope: this.#scope.toString(), key }).payload.toString('utf8'));
  }

  listKeys(prefix: string): Promise<string[]> {
    return scanScopeKeys(this.#storage, this.#scope, prefix);
  }

  entries(range: EntriesRange): Promise<Array<[string, string]>> {
    return readScopeEntries(this.#storage, this.#scope, range);
  }
}

/** Raises the lower bound of `options` to `bound` when that is higher (keys of one scope compare as bytes). */
function narrowLower(options: RangeOptions, bound: Buffer, inclusive: boolean): void {
  const current = options.gt ?? options.gte!;
  const order = Buffer.compare(bound, current);
  if (order < 0 || (order === 0 && (inclusive || options.gt !== undefined))) return;
  delete options.gt;
  delete options.gte;
  if (inclusive) options.gte = bound;
  else options.gt = bound;
}

function narrowUpper(options: RangeOptions, bound: Buffer, inclusive: boolean): void {
  const current = options.lt ?? options.lte!;
  const order = Buffer.compare(bound, current);
  if (order > 0 || (order === 0 && (inclusive || options.lt !== undefined))) return;
  delete options.lt;
  delete options.lte;
  if (inclusive) options.lte = bound;
  else options.lt = bound;
}
