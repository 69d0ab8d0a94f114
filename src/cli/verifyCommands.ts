import type { Command } from 'commander';
import type { RepairReport, VerifyOptions } from '../integrity/verifyStore.js';
import type { VerifyReport } from '../integrity/verifyReport.js';
import { globalOptions } from './globalOptions.js';
import { escapeForDisplay } from '../displayText.js';
import { count, ExitError, EXIT_FAILURE, printResult } from './output.js';
import { withProgressBar } from './progressBar.js';
import { requireDataDir } from './storeSource.js';

/**
 * Why `verify` and `repair` refuse a PostgreSQL store: both work on LevelDB's own files, with no runtime
 * open, and a PostgreSQL store has neither those files nor a time when no process has it open.
 */
const VERIFY_ON_POSTGRES =
  'verify checks the files of a LevelDB data directory (write-ahead logs, tables), which a PostgreSQL store does not have: ' +
  'PostgreSQL recovers its own write-ahead log, and the runtime checks the checksum of each record it reads. ' +
  'To check a copy of the whole store, take a backup and verify it: backup create --backup-dir <dir>, then backup verify <id>';
const REPAIR_ON_POSTGRES =
  'repair reopens a LevelDB data directory whose write-ahead log is damaged, which a PostgreSQL store does not have: ' +
  "PostgreSQL recovers its own write-ahead log. Mend a damaged PostgreSQL database with PostgreSQL's tools, or restore a backup (backup restore --backup-dir <dir>)";

/** Adds `verify` and `repair`. */
export function registerVerifyCommands(program: Command): void {
  program
    .command('verify')
    .description('check every record of a LevelDB store: write-ahead logs, checksums, envelopes, the commit sequence and indexes; exit 1 on damage')
    .option('--json', 'print the full report as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const dataDir = requireDataDir(globalOptions(command).store, VERIFY_ON_POSTGRES);
      const { verifyStore } = await import('../integrity/verifyStore.js');
      const report = await withProgress((onProgress) => verifyStore({ dataDir, onProgress }));
      printResult(report, options, formatVerifyReport);
      if (!report.ok) throw new ExitError(EXIT_FAILURE, '');
    });
  program
    .command('repair')
    .description('open a damaged LevelDB store, keep what survives (damaged logs are copied first) and report what is missing')
    .option('--json', 'print the full report as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const dataDir = requireDataDir(globalOptions(command).store, REPAIR_ON_POSTGRES);
      const { repairStore } = await import('../integrity/verifyStore.js');
      const report = await withProgress((onProgress) => repairStore({ dataDir, onProgress }));
      printResult(report, options, formatRepairReport);
      if (!report.ok) throw new ExitError(EXIT_FAILURE, '');
    });
}

/** Runs `work` with a progress bar of the bytes checked on stderr when it is a terminal, and quietly otherwise. */
function withProgress<T>(work: (onProgress: VerifyOptions['onProgress']) => Promise<T>): Promise<T> {
  return withProgressBar({ knownTotal: 'checking {bar} {percentage}% | {value}/{total} bytes' }, (bar) =>
    work(bar === undefined ? undefined : (done, total) => bar.update(done, total)),
  );
}

export function formatVerifyReport(report: VerifyReport): string[] {
  const lines = [
    `store      ${escapeForDisplay(report.location)}`,
    `logs       ${count(report.logs.files.filter((file) => !file.name.startsWith('MANIFEST')).length, 'write-ahead log')} and the manifest, ${report.logs.damaged ? `${report.logs.damagedBytes} damaged bytes` : 'intact'}${report.logs.cleanlyClosed ? ' (closed cleanly)' : ''}`,
    `tables     ${count(report.tables.files, 'table file')}, ${count(report.tables.blocks, 'block')} checked${report.tables.damaged > 0 ? `, ${report.tables.damaged} damaged` : ''}`,
    `records    ${count(report.records, 'record')} checked`,
    `events     ${report.events.oldestSeq === undefined ? 'none' : `commits ${report.events.oldestSeq} to ${report.events.newestSeq}`}${report.events.highWater > 0 ? `, retention removed up to ${report.events.highWater}` : ''}`,
  ];
  for (const repair of report.repairs) {
    const missing = repair.missing.map((gap) => (gap.from === gap.to ? `${gap.from}` : `${gap.from}-${gap.to}`)).join(', ') || 'none';
    lines.push(`repaired   ${escapeForDisplay(repair.at)}: ${repair.droppedBytes} log bytes dropped, commits missing: ${missing}`);
  }
  if (report.skipped !== undefined) lines.push(`skipped    ${report.skipped}`);
  for (const problem of report.problems) lines.push(`damaged    ${problem.sublevel} ${escapeForDisplay(problem.key)}: ${escapeForDisplay(problem.message)}`);
  if (report.problemCount > report.problems.length) lines.push(`           … and ${report.problemCount - report.problems.length} more`);
  lines.push(report.ok ? 'result     ok: nothing is damaged' : `result     DAMAGED: ${count(report.problemCount, 'problem')}; ${report.tables.damaged > 0 ? 'restore a backup (a damaged table cannot be repaired in place)' : 'restore a backup, or run llmstate repair'}`);
  return lines;
}

function formatRepairReport(report: RepairReport): string[] {
  const lines = formatVerifyReport(report).filter((line) => !line.startsWith('result'));
  const missing = report.repair.missing.map((gap) => (gap.from === gap.to ? `${gap.from}` : `${gap.from}-${gap.to}`)).join(', ');
  lines.push(`dropped    ${report.repair.droppedBytes} bytes of write-ahead log${report.repair.copy === undefined ? '' : `; the damaged logs are copied in ${escapeForDisplay(report.repair.copy)}`}`);
  lines.push(`missing    ${missing === '' ? 'no commit is missing from the event log' : `commits ${missing}: the writes they held may be lost`}`);
  lines.push(
    report.ok
      ? 'result     repaired: the store opens again; this loss is on record and later verifications report it as known'
      : `result     repaired, but ${count(report.problemCount, 'record')} still fail their checks: delete or overwrite them, or restore a backup`,
  );
  return lines;
}
