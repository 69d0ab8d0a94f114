/**
 * Probe (not run by `npm run bench`): main-thread CPU profile of P4's write phase, and of the drain after
 * it, with the inspector Profiler started after a warm-up that is fully drained.
 *
 *   node --import tsx bench/probes/p4Profile.ts hook|nohook [count] [outPrefix]
 *
 * What-ifs through the environment: P4_BATCH (the hook's batchSize), P4_CONCURRENCY (its concurrency),
 * P4_THREADS (the runtime's hook threads), P4_PROFILE=0 (time only, no profiler).
 *
 * Writes <outPrefix>-<mode>-writes.cpuprofile and, with the hook, <outPrefix>-hook-drain.cpuprofile;
 * summarise them with bench/probes/summarizeProfile.ts.
 */
import { Session } from 'node:inspector/promises';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createRuntime, Scope } from '../common.js';
import { inFlight, rng, sampleValue, withTempDir } from '../harness.js';

const mode = process.argv[2] ?? 'hook';
const count = Number(process.argv[3] ?? 200_000);
const prefix = process.argv[4] ?? '/tmp/p4';
const values = Array.from({ length: 64 }, (_, i) => sampleValue(i));
const scopes = Array.from({ length: 1000 }, (_, i) => Scope.agent(`agent-${i}`));
const profiling = process.env.P4_PROFILE !== '0';
/** CPU time of the main thread (Linux: /proc/self/task/<pid>/stat, 10 ms ticks) and of the process, in µs. */
const cpu = () => {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const { user, system } = process.cpuUsage();
  return { main: (Number(fields[11]) + Number(fields[12])) * 10_000, all: user + system };
};
const env = (name: string) => (process.env[name] === undefined ? undefined : Number(process.env[name]));
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 200 });
const start = async () => {
  if (profiling) await session.post('Profiler.start');
};
const stopTo = async (file: string) => {
  if (!profiling) return;
  const { profile } = await session.post('Profiler.stop');
  await writeFile(file, JSON.stringify(profile));
};
await withTempDir('p4prof', async (dir) => {
  const threads = env('P4_THREADS');
  const rt = await createRuntime({ dataDir: dir, ...(threads === undefined ? {} : { hooks: { threads } }) });
  try {
    if (mode === 'hook') {
      await rt.hooks.register({
        name: 'noop',
        module: new URL('../hooks/noop.mjs', import.meta.url),
        on: ['state.set'],
        maxPending: 10_000_000,
        ...(env('P4_BATCH') === undefined ? {} : { batchSize: env('P4_BATCH') }),
        ...(env('P4_CONCURRENCY') === undefined ? {} : { concurrency: env('P4_CONCURRENCY') }),
      });
    }
    const r = rng(1);
    const go = (n: number) => inFlight(64, n, (i) => rt.state.set(scopes[(r() * 1000) | 0], `k${(r() * 10) | 0}`, values[i & 63]));
    await go(30_000);
    await rt.hooks.idle();
    const d0 = rt.metrics().hooks.delivered;
    await start();
    const c0 = cpu();
    const t0 = process.hrtime.bigint();
    await go(count);
    const t1 = process.hrtime.bigint();
    const c1 = cpu();
    await stopTo(`${prefix}-${mode}-writes.cpuprofile`);
    const d1 = rt.metrics().hooks.delivered;
    if (mode === 'hook') await start();
    await rt.hooks.idle();
    const t2 = process.hrtime.bigint();
    if (mode === 'hook') await stopTo(`${prefix}-hook-drain.cpuprofile`);
    const d2 = rt.metrics().hooks.delivered;
    const s = (a: bigint, b: bigint) => Number(b - a) / 1e9;
    console.log(
      `${mode} ${JSON.stringify({ batch: env('P4_BATCH'), concurrency: env('P4_CONCURRENCY'), threads: env('P4_THREADS') })}: writes ${(count / s(t0, t1) / 1000).toFixed(1)}k/s ${profiling ? ' under the profiler' : ''}; delivered ${d1 - d0} during writes, ` +
        `${d2 - d1} in a drain of ${s(t1, t2).toFixed(2)} s (${((d2 - d1) / Math.max(1e-9, s(t1, t2)) / 1000).toFixed(1)}k/s); ` +
        `CPU per write while writing: main thread ${((c1.main - c0.main) / count).toFixed(1)} µs, other threads ${((c1.all - c0.all - (c1.main - c0.main)) / count).toFixed(1)} µs`,
    );
  } finally {
    await rt.close();
  }
});
session.disconnect();
