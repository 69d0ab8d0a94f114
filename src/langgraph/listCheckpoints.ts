import { isDeepStrictEqual } from 'node:util';
import type { CheckpointMetadata, CheckpointTuple } from '@langchain/langgraph-checkpoint';
import type { Scope } from '../index.js';
import { loadPayload } from './payloads.js';
import { RecordCursor } from './RecordCursor.js';
import { loadTuple, type TupleReader } from './loadTuple.js';
import { newestFirst } from './newestFirst.js';
import { checkpointKey, checkpointRange, laterNamespaces } from './saverKeys.js';
import { THREAD_PREFIX, threadScope } from './scopeNames.js';

/** A `list` call, checked. */
export interface ListQuery {
  /** One thread, or every thread the runtime (or the view's principal) may list. */
  readonly threadId?: string;
  /** One namespace, or every namespace. */
  readonly ns?: string;
  /** Only this checkpoint. */
  readonly checkpointId?: string;
  /** Only checkpoints older than this one. */
  readonly before?: string;
  readonly filter?: Readonly<Record<string, unknown>>;
  readonly limit?: number;
}

const SCOPES_PAGE = 256;

/**
 * Checkpoints newest first, across the namespaces and threads the query leaves open. Thread scopes are
 * found through the runtime's scope index and namespaces by skipping from one to the next, so nothing is
 * scanned record by record; each namespace is then read lazily from its newest checkpoint back.
 */
export async function* listCheckpoints(reader: TupleReader, query: ListQuery): AsyncGenerator<CheckpointTuple> {
  let left = query.limit ?? Infinity;
  if (left <= 0) return;
  const filter = query.filter !== undefined && Object.keys(query.filter).length > 0 ? Object.entries(query.filter) : undefined;
  const firstPage = filter === undefined && query.checkpointId === undefined ? left : 16;
  const scopes = query.threadId === undefined ? await threadScopes(reader) : [threadScope(query.threadId)];
  const cursors: RecordCursor[] = [];
  for (const scope of scopes) {
    const namespaces = query.ns === undefined ? await namespacesOf(reader, scope) : [query.ns];
    const page = scopes.length === 1 && namespaces.length === 1 ? firstPage : Math.min(firstPage, 4);
    for (const ns of namespaces) cursors.push(new RecordCursor(reader.state, scope, rangeOf(ns, query.before), page));
  }
  for await (const { scope, record } of newestFirst(cursors)) {
    if (query.checkpointId !== undefined && record.id !== query.checkpointId) continue;
    let metadata: CheckpointMetadata | undefined;
    if (filter !== undefined) {
      metadata = (await loadPayload(reader.serde, record.metadata)) as CheckpointMetadata;
      const fields = metadata as Record<string, unknown>;
      if (!filter.every(([key, value]) => isDeepStrictEqual(fields[key], value))) continue;
    }
    yield await loadTuple(reader, scope, record, metadata);
    if (--left === 0) return;
  }
}

function rangeOf(ns: string, before: string | undefined): { gte: string; lt: string } {
  const range = checkpointRange(ns);
  return before === undefined ? range : { gte: range.gte, lt: checkpointKey(ns, before) };
}

async function threadScopes(reader: TupleReader): Promise<Scope[]> {
  const scopes: Scope[] = [];
  for (;;) {
    const page = await reader.state.scopes({ kind: 'custom', prefix: THREAD_PREFIX, after: scopes.at(-1), limit: SCOPES_PAGE });
    scopes.push(...page);
    if (page.length < SCOPES_PAGE) return scopes;
  }
}

/** The namespaces a thread holds checkpoints in, one seek each. */
async function namespacesOf(reader: TupleReader, scope: Scope): Promise<string[]> {
  const namespaces: string[] = [];
  let range = checkpointRange();
  for (;;) {
    const [first] = await reader.state.entries(scope, { ...range, limit: 1 });
    if (first === undefined) return namespaces;
    namespaces.push((first[1] as { ns: string }).ns);
    range = laterNamespaces(first[0]);
  }
}
