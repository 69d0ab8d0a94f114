/** Probe: P2 workload; how long storage.batch takes vs the wall time, per batch. */
import { Scope, withRuntime } from '../common.js';
import { storageOf } from '../../src/runtime.js';
import { elapsedNs, fmtNs, fmtRate, inFlight, now, rng, sampleValue, withTempDir } from '../harness.js';

const count = Number(process.argv[2] ?? 50000);
const width = Number(process.argv[3] ?? 64);
const agents = Number(process.argv[4] ?? 1000);
const values = Array.from({ length: 64 }, (_, i) => sampleValue(i));
const scopes = Array.from({ length: agents }, (_, i) => Scope.agent(`agent-${i}`));
await withTempDir('p2ph', (dir) => withRuntime(dir, async (rt) => {
  const storage = storageOf(rt);
  const orig = storage.batch.bind(storage);
  let inBatch = 0, batches = 0, ops = 0, syncPart = 0;
  (storage as any).batch = (o: any, opts: any) => { const t = now(); const p = orig(o, opts); syncPart += elapsedNs(t); batches++; ops += o.length; return p.then(() => { inBatch += elapsedNs(t); }); };
  for (let rep = 0; rep < 4; rep++) {
    inBatch = 0; batches = 0; ops = 0; syncPart = 0;
    const random = rng(rep);
    const elu0 = performance.eventLoopUtilization();
    const t = now();
    await inFlight(width, count, (i) => rt.state.set(scopes[(random() * agents) | 0], `k${(random() * 10) | 0}`, values[i & 63]));
    const wall = elapsedNs(t);
    const elu = performance.eventLoopUtilization(elu0);
    console.log(`rep ${rep}: ${fmtRate(count / wall * 1e9)}, ${batches} batches, ${(ops / batches).toFixed(1)} ops/batch, wall/batch ${fmtNs(wall / batches)}, in storage.batch ${fmtNs(inBatch / batches)} (sync part ${fmtNs(syncPart / batches)}), ELU ${(elu.utilization * 100).toFixed(0)}%`);
  }
  console.log(rt.metrics());
}));
