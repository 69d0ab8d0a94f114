/**
 * Probe: CPU profile of the steady state only (inspector Profiler), after a warm-up. Usage: [BOUND=1]
 * [POSTGRES_URL=…] steadyProfile.ts p2|p1|p2raw [count] [out]; BOUND=1 binds the keys to the sample schema
 * first; POSTGRES_URL runs p1 or p2 on a runtime over PostgreSQL (a fresh schema, dropped after).
 */
import { Session } from 'node:inspector/promises';
import { writeFile } from 'node:fs/promises';
import { bindSampleSchema } from '../boundSchema.js';
import { Scope, storedKey, storedValue, withPostgresRuntime, withRuntime, type Runtime } from '../common.js';
import { withSchema } from '../postgresServer.js';
import { patchBatch } from './patchBatch.js';
import { inFlight, rng, sampleValue, withRawDb, withTempDir } from '../harness.js';

const mode = process.argv[2] ?? 'p2';
const count = Number(process.argv[3] ?? 100000);
const out = process.argv[4] ?? `/tmp/steady-${mode}.cpuprofile`;
const values = Array.from({ length: 64 }, (_, i) => sampleValue(i));
const scopes = Array.from({ length: 1000 }, (_, i) => Scope.agent(`agent-${i}`));
patchBatch(process.env.PATCH ?? 'none');
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 200 });
const profile = async (fn: () => Promise<void>) => {
  await session.post('Profiler.start');
  const t = process.hrtime.bigint();
  await fn();
  const ns = Number(process.hrtime.bigint() - t);
  const { profile } = await session.post('Profiler.stop');
  await writeFile(out, JSON.stringify(profile));
  console.log(`${mode}: ${(count / ns * 1e9 / 1000).toFixed(1)}k ops/s while profiling; wrote ${out}`);
};
const postgresUrl = process.env.POSTGRES_URL;
const onRuntime = (fn: (rt: Runtime) => Promise<void>) =>
  postgresUrl === undefined
    ? withTempDir('steady', (dir) => withRuntime(dir, fn))
    : withSchema(postgresUrl, 'steady', (schema) => withPostgresRuntime(postgresUrl, schema, fn));
if (mode === 'p2' || mode === 'p1') {
  await onRuntime(async (rt) => {
    if (process.env.BOUND === '1') await bindSampleSchema(rt, 'k');
    const width = mode === 'p2' ? 64 : 1;
    const r = rng(1);
    const go = (n: number) => inFlight(width, n, (i) => rt.state.set(scopes[(r() * 1000) | 0], `k${(r() * 10) | 0}`, values[i & 63]));
    await go(postgresUrl === undefined ? 100000 : 20000);
    await profile(() => go(count));
  });
} else {
  const rawKeys = scopes.flatMap((s) => Array.from({ length: 10 }, (_, k) => storedKey(s, `k${k}`)));
  const rawValues = values.map((x) => storedValue(x));
  await withRawDb('steadyraw', async (db) => {
    const r = rng(2);
    const run = async (n: number) => { for (let d = 0; d < n; d += 100) { const ops = []; for (let j = 0; j < 100; j++) ops.push({ type: 'put' as const, key: rawKeys[(r() * rawKeys.length) | 0], value: rawValues[j & 63] }); await db.batch(ops); } };
    await run(100000);
    await profile(() => run(count));
  });
}
session.disconnect();
