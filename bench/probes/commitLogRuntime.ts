/**
 * Probe: what P1 and P2 would measure if the runtime wrote through the commit log (WriteAheadLog.ts). The
 * compiled runtime's storage backend is patched: `batch` appends a frame and acknowledges, the log's
 * background apply calls the backend's own `batch`, and `get` and `iterate` wait for the apply first.
 * Every side runs in this one process, alternating, beside raw classic-level's references.
 *
 *   node --expose-gc --import tsx bench/probes/commitLogRuntime.ts p1 [reps] [count]
 *   node --expose-gc --import tsx bench/probes/commitLogRuntime.ts p2 [reps] [count]
 */
import { createRuntime, Scope, storedKey, storedValue, type Runtime } from '../common.js';
import { concurrentSets } from '../concurrentSets.js';
import { cpuNs, elapsedNs, fmtNs, gc, median, now, rng, sampleValue, summarize, withRawDb, withTempDir, type LatencySummary } from '../harness.js';
import { runtimeInternals } from '../subject.js';
import { sqlitePeer } from '../sqlitePeer.js';
import type { BatchOp, StorageBackend } from '../../src/storage/StorageBackend.js';
import { WriteAheadLog } from './WriteAheadLog.js';

const { storageOf } = runtimeInternals;

/**
 * Runs `fn` on a runtime in a fresh dir, with the commit log in front of its store when `withLog`:
 * 'nextTick' acknowledges as soon as the frame is written, so CommitScheduler's next flush (on nextTick)
 * follows without an event-loop turn; 'immediate' acknowledges on the next turn, in which the background
 * apply's completion is seen.
 */
async function withRuntimeMaybeLogged<T>(withLog: false | 'nextTick' | 'immediate', fn: (rt: Runtime, log: WriteAheadLog | undefined) => Promise<T>): Promise<T> {
  return withTempDir('clrt', (dir) =>
    withTempDir('clrt-log', async (logDir) => {
      const rt = await createRuntime({ dataDir: dir });
      const storage = storageOf(rt) as StorageBackend & Record<string, unknown>;
      let log: WriteAheadLog | undefined;
      const originals = { batch: storage.batch, get: storage.get, iterate: storage.iterate };
      try {
        if (withLog) {
          const batch = storage.batch.bind(storage);
          const get = storage.get.bind(storage);
          const iterate = storage.iterate.bind(storage);
          const opened = await WriteAheadLog.open(logDir, (ops, sync) => batch(ops, { sync }));
          const wal = (log = opened.log);
          const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
          storage.batch = withLog === 'nextTick' ? (ops: readonly BatchOp[]) => wal.batch(ops) : (ops: readonly BatchOp[]) => wal.batch(ops).then(turn);
          storage.get = async (...args: Parameters<StorageBackend['get']>) => {
            await wal.caughtUp();
            return get(...args);
          };
          storage.iterate = async function* (...args: Parameters<StorageBackend['iterate']>) {
            await wal.caughtUp();
            yield* iterate(...args);
          };
        }
        return await fn(rt, log);
      } finally {
        if (log !== undefined) {
          await log.close();
          Object.assign(storage, originals);
        }
        await rt.close();
      }
    }),
  );
}

const fmtRange = (values: number[], fmt: (n: number) => string) => `${fmt(median(values))} (${fmt(Math.min(...values))}–${fmt(Math.max(...values))})`;
const ratio = (n: number) => `${n.toFixed(2)}×`;

interface Sample extends LatencySummary {
  cpu: number;
}

async function p1(reps: number, count: number): Promise<void> {
  const warmup = 5_000;
  const scope = Scope.agent('a1');
  const value = sampleValue(1);
  const rawKey = storedKey(scope, 'topic');
  const rawValue = storedValue(value);
  const loop = async (body: () => unknown, log?: WriteAheadLog): Promise<Sample> => {
    for (let i = 0; i < warmup; i++) await body();
    await log?.caughtUp();
    const samples = new Float64Array(count);
    const cpu = cpuNs();
    for (let i = 0; i < count; i++) {
      const start = now();
      await body();
      samples[i] = elapsedNs(start);
    }
    await log?.caughtUp();
    return { ...summarize(samples), cpu: (cpuNs() - cpu) / count };
  };
  const peer = sqlitePeer();
  const sides: [string, () => Promise<Sample>][] = [
    ['raw db.put', () => withRawDb('clrt-put', (db) => loop(() => db.put(rawKey, rawValue)))],
    ['runtime set (as today)', () => withRuntimeMaybeLogged(false, (rt) => loop(() => rt.state.set(scope, 'topic', value)))],
    ['runtime set through the commit log', () => withRuntimeMaybeLogged('nextTick', (rt, log) => loop(() => rt.state.set(scope, 'topic', value), log))],
    ['runtime set through the commit log, acknowledged on the next turn', () => withRuntimeMaybeLogged('immediate', (rt, log) => loop(() => rt.state.set(scope, 'topic', value), log))],
    ...(peer ? [['SQLite put', () => peer.withStore('clrt-sqlite', (store) => loop(() => store.put(rawKey, rawValue)))] as [string, () => Promise<Sample>]] : []),
  ];
  const results = new Map<string, Sample[]>(sides.map(([name]) => [name, []]));
  for (let rep = 0; rep < reps; rep++) {
    for (let j = 0; j < sides.length; j++) {
      const [name, run] = sides[(j + rep) % sides.length];
      gc();
      const r = await run();
      results.get(name)!.push(r);
      process.stderr.write(`rep ${rep + 1} ${name}: p50 ${fmtNs(r.p50)} mean ${fmtNs(r.mean)}\n`);
    }
  }
  const ref = results.get('raw db.put')!;
  console.log(`\nRuntime P1 what-if: ${count} awaited sets × ${reps} reps after ${warmup}; medians (range); ratios within each rep\n`);
  console.log('| side | p50 | mean | p99 | process CPU/op | p50 vs raw put | mean vs raw put |\n|---|---|---|---|---|---|---|');
  for (const [name, rs] of results) {
    console.log(
      `| ${name} | ${fmtRange(rs.map((r) => r.p50), fmtNs)} | ${fmtNs(median(rs.map((r) => r.mean)))} | ${fmtNs(median(rs.map((r) => r.p99)))} | ${fmtNs(median(rs.map((r) => r.cpu)))} | ` +
        `${fmtRange(rs.map((r, i) => r.p50 / ref[i].p50), ratio)} | ${ratio(median(rs.map((r, i) => r.mean / ref[i].mean)))} |`,
    );
  }
}

async function p2(reps: number, count: number): Promise<void> {
  const warmup = 30_000;
  const { scopes, keys, values, drive } = concurrentSets();
  const rawKeys = scopes.flatMap((scope) => keys.map((key) => storedKey(scope, key)));
  const rawValues = values.map((value) => storedValue(value));
  const runtime = (withLog: false | 'nextTick' | 'immediate') => () =>
    withRuntimeMaybeLogged(withLog, async (rt, log) => {
      await drive(rt, warmup, 1);
      await log?.caughtUp();
      const cpu = cpuNs();
      const start = now();
      await drive(rt, count, 2);
      // Until the store holds every write: acknowledged but unapplied writes are work still owed.
      await log?.caughtUp();
      const ns = elapsedNs(start);
      return { rate: (count / ns) * 1e9, cpu: (cpuNs() - cpu) / count, waits: log?.stats.backpressureWaits ?? 0 };
    });
  const sides: [string, () => Promise<{ rate: number; cpu: number; waits: number }>][] = [
    [
      'raw chained batches of 100',
      () =>
        withRawDb('clrt-chain', async (db) => {
          const body = async (n: number, seed: number) => {
            const random = rng(seed);
            for (let done = 0; done < n; done += 100) {
              const batch = db.batch();
              for (let j = 0; j < Math.min(100, n - done); j++) batch.put(rawKeys[(random() * rawKeys.length) | 0], rawValues[(done + j) & 63]);
              await batch.write();
            }
          };
          await body(warmup, 1);
          const cpu = cpuNs();
          const start = now();
          await body(count, 2);
          return { rate: (count / elapsedNs(start)) * 1e9, cpu: (cpuNs() - cpu) / count, waits: 0 };
        }),
    ],
    ['runtime set (as today)', runtime(false)],
    ['runtime set through the commit log', runtime('nextTick')],
    ['runtime set through the commit log, acknowledged on the next turn', runtime('immediate')],
  ];
  const results = new Map<string, { rate: number; cpu: number; waits: number }[]>(sides.map(([name]) => [name, []]));
  for (let rep = 0; rep < reps; rep++) {
    for (let j = 0; j < sides.length; j++) {
      const [name, run] = sides[(j + rep) % sides.length];
      gc();
      const r = await run();
      results.get(name)!.push(r);
      process.stderr.write(`rep ${rep + 1} ${name}: ${(r.rate / 1000).toFixed(1)}k/s cpu ${fmtNs(r.cpu)}\n`);
    }
  }
  const ref = results.get('raw chained batches of 100')!;
  console.log(`\nRuntime P2 what-if: ${count} sets × ${reps} reps after ${warmup}, 64 in flight over 1,000 agents; medians (range)\n`);
  console.log('| side | writes/s | vs raw chained 100 | process CPU/write |\n|---|---|---|---|');
  for (const [name, rs] of results) {
    console.log(`| ${name} | ${fmtRange(rs.map((r) => r.rate), (n) => `${(n / 1000).toFixed(1)}k`)} | ${fmtRange(rs.map((r, i) => r.rate / ref[i].rate), ratio)} | ${fmtNs(median(rs.map((r) => r.cpu)))} |`);
  }
}

const [mode, a, b] = process.argv.slice(2);
if (mode === 'p1') await p1(Number(a ?? 3), Number(b ?? 20_000));
else if (mode === 'p2') await p2(Number(a ?? 3), Number(b ?? 200_000));
else {
  console.error('usage: commitLogRuntime.ts p1|p2 [reps] [count]');
  process.exitCode = 2;
}
