import type { Command } from 'commander';
import { resolve } from 'node:path';
import { escapeForDisplay } from '../displayText.js';
import type { Runtime } from '../runtime.js';
import type { KindStats, StoreStats } from '../storeStats.js';
import { globalOptions } from './globalOptions.js';
import { formatBytes, printResult } from './output.js';
import { withRuntime } from './withRuntime.js';

/** What `llmstate stats` prints: {@link StoreStats}, with the data directory and the creation time as ISO 8601. */
export interface StatsReport extends Omit<StoreStats, 'createdAt'> {
  dataDir: string;
  /** ISO 8601 time the store was created. */
  createdAt: string;
}

/** Adds `stats`. */
export function registerStatsCommand(program: Command): void {
  program
    .command('stats')
    .description('summarise the store: format, commit sequence, keys and scopes per kind, event log, size')
    .option('--json', 'print the figures as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const { dataDir } = globalOptions(command);
      const stats = await withRuntime(dataDir, 'existing', (rt) => collectStats(rt, dataDir));
      printResult(stats, options, formatStats);
    });
}

/** `rt.stats()`, in the form `llmstate stats` prints. */
export async function collectStats(rt: Runtime, dataDir: string): Promise<StatsReport> {
  const { storeFormat, createdAt, ...counts } = await rt.stats();
  return { dataDir: resolve(dataDir), storeFormat, createdAt: new Date(createdAt).toISOString(), ...counts };
}

/** The text form of `llmstate stats`. */
export function formatStats(stats: StatsReport): string[] {
  const lines = [
    `data dir          ${escapeForDisplay(stats.dataDir)}`,
    `store format      ${stats.storeFormat} (created ${stats.createdAt})`,
    `last commit seq   ${stats.lastCommitSeq}`,
    `event-log records ${stats.eventLogRecords}`,
    `size on disk      ${formatBytes(stats.sizeOnDisk)}`,
    '',
    `${'kind'.padEnd(10)}${'scopes'.padStart(8)}${'keys'.padStart(10)}${'value bytes'.padStart(14)}`,
  ];
  const rows: [string, KindStats][] = [...Object.entries(stats.kinds), ['total', stats.total]];
  for (const [name, counts] of rows) {
    lines.push(`${name.padEnd(10)}${String(counts.scopes).padStart(8)}${String(counts.keys).padStart(10)}${String(counts.valueBytes).padStart(14)}`);
  }
  if (stats.unrecognisedKeys > 0) lines.push('', `unrecognised state keys: ${stats.unrecognisedKeys}`);
  return lines;
}
