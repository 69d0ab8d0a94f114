import type { Command } from 'commander';
import { resolve } from 'node:path';
import { escapeForDisplay } from '../displayText.js';
import type { Runtime } from '../runtime.js';
import type { KindStats, StoreStats } from '../storeStats.js';
import { globalOptions } from './globalOptions.js';
import { formatBytes, printResult } from './output.js';
import { redactPostgresUrl } from './postgresUrl.js';
import { isPostgresStore, type StoreSource } from './storeSource.js';
import { withRuntime } from './withRuntime.js';

/** Where the store of a {@link StatsReport} is: its data directory, or its PostgreSQL URL (password hidden) and schema. */
export type StatsLocation = { dataDir: string } | { postgres: string; schema: string };

/**
 * What `llmstate stats` prints: {@link StoreStats}, with where the store is and the creation time as ISO
 * 8601. On PostgreSQL, `sizeOnDisk` is what the store's tables and their indexes take on disk.
 */
export type StatsReport = StatsLocation &
  Omit<StoreStats, 'createdAt'> & {
    /** ISO 8601 time the store was created. */
    createdAt: string;
  };

/** Adds `stats`. */
export function registerStatsCommand(program: Command): void {
  program
    .command('stats')
    .description('summarise the store: format, commit sequence, keys and scopes per kind, event log, size')
    .option('--json', 'print the figures as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const { store } = globalOptions(command);
      const stats = await withRuntime(store, 'existing', (rt) => collectStats(rt, store));
      printResult(stats, options, formatStats);
    });
}

/** `rt.stats()`, in the form `llmstate stats` prints. */
export async function collectStats(rt: Runtime, store: StoreSource): Promise<StatsReport> {
  const { storeFormat, createdAt, ...counts } = await rt.stats();
  const location = isPostgresStore(store) ? { postgres: redactPostgresUrl(store.postgres), schema: store.schema } : { dataDir: resolve(store.dataDir) };
  return { ...location, storeFormat, createdAt: new Date(createdAt).toISOString(), ...counts };
}

/** The text form of `llmstate stats`. */
export function formatStats(stats: StatsReport): string[] {
  const lines = [
    ...formatLocation(stats),
    `store format      ${stats.storeFormat} (created ${stats.createdAt})`,
    `last commit seq   ${stats.lastCommitSeq}`,
    `event-log records ${stats.eventLogRecords}`,
    `size on disk      ${formatBytes(stats.sizeOnDisk)}${'postgres' in stats ? ' of tables and indexes' : ''}`,
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

function formatLocation(stats: StatsLocation): string[] {
  if ('dataDir' in stats) return [`data dir          ${escapeForDisplay(stats.dataDir)}`];
  return [`postgres          ${escapeForDisplay(stats.postgres)}`, `schema            ${escapeForDisplay(stats.schema)}`];
}
