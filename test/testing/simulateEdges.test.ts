import assert from 'node:assert/strict';
import { Scope } from '../../src/index.js';
import { checkLinearizable } from '../../src/testing/linearizability.js';
import { failureOf } from './simulationKit.js';
import { simulate, type SimulateOptions, type SimulationBody } from '../../src/testing/simulate.js';

const g = Scope.global();
const MARKS = new URL('../fixtures/hooks/marks.mjs', import.meta.url).href;
const READS_FILE = new URL('../fixtures/hooks/readsFile.mjs', import.meta.url).href;


describe('simulate: edges', () => {
  it('restarts a runtime whose setup registers a hook, with no faults injected into the setup', async () => {
    let restarts = 0;
    await simulate.assert(
      async (sim) => {
        for (let n = 0; n < 4; n++) await sim.rt.state.set(g, 'k', n).catch(() => undefined);
        restarts += sim.restarts;
      },
      { runs: 60, seed: 1, faults: { restart: 0.3, storage: 0.2 }, setup: async (rt) => void (await rt.hooks.register({ name: 'marks', module: MARKS, on: ['state.set'] })) },
    );
    assert.ok(restarts > 5, `only ${restarts} restarts`);
  });

  it('reports a setup that throws as such', async () => {
    const failure = await failureOf(async () => {}, {
      runs: 1,
      seed: 1,
      setup: () => {
        throw new Error('no machine');
      },
    });
    assert.deepEqual(failure.failures, ['setup threw: no machine']);
  });

  it('gives the same trace for the same seed when hooks retry with jittered back-off', async () => {
    const body: SimulationBody = async (sim) => {
      await sim.rt.state.set(g, 'a', 1);
      await sim.rt.hooks.idle();
      sim.check(false, 'always, to get the trace');
    };
    const options: SimulateOptions = {
      runs: 1,
      seed: 2,
      shrinkRuns: 0,
      faults: { plan: [{ kind: 'hookWorkerCrash', at: 1 }, { kind: 'hookWorkerCrash', at: 2 }] },
      setup: async (rt) => void (await rt.hooks.register({ name: 'marks', module: MARKS, on: ['state.set'], maxAttempts: 5 })),
    };
    const first = await failureOf(body, options);
    const second = await failureOf(body, options);
    assert.ok(first.trace.filter((line) => /fault: the worker of hook marks run \d dies$/.test(line)).length === 2, first.message);
    assert.ok(first.trace.some((line) => /time: \+\d+ ms/.test(line)), 'the retries waited');
    assert.deepEqual(second.trace, first.trace);
  });

  it('counts hook runs across restarts, so a planned worker death strikes once', async () => {
    let deaths = 0;
    await simulate.assert(
      async (sim) => {
        // The restart cuts off the first wait for the hooks, which then fails with RUNTIME_CLOSED.
        await sim.rt.state.set(g, 'a', 1).catch(() => undefined);
        const cutOff = await sim.rt.hooks.idle().then(() => 'idle', (error: { code?: string }) => error.code);
        sim.check(cutOff === 'RUNTIME_CLOSED', `the first wait ended ${cutOff}`);
        await sim.rt.hooks.idle();
        await sim.rt.state.set(g, 'b', 1).catch(() => undefined);
        await sim.rt.hooks.idle();
        deaths = sim.trace.filter((line) => line.includes('fault: the worker of hook marks')).length;
      },
      { runs: 1, seed: 3, faults: { plan: [{ kind: 'hookWorkerCrash', at: 1 }, { kind: 'restart', at: 3, written: true }] }, setup: async (rt) => void (await rt.hooks.register({ name: 'marks', module: MARKS, on: ['state.set'] })) },
    );
    assert.equal(deaths, 1);
  });

  it('holds virtual time still while a hook does real I/O, and while a hook module loads', async () => {
    await simulate.assert(
      async (sim) => {
        sim.check(sim.elapsedMs === 0, `the body starts at ${sim.elapsedMs} ms`);
        await sim.rt.state.set(g, 'a', 1);
        await sim.rt.hooks.idle();
        const [execution] = await sim.rt.hooks.history({ hookName: 'reads' });
        sim.check(execution?.status === 'succeeded', `recorded ${JSON.stringify(execution?.error)}`);
      },
      { runs: 3, seed: 4, setup: async (rt) => void (await rt.hooks.register({ name: 'reads', module: READS_FILE, on: ['state.set'], timeoutMs: 1000 })) },
    );
  });

  it('records a transaction read of a key named like an Object member', async () => {
    const failure = await failureOf(
      async (sim) => {
        await sim.rt.state.set(g, 'constructor', 1);
        await sim.rt.state.transaction(g, async (tx) => {
          await tx.get('constructor');
          await tx.get('toString');
        });
        const [, transaction] = sim.history;
        sim.check(false, JSON.stringify(transaction.reads));
      },
      { runs: 1, seed: 5, shrinkRuns: 0 },
    );
    assert.deepEqual(failure.failures, ['check failed in the body: {"constructor":1}']);
  });

  it('keeps in the history the value as it was at the call, whatever the caller does to it later', async () => {
    await simulate.assert(
      async (sim) => {
        const value = { items: ['a'] };
        await sim.rt.state.set(g, 'list', value);
        value.items.push('b');
        const read = (await sim.rt.state.get(g, 'list')) as { items: string[] };
        sim.check(read.items.length === 1, 'the store kept the caller’s object');
        const result = checkLinearizable(sim.history);
        sim.check(result.ok, result.ok ? '' : result.message);
      },
      { runs: 5, seed: 6 },
    );
  });

  it('fails a body that keeps advancing time past the time limit', async () => {
    const failure = await failureOf(
      async (sim) => {
        for (;;) await sim.advance(1000);
      },
      { runs: 1, seed: 7, timeLimitMs: 10_000 },
    );
    assert.deepEqual(failure.failures, ['the run never settles: it passed its virtual time limit of 10000 ms in sim.advance']);
  });

  it('fails a run whose check failed, even when the error it threw was caught', async () => {
    const failure = await failureOf(
      async (sim) => {
        try {
          sim.check(false, 'n must be 42');
        } catch {
          // swallowed
        }
      },
      { runs: 1, seed: 8 },
    );
    assert.deepEqual(failure.failures, ['check failed in the body: n must be 42']);
  });

  it('waits for tasks the body did not wait for, and counts their errors', async () => {
    const failure = await failureOf(
      async (sim) => {
        void sim.spawn(async () => {
          await sim.sleep(10);
          await sim.rt.state.set(g, 'late', 1);
          throw new Error('late failure');
        }, 'straggler');
      },
      { runs: 1, seed: 9 },
    );
    assert.deepEqual(failure.failures, ['straggler threw: late failure']);
    assert.ok(failure.trace.some((line) => /straggler: set global "late" = 1 ok$/.test(line)), failure.message);
  });

  it('refuses runtime options that the runtime would refuse, and those the simulation sets, up front', async () => {
    await assert.rejects(simulate.assert(async () => {}, { runtime: { durability: 'bogus' as never } }), (error: unknown) => error instanceof TypeError && /durability/.test(error.message));
    await assert.rejects(simulate.assert(async () => {}, { runtime: { dataDir: '/tmp/x' } as never }), /Expected `runtime` without `dataDir`/);
    await assert.rejects(simulate.assert(async () => {}, { runtime: { clock: { now: () => 0 } } as never }), /Expected `runtime` without `clock`/);
  });
});
