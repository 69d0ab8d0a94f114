/**
 * P3: `await rt.state.get` of keys already in the actors' caches, in a single-caller loop, against
 * `Map.get` over the same number of keys. Goal: ≥ 2M ops/s and p99 ≤ 10 µs.
 */
import { Scope, withRuntime } from './common.js';
import {
  elapsedNs,
  fmtNs,
  fmtRate,
  fmtRatio,
  gc,
  inFlight,
  median,
  medianSummary,
  now,
  sampleValue,
  summarize,
  withTempDir,
  type BenchContext,
  type BenchResult,
  type LatencySummary,
} from './harness.js';

const AGENTS = 10;
const KEYS_PER_AGENT = 100;
const GOAL_RATE = 2_000_000;
const GOAL_P99_NS = 10_000;

let sink: unknown;

export async function p3CachedGet(ctx: BenchContext): Promise<BenchResult> {
  const count = ctx.quick ? 300_000 : 2_000_000;
  const samples = ctx.quick ? 100_000 : 300_000;
  const warmup = ctx.quick ? 100_000 : 300_000;
  const scopes = Array.from({ length: AGENTS }, (_, i) => Scope.agent(`agent-${i}`));
  const pairs = scopes.flatMap((scope) => Array.from({ length: KEYS_PER_AGENT }, (_, k) => [scope, `k${k}`] as const));
  const pairScopes = pairs.map(([scope]) => scope);
  const pairKeys = pairs.map(([, key]) => key);
  const n = pairs.length;
  const mapKeys = pairs.map(([scope, key]) => `${scope}\u0000${key}`);

  const oursRate: number[] = [];
  const oursLat: LatencySummary[] = [];
  const mapRate: number[] = [];
  const mapAwaitRate: number[] = [];
  const mapLat: LatencySummary[] = [];

  await withTempDir('p3', (dir) =>
    withRuntime(dir, async (rt) => {
      await inFlight(64, n, (i) => rt.state.set(pairScopes[i], pairKeys[i], sampleValue(i)));
      const map = new Map<string, unknown>();
      for (let i = 0; i < n; i++) map.set(mapKeys[i], await rt.state.get(pairScopes[i], pairKeys[i]));

      const state = rt.state;
      const oursThroughput = async (calls: number) => {
        const start = now();
        for (let i = 0; i < calls; i++) sink = await state.get(pairScopes[i % n], pairKeys[i % n]);
        return (calls / elapsedNs(start)) * 1e9;
      };
      const oursLatency = async (calls: number) => {
        const lat = new Float64Array(calls);
        for (let i = 0; i < calls; i++) {
          const start = now();
          sink = await state.get(pairScopes[i % n], pairKeys[i % n]);
          lat[i] = elapsedNs(start);
        }
        return summarize(lat);
      };
      const mapThroughput = (calls: number) => {
        const start = now();
        for (let i = 0; i < calls; i++) sink = map.get(mapKeys[i % n]);
        return (calls / elapsedNs(start)) * 1e9;
      };
      const mapAwaitThroughput = async (calls: number) => {
        const start = now();
        for (let i = 0; i < calls; i++) sink = await Promise.resolve(map.get(mapKeys[i % n]));
        return (calls / elapsedNs(start)) * 1e9;
      };
      const mapLatency = (calls: number) => {
        const lat = new Float64Array(calls);
        for (let i = 0; i < calls; i++) {
          const start = now();
          sink = map.get(mapKeys[i % n]);
          lat[i] = elapsedNs(start);
        }
        return summarize(lat);
      };

      // Warm-up: every path, so that each is optimised before it is timed.
      await oursThroughput(warmup);
      await oursLatency(warmup / 10);
      mapThroughput(warmup);
      await mapAwaitThroughput(warmup);
      mapLatency(warmup / 10);
      for (let rep = 0; rep < ctx.reps; rep++) {
        gc();
        oursRate.push(await oursThroughput(count));
        gc();
        oursLat.push(await oursLatency(samples));
        gc();
        mapRate.push(mapThroughput(count));
        mapAwaitRate.push(await mapAwaitThroughput(count));
        gc();
        mapLat.push(mapLatency(samples));
        ctx.log(
          `P3 rep ${rep + 1}/${ctx.reps}: get ${fmtRate(oursRate.at(-1)!)} p99 ${fmtNs(oursLat.at(-1)!.p99)}, ` +
            `Map.get ${fmtRate(mapRate.at(-1)!)}`,
        );
      }
      const metrics = rt.metrics().actors;
      if (metrics.passivations > 0) ctx.log(`P3: warning: ${metrics.passivations} passivations during the run`);
    }),
  );

  const o = median(oursRate);
  const m = median(mapRate);
  const ma = median(mapAwaitRate);
  const ol = medianSummary(oursLat);
  const ml = medianSummary(mapLat);
  return {
    id: 'P3',
    title: `cached get, single caller, ${n} keys over ${AGENTS} agents (${count} calls, ${samples} timed samples × ${ctx.reps} reps)`,
    rows: [
      { id: 'P3', metric: 'ops/s (awaited loop)', ours: fmtRate(o), raw: `${fmtRate(m)} (Map.get)`, ratio: fmtRatio(o / m), goal: `≥ ${fmtRate(GOAL_RATE)}`, pass: o >= GOAL_RATE },
      { id: 'P3', metric: 'p99 per call', ours: fmtNs(ol.p99), raw: fmtNs(ml.p99), ratio: fmtRatio(ol.p99 / ml.p99), goal: `≤ ${fmtNs(GOAL_P99_NS)}`, pass: ol.p99 <= GOAL_P99_NS },
      { id: 'P3', metric: 'p50 per call', ours: fmtNs(ol.p50), raw: fmtNs(ml.p50), ratio: fmtRatio(ol.p50 / ml.p50), goal: '(info)' },
      { id: 'P3', metric: 'vs await Promise.resolve(Map.get)', ours: fmtRate(o), raw: fmtRate(ma), ratio: fmtRatio(o / ma), goal: '(info)' },
    ],
    notes: [
      'Per-call latencies include one process.hrtime.bigint() pair (about 0.1 µs), as the Map.get column shows.',
    ],
    data: { oursRate, oursLat, mapRate, mapAwaitRate, mapLat },
  };
}

export function keepSink(): unknown {
  return sink;
}
