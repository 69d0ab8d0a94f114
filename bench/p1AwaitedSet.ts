/**
 * P1: one caller awaiting each `rt.state.set`, against one caller awaiting each raw `db.put` of the
 * same key and value bytes that the runtime stores. Goal: set takes at most 2× the raw put.
 * `P1 bound`: the same sets with the key bound to a small zod schema, so that each is validated.
 * `P1 agent`: the same sets made by the agent that owns the scope, through `rt.as('agent:a1')`.
 */
import { bindSampleSchema } from './boundSchema.js';
import { Scope, storedKey, storedValue, withRuntime } from './common.js';
import {
  cpuNs,
  elapsedNs,
  fmtNs,
  fmtRatio,
  gc,
  inAlternatingOrder,
  median,
  medianSummary,
  now,
  sampleValue,
  summarize,
  withRawDb,
  withTempDir,
  type BenchContext,
  type BenchResult,
  type LatencySummary,
} from './harness.js';
import { sqlitePeer, type SqlitePeer } from './sqlitePeer.js';

/** DESIGN §14: an awaited `set` takes at most 1.25× an awaited raw put. */
const GOAL = 1.25;

export async function p1AwaitedSet(ctx: BenchContext): Promise<BenchResult> {
  const warmup = ctx.quick ? 1_000 : 5_000;
  const count = ctx.quick ? 5_000 : 20_000;
  const scope = Scope.agent('a1');
  const key = 'topic';
  const value = sampleValue(1);
  const rawKey = storedKey(scope, key);
  const rawValue = storedValue(value);

  const ours: LatencySummary[] = [];
  const raw: LatencySummary[] = [];
  const bound: LatencySummary[] = [];
  const asAgent: LatencySummary[] = [];
  const agentCpu: number[] = [];
  const oursCpu: number[] = [];
  const rawCpu: number[] = [];
  const boundCpu: number[] = [];
  const sqlite: LatencySummary[] = [];
  const peer = sqlitePeer();
  for (let rep = 0; rep < ctx.reps; rep++) {
    // Alternate the order, so that drift on a shared machine does not always favour one side.
    // `withSchema`: the key is bound to a schema first, so that every set is validated (P1 bound).
    // `agent`: the sets go through rt.as('agent:a1'), the owner of the scope (P1 agent).
    const runOurs = async (mode: 'system' | 'bound' | 'agent', into: LatencySummary[], cpuInto: number[]) => {
      gc();
      into.push(
        await withTempDir('p1', (dir) =>
          withRuntime(dir, async (rt) => {
            if (mode === 'bound') await bindSampleSchema(rt, key);
            const state = mode === 'agent' ? rt.as('agent:a1').state : rt.state;
            for (let i = 0; i < warmup; i++) await state.set(scope, key, value);
            const samples = new Float64Array(count);
            const cpu = cpuNs();
            for (let i = 0; i < count; i++) {
              const start = now();
              await state.set(scope, key, value);
              samples[i] = elapsedNs(start);
            }
            cpuInto.push((cpuNs() - cpu) / count);
            return summarize(samples);
          }),
        ),
      );
    };
    const runRaw = async () => {
      gc();
      raw.push(
        await withRawDb('p1raw', async (db) => {
          for (let i = 0; i < warmup; i++) await db.put(rawKey, rawValue);
          const samples = new Float64Array(count);
          const cpu = cpuNs();
          for (let i = 0; i < count; i++) {
            const start = now();
            await db.put(rawKey, rawValue);
            samples[i] = elapsedNs(start);
          }
          rawCpu.push((cpuNs() - cpu) / count);
          return summarize(samples);
        }),
      );
    };
    // better-sqlite3 is synchronous: each put returns committed, so its loop has nothing to await.
    const runSqlite = async (target: SqlitePeer) => {
      gc();
      sqlite.push(
        await target.withStore('p1sqlite', async (store) => {
          for (let i = 0; i < warmup; i++) store.put(rawKey, rawValue);
          const samples = new Float64Array(count);
          for (let i = 0; i < count; i++) {
            const start = now();
            store.put(rawKey, rawValue);
            samples[i] = elapsedNs(start);
          }
          return summarize(samples);
        }),
      );
    };
    await inAlternatingOrder(
      rep,
      () => runOurs('system', ours, oursCpu),
      runRaw,
      () => runOurs('bound', bound, boundCpu),
      () => runOurs('agent', asAgent, agentCpu),
      ...(peer ? [() => runSqlite(peer)] : []),
    );
    ctx.log(
      `P1 rep ${rep + 1}/${ctx.reps}: set p50 ${fmtNs(ours.at(-1)!.p50)}, bound set p50 ${fmtNs(bound.at(-1)!.p50)}, as agent p50 ${fmtNs(asAgent.at(-1)!.p50)}, put p50 ${fmtNs(raw.at(-1)!.p50)}` +
        (peer ? `, SQLite p50 ${fmtNs(sqlite.at(-1)!.p50)}` : ''),
    );
  }

  const o = medianSummary(ours);
  const r = medianSummary(raw);
  const ratio = (a: number, b: number) => a / b;
  const b = medianSummary(bound);
  const ag = medianSummary(asAgent);
  const agc = median(agentCpu);
  const oc = median(oursCpu);
  const rc = median(rawCpu);
  const bc = median(boundCpu);
  const s = peer ? medianSummary(sqlite) : undefined;
  return {
    id: 'P1',
    title: `awaited single-caller set vs awaited raw put (${count} ops × ${ctx.reps} reps, ${rawValue.length} B stored value)`,
    rows: [
      { id: 'P1', metric: 'p50', ours: fmtNs(o.p50), raw: fmtNs(r.p50), ratio: fmtRatio(ratio(o.p50, r.p50)), goal: `≤ ${GOAL}×`, pass: o.p50 / r.p50 <= GOAL },
      { id: 'P1', metric: 'mean', ours: fmtNs(o.mean), raw: fmtNs(r.mean), ratio: fmtRatio(ratio(o.mean, r.mean)), goal: `≤ ${GOAL}×`, pass: o.mean / r.mean <= GOAL },
      { id: 'P1', metric: 'p99', ours: fmtNs(o.p99), raw: fmtNs(r.p99), ratio: fmtRatio(ratio(o.p99, r.p99)), goal: '(info)' },
      { id: 'P1', metric: 'process CPU per op', ours: fmtNs(oc), raw: fmtNs(rc), ratio: fmtRatio(oc / rc), goal: '(info)' },
      { id: 'P1', metric: 'ops/s (1/mean)', ours: `${(1e9 / o.mean / 1000).toFixed(1)}k/s`, raw: `${(1e9 / r.mean / 1000).toFixed(1)}k/s`, ratio: fmtRatio(r.mean / o.mean), goal: '(info)' },
      { id: 'P1 bound', metric: 'bound: p50', ours: fmtNs(b.p50), raw: fmtNs(r.p50), ratio: fmtRatio(b.p50 / r.p50), goal: '(info)' },
      { id: 'P1 bound', metric: 'bound: mean', ours: fmtNs(b.mean), raw: fmtNs(r.mean), ratio: fmtRatio(b.mean / r.mean), goal: '(info)' },
      { id: 'P1 bound', metric: 'bound / unbound: p50', ours: fmtNs(b.p50), raw: `${fmtNs(o.p50)} unbound`, ratio: fmtRatio(b.p50 / o.p50), goal: '(info)' },
      { id: 'P1 bound', metric: 'bound / unbound: mean', ours: fmtNs(b.mean), raw: `${fmtNs(o.mean)} unbound`, ratio: fmtRatio(b.mean / o.mean), goal: '(info)' },
      { id: 'P1 bound', metric: 'bound / unbound: process CPU per op', ours: fmtNs(bc), raw: `${fmtNs(oc)} unbound`, ratio: fmtRatio(bc / oc), goal: '(info)' },
      { id: 'P1 agent', metric: 'as agent: p50', ours: fmtNs(ag.p50), raw: fmtNs(r.p50), ratio: fmtRatio(ag.p50 / r.p50), goal: '(info)' },
      { id: 'P1 agent', metric: 'as agent / as system: p50', ours: fmtNs(ag.p50), raw: `${fmtNs(o.p50)} system`, ratio: fmtRatio(ag.p50 / o.p50), goal: '(info)' },
      { id: 'P1 agent', metric: 'as agent / as system: mean', ours: fmtNs(ag.mean), raw: `${fmtNs(o.mean)} system`, ratio: fmtRatio(ag.mean / o.mean), goal: '(info)' },
      { id: 'P1 agent', metric: 'as agent / as system: process CPU per op', ours: fmtNs(agc), raw: `${fmtNs(oc)} system`, ratio: fmtRatio(agc / oc), goal: '(info)' },
      ...(s
        ? [
            { id: 'P1', metric: 'p50 vs SQLite', ours: fmtNs(o.p50), raw: `${fmtNs(s.p50)} (SQLite)`, ratio: fmtRatio(o.p50 / s.p50), goal: 'aim ≤ 1×', pass: o.p50 <= s.p50 },
            { id: 'P1', metric: 'mean vs SQLite', ours: fmtNs(o.mean), raw: `${fmtNs(s.mean)} (SQLite)`, ratio: fmtRatio(o.mean / s.mean), goal: '(info)' },
          ]
        : []),
    ],
    notes: [
      'Each set is one LevelDB batch: the state record plus one event-log commit record (which repeats the value).',
      'The raw side is db.put of the very key and value bytes the runtime stores in its state sublevel.',
      `Bound: the same sets, with the key bound to schema \`sample\` (z.object({ role, n, text }), bench/boundSchema.ts), so each is validated and its record names the schema (${storedValue(value, 1, 0, 'sample@1.0.0').length} B stored value).`,
      "As agent: the same sets through rt.as('agent:a1'), the owner of the scope: checked (own scope, not audited), and each event records the principal.",
      ...(peer ? [`SQLite: ${peer.description}; one INSERT OR REPLACE of the same bytes per put, each its own commit.`] : []),
    ],
    data: { ours, raw, bound, asAgent, oursCpu, rawCpu, boundCpu, agentCpu, sqlite, median: { ours: o, raw: r, bound: b, asAgent: ag, oursCpu: oc, rawCpu: rc, boundCpu: bc, agentCpu: agc, sqlite: s } },
  };
}
