/**
 * Shared helpers for the benchmarks: timing, percentiles, temp dirs, GC, and printing.
 *
 * Every benchmark measures the runtime and raw classic-level in the same process, on fresh temp dirs,
 * and reports medians over several repetitions. See docs/performance.md.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { seededRandom } from '../src/seededRandom.js';

export interface BenchContext {
  /** Smaller sizes, for a smoke run. */
  readonly quick: boolean;
  /** Measured repetitions (after warm-up). */
  readonly reps: number;
  /** The store size for benchmarks that build one of a given number of keys (`--keys N`, P6); their default when undefined. */
  readonly keys?: number;
  /** The records P7 migrates (`--records N`); its default when undefined. */
  readonly records?: number;
  /** The PostgreSQL server PG runs against (`--postgres URL`); when undefined, PG looks for one itself. */
  readonly postgres?: string;
  /** Progress lines go here (stderr), so stdout stays the report. */
  log(message: string): void;
}

/** One line of the final table. */
export interface ResultRow {
  id: string;
  metric: string;
  /** Our figure, formatted. */
  ours: string;
  /** The raw classic-level (or Map) figure it is compared with, formatted. */
  raw: string;
  /** ours/raw as the goal reads it (time ratio for latencies, throughput ratio for rates). */
  ratio: string;
  goal: string;
  /** undefined for informational rows. */
  pass?: boolean;
}

/** What one part of a benchmark adds to its result: rows, notes and data. */
export interface Part {
  rows: ResultRow[];
  notes: string[];
  data: Record<string, unknown>;
}

export interface BenchResult {
  id: string;
  title: string;
  rows: ResultRow[];
  /** Free-form lines printed under the benchmark (build times, notes). */
  notes: string[];
  /** Raw numbers, for --json. */
  data: Record<string, unknown>;
  /** Why the benchmark did not run, when it could not (PG without a server). */
  skipped?: string;
}

export type Benchmark = (ctx: BenchContext) => Promise<BenchResult>;

/**
 * Runs every side of one repetition, rotating which goes first with each repetition (with two sides,
 * swapping them on odd repetitions), so no side always pays for another's leftover garbage or compaction.
 */
export async function inAlternatingOrder(rep: number, ...sides: Array<() => Promise<void>>): Promise<void> {
  for (let j = 0; j < sides.length; j++) await sides[(j + rep) % sides.length]();
}

export const now = (): bigint => process.hrtime.bigint();

/** CPU time of the whole process (every thread: JS, LevelDB's writer and compaction, GC), in ns. */
export function cpuNs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1_000;
}

/**
 * CPU time of the calling thread (the main thread, for a benchmark), in ns, from `/proc/thread-self/stat`
 * in clock ticks (USER_HZ, 100 a second on Linux); undefined where there is no such file.
 */
export function threadCpuNs(): number | undefined {
  let stat: string;
  try {
    stat = readFileSync('/proc/thread-self/stat', 'utf8');
  } catch {
    return undefined;
  }
  // The fields after the command name, which may itself hold spaces: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000_000;
}

/** Nanoseconds between two hrtime.bigint readings, as a number. */
export const elapsedNs = (start: bigint, end: bigint = now()): number => Number(end - start);

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return sum / values.length;
}

/** Nearest-rank percentile of an already sorted array; p in [0, 100]. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  /** samples */
  n: number;
}

/** Summarises latencies given in nanoseconds. Sorts the array in place. */
export function summarize(samplesNs: Float64Array): LatencySummary {
  samplesNs.sort();
  return { p50: percentile(samplesNs, 50), p95: percentile(samplesNs, 95), p99: percentile(samplesNs, 99), mean: mean(samplesNs), n: samplesNs.length };
}

/** The median of each field over several summaries. */
export function medianSummary(summaries: readonly LatencySummary[]): LatencySummary {
  return {
    p50: median(summaries.map((s) => s.p50)),
    p95: median(summaries.map((s) => s.p95)),
    p99: median(summaries.map((s) => s.p99)),
    mean: median(summaries.map((s) => s.mean)),
    n: median(summaries.map((s) => s.n)),
  };
}

/** Runs the collector when node was started with --expose-gc; a no-op otherwise. */
export function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (typeof collect === 'function') {
    collect();
    collect();
  }
}

export const hasGc = (): boolean => typeof (globalThis as { gc?: unknown }).gc === 'function';

/** A fresh, empty temp directory, and a function that deletes it. */
export async function tempDir(label: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `llmstate-bench-${label}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true, maxRetries: 3 }) };
}

/** Raw classic-level with Buffer keys and values, as the runtime's backend opens it. */
export type RawDb = ClassicLevel<Buffer, Buffer>;

export async function openRaw(dir: string): Promise<RawDb> {
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  return db;
}

/**
 * Runs `fn` with a fresh temp dir and removes the dir afterwards, whatever happens. `fn` must close any
 * store it opened there before it returns or throws.
 */
export async function withTempDir<T>(label: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const { dir, remove } = await tempDir(label);
  try {
    return await fn(dir);
  } finally {
    await remove();
  }
}

/** Runs `fn` on a raw store in a fresh temp dir; the store is closed and the dir removed afterwards. */
export async function withRawDb<T>(label: string, fn: (db: RawDb, dir: string) => Promise<T>): Promise<T> {
  return withTempDir(label, async (dir) => {
    const db = await openRaw(dir);
    try {
      return await fn(db, dir);
    } finally {
      await db.close();
    }
  });
}

/** A deterministic PRNG (the runtime's own), so every run writes the same keys in the same order. */
export const rng = seededRandom;

const WORDS = (
  'the a user assistant tool call result weather search plan step agent memory note task answer ' +
  'question context token model prompt reply summary file code error retry budget cost time city'
).split(' ');

/**
 * An agent-like value of about `bytes` bytes of JSON (the default is about 100 B): a role, a counter and
 * text drawn from a small vocabulary by a seeded PRNG, so it compresses about as well as chat text does.
 */
export function sampleValue(i: number, bytes = 100): { role: string; n: number; text: string } {
  const base = JSON.stringify({ role: 'assistant', n: i, text: '' }).length;
  const random = rng(i + 1);
  let text = '';
  while (text.length < bytes - base) text += `${WORDS[(random() * WORDS.length) | 0]} `;
  return { role: 'assistant', n: i, text: text.slice(0, Math.max(0, bytes - base)) };
}

// ---- formatting -------------------------------------------------------------------------------------

export function fmtNs(ns: number): string {
  if (!Number.isFinite(ns)) return 'n/a';
  if (ns < 1_000) return `${ns.toFixed(0)} ns`;
  if (ns < 1_000_000) return `${(ns / 1_000).toFixed(ns < 10_000 ? 2 : 1)} µs`;
  if (ns < 1_000_000_000) return `${(ns / 1_000_000).toFixed(ns < 10_000_000 ? 2 : 1)} ms`;
  return `${(ns / 1_000_000_000).toFixed(2)} s`;
}

export function fmtRate(opsPerSec: number): string {
  if (!Number.isFinite(opsPerSec)) return 'n/a';
  if (opsPerSec >= 1_000_000) return `${(opsPerSec / 1_000_000).toFixed(2)}M/s`;
  if (opsPerSec >= 1_000) return `${(opsPerSec / 1_000).toFixed(1)}k/s`;
  return `${opsPerSec.toFixed(0)}/s`;
}

export function fmtRatio(ratio: number): string {
  return Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : 'n/a';
}

export const PASS = (ok: boolean): string => (ok ? 'met' : 'MISSED');

/** A plain-text table with a header row. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (c ?? '').padEnd(widths[i])).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function printResult(result: BenchResult): void {
  if (result.skipped !== undefined) {
    console.log(`\n== ${result.id} skipped: ${result.skipped}`);
    return;
  }
  console.log(`\n== ${result.id}: ${result.title}`);
  console.log(
    table(
      ['metric', 'llmstate', 'raw', 'ratio', 'goal', 'status'],
      result.rows.map((r) => [r.metric, r.ours, r.raw, r.ratio, r.goal, r.pass === undefined ? '' : PASS(r.pass)]),
    ),
  );
  for (const note of result.notes) console.log(`   ${note}`);
}

/** Loops until `fn` has run `count` times, with at most `width` calls in flight (async workers). */
export async function inFlight(width: number, count: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, count) }, worker));
}
