import {
  BaseStore,
  validateNamespace,
  type Item,
  type Operation,
  type OperationResults,
  type SearchItem,
} from '@langchain/langgraph-checkpoint';
import { describeOption } from '../../checkOptions.js';
import { toItem, toSearchItem, type ItemRecord } from './itemRecord.js';
import { listNamespaces } from './listNamespaces.js';
import { getRecord, searchRecords } from './readItems.js';
import { readOperations, type PutRequest, type StoreRequest } from './storeOperations.js';
import { resolveStoreOptions, type LlmStateStoreOptions, type ResolvedStoreOptions } from './storeOptions.js';
import type { Runtime, StateManager } from '../../index.js';
import { commitPuts, refreshRecords, sweepExpired } from './writeItems.js';

/** Options of {@link LlmStateStore.get}. */
export interface StoreGetOptions {
  /** Restart the item's time to live. @default the store's `ttl.refreshOnRead` */
  refreshTtl?: boolean;
}

/** Options of {@link LlmStateStore.search}. */
export interface StoreSearchOptions {
  /** Top-level fields the values must hold: a value, or operators (`$eq`, `$ne`, `$gt`, `$gte`, `$lt`, `$lte`, `$in`, `$nin`). */
  filter?: Record<string, unknown>;
  /** @default 10 */
  limit?: number;
  /** @default 0 */
  offset?: number;
  /** Refused: vector search is not supported. */
  query?: string;
  /** Restart the time to live of the items returned. @default the store's `ttl.refreshOnRead` */
  refreshTtl?: boolean;
}

/** Options of {@link LlmStateStore.put}. */
export interface StorePutOptions {
  /** Minutes until the item expires; null: never. @default the store's `ttl.defaultTtl` */
  ttl?: number | null;
}

/**
 * LangGraph's long-term memory store on llmstate. Each namespace is one custom scope
 * (`custom:langgraph:store:<labels>`, see scopeNames.ts), so grants, backups and the timeline apply per
 * namespace, and each item is one key of it. A batch's reads see the store as it was before the batch;
 * its writes then commit one unit per namespace.
 *
 * Through a view (`rt.as(principal)`), reads need `read` on the namespace, writes `read` and `write`,
 * and `search` and `listNamespaces` visit only the namespaces the principal may `list`.
 *
 * Not supported: vector search (the `index` option and a search `query` are refused with a TypeError).
 *
 * @example
 * const store = new LlmStateStore(rt, { ttl: { defaultTtl: 60 * 24 } });
 * await store.put(['users', 'u1'], 'prefs', { theme: 'dark' });
 * const graph = builder.compile({ checkpointer, store });
 */
export class LlmStateStore extends BaseStore {
  readonly #rt: Runtime;
  readonly #options: ResolvedStoreOptions;

  /**
   * @param rt A runtime, or a view of one (`rt.as(principal)`) to confine the store to what it may touch.
   * @throws {TypeError} for a bad option, or `index` (vector search is not supported).
   */
  constructor(rt: Runtime, options?: LlmStateStoreOptions) {
    super();
    if (typeof (rt as Partial<Runtime> | null | undefined)?.state?.commitUnit !== 'function') {
      throw new TypeError(`Expected \`rt\` to be a Runtime or a view of one (rt.as(…)), got ${describeOption(rt)}`);
    }
    this.#rt = rt;
    this.#options = resolveStoreOptions(options);
  }

  /**
   * Runs gets, puts (value null deletes), searches and namespace listings. Every operation is checked
   * before any runs; reads see the store as it was before this batch's writes, and when one item is put
   * twice the last put wins, as in LangGraph's `InMemoryStore`.
   *
   * A put operation may carry `ttl` (minutes, null for none); get and search operations `refreshTtl`.
   *
   * @throws {InvalidNamespaceError} @throws {TypeError} a bad operation, or a search with `query`.
   * @throws {ACCESS_DENIED} through a view. @throws {VALUE_INVALID} a value that is not JSON data.
   */
  async batch<Op extends Operation[]>(operations: Op): Promise<OperationResults<Op>> {
    const requests = readOperations(operations);
    const now = this.#options.clock.now();
    const read = await Promise.all(requests.map((request) => this.#read(request, now)));
    const toRefresh = read.flatMap((result, i) => (this.#refreshes(requests[i]!) ? result.records : []));
    if (toRefresh.length > 0) await refreshRecords(this.#state, toRefresh, now);
    const puts = requests.filter((request): request is PutRequest => request.kind === 'put');
    if (puts.length > 0) await commitPuts(this.#state, puts, this.#options.defaultTtl, now);
    return read.map((result) => result.value) as OperationResults<Op>;
  }

  /**
   * The item, or null when there is none or it expired.
   * @example const prefs = await store.get(['users', 'u1'], 'prefs')
   */
  override async get(namespace: string[], key: string, options: StoreGetOptions = {}): Promise<Item | null> {
    validateNamespace(namespace, { allowEmpty: true, allowReservedRoot: true });
    const [item] = await this.batch([{ namespace, key, ...refreshOption(options.refreshTtl) }]);
    return item;
  }

  /**
   * Items under a namespace prefix that pass `filter`, sorted by namespace then key, one page of them.
   * @throws {TypeError} with `query`: vector search is not supported.
   * @example await store.search(['users'], { filter: { score: { $gte: 3 } }, limit: 5 })
   */
  override async search(namespacePrefix: string[], options: StoreSearchOptions = {}): Promise<SearchItem[]> {
    validateNamespace(namespacePrefix, { allowEmpty: true, allowReservedRoot: true });
    const { filter, limit = 10, offset = 0, query, refreshTtl } = options;
    const [items] = await this.batch([{ namespacePrefix, filter, limit, offset, query, ...refreshOption(refreshTtl) }]);
    return items;
  }

  /**
   * Stores an item, replacing any with its key (which keeps its creation time). `index` is accepted
   * and ignored, as by a LangGraph store without vector search.
   * @example await store.put(['users', 'u1'], 'session', { step: 2 }, undefined, { ttl: 30 })
   */
  override async put(
    namespace: string[],
    key: string,
    value: Record<string, unknown>,
    index?: false | string[],
    options: StorePutOptions = {},
  ): Promise<void> {
    validateNamespace(namespace);
    await this.batch([{ namespace, key, value, index, ...(options.ttl === undefined ? {} : { ttl: options.ttl }) }]);
  }

  /**
   * Removes every expired item, each namespace's in one atomic step, and resolves with how many.
   * Expired items are invisible to every read already; this frees their space. Call it on a schedule.
   */
  sweepExpired(): Promise<number> {
    return sweepExpired(this.#state, this.#options.clock.now());
  }

  async #read(request: StoreRequest, now: number): Promise<{ value: unknown; records: ItemRecord[] }> {
    switch (request.kind) {
      case 'get': {
        const record = await getRecord(this.#state, request, now);
        return { value: record === undefined ? null : toItem(record), records: record === undefined ? [] : [record] };
      }
      case 'search': {
        const records = await searchRecords(this.#state, request, now);
        return { value: records.map(toSearchItem), records };
      }
      case 'list':
        return { value: await listNamespaces(this.#state, request, now), records: [] };
      case 'put':
        return { value: null, records: [] };
    }
  }

  /** Read on every call: a restore from a backup gives the runtime new namespaces. */
  get #state(): StateManager {
    return this.#rt.state;
  }

  #refreshes(request: StoreRequest): boolean {
    return (request.kind === 'get' || request.kind === 'search') && (request.refreshTtl ?? this.#options.refreshOnRead);
  }
}

function refreshOption(refreshTtl: boolean | undefined): { refreshTtl?: boolean } {
  return refreshTtl === undefined ? {} : { refreshTtl };
}
