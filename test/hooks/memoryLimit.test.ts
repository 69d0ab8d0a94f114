import assert from 'node:assert/strict';
import { Scope, type Runtime } from '../../src/index.js';
import { RuntimeFixture } from '../helpers.js';

const HOG = new URL('../fixtures/hooks/hog.mjs', import.meta.url);

describe('hooks: worker memory limits', () => {
  let fixture: RuntimeFixture;
  let rt: Runtime;

  beforeEach(async () => {
    fixture = new RuntimeFixture('hooks-memory');
    // A small heap, so that running out of it is quick.
    rt = await fixture.open({ hooks: { threads: 2, resourceLimits: { maxOldGenerationSizeMb: 48 } } });
  });
  afterEach(() => fixture.dispose());

  it('a hook that allocates without bound fails as HOOK_FAILED about memory; its worker is replaced, and writes and deliveries go on', async () => {
    // A long time limit: running out of memory must be reported as itself, not as a time-out.
    await rt.hooks.register({ name: 'hog', module: HOG, on: ['state.set'], filter: { keyPrefix: 'hog' }, maxAttempts: 1, timeoutMs: 120_000, options: { hog: true } });
    await rt.hooks.register({ name: 'calm', module: HOG, on: ['state.set'], filter: { keyPrefix: 'calm' } });

    await rt.state.set(Scope.agent('a1'), 'hog', 1);
    await rt.hooks.idle();
    const [execution, ...more] = await rt.hooks.history({ hookName: 'hog' });
    assert.deepEqual(more, []);
    assert.equal(execution.status, 'failed');
    assert.equal(execution.error?.code, 'HOOK_FAILED');
    assert.match(execution.error.message, /ran out of memory \(hooks\.resourceLimits: maxOldGenerationSizeMb 48\)/);
    assert.match(execution.error.message, /replaced/);
    assert.equal((await rt.hooks.deadLetters({ hookName: 'hog' })).length, 1);

    // The process is still here, and writes and deliveries go on: more of them than there are threads.
    for (let write = 1; write <= 4; write++) await rt.state.set(Scope.agent('a1'), `calm${write}`, write);
    await rt.hooks.idle();
    assert.equal(await rt.state.get(Scope.agent('a1'), 'calm4'), 4);
    const calm = await rt.hooks.history({ hookName: 'calm' });
    assert.ok(calm.length > 0);
    assert.deepEqual(
      calm.map((run) => run.status),
      calm.map(() => 'succeeded'),
    );
    assert.equal(
      calm.reduce((events, run) => events + run.eventIds.length, 0),
      4,
    );
    // The workers' heap limit is the old generation (48 MB) plus the young one (V8's default, 48 MB), not
    // the process's (about 4 GB).
    for (const run of calm) assert.ok((run.result?.output as { heapLimitMb: number }).heapLimitMb <= 48 + 64, JSON.stringify(run.result));
  });

  it('the same hook fails again on a retry, each time as HOOK_FAILED, and then is dead-lettered', async () => {
    await rt.hooks.register({ name: 'hog', module: HOG, on: ['state.set'], maxAttempts: 2, backoff: { initialMs: 1, maxMs: 1 }, timeoutMs: 120_000, options: { hog: true } });
    await rt.state.set(Scope.agent('a1'), 'k', 1);
    await rt.hooks.idle();
    const history = await rt.hooks.history({ hookName: 'hog' });
    assert.deepEqual(
      history.map((run) => [run.attempt, run.status, run.error?.code, /out of memory/.test(run.error?.message ?? '')]),
      [
        [1, 'failed', 'HOOK_FAILED', true],
        [2, 'failed', 'HOOK_FAILED', true],
      ],
    );
    assert.equal((await rt.hooks.deadLetters({ hookName: 'hog' }))[0]?.reason, 'attempts_exhausted');
  });
});
