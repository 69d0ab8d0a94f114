import { isDeepStrictEqual } from 'node:util';
import type { CheckpointMetadata, CheckpointTuple } from '@langchain/langgraph-checkpoint';
import type { Scope } from '../index.js';
import { loadPayload } from './payloads.js';
import { RecordCursor } from './RecordCursor.js';
import { loadTuple, readWritesOfMany, type TupleReader } from './loadTuple.js';
import { newestFirst } from './newestFirst.js';
import { checkpointKey, checkpointRange, laterNamespaces } from './saverKeys.js';
import type { CheckpointRecord, WriteRecord } from './saverRecords.js';
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
  let page: Listed[] = [];
  for await (const { scope, record } of newestFirst(cursors)) {
    if (query.checkpointId !== undefined && record.id !== query.checkpointId) continue;
    let metadata: CheckpointMetadata | undefined;
    if (filter !== undefined) {
      metadata = (await loadPayload(reader.serde, record.metadata)) as CheckpointMetadata;
      const fields = metadata as Record<string, unknown>;
      if (!filter.every(([key, value]) => isDeepStrictEqual(fields[key], value))) continue;
    }
    page.push({ scope, record, metadata });
    if (page.length < Math.min(left, PAGE)) continue;
    left -= page.length;
    yield* loadPage(reader, page);
    if (left === 0) return;
    page = [];
  }
  yield* loadPage(reader, page);
}

/** Tuples are loaded a page at a time, so that the pending writes of a page take one read per namespace. */
const PAGE = 16;

interface Listed {
  readonly scope: Scope;
  readonly record: CheckpointRecord;
  readonly metadata: CheckpointMetadata | undefined;
}

async function* loadPage(reader: TupleReader, page: readonly Listed[]): AsyncGenerator<CheckpointTuple> {
  const groups = new Map<string, { scope: Scope; ns: string; ids: string[] }>();
  for (const { scope, record } of page) {
    const group = `${scope.toString()}\u0000${record.ns}`;
    const ids = groups.get(group)?.ids;
    if (ids === undefined) groups.set(group, { scope, ns: record.ns, ids: [record.id] });
    else ids.push(record.id);
  }
  const writes = new Map<string, Promise<Map<string, WriteRecord[]>>>();
  for (const [group, { scope, ns, ids }] of groups) if (ids.length > 1) writes.set(group, readWritesOfMany(reader, scope, ns, ids));
  const tuples = page.map(({ scope, record, metadata }) => {
    const read = writes.get(`${scope.toString()}\u0000${record.ns}`);
    return loadTuple(reader, scope, record, metadata, read?.then((byCheckpoint) => byCheckpoint.get(record.id)!));
  });
  // Loaded together, yielded in order; a rejection is raised where its tuple would have been.
  for (const tuple of tuples) tuple.catch(() => {});
  for (const tuple of tuples) yield await tuple;
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
