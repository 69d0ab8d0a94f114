import { LlmStateError } from '../errors.js';
import type { EventSpec } from '../events/eventLog.js';
import type { BatchOp, LeaseHold, StorageBackend } from '../storage/index.js';
import type { BackupDescriptor } from '../backup/BackupCatalog.js';
import { boundRecords, countBoundRecords } from './boundRecords.js';
import { applyJournal, discardJournal, journalOp, MARKER_DELETE, markerOp, readMarker, type Applied, type JournalTarget, type MigrationMarker } from './migrationJournal.js';
import type { SchemaGuard, SchemaHold } from './SchemaGuard.js';
import { isMigrationLeaseLost, migrationInProgress, migrationLeaseLost, underMigrationLease, type MigrationLease } from './migrationLease.js';
import { ScopeClaims } from './scopeClaims.js';
import type { RecordMigrator } from './RecordMigrator.js';
import type { SchemaRegistry } from './SchemaRegistry.js';

export interface MigrationProgress {
  phase: 'backup' | 'migrate' | 'apply';
  /** Records done in this phase (for `backup`, records written to the backup). */
  done: number;
  /** Records the phase will do; 0 when unknown (`backup`). */
  total: number;
}

export interface MigrationSample {
  scope: string;
  key: string;
  /** The version the record was at. */
  from: string;
  before: unknown;
  after: unknown;
}

export interface MigrationResult {
  id: string;
  schema: string;
  to: string;
  dryRun: boolean;
  /** Records the schema's bindings apply to. */
  records: number;
  /** Records changed (for a dry run: that would be). */
  migrated: number;
  /** Records at the target version already. */
  current: number;
  /** Records by the version they were at. */
  byVersion: Record<string, number>;
  samples: MigrationSample[];
  /** The backup taken first. */
  backupId?: string;
  /** The last commit before the migration's records; they follow it. */
  committedSeq?: number;
  /**
   * Records left as they were, on a store that several processes share: another process wrote or deleted
   * them after the migration read them, before it held their scope. Present when there are any.
   */
  skipped?: number;
  durationMs: number;
}

/** What a migration needs from the runtime. */
export interface MigrationRunHost {
  registry: SchemaRegistry;
  guard: SchemaGuard;
  storage(): StorageBackend;
  /** Resolves once every write already queued for the schema's keys is durable. */
  drain(schema: string): Promise<void>;
  /** Logs events (and commits `extraOps` with them) through the commit path, fenced by `fence` when given. */
  record(events: readonly EventSpec[], extraOps?: BatchOp[], fence?: readonly LeaseHold[]): Promise<void>;
  journalTarget: JournalTarget;
  /** Writes a batch outside the commit path, where the fault injector can fail it too. */
  writeBatch(ops: BatchOp[], sync?: boolean, fence?: readonly LeaseHold[]): Promise<void>;
  /** On a store that several processes share, the lease of one migration at a time; undefined otherwise. */
  migrationLease(): MigrationLease | undefined;
  /** The migration lease this run holds: what it writes, its events included, is fenced by it. */
  fence?: readonly LeaseHold[];
  /** The sequence of the last commit. */
  lastSeq(): number;
  now(): number;
  /** An error that belongs to no caller: a progress callback that threw. */
  reportError(error: unknown): void;
}

export interface MigrationRequest {
  id: string;
  migrator: RecordMigrator;
  dryRun: boolean;
  samples: number;
  onProgress?: (progress: MigrationProgress) => void;
}

const JOURNAL_BATCH = 1000;
/** Bytes per journal batch at most, so that large values do not pile up in memory. */
const JOURNAL_BATCH_BYTES = 4 * 1024 * 1024;
const PROGRESS_EVERY = 1000;
const APPLY_ATTEMPTS = 3;

type TakeBackup = (reason: string, onProgress?: (done: number) => void) => Promise<BackupDescriptor | undefined>;

/**
 * One migration, as DESIGN §9 and docs/schemas.md describe it:
 *
 * 1. A backup (unless declined, or the runtime has no backup directory).
 * 2. The schema's keys are held: writes to them wait. Writes queued before are let through first.
 * 3. From one snapshot, every record is migrated and validated in memory, and written to the journal.
 *    The first failure stops it: the journal is discarded, and the store is as it was.
 * 4. The commit: one write marks the journal committed. From here the migration has happened.
 * 5. Reads of the held keys wait too, while the journal's records are applied through the actors.
 */
export async function runMigration(host: MigrationRunHost, request: MigrationRequest, backup: TakeBackup | undefined): Promise<MigrationResult> {
  if (request.dryRun) return migrate(host, request, backup);
  const { schema, target } = request.migrator;
  return underMigrationLease(
    host.migrationLease(),
    (fence) => migrate({ ...host, ...(fence === undefined ? {} : { fence }) }, request, backup),
    (owner) => {
      throw migrationInProgress(schema, target, owner);
    },
  );
}

/**
 * Finishes what a migration left in the store, when a store is opened: on a store that several processes
 * share, only when no other process is running one (that process finishes its own).
 */
export async function resumeMigrationAtOpen(host: MigrationRunHost): Promise<void> {
  // Most opens find nothing to finish, and need no lease for it; a marker written after this read is a
  // run's that has just begun, and its own.
  if ((await readMarker(host.storage())) === undefined) {
    host.guard.releaseFailed();
    return;
  }
  return underMigrationLease(
    host.migrationLease(),
    async (fence) => {
      try {
        await resumeMigration({ ...host, ...(fence === undefined ? {} : { fence }) });
      } catch (error) {
        // Another process took the lease over, and finishes or discards the journal itself.
        if (!isMigrationLeaseLost(error)) throw error;
      }
    },
    () => undefined,
  );
}

async function migrate(host: MigrationRunHost, request: MigrationRequest, backup: TakeBackup | undefined): Promise<MigrationResult> {
  const started = host.now();
  const { migrator, id } = request;
  const report = progressReporter(host, request.onProgress);
  const result: MigrationResult = { id, schema: migrator.schema, to: migrator.target, dryRun: request.dryRun, records: 0, migrated: 0, current: 0, byVersion: {}, samples: [], durationMs: 0 };
  if (!request.dryRun) {
    await resumeMigration(host).catch((error: unknown) => {
      throw isMigrationLeaseLost(error) ? migrationLeaseLost(result, false, error) : error;
    });
    const taken = await backup?.(`before migration ${id} of ${migrator.schema} to ${migrator.target}`, (done) => report?.({ phase: 'backup', done, total: 0 }));
    if (taken !== undefined) result.backupId = taken.id;
  }
  const hold = request.dryRun ? undefined : host.guard.holdSchema(migrator.schema);
  const claims = new ScopeClaims(hold !== undefined && host.storage().shared ? host.journalTarget : undefined, result);
  try {
    return await migrateAndApply(host, request, result, hold, claims, started, report);
  } finally {
    claims.releaseAll();
  }
}

async function migrateAndApply(
  host: MigrationRunHost,
  request: MigrationRequest,
  result: MigrationResult,
  hold: SchemaHold | undefined,
  claims: ScopeClaims,
  started: number,
  report: ((progress: MigrationProgress) => void) | undefined,
): Promise<MigrationResult> {
  const { id } = request;
  try {
    if (hold !== undefined) await host.drain(request.migrator.schema);
    await migrateIntoJournal(host, { ...request, ...(report === undefined ? {} : { onProgress: report }) }, result, claims);
  } catch (error) {
    hold?.release();
    if (!request.dryRun) await failed(host, result, error);
    throw isMigrationLeaseLost(error) ? migrationLeaseLost(result, false, error) : error;
  }
  result.durationMs = host.now() - started;
  if (hold === undefined) return result;
  try {
    result.committedSeq = host.lastSeq();
    const marker: MigrationMarker = { id, schema: result.schema, to: result.to, state: 'committed', startedAt: started, migrated: result.migrated, committedSeq: result.committedSeq, byVersion: result.byVersion };
    await host.writeBatch([markerOp(marker, host.now())], true, host.fence);
  } catch (error) {
    hold.release();
    await failed(host, result, error);
    throw isMigrationLeaseLost(error) ? migrationLeaseLost(result, false, error) : error;
  }
  hold.holdReads();
  try {
    const { skipped } = await applyCommitted(host, { id, schema: result.schema, to: result.to, state: 'committed', startedAt: started, migrated: result.migrated, committedSeq: result.committedSeq, byVersion: result.byVersion }, false, report);
    if (skipped > 0) {
      result.migrated -= skipped;
      result.skipped = skipped;
    }
  } catch (error) {
    if (isMigrationLeaseLost(error)) {
      hold.release();
      throw migrationLeaseLost(result, true, error);
    }
    hold.fail(unapplied(result, error));
    throw unapplied(result, error);
  }
  hold.release();
  result.durationMs = host.now() - started;
  return result;
}

async function migrateIntoJournal(host: MigrationRunHost, request: MigrationRequest, result: MigrationResult, claims: ScopeClaims): Promise<void> {
  const { migrator } = request;
  const storage = host.storage();
  const snapshot = storage.snapshot();
  try {
    const total = request.onProgress === undefined ? 0 : await countBoundRecords(storage, snapshot, host.registry, migrator.schema);
    if (!request.dryRun) {
      await host.writeBatch([markerOp({ id: result.id, schema: result.schema, to: result.to, state: 'prepared', startedAt: host.now() }, host.now())], false, host.fence);
      await host.record([{ kind: 'migration.started', data: { id: result.id, schema: result.schema, to: result.to, ...(request.onProgress === undefined ? {} : { records: total }), ...(result.backupId === undefined ? {} : { backupId: result.backupId }) } }], undefined, host.fence);
    }
    const target = `${migrator.schema}@${migrator.target}`;
    let ops: BatchOp[] = [];
    let bytes = 0;
    for await (const record of boundRecords(storage, snapshot, host.registry, migrator.schema)) {
      const outcome = migrator.migrate(record);
      result.records++;
      result.byVersion[outcome.version] = (result.byVersion[outcome.version] ?? 0) + 1;
      if (outcome.kind === 'failed') throw outcome.error;
      if (outcome.kind === 'current') result.current++;
      else {
        result.migrated++;
        if (result.samples.length < request.samples) {
          result.samples.push({ scope: record.scope.toString(), key: record.key, from: outcome.version, before: outcome.before, after: outcome.after });
        }
        if (!request.dryRun) {
          const claiming = claims.hold(record.scope);
          if (claiming !== undefined) await claiming;
          ops.push(journalOp(record.stateKey, outcome.json, target, host.now(), record.seq));
          bytes += outcome.json.length;
          if (ops.length >= JOURNAL_BATCH || bytes >= JOURNAL_BATCH_BYTES) {
            await host.writeBatch(ops, false, host.fence);
            ops = [];
            bytes = 0;
          }
        }
      }
      if (result.records % PROGRESS_EVERY === 0) request.onProgress?.({ phase: 'migrate', done: result.records, total: Math.max(total, result.records) });
    }
    if (ops.length > 0) await host.writeBatch(ops, false, host.fence);
    request.onProgress?.({ phase: 'migrate', done: result.records, total: result.records });
  } finally {
    await snapshot.close();
  }
}

/**
 * Finishes what a migration left in the store: discards a journal that was never committed, and applies
 * one that was. Called when a store is opened, before anything reads it, and before each migration.
 */
export async function resumeMigration(host: MigrationRunHost): Promise<void> {
  const storage = host.storage();
  const marker = await readMarker(storage);
  if (marker === undefined) {
    // A failed apply's refusals belong to a journal this store no longer has (a restore replaced it).
    host.guard.releaseFailed();
    return;
  }
  if (marker.state === 'prepared') {
    await discardJournal(storage, host.fence);
    // The marker goes with the event that ends the migration: a lease lost between the two leaves both.
    await host.record([
      {
        kind: 'migration.failed',
        data: { id: marker.id, schema: marker.schema, to: marker.to, message: 'The process stopped before the migration committed; the store is as it was before it', code: 'MIGRATION_FAILED' },
      },
    ], [MARKER_DELETE], host.fence);
    return;
  }
  await applyCommitted(host, marker, true, undefined);
}

async function applyCommitted(host: MigrationRunHost, marker: MigrationMarker, resumed: boolean, report: ((progress: MigrationProgress) => void) | undefined): Promise<Applied> {
  const context = { correlationId: marker.id };
  const total = marker.migrated ?? 0;
  let lastError: unknown;
  // Across attempts: each one applies what the journal still holds.
  const done: Applied = { applied: 0, skipped: 0 };
  for (let attempt = 1; attempt <= APPLY_ATTEMPTS; attempt++) {
    try {
      await applyJournal(host.storage(), host.journalTarget, context, done, (count) => {
        if (count % PROGRESS_EVERY === 0) report?.({ phase: 'apply', done: count, total });
      });
      report?.({ phase: 'apply', done: total, total });
      const data = {
        id: marker.id,
        schema: marker.schema,
        to: marker.to,
        migrated: total - done.skipped,
        ...(done.skipped > 0 ? { skipped: done.skipped } : {}),
        byVersion: marker.byVersion ?? {},
        committedSeq: marker.committedSeq ?? 0,
        durationMs: host.now() - marker.startedAt,
        ...(resumed ? { resumed: true } : {}),
      };
      // Fenced: a process that lost the lease (paused past it) must not log a second completion, nor
      // delete the marker of a migration that another process started since.
      await host.record([{ kind: 'migration.completed', data }], [MARKER_DELETE], host.fence);
      host.guard.releaseFailed(marker.schema);
      return done;
    } catch (error) {
      lastError = error;
      // Another process took the migration over: it finishes the journal, and trying again cannot help.
      if (isMigrationLeaseLost(error)) break;
    }
  }
  throw lastError;
}

async function failed(host: MigrationRunHost, result: MigrationResult, error: unknown): Promise<void> {
  await discardJournal(host.storage(), host.fence).catch(() => {});
  const details = error instanceof LlmStateError ? (error.details as Record<string, unknown> | undefined) : undefined;
  const data = {
    id: result.id,
    schema: result.schema,
    to: result.to,
    message: (error as Error).message,
    ...(error instanceof LlmStateError ? { code: error.code } : {}),
    ...(typeof details?.scope === 'string' ? { scope: details.scope } : {}),
    ...(typeof details?.key === 'string' ? { key: details.key } : {}),
  };
  // Refused when the lease was lost: the process that took it over logs the failure as it discards the
  // journal, which the marker, removed only with this event, tells it to do.
  await host.record([{ kind: 'migration.failed', data }], [MARKER_DELETE], host.fence).catch(() => {});
}

function unapplied(result: MigrationResult, error: unknown): LlmStateError {
  return new LlmStateError(
    'MIGRATION_FAILED',
    `Migration ${result.id} of ${result.schema} to ${result.to} is committed, but applying its records failed (${(error as Error).message}): ` +
      `its keys are refused until it is finished, by running rt.migrations.run again or by closing and opening the runtime`,
    { cause: error, details: { id: result.id, schema: result.schema, to: result.to, committed: true } },
  );
}

/** The caller's progress callback, made harmless: what it throws is reported, and never decides the migration's outcome. */
function progressReporter(host: MigrationRunHost, onProgress: ((progress: MigrationProgress) => void) | undefined) {
  if (onProgress === undefined) return undefined;
  return (progress: MigrationProgress) => {
    try {
      onProgress(progress);
    } catch (error) {
      host.reportError(error);
    }
  };
}
