/**
 * P2: 64 async workers, each looping awaited `rt.state.set` to a random one of 1,000 agents, against
 * raw classic-level batches of 100 puts of the same key and value bytes (array form and chained form;
 * the ratio uses the faster one). Goal: ≥ 0.5× raw; aim 250k ops/s.
 * `P2 bound`: the same sets with the agents' keys bound to a small zod schema, so that each is validated.
 * `P2 agent`: the same sets, each made by the agent that owns the scope, through `rt.as('agent:<id>')`.
 */
import { bindSampleSchema } from './boundSchema.js';
import { storedKey, storedValue, withRuntime } from './common.js';
import { AGENTS, concurrentSets, IN_FLIGHT } from './concurrentSets.js';
import {
  cpuNs,
  elapsedNs,
  fmtNs,
  fmtRate,
  fmtRatio,
  gc,
  inAlternatingOrder,
  inFlight,
  median,
  now,
  rng,
  withRawDb,
  withTempDir,
  type BenchContext,
  type BenchResult,
  type RawDb,
} from './harness.js';
import { sqlitePeer, type SqliteStore } from './sqlitePeer.js';

const BATCH = 100;
const GOAL = 0.5;
const AIM = 250_000;

export async function p2ConcurrentSet(ctx: BenchContext): Promise<BenchResult> {
  const count = ctx.quick ? 50_000 : 200_000;
  const warmup = ctx.quick ? 10_000 : 30_000;
  const { scopes, keys, values, drive } = concurrentSets();
  // The raw side writes the exact bytes the runtime would store for the same (agent, key, value).
  const rawKeys = scopes.flatMap((scope) => keys.map((key) => storedKey(scope, key)));
  const rawValues = values.map((value) => storedValue(value));

  const ours: number[] = [];
  const bound: number[] = [];
  const asAgent: number[] = [];
  const rawArray: number[] = [];
  const rawChained: number[] = [];
  const rawInFlight: number[] = [];
  const sqlite: number[] = [];
  const cpu: Record<string, number[]> = { ours: [], bound: [], agent: [], array: [], chained: [], inFlight: [], sqlite: [] };
  const peer = sqlitePeer();
  let batchesPerRun = 0;

  // `bound`: the keys are bound to a schema first, so that every set is validated (P2 bound).
  // `agent`: each set is made by the agent that owns the scope, through rt.as (P2 agent).
  const runOurs = async (mode: 'system' | 'bound' | 'agent') => {
    gc();
    const result = await withTempDir('p2', (dir) =>
      withRuntime(dir, async (rt) => {
        if (mode === 'bound') await bindSampleSchema(rt, 'k');
        await drive(rt, warmup, 1, mode === 'agent'); // activates the 1,000 actors and warms the JIT
        const before = rt.metrics().commits.batches;
        const cpuStart = cpuNs();
        const start = now();
        await drive(rt, count, 2, mode === 'agent');
        const ns = elapsedNs(start);
        ({ system: cpu.ours, bound: cpu.bound, agent: cpu.agent })[mode].push((cpuNs() - cpuStart) / count);
        return { rate: (count / ns) * 1e9, batches: rt.metrics().commits.batches - before };
      }),
    );
    ({ system: ours, bound, agent: asAgent })[mode].push(result.rate);
    if (mode === 'system') batchesPerRun = result.batches;
  };

  // Times one side on a fresh store: `open` is withRawDb, or the SQLite peer's withStore.
  const timedRun =
    <Db>(open: (label: string, fn: (db: Db) => Promise<number>) => Promise<number>) =>
    (label: string, body: (db: Db, n: number, seed: number) => unknown, into: number[], cpuInto: number[]) =>
    async () => {
      gc();
      into.push(
        await open(label, async (db) => {
          await body(db, warmup, 1);
          const cpuStart = cpuNs();
          const start = now();
          await body(db, count, 2);
          const ns = elapsedNs(start);
          cpuInto.push((cpuNs() - cpuStart) / count);
          return (count / ns) * 1e9;
        }),
      );
    };
  const rawRun = timedRun<RawDb>(withRawDb);
  const pick = (random: () => number) => rawKeys[(random() * rawKeys.length) | 0];
  const runArray = rawRun(
    'p2arr',
    async (db, n, seed) => {
      const random = rng(seed);
      for (let done = 0; done < n; done += BATCH) {
        const ops = new Array(Math.min(BATCH, n - done));
        for (let j = 0; j < ops.length; j++) ops[j] = { type: 'put', key: pick(random), value: rawValues[(done + j) & 63] };
        await db.batch(ops);
      }
    },
    rawArray,
    cpu.array,
  );
  const runChained = rawRun(
    'p2chain',
    async (db, n, seed) => {
      const random = rng(seed);
      for (let done = 0; done < n; done += BATCH) {
        const batch = db.batch();
        const size = Math.min(BATCH, n - done);
        for (let j = 0; j < size; j++) batch.put(pick(random), rawValues[(done + j) & 63]);
        await batch.write();
      }
    },
    rawChained,
    cpu.chained,
  );
  const runInFlight = rawRun(
    'p2put64',
    async (db, n, seed) => {
      const random = rng(seed);
      await inFlight(IN_FLIGHT, n, (i) => db.put(pick(random), rawValues[i & 63]));
    },
    rawInFlight,
    cpu.inFlight,
  );

  // The same keys and values as the raw batches, in transactions of 100; better-sqlite3 is synchronous.
  const runSqlite = peer
    ? [
        timedRun<SqliteStore>(peer.withStore)(
          'p2sqlite',
          (store, n, seed) => {
            const random = rng(seed);
            for (let done = 0; done < n; done += BATCH) {
              const size = Math.min(BATCH, n - done);
              store.transaction(() => {
                for (let j = 0; j < size; j++) store.put(pick(random), rawValues[(done + j) & 63]);
              });
            }
          },
          sqlite,
          cpu.sqlite,
        ),
      ]
    : [];

  const order = [() => runOurs('system'), runArray, runChained, () => runOurs('bound'), runInFlight, () => runOurs('agent'), ...runSqlite];
  for (let rep = 0; rep < ctx.reps; rep++) {
    // Rotate the order each repetition against drift on a shared machine.
    await inAlternatingOrder(rep, ...order);
    ctx.log(
      `P2 rep ${rep + 1}/${ctx.reps}: set ${fmtRate(ours.at(-1)!)}, bound set ${fmtRate(bound.at(-1)!)}, as agent ${fmtRate(asAgent.at(-1)!)}, batch[] ${fmtRate(rawArray.at(-1)!)}, ` +
        `chained ${fmtRate(rawChained.at(-1)!)}, 64 puts ${fmtRate(rawInFlight.at(-1)!)}` +
        (peer ? `, SQLite tx ${fmtRate(sqlite.at(-1)!)}` : ''),
    );
  }

  const o = median(ours);
  const b = median(bound);
  const ag = median(asAgent);
  const a = median(rawArray);
  const c = median(rawChained);
  const p = median(rawInFlight);
  const q = median(sqlite);
  const best = Math.max(a, c);
  const ratio = o / best;
  return {
    id: 'P2',
    title: `set across ${AGENTS} agents, ${IN_FLIGHT} in flight (${count} ops × ${ctx.reps} reps)`,
    rows: [
      {
        id: 'P2',
        metric: 'ops/s vs best raw batch',
        ours: fmtRate(o),
        raw: `${fmtRate(best)} (${a >= c ? 'array' : 'chained'})`,
        ratio: fmtRatio(ratio),
        goal: `≥ ${GOAL}×`,
        pass: ratio >= GOAL,
      },
      { id: 'P2', metric: 'ops/s vs aim', ours: fmtRate(o), raw: '', ratio: '', goal: `≥ ${fmtRate(AIM)}`, pass: o >= AIM },
      { id: 'P2', metric: 'raw batch([...]) of 100', ours: '', raw: fmtRate(a), ratio: fmtRatio(o / a), goal: '(info)' },
      { id: 'P2', metric: 'raw batch().put().write() of 100', ours: '', raw: fmtRate(c), ratio: fmtRatio(o / c), goal: '(info)' },
      {
        id: 'P2',
        metric: 'process CPU per op (vs best raw)',
        ours: fmtNs(median(cpu.ours)),
        raw: fmtNs(median(a >= c ? cpu.array : cpu.chained)),
        ratio: fmtRatio(median(cpu.ours) / median(a >= c ? cpu.array : cpu.chained)),
        goal: '(info)',
      },
      { id: 'P2', metric: 'raw put, 64 in flight', ours: '', raw: fmtRate(p), ratio: fmtRatio(o / p), goal: '(info)' },
      { id: 'P2 bound', metric: 'bound: ops/s vs best raw batch', ours: fmtRate(b), raw: fmtRate(best), ratio: fmtRatio(b / best), goal: '(info)' },
      { id: 'P2 bound', metric: 'bound / unbound: ops/s', ours: fmtRate(b), raw: `${fmtRate(o)} unbound`, ratio: fmtRatio(b / o), goal: '(info)' },
      { id: 'P2 agent', metric: 'as agent: ops/s vs best raw batch', ours: fmtRate(ag), raw: fmtRate(best), ratio: fmtRatio(ag / best), goal: '(info)' },
      { id: 'P2 agent', metric: 'as agent / as system: ops/s', ours: fmtRate(ag), raw: `${fmtRate(o)} system`, ratio: fmtRatio(ag / o), goal: '(info)' },
      { id: 'P2 agent', metric: 'as agent / as system: process CPU per op', ours: fmtNs(median(cpu.agent)), raw: `${fmtNs(median(cpu.ours))} system`, ratio: fmtRatio(median(cpu.agent) / median(cpu.ours)), goal: '(info)' },
      {
        id: 'P2 bound',
        metric: 'bound / unbound: process CPU per op',
        ours: fmtNs(median(cpu.bound)),
        raw: `${fmtNs(median(cpu.ours))} unbound`,
        ratio: fmtRatio(median(cpu.bound) / median(cpu.ours)),
        goal: '(info)',
      },
      ...(peer
        ? [{ id: 'P2', metric: 'ops/s vs SQLite tx of 100', ours: fmtRate(o), raw: `${fmtRate(q)} (SQLite)`, ratio: fmtRatio(o / q), goal: 'aim ≥ 1×', pass: o >= q }]
        : []),
    ],
    notes: [
      `The runtime committed the ${count} sets in ${batchesPerRun} LevelDB batches (${(count / batchesPerRun).toFixed(1)} sets per batch, last rep).`,
      'Bound: the same sets, with every agent key starting with `k` bound to schema `sample` (z.object({ role, n, text }), bench/boundSchema.ts), so each is validated.',
      "As agent: the same sets, each through rt.as('agent:<id>') of the agent that owns the scope: checked (own scope), and its events record the principal.",
      ...(peer ? [`SQLite: ${peer.description}; the raw batches' keys and values, 100 INSERT OR REPLACE per transaction.`] : []),
    ],
    data: { ours, bound, asAgent, rawArray, rawChained, rawInFlight, sqlite, cpu, batchesPerRun },
  };
}
