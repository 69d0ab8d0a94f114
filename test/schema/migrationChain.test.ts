import assert from 'node:assert/strict';
import { LlmStateError } from '../../src/errors.js';
import { findChain, type MigrationEdge } from '../../src/schema/migrationChain.js';
import { thrownLlmStateError } from '../state/rejects.js';

const edge = (from: string, to: string): MigrationEdge => ({ from, to });

/** The chain as `from→to` text, which reads better in a failed assertion than objects. */
function chainOf(edges: MigrationEdge[], from: string, to: string, registered: string[] = []): string[] {
  return findChain('profile', edges, from, to, registered).map((e) => `${e.from}→${e.to}`);
}

function noPath(edges: MigrationEdge[], from: string, to: string, registered: string[]): LlmStateError {
  return thrownLlmStateError(() => findChain('profile', edges, from, to, registered), 'MIGRATION_NO_PATH');
}

describe('findChain', () => {
  it('needs no step from a version to itself', () => {
    assert.deepEqual(findChain('profile', [], '1.0.0', '1.0.0', []), []);
  });

  it('follows defined migrations through intermediate versions', () => {
    const edges = [edge('1.1.0', '2.0.0'), edge('1.0.0', '1.1.0')];
    assert.deepEqual(chainOf(edges, '1.0.0', '2.0.0'), ['1.0.0→1.1.0', '1.1.0→2.0.0']);
    assert.deepEqual(chainOf(edges, '1.1.0', '2.0.0'), ['1.1.0→2.0.0']);
  });

  it('takes the fewest migrations', () => {
    const edges = [edge('1.0.0', '1.1.0'), edge('1.1.0', '1.2.0'), edge('1.2.0', '2.0.0'), edge('1.0.0', '2.0.0')];
    assert.deepEqual(chainOf(edges, '1.0.0', '2.0.0'), ['1.0.0→2.0.0']);
  });

  it('breaks a tie by the highest intermediate version, whatever the order of the edges', () => {
    const edges = [edge('1.0.0', '1.1.0'), edge('1.1.0', '2.0.0'), edge('1.0.0', '1.2.0'), edge('1.2.0', '2.0.0'), edge('1.0.0', '1.10.0'), edge('1.10.0', '2.0.0')];
    for (const order of [edges, [...edges].reverse()]) {
      assert.deepEqual(chainOf(order, '1.0.0', '2.0.0'), ['1.0.0→1.10.0', '1.10.0→2.0.0']);
    }
  });

  it('breaks a longer tie at the first intermediate version that differs', () => {
    const edges = [
      edge('1.0.0', '1.1.0'),
      edge('1.1.0', '1.9.0'),
      edge('1.9.0', '2.0.0'),
      edge('1.0.0', '1.2.0'),
      edge('1.2.0', '1.3.0'),
      edge('1.3.0', '2.0.0'),
      edge('1.2.0', '1.4.0'),
      edge('1.4.0', '2.0.0'),
    ];
    for (const order of [edges, [...edges].reverse()]) {
      assert.deepEqual(chainOf(order, '1.0.0', '2.0.0'), ['1.0.0→1.2.0', '1.2.0→1.4.0', '1.4.0→2.0.0']);
    }
  });

  it('uses downgrades when they are defined', () => {
    assert.deepEqual(chainOf([edge('2.0.0', '1.0.0')], '2.0.0', '1.0.0'), ['2.0.0→1.0.0']);
    assert.deepEqual(chainOf([edge('1.0.0', '3.0.0'), edge('3.0.0', '2.0.0')], '1.0.0', '2.0.0'), ['1.0.0→3.0.0', '3.0.0→2.0.0']);
  });

  it('goes round cycles, and ignores a migration from a version to itself', () => {
    const edges = [edge('1.0.0', '1.0.0'), edge('1.0.0', '1.1.0'), edge('1.1.0', '1.0.0'), edge('1.1.0', '2.0.0')];
    assert.deepEqual(chainOf(edges, '1.0.0', '2.0.0'), ['1.0.0→1.1.0', '1.1.0→2.0.0']);
  });

  it('returns the edge objects it was given, with whatever else they carry', () => {
    const first = { from: '1.0.0', to: '1.1.0', steps: ['a'] };
    const second = { from: '1.1.0', to: '2.0.0', steps: ['b'] };
    const chain = findChain('profile', [second, first], '1.0.0', '2.0.0', []);
    assert.equal(chain[0], first);
    assert.equal(chain[1], second);
    assert.deepEqual(chain[1].steps, ['b']);
  });

  describe('MIGRATION_NO_PATH names the first missing migration', () => {
    it('the gap after the furthest version reached, with the define call that closes it', () => {
      const err = noPath([edge('1.0.0', '1.1.0')], '1.0.0', '2.0.0', ['1.0.0', '1.1.0', '2.0.0']);
      assert.equal(
        err.message,
        'Schema `profile` has no migration path from 1.0.0 to 2.0.0: the furthest that migrations from 1.0.0 reach on the way to 2.0.0 is 1.1.0, ' +
          "and none goes from 1.1.0 to 2.0.0. Define it with rt.migrations.define({ schema: 'profile', from: '1.1.0', to: '2.0.0', steps: [...] }).",
      );
      assert.deepEqual(err.details, { schema: 'profile', from: '1.0.0', to: '2.0.0', reached: '1.1.0', missing: { from: '1.1.0', to: '2.0.0' } });
    });

    it('the next registered version after it, when a migration from there on exists', () => {
      const err = noPath([edge('1.0.0', '1.1.0'), edge('1.2.0', '2.0.0')], '1.0.0', '2.0.0', ['2.0.0', '1.2.0', '1.1.0', '1.0.0']);
      assert.deepEqual(err.details?.missing, { from: '1.1.0', to: '1.2.0' });
      assert.match(err.message, /none goes from 1\.1\.0 to 1\.2\.0, the next registered version\. Define it with rt\.migrations\.define\(\{ schema: 'profile', from: '1\.1\.0', to: '1\.2\.0', steps: \[\.\.\.\] \}\), or one from 1\.1\.0 straight to 2\.0\.0\.$/);
    });

    it('says so when more migrations are missing after the first', () => {
      const err = noPath([edge('1.0.0', '1.1.0')], '1.0.0', '2.0.0', ['1.0.0', '1.1.0', '1.2.0', '1.5.0', '2.0.0']);
      assert.deepEqual(err.details?.missing, { from: '1.1.0', to: '1.2.0' });
      assert.match(err.message, / 1\.2\.0 has no path to 2\.0\.0 either, so more migrations are missing after it\.$/);
    });

    it('from the start version when nothing leads on from it, even a migration that overshoots', () => {
      const none = noPath([], '1.0.0', '2.0.0', ['1.0.0', '1.1.0', '2.0.0']);
      assert.deepEqual(none.details?.missing, { from: '1.0.0', to: '1.1.0' });
      assert.match(none.message, /: no migration from 1\.0\.0 reaches a version on the way to 2\.0\.0, and none goes from 1\.0\.0 to 1\.1\.0/);
      const overshoot = noPath([edge('1.0.0', '3.0.0')], '1.0.0', '2.0.0', ['1.0.0', '2.0.0', '3.0.0']);
      assert.deepEqual(overshoot.details?.missing, { from: '1.0.0', to: '2.0.0' });
    });

    it('to the target itself when it is not among the registered versions', () => {
      const err = noPath([edge('1.0.0', '1.1.0')], '1.0.0', '2.0.0', ['1.0.0', '1.1.0', '3.0.0']);
      assert.deepEqual(err.details?.missing, { from: '1.1.0', to: '2.0.0' });
    });

    it('downwards, for a downgrade', () => {
      const err = noPath([edge('2.0.0', '1.5.0')], '2.0.0', '1.0.0', ['1.0.0', '1.2.0', '1.5.0', '2.0.0']);
      assert.deepEqual(err.details, { schema: 'profile', from: '2.0.0', to: '1.0.0', reached: '1.5.0', missing: { from: '1.5.0', to: '1.2.0' } });
    });
  });

  it('refuses a bad schema name, version or edge with a TypeError', () => {
    assert.throws(() => findChain('9x', [], '1.0.0', '2.0.0', []), { name: 'TypeError', message: /^Expected `schema` to be a schema name/ });
    assert.throws(() => findChain('profile', [], '1.0', '2.0.0', []), { name: 'TypeError', message: /^Expected `from` to be a version/ });
    assert.throws(() => findChain('profile', [], '1.0.0', 'latest', []), { name: 'TypeError', message: /^Expected `to` to be a version/ });
    assert.throws(() => findChain('profile', {} as never, '1.0.0', '2.0.0', []), { name: 'TypeError', message: /^Expected `edges` to be an array/ });
    assert.throws(() => findChain('profile', [edge('1.0.0', '2.0.0'), null as never], '1.0.0', '2.0.0', []), { name: 'TypeError', message: /^Expected `edges\[1\]` to be a migration/ });
    assert.throws(() => findChain('profile', [edge('1.0.0', '2')], '1.0.0', '2.0.0', []), { name: 'TypeError', message: /^Expected `edges\[0\]\.to` to be a version/ });
    assert.throws(() => findChain('profile', [], '1.0.0', '2.0.0', ['2']), { name: 'TypeError', message: /^Expected `registered\[0\]` to be a version/ });
  });
});
