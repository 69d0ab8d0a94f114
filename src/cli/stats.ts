import type { Command } from 'commander';
import { readdir, stat } from 'node:fs/promises';
import { escapeForDisplay } from '../displayText.js';
import { LlmStateError } from '../errors.js';
import { join, resolve } from 'node:path';
import { readLastSeq } from '../events/eventLog.js';
import { storageOf, type Runtime } from '../runtime.js';
import { SCOPE_KINDS, type ScopeKind } from '../state/Scope.js';
import { decodeStateKey } from '../state/keyCodec.js';
import { decodeRecord } from '../state/recordEnvelope.js';
import type { StoreFormat } from '../state/storeFormat.js';
import { globalOptions } from './globalOptions.js';
import { printJson, printLine } from './output.js';
import { withRuntime } from './withRuntime.js';

export interface KindStats {
  /** Distinct scopes of this kind that hold at least one key. */
  scopes: number;
  keys: number;
  /** Stored bytes of the values' records. */
  valueBytes: number;
}

export interface StoreStats {
  dataDir: string;
  storeFormat: number;
  /** ISO 8601 time the store was created. */
  createdAt: string;
  lastCommitSeq: number;
  kinds: Record<ScopeKind, KindStats>;
  total: KindStats;
  /** State keys that do not decode as (scope, key); they should not exist. */
  unrecognisedKeys: number;
  eventLogRecords: number;
  /** Bytes of every file under the data directory. */
  sizeOnDisk: number;
}

const FORMAT_KEY = Buffer.from('format', 'utf8');

/** Adds `stats`. */
export function registerStatsCommand(program: Command): void {
  program
    .command('stats')
    .description('summarise the store: format, commit sequence, keys and scopes per kind, event log, size')
    .option('--json', 'print the figures as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const { dataDir } = globalOptions(command);
      const stats = await withRuntime(dataDir, 'existing', (rt) => collectStats(rt, dataDir));
      if (options.json === true) printJson(stats, 2);
      else for (const line of formatStats(stats)) printLine(line);
    });
}

/** Scans the store under an open runtime. Reads only; the runtime must not be taking writes meanwhile. */
export async function collectStats(rt: Runtime, dataDir: string): Promise<StoreStats> {
  const storage = storageOf(rt);
  const rawFormat = await storage.get('meta', FORMAT_KEY);
  const format = rawFormat === undefined ? undefined : (JSON.parse(decodeRecord(rawFormat).payload.toString('utf8')) as StoreFormat);

  const kinds = Object.fromEntries(SCOPE_KINDS.map((kind) => [kind, emptyKindStats()])) as Record<ScopeKind, KindStats>;
  let unrecognisedKeys = 0;
  // Keys sort by scope first, so the keys of one scope are contiguous: a new scope starts where the text changes.
  let previousScope = '';
  for await (const [key, value] of storage.iterate('state')) {
    const decoded = decodeStateKey(key);
    if (decoded === undefined) {
      unrecognisedKeys++;
      continue;
    }
    const counts = kinds[decoded.scope.kind];
    const scopeText = decoded.scope.toString();
    if (scopeText !== previousScope) counts.scopes++;
    previousScope = scopeText;
    counts.keys++;
    counts.valueBytes += value.length;
  }

  let eventLogRecords = 0;
  for await (const _ of storage.iterate('events')) eventLogRecords++;

  const total = emptyKindStats();
  for (const counts of Object.values(kinds)) {
    total.scopes += counts.scopes;
    total.keys += counts.keys;
    total.valueBytes += counts.valueBytes;
  }
  return {
    dataDir: resolve(dataDir),
    storeFormat: format?.format ?? 0,
    createdAt: new Date(format?.createdAt ?? 0).toISOString(),
    lastCommitSeq: await readLastSeq(storage),
    kinds,
    total,
    unrecognisedKeys,
    eventLogRecords,
    sizeOnDisk: await directorySize(resolve(dataDir)),
  };
}

function emptyKindStats(): KindStats {
  return { scopes: 0, keys: 0, valueBytes: 0 };
}

/**
 * Bytes of every file under `directory`. LevelDB may delete a file (after a compaction) between the
 * listing and its stat: such a file counts nothing.
 *
 * @throws {STORAGE_FAILED} when the directory cannot be read.
 */
async function directorySize(directory: string): Promise<number> {
  let bytes = 0;
  const entries = await unlessGone(directory, () => readdir(directory, { withFileTypes: true }));
  for (const entry of entries ?? []) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) bytes += await directorySize(path);
    else if (entry.isFile()) bytes += (await unlessGone(path, () => stat(path)))?.size ?? 0;
  }
  return bytes;
}

/** What `read` gives, or undefined when `path` is gone. @throws {STORAGE_FAILED} for any other error. */
async function unlessGone<T>(path: string, read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LlmStateError('STORAGE_FAILED', `Cannot read ${path} to measure the store: ${(error as Error).message}`, {
      cause: error,
      details: { location: path },
    });
  }
}

/** The text form of `llmstate stats`. */
export function formatStats(stats: StoreStats): string[] {
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

function formatBytes(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB'];
  let size = bytes;
  let unit = 'bytes';
  for (const next of units) {
    if (size < 1024) break;
    size /= 1024;
    unit = next;
  }
  return unit === 'bytes' ? `${bytes} bytes` : `${size.toFixed(1)} ${unit} (${bytes} bytes)`;
}
