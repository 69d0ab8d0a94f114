import assert from 'node:assert/strict';
import { Scope, type Runtime } from '../../src/index.js';
import { RuntimeFixture } from '../helpers.js';
import { registerScripted } from './hookHelpers.js';

async function timedSet(rt: Runtime, key: string, i: number): Promise<number> {
  const started = process.hrtime.bigint();
  await rt.state.set(Scope.agent(`a${i % 10}`), key, { i });
  return Number(process.hrtime.bigint() - started) / 1000;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

describe('hooks: invariant 5, hooks never block writes', () => {
  let fixture: RuntimeFixture;
  afterEach(() => fixture.dispose());

  it('write latency does not depend on a hook that takes a second per execution', async () => {
    fixture = new RuntimeFixture('hooks-slow');
    const rt = await fixture.open({ hooks: { threads: 2, closeGraceMs: 0 } });
    await registerScripted(rt, 'sleepy', { sleepMs: 1000 }, { batchSize: 1, timeoutMs: 5000, filter: { keyPrefix: 'hooked' } });
    for (let i = 0; i < 300; i++) await timedSet(rt, `warm${i}`, i);
    // Writes the hook takes and writes it does not, interleaved, so that whatever else the machine
    // does slows both alike.
    const without: number[] = [];
    const withHook: number[] = [];
    for (let i = 0; i < 400; i++) {
      without.push(await timedSet(rt, `plain${i}`, i));
      withHook.push(await timedSet(rt, `hooked${i}`, i));
    }
    const { pending, inFlight } = rt.metrics().hooks;
    assert.ok(pending > 390 && inFlight === 1, `the hook is behind: ${pending} pending, ${inFlight} running`);
    // Loose on purpose: machines are noisy. A write that waited for the hook would take 1000 ms.
    const [p50With, p50Without] = [median(withHook), median(without)];
    assert.ok(p50With < p50Without * 2, `p50 ${p50With.toFixed(0)} µs with the hook, ${p50Without.toFixed(0)} µs without`);
  });
});
