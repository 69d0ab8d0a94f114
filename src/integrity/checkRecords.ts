import { agentIdOfRecordKey, decodeAgentRecord, isAgentRecordKey, isDeadLetterKey } from '../../actors/agentRecord.js';
import { decodeDeadLetter } from '../../actors/deadLetterRecord.js';
import { isLlmStateError } from '../errors.js';
import { decodeCommitRecord, decodeSeqKey, type LoggedEvent } from '../events/eventLog.js';
import { fullRestoreIn } from '../backup/restoreMarker.js';
import { readSeqHighWater } from '../events/seqHighWater.js';
import { decodeHookSeqKey } from '../hooks/outboxRecords.js';
import { decodeStateKey } from '../state/keyCodec.js';
import { decodeRecord } from '../storage/recordEnvelope.js';
import { SUBLEVELS, type StorageBackend, type SublevelName } from '../storage/index.js';
import { displayKey, type Problem } from './verifyReport.js';

/** Namespaces whose values are index entries with no body: what matters is that their target exists. */
const INDEXES: ReadonlySet<SublevelName> = new Set(['eventsByCorrelation', 'eventsByAgent', 'hookHistoryByCorrelation']);

/** Sequences that a repair has already reported missing: a gap there is known, not new damage. */
export type KnownGaps = readonly { from: number; to: number }[];

export interface RecordCheck {
  records: number;
  bySublevel: Record<SublevelName, number>;
  events: { oldestSeq: number | undefined; newestSeq: number | undefined; highWater: number; gaps: { from: number; to: number }[] };
}

/**
 * Reads every record of an open store and reports each one that is damaged: a checksum or envelope that
 * fails, a state key that does not decode, a hole in the commit sequence, an index entry or outbox
 * entry whose commit record is gone. Reads only.
 */
export async function checkRecords(
  storage: StorageBackend,
  report: (problem: Problem) => void,
  progress: (bytes: number) => void,
  knownGaps: KnownGaps = [],
): Promise<RecordCheck> {
  const bySublevel = Object.fromEntries(SUBLEVELS.map((name) => [name, 0])) as Record<SublevelName, number>;
  let records = 0;
  const seqs = new Set<number>();
  const gaps: { from: number; to: number }[] = [];
  let oldestSeq: number | undefined;
  let newestSeq: number | undefined;
  const known = (seq: number) => knownGaps.some((gap) => seq >= gap.from && seq <= gap.to);
  // A gap is known only when every sequence in it is: earlier repairs' ranges, merged, must cover it.
  const knownRange = (from: number, to: number) => {
    let next = from;
    for (const gap of [...knownGaps].sort((a, b) => a.from - b.from)) {
      if (gap.from > next) break;
      next = Math.max(next, gap.to + 1);
      if (next > to) return true;
    }
    return false;
  };

  for (const sublevel of SUBLEVELS) {
    const check = (key: Buffer, value: Buffer) => {
      if (INDEXES.has(sublevel)) return;
      if (sublevel === 'agents' && isDeadLetterKey(key)) {
        decodeDeadLetter(value, key);
        return;
      }
      if (sublevel === 'agents' && isAgentRecordKey(key)) {
        checkAgentRecord(value, key);
        return;
      }
      const where = { sublevel, key: displayKey(key) };
      const decoded = decodeRecord(value, where);
      if (sublevel === 'state') {
        if (decodeStateKey(key) === undefined) throw new Error('its key does not decode as (scope, key)');
        JSON.parse(decoded.payload.toString('utf8'));
      } else if (sublevel === 'events') {
        const seq = decodeSeqKey(key);
        if (decoded.seq !== seq) throw new Error(`it is keyed by sequence ${seq} but its header names ${decoded.seq}`);
        const events = decodeCommitRecord(value, seq);
        if (newestSeq !== undefined && seq !== newestSeq + 1) {
          const gap = { from: newestSeq + 1, to: seq - 1 };
          gaps.push(gap);
          if (!knownRange(gap.from, gap.to) && !replacedHistory(events, newestSeq, seq)) {
            report({ sublevel, key: `${gap.from}..${gap.to}`, kind: 'sequence', message: `commit records ${gap.from} to ${gap.to} are missing from the event log` });
          }
        }
        oldestSeq ??= seq;
        newestSeq = seq;
        seqs.add(seq);
      }
    };
    for await (const [key, value] of storage.iterate(sublevel)) {
      records++;
      bySublevel[sublevel]++;
      progress(key.length + value.length);
      try {
        check(key, value);
      } catch (error) {
        report({ sublevel, key: displayKey(key), kind: 'record', message: (error as Error).message });
      }
    }
  }

  // Index entries and outbox entries point at commit records by sequence.
  const pointsAtLog = (sublevel: SublevelName, seq: number, key: Buffer) => {
    if (!seqs.has(seq) && !known(seq)) {
      report({ sublevel, key: displayKey(key), kind: 'index', message: `it points at commit record ${seq}, which is not in the event log` });
    }
  };
  for (const sublevel of ['eventsByCorrelation', 'eventsByAgent'] as const) {
    for await (const [key] of storage.iterate(sublevel)) {
      if (key.length < 9 || key[key.length - 9] !== 0) {
        report({ sublevel, key: displayKey(key), kind: 'index', message: 'its key does not end in a sequence' });
      } else {
        pointsAtLog(sublevel, decodeSeqKey(key.subarray(key.length - 8)), key);
      }
    }
  }
  for await (const [key, value] of storage.iterate('outbox')) {
    try {
      const indexes = (JSON.parse(decodeRecord(value).payload.toString('utf8')) as { indexes?: unknown }).indexes;
      // An entry without indexes carries its events inline and needs no commit record.
      if (indexes !== undefined) pointsAtLog('outbox', decodeHookSeqKey(key).seq, key);
    } catch {
      // Already reported as a damaged record above.
    }
  }

  let highWater = 0;
  try {
    highWater = await readSeqHighWater(storage);
  } catch (error) {
    report({ sublevel: 'meta', key: 'seqHighWater', kind: 'record', message: (error as Error).message });
  }
  if (newestSeq !== undefined && oldestSeq !== undefined && highWater >= oldestSeq) {
    report({ sublevel: 'meta', key: 'seqHighWater', kind: 'sequence', message: `retention removed up to ${highWater}, yet the log still starts at ${oldestSeq}` });
  }
  // The first commit is sequence 1, and retention removes from the oldest end only.
  if (oldestSeq !== undefined && oldestSeq > highWater + 1 && !knownRange(highWater + 1, oldestSeq - 1)) {
    gaps.unshift({ from: highWater + 1, to: oldestSeq - 1 });
    report({ sublevel: 'events', key: `${highWater + 1}..${oldestSeq - 1}`, kind: 'sequence', message: `commit records ${highWater + 1} to ${oldestSeq - 1} are missing from the start of the event log${highWater > 0 ? `: retention removed only up to ${highWater}` : ''}` });
  }
  return { records, bySublevel, events: { oldestSeq, newestSeq, highWater, gaps } };
}

/**
 * An agent record of the current version or an older one (which the runtime upgrades as it reads it) is
 * whole when it passes its checksum and the schema of its version. One that a newer llmstate wrote passes
 * its checksum, and this build cannot judge its shape: that is no damage.
 */
function checkAgentRecord(value: Buffer, key: Buffer): void {
  try {
    decodeAgentRecord(value, agentIdOfRecordKey(key));
  } catch (error) {
    if (!isLlmStateError(error, 'MIGRATION_NO_PATH')) throw error;
  }
}

/**
 * Whether a commit record (at `seq`) is a full or point-in-time restore's, of a store whose log ends at
 * `previousSeq`: the sequences between belong to the history that the restore replaced.
 */
function replacedHistory(events: readonly LoggedEvent[], previousSeq: number, seq: number): boolean {
  const restore = fullRestoreIn(events);
  return restore !== undefined && restore.restoredSeq >= previousSeq && restore.restoredSeq < seq;
}
