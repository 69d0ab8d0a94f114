import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

describe('llmstate/testing (the built package)', () => {
  it('is importable by its subpath and checks a history', async () => {
    const script = `
      import { checkLinearizable } from 'llmstate/testing';
      const base = { task: 'a', scope: 'global', key: 'n', outcome: 'ok' };
      const history = [
        { ...base, id: 0, op: 'set', value: 1, call: 1, return: 2 },
        { ...base, id: 1, op: 'get', value: undefined, call: 3, return: 4 },
      ];
      console.log(checkLinearizable(history).message);`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: root });
    assert.match(stdout, /^No order of these 2 calls on global "n" explains their results/);
    assert.match(stdout, /\[3–4\] a: get global "n" → none/);
  });

  it('exports the arbitraries, whose scopes are the Scope of llmstate itself', async () => {
    const script = `
      import fc from 'fast-check';
      import { Scope } from 'llmstate';
      import { applyOperation, operations, scopes } from 'llmstate/testing';
      const [scope] = fc.sample(scopes({ kinds: ['agent'], ids: ['a1'] }), { numRuns: 1, seed: 1 });
      console.log(scope instanceof Scope, scope.equals(Scope.agent('a1')), typeof applyOperation, fc.sample(operations(), 1).length);`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: root });
    assert.equal(stdout.trim(), 'true true function 1');
  });
});
