/**
 * SPAWN: agents spawned per second (record saved, xstate machine started, child of the default
 * supervisor), 32 spawns in flight. Raw: the same record bytes as awaited classic-level puts plus a
 * bare xstate actor started for each, also 32 in flight.
 */
import { createActor } from 'xstate';
import { chatMachine } from './agentMachine.js';
import { createRuntime } from './common.js';
import { elapsedNs, fmtRate, fmtRatio, gc, inFlight, median, now, withRawDb, withTempDir, type BenchContext, type BenchResult } from './harness.js';

export async function agentSpawn(ctx: BenchContext): Promise<BenchResult> {
  const count = ctx.quick ? 1_000 : 5_000;
  const ours: number[] = [];
  const raw: number[] = [];
  for (let rep = 0; rep < ctx.reps; rep++) {
    ctx.log(`spawn rep ${rep + 1}/${ctx.reps}`);
    ours.push(
      await withTempDir('spawn', async (dir) => {
        const rt = await createRuntime({ dataDir: dir });
        try {
          const start = now();
          await inFlight(32, count, (i) => rt.agents.spawn({ id: `agent-${i}`, type: 'chat', machine: chatMachine, config: { model: 'x' } }));
          return (count / elapsedNs(start)) * 1e9;
        } finally {
          await rt.close();
        }
      }),
    );
    gc();
    raw.push(
      await withRawDb('spawn-raw', async (db) => {
        const record = Buffer.alloc(420, 7);
        const actors: unknown[] = [];
        const start = now();
        await inFlight(32, count, async (i) => {
          actors.push(createActor(chatMachine).start());
          await db.put(Buffer.from(`record\x00agent-${i}`), record);
        });
        return (count / elapsedNs(start)) * 1e9;
      }),
    );
    gc();
  }
  const oursRate = median(ours);
  const rawRate = median(raw);
  return {
    id: 'SPAWN',
    title: `agents spawned per second (${count} agents, 32 in flight)`,
    rows: [{ id: 'SPAWN', metric: 'spawns/s', ours: fmtRate(oursRate), raw: fmtRate(rawRate), ratio: fmtRatio(oursRate / rawRate), goal: 'informational' }],
    notes: ['raw = an awaited classic-level put of a record-sized value plus a bare xstate actor started, per agent'],
    data: { ours, raw },
  };
}
