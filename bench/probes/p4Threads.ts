/**
 * Probe (not run by `npm run bench`): where P4's CPU goes, thread by thread. Runs P4's workload (64
 * writers over 1,000 agents) with or without one no-op hook, and reads each thread's CPU time from
 * /proc/self/task around the write phase (and around the drain after it).
 *
 *   node --import tsx bench/probes/p4Threads.ts hook|nohook [count] [outPrefix]
 *
 * Threads are told apart by when they appeared: V8's platform threads (GC helpers, concurrent
 * compilation) and Node's own exist before anything runs, libuv's pool appears with the first file
 * read, the hook workers say which they are (bench/probes/hooks/threadNoop.mjs), and what appears while
 * the runtime runs besides them is LevelDB's background (compaction) thread.
 *
 * P4_WORKER_PROF=1 also CPU-profiles the hook workers during the write phase (inspector inside the
 * worker), and P4_MAIN_PROF=1 the main thread; both perturb the CPU figures, so measure without them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { BroadcastChannel } from 'node:worker_threads';

const startupTids = tasks();
await readFile('/etc/hostname');
const afterPoolTids = tasks();

const { createRuntime, Scope } = await import('../common.js');
const { inFlight, rng, sampleValue, withTempDir } = await import('../harness.js');

const mode = process.argv[2] ?? 'hook';
const count = Number(process.argv[3] ?? 200_000);
const prefix = process.argv[4] ?? '/tmp/p4t';
const values = Array.from({ length: 64 }, (_, i) => sampleValue(i));
const scopes = Array.from({ length: 1000 }, (_, i) => Scope.agent(`agent-${i}`));
const TICK_NS = 1e9 / 100;

function tasks(): number[] {
  return readdirSync('/proc/self/task').map(Number).sort((a, b) => a - b);
}
/** CPU ns per thread id. */
function cpuByTid(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of tasks()) {
    try {
      const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
      out.set(tid, (Number(fields[11]) + Number(fields[12])) * TICK_NS);
    } catch {
      // The thread ended.
    }
  }
  return out;
}

const channel = new BroadcastChannel('p4-threads');
const workerTids = new Set<number>();
/** Workers that loaded the hook module (and so answer on the channel). */
const loaded = new Set<number>();
let expect: { type: string; left: number; done: () => void } | undefined;
channel.onmessage = (event: unknown) => {
  const data = (event as { data: { type: string; tid: string } }).data;
  if (data.type === 'tid') loaded.add(Number(data.tid));
  if (expect !== undefined && data.type === expect.type && --expect.left === 0) expect.done();
};
const broadcast = (message: object, reply: string, left: number) =>
  new Promise<void>((resolve) => {
    // Never hang on a worker that did not answer.
    const timer = setTimeout(resolve, 5000);
    expect = { type: reply, left, done: () => (clearTimeout(timer), resolve()) };
    channel.postMessage(message);
  });

const pid = process.pid;
const pool = new Set(afterPoolTids.filter((tid) => !startupTids.includes(tid)));
const poolReady = pool.size > 0;
const classify = (tid: number): string => {
  if (tid === pid) return 'main';
  if (workerTids.has(tid)) return 'hook workers';
  if (pool.has(tid)) return 'libuv pool (LevelDB writes, reads)';
  if (startupTids.includes(tid)) {
    // V8's platform threads are the first ones Node creates.
    return tid - pid <= 4 ? 'V8 platform (GC helpers, compiler)' : poolReady ? 'node internals' : 'node internals or libuv pool';
  }
  return afterPoolTids.includes(tid) ? 'startup, later' : 'LevelDB background (compaction) and others';
};
const groupDelta = (a: Map<number, number>, b: Map<number, number>) => {
  const groups = new Map<string, number>();
  for (const [tid, ns] of b) {
    const d = ns - (a.get(tid) ?? 0);
    if (d > 0) groups.set(classify(tid), (groups.get(classify(tid)) ?? 0) + d);
  }
  return groups;
};

await withTempDir('p4threads', async (dir) => {
  const rt = await createRuntime({ dataDir: dir });
  try {
    const beforeHooks = tasks();
    if (mode === 'hook') {
      await rt.hooks.register({ name: 'noop', module: new URL('./hooks/threadNoop.mjs', import.meta.url), on: ['state.set'], maxPending: 10_000_000 });
    }
    // The pool's threads start with the registration, which loads the module in a worker.
    if (mode === 'hook') for (const tid of tasks()) if (!beforeHooks.includes(tid)) workerTids.add(tid);
    const r = rng(1);
    const go = (n: number) => inFlight(64, n, (i) => rt.state.set(scopes[(r() * 1000) | 0], `k${(r() * 10) | 0}`, values[i & 63]));
    await go(30_000);
    await rt.hooks.idle();
    if (mode === 'hook') {
      channel.postMessage({ type: 'hello' });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const workerProf = mode === 'hook' && process.env.P4_WORKER_PROF === '1';
    const mainProf = process.env.P4_MAIN_PROF === '1';
    const session = new Session();
    if (mainProf) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 200 });
      await session.post('Profiler.start');
    }
    if (workerProf) await broadcast({ type: 'start' }, 'started', loaded.size);
    const d0 = rt.metrics().hooks.delivered;
    const c0 = cpuByTid();
    const t0 = process.hrtime.bigint();
    await go(count);
    const t1 = process.hrtime.bigint();
    const c1 = cpuByTid();
    const d1 = rt.metrics().hooks.delivered;
    if (workerProf) await broadcast({ type: 'stop', prefix }, 'stopped', loaded.size);
    if (mainProf) {
      const { profile } = await session.post('Profiler.stop');
      await writeFile(`${prefix}-${mode}-main.cpuprofile`, JSON.stringify(profile));
      session.disconnect();
    }
    await rt.hooks.idle();
    const t2 = process.hrtime.bigint();
    const c2 = cpuByTid();
    const d2 = rt.metrics().hooks.delivered;
    const secs = (a: bigint, b: bigint) => Number(b - a) / 1e9;
    const show = (label: string, groups: Map<string, number>, per: number) => {
      let total = 0;
      for (const v of groups.values()) total += v;
      console.log(`  ${label}: ${(total / per / 1000).toFixed(2)} µs per write in all`);
      for (const [name, ns] of [...groups].sort((x, y) => y[1] - x[1])) console.log(`    ${(ns / per / 1000).toFixed(2).padStart(6)} µs  ${name}`);
    };
    console.log(
      `${mode} (hook worker threads ${[...workerTids].join(',') || '-'}, of which ran the hook ${[...loaded].join(',') || '-'}; libuv pool ${[...pool].join(',') || 'started before the probe'}): writes ${(count / secs(t0, t1) / 1000).toFixed(1)}k/s; ` +
        `delivered ${d1 - d0} during writes, ${d2 - d1} in a drain of ${secs(t1, t2).toFixed(2)} s${workerProf || mainProf ? ' (profiled)' : ''}`,
    );
    show('write phase', groupDelta(c0, c1), count);
    if (mode === 'hook') show('drain, per write drained', groupDelta(c1, c2), Math.max(1, d2 - d1));
  } finally {
    await rt.close();
    channel.close();
  }
});
