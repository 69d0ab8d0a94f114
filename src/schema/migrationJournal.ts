import type { CorrelationContext } from '../events/correlation.js';
import { decodeStateKey } from '../state/keyCodec.js';
import type { Scope } from '../state/Scope.js';
import { decodeRecord, encodeRecord } from '../storage/recordEnvelope.js';
import type { BatchOp, StorageBackend } from '../storage/index.js';
import type { KeyWrite } from '../../actors/WriteUnit.js';
import type { RecordWrite } from '../../actors/ScopeActor.js';

/**
 * A migration's progress, in `meta`. While `prepared`, the journal holds migrated records that nothing
 * reads: a failure, or a process killed then, discards them. Once `committed`, the migration has
 * happened: its records are applied from the journal, and a process killed part way finishes applying
 * them when the store is next opened, before anything reads it.
 */
export interface MigrationMarker {
  id: string;
  schema: string;
  to: string;
  state: 'prepared' | 'committed';
  startedAt: number;
  /** Records in the journal (once committed). */
  migrated?: number;
  /** The last commit before the migration's records (once committed). */
  committedSeq?: number;
  /** Records by the version they were at (once committed). */
  byVersion?: Record<string, number>;
}

const MARKER_KEY = Buffer.from('migration', 'utf8');
/** Records per commit unit while applying: one scope's, in key order. */
const APPLY_UNIT = 256;
/** Bytes per commit unit at most (one record may exceed it), so large values do not pile up in memory. */
const APPLY_UNIT_BYTES = 1024 * 1024;
/** Units in flight at once, so that the commit scheduler groups them into batches. */
const APPLY_WINDOW = 32;
const DISCARD_BATCH = 1000;

export function markerOp(marker: MigrationMarker, now: number): BatchOp {
  return { type: 'put', sublevel: 'meta', key: MARKER_KEY, value: encodeRecord({ seq: 0, timestamp: now }, JSON.stringify(marker)) };
}

export const MARKER_DELETE: BatchOp = { type: 'del', sublevel: 'meta', key: MARKER_KEY };

export async function readMarker(storage: StorageBackend): Promise<MigrationMarker | undefined> {
  const raw = await storage.get('meta', MARKER_KEY);
  if (raw === undefined) return undefined;
  return JSON.parse(decodeRecord(raw, { record: 'migration marker (meta migration)' }).payload.toString('utf8')) as MigrationMarker;
}

/** A migrated record waiting in the journal, under its state key. */
export function journalOp(stateKey: Buffer, json: string, schemaRef: string, now: number): BatchOp {
  return { type: 'put', sublevel: 'migrations', key: stateKey, value: encodeRecord({ seq: 0, timestamp: now, schema: schemaRef }, json) };
}

/** Empties the journal and removes the marker: the store is as it was before the migration began. */
export async function discardJournal(storage: StorageBackend): Promise<void> {
  let ops: BatchOp[] = [];
  for await (const [key] of storage.iterate('migrations')) {
    ops.push({ type: 'del', sublevel: 'migrations', key });
    if (ops.length >= DISCARD_BATCH) {
      await storage.batch(ops);
      ops = [];
    }
  }
  ops.push(MARKER_DELETE);
  await storage.batch(ops, { sync: true });
}

/** The way into a scope's mailbox for the journal's records. */
export interface JournalTarget {
  ownerOf(scope: Scope): { commitRecord(record: RecordWrite, context: CorrelationContext | undefined): Promise<void> };
}

/**
 * Writes the journal's records into their scopes, through each scope's actor, so that every record is
 * logged as a `state.set` under the migration's correlation id and every cache sees it. Each unit
 * removes its records from the journal in the same batch, so applying again after a failure (or after a
 * reopen) takes up where it stopped. Resolves with the records applied.
 */
export async function applyJournal(storage: StorageBackend, target: JournalTarget, context: CorrelationContext, onApplied?: (count: number) => void): Promise<number> {
  let applied = 0;
  // Each unit's outcome is taken as it settles, so that one failing while the journal is still being
  // read is never an unhandled rejection; the first failure is thrown once every unit has settled.
  let failure: { error: unknown } | undefined;
  let inFlight: Promise<void>[] = [];
  let scope: Scope | undefined;
  let scopeText = '';
  let writes: KeyWrite[] = [];
  let removals: BatchOp[] = [];
  let bytes = 0;
  const flush = async () => {
    if (writes.length === 0) return;
    const count = writes.length;
    inFlight.push(
      target
        .ownerOf(scope!)
        .commitRecord({ writes, extraOps: removals }, context)
        .then(
          () => onApplied?.((applied += count)),
          (error: unknown) => void (failure ??= { error }),
        ),
    );
    writes = [];
    removals = [];
    bytes = 0;
    if (inFlight.length >= APPLY_WINDOW) {
      const waiting = inFlight;
      inFlight = [];
      await Promise.all(waiting);
      if (failure !== undefined) throw failure.error;
    }
  };
  for await (const [stateKey, value] of storage.iterate('migrations')) {
    const decoded = decodeStateKey(stateKey);
    if (decoded === undefined) continue;
    const text = decoded.scope.toString();
    if (text !== scopeText || writes.length >= APPLY_UNIT || bytes >= APPLY_UNIT_BYTES) {
      await flush();
      scope = decoded.scope;
      scopeText = text;
    }
    const { payload, schema } = decodeRecord(value, { 'migrated record': `${text} ${decoded.key}` });
    writes.push({ key: decoded.key, json: payload.toString('utf8'), ...(schema === undefined ? {} : { schema }) });
    removals.push({ type: 'del', sublevel: 'migrations', key: stateKey });
    bytes += payload.length;
  }
  await flush();
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure.error;
  return applied;
}
