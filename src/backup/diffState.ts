import { decodeStateKey } from '../state/keyCodec.js';
import { decodeRecord } from '../storage/recordEnvelope.js';
import type { Entry, StorageBackend, StorageSnapshot } from '../storage/index.js';

/** What a restore would change in one scope. */
export interface ScopeChanges {
  scope: string;
  added: number;
  changed: number;
  removed: number;
  /** Up to {@link SAMPLES} keys of each. */
  samples: { added: string[]; changed: string[]; removed: string[] };
}

export const SAMPLES = 5;

/** One key whose value differs: `restored` undefined means the restore deletes it. */
export interface StateDifference {
  key: Buffer;
  current: Buffer | undefined;
  restored: Buffer | undefined;
}

export type KeyRange = { gte?: Buffer; lt?: Buffer };

/**
 * The state keys whose values differ between the current store and a restored one, in key order, read
 * as two sorted streams side by side (memory stays flat). Values are compared by their payload and
 * schema, not their envelope: a value restored unchanged is not a change.
 */
export async function* stateDifferences(
  current: { storage: StorageBackend; snapshot?: StorageSnapshot },
  restored: { storage: StorageBackend },
  ranges: readonly KeyRange[] = [{}],
): AsyncGenerator<StateDifference> {
  for (const range of ranges) {
    const left = current.storage.iterate('state', { ...range, ...(current.snapshot === undefined ? {} : { snapshot: current.snapshot }) })[Symbol.asyncIterator]();
    const right = restored.storage.iterate('state', { ...range })[Symbol.asyncIterator]();
    let a = await next(left);
    let b = await next(right);
    while (a !== undefined || b !== undefined) {
      const order = a === undefined ? 1 : b === undefined ? -1 : Buffer.compare(a[0], b[0]);
      if (order < 0) {
        yield { key: a![0], current: a![1], restored: undefined };
        a = await next(left);
      } else if (order > 0) {
        yield { key: b![0], current: undefined, restored: b![1] };
        b = await next(right);
      } else {
        if (!sameValue(a![1], b![1])) yield { key: a![0], current: a![1], restored: b![1] };
        a = await next(left);
        b = await next(right);
      }
    }
  }
}

/** Counts and samples per scope, for a dry run. */
export async function summarizeDifferences(differences: AsyncIterable<StateDifference>): Promise<ScopeChanges[]> {
  const byScope = new Map<string, ScopeChanges>();
  for await (const difference of differences) {
    const decoded = decodeStateKey(difference.key);
    const scope = decoded?.scope.toString() ?? '(undecodable key)';
    const key = decoded?.key ?? difference.key.toString('hex');
    let changes = byScope.get(scope);
    if (changes === undefined) byScope.set(scope, (changes = { scope, added: 0, changed: 0, removed: 0, samples: { added: [], changed: [], removed: [] } }));
    const what = difference.current === undefined ? 'added' : difference.restored === undefined ? 'removed' : 'changed';
    changes[what]++;
    if (changes.samples[what].length < SAMPLES) changes.samples[what].push(key);
  }
  return [...byScope.values()];
}

async function next(iterator: AsyncIterator<Entry>): Promise<Entry | undefined> {
  const result = await iterator.next();
  return result.done === true ? undefined : result.value;
}

function sameValue(a: Buffer, b: Buffer): boolean {
  const left = decodeRecord(a, { record: 'state value' });
  const right = decodeRecord(b, { record: 'restored state value' });
  return left.schema === right.schema && left.payload.equals(right.payload);
}
