/**
 * P5: 100k agents with 10 keys each, written through the runtime under passivation. Heap is measured
 * (after GC) at each quarter; the goal is ≤ 600 MB at the end, growing at most linearly. The reference
 * is raw xstate: the heap cost of the same number of bare lifecycle actors kept alive at once, which is
 * what the runtime would cost without passivation (before any cached value).
 */
import { createActor } from 'xstate';
import { scopeLifecycle as lifecycleModule } from './subject.js';
import { createRuntime, Scope } from './common.js';
import { fmtRatio, gc, inFlight, sampleValue, withTempDir, type BenchContext, type BenchResult } from './harness.js';

const KEYS = 10;
const GOAL_BYTES = 600 * 1024 * 1024;
const MB = 1024 * 1024;

function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

export async function p5Passivation(ctx: BenchContext): Promise<BenchResult> {
  const agents = ctx.quick ? 10_000 : 100_000;
  const quarter = agents / 4;
  const checkpoints: { agents: number; heapMb: number; active: number; passivations: number }[] = [];
  const base = heapUsed();
  await withTempDir('p5', async (dir) => {
    const rt = await createRuntime({ dataDir: dir });
    try {
      for (let q = 0; q < 4; q++) {
        const from = q * quarter;
        await inFlight(64, quarter * KEYS, (i) => rt.state.set(Scope.agent(`agent-${from + Math.floor(i / KEYS)}`), `k${i % KEYS}`, sampleValue(i)));
        const { active, passivations } = rt.metrics().actors;
        checkpoints.push({ agents: from + quarter, heapMb: (heapUsed() - base) / MB, active, passivations });
        ctx.log(`P5 ${from + quarter} agents: +${checkpoints.at(-1)!.heapMb.toFixed(1)} MB, ${active} actors live`);
      }
      // Every agent's state is still there after passivation.
      const probe = await rt.state.get(Scope.agent('agent-0'), 'k0');
      if (probe === undefined) throw new Error('P5: agent-0 lost its state');
    } finally {
      await rt.close();
    }
  });
  gc();
  const rawBase = heapUsed();
  const rawActors = Array.from({ length: Math.min(agents, 20_000) }, () => createActor(lifecycleModule.scopeLifecycle).start());
  const rawPerActor = (heapUsed() - rawBase) / rawActors.length;
  rawActors.length = 0;
  const rawMb = (rawPerActor * agents) / MB;

  const final = checkpoints.at(-1)!;
  const increments = checkpoints.map((c, i) => c.heapMb - (i === 0 ? 0 : checkpoints[i - 1].heapMb));
  const firstIncrement = Math.max(increments[0], 1);
  const linear = increments.every((inc) => inc <= firstIncrement * 1.5 + 5);
  return {
    id: 'P5',
    title: `${agents} agents × ${KEYS} keys under passivation`,
    rows: [
      {
        id: 'P5',
        metric: 'heap growth',
        ours: `${final.heapMb.toFixed(0)} MB`,
        raw: `${rawMb.toFixed(0)} MB`,
        ratio: fmtRatio(final.heapMb / rawMb),
        goal: '≤ 600 MB',
        pass: final.heapMb * MB <= GOAL_BYTES,
      },
      {
        id: 'P5',
        metric: 'growth per quarter',
        ours: increments.map((mb) => `${mb.toFixed(0)}`).join(' / ') + ' MB',
        raw: '',
        ratio: '',
        goal: 'at most linear',
        pass: linear,
      },
    ],
    notes: [
      ...checkpoints.map((c) => `after ${c.agents} agents: +${c.heapMb.toFixed(1)} MB heap, ${c.active} actors live, ${c.passivations} passivated`),
      `raw: one bare xstate lifecycle actor costs ${(rawPerActor / 1024).toFixed(1)} KB of heap; ${agents} kept alive would take ${rawMb.toFixed(0)} MB`,
    ],
    data: { checkpoints, rawPerActor },
  };
}
