import assert from 'node:assert/strict';
import { join } from 'node:path';
import { onRuntimeFatal, Scope, type LlmStateError, type Runtime } from '../../src/index.js';
import { untilSettled } from '../agents/agentKit.js';
import { chatMachine } from '../fixtures/chatMachine.js';
import { rejection, RuntimeFixture, tempDir } from '../helpers.js';
import { ManualTimers } from '../ManualTimers.js';
import { openGate } from './hookHelpers.js';

const GATED = new URL('../fixtures/hooks/gated.mjs', import.meta.url);

describe('hooks: after runtime.fatal', () => {
  let fixture: RuntimeFixture;
  let rt: Runtime;
  let gate: ReturnType<typeof tempDir>;
  let gateFile: string;
  let fatal: LlmStateError[];
  let fatalReported: Promise<void>;
  let timers: ManualTimers;

  beforeEach(async () => {
    fixture = new RuntimeFixture('hooks-fatal');
    gate = tempDir('hooks-fatal-gate');
    gateFile = join(gate.dir, 'open');
    timers = new ManualTimers();
    rt = await fixture.open({ clock: timers.clock, timers, hooks: { threads: 2 } });
    fatal = [];
    fatalReported = new Promise((resolve) =>
      onRuntimeFatal(rt, (error) => {
        fatal.push(error);
        resolve();
      }),
    );
    // The time limit is far away: the hook waits for the test to open its gate. One attempt: a refusal
    // must not spend it.
    await rt.hooks.register({ name: 'copier', module: GATED, on: ['state.set'], filter: { keyPrefix: 'k' }, timeoutMs: 600_000, maxAttempts: 1, options: { gate: gateFile } });
  });
  afterEach(async () => {
    openGate(gateFile);
    await fixture.dispose();
    gate.cleanup();
  });

  /** Makes the root supervisor fail, with injected crashes: a team that gives up on every crash, 4 times. */
  async function failTheRoot(): Promise<void> {
    rt.supervisors.create({ id: 'team', strategy: 'one_for_one', intensity: 0, period: 60_000 });
    const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine: chatMachine(), supervisor: 'team' });
    for (let crash = 0; crash < 4; crash++) {
      rt.faults.crashActor('a1');
      assert.equal((await rejection(agent.send({ type: 'SAY', text: `crash ${crash}` }))).code, 'ACTOR_CRASHED');
      if (crash < 3) await untilSettled(rt);
    }
    await fatalReported;
    assert.equal(fatal.length, 1);
  }

  it('refuses the actions of a running execution with SUPERVISOR_SHUTDOWN, records the refusal, and keeps its batch for the next open', async () => {
    await rt.state.set(Scope.agent('u1'), 'k', 'first');
    // An execution sets its time limit as it starts.
    while (rt.hooks.get('copier')?.inFlight !== 1) await timers.nextSet();
    await rt.state.set(Scope.agent('u1'), 'k', 'second'); // waits behind the first execution

    await failTheRoot();
    assert.equal((await rejection(rt.state.set(Scope.agent('u1'), 'k', 'refused'))).code, 'SUPERVISOR_SHUTDOWN');
    openGate(gateFile);
    await rt.hooks.idle();

    const [execution, ...more] = await rt.hooks.history({ hookName: 'copier' });
    assert.deepEqual(more, [], 'no execution starts once the runtime has failed');
    assert.equal(execution.status, 'failed');
    assert.equal(execution.error?.code, 'SUPERVISOR_SHUTDOWN');
    assert.match(execution.error.message, /root supervisor failed/);
    assert.equal(await rt.state.get(Scope.agent('u1'), 'copy'), undefined, 'the action was applied after runtime.fatal');
    assert.equal(rt.hooks.get('copier')?.pending, 2, 'both batches wait in the outbox');
    assert.deepEqual(await rt.hooks.deadLetters({ hookName: 'copier' }), []);

    rt = await fixture.reopen(rt, { clock: timers.clock, timers, hooks: { threads: 2 } });
    await rt.hooks.idle();
    assert.equal(await rt.state.get(Scope.agent('u1'), 'copy'), 'second');
    const [refused, ...delivered] = await rt.hooks.history({ hookName: 'copier' });
    assert.equal(refused.executionId, execution.executionId);
    assert.deepEqual(
      delivered.map((run) => run.status),
      delivered.map(() => 'succeeded'),
    );
    assert.deepEqual(
      delivered.flatMap((run) => (run.result?.output as { values: string[] }).values),
      ['first', 'second'],
      'the refused batch and the one behind it are delivered once each',
    );
  });
});
