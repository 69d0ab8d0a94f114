import type { MatchCondition } from '@langchain/langgraph-checkpoint';
import { isExpired } from './itemRecord.js';
import { findItem, namespaceScopesUnder } from './namespaceScopes.js';
import { compareNamespaces } from './readItems.js';
import type { ListRequest } from './storeOperations.js';
import type { StateManager } from '../../index.js';

/**
 * The namespaces holding at least one live item that meet every condition, as LangGraph's
 * `InMemoryStore` lists them: cut to `maxDepth` labels (without repeats), sorted, then paged.
 */
export async function listNamespaces(state: StateManager, request: ListRequest, now: number): Promise<string[][]> {
  const { matchConditions } = request;
  const found: string[][] = [];
  for await (const { scope, namespace } of namespaceScopesUnder(state, leadingLabels(matchConditions))) {
    if (namespace !== undefined && !matchesAll(namespace, matchConditions)) continue;
    const live = await findItem(state, scope, (record) => !isExpired(record, now));
    if (live === undefined) continue;
    if (namespace === undefined && !matchesAll(live.namespace, matchConditions)) continue;
    found.push([...(namespace ?? live.namespace)]);
  }
  const cut = request.maxDepth === undefined ? found : distinct(found.map((labels) => labels.slice(0, request.maxDepth)));
  cut.sort(compareNamespaces);
  return cut.slice(request.offset, request.limit === undefined ? undefined : request.offset + request.limit);
}

/** The labels every listed namespace must start with: a prefix condition's, up to its first wildcard. */
function leadingLabels(conditions: readonly MatchCondition[]): string[] {
  const prefix = conditions.find((condition) => condition.matchType === 'prefix')?.path ?? [];
  const wildcard = prefix.indexOf('*');
  return wildcard === -1 ? [...prefix] : prefix.slice(0, wildcard);
}

function matchesAll(namespace: readonly string[], conditions: readonly MatchCondition[]): boolean {
  return conditions.every(({ matchType, path }) => {
    if (path.length > namespace.length) return false;
    const start = matchType === 'prefix' ? 0 : namespace.length - path.length;
    return path.every((label, i) => label === '*' || namespace[start + i] === label);
  });
}

function distinct(namespaces: string[][]): string[][] {
  const seen = new Map<string, string[]>();
  for (const labels of namespaces) if (!seen.has(JSON.stringify(labels))) seen.set(JSON.stringify(labels), labels);
  return [...seen.values()];
}
