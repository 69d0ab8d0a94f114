import assert from 'node:assert/strict';
import { Scope, type HookExecution, type Runtime } from '../../src/index.js';
import { MAX_HOOK_RESULT_DEPTH, hookResultByteLimit } from '../../workers/hookResult.js';
import { shortenForDisplay } from '../../src/displayText.js';
import { RuntimeFixture } from '../helpers.js';

const BAD_RESULT = new URL('../fixtures/hooks/badResult.mjs', import.meta.url);
const MAX_VALUE_BYTES = 1000;

describe('hooks: what a hook may return', () => {
  let fixture: RuntimeFixture;
  let rt: Runtime;
  let names = 0;

  before(async () => {
    fixture = new RuntimeFixture('hooks-results');
    rt = await fixture.open({ maxValueBytes: MAX_VALUE_BYTES, hooks: { threads: 2 } });
  });
  after(() => fixture.dispose());

  /** Runs the fixture once on a fresh write, with one attempt, and returns its execution. */
  async function executionReturning(options: Record<string, unknown>): Promise<HookExecution> {
    const name = `result-${++names}`;
    // The time limit is long, so a result lost on its way back would show as HOOK_TIMEOUT, not pass.
    await rt.hooks.register({ name, module: BAD_RESULT, on: ['state.set'], filter: { keyPrefix: `${name}/` }, maxAttempts: 1, timeoutMs: 5000, options });
    await rt.state.set(Scope.agent('a1'), `${name}/k`, 1);
    await rt.hooks.idle();
    const history = await rt.hooks.history({ hookName: name });
    assert.equal(history.length, 1, 'one attempt');
    return history[0];
  }

  async function failsAt(options: Record<string, unknown>, path: string, what: RegExp): Promise<string> {
    const execution = await executionReturning(options);
    assert.equal(execution.status, 'failed', `expected a failure naming ${path}, got ${execution.status} ${JSON.stringify(execution.result)}`);
    assert.equal(execution.error?.code, 'HOOK_FAILED', execution.error?.message);
    // A long path is shortened in the middle, as in every message that quotes one.
    assert.ok(execution.error.message.startsWith(`The hook result is invalid at ${shortenForDisplay(path)}: `), `the message should name ${path}: ${execution.error.message}`);
    assert.match(execution.error.message, what);
    assert.equal(execution.result, undefined);
    return execution.error.message;
  }

  it('a function in the output is HOOK_FAILED, naming its path (it was recorded as a success with {})', async () => {
    await failsAt({ result: 'function' }, '$.output.summary.format', /function/);
  });

  it('a symbol', async () => {
    await failsAt({ result: 'symbol' }, '$.output.tag', /symbol/);
  });

  it('a BigInt', async () => {
    await failsAt({ result: 'bigint' }, '$.output.count', /BigInt/);
  });

  it('undefined in an array (JSON would turn it into null)', async () => {
    await failsAt({ result: 'undefinedInArray' }, '$.output.list[1]', /undefined/);
  });

  it('NaN', async () => {
    await failsAt({ result: 'nan' }, '$.output.score', /NaN is not a finite number/);
  });

  it('Infinity in an action value, which JSON would have written as null; nothing is applied', async () => {
    await failsAt({ result: 'infinityInAction' }, '$.actions[0].value.n', /Infinity is not a finite number/);
    assert.equal(await rt.state.get(Scope.agent('a1'), 'copy'), undefined);
  });

  it('a class instance (a Date, which JSON would have turned into a string)', async () => {
    await failsAt({ result: 'date' }, '$.output.at', /instance of Date/);
  });

  it('a Map', async () => {
    await failsAt({ result: 'map' }, '$.output', /instance of Map/);
  });

  it('a cycle', async () => {
    await failsAt({ result: 'cycle' }, '$.output.self', /cycle/);
  });

  it('a part of an array of results, at its position', async () => {
    await failsAt({ result: 'secondOfMany' }, '$[1].output.later', /function/);
  });

  it(`an output nested deeper than ${MAX_HOOK_RESULT_DEPTH} levels fails at once, not as a time-out (postMessage dropped it)`, async () => {
    assert.equal(MAX_HOOK_RESULT_DEPTH, 512);
    const message = await failsAt({ result: 'deep', depth: 3500 }, `$.output${'.next'.repeat(MAX_HOOK_RESULT_DEPTH)}`, /nested deeper than 512 levels/);
    assert.ok(message.length < 200, `the 2,568-character path is shortened: ${message}`);
  });

  it(`an output nested exactly ${MAX_HOOK_RESULT_DEPTH} levels is recorded`, async () => {
    const execution = await executionReturning({ result: 'deep', depth: MAX_HOOK_RESULT_DEPTH });
    assert.equal(execution.status, 'succeeded', execution.error?.message);
    let output = (execution.result as { output: unknown }).output;
    for (let level = 0; level < MAX_HOOK_RESULT_DEPTH; level++) output = (output as { next: unknown }).next;
    assert.equal(output, 'bottom');
  });

  it(`an action nested deeper than ${MAX_HOOK_RESULT_DEPTH} levels (counted from the action)`, async () => {
    await failsAt({ result: 'deepAction', depth: 3500 }, `$.actions[0].value${'.next'.repeat(MAX_HOOK_RESULT_DEPTH - 1)}`, /nested deeper than 512 levels/);
  });

  it('a result larger than 8 × maxValueBytes as JSON is HOOK_FAILED, with its size and the limit', async () => {
    const limit = hookResultByteLimit(MAX_VALUE_BYTES);
    assert.equal(limit, 8 * MAX_VALUE_BYTES);
    const wrapper = JSON.stringify({ output: '' }).length;
    const fits = await executionReturning({ result: 'large', bytes: limit - wrapper });
    assert.equal(fits.status, 'succeeded', fits.error?.message);
    const message = await failsAt({ result: 'large', bytes: limit - wrapper + 1 }, '$', /too large/);
    assert.ok(message.includes(`${limit + 1} bytes`) && message.includes(`${limit}`), message);
  });

  it('an undefined field of an object is left out, as JSON does', async () => {
    const execution = await executionReturning({ result: 'undefinedField' });
    assert.equal(execution.status, 'succeeded', execution.error?.message);
    assert.deepEqual(execution.result, { output: { kept: 1 } });
  });

  it('writes go on, and a later execution of the same kind of hook succeeds', async () => {
    await failsAt({ result: 'function' }, '$.output.summary.format', /function/);
    const execution = await executionReturning({ result: 'undefinedField' });
    assert.equal(execution.status, 'succeeded');
  });
});
