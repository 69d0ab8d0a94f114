import { causalJson, encodeCommitRecord, encodeSeqKey, eventId, eventJson, readLastSeq, stateEventJson } from '../events/eventLog.js';
import type { EventData } from '../events/eventKinds.js';
import { decodeStateKey } from '../state/keyCodec.js';
import { decodeRecord, encodeRecord } from '../storage/recordEnvelope.js';
import type { BatchOp, StorageBackend } from '../storage/index.js';
import type { StateDifference } from './diffState.js';

export type RestoredData = EventData<'backup.restored'>;
export type CreatedData = EventData<'backup.created'>;

/**
 * The commit that ends a full restore, for the restored store: {@link restoreCommitAt} at the sequence
 * after the higher of the current store's and the restored one's, so that sequence numbers never go back
 * (the gap before it is the replaced history, which `llmstate verify` knows from the event). Returns the
 * ops and the sequence. The caller writes the ops in one batch, into the store that becomes the runtime's.
 */
export async function restoreCommitOps(
  stores: { current: StorageBackend; restored: StorageBackend },
  now: number,
  data: RestoredData,
  safety: CreatedData,
): Promise<{ ops: BatchOp[]; seq: number }> {
  const seq = Math.max(await readLastSeq(stores.current), await readLastSeq(stores.restored)) + 1;
  return { ops: restoreCommitAt(seq, now, data, safety), seq };
}

/**
 * The ops of the commit that ends a restore, at `seq`: the `backup.restored` event. For a restore of some
 * scopes, it also carries their changes, each re-stamped with this commit's sequence and logged as
 * `state.set` or `state.delete`: the log then tells incremental backups and later point-in-time restores
 * what the restore changed. The safety backup taken just before is logged here too (`backup.created`),
 * since the runtime's core is stopped while it is taken.
 */
export function restoreCommitAt(seq: number, now: number, data: RestoredData, safety: CreatedData, changes: readonly StateDifference[] = []): BatchOp[] {
  const causal = causalJson(eventId(seq, 0));
  const ops: BatchOp[] = [];
  const events: string[] = [];
  for (const change of changes) {
    const { scope, key } = decodeStateKey(change.key)!;
    const scopeJson = JSON.stringify(scope.toString());
    if (change.restored === undefined) {
      ops.push({ type: 'del', sublevel: 'state', key: change.key });
      events.push(stateEventJson('state.delete', scopeJson, key, causal));
    } else {
      const { payload, schema } = decodeRecord(change.restored, { record: 'restored state value' });
      ops.push({ type: 'put', sublevel: 'state', key: change.key, value: encodeRecord({ seq, timestamp: now, ...(schema === undefined ? {} : { schema }) }, payload) });
      events.push(stateEventJson('state.set', scopeJson, key, causal, payload.toString('utf8'), undefined, schema));
    }
  }
  events.push(eventJson({ kind: 'backup.created', data: safety }, causal));
  events.push(eventJson({ kind: 'backup.restored', data }, causal));
  // This record also keeps the sequence from going back: a reopened store continues after it.
  ops.push({ type: 'put', sublevel: 'events', key: encodeSeqKey(seq), value: encodeCommitRecord(seq, now, events) });
  return ops;
}
