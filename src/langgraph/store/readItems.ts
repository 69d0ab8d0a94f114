import { isDeepStrictEqual } from 'node:util';
import { namespaceScope } from '../scopeNames.js';
import { isExpired, itemKey, type ItemRecord } from './itemRecord.js';
import { matchesFilter } from './matchesFilter.js';
import { namespaceScopesUnder, readItems, startsWithLabels } from './namespaceScopes.js';
import type { GetRequest, SearchRequest } from './storeOperations.js';
import type { StateManager } from '../../index.js';

/** The live record of one item, or undefined (absent or expired). */
export async function getRecord(state: StateManager, request: GetRequest, now: number): Promise<ItemRecord | undefined> {
  const record = (await state.get(namespaceScope(request.namespace), itemKey(request.key))) as ItemRecord | undefined;
  // A hashed key or namespace names its item only if the record says so too.
  if (record === undefined || record.key !== request.key || !isDeepStrictEqual(record.namespace, request.namespace)) return undefined;
  return isExpired(record, now) ? undefined : record;
}

/**
 * The live records under a namespace prefix that pass the filter, sorted by namespace then key (see
 * {@link compareRecords}), one page of them. Every item under the prefix is read: there is no index on values.
 */
export async function searchRecords(state: StateManager, request: SearchRequest, now: number): Promise<ItemRecord[]> {
  const prefix = request.namespacePrefix;
  const found: ItemRecord[] = [];
  for await (const { scope, namespace } of namespaceScopesUnder(state, prefix)) {
    if (namespace !== undefined && !startsWithLabels(namespace, prefix)) continue;
    for (const record of await readItems(state, scope)) {
      if (isExpired(record, now) || !startsWithLabels(record.namespace, prefix)) continue;
      if (request.filter === undefined || matchesFilter(record.value, request.filter)) found.push(record);
    }
  }
  found.sort(compareRecords);
  return found.slice(request.offset, request.offset + request.limit);
}

/**
 * The order of search results: by namespace as `listNamespaces` sorts them, then by key. LangGraph's
 * stores differ here (insertion order in memory, newest first in SQL); a fixed order keeps pages stable.
 */
export function compareRecords(a: ItemRecord, b: ItemRecord): number {
  return compareNamespaces(a.namespace, b.namespace) || compareText(a.key, b.key);
}

/** `InMemoryStore.listNamespaces`'s order (locale order of the `:`-joined labels), then code units to break ties. */
export function compareNamespaces(a: readonly string[], b: readonly string[]): number {
  return compareText(a.join(':'), b.join(':'));
}

function compareText(a: string, b: string): number {
  return a.localeCompare(b) || (a < b ? -1 : a > b ? 1 : 0);
}
