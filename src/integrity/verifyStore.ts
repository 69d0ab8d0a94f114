import { describeOption } from '../checkOptions.js';
import { dirname, join, resolve } from 'node:path';
import { prepareDataDirectory } from '../storage/dataDirectory.js';
import { LlmStateError } from '../errors.js';
import { decodeRecord, encodeRecord } from '../storage/recordEnvelope.js';
import { createDiskBackend, type LevelBackend, type BatchOp, type StorageBackend } from '../storage/index.js';
import { checkWriteAheadLogs } from '../storage/walCheck.js';
import { checkTables } from './checkTables.js';
import { checkRecords } from './checkRecords.js';
import { MAX_PROBLEMS, type Problem, type RepairRecord, type VerifyReport } from './verifyReport.js';

export interface VerifyOptions {
  /** The data directory, as given to `createRuntime`. */
  dataDir: string;
  /**
   * Called as records are read, with the bytes read so far and the store's approximate size (which the
   * count may pass: LevelDB compresses).
   */
  onProgress?: (done: number, total: number) => void;
}

export interface RepairReport extends VerifyReport {
  /** What this repair put on record: what was dropped and what is missing. */
  repair: RepairRecord;
}

const REPAIRS_KEY = Buffer.from('repairs', 'utf8');

/**
 * Checks every record of a store: each write-ahead log as LevelDB would replay it, every record's
 * checksum and envelope, state keys, the commit sequence from the first commit (or what retention kept)
 * to the last, and every index and outbox entry against the event log. Reads only; the store must not
 * be open in a runtime (LevelDB allows one opener).
 *
 * @throws {STORAGE_FAILED} when the store cannot be opened, for example because a runtime holds it.
 * @example
 * const report = await verifyStore({ dataDir: './.llmstate' });
 * if (!report.ok) console.error(report.problems);
 */
export async function verifyStore(options: VerifyOptions): Promise<VerifyReport> {
  const location = await existingStore(options);
  const logs = await checkWriteAheadLogs(location);
  // Before opening: LevelDB compacts tables in the background once open.
  const tables = await checkTables(location);
  if (logs.damaged || tables.problems.length > 0) {
    // Opening would let LevelDB drop damaged log records (or fail on CURRENT), and its compaction aborts
    // the process on a table whose keys a flipped bit put out of order: report without opening.
    const problems = [...logProblems(logs), ...tables.problems];
    return {
      ok: false, location, records: 0, bySublevel: {}, problems, problemCount: problems.length, logs, tables: tables.summary,
      events: { oldestSeq: undefined, newestSeq: undefined, highWater: 0, gaps: [] }, repairs: [],
      skipped: logs.damaged
        ? 'the write-ahead logs are damaged, so the store was not opened: run `llmstate repair` to open what survives'
        : 'a table is damaged, so the store was not opened (LevelDB can abort the process when it compacts a damaged table): restore a backup',
    };
  }
  const storage = createDiskBackend(location);
  await storage.open();
  try {
    return await verifyOpen(storage, logs, tables, options.onProgress);
  } finally {
    await storage.close();
  }
}

/**
 * Opens a damaged store and keeps what survives: LevelDB drops the damaged log records (a copy of the
 * logs is kept first, under `<dataDir>/damaged/`), then every record is checked as by
 * {@link verifyStore}, and what is missing is put on record in the store, so that the store opens again
 * and later verifications report this loss as known rather than as new damage. Records that fail their
 * checksum are left for the caller to delete or overwrite.
 *
 * @throws {STORAGE_FAILED} when the store cannot be opened.
 * @throws {DATA_CORRUPT} when a table is damaged, which only a backup can mend.
 */
export async function repairStore(options: VerifyOptions): Promise<RepairReport> {
  const location = await existingStore(options);
  const tables = await checkTables(location);
  if (tables.problems.length > 0) {
    const names = [...new Set(tables.problems.map((problem) => problem.key))].join(', ');
    throw new LlmStateError(
      'DATA_CORRUPT',
      `The store at ${location} has damaged tables (${names}), which cannot be repaired in place: LevelDB aborts the process ` +
        'when it rewrites a table whose keys damage put out of order. Restore a backup. Nothing was changed',
      { details: { location, problems: tables.problems } },
    );
  }
  const storage = createDiskBackend(location, { salvage: true });
  await storage.open();
  try {
    const logs = storage.walCheck!;
    const before = await readRepairs(storage);
    const found = await verifyOpen(storage, logs, tables, options.onProgress, before);
    const known = before.flatMap((repair) => repair.missing);
    const missing = found.events.gaps.filter((gap) => !known.some((old) => old.from <= gap.from && gap.to <= old.to));
    const repair: RepairRecord = { at: new Date().toISOString(), droppedBytes: logs.damagedBytes, missing, copy: storage.damagedLogsCopy };
    const repairs = [...before, repair];
    await storage.batch([repairsOp(repairs)]);
    // What LevelDB dropped from the logs is now on record; damaged tables and records are still there.
    const problems = found.problems.filter((problem) => problem.kind !== 'log' && problem.kind !== 'sequence');
    return { ...found, ok: problems.length === 0, problems, problemCount: problems.length, repairs, repair };
  } finally {
    await storage.close();
  }
}

async function verifyOpen(
  storage: LevelBackend,
  logs: VerifyReport['logs'],
  tables: Awaited<ReturnType<typeof checkTables>>,
  onProgress: VerifyOptions['onProgress'],
  repairsRead?: RepairRecord[],
): Promise<VerifyReport> {
  const problems: Problem[] = [...logProblems(logs), ...tables.problems];
  let problemCount = problems.length;
  const report = (problem: Problem) => {
    problemCount++;
    if (problems.length < MAX_PROBLEMS) problems.push(problem);
  };
  let repairs = repairsRead ?? [];
  if (repairsRead === undefined) {
    try {
      repairs = await readRepairs(storage);
    } catch (error) {
      report({ sublevel: 'meta', key: 'repairs', kind: 'record', message: (error as Error).message });
    }
  }
  const total = (await storage.approximateSize()) ?? 0;
  let done = 0;
  const progress = (bytes: number) => {
    done += bytes;
    onProgress?.(done, total);
  };
  const checked = await checkRecords(storage, report, progress, repairs.flatMap((repair) => repair.missing));
  return {
    ok: problemCount === 0, location: storage.location, records: checked.records, bySublevel: checked.bySublevel,
    problems, problemCount, logs, tables: tables.summary, events: checked.events, repairs,
  };
}

function logProblems(logs: VerifyReport['logs']): Problem[] {
  const problems: Problem[] = logs.files.flatMap((file) =>
    file.damage.map((span) => ({ sublevel: 'log' as const, key: file.name, kind: 'log' as const, message: `${span.bytes} bytes at offset ${span.offset}: ${span.reason}` })),
  );
  if (logs.currentDamage !== undefined) problems.unshift({ sublevel: 'log', key: 'CURRENT', kind: 'log', message: logs.currentDamage });
  return problems;
}

async function readRepairs(storage: StorageBackend): Promise<RepairRecord[]> {
  const raw = await storage.get('meta', REPAIRS_KEY);
  if (raw === undefined) return [];
  const parsed = JSON.parse(decodeRecord(raw, { record: 'repairs (meta)' }).payload.toString('utf8')) as unknown;
  if (!Array.isArray(parsed)) throw new LlmStateError('DATA_CORRUPT', 'The record of past repairs (meta repairs) is not a list', { details: { record: 'repairs' } });
  return parsed as RepairRecord[];
}

function repairsOp(repairs: RepairRecord[]): BatchOp {
  return { type: 'put', sublevel: 'meta', key: REPAIRS_KEY, value: encodeRecord({ seq: 0, timestamp: Date.now() }, JSON.stringify(repairs)) };
}

/**
 * The LevelDB directory of `options.dataDir`, which must hold a store: checking never creates one, and
 * refuses what opening a runtime refuses (a FIFO, /proc, a permission error) rather than hang on it.
 */
async function existingStore(options: VerifyOptions): Promise<string> {
  return prepareDataDirectory(dirname(dbDirectory(options)), 'existing');
}

function dbDirectory(options: VerifyOptions): string {
  if (options === null || typeof options !== 'object') throw new TypeError(`Expected \`options\` to be an object, got ${describeOption(options)}`);
  if (typeof options.dataDir !== 'string' || options.dataDir === '') {
    throw new TypeError(`Expected \`dataDir\` to be a non-empty string, got ${describeOption(options.dataDir)}`);
  }
  return join(resolve(options.dataDir), 'db');
}
