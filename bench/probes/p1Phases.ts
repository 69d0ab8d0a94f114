/** Probe: splits one awaited rt.state.set into before-batch / storage.batch / after-batch phases. */
import { Scope, withRuntime } from '../common.js';
import { runtimeInternals } from '../subject.js';
const { storageOf } = runtimeInternals;
import { elapsedNs, fmtNs, now, sampleValue, summarize, withTempDir } from '../harness.js';

import { patchBatch } from './patchBatch.js';
patchBatch(process.env.PATCH ?? 'none');
const N = Number(process.argv[2] ?? 20000);
const scope = Scope.agent('a1');
const value = sampleValue(1);
await withTempDir('phases', (dir) => withRuntime(dir, async (rt) => {
  const storage = storageOf(rt);
  const orig = storage.batch.bind(storage);
  let t1 = 0n, t2 = 0n;
  let ts = 0n;
  (storage as any).batch = (ops: any, opts: any) => { t1 = now(); const p = orig(ops, opts); ts = now(); return p.then(() => { t2 = now(); }); };
  for (let rep = 0; rep < 3; rep++) {
    const syn = new Float64Array(N), pre = new Float64Array(N), sto = new Float64Array(N), post = new Float64Array(N), all = new Float64Array(N);
    for (let i = 0; i < 3000; i++) await rt.state.set(scope, 'topic', value);
    for (let i = 0; i < N; i++) {
      const t0 = now();
      await rt.state.set(scope, 'topic', value);
      const t3 = now();
      pre[i] = Number(t1 - t0); syn[i] = Number(ts - t1); sto[i] = Number(t2 - t1); post[i] = Number(t3 - t2); all[i] = Number(t3 - t0);
    }
    for (const [name, arr] of [['total', all], ['set → storage.batch called', pre], ['storage.batch', sto], ['  of which synchronous', syn], ['batch resolved → caller resumes', post]] as const) {
      const r = summarize(arr as Float64Array);
      console.log(name.padEnd(34), 'p50', fmtNs(r.p50).padStart(9), 'mean', fmtNs(r.mean).padStart(9), 'p99', fmtNs(r.p99).padStart(9));
    }
    console.log();
  }
}));
