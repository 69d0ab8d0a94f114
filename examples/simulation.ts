/**
 * Deterministic simulation with llmstate/testing: the three worked examples of docs/testing.md.
 * Run: node --import tsx examples/simulation.ts
 *
 * 1. A lost update, found, shrunk and replayed; then fixed with a transaction.
 * 2. A hook that must see every change, despite its workers dying.
 * 3. An agent that must keep its conversation across restarts of the process.
 */
import { assign, setup } from 'xstate';
import { Scope, type LlmStateError } from '../src/index.js';
import { simulate, SimulationFailure, type Simulation } from '../src/testing/index.js';

const counter = Scope.global();

// 1. A lost update. Two tasks read n, then write n + 1: when both read before either writes, one
// increment is lost. In the order the code is written, b reads another scope first, so a finishes
// before b reads n, and a plain test passes; the simulator reorders the tasks' steps and finds it.
async function increment(sim: Simulation): Promise<void> {
  const n = ((await sim.rt.state.get(counter, 'n')) as number | undefined) ?? 0;
  await sim.rt.state.set(counter, 'n', n + 1);
}

async function racyCounter(sim: Simulation): Promise<void> {
  const a = sim.spawn(() => increment(sim), 'a');
  const b = sim.spawn(async () => {
    await sim.rt.state.get(Scope.agent('b'), 'profile');
    await increment(sim);
  }, 'b');
  await Promise.all([a, b]);
  sim.check((await sim.rt.state.get(counter, 'n')) === 2, 'lost update');
}

try {
  await simulate.assert(racyCounter, { runs: 200, seed: 7 });
} catch (error) {
  if (!(error instanceof SimulationFailure)) throw error;
  console.log(`1. found: ${error.failures.join('; ')} (seed ${error.seed})`);
  for (const line of error.trace) console.log(`   ${line}`);
  const again = await simulate.replay(racyCounter, { seed: error.seed, path: error.path }).catch((replayed: unknown) => replayed);
  console.log(`   replay gives the same trace: ${again instanceof SimulationFailure && again.trace.join('\n') === error.trace.join('\n')}`);
}

// The fix: read and write n in one transaction, which the scope's actor runs alone. With store
// faults on, an increment may fail (STORAGE_FAILED, and nothing is written); n must count exactly the
// increments that succeeded.
async function transactionalCounter(sim: Simulation): Promise<void> {
  let succeeded = 0;
  const incrementInOneStep = async () => {
    try {
      await sim.rt.state.transaction(counter, async (tx) => {
        tx.set('n', (((await tx.get('n')) as number | undefined) ?? 0) + 1);
      });
      succeeded++;
    } catch (error) {
      if ((error as LlmStateError).code !== 'STORAGE_FAILED') throw error;
    }
  };
  await Promise.all([sim.spawn(incrementInOneStep, 'a'), sim.spawn(incrementInOneStep, 'b'), sim.spawn(incrementInOneStep, 'c')]);
  sim.check(((await sim.rt.state.get(counter, 'n')) ?? 0) === succeeded, 'n does not count the increments');
}

await simulate.assert(transactionalCounter, { runs: 500, seed: 7, faults: { storage: 0.05 } });
console.log('1. fixed: 500 runs with store faults pass');

// 2. A hook that must see every change. `audit` writes `audit:<key>` for each key set. Its workers
// die at random; each execution is retried until it succeeds, so no change is missed.
const AUDIT = new URL('./hooks/audit.mjs', import.meta.url).href;
let workerDeaths = 0;
await simulate.assert(
  async (sim) => {
    const keys = ['plan', 'budget', 'dates'];
    await Promise.all(keys.map((key) => sim.spawn(() => sim.rt.state.set(counter, key, key.length), `writer ${key}`)));
    await sim.rt.hooks.idle();
    for (const key of keys) sim.check((await sim.rt.state.get(counter, `audit:${key}`)) === key.length, `the hook missed ${key}`);
    workerDeaths += sim.trace.filter((line) => line.includes('fault: the worker of hook audit')).length;
  },
  {
    runs: 100,
    seed: 7,
    faults: { hookWorkerCrash: 0.3 },
    setup: async (rt) => {
      await rt.hooks.register({ name: 'audit', module: AUDIT, on: ['state.set'], maxAttempts: 100, backoff: { initialMs: 10, maxMs: 1000 } });
    },
  },
);
console.log(`2. every change reached the hook in 100 runs, through ${workerDeaths} worker deaths`);

// 3. An agent that must keep its conversation across restarts. The process crashes at random store
// batches and restarts on the same store; a message in flight fails with RUNTIME_CLOSED and the
// client sends it again, to the agent restored from its last save.
const chat = setup({
  types: { context: {} as { texts: string[] }, events: {} as { type: 'SAY'; text: string } },
}).createMachine({
  context: { texts: [] },
  on: { SAY: { actions: assign({ texts: ({ context, event }) => [...context.texts, event.text] }) } },
});

let restarts = 0;
await simulate.assert(
  async (sim) => {
    const sent: string[] = [];
    for (const text of ['hello', 'a trip to Lisbon', 'in May']) {
      // Like a client: send, and on an error that a crash explains, wait a little and send again.
      for (;;) {
        const reply = await sendTo(sim, text).catch((error: LlmStateError) => {
          if (!['RUNTIME_CLOSED', 'ACTOR_STOPPED', 'STORAGE_FAILED', 'AGENT_NOT_FOUND'].includes(error.code)) throw error;
        });
        if (reply !== undefined) break;
        await sim.sleep(100);
      }
      sent.push(text);
    }
    const { machineSnapshot } = await sim.rt.agents.show('traveller');
    // A message cut off by a crash may have been saved before it was sent again: at least once.
    const kept = (machineSnapshot as { context: { texts: string[] } }).context.texts.filter((text, index, all) => text !== all[index - 1]);
    sim.check(kept.join('|') === sent.join('|'), `the agent kept ${JSON.stringify(kept)} of ${JSON.stringify(sent)}`);
    restarts += sim.restarts;
  },
  { runs: 100, seed: 7, faults: { restart: 0.05 }, setup: (rt) => rt.agents.define('chat', chat) },
);
console.log(`3. the conversation survived ${restarts} restarts in 100 runs`);

/** Sends to the agent of this runtime: running, restored from its last save, or spawned the first time. */
async function sendTo(sim: Simulation, text: string) {
  const { agents } = sim.rt;
  if (agents.isLive('traveller')) return agents.get('traveller').send({ type: 'SAY', text });
  const stored = (await agents.list()).some((agent) => agent.id === 'traveller');
  const agent = stored ? await agents.restore('traveller') : await agents.spawn({ id: 'traveller', type: 'chat', machine: chat });
  return agent.send({ type: 'SAY', text });
}
