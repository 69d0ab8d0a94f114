/**
 * RESTART: how long a crashed agent takes to come back. Each round arms a crash, sends the message that
 * crashes the agent, and times from that rejection until the next message has been processed by the
 * restarted incarnation (record reloaded from the store, machine restored from its snapshot). Raw: a
 * classic-level get of the record plus a bare xstate actor created from a snapshot.
 */
import { createActor } from 'xstate';
import { chatMachine } from './agentMachine.js';
import { createRuntime } from './common.js';
import { elapsedNs, fmtNs, fmtRatio, medianSummary, now, summarize, withRawDb, withTempDir, type BenchContext, type BenchResult, type LatencySummary } from './harness.js';

export async function agentRestart(ctx: BenchContext): Promise<BenchResult> {
  const rounds = ctx.quick ? 200 : 1_000;
  const ours: LatencySummary[] = [];
  const raw: LatencySummary[] = [];
  for (let rep = 0; rep < ctx.reps; rep++) {
    ctx.log(`restart rep ${rep + 1}/${ctx.reps}`);
    ours.push(
      await withTempDir('restart', async (dir) => {
        const rt = await createRuntime({ dataDir: dir });
        try {
          // A budget wide enough that the supervisor never gives up during the benchmark.
          rt.supervisors.create({ id: 'bench', strategy: 'one_for_one', intensity: rounds * 2, period: 60_000 });
          const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine: chatMachine, supervisor: 'bench' });
          await agent.send({ type: 'USER_MESSAGE', text: 'warm' });
          const samples = new Float64Array(rounds);
          for (let i = 0; i < rounds; i++) {
            rt.faults.crashActor('a1');
            await agent.send({ type: 'USER_MESSAGE', text: `boom ${i}` }).catch(() => {});
            const start = now();
            await agent.send({ type: 'USER_MESSAGE', text: `after ${i}` });
            samples[i] = elapsedNs(start);
          }
          return summarize(samples);
        } finally {
          await rt.close();
        }
      }),
    );
    raw.push(
      await withRawDb('restart-raw', async (db) => {
        const actor = createActor(chatMachine).start();
        actor.send({ type: 'USER_MESSAGE', text: 'warm' });
        const key = Buffer.from('record\x00a1');
        await db.put(key, Buffer.from(JSON.stringify({ machineSnapshot: actor.getPersistedSnapshot() })));
        const samples = new Float64Array(rounds);
        for (let i = 0; i < rounds; i++) {
          const start = now();
          const bytes = await db.get(key);
          const { machineSnapshot } = JSON.parse(bytes!.toString('utf8'));
          const restored = createActor(chatMachine, { snapshot: machineSnapshot }).start();
          restored.send({ type: 'USER_MESSAGE', text: `after ${i}` });
          samples[i] = elapsedNs(start);
        }
        return summarize(samples);
      }),
    );
  }
  const o = medianSummary(ours);
  const r = medianSummary(raw);
  return {
    id: 'RESTART',
    title: `restart latency of a crashed agent (${rounds} crashes)`,
    rows: [
      { id: 'RESTART', metric: 'p50', ours: fmtNs(o.p50), raw: fmtNs(r.p50), ratio: fmtRatio(o.p50 / r.p50), goal: 'informational' },
      { id: 'RESTART', metric: 'p99', ours: fmtNs(o.p99), raw: fmtNs(r.p99), ratio: fmtRatio(o.p99 / r.p99), goal: 'informational' },
    ],
    notes: ['ours includes the dead letter written for the crash, the agent.restarted record, and the next message with its save'],
    data: { ours, raw },
  };
}
