import { validateNamespace, type MatchCondition, type Operation } from '@langchain/langgraph-checkpoint';
import { describeOption } from '../../checkOptions.js';

export interface GetRequest {
  readonly kind: 'get';
  readonly namespace: readonly string[];
  readonly key: string;
  readonly refreshTtl: boolean | undefined;
}

export interface SearchRequest {
  readonly kind: 'search';
  readonly namespacePrefix: readonly string[];
  readonly filter: Readonly<Record<string, unknown>> | undefined;
  readonly limit: number;
  readonly offset: number;
  readonly refreshTtl: boolean | undefined;
}

export interface PutRequest {
  readonly kind: 'put';
  readonly namespace: readonly string[];
  readonly key: string;
  /** null deletes the item. */
  readonly value: Record<string, unknown> | null;
  /** Minutes; null: never expires; undefined: the store's default. */
  readonly ttl: number | null | undefined;
}

export interface ListRequest {
  readonly kind: 'list';
  readonly matchConditions: readonly MatchCondition[];
  readonly maxDepth: number | undefined;
  readonly limit: number | undefined;
  readonly offset: number;
}

export type StoreRequest = GetRequest | SearchRequest | PutRequest | ListRequest;

/**
 * Reads each operation of a batch the way LangGraph's `InMemoryStore` tells them apart, and checks all
 * of them before any runs, so that a bad one leaves the store untouched. Namespaces are checked by
 * LangGraph's own rules; a `langgraph` root is let through here, as `InMemoryStore.batch` does (`put()`
 * refuses it before calling batch).
 *
 * @throws {InvalidNamespaceError} a namespace breaks LangGraph's rules.
 * @throws {TypeError} an operation of no known shape, a bad field, or a search with `query`.
 */
export function readOperations(operations: readonly Operation[]): StoreRequest[] {
  if (!Array.isArray(operations)) throw new TypeError(`Expected \`operations\` to be an array, got ${describeOption(operations)}`);
  return operations.map((operation, index) => readOperation(operation as unknown, `operations[${index}]`));
}

function readOperation(operation: unknown, at: string): StoreRequest {
  if (typeof operation !== 'object' || operation === null) throw new TypeError(`Expected \`${at}\` to be a store operation object, got ${describeOption(operation)}`);
  const op = operation as Record<string, unknown>;
  if ('namespace' in op) {
    if (!Array.isArray(op.namespace)) throw new TypeError(`Expected \`${at}.namespace\` to be an array of labels, got ${describeOption(op.namespace)}`);
    validateNamespace(op.namespace as string[], { allowReservedRoot: true });
    const key = op.key;
    if (typeof key !== 'string') throw new TypeError(`Expected \`${at}.key\` to be a string, got ${describeOption(key)}`);
    if (!('value' in op)) return { kind: 'get', namespace: op.namespace as string[], key, refreshTtl: optionalBoolean(op.refreshTtl, `${at}.refreshTtl`) };
    return { kind: 'put', namespace: op.namespace as string[], key, value: putValue(op.value, `${at}.value`), ttl: ttlOf(op.ttl, `${at}.ttl`) };
  }
  if ('namespacePrefix' in op) return readSearch(op, at);
  if ('matchConditions' in op) return readList(op, at);
  throw new TypeError(
    `Expected \`${at}\` to be a get, put, search or listNamespaces operation (with \`namespace\`, \`namespacePrefix\` or \`matchConditions\`), got ${describeOption(operation)}`,
  );
}

function readSearch(op: Record<string, unknown>, at: string): SearchRequest {
  if (op.query !== undefined) {
    throw new TypeError(
      `LlmStateStore does not support vector search, so it refuses a search with \`query\` (\`${at}.query\` is ${describeOption(op.query)}). ` +
        'Search with `filter` instead, or keep embeddings in a vector store of their own.',
    );
  }
  const prefix = op.namespacePrefix as string[];
  if (!Array.isArray(prefix)) throw new TypeError(`Expected \`${at}.namespacePrefix\` to be an array of labels, got ${describeOption(prefix)}`);
  if (prefix.length > 0) validateNamespace(prefix, { allowReservedRoot: true });
  const filter = op.filter;
  if (filter !== undefined && (typeof filter !== 'object' || filter === null || Array.isArray(filter))) {
    throw new TypeError(`Expected \`${at}.filter\` to be an object, got ${describeOption(filter)}`);
  }
  return {
    kind: 'search',
    namespacePrefix: prefix,
    filter: filter as Record<string, unknown> | undefined,
    limit: count(op.limit, `${at}.limit`) ?? 10,
    offset: count(op.offset, `${at}.offset`) ?? 0,
    refreshTtl: optionalBoolean(op.refreshTtl, `${at}.refreshTtl`),
  };
}

function readList(op: Record<string, unknown>, at: string): ListRequest {
  const conditions = op.matchConditions ?? [];
  if (!Array.isArray(conditions)) throw new TypeError(`Expected \`${at}.matchConditions\` to be an array, got ${describeOption(conditions)}`);
  conditions.forEach((condition: unknown, i) => {
    const { matchType, path } = (condition ?? {}) as Partial<MatchCondition>;
    if ((matchType !== 'prefix' && matchType !== 'suffix') || !Array.isArray(path) || !path.every((label) => typeof label === 'string')) {
      throw new TypeError(
        `Expected \`${at}.matchConditions[${i}]\` to be { matchType: 'prefix' | 'suffix', path: string[] }, got ${describeOption(condition)}`,
      );
    }
  });
  const maxDepth = op.maxDepth;
  if (maxDepth !== undefined && !(Number.isSafeInteger(maxDepth) && (maxDepth as number) > 0)) {
    throw new TypeError(`Expected \`${at}.maxDepth\` to be a positive integer, got ${describeOption(maxDepth)}`);
  }
  return {
    kind: 'list',
    matchConditions: conditions as MatchCondition[],
    maxDepth: maxDepth as number | undefined,
    limit: count(op.limit, `${at}.limit`),
    offset: count(op.offset, `${at}.offset`) ?? 0,
  };
}

function putValue(value: unknown, at: string): Record<string, unknown> | null {
  if (value === null || (typeof value === 'object' && !Array.isArray(value))) return value as Record<string, unknown> | null;
  throw new TypeError(`Expected \`${at}\` to be an object, or null to delete the item, got ${describeOption(value)}`);
}

function ttlOf(ttl: unknown, at: string): number | null | undefined {
  if (ttl === undefined || ttl === null || (typeof ttl === 'number' && Number.isFinite(ttl) && ttl > 0)) return ttl as number | null | undefined;
  throw new TypeError(`Expected \`${at}\` to be a positive number of minutes, or null for no expiry, got ${describeOption(ttl)}`);
}

function count(value: unknown, at: string): number | undefined {
  if (value === undefined || (Number.isSafeInteger(value) && (value as number) >= 0)) return value as number | undefined;
  throw new TypeError(`Expected \`${at}\` to be a non-negative integer, got ${describeOption(value)}`);
}

function optionalBoolean(value: unknown, at: string): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  throw new TypeError(`Expected \`${at}\` to be a boolean, got ${describeOption(value)}`);
}
