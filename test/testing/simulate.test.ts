import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createRuntime, Scope } from '../../src/index.js';
import { checkLinearizable } from '../../src/testing/linearizability.js';
import { failureOf } from './simulationKit.js';
import { simulate, SimulationFailure, type SimulationBody } from '../../src/testing/simulate.js';
import { hiddenLostUpdate, lostUpdate } from '../fixtures/simulationBodies.js';

const run = promisify(execFile);
const g = Scope.global();


/** Runs `body` on a plain runtime, in the order the code issues its calls: the way a unit test would. */
async function naturalOrder(body: SimulationBody): Promise<void> {
  const rt = await createRuntime({ memory: true });
  const failures: string[] = [];
  const sim = {
    rt,
    spawn: <T>(fn: () => Promise<T> | T) => Promise.resolve().then(fn),
    check: (condition: unknown, message: string) => {
      if (!condition) failures.push(message);
    },
  };
  try {
    await body(sim as never);
  } finally {
    await rt.close();
  }
  assert.deepEqual(failures, []);
}

describe('simulate', () => {
  it('passes the hidden lost update in the natural order, where its race never shows', async () => {
    await naturalOrder(hiddenLostUpdate);
  });

  for (const [name, body] of [
    ['the lost update', lostUpdate],
    ['the lost update that the natural order hides', hiddenLostUpdate],
  ] as const) {
    it(`finds ${name} within 200 runs, shrinks it, and replays it with the same trace`, async () => {
      const failure = await failureOf(body, { runs: 200, seed: 1 });
      assert.deepEqual(failure.failures, ['check failed in the body: lost update']);
      assert.equal(typeof failure.seed, 'number');
      assert.match(failure.path, /^\d+(:\d+)*$/);
      // The trace shows the race: both tasks read none, and both write 1.
      for (const task of ['a', 'b']) {
        assert.ok(failure.trace.some((line) => new RegExp(`^\\d+ ${task}: get global "n" → none$`).test(line)), failure.message);
        assert.ok(failure.trace.some((line) => new RegExp(`^\\d+ ${task}: set global "n" = 1 ok$`).test(line)), failure.message);
      }
      assert.match(failure.trace.at(-1)!, /^\d+ main: check failed: lost update$/);
      assert.match(failure.message, /^The simulation failed \(run \d+, shrunk \d+ times\): check failed in the body: lost update\nReplay it with simulate\.replay\(body, \{ seed: -?\d+, path: "[\d:]+" \}\), with the same options as this search \(faults, setup, runtime, timeLimitMs, shrinkRuns\)\.\nTrace:\n {2}1 /);
      const again = await simulate.replay(body, { seed: failure.seed, path: failure.path }).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      assert.ok(again instanceof SimulationFailure);
      assert.deepEqual(again.trace, failure.trace);
      assert.deepEqual([again.seed, again.path], [failure.seed, failure.path]);
    });
  }

  it('passes the counter written with a transaction for 500 runs with store faults on, with a linearizable history', async () => {
    let runs = 0;
    let faulted = 0;
    await simulate.assert(
      async (sim) => {
        runs++;
        let done = 0;
        const increment = async () => {
          try {
            await sim.rt.state.transaction(g, async (tx) => {
              const n = ((await tx.get('n')) as number | undefined) ?? 0;
              tx.set('n', n + 1);
            });
            done++;
          } catch (error) {
            if ((error as { code?: string }).code !== 'STORAGE_FAILED') throw error;
            faulted++;
          }
        };
        await Promise.all([sim.spawn(increment, 'a'), sim.spawn(increment, 'b'), sim.spawn(increment, 'c')]);
        const n = (await sim.rt.state.get(g, 'n')) ?? 0;
        sim.check(n === done, `n is ${String(n)} after ${done} increments`);
        const linearizable = checkLinearizable(sim.history);
        sim.check(linearizable.ok, linearizable.ok ? '' : linearizable.message);
      },
      { runs: 500, seed: 2, faults: { storage: 0.1 } },
    );
    assert.equal(runs, 500);
    assert.ok(faulted > 0, 'some increments met an injected fault');
  });

  it('refutes "no set ever rejects" with store faults on, and finds it true with them off', async () => {
    const noSetRejects: SimulationBody = async (sim) => {
      for (const value of [1, 2, 3]) {
        const rejected = await sim.rt.state.set(g, 'k', value).then(
          () => false,
          () => true,
        );
        sim.check(!rejected, `set ${value} rejected`);
      }
    };
    await simulate.assert(noSetRejects, { runs: 200, seed: 3 });
    const failure = await failureOf(noSetRejects, { runs: 200, seed: 3, faults: { storage: 0.05 } });
    assert.match(failure.failures[0], /^check failed in the body: set \d rejected$/);
    assert.equal(failure.trace.filter((line) => /fault: store batch \d+ fails$/.test(line)).length, 1, 'shrunk to one fault');
    // A planned fault needs no probability.
    const planned = await failureOf(noSetRejects, { runs: 1, seed: 3, faults: { plan: [{ kind: 'storage', at: 2 }] } });
    assert.deepEqual(planned.failures, ['check failed in the body: set 2 rejected']);
    assert.ok(planned.trace.some((line) => /^\d+ fault: store batch 2 fails$/.test(line)), planned.message);
  });

  it('gives the same trace for the same seed in another process', async () => {
    const failure = await failureOf(lostUpdate, { runs: 200, seed: 11 });
    const script = `
      import { simulate } from './src/testing/simulate.ts';
      import { lostUpdate } from './test/fixtures/simulationBodies.ts';
      await simulate.assert(lostUpdate, { runs: 200, seed: 11 }).catch((failure) => console.log(JSON.stringify({ path: failure.path, trace: failure.trace })));`;
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root });
    const other = JSON.parse(stdout) as { path: string; trace: string[] };
    assert.equal(other.path, failure.path);
    assert.deepEqual(other.trace, failure.trace);
  });

  it('runs time limits on virtual time: a transaction that never finishes times out without waiting', async () => {
    const started = performance.now();
    let outcome = '';
    await simulate.assert(
      async (sim) => {
        const stuck = sim.rt.state.transaction(g, () => new Promise<never>(() => {})).catch((error: { code?: string }) => error.code);
        await sim.advance(29_999);
        sim.check(sim.elapsedMs === 29_999, `at ${sim.elapsedMs} ms`);
        await sim.advance(1);
        outcome = String(await stuck);
      },
      { runs: 3, seed: 4 },
    );
    assert.equal(outcome, 'TRANSACTION_TIMEOUT');
    assert.ok(performance.now() - started < 30_000);
  });

  it('fails a body that never settles, saying what each task waits on', async () => {
    const failure = await failureOf(
      async (sim) => {
        await sim.spawn(() => sim.rt.state.transaction(g, () => new Promise<never>(() => {})), 'stuck');
      },
      { runs: 1, seed: 5, timeLimitMs: 10_000 },
    );
    assert.deepEqual(failure.failures, ['the run never settles: nothing settled within the virtual time limit of 10000 ms; stuck is waiting on transaction global']);
  });

  it('reports an error thrown by a task that nothing awaited', async () => {
    const failure = await failureOf(
      async (sim) => {
        void sim.spawn(() => {
          throw new Error('boom');
        }, 'careless');
        await sim.rt.state.set(g, 'k', 1);
      },
      { runs: 1, seed: 6 },
    );
    assert.deepEqual(failure.failures, ['careless threw: boom']);
  });

  it('refuses options of the wrong shape', async () => {
    await assert.rejects(simulate.assert('x' as never), /Expected the body to be a function of the simulation, got string/);
    await assert.rejects(simulate.assert(lostUpdate, { runs: 0 }), /`runs`/);
    await assert.rejects(simulate.assert(lostUpdate, { faults: { storage: 2 } }), /`faults`/);
    await assert.rejects(simulate.assert(lostUpdate, { faults: { crashes: 0.1 } as never }), /`faults`/);
    await assert.rejects(simulate.replay(lostUpdate, { seed: 1 } as never), /Expected `seed` and `path` to replay/);
    await assert.rejects(simulate.replay(lostUpdate, { seed: 1, path: 'x' }), /`path`/);
  });
});
