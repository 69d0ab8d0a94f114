/**
 * Probe: would a commit log in front of LevelDB (WriteAheadLog.ts) beat classic-level's thread-pool hop?
 * Every side runs in this one process, on fresh temp dirs, in an order rotated each repetition.
 *
 *   node --expose-gc --import tsx bench/probes/commitLog.ts p1 [reps] [count]      # one awaited write at a time
 *   node --expose-gc --import tsx bench/probes/commitLog.ts p2 [reps] [count] [valueBytes]  # 64 writers, 1,000 agents × 10 keys
 *   node --expose-gc --import tsx bench/probes/commitLog.ts sync [reps] [count]    # durability 'sync'
 *   node --expose-gc --import tsx bench/probes/commitLog.ts recovery [reps]        # replay of 4 MiB and 64 MiB logs
 *   node --import tsx bench/probes/commitLog.ts crash [rounds]                     # SIGKILL a writer, check every ack survived
 *
 * The payload of one write is the runtime's: the state record (118 B with its `!state!` key) and an
 * event-log commit record of about 260 B that repeats the value, as CommitScheduler.#write builds them.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, openSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { causalJson, encodeCommitRecordJson, encodeSeqKey, eventId, eventsArrayJson, stateEventJson } from '../../src/events/eventLog.js';
import type { BatchOp } from '../../src/storage/StorageBackend.js';
import { keyCodec, recordEnvelope } from '../subject.js';
import { Scope } from '../common.js';
import {
  cpuNs,
  elapsedNs,
  fmtNs,
  gc,
  median,
  now,
  openRaw,
  rng,
  sampleValue,
  summarize,
  threadCpuNs,
  withTempDir,
  type LatencySummary,
  type RawDb,
} from '../harness.js';
import { sqlitePeer } from '../sqlitePeer.js';
import { encodeFrame, levelApply, prefixed as withPrefix, WriteAheadLog, type WriteAheadLogOptions } from './WriteAheadLog.js';

const STATE_PREFIX = Buffer.from('!state!');
const EVENTS_PREFIX = Buffer.from('!events!');
const prefixed = (prefix: Buffer, key: Buffer) => Buffer.concat([prefix, key]);

/** The runtime's two records for setting `key` of `scope` to `value` in commit `seq`. */
function writeOps(scope: Scope, key: string, value: unknown, seq: number): [BatchOp, BatchOp] {
  const json = JSON.stringify(value);
  const timestamp = Date.now();
  const event = stateEventJson('state.set', JSON.stringify(scope.toString()), key, causalJson(eventId(seq, 0)), json);
  return [
    { type: 'put', sublevel: 'state', key: keyCodec.encodeStateKey(scope, key), value: recordEnvelope.encodeRecord({ seq, timestamp }, json) },
    { type: 'put', sublevel: 'events', key: encodeSeqKey(seq), value: encodeCommitRecordJson(seq, timestamp, eventsArrayJson([event])) },
  ];
}

/** A fresh raw store, and the log in front of it when `log` is given; both closed and removed afterwards. */
async function withStore<T>(label: string, log: WriteAheadLogOptions | undefined, fn: (db: RawDb, wal: WriteAheadLog | undefined, dir: string) => Promise<T>): Promise<T> {
  return withTempDir(label, async (dir) => {
    const db = await openRaw(join(dir, 'db'));
    const wal = log === undefined ? undefined : (await WriteAheadLog.open(dir, levelApply(db), log)).log;
    try {
      return await fn(db, wal, dir);
    } finally {
      await wal?.close();
      await db.close();
    }
  });
}

interface Side<R> {
  name: string;
  run: () => Promise<R>;
}

async function alternate<R>(reps: number, sides: Side<R>[], report: (name: string, r: R) => string): Promise<Map<string, R[]>> {
  const results = new Map<string, R[]>(sides.map((side) => [side.name, []]));
  for (let rep = 0; rep < reps; rep++) {
    for (let j = 0; j < sides.length; j++) {
      const side = sides[(j + rep) % sides.length];
      gc();
      const r = await side.run();
      results.get(side.name)!.push(r);
      process.stderr.write(`rep ${rep + 1}/${reps} ${side.name}: ${report(side.name, r)}\n`);
    }
  }
  return results;
}

const fmtRange = (values: number[], fmt: (n: number) => string) =>
  `${fmt(median(values))} (${fmt(Math.min(...values))}–${fmt(Math.max(...values))})`;
const ratio = (n: number) => `${n.toFixed(2)}×`;

// ---- P1: one caller awaiting each write ----------------------------------------------------------------

interface P1Result extends LatencySummary {
  cpu: number;
  thread?: number;
  applies?: number;
  calls?: number;
  pendingMax?: number;
  waits?: number;
}

async function p1(reps: number, count: number): Promise<void> {
  const warmup = 5_000;
  const scope = Scope.agent('a1');
  const value = sampleValue(1);
  const [stateOp] = writeOps(scope, 'topic', value, 1);
  const rawKey = prefixed(STATE_PREFIX, stateOp.key);
  const rawValue = (stateOp as { value: Buffer }).value;
  // 64 event records, reused with fresh sequence keys: the bytes per write are the runtime's.
  const events = Array.from({ length: 64 }, (_, i) => writeOps(scope, 'topic', value, 1_000_000 + i)[1] as { value: Buffer });
  const opsFor = (seq: number): BatchOp[] => [stateOp, { type: 'put', sublevel: 'events', key: encodeSeqKey(seq), value: events[seq & 63].value }];

  // With `yields`, the caller gives the event loop a turn between writes, as a caller doing any I/O does;
  // without it, an acknowledgement that needs no I/O keeps the loop in microtasks, and the background
  // apply's completion waits until the caller stops.
  const timed = async (body: (i: number) => Promise<unknown>, wal?: WriteAheadLog, yields = false): Promise<P1Result> => {
    for (let i = 0; i < warmup; i++) {
      await body(i);
      if (yields) await new Promise(setImmediate);
    }
    if (wal !== undefined) await wal.caughtUp();
    const samples = new Float64Array(count);
    const applies = wal?.stats.applies ?? 0;
    const waits = wal?.stats.backpressureWaits ?? 0;
    const calls = wal?.writeCalls ?? 0;
    const cpu = cpuNs();
    const thread = threadCpuNs();
    for (let i = 0; i < count; i++) {
      const start = now();
      await body(warmup + i);
      samples[i] = elapsedNs(start);
      if (yields) await new Promise(setImmediate);
    }
    const threadEnd = threadCpuNs();
    // The background apply of the last frames is part of the work: wait for it inside the CPU window.
    if (wal !== undefined) await wal.caughtUp();
    const result: P1Result = { ...summarize(samples), cpu: (cpuNs() - cpu) / count };
    if (thread !== undefined && threadEnd !== undefined) result.thread = (threadEnd - thread) / count;
    if (wal !== undefined) {
      result.applies = wal.stats.applies - applies;
      result.calls = wal.writeCalls - calls;
      result.pendingMax = wal.stats.pendingFramesMax;
      result.waits = wal.stats.backpressureWaits - waits;
    }
    return result;
  };

  const peer = sqlitePeer();
  const sides: Side<P1Result>[] = [
    { name: 'raw db.put (state record)', run: () => withStore('cl-put', undefined, (db) => timed(() => db.put(rawKey, rawValue))) },
    {
      name: 'raw 2-op batch (state + event)',
      run: () =>
        withStore('cl-b2', undefined, (db) =>
          timed((i) => db.batch().put(rawKey, rawValue).put(prefixed(EVENTS_PREFIX, encodeSeqKey(i + 1)), events[(i + 1) & 63].value).write()),
        ),
    },
    { name: 'log (one write) + apply', run: () => withStore('cl-log', {}, (_db, wal) => timed((i) => wal!.batch(opsFor(i + 1)), wal)) },
    { name: 'log (writev) + apply', run: () => withStore('cl-logv', { form: 'writev' }, (_db, wal) => timed((i) => wal!.batch(opsFor(i + 1)), wal)) },
    {
      name: 'log (one write) + apply, flushed on setImmediate',
      run: () =>
        withStore('cl-logi', {}, (_db, wal) => {
          const group = new GroupCommit((ops) => wal!.batch(ops), 'immediate');
          return timed((i) => group.set(opsFor(i + 1)), wal);
        }),
    },
    { name: 'raw db.put, caller yields between writes', run: () => withStore('cl-puty', undefined, (db) => timed(() => db.put(rawKey, rawValue), undefined, true)) },
    { name: 'log (one write) + apply, caller yields between writes', run: () => withStore('cl-logy', {}, (_db, wal) => timed((i) => wal!.batch(opsFor(i + 1)), wal, true)) },
    ...(peer
      ? [{ name: 'SQLite put (state record)', run: () => peer.withStore('cl-sqlite', (store) => timed(async () => store.put(rawKey, rawValue))) }]
      : []),
  ];
  const results = await alternate(reps, sides, (_n, r) => `p50 ${fmtNs(r.p50)} mean ${fmtNs(r.mean)} cpu ${fmtNs(r.cpu)}`);
  const ref = results.get(sides[0].name)!;
  console.log(`\nP1 shape: ${count} awaited writes × ${reps} reps after ${warmup} warm-up; medians over reps (range); ratios within each rep`);
  console.log(`state record ${rawKey.length + rawValue.length} B, event record ${encodeSeqKey(1).length + EVENTS_PREFIX.length + events[0].value.length} B\n`);
  console.log('| side | p50 | mean | p99 | process CPU/op | main-thread CPU/op | p50 vs db.put | mean vs db.put |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const [name, rs] of results) {
    const p50r = rs.map((r, i) => r.p50 / ref[i].p50);
    const meanr = rs.map((r, i) => r.mean / ref[i].mean);
    const thread = rs.every((r) => r.thread !== undefined) ? fmtNs(median(rs.map((r) => r.thread!))) : '';
    console.log(
      `| ${name} | ${fmtRange(rs.map((r) => r.p50), fmtNs)} | ${fmtNs(median(rs.map((r) => r.mean)))} | ${fmtNs(median(rs.map((r) => r.p99)))} | ` +
        `${fmtNs(median(rs.map((r) => r.cpu)))} | ${thread} | ${fmtRange(p50r, ratio)} | ${ratio(median(meanr))} |`,
    );
    if (rs[0].applies !== undefined) {
      console.log(`|   (frames per background apply ${(count / median(rs.map((r) => r.applies!))).toFixed(1)}, write calls per append ${(median(rs.map((r) => r.calls!)) / count).toFixed(2)}, frames pending at most ${median(rs.map((r) => r.pendingMax!))}, backpressure waits ${median(rs.map((r) => r.waits!))}) |`);
    }
  }

  // Read after write: the log's reads wait for the apply (the read barrier).
  const rw = await alternate(reps, [
    { name: 'raw put, then get', run: () => withStore('cl-rw', undefined, (db) => timed(async () => { await db.put(rawKey, rawValue); await db.get(rawKey); })) },
    { name: 'log append, then get (barrier)', run: () => withStore('cl-rwl', {}, (db, wal) => timed(async (i) => { await wal!.batch(opsFor(i + 1)); await wal!.caughtUp(); await db.get(withPrefix('state', stateOp.key)); }, wal)) },
  ], (_n, r) => `p50 ${fmtNs(r.p50)}`);
  console.log('\n| read after write | p50 | mean | p99 |\n|---|---|---|---|');
  for (const [name, rs] of rw) console.log(`| ${name} | ${fmtRange(rs.map((r) => r.p50), fmtNs)} | ${fmtNs(median(rs.map((r) => r.mean)))} | ${fmtNs(median(rs.map((r) => r.p99)))} |`);
}

// ---- P2: 64 writers in flight over 1,000 agents × 10 keys --------------------------------------------

/** Group commit as CommitScheduler does it: everything queued when the previous write returned, one write in flight. */
class GroupCommit {
  readonly #write: (ops: BatchOp[]) => Promise<void>;
  readonly #defer: (fn: () => void) => void;
  #queue: { ops: readonly BatchOp[]; resolve: () => void; reject: (e: unknown) => void }[] = [];
  #scheduled = false;
  #flushing = false;
  groups = 0;

  /**
   * `tick` is when a flush runs after the first write queues: 'nextTick', as CommitScheduler does, keeps a
   * busy caller in microtasks; 'immediate' gives the event loop a turn first, in which the background
   * apply's completion is seen.
   */
  constructor(write: (ops: BatchOp[]) => Promise<void>, tick: 'nextTick' | 'immediate' = 'nextTick') {
    this.#write = write;
    this.#defer = tick === 'nextTick' ? (fn) => process.nextTick(fn) : (fn) => setImmediate(fn);
  }

  set(ops: readonly BatchOp[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ ops, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#flushing) return;
    this.#scheduled = true;
    this.#defer(this.#flush);
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const taken = this.#queue;
    if (taken.length === 0) return;
    this.#queue = [];
    const ops: BatchOp[] = [];
    for (const t of taken) for (const op of t.ops) ops.push(op);
    this.#flushing = true;
    this.groups++;
    this.#write(ops).then(
      () => {
        for (const t of taken) t.resolve();
      },
      (error) => {
        for (const t of taken) t.reject(error);
      },
    ).finally(() => {
      this.#flushing = false;
      if (this.#queue.length > 0) this.#schedule();
    });
  };
}

async function inFlight(width: number, count: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, count) }, worker));
}

interface P2Result {
  rate: number;
  ackRate: number;
  waits?: number;
  cpu: number;
  thread?: number;
  perGroup?: number;
  pendingMean?: number;
  pendingMax?: number;
  pendingBytesMax?: number;
  lagMean?: number;
  lagMax?: number;
  drainMs?: number;
  framesPerApply?: number;
  heapGrowth?: number;
}

async function p2(reps: number, count: number, valueBytes: number): Promise<void> {
  const warmup = Math.min(30_000, count);
  const AGENTS = 1_000;
  const KEYS = 10;
  const scopes = Array.from({ length: AGENTS }, (_, i) => Scope.agent(`agent-${i}`));
  const keys = Array.from({ length: KEYS }, (_, i) => `k${i}`);
  const stateKeys = scopes.flatMap((scope) => keys.map((key) => keyCodec.encodeStateKey(scope, key)));
  const rawKeys = stateKeys.map((key) => prefixed(STATE_PREFIX, key));
  const samples = Array.from({ length: 64 }, (_, i) => writeOps(scopes[i], 'k0', sampleValue(i, valueBytes), 1_000_000 + i) as { value: Buffer }[]);
  const stateValues = samples.map((s) => s[0].value);
  const eventValues = samples.map((s) => s[1].value);

  let seq = 0;
  const writer = (random: () => number) => (i: number): BatchOp[] => [
    { type: 'put', sublevel: 'state', key: stateKeys[(random() * stateKeys.length) | 0], value: stateValues[i & 63] },
    { type: 'put', sublevel: 'events', key: encodeSeqKey(++seq), value: eventValues[i & 63] },
  ];
  const levelWrite = (db: RawDb) => (ops: BatchOp[]) => {
    const batch = db.batch();
    for (const op of ops) batch.put(prefixed(op.sublevel === 'state' ? STATE_PREFIX : EVENTS_PREFIX, op.key), (op as { value: Buffer }).value);
    return batch.write();
  };

  const timed = async (body: (n: number, seed: number) => Promise<unknown>, extra?: () => Partial<P2Result>, drain?: () => Promise<void>): Promise<P2Result> => {
    await body(warmup, 1);
    await drain?.();
    gc();
    const heap = process.memoryUsage().heapUsed;
    const cpu = cpuNs();
    const thread = threadCpuNs();
    const start = now();
    await body(count, 2);
    const ns = elapsedNs(start);
    const heapGrowth = process.memoryUsage().heapUsed - heap;
    const drainStart = now();
    await drain?.();
    const drainMs = elapsedNs(drainStart) / 1e6;
    const threadEnd = threadCpuNs();
    // The rate counts until LevelDB holds every write: acknowledged but unapplied writes are work still owed.
    const result: P2Result = { rate: (count / (ns + drainMs * 1e6)) * 1e9, ackRate: (count / ns) * 1e9, cpu: (cpuNs() - cpu) / count, ...extra?.() };
    if (thread !== undefined && threadEnd !== undefined) result.thread = (threadEnd - thread) / count;
    if (drain !== undefined) Object.assign(result, { drainMs, heapGrowth });
    return result;
  };

  const logSide = (name: string, options: WriteAheadLogOptions, tick: 'nextTick' | 'immediate' = 'nextTick'): Side<P2Result> => ({
    name,
    run: () =>
      withStore('cl-p2log', options, async (_db, wal) => {
        const group = new GroupCommit((ops) => wal!.batch(ops), tick);
        let before = { ...wal!.stats };
        let groupsBefore = 0;
        return timed(
          async (n, s) => {
            before = { ...wal!.stats };
            groupsBefore = group.groups;
            const next = writer(rng(s));
            await inFlight(64, n, (i) => group.set(next(i)));
          },
          () => {
            const st = wal!.stats;
            const appends = st.appends - before.appends;
            const frames = st.framesApplied - before.framesApplied;
            return {
              perGroup: count / (group.groups - groupsBefore),
              pendingMean: (st.pendingFramesSum - before.pendingFramesSum) / appends,
              pendingMax: st.pendingFramesMax,
              pendingBytesMax: st.pendingBytesMax,
              lagMean: (st.lagMsSum - before.lagMsSum) / frames,
              lagMax: st.lagMsMax,
              framesPerApply: frames / (st.applies - before.applies),
              waits: st.backpressureWaits - before.backpressureWaits,
            };
          },
          () => wal!.caughtUp(),
        );
      }),
  });

  const sides: Side<P2Result>[] = [
    {
      name: 'raw chained batches of 100 (state records only: the P2 reference)',
      run: () =>
        withStore('cl-p2c', undefined, (db) =>
          timed(async (n, s) => {
            const random = rng(s);
            for (let done = 0; done < n; done += 100) {
              const batch = db.batch();
              for (let j = 0; j < Math.min(100, n - done); j++) batch.put(rawKeys[(random() * rawKeys.length) | 0], stateValues[(done + j) & 63]);
              await batch.write();
            }
          }),
        ),
    },
    {
      name: 'raw chained batches of 100 writes × 2 records',
      run: () =>
        withStore('cl-p2c2', undefined, (db) =>
          timed(async (n, s) => {
            const random = rng(s);
            for (let done = 0; done < n; done += 100) {
              const batch = db.batch();
              for (let j = 0; j < Math.min(100, n - done); j++) {
                batch.put(rawKeys[(random() * rawKeys.length) | 0], stateValues[(done + j) & 63]);
                batch.put(prefixed(EVENTS_PREFIX, encodeSeqKey(++seq)), eventValues[(done + j) & 63]);
              }
              await batch.write();
            }
          }),
        ),
    },
    {
      name: 'group commit straight to LevelDB (2 records per write)',
      run: () =>
        withStore('cl-p2g', undefined, async (db) => {
          const group = new GroupCommit(levelWrite(db));
          let groupsBefore = 0;
          return timed(
            async (n, s) => {
              groupsBefore = group.groups;
              const next = writer(rng(s));
              await inFlight(64, n, (i) => group.set(next(i)));
            },
            () => ({ perGroup: count / (group.groups - groupsBefore) }),
          );
        }),
    },
    logSide('group commit to the log (one write) + apply', {}),
    logSide('group commit to the log (writev) + apply', { form: 'writev' }),
    logSide('group commit to the log (one write) + apply, no backpressure', { maxPendingBytes: 0 }),
    logSide('group commit to the log (one write) + apply, flushed on setImmediate', {}, 'immediate'),
    logSide('group commit to the log (one write) + apply, flushed on setImmediate, applies of ≤ 1,024 ops', { applyMaxOps: 1024 }, 'immediate'),
  ];
  const results = await alternate(reps, sides, (_n, r) => `${(r.rate / 1000).toFixed(1)}k/s cpu ${fmtNs(r.cpu)}${r.pendingMax !== undefined ? ` pending max ${r.pendingMax}` : ''}`);
  const ref = results.get(sides[0].name)!;
  console.log(`\nP2 shape: ${count} writes × ${reps} reps (after ${warmup}), 64 in flight, ${AGENTS} agents × ${KEYS} keys, values of ${valueBytes} B JSON`);
  console.log(`state record ${rawKeys[0].length + stateValues[0].length} B, event record ${EVENTS_PREFIX.length + 8 + eventValues[0].length} B\n`);
  console.log('| side | writes/s | vs raw chained 100 | process CPU/write | main-thread CPU/write | writes per group |');
  console.log('|---|---|---|---|---|---|');
  for (const [name, rs] of results) {
    const r = rs.map((x, i) => x.rate / ref[i].rate);
    const thread = rs.every((x) => x.thread !== undefined) ? fmtNs(median(rs.map((x) => x.thread!))) : '';
    const group = rs[0].perGroup !== undefined ? median(rs.map((x) => x.perGroup!)).toFixed(1) : '';
    console.log(`| ${name} | ${fmtRange(rs.map((x) => x.rate), (n) => `${(n / 1000).toFixed(1)}k`)} | ${fmtRange(r, ratio)} | ${fmtNs(median(rs.map((x) => x.cpu)))} | ${thread} | ${group} |`);
  }
  console.log('\n| log side | acknowledged writes/s (before the drain) | frames pending at an append, mean / max | pending bytes max | append → applied, mean / max | frames per apply | backpressure waits | drain after the last ack | heap growth over the run |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const [name, rs] of results) {
    if (rs[0].pendingMax === undefined) continue;
    const m = (f: (x: P2Result) => number) => median(rs.map(f));
    console.log(
      `| ${name} | ${(m((x) => x.ackRate) / 1000).toFixed(1)}k | ${m((x) => x.pendingMean!).toFixed(1)} / ${m((x) => x.pendingMax!)} | ${(m((x) => x.pendingBytesMax!) / 1024).toFixed(0)} KiB | ` +
        `${m((x) => x.lagMean!).toFixed(2)} / ${m((x) => x.lagMax!).toFixed(1)} ms | ${m((x) => x.framesPerApply!).toFixed(1)} | ${m((x) => x.waits!)} | ${m((x) => x.drainMs!).toFixed(1)} ms | ${(m((x) => x.heapGrowth!) / 1048576).toFixed(1)} MiB |`,
    );
  }
}

// ---- durability: 'sync' -------------------------------------------------------------------------------

async function syncMode(reps: number, count: number): Promise<void> {
  const scope = Scope.agent('a1');
  const value = sampleValue(1);
  const [stateOp, eventOp] = writeOps(scope, 'topic', value, 1);
  const rawKey = prefixed(STATE_PREFIX, stateOp.key);
  const rawValue = (stateOp as { value: Buffer }).value;
  const eventValue = (eventOp as { value: Buffer }).value;
  const opsFor = (seq: number): BatchOp[] => [stateOp, { type: 'put', sublevel: 'events', key: encodeSeqKey(seq), value: eventValue }];
  const SYNC = { sync: true } as object;
  const single = async (body: (i: number) => Promise<unknown>): Promise<P1Result> => {
    for (let i = 0; i < 100; i++) await body(i);
    const samples = new Float64Array(count);
    const cpu = cpuNs();
    for (let i = 0; i < count; i++) {
      const start = now();
      await body(100 + i);
      samples[i] = elapsedNs(start);
    }
    return { ...summarize(samples), cpu: (cpuNs() - cpu) / count };
  };
  const grouped = async (write: (ops: BatchOp[]) => Promise<void>, wal?: WriteAheadLog): Promise<P1Result> => {
    const group = new GroupCommit(write);
    const n = count * 8;
    let seq = 0;
    await inFlight(64, 500, () => group.set(opsFor(++seq)));
    const g = group.groups;
    const cpu = cpuNs();
    const start = now();
    await inFlight(64, n, () => group.set(opsFor(++seq)));
    // Until LevelDB holds every write, as in P2.
    await wal?.caughtUp();
    const ns = elapsedNs(start);
    // For the table, mean = ns per write; p50 = writes per group.
    return { p50: n / (group.groups - g), p95: 0, p99: 0, mean: ns / n, n, cpu: (cpuNs() - cpu) / n };
  };
  const batch2 = (db: RawDb, i: number) => db.batch().put(rawKey, rawValue).put(prefixed(EVENTS_PREFIX, encodeSeqKey(i + 1)), eventValue).write(SYNC);
  const levelGroup = (db: RawDb) => (ops: BatchOp[]) => {
    const b = db.batch();
    for (const op of ops) b.put(prefixed(op.sublevel === 'state' ? STATE_PREFIX : EVENTS_PREFIX, op.key), (op as { value: Buffer }).value);
    return b.write(SYNC);
  };
  const sides: Side<P1Result>[] = [
    { name: 'single: raw db.put sync', run: () => withStore('cl-s1', undefined, (db) => single(() => db.put(rawKey, rawValue, SYNC))) },
    { name: 'single: raw 2-op batch sync', run: () => withStore('cl-s2', undefined, (db) => single((i) => batch2(db, i))) },
    { name: 'single: log + fdatasyncSync', run: () => withStore('cl-s3', { durability: 'sync', rotateBytes: 1 << 30 }, (_db, wal) => single((i) => wal!.batch(opsFor(i + 1)))) },
    { name: 'single: log + fdatasync (thread pool)', run: () => withStore('cl-s4', { durability: 'sync', syncCall: 'threadpool', rotateBytes: 1 << 30 }, (_db, wal) => single((i) => wal!.batch(opsFor(i + 1)))) },
    { name: '64 in flight: group commit to LevelDB, sync', run: () => withStore('cl-s5', undefined, (db) => grouped(levelGroup(db))) },
    { name: '64 in flight: group commit to the log + fdatasyncSync', run: () => withStore('cl-s6', { durability: 'sync', rotateBytes: 1 << 30 }, (_db, wal) => grouped((ops) => wal!.batch(ops), wal)) },
    { name: '64 in flight: group commit to the log + fdatasync (thread pool)', run: () => withStore('cl-s7', { durability: 'sync', syncCall: 'threadpool', rotateBytes: 1 << 30 }, (_db, wal) => grouped((ops) => wal!.batch(ops), wal)) },
  ];
  const results = await alternate(reps, sides, (name, r) => (name.startsWith('single') ? `p50 ${fmtNs(r.p50)} mean ${fmtNs(r.mean)}` : `${(1e9 / r.mean / 1000).toFixed(1)}k/s, ${r.p50.toFixed(1)} per group`));
  console.log(`\ndurability 'sync': single caller ${count} writes, 64 in flight ${count * 8} writes, × ${reps} reps\n`);
  console.log('| side | p50 | mean | p99 | writes/s | process CPU/write | writes per group |\n|---|---|---|---|---|---|---|');
  for (const [name, rs] of results) {
    const m = (f: (x: P1Result) => number) => median(rs.map(f));
    if (name.startsWith('single')) console.log(`| ${name} | ${fmtRange(rs.map((x) => x.p50), fmtNs)} | ${fmtNs(m((x) => x.mean))} | ${fmtNs(m((x) => x.p99))} | ${(1e9 / m((x) => x.mean) / 1000).toFixed(1)}k | ${fmtNs(m((x) => x.cpu))} | |`);
    else console.log(`| ${name} | | | | ${fmtRange(rs.map((x) => 1e9 / x.mean), (n) => `${(n / 1000).toFixed(1)}k`)} | ${fmtNs(m((x) => x.cpu))} | ${m((x) => x.p50).toFixed(1)} |`);
  }
}

// ---- recovery: replaying a log at open ----------------------------------------------------------------

async function recovery(reps: number): Promise<void> {
  const scopes = Array.from({ length: 1_000 }, (_, i) => Scope.agent(`agent-${i}`));
  const rows: string[] = [];
  for (const [mib, perFrame] of [[4, 1], [4, 64], [64, 1], [64, 64]] as const) {
    const times: { open: number; scan: number; apply: number; frames: number; ops: number }[] = [];
    for (let rep = 0; rep < reps; rep++) {
      gc();
      await withTempDir('cl-rec', async (dir) => {
        // The log a crash would leave: frames never applied, written straight to the file.
        const fd = openSync(join(dir, 'commit-000001.log'), 'a');
        const random = rng(rep + 1);
        let bytes = 0;
        let seq = 0;
        let frameSeq = 0;
        while (bytes < mib * 1024 * 1024) {
          const ops: BatchOp[] = [];
          for (let j = 0; j < perFrame; j++) {
            const scope = scopes[(random() * scopes.length) | 0];
            ops.push(...writeOps(scope, `k${(random() * 10) | 0}`, sampleValue(seq & 63), ++seq));
          }
          const frame = encodeFrame(++frameSeq, ops);
          writeSync(fd, frame);
          bytes += frame.length;
        }
        closeSync(fd);
        const db = await openRaw(join(dir, 'db'));
        const start = now();
        const { log, recovery: r } = await WriteAheadLog.open(dir, levelApply(db));
        const ms = elapsedNs(start) / 1e6;
        await log.close();
        await db.close();
        times.push({ open: ms, scan: r.scanMs, apply: r.applyMs, frames: r.frames, ops: r.ops });
        process.stderr.write(`recovery ${mib} MiB, ${perFrame} writes/frame: ${ms.toFixed(0)} ms (scan ${r.scanMs.toFixed(0)}, apply ${r.applyMs.toFixed(0)}), ${r.frames} frames, ${r.ops} ops\n`);
      });
    }
    const m = (f: (x: (typeof times)[0]) => number) => median(times.map(f));
    rows.push(
      `| ${mib} MiB | ${perFrame} | ${m((x) => x.frames)} | ${m((x) => x.ops)} | ${fmtRange(times.map((x) => x.open), (n) => `${n.toFixed(0)} ms`)} | ${m((x) => x.scan).toFixed(0)} ms | ${m((x) => x.apply).toFixed(0)} ms | ${((m((x) => x.ops) / 2 / m((x) => x.open)) * 1000 / 1000).toFixed(0)}k writes/s |`,
    );
  }
  console.log(`\nrecovery: open of a log of unapplied frames, replayed into an empty LevelDB, ${reps} reps\n`);
  console.log('| log | writes per frame | frames | ops | open (replay + sync + delete) | scan + CRC | apply | replay rate |\n|---|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
}

// ---- crash: SIGKILL a writer, check every acknowledged write -------------------------------------------

async function crashChild(dir: string, start: number): Promise<void> {
  const db = await openRaw(join(dir, 'db'));
  const { log } = await WriteAheadLog.open(dir, levelApply(db), { rotateBytes: 256 * 1024 });
  const scopes = Array.from({ length: 100 }, (_, i) => Scope.agent(`agent-${i}`));
  const group = new GroupCommit((ops) => log.batch(ops));
  let n = start;
  await inFlight(16, Number.MAX_SAFE_INTEGER, async () => {
    const i = n++;
    const scope = scopes[i % 100];
    await group.set(writeOps(scope, `k${i % 7}`, { i }, i));
    process.stdout.write(`ack ${i}\n`);
  });
}

async function crash(rounds: number): Promise<void> {
  await withTempDir('cl-crash', async (dir) => {
    const self = fileURLToPath(import.meta.url);
    const acked = new Set<number>();
    let start = 1;
    for (let round = 0; round < rounds; round++) {
      const killAfter = 2_000 + Math.floor(Math.random() * 20_000);
      await new Promise<void>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', self, 'crash-child', dir, String(start)], { stdio: ['ignore', 'pipe', 'inherit'] });
        let seen = 0;
        createInterface({ input: child.stdout }).on('line', (line) => {
          const [kind, i] = line.split(' ');
          if (kind !== 'ack') return;
          acked.add(Number(i));
          if (++seen === killAfter) child.kill('SIGKILL');
        });
        child.on('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited with ${signal ?? _code}`))));
      });
      start = Math.max(...acked) + 1_000_000;
      // A write cut short, as a power cut would leave it: half a frame at the end of the newest file.
      const newest = readdirSync(dir).filter((name) => name.startsWith('commit-')).sort().at(-1)!;
      const torn = encodeFrame(1, writeOps(Scope.agent('torn'), 'k', { torn: true }, 1));
      appendFileSync(join(dir, newest), torn.subarray(0, torn.length >> 1));
      const db = await openRaw(join(dir, 'db'));
      const { log, recovery: r } = await WriteAheadLog.open(dir, levelApply(db));
      // The newest value of each (agent, key) among the acknowledged writes must be there, or a newer unacknowledged one.
      const latest = new Map<string, number>();
      for (const i of acked) {
        const id = `${i % 100}/${i % 7}`;
        if ((latest.get(id) ?? -1) < i) latest.set(id, i);
      }
      let missing = 0;
      let eventsMissing = 0;
      for (const [id, i] of latest) {
        const [agent, k] = id.split('/');
        const stored = (await db.get(withPrefix('state', keyCodec.encodeStateKey(Scope.agent(`agent-${agent}`), `k${k}`)))) ?? undefined;
        const got = stored === undefined ? -1 : (JSON.parse(recordEnvelope.decodeRecord(stored).payload.toString()) as { i: number }).i;
        if (got < i) missing++;
      }
      for (const i of acked) if ((await db.get(withPrefix('events', encodeSeqKey(i)))) === undefined) eventsMissing++;
      console.log(
        `round ${round + 1}: killed after ${killAfter} acks; recovery replayed ${r.frames} frames (${r.ops} ops) from ${r.files} file(s), ${r.tornBytes} torn bytes, ` +
          `${(r.scanMs + r.applyMs).toFixed(0)} ms; acknowledged writes missing: ${missing} of ${latest.size} keys, ${eventsMissing} of ${acked.size} events`,
      );
      await log.close();
      await db.close();
    }
  });
}

const [mode, a, b, c] = process.argv.slice(2);
if (mode === 'p1') await p1(Number(a ?? 5), Number(b ?? 20_000));
else if (mode === 'p2') await p2(Number(a ?? 3), Number(b ?? 200_000), Number(c ?? 100));
else if (mode === 'sync') await syncMode(Number(a ?? 3), Number(b ?? 300));
else if (mode === 'recovery') await recovery(Number(a ?? 3));
else if (mode === 'crash') await crash(Number(a ?? 3));
else if (mode === 'crash-child') await crashChild(a, Number(b));
else {
  console.error('usage: commitLog.ts p1|p2|sync|recovery|crash [args]');
  process.exitCode = 2;
}
