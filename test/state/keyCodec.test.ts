import assert from 'node:assert/strict';
import {
  decodeStateKey,
  encodeStateKey,
  keyAfterPrefix,
  kindRange,
  scopePrefix,
  scopeRange,
} from '../../src/state/keyCodec.js';
import { Scope } from '../../src/state/Scope.js';
import { createMemoryBackend } from '../../src/storage/LevelBackend.js';

function inRange(bytes: Buffer, range: { gte: Buffer; lt: Buffer }): boolean {
  return Buffer.compare(bytes, range.gte) >= 0 && Buffer.compare(bytes, range.lt) < 0;
}

interface Row {
  scope: Scope;
  key: string;
}

/** Scopes chosen so that ids are prefixes of each other and kinds share ids. */
const SCOPES = [
  Scope.global(),
  Scope.agent('a1'),
  Scope.agent('a10'),
  Scope.agent('a'),
  Scope.agent('a1:x'),
  Scope.agent('a1/x'),
  Scope.workflow('a1'),
  Scope.workflow('w1'),
  Scope.step('w1', 's1'),
  Scope.step('w1', 's1x'),
  Scope.step('w1', 's1/x'),
  Scope.step('w10', 's1'),
  Scope.step('w1x', 's1'),
  Scope.session('a1'),
  Scope.session('日本'),
  Scope.custom('global'),
  Scope.custom('a1'),
];
const KEYS = ['k', 'k1', 'k/1', 'a', 'cfg.model', 'cfg.', 'cfg', 'é', '\u{1F600}', 'zz', '~'];
const ROWS: Row[] = SCOPES.flatMap((scope) => KEYS.map((key) => ({ scope, key })));

describe('key codec', () => {
  it('decode inverts encode for every scope kind', () => {
    for (const { scope, key } of ROWS) {
      const decoded = decodeStateKey(encodeStateKey(scope, key));
      assert.ok(decoded !== undefined, `${scope.toString()} ${key}`);
      assert.ok(decoded.scope.equals(scope), `${decoded.scope.toString()} ≠ ${scope.toString()}`);
      assert.equal(decoded.scope.kind, scope.kind);
      assert.deepEqual(decoded.scope.ids, scope.ids);
      assert.equal(decoded.key, key);
    }
  });

  it('encodes the tuple (kind, ids…, key) joined by NUL as UTF-8', () => {
    assert.deepEqual(encodeStateKey(Scope.agent('a1'), 'topic'), Buffer.from('agent\x00a1\x00topic', 'utf8'));
    assert.deepEqual(encodeStateKey(Scope.step('w1', 's1'), 'k'), Buffer.from('step\x00w1\x00s1\x00k', 'utf8'));
    assert.deepEqual(encodeStateKey(Scope.global(), 'k'), Buffer.from('global\x00k', 'utf8'));
    assert.deepEqual(encodeStateKey(Scope.session('é'), '\u{1F600}'), Buffer.from('session\x00é\x00\u{1F600}', 'utf8'));
  });

  it('encodes every distinct (scope, key) to distinct bytes', () => {
    const seen = new Map<string, string>();
    for (const { scope, key } of ROWS) {
      const hex = encodeStateKey(scope, key).toString('hex');
      const label = `${scope.toString()} | ${key}`;
      assert.equal(seen.get(hex), undefined, `${label} collides with ${seen.get(hex)}`);
      seen.set(hex, label);
    }
    assert.equal(seen.size, ROWS.length);
  });

  it('does not depend on which Scope instance is used', () => {
    assert.deepEqual(encodeStateKey(Scope.agent('a1'), 'k'), encodeStateKey(Scope.parse('agent:a1'), 'k'));
  });

  it('decodes bytes that are not a stored state key to undefined', () => {
    for (const text of ['', 'nokind\x00k', 'agent\x00a1', 'agent\x00a1\x00k\x00extra', 'step\x00w1\x00k', 'global']) {
      assert.equal(decodeStateKey(Buffer.from(text, 'utf8')), undefined, JSON.stringify(text));
    }
  });

  it('scopePrefix is the start of every key of that scope', () => {
    for (const { scope, key } of ROWS) {
      const bytes = encodeStateKey(scope, key);
      const prefix = scopePrefix(scope);
      assert.deepEqual(bytes.subarray(0, prefix.length), prefix);
      assert.equal(keyAfterPrefix(bytes, prefix.length), key);
    }
  });

  describe('scopeRange', () => {
    it("contains exactly that scope's keys", () => {
      for (const scope of SCOPES) {
        const range = scopeRange(scope);
        const inside = ROWS.filter((row) => inRange(encodeStateKey(row.scope, row.key), range));
        assert.deepEqual(
          inside.map((row) => `${row.scope.toString()} | ${row.key}`).sort(),
          KEYS.map((key) => `${scope.toString()} | ${key}`).sort(),
          scope.toString(),
        );
      }
    });

    it("of step w1/s1 excludes step w1/s1x and w1/s1/x", () => {
      const range = scopeRange(Scope.step('w1', 's1'));
      assert.ok(inRange(encodeStateKey(Scope.step('w1', 's1'), 'k'), range));
      assert.equal(inRange(encodeStateKey(Scope.step('w1', 's1x'), 'k'), range), false);
      assert.equal(inRange(encodeStateKey(Scope.step('w1', 's1/x'), 'k'), range), false);
    });

    it("of agent a1 excludes agent a10 and a1:x, and other kinds with id a1", () => {
      const range = scopeRange(Scope.agent('a1'));
      assert.ok(inRange(encodeStateKey(Scope.agent('a1'), 'k'), range));
      for (const other of [Scope.agent('a10'), Scope.agent('a1:x'), Scope.agent('a'), Scope.workflow('a1'), Scope.session('a1')]) {
        assert.equal(inRange(encodeStateKey(other, 'k'), range), false, other.toString());
      }
    });

    it('of global excludes custom:global', () => {
      assert.equal(inRange(encodeStateKey(Scope.custom('global'), 'k'), scopeRange(Scope.global())), false);
    });

    it('with a key prefix contains exactly the keys that start with it', () => {
      const scope = Scope.agent('a1');
      for (const prefix of ['cfg.', 'cfg', 'k', 'k/', 'é', '\u{1F600}', '~', 'zzz']) {
        const range = scopeRange(scope, prefix);
        const inside = ROWS.filter((row) => inRange(encodeStateKey(row.scope, row.key), range));
        assert.deepEqual(
          inside.map((row) => `${row.scope.toString()} | ${row.key}`).sort(),
          KEYS.filter((key) => key.startsWith(prefix)).map((key) => `agent:a1 | ${key}`).sort(),
          prefix,
        );
      }
    });

    it('with a key prefix includes the key equal to the prefix', () => {
      const scope = Scope.custom('c');
      assert.ok(inRange(encodeStateKey(scope, 'cfg'), scopeRange(scope, 'cfg')));
    });

    it('lists a scope in key order when used for a range scan of the store', async () => {
      const storage = createMemoryBackend();
      await storage.open();
      try {
        await storage.batch(
          ROWS.map((row) => ({
            type: 'put' as const,
            sublevel: 'state' as const,
            key: encodeStateKey(row.scope, row.key),
            value: Buffer.from('v'),
          })),
        );
        const listed: string[] = [];
        const scope = Scope.step('w1', 's1');
        for await (const [key] of storage.iterate('state', scopeRange(scope, 'k'))) {
          const decoded = decodeStateKey(key);
          assert.ok(decoded !== undefined && decoded.scope.equals(scope));
          listed.push(decoded.key);
        }
        assert.deepEqual(listed, ['k', 'k/1', 'k1']);
      } finally {
        await storage.close();
      }
    });
  });

  describe('kindRange', () => {
    it('contains exactly the keys of scopes of that kind', () => {
      for (const kind of ['global', 'agent', 'workflow', 'step', 'session', 'custom'] as const) {
        const range = kindRange(kind);
        const inside = ROWS.filter((row) => inRange(encodeStateKey(row.scope, row.key), range));
        const expected = ROWS.filter((row) => row.scope.kind === kind);
        assert.equal(inside.length, expected.length, kind);
        assert.ok(inside.every((row) => row.scope.kind === kind), kind);
      }
    });
  });
});
