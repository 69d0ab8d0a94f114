/**
 * P4: one no-op hook on every write (DESIGN §14). Three things are measured in the same run:
 *
 * 1. Write throughput without any hook: P2's workload (64 async writers, each looping awaited
 *    `rt.state.set` to a random one of 1,000 agents, one of 10 keys, one of 64 values of about 100 B),
 *    on disk with the default `durability: 'process'`.
 * 2. The same with one no-op hook registered on `state.set`, so every write is delivered to it. Only the
 *    write phase is timed (until every write is acknowledged), not the drain. Goal: ≥ 0.95× of (1).
 * 3. Hook delivery: the time from the start of the write phase until `rt.hooks.idle()` resolves. What
 *    counts:
 *    - an *event delivered* is one `state.set` event handed to the hook and recorded as succeeded;
 *    - an *execution* is one piscina task: the dispatcher hands one execution a batch of whole outbox
 *      entries (one entry per commit batch), up to `batchSize` (1000) events.
 *    Both rates are reported, over the whole span and for the drain after the last write alone. The
 *    goal ("hook executions complete at 50k/s or more") is judged on events delivered per second; the
 *    task rate is compared with the raw piscina pool below.
 * 4. Dispatch latency, per event: the execution's `startedAt` minus the event's commit time `at`, both
 *    from `rt.hooks.history()` (millisecond clock). The commit time is taken as the batch is built, so
 *    this includes the LevelDB batch write, the wait in the hook's queue, and the wait for a free run.
 * 5. The raw reference (DESIGN §14's "piscina trivial task, about 50k/s"): a bare piscina pool, with the
 *    runtime's fixed thread count and the options of `workers/HookPool.ts`, running a task that returns
 *    its input, with 1, `threads`, and 4 × `threads` tasks in flight.
 *
 * The hook is registered with `maxPending` raised to cover every write, so that a backlog above the
 * default 100,000 is measured rather than dead-lettered; the backlog at the end of the write phase is
 * reported, to show whether the default would have overflowed.
 */
import { Piscina } from 'piscina';
import { createRuntime, type Runtime } from './common.js';
import { AGENTS, concurrentSets, IN_FLIGHT, KEYS_PER_AGENT, VALUES } from './concurrentSets.js';
import {
  cpuNs,
  elapsedNs,
  fmtNs,
  fmtRate,
  fmtRatio,
  gc,
  inFlight,
  median,
  now,
  percentile,
  threadCpuNs,
  withTempDir,
  type BenchContext,
  type BenchResult,
} from './harness.js';
import { index } from './subject.js';

const { DEFAULT_OPTIONS, HOOK_DEFAULTS } = index;

const RATIO_GOAL = 0.95;
const RATE_GOAL = 50_000;
const HOOK = 'p4-noop';
const NOOP = new URL('./hooks/noop.mjs', import.meta.url);
const TRIVIAL = new URL('./hooks/trivialTask.mjs', import.meta.url);
/** The runtime's default: min(4, max(2, cores)). Used for the runtime and for the raw pool alike. */
const THREADS = DEFAULT_OPTIONS.hooks.threads;

/** One run of the write phase, with or without the hook. */
interface WriteRun {
  /** Writes acknowledged per second, write phase only. */
  rate: number;
  writeNs: number;
  /** Process CPU (all threads, hook workers included) per write, write phase only. */
  cpuPerOp: number;
  /** The main thread's own CPU per write, write phase only; NaN where it cannot be read. */
  mainCpuPerOp: number;
  /** Main thread's event-loop utilisation during the write phase, 0–1. */
  elu: number;
  batches: number;
}

interface HookRun extends WriteRun {
  /** From the start of the write phase until `rt.hooks.idle()` resolved. */
  idleNs: number;
  /** Events delivered (succeeded) during the span. */
  delivered: number;
  /** Events delivered by the time the last write was acknowledged. */
  deliveredAtWriteEnd: number;
  /** Events committed but not yet delivered when the last write was acknowledged. */
  backlogAtWriteEnd: number;
  /** Largest backlog seen by the 50 ms sampler. */
  peakBacklog: number;
  /** Executions (piscina tasks) during the span, from the hook's counters. */
  executions: number;
  failed: number;
  overflowed: number;
  /** Dispatch latency over every measured event, ms. */
  dispatch: { p50: number; p99: number; mean: number; max: number; n: number };
  /** Dispatch latency of writes made one at a time, each waited for until its hook ran, ms. */
  unloaded: { p50: number; p99: number; n: number };
  /** Mean hook duration inside the worker, ms (history `durationMs`). */
  meanHookMs: number;
  /** Executions and events as history recorded them, for a cross-check. */
  historyExecutions: number;
  historyEvents: number;
}

export function p4Hooks(ctx: BenchContext): Promise<BenchResult> {
  return measure(ctx);
}

async function measure(ctx: BenchContext): Promise<BenchResult> {
  const count = ctx.quick ? 50_000 : 200_000;
  const warmup = ctx.quick ? 10_000 : 30_000;
  const rawTasks = ctx.quick ? 20_000 : 100_000;
  const unloadedWrites = ctx.quick ? 100 : 300;
  // P2's workload, so the no-hook figure is P2's.
  const { scopes, keys, values, drive } = concurrentSets();

  const withRt = <T>(label: string, fn: (rt: Runtime) => Promise<T>) =>
    withTempDir(label, async (dir) => {
      const rt = await createRuntime({ dataDir: dir, durability: 'process', hooks: { threads: THREADS } });
      try {
        return await fn(rt);
      } finally {
        await rt.close();
      }
    });

  /** Times the write phase; `sample` runs every 50 ms during it (the same in both runs). */
  const writePhase = async (rt: Runtime, sample: () => void): Promise<WriteRun> => {
    const before = rt.metrics().commits.batches;
    const timer = setInterval(sample, 50);
    const elu0 = performance.eventLoopUtilization();
    const cpuStart = cpuNs();
    const mainStart = threadCpuNs();
    const start = now();
    await drive(rt, count, 2);
    const writeNs = elapsedNs(start);
    const cpuPerOp = (cpuNs() - cpuStart) / count;
    const mainEnd = threadCpuNs();
    const mainCpuPerOp = mainStart === undefined || mainEnd === undefined ? Number.NaN : (mainEnd - mainStart) / count;
    const elu = performance.eventLoopUtilization(elu0).utilization;
    clearInterval(timer);
    return { rate: (count / writeNs) * 1e9, writeNs, cpuPerOp, mainCpuPerOp, elu, batches: rt.metrics().commits.batches - before };
  };

  const noHook: WriteRun[] = [];
  const withHook: HookRun[] = [];
  const raw: Record<'one' | 'threads' | 'deep', number[]> = { one: [], threads: [], deep: [] };

  const runNoHook = async () => {
    gc();
    noHook.push(
      await withRt('p4none', async (rt) => {
        await drive(rt, warmup, 1);
        return writePhase(rt, () => void rt.metrics());
      }),
    );
  };

  const runHook = async () => {
    gc();
    withHook.push(
      await withRt('p4hook', async (rt) => {
        await rt.hooks.register({ name: HOOK, module: NOOP, on: ['state.set'], maxPending: Math.max(HOOK_DEFAULTS.maxPending, count + warmup) });
        // The warm-up also warms the pool's threads and the hook path; it is fully drained before timing.
        await drive(rt, warmup, 1);
        await rt.hooks.idle();
        const counters = () => rt.metrics().hooks.byHook[HOOK];
        const c0 = counters();
        const seq0 = rt.metrics().commits.seq;
        const wallStart = Date.now();
        let peakBacklog = 0;
        const start = now();
        const write = await writePhase(rt, () => {
          peakBacklog = Math.max(peakBacklog, rt.metrics().hooks.pending);
        });
        const atWriteEnd = counters();
        await rt.hooks.idle();
        const idleNs = elapsedNs(start);
        const c1 = counters();

        // Dispatch latency from the history: each execution's start against each input event's commit time.
        const executions = await rt.hooks.history({ hookName: HOOK, from: wallStart - 1, limit: 10_000_000 });
        const latencies: number[] = [];
        let historyExecutions = 0;
        let hookMs = 0;
        for (const execution of executions) {
          const events = (execution.input as { seq: number; at: number }[]).filter((event) => event.seq > seq0);
          if (events.length === 0) continue;
          historyExecutions++;
          hookMs += execution.durationMs;
          for (const event of events) latencies.push(execution.startedAt - event.at);
        }
        const sorted = Float64Array.from(latencies).sort();
        let sum = 0;
        for (const l of sorted) sum += l;

        // Unloaded: one write at a time, each waited for until its execution is recorded.
        const seq1 = rt.metrics().commits.seq;
        const wallUnloaded = Date.now();
        for (let i = 0; i < unloadedWrites; i++) {
          await rt.state.set(scopes[i % AGENTS], keys[i % KEYS_PER_AGENT], values[i & (VALUES - 1)]);
          await rt.hooks.idle();
        }
        const unloadedLatencies: number[] = [];
        for (const execution of await rt.hooks.history({ hookName: HOOK, from: wallUnloaded - 1, limit: 10_000_000 })) {
          for (const event of execution.input as { seq: number; at: number }[]) {
            if (event.seq > seq1) unloadedLatencies.push(execution.startedAt - event.at);
          }
        }
        const unloaded = Float64Array.from(unloadedLatencies).sort();
        return {
          ...write,
          idleNs,
          delivered: c1.counters.delivered - c0.counters.delivered,
          deliveredAtWriteEnd: atWriteEnd.counters.delivered - c0.counters.delivered,
          backlogAtWriteEnd: atWriteEnd.pending,
          peakBacklog: Math.max(peakBacklog, atWriteEnd.pending),
          executions: c1.counters.succeeded + c1.counters.failed + c1.counters.timedOut - (c0.counters.succeeded + c0.counters.failed + c0.counters.timedOut),
          failed: c1.counters.failed + c1.counters.timedOut - (c0.counters.failed + c0.counters.timedOut),
          overflowed: c1.counters.overflowed - c0.counters.overflowed,
          dispatch: {
            p50: percentile(sorted, 50),
            p99: percentile(sorted, 99),
            mean: sum / sorted.length,
            max: sorted[sorted.length - 1] ?? Number.NaN,
            n: sorted.length,
          },
          unloaded: { p50: percentile(unloaded, 50), p99: percentile(unloaded, 99), n: unloaded.length },
          meanHookMs: hookMs / historyExecutions,
          historyExecutions,
          historyEvents: sorted.length,
        };
      }),
    );
  };

  const runRaw = async () => {
    gc();
    // The options of workers/HookPool.ts: fixed threads, no idle shutdown, a bounded queue, no Atomics waits.
    const pool = new Piscina({
      filename: TRIVIAL.href,
      minThreads: THREADS,
      maxThreads: THREADS,
      idleTimeout: 2 ** 31 - 1,
      maxQueue: THREADS * 4,
      atomics: 'disabled',
    });
    try {
      const measure = async (width: number) => {
        await inFlight(width, Math.min(rawTasks, 5_000), (i) => pool.run(i));
        const start = now();
        await inFlight(width, rawTasks, (i) => pool.run(i));
        return (rawTasks / elapsedNs(start)) * 1e9;
      };
      raw.one.push(await measure(1));
      raw.threads.push(await measure(THREADS));
      raw.deep.push(await measure(THREADS * 4));
    } finally {
      await pool.destroy();
    }
  };

  const order = [runNoHook, runHook, runRaw];
  for (let rep = 0; rep < ctx.reps; rep++) {
    // Rotate the order each repetition against drift on a shared machine.
    for (let j = 0; j < order.length; j++) await order[(j + rep) % order.length]();
    const h = withHook.at(-1)!;
    ctx.log(
      `P4 rep ${rep + 1}/${ctx.reps}: no hook ${fmtRate(noHook.at(-1)!.rate)}, hook ${fmtRate(h.rate)} ` +
        `(${fmtRatio(h.rate / noHook.at(-1)!.rate)}), delivered ${fmtRate((h.delivered / h.idleNs) * 1e9)}, ` +
        `${fmtRate((h.executions / h.idleNs) * 1e9)} tasks, dispatch p50 ${h.dispatch.p50} ms p99 ${h.dispatch.p99} ms; ` +
        `raw piscina ${fmtRate(raw.one.at(-1)!)} / ${fmtRate(raw.threads.at(-1)!)} / ${fmtRate(raw.deep.at(-1)!)}`,
    );
  }

  // Ratios are taken within each repetition (the two sides ran seconds apart), then their median.
  const ratios = withHook.map((h, i) => h.rate / noHook[i].rate);
  const ratio = median(ratios);
  const m = (pick: (h: HookRun) => number) => median(withHook.map(pick));
  const oursRate = median(withHook.map((h) => h.rate));
  const baseRate = median(noHook.map((n) => n.rate));
  const deliveredRate = m((h) => (h.delivered / h.idleNs) * 1e9);
  const drainRate = m((h) => ((h.delivered - h.deliveredAtWriteEnd) / Math.max(1, h.idleNs - h.writeNs)) * 1e9);
  const deliveredDuringWrites = m((h) => (h.deliveredAtWriteEnd / h.writeNs) * 1e9);
  const taskRate = m((h) => (h.executions / h.idleNs) * 1e9);
  const eventsPerTask = m((h) => h.delivered / h.executions);
  const rawOne = median(raw.one);
  const rawThreads = median(raw.threads);
  const rawDeep = median(raw.deep);
  const p50 = m((h) => h.dispatch.p50);
  const p99 = m((h) => h.dispatch.p99);
  const ms = (n: number) => (Number.isFinite(n) ? `${n.toFixed(n < 10 ? 1 : 0)} ms` : 'n/a');
  const last = withHook.at(-1)!;
  return {
    id: 'P4',
    title: `one no-op hook on every set: ${AGENTS} agents, ${IN_FLIGHT} in flight, ${count} sets × ${ctx.reps} reps, ${THREADS} hook threads`,
    rows: [
      {
        id: 'P4',
        metric: 'write ops/s with the hook vs without',
        ours: fmtRate(oursRate),
        raw: `${fmtRate(baseRate)} (no hook)`,
        ratio: fmtRatio(ratio),
        goal: `≥ ${RATIO_GOAL}×`,
        pass: ratio >= RATIO_GOAL,
      },
      {
        id: 'P4',
        metric: 'events delivered/s, write start → idle',
        ours: fmtRate(deliveredRate),
        raw: '',
        ratio: '',
        goal: `≥ ${fmtRate(RATE_GOAL)}`,
        pass: deliveredRate >= RATE_GOAL,
      },
      { id: 'P4', metric: 'events delivered/s while writing', ours: fmtRate(deliveredDuringWrites), raw: '', ratio: '', goal: '(info)' },
      { id: 'P4', metric: 'events delivered/s, drain after writes', ours: fmtRate(drainRate), raw: '', ratio: '', goal: '(info)' },
      {
        id: 'P4',
        metric: 'executions (tasks)/s vs raw piscina, 1 in flight',
        ours: fmtRate(taskRate),
        raw: fmtRate(rawOne),
        ratio: fmtRatio(taskRate / rawOne),
        goal: '(info)',
      },
      { id: 'P4', metric: `raw piscina trivial task, ${THREADS} in flight`, ours: '', raw: fmtRate(rawThreads), ratio: fmtRatio(taskRate / rawThreads), goal: '(info)' },
      { id: 'P4', metric: `raw piscina trivial task, ${THREADS * 4} in flight`, ours: '', raw: fmtRate(rawDeep), ratio: fmtRatio(taskRate / rawDeep), goal: '(info, DESIGN ref ~50k/s)' },
      { id: 'P4', metric: 'events per execution (mean)', ours: eventsPerTask.toFixed(1), raw: '', ratio: '', goal: `(info, batchSize ${HOOK_DEFAULTS.batchSize})` },
      { id: 'P4', metric: 'dispatch latency p50 (start − commit)', ours: ms(p50), raw: '', ratio: '', goal: '(info)' },
      { id: 'P4', metric: 'dispatch latency p99', ours: ms(p99), raw: '', ratio: '', goal: '(info)' },
      { id: 'P4', metric: 'dispatch latency p50, one write at a time', ours: ms(m((h) => h.unloaded.p50)), raw: '', ratio: '', goal: '(info)' },
      { id: 'P4', metric: 'dispatch latency p99, one write at a time', ours: ms(m((h) => h.unloaded.p99)), raw: '', ratio: '', goal: '(info)' },
      {
        id: 'P4',
        metric: 'process CPU per write (all threads)',
        ours: fmtNs(m((h) => h.cpuPerOp)),
        raw: `${fmtNs(median(noHook.map((n) => n.cpuPerOp)))} (no hook)`,
        ratio: fmtRatio(m((h) => h.cpuPerOp) / median(noHook.map((n) => n.cpuPerOp))),
        goal: '(info)',
      },
      {
        id: 'P4',
        metric: 'main-thread CPU per write',
        ours: fmtNs(m((h) => h.mainCpuPerOp)),
        raw: `${fmtNs(median(noHook.map((n) => n.mainCpuPerOp)))} (no hook)`,
        ratio: fmtRatio(m((h) => h.mainCpuPerOp) / median(noHook.map((n) => n.mainCpuPerOp))),
        goal: '(info)',
      },
      {
        id: 'P4',
        metric: 'other threads’ CPU per write (workers, GC, LevelDB)',
        ours: fmtNs(m((h) => h.cpuPerOp - h.mainCpuPerOp)),
        raw: `${fmtNs(median(noHook.map((n) => n.cpuPerOp - n.mainCpuPerOp)))} (no hook)`,
        ratio: fmtRatio(m((h) => h.cpuPerOp - h.mainCpuPerOp) / median(noHook.map((n) => n.cpuPerOp - n.mainCpuPerOp))),
        goal: '(info)',
      },
      {
        id: 'P4',
        metric: 'main-thread event-loop utilisation, writes',
        ours: `${(m((h) => h.elu) * 100).toFixed(0)}%`,
        raw: `${(median(noHook.map((n) => n.elu)) * 100).toFixed(0)}% (no hook)`,
        ratio: '',
        goal: '(info)',
      },
    ],
    notes: [
      `Ratio per rep: ${ratios.map((r) => r.toFixed(2)).join(', ')}. Write phase ${fmtNs(m((h) => h.writeNs))} with the hook, write start → hooks idle ${fmtNs(m((h) => h.idleNs))}.`,
      `Last rep: ${last.delivered} events delivered in ${last.executions} executions (${last.failed} failed, ${last.overflowed} overflowed); ` +
        `history recorded ${last.historyExecutions} executions with ${last.historyEvents} events; mean hook run in the worker ${last.meanHookMs.toFixed(3)} ms.`,
      `Backlog when the last write was acknowledged: ${last.backlogAtWriteEnd} events (peak ${last.peakBacklog}; default maxPending ${HOOK_DEFAULTS.maxPending}). ` +
        `Commit batches: ${last.batches} with the hook, ${noHook.at(-1)!.batches} without (${(count / last.batches).toFixed(1)} and ${(count / noHook.at(-1)!.batches).toFixed(1)} sets per batch).`,
      `An execution is one piscina task, holding whole outbox entries (one per commit batch) up to batchSize events; the hook runs with concurrency ${HOOK_DEFAULTS.concurrency}, so one task of it is in flight at a time.`,
      `Dispatch latency is in whole milliseconds (Date.now() on both ends); under load mean ${ms(m((h) => h.dispatch.mean))}, max ${ms(m((h) => h.dispatch.max))}: ` +
        `it is mostly the backlog, so it grows with the length of the run. "One write at a time" is ${unloadedWrites} awaited sets, each followed by rt.hooks.idle().`,
    ],
    data: { count, warmup, threads: THREADS, noHook, withHook, raw, ratios },
  };
}
