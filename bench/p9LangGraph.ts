/**
 * LG (P9): llmstate's LangGraph checkpointer against LangGraph's MemorySaver and SqliteSaver, measured in
 * the same run on the same steps (bench/lgWorkload.ts) with the same serde.
 *
 * - put + putWrites per second, one thread at a time: each step awaited, thread after thread;
 * - the same with 64 threads at once: 64 callers, each stepping its own thread;
 * - getTuple p50 (the latest checkpoint) and list({ limit: 10 }) p50 on a thread of 1,000 checkpoints
 *   whose message list is kept to its last 10 (a trimmed conversation), so the figure is the saver's
 *   and not the serde's;
 * - the bytes stored after 500 steps of a growing message list, and getTuple p50 on that thread.
 *
 * Goals: ≥ 2× SqliteSaver on both rates; list ≤ 1 ms p50.
 */
import type { RunnableConfig } from '@langchain/core/runnables';
import type { BaseCheckpointSaver } from '@langchain/langgraph-checkpoint';
import { lgSteps, type LgStep } from './lgWorkload.js';
import { availableSavers, openSaver, peerVersions, type SaverName } from './lgSavers.js';
import {
  elapsedNs,
  fmtNs,
  fmtRate,
  fmtRatio,
  gc,
  inAlternatingOrder,
  inFlight,
  median,
  now,
  percentile,
  withTempDir,
  type BenchContext,
  type BenchResult,
  type ResultRow,
} from './harness.js';

const RATE_GOAL = 2;
const LIST_GOAL_NS = 1_000_000;
const CONCURRENT = 64;

interface Sizes {
  /** Steps per thread in the rate rows. */
  steps: number;
  /** Threads stepped one after another. */
  sequentialThreads: number;
  /** Steps per thread with 64 threads at once. */
  concurrentSteps: number;
  /** Checkpoints in the thread read by getTuple and list. */
  listCheckpoints: number;
  readSamples: number;
  /** Steps of the growing thread whose size is measured. */
  growSteps: number;
}

const FULL: Sizes = { steps: 50, sequentialThreads: 40, concurrentSteps: 40, listCheckpoints: 1_000, readSamples: 400, growSteps: 500 };
const QUICK: Sizes = { steps: 50, sequentialThreads: 8, concurrentSteps: 10, listCheckpoints: 1_000, readSamples: 100, growSteps: 500 };

/** Runs the steps of one thread, each put followed by its putWrites, awaited in turn. */
async function stepThread(saver: BaseCheckpointSaver, threadId: string, steps: readonly LgStep[]): Promise<void> {
  for (const step of steps) {
    const config: RunnableConfig = { configurable: { thread_id: threadId, checkpoint_ns: '', ...(step.parentId === undefined ? {} : { checkpoint_id: step.parentId }) } };
    const saved = await saver.put(config, step.checkpoint, step.metadata, step.newVersions);
    await saver.putWrites(saved, step.writes, step.taskId);
  }
}

async function drain(iterator: AsyncGenerator<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of iterator) n++;
  return n;
}

/** p50 of `samples` timed calls of `fn`, after a tenth as many untimed ones. */
async function p50Of(samples: number, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.ceil(samples / 10); i++) await fn();
  const times = new Float64Array(samples);
  for (let i = 0; i < samples; i++) {
    const start = now();
    await fn();
    times[i] = elapsedNs(start);
  }
  return percentile(times.sort(), 50);
}

/** Opens `name` in a fresh temp dir, runs `fn` on it and closes it. */
function withSaver<T>(name: SaverName, fn: (saver: BaseCheckpointSaver) => Promise<T>): Promise<T> {
  return withTempDir(`lg-${name}`, async (dir) => {
    const open = await openSaver(name, dir);
    try {
      return await fn(open.saver);
    } finally {
      await open.close();
    }
  });
}

export async function p9LangGraph(ctx: BenchContext): Promise<BenchResult> {
  const size = ctx.quick ? QUICK : FULL;
  const names = await availableSavers();
  const threadSteps = lgSteps(size.steps);
  const langchainSteps = lgSteps(size.steps, { langchain: true });
  const concurrentSteps = threadSteps.slice(0, size.concurrentSteps);
  const listSteps = lgSteps(size.listCheckpoints, { window: 10 });
  const growSteps = lgSteps(size.growSteps);

  const sequential: Record<string, number[]> = {};
  const langchainSequential: Record<string, number[]> = {};
  const concurrent: Record<string, number[]> = {};
  const getTuple: Record<string, number[]> = {};
  const list: Record<string, number[]> = {};
  for (const name of names) [sequential, langchainSequential, concurrent, getTuple, list].forEach((into) => (into[name] = []));

  const sequentialRun = (steps: readonly LgStep[], into: Record<string, number[]>) => (name: SaverName) => async () => {
    gc();
    const rate = await withSaver(name, async (saver) => {
      await stepThread(saver, 'warm-up', steps);
      const start = now();
      for (let t = 0; t < size.sequentialThreads; t++) await stepThread(saver, `thread-${t}`, steps);
      return ((size.sequentialThreads * steps.length) / elapsedNs(start)) * 1e9;
    });
    into[name].push(rate);
  };
  const concurrentRun = (name: SaverName) => async () => {
    gc();
    const rate = await withSaver(name, async (saver) => {
      await stepThread(saver, 'warm-up', threadSteps);
      const start = now();
      await inFlight(CONCURRENT, CONCURRENT, (t) => stepThread(saver, `thread-${t}`, concurrentSteps));
      return ((CONCURRENT * concurrentSteps.length) / elapsedNs(start)) * 1e9;
    });
    concurrent[name].push(rate);
  };
  const readRun = (name: SaverName) => async () => {
    gc();
    await withSaver(name, async (saver) => {
      await stepThread(saver, 'long', listSteps);
      const config = { configurable: { thread_id: 'long' } };
      getTuple[name].push(await p50Of(size.readSamples, () => saver.getTuple({ configurable: { thread_id: 'long', checkpoint_ns: '' } })));
      list[name].push(
        await p50Of(size.readSamples, async () => {
          if ((await drain(saver.list(config, { limit: 10 }))) !== 10) throw new Error(`${name}: list({ limit: 10 }) did not return 10 checkpoints`);
        }),
      );
    });
  };

  for (let rep = 0; rep < ctx.reps; rep++) {
    await inAlternatingOrder(rep, ...names.map(sequentialRun(threadSteps, sequential)));
    await inAlternatingOrder(rep, ...names.map(sequentialRun(langchainSteps, langchainSequential)));
    await inAlternatingOrder(rep, ...names.map(concurrentRun));
    await inAlternatingOrder(rep, ...names.map(readRun));
    ctx.log(
      `LG rep ${rep + 1}/${ctx.reps}: ` +
        names
          .map((n) => `${n} ${fmtRate(sequential[n].at(-1)!)} one thread (${fmtRate(langchainSequential[n].at(-1)!)} LangChain messages), ${fmtRate(concurrent[n].at(-1)!)} 64 threads, getTuple ${fmtNs(getTuple[n].at(-1)!)}, list ${fmtNs(list[n].at(-1)!)}`)
          .join('; '),
    );
  }

  // Sizes do not vary between repetitions: measured once.
  const stored: Record<string, Array<{ label: string; bytes: number }>> = {};
  const bigGetTuple: Record<string, number> = {};
  for (const name of names) {
    gc();
    await withTempDir(`lg-size-${name}`, async (dir) => {
      const open = await openSaver(name, dir);
      try {
        await stepThread(open.saver, 'grown', growSteps);
        bigGetTuple[name] = await p50Of(Math.max(20, size.readSamples / 10), () => open.saver.getTuple({ configurable: { thread_id: 'grown', checkpoint_ns: '' } }));
      } finally {
        await open.close();
      }
      stored[name] = await open.sizes();
    });
  }
  ctx.log(`LG sizes: ${names.map((n) => `${n} ${stored[n].map((s) => `${s.label} ${(s.bytes / 1e6).toFixed(2)} MB`).join(', ')}`).join('; ')}`);

  const m = (values: Record<string, number[]>, name: SaverName) => (values[name] === undefined ? Number.NaN : median(values[name]));
  const ours = names.includes('llmstate');
  const rows: ResultRow[] = [];
  const rateRows = (metric: string, values: Record<string, number[]>, judged = true) => {
    const [o, s, mem] = [m(values, 'llmstate'), m(values, 'SqliteSaver'), m(values, 'MemorySaver')];
    rows.push({
      id: 'P9',
      metric,
      ours: fmtRate(o),
      raw: `${fmtRate(s)} (SqliteSaver)`,
      ratio: fmtRatio(o / s),
      goal: judged ? `≥ ${RATE_GOAL}×` : '(info)',
      ...(ours && judged ? { pass: o / s >= RATE_GOAL } : {}),
    });
    rows.push({ id: 'P9', metric: `${metric} vs MemorySaver`, ours: fmtRate(o), raw: `${fmtRate(mem)} (MemorySaver)`, ratio: fmtRatio(o / mem), goal: '(info)' });
  };
  rateRows('put + putWrites/s, one thread at a time', sequential);
  rateRows(`put + putWrites/s, ${CONCURRENT} threads at once`, concurrent);
  rateRows('put + putWrites/s, one thread at a time, LangChain message objects', langchainSequential, false);
  const latencyRows = (metric: string, values: Record<string, number[]>, goal?: number) => {
    const [o, s, mem] = [m(values, 'llmstate'), m(values, 'SqliteSaver'), m(values, 'MemorySaver')];
    rows.push({
      id: 'P9',
      metric,
      ours: fmtNs(o),
      raw: `${fmtNs(s)} (SqliteSaver)`,
      ratio: fmtRatio(o / s),
      goal: goal === undefined ? '(info)' : `≤ ${fmtNs(goal)}`,
      ...(goal !== undefined && ours ? { pass: o <= goal } : {}),
    });
    rows.push({ id: 'P9', metric: `${metric} vs MemorySaver`, ours: fmtNs(o), raw: `${fmtNs(mem)} (MemorySaver)`, ratio: fmtRatio(o / mem), goal: '(info)' });
  };
  latencyRows(`getTuple p50, ${size.listCheckpoints}-checkpoint thread`, getTuple);
  latencyRows(`list({ limit: 10 }) p50, ${size.listCheckpoints}-checkpoint thread`, list, LIST_GOAL_NS);
  latencyRows(`getTuple p50, after ${size.growSteps} steps of a growing message list`, Object.fromEntries(names.map((n) => [n, [bigGetTuple[n]]])));
  const sqliteBytes = stored.SqliteSaver[0].bytes;
  for (const { label, bytes } of stored.llmstate ?? [{ label: 'llmstate', bytes: Number.NaN }]) {
    rows.push({ id: 'P9', metric: `MB after ${size.growSteps} steps: ${label}`, ours: mb(bytes), raw: `${mb(sqliteBytes)} (SqliteSaver file)`, ratio: fmtRatio(bytes / sqliteBytes), goal: '(info)' });
  }
  rows.push({ id: 'P9', metric: `MB after ${size.growSteps} steps: MemorySaver's ${stored.MemorySaver[0].label}`, ours: '', raw: mb(stored.MemorySaver[0].bytes), ratio: '', goal: '(info)' });

  return {
    id: 'LG',
    title: `LangGraph checkpointers: llmstate vs SqliteSaver and MemorySaver (${ctx.reps} reps)`,
    rows,
    notes: [
      `Peers: ${peerVersions()}; one serde (JsonPlusSerializer) for all three.`,
      'A step is one put (a { role, content, id } message appended to `messages`, `turn` bumped, `route` every third step; newVersions holds only those) and one putWrites of one or two writes.',
      'The LangChain row appends HumanMessage and AIMessage objects instead: the serde writes each as a constructor record and builds it again on reading, at about 8× the cost of plain JSON.',
      `Rates: ${size.sequentialThreads} threads × ${threadSteps.length} steps one after another; ${CONCURRENT} threads × ${concurrentSteps.length} steps at once; each on a fresh store after a warm-up thread.`,
      `Reads: a thread of ${size.listCheckpoints} checkpoints whose message list keeps its last 10; getTuple of the latest checkpoint, list({ limit: 10 }) over the thread; p50 of ${size.readSamples} calls.`,
      `Sizes: one thread of ${size.growSteps} steps; SqliteSaver stores every checkpoint whole, llmstate each channel once per version; llmstate's event log holds a commit record per put.`,
      ...(ours ? [] : ['llmstate rows are n/a: this build has no dist/src/langgraph (run `npm run build`).']),
    ],
    data: { sizes: size, sequential, concurrent, getTuple, list, bigGetTuple, stored },
  };
}

function mb(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 1e6).toFixed(2)} MB` : 'n/a';
}
