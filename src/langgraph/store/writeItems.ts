import { isLlmStateError, LlmStateError, type Scope, type StateManager } from '../../index.js';
import { namespaceScope } from '../scopeNames.js';
import { isExpired, ITEM_PREFIX, itemKey, itemRecord, refreshed, type ItemRecord } from './itemRecord.js';
import { namespaceScopesUnder } from './namespaceScopes.js';
import type { PutRequest } from './storeOperations.js';

/**
 * Applies a batch's puts and deletes: the last one given for an item wins, and each namespace's changes
 * commit as one unit in its scope's actor, so a namespace never shows half of a batch. Different
 * namespaces commit independently.
 */
export async function commitPuts(state: StateManager, puts: readonly PutRequest[], defaultTtl: number | undefined, now: number): Promise<void> {
  const byScope = new Map<string, { scope: Scope; puts: Map<string, PutRequest> }>();
  for (const put of puts) {
    const scope = namespaceScope(put.namespace);
    const group = byScope.get(scope.toString()) ?? { scope, puts: new Map<string, PutRequest>() };
    byScope.set(scope.toString(), group);
    const key = itemKey(put.key);
    group.puts.delete(key);
    group.puts.set(key, put);
  }
  await settleAll(
    [...byScope.values()].map(({ scope, puts: latest }) =>
      state.commitUnit(scope, {
        reads: [...latest.keys()],
        build(current) {
          const writes: Array<{ key: string; value: unknown }> = [];
          for (const [key, put] of latest) {
            const previous = current.get(key) as ItemRecord | undefined;
            if (put.value === null) {
              if (previous !== undefined) writes.push({ key, value: undefined });
              continue;
            }
            const ttlMinutes = put.ttl === null ? undefined : (put.ttl ?? defaultTtl);
            writes.push({ key, value: itemRecord({ namespace: put.namespace, key: put.key, value: put.value, ttlMinutes }, previous, now) });
          }
          return { writes };
        },
      }),
    ),
  );
}

/**
 * Restarts the time to live of the items just read, one unit per namespace; items gone or expired since
 * are left alone. It writes, so a principal that may only read is refused, with a message that says how
 * to read without refreshing.
 */
export async function refreshRecords(state: StateManager, records: readonly ItemRecord[], now: number): Promise<void> {
  const byScope = new Map<string, { scope: Scope; keys: Set<string> }>();
  for (const record of records) {
    if (record.ttlMinutes === undefined) continue;
    const scope = namespaceScope(record.namespace);
    const group = byScope.get(scope.toString()) ?? { scope, keys: new Set<string>() };
    byScope.set(scope.toString(), group);
    group.keys.add(itemKey(record.key));
  }
  await settleAll(
    [...byScope.values()].map(({ scope, keys }) =>
      state.commitUnit(scope, {
        reads: [...keys],
        build(current) {
          const writes: Array<{ key: string; value: unknown }> = [];
          for (const key of keys) {
            const record = current.get(key) as ItemRecord | undefined;
            if (record !== undefined && !isExpired(record, now)) writes.push({ key, value: refreshed(record, now) });
          }
          return { writes };
        },
      }).catch((error: unknown) => {
        throw refreshRefused(error, scope);
      }),
    ),
  );
}

function refreshRefused(error: unknown, scope: Scope): unknown {
  if (!isLlmStateError(error, 'ACCESS_DENIED')) return error;
  return new LlmStateError(
    'ACCESS_DENIED',
    `A read of items with a time to live restarts it, which writes to ${scope.toString()}, and that was refused: ${error.message} ` +
      'To read without refreshing, pass `refreshTtl: false`, or make the store with `{ ttl: { refreshOnRead: false } }`.',
    { cause: error, details: error.details },
  );
}

/**
 * Removes every item expired at `now`: each namespace's in one unit, which checks again in the actor so
 * that an item put or refreshed meanwhile stays. Resolves with how many were removed.
 */
export async function sweepExpired(state: StateManager, now: number): Promise<number> {
  let removed = 0;
  for await (const { scope } of namespaceScopesUnder(state, [])) {
    const expired = (await state.entries(scope, { prefix: ITEM_PREFIX }))
      .filter(([, record]) => isExpired(record as ItemRecord, now))
      .map(([key]) => key);
    if (expired.length === 0) continue;
    removed +=
      (await state.commitUnit(scope, {
        reads: expired,
        build(current) {
          const gone = expired.filter((key) => current.get(key) !== undefined && isExpired(current.get(key) as ItemRecord, now));
          return { writes: gone.map((key) => ({ key, value: undefined })), result: gone.length };
        },
      })) ?? 0;
  }
  return removed;
}

/** Waits for every commit, then rejects with the first failure: none is left running or unobserved. */
async function settleAll(commits: ReadonlyArray<Promise<unknown>>): Promise<void> {
  const outcomes = await Promise.allSettled(commits);
  const failed = outcomes.find((outcome) => outcome.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}
