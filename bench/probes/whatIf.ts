/**
 * Probe: runs benchmarks against emulated fixes, to put numbers on them without editing src/ or actors/.
 *
 *   node --expose-gc --import tsx bench/probes/whatIf.ts none|noopts|chained P1 P2 … [--quick]
 *   node --expose-gc --import tsx --import ./bench/probes/actorPatch.mjs bench/probes/whatIf.ts chained P1 P2
 *
 * The first argument patches classic-level's batch as LevelBackend would after the proposed fix
 * (patchBatch.ts); actorPatch.mjs swaps in a ScopeActor whose #send avoids an object spread.
 */
import { printResult, type BenchContext, type BenchResult } from '../harness.js';
import { patchBatch } from './patchBatch.js';

const mode = process.argv[2] ?? 'none';
patchBatch(mode);
const all: Record<string, () => Promise<(ctx: BenchContext) => Promise<BenchResult>>> = {
  P1: async () => (await import('../p1AwaitedSet.js')).p1AwaitedSet,
  P2: async () => (await import('../p2ConcurrentSet.js')).p2ConcurrentSet,
  P3: async () => (await import('../p3CachedGet.js')).p3CachedGet,
  P8: async () => (await import('../p8Reopen.js')).p8Reopen,
};
const quick = process.argv.includes('--quick');
const actorPatched = process.execArgv.some((arg) => arg.includes('actorPatch'));
console.log(`what-if: batch=${mode}, ScopeActor patched: ${actorPatched}`);
for (const id of process.argv.slice(3).filter((a) => !a.startsWith('--'))) {
  const bench = await all[id.toUpperCase()]();
  printResult(await bench({ quick, reps: quick ? 3 : 5, log: (m) => process.stderr.write(`  … ${m}\n`) }));
}
