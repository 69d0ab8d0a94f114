import type { BackupDescriptor, PruneResult, RestoreResult, RetentionPlan, ScopeChanges, VerifyResult } from '../backup/Backups.js';
import { escapeForDisplay } from '../displayText.js';
import { count, formatBytes, formatTable, isoTime, shortBytes, type Styles } from './output.js';

/** The text forms of what the `backup` commands print. Every id, path, scope and key passes the display escape. */

/** `backup create`: the new backup, one field a line. */
export function formatDescriptor(backup: BackupDescriptor): string[] {
  return [
    `id           ${escapeForDisplay(backup.id)}`,
    `kind         ${backup.kind}`,
    `parent       ${backup.parentId === null ? '-' : escapeForDisplay(backup.parentId)}`,
    `seq          ${backup.seq}`,
    `records      ${backup.records}`,
    `bytes        ${formatBytes(backup.bytes)}`,
    `compression  ${backup.compression}`,
    `encrypted    ${backup.encrypted ? 'yes' : 'no'}`,
    `file         ${escapeForDisplay(backup.file)}`,
  ];
}

/** `backup list`: a table, oldest first. */
export function formatBackupList(backups: readonly BackupDescriptor[], styles: Styles): string[] {
  const rows = backups.map((backup) => [
    backup.id,
    isoTime(backup.createdAt),
    backup.kind,
    backup.parentId ?? '-',
    String(backup.seq),
    String(backup.records),
    shortBytes(backup.bytes),
    flagsOf(backup),
    backup.reason,
  ]);
  return formatTable(['id', 'created', 'kind', 'parent', 'seq', 'records', 'size', 'flags', 'reason'], rows, new Set([4, 5, 6]), styles);
}

function flagsOf(backup: BackupDescriptor): string {
  const flags = [backup.pinned ? 'pinned' : '', backup.encrypted ? 'encrypted' : ''].filter((flag) => flag !== '');
  return flags.length === 0 ? '-' : flags.join(',');
}

/** `backup verify`. */
export function formatVerified(result: VerifyResult): string[] {
  return [`ok: ${escapeForDisplay(result.id)} (chain of ${result.chain.length}, ${count(result.records, 'record')})`];
}

const MODES: Record<RestoreResult['mode'], string> = { full: 'everything', pointInTime: 'point in time', scopes: 'some scopes' };

/** `backup restore`: what was restored and the safety backup, or for a dry run what would change. */
export function formatRestore(result: RestoreResult): string[] {
  const id = escapeForDisplay(result.id);
  const replayed = result.replayedCommits > 0 || result.mode === 'pointInTime' ? `, then ${count(result.replayedCommits, 'commit')} replayed from the event log` : '';
  const what = `backup ${id} (${MODES[result.mode]}${result.scopes === undefined ? '' : `: ${result.scopes.map((scope) => escapeForDisplay(scope)).join(', ')}`}) as of sequence ${result.restoredSeq}: ${count(result.records, 'record')} read${replayed}`;
  const lines = [result.dryRun ? `dry run: restoring ${what}` : `restored ${what}`];
  if (result.safetyBackupId !== undefined) {
    lines.push(`safety backup ${escapeForDisplay(result.safetyBackupId)}, taken just before: restore it to undo this`);
  }
  if (result.changes !== undefined) lines.push(...formatChanges(result.changes, result.dryRun));
  if (result.dryRun) lines.push('nothing was written');
  return lines;
}

function formatChanges(changes: readonly ScopeChanges[], dryRun: boolean): string[] {
  if (changes.length === 0) return [dryRun ? 'no state would change' : 'no state changed'];
  const lines = [dryRun ? 'would change:' : 'changed:'];
  for (const scope of changes) {
    lines.push(`  ${escapeForDisplay(scope.scope)}: ${scope.added} added, ${scope.changed} changed, ${scope.removed} removed`);
    for (const what of ['added', 'changed', 'removed'] as const) {
      const samples = scope.samples[what];
      if (samples.length === 0) continue;
      const more = scope[what] > samples.length ? `, … ${scope[what] - samples.length} more` : '';
      lines.push(`    ${what.padEnd(8)} ${samples.map((key) => escapeForDisplay(key)).join(', ')}${more}`);
    }
  }
  return lines;
}

/** `backup prune`: each backup's decision and its reasons, then the totals. */
export function formatPrune(plan: RetentionPlan, backups: readonly BackupDescriptor[], dryRun: boolean, styles: Styles): string[] {
  const byId = new Map(backups.map((backup) => [backup.id, backup]));
  const rows = plan.decisions.map(({ id, keep, reasons }) => {
    const backup = byId.get(id);
    return [keep ? 'keep' : 'delete', id, backup === undefined ? '-' : isoTime(backup.createdAt), backup === undefined ? '-' : shortBytes(backup.bytes), reasons.join('; ')];
  });
  const deleted = plan.decisions.filter((decision) => !decision.keep).length;
  const kept = plan.decisions.length - deleted;
  const lines = rows.length === 0 ? [] : formatTable(['decision', 'id', 'created', 'size', 'reasons'], rows, new Set([3]), styles);
  lines.push(
    dryRun
      ? `dry run: would delete ${count(deleted, 'backup')} (${shortBytes(plan.deletedBytes)}) and keep ${kept} (${shortBytes(plan.keptBytes)}); nothing was deleted`
      : `deleted ${count(deleted, 'backup')} (${shortBytes(plan.deletedBytes)}), kept ${kept} (${shortBytes(plan.keptBytes)})`,
  );
  if (plan.overBudgetBytes > 0) lines.push(`still ${shortBytes(plan.overBudgetBytes)} over --max-total-bytes: pinned backups, and those a kept backup builds on, are never deleted`);
  return lines;
}

/** What `backup prune --json` prints. */
export function pruneJson(result: PruneResult | { plan: RetentionPlan }, dryRun: boolean): unknown {
  return { dryRun, ...result };
}
