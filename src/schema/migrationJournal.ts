import type { CorrelationContext } from '../events/correlation.js';
import { decodeStateKey } from '../state/keyCodec.js';
import type { Scope } from '../state/Scope.js';
import { decodeRecord, encodeRecord } from '../storage/recordEnvelope.js';
import type { BatchOp, LeaseHold, StorageBackend } from '../storage/index.js';
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

/**
 * A migrated record waiting in the journal, under its state key. Its envelope's sequence is that of the
 * record it was migrated from, so that applying it can tell whether that record is still the one stored
 * (journals written before this carry 0, and apply as they did).
 */
export function journalOp(stateKey: Buffer, json: string, schemaRef: string, now: number, migratedFrom: number): BatchOp {
  return { type: 'put', sublevel: 'migrations', key: stateKey, value: encodeRecord({ seq: migratedFrom, timestamp: now, schema: schemaRef }, json) };
}

/**
 * Empties the journal: the store's records are as they were before the migration began. The caller removes
 * the marker with the event that ends the migration (`migration.failed`), so that a process stopped in
 * between leaves the marker for the next to finish. Fenced by the migration lease, where there is one, so
 * that a process that lost it discards nothing.
 */
export async function discardJournal(storage: StorageBackend, fence?: readonly LeaseHold[]): Promise<void> {
  const fenced = fence === undefined ? {} : { fence };
  let ops: BatchOp[] = [];
  for await (const [key] of storage.iterate('migrations')) {
    ops.push({ type: 'del', sublevel: 'migrations', key });
    if (ops.length >= DISCARD_BATCH) {
      await storage.batch(ops, fenced);
      ops = [];
    }
  }
  if (ops.length > 0) await storage.batch(ops, { sync: true, ...fenced });
}

/** The way into a scope's mailbox for the journal's records. */
export interface JournalTarget {
  ownerOf(scope: Scope): { commitRecord(record: RecordWrite, context: CorrelationContext | undefined): Promise<void> };
  /**
   * Makes this process the owner of `scope` until the returned function is called: resolves once its
   * actor holds the scope's lease, on a store that several processes share.
   */
  claim(scope: Scope): Promise<() => void>;
  /** Whether `scope`'s actor is live in this process. */
  isLive(scope: Scope): boolean;
  /** Passivates `scope`'s actor now if it is idle and unclaimed, giving its lease back at once. */
  letGo(scope: Scope): void;
}

/** What applying a journal did. */
export interface Applied {
  /** Records written into their scopes. */
  applied: number;
  /** Records left as they are: another process wrote or deleted them after the migration read them. */
  skipped: number;
}

/** One scope's records to apply, and what removes them from the journal. */
interface Unit {
  scope: Scope;
  writes: KeyWrite[];
  /** The state key and the sequence of the record each write was migrated from. */
  sources: Array<{ stateKey: Buffer; seq: number }>;
  removals: BatchOp[];
}

/**
 * Writes the journal's records into their scopes, through each scope's actor, so that every record is
 * logged as a `state.set` under the migration's correlation id and every cache sees it. Each unit
 * removes its records from the journal in the same batch, so applying again after a failure (or after a
 * reopen) takes up where it stopped. Counts into `done`, which a caller applying again may carry over.
 *
 * On a store that several processes share, each unit first makes this process the owner of its scope,
 * then writes only the records still stored as the migration read them: a record another process wrote
 * (or deleted) since is newer than the migration, and is left as it is. On a store of one process the
 * migration's hold on the schema's keys keeps every other write out, and nothing needs checking.
 */
export async function applyJournal(
  storage: StorageBackend,
  target: JournalTarget,
  context: CorrelationContext,
  done: Applied = { applied: 0, skipped: 0 },
  onApplied?: (applied: number) => void,
): Promise<Applied> {
  // Each unit's outcome is taken as it settles, so that one failing while the journal is still being
  // read is never an unhandled rejection; the first failure is thrown once every unit has settled.
  let failure: { error: unknown } | undefined;
  let inFlight: Promise<void>[] = [];
  let unit: Unit | undefined;
  let scopeText = '';
  let bytes = 0;
  const apply = async ({ scope, writes, sources, removals }: Unit): Promise<void> => {
    let kept = writes;
    const release = storage.shared ? await target.claim(scope) : undefined;
    try {
      if (storage.shared) kept = await stillStored(storage, writes, sources);
      if (kept.length > 0) await target.ownerOf(scope).commitRecord({ writes: kept, extraOps: removals }, context);
      else await storage.batch(removals);
    } finally {
      release?.();
    }
    done.skipped += writes.length - kept.length;
    onApplied?.((done.applied += kept.length));
  };
  const flush = async () => {
    if (unit === undefined || unit.writes.length === 0) return;
    inFlight.push(apply(unit).catch((error: unknown) => void (failure ??= { error })));
    unit = { scope: unit.scope, writes: [], sources: [], removals: [] };
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
    if (unit === undefined || text !== scopeText || unit.writes.length >= APPLY_UNIT || bytes >= APPLY_UNIT_BYTES) {
      await flush();
      if (text !== scopeText) unit = { scope: decoded.scope, writes: [], sources: [], removals: [] };
      scopeText = text;
    }
    const { payload, schema, seq } = decodeRecord(value, { 'migrated record': `${text} ${decoded.key}` });
    unit!.writes.push({ key: decoded.key, json: payload.toString('utf8'), ...(schema === undefined ? {} : { schema }) });
    unit!.sources.push({ stateKey, seq });
    unit!.removals.push({ type: 'del', sublevel: 'migrations', key: stateKey });
    bytes += payload.length;
  }
  await flush();
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure.error;
  return done;
}

/** The writes whose record is still the one they were migrated from (all of a journal written before sources were kept). */
async function stillStored(storage: StorageBackend, writes: KeyWrite[], sources: Unit['sources']): Promise<KeyWrite[]> {
  const kept: KeyWrite[] = [];
  for (let i = 0; i < writes.length; i++) {
    const { stateKey, seq } = sources[i];
    if (seq === 0) {
      kept.push(writes[i]);
      continue;
    }
    const stored = await storage.get('state', stateKey);
    if (stored !== undefined && decodeRecord(stored, { record: `state ${writes[i].key}` }).seq === seq) kept.push(writes[i]);
  }
  return kept;
}
