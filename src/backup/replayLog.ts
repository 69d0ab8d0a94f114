import { LlmStateError } from '../errors.js';
import { decodeCommitRecord, decodeSeqKey, encodeSeqKey, indexKeysOf, type LoggedEvent } from '../events/eventLog.js';
import { Scope } from '../state/Scope.js';
import { encodeStateKey, scopeRange } from '../state/keyCodec.js';
import { encodeRecord } from '../storage/recordEnvelope.js';
import type { StorageBackend, StorageSnapshot } from '../storage/index.js';
import { clearRange, PendingBatch } from './applyRecords.js';
import { continuesFrom, fullRestoreIn } from './restoreMarker.js';

/**
 * Brings `target`, which holds a backup at `fromSeq`, forward to `toSeq` with the commits of `source`'s
 * log: each commit record and its index entries are copied, and its state changes applied. The caller
 * has checked that the log holds every commit in between (see pointInTime.ts).
 *
 * A value is rewritten from its event as the commit wrote it: the same JSON text, sequence and time.
 * With `onlyState`, only the state changes it accepts are applied, and no log record is copied (a
 * restore of some scopes).
 */
export async function replayLog(
  source: StorageBackend,
  snapshot: StorageSnapshot,
  target: StorageBackend,
  from: { id: string; seq: number },
  toSeq: number,
  options: { onCommit?: () => void; onlyState?: (key: Buffer) => boolean } = {},
): Promise<number> {
  const { onCommit, onlyState } = options;
  const fromSeq = from.seq;
  const batch = new PendingBatch(target);
  let commits = 0;
  let expected = fromSeq + 1;
  for await (const [key, record] of source.iterate('events', { snapshot, gt: encodeSeqKey(fromSeq), lte: encodeSeqKey(toSeq) })) {
    const seq = decodeSeqKey(key);
    const events = decodeCommitRecord(record, seq);
    const restore = fullRestoreIn(events);
    // A full restore of the very backup this replay started from, before anything was replayed, put back
    // the state the replay has: the history goes on across it. Any other replaced that state.
    if (restore !== undefined && !(expected === fromSeq + 1 && continuesFrom(restore, from))) {
      throw gapError(expected, seq - 1, fromSeq, toSeq, `a restore replaced the store's history at sequence ${seq}`);
    }
    if (seq !== expected && restore === undefined) throw gapError(expected, seq - 1, fromSeq, toSeq, 'they are not in the event log');
    expected = seq + 1;
    if (onlyState === undefined) {
      await batch.add({ type: 'put', sublevel: 'events', key, value: record });
      for (const candidate of indexKeysOf(seq, events)) {
        const value = await source.get(candidate.sublevel, candidate.key, { snapshot });
        if (value !== undefined) await batch.add({ type: 'put', sublevel: candidate.sublevel, key: candidate.key, value });
      }
    }
    for (const event of events) await applyStateEvent(event, target, batch, onlyState);
    commits++;
    onCommit?.();
  }
  if (expected <= toSeq) throw gapError(expected, toSeq, fromSeq, toSeq, 'they are not in the event log');
  await batch.flush();
  return commits;
}

function gapError(from: number, to: number, fromSeq: number, toSeq: number, why: string): LlmStateError {
  const needs = to < from ? `commit ${from}` : from === to ? `commit ${from}` : `commits ${from} to ${to}`;
  return new LlmStateError(
    'RESTORE_FAILED',
    `Cannot bring the backup at sequence ${fromSeq} forward to ${toSeq}: it needs ${needs}, and ${why}. ` +
      'Restore a backup taken at or after the target instead, or a target the log still covers',
    { details: { gap: { from, to }, fromSeq, toSeq } },
  );
}

async function applyStateEvent(event: LoggedEvent, target: StorageBackend, batch: PendingBatch, only?: (key: Buffer) => boolean): Promise<void> {
  if (event.scope === undefined) return;
  if (event.kind === 'state.set' || event.kind === 'state.delete') {
    const key = encodeStateKey(Scope.parse(event.scope), event.key!);
    if (only !== undefined && !only(key)) return;
    if (event.kind === 'state.delete') await batch.add({ type: 'del', sublevel: 'state', key });
    else await batch.add({ type: 'put', sublevel: 'state', key, value: encodeRecord({ seq: event.seq, timestamp: event.at, schema: event.schema }, JSON.stringify(event.value)) });
  } else if (event.kind === 'scope.clear') {
    const range = scopeRange(Scope.parse(event.scope));
    if (only !== undefined && !only(range.gte)) return;
    await batch.flush();
    await clearRange(target, 'state', range);
  }
}
