import assert from 'node:assert/strict';
import { checkChildSpecs, MAX_SHUTDOWN_MS } from '../../supervisors/checkChildSpecs.js';
import type { ChildSpec } from '../../supervisors/childSpec.js';

const start = async (): Promise<never> => {
  throw new Error('checkChildSpecs must not start anything');
};

function rejects(specs: unknown, message: string): void {
  assert.throws(
    () => checkChildSpecs(specs),
    (err: unknown) => {
      assert.ok(err instanceof TypeError, `expected a TypeError, got ${String(err)}`);
      assert.equal(err.message, message);
      return true;
    },
  );
}

describe('checkChildSpecs', () => {
  it('accepts valid specs, with and without the optional fields, without starting anything', () => {
    let started = 0;
    const counting = async (): Promise<never> => {
      started += 1;
      throw new Error('started');
    };
    const specs: ChildSpec[] = [
      { id: 'a', start: counting },
      { id: 'b', start: counting, restart: 'transient', shutdown: 'brutal_kill', type: 'worker' },
      { id: 'c', start: counting, restart: 'temporary', shutdown: 'infinity', type: 'supervisor' },
      { id: 'd', start: counting, restart: 'permanent', shutdown: 0 },
      { id: 'e', start: counting, shutdown: MAX_SHUTDOWN_MS },
    ];
    assert.equal(checkChildSpecs(specs), undefined);
    assert.equal(checkChildSpecs([]), undefined);
    assert.equal(started, 0);
  });

  it('treats a field given as undefined as not given', () => {
    assert.equal(checkChildSpecs([{ id: 'a', start, restart: undefined, shutdown: undefined, type: undefined }]), undefined);
  });

  it('rejects a list that is not an array', () => {
    rejects({ id: 'a', start }, 'Expected `children` to be an array of child specs, got `{"id":"a"}` (object)');
  });

  it('rejects an element that is not an object', () => {
    rejects([{ id: 'a', start }, null], 'Expected `children[1]` to be a child spec object, got `null`');
    rejects(['a'], "Expected `children[0]` to be a child spec object, got `\"a\"` (string)");
  });

  it('rejects an id that is missing, empty or not a string', () => {
    rejects([{ start }], 'Expected `children[0].id` to be a non-empty string, got `undefined` (undefined)');
    rejects([{ id: '', start }], "Expected `children[0].id` to be a non-empty string, got `\"\"` (string)");
    rejects([{ id: 7, start }], 'Expected `children[0].id` to be a non-empty string, got `7` (number)');
  });

  it('rejects an id used twice', () => {
    rejects([{ id: 'a', start }, { id: 'b', start }, { id: 'a', start }], "Expected `children[2].id` to be unique, got `\"a\"` (string), already used by `children[0]`");
  });

  it('rejects a start that is missing or not a function', () => {
    rejects([{ id: 'a' }], 'Expected `children[0].start` to be a function, got `undefined` (undefined)');
    rejects([{ id: 'a', start: 'go' }], "Expected `children[0].start` to be a function, got `\"go\"` (string)");
  });

  it('rejects an unknown restart type', () => {
    rejects([{ id: 'a', start }, { id: 'b', start, restart: 'always' }], "Expected `children[1].restart` to be 'permanent', 'transient' or 'temporary', got `\"always\"` (string)");
  });

  it('rejects a shutdown that is negative, fractional, too long for a timer, or an unknown word', () => {
    const expected = `a non-negative integer of ms up to ${MAX_SHUTDOWN_MS}, 'brutal_kill' or 'infinity'`;
    rejects([{ id: 'a', start, shutdown: -1 }], `Expected \`children[0].shutdown\` to be ${expected}, got \`-1\` (number)`);
    rejects([{ id: 'a', start, shutdown: 1.5 }], `Expected \`children[0].shutdown\` to be ${expected}, got \`1.5\` (number)`);
    rejects([{ id: 'a', start, shutdown: MAX_SHUTDOWN_MS + 1 }], `Expected \`children[0].shutdown\` to be ${expected}, got \`2147483648\` (number)`);
    rejects([{ id: 'a', start, shutdown: 'kill' }], `Expected \`children[0].shutdown\` to be ${expected}, got \`"kill"\` (string)`);
  });

  it('rejects an unknown child type', () => {
    rejects([{ id: 'a', start, type: 'agent' }], "Expected `children[0].type` to be 'worker' or 'supervisor', got `\"agent\"` (string)");
  });

  it('rejects an unknown field, to catch typos', () => {
    rejects([{ id: 'a', start, restartType: 'transient' }], 'Unknown field `children[0].restartType`; a child spec has `id`, `start`, `restart`, `shutdown` and `type`');
  });

  it('names the list as asked', () => {
    assert.throws(() => checkChildSpecs([{ id: '' , start }], 'specs'), /^TypeError: Expected `specs\[0\]\.id`/);
  });
});
