import assert from 'node:assert/strict';
import { Scope, SCOPE_KINDS } from '../../src/state/Scope.js';
import { assertBreaksRule, thrownLlmStateError } from './rejects.js';

describe('Scope', () => {
  describe('the six kinds', () => {
    it('global has no ids and the string form global', () => {
      const scope = Scope.global();
      assert.equal(scope.kind, 'global');
      assert.deepEqual(scope.ids, []);
      assert.equal(scope.id, undefined);
      assert.equal(scope.toString(), 'global');
    });

    it('agent, workflow, session and custom have one id and the string form kind:id', () => {
      const cases: [Scope, string, string][] = [
        [Scope.agent('a1'), 'agent', 'agent:a1'],
        [Scope.workflow('w1'), 'workflow', 'workflow:w1'],
        [Scope.session('s1'), 'session', 'session:s1'],
        [Scope.custom('team'), 'custom', 'custom:team'],
      ];
      for (const [scope, kind, text] of cases) {
        assert.equal(scope.kind, kind);
        assert.equal(scope.ids.length, 1);
        assert.equal(scope.id, text.slice(kind.length + 1));
        assert.equal(scope.toString(), text);
      }
    });

    it('step has the workflow id and the step name, written step:<workflowId>/<stepName>', () => {
      const scope = Scope.step('w1', 'fetch');
      assert.equal(scope.kind, 'step');
      assert.deepEqual(scope.ids, ['w1', 'fetch']);
      assert.equal(scope.id, 'w1');
      assert.equal(scope.toString(), 'step:w1/fetch');
    });

    it('SCOPE_KINDS names exactly the six kinds', () => {
      assert.deepEqual([...SCOPE_KINDS].sort(), ['agent', 'custom', 'global', 'session', 'step', 'workflow']);
    });

    it('serialises to JSON as its string form', () => {
      assert.equal(JSON.stringify({ scope: Scope.step('w1', 's1') }), '{"scope":"step:w1/s1"}');
      assert.equal(JSON.stringify(Scope.global()), '"global"');
    });

    it('normalises ids to NFC, so NFC and NFD ids name the same scope', () => {
      const nfd = Scope.agent('Jose\u0301');
      const nfc = Scope.agent('Jos\u00e9');
      assert.deepEqual(nfd.ids, ['Jos\u00e9']);
      assert.ok(nfd.equals(nfc));
    });
  });

  describe('parse and toString', () => {
    const samples = [
      Scope.global(),
      Scope.agent('a1'),
      Scope.agent('urn:agent:42'),
      Scope.agent('team/alice'),
      Scope.workflow('w:1'),
      Scope.step('w1', 'fetch'),
      Scope.step('w:1', 'step:2'),
      Scope.step('w1', 'a/b/c'),
      Scope.session('日本語'),
      Scope.session('\u{1F600}:\u{1F601}'),
      Scope.custom('my.ns'),
      Scope.custom('Jos\u00e9'),
    ];

    it('parse(toString()) gives back an equal scope for every kind, including ids with ":" and unicode', () => {
      for (const scope of samples) {
        const parsed = Scope.parse(scope.toString());
        assert.ok(parsed.equals(scope), `${scope.toString()} → ${parsed.toString()}`);
        assert.equal(parsed.kind, scope.kind);
        assert.deepEqual(parsed.ids, scope.ids);
        assert.equal(parsed.toString(), scope.toString());
      }
    });

    it('parses a JSON round trip of a scope back to the same scope', () => {
      for (const scope of samples) {
        const text = JSON.parse(JSON.stringify(scope)) as string;
        assert.ok(Scope.parse(text).equals(scope));
      }
    });

    it("keeps everything after the first ':' as the id", () => {
      assert.deepEqual(Scope.parse('agent:a:b:c').ids, ['a:b:c']);
    });

    it("splits a step at its first '/': the step name may contain '/'", () => {
      assert.deepEqual(Scope.parse('step:w1/a/b').ids, ['w1', 'a/b']);
    });

    it('rejects an unknown kind with SCOPE_INVALID', () => {
      for (const text of ['user:u1', 'Agent:a1', 'agents:a1', '', ':a1', 'nothing']) {
        const err = thrownLlmStateError(() => Scope.parse(text), 'SCOPE_INVALID');
        assert.match(err.message, /kind must be one of/);
      }
    });

    it('rejects a kind without an id with SCOPE_INVALID', () => {
      for (const text of ['agent', 'agent:', 'workflow:', 'session', 'custom:', 'step', 'step:']) {
        thrownLlmStateError(() => Scope.parse(text), 'SCOPE_INVALID');
      }
    });

    it("rejects anything after global, as in 'global:x', with SCOPE_INVALID", () => {
      for (const text of ['global:x', 'global:', 'global:global']) {
        const err = thrownLlmStateError(() => Scope.parse(text), 'SCOPE_INVALID');
        assert.match(err.message, /global/);
      }
    });

    it("rejects a step without '/' between workflow id and step name with SCOPE_INVALID", () => {
      const err = thrownLlmStateError(() => Scope.parse('step:w'), 'SCOPE_INVALID');
      assert.match(err.message, /step:<workflowId>\/<stepName>/);
    });

    it('rejects a step with an empty workflow id or step name with SCOPE_INVALID', () => {
      assertBreaksRule(() => Scope.parse('step:/s1'), 'SCOPE_INVALID', 'empty');
      assertBreaksRule(() => Scope.parse('step:w1/'), 'SCOPE_INVALID', 'empty');
    });

    it('rejects an id that breaks the key rules with SCOPE_INVALID naming the rule', () => {
      assertBreaksRule(() => Scope.parse('agent:a\nb'), 'SCOPE_INVALID', 'control-character');
      assertBreaksRule(() => Scope.parse('agent:__root'), 'SCOPE_INVALID', 'reserved-prefix');
      assertBreaksRule(() => Scope.parse('session:a\\b'), 'SCOPE_INVALID', 'backslash');
      assertBreaksRule(() => Scope.parse('custom:/x'), 'SCOPE_INVALID', 'leading-slash');
      assertBreaksRule(() => Scope.parse('workflow:..'), 'SCOPE_INVALID', 'dot-segment');
      assertBreaksRule(() => Scope.parse(`agent:${'x'.repeat(129)}`), 'SCOPE_INVALID', 'too-long');
      assertBreaksRule(() => Scope.parse('step:w1/.'), 'SCOPE_INVALID', 'dot-segment');
    });

    it('rejects a value that is not a string with SCOPE_INVALID', () => {
      for (const value of [undefined, null, 1, { kind: 'agent' }]) {
        thrownLlmStateError(() => Scope.parse(value as unknown as string), 'SCOPE_INVALID');
      }
    });
  });

  describe('constructors', () => {
    it('reject ids that break the key rules with SCOPE_INVALID', () => {
      assertBreaksRule(() => Scope.agent(''), 'SCOPE_INVALID', 'empty');
      assertBreaksRule(() => Scope.workflow('w\x00'), 'SCOPE_INVALID', 'control-character');
      assertBreaksRule(() => Scope.session('\uD800'), 'SCOPE_INVALID', 'lone-surrogate');
      assertBreaksRule(() => Scope.custom('__x'), 'SCOPE_INVALID', 'reserved-prefix');
      assertBreaksRule(() => Scope.step('w1', ''), 'SCOPE_INVALID', 'empty');
      assertBreaksRule(() => Scope.agent(42 as unknown as string), 'SCOPE_INVALID', 'type');
    });

    it("reject a step whose workflow id contains '/' with SCOPE_INVALID", () => {
      assertBreaksRule(() => Scope.step('w/1', 'fetch'), 'SCOPE_INVALID', 'step-workflow-slash');
    });

    it("allow '/' in a workflow id outside step scopes", () => {
      assert.equal(Scope.workflow('w/1').toString(), 'workflow:w/1');
    });
  });

  describe('equals', () => {
    it('is true for scopes of the same kind and ids, built separately', () => {
      assert.ok(Scope.agent('a1').equals(Scope.agent('a1')));
      assert.ok(Scope.step('w1', 's1').equals(Scope.step('w1', 's1')));
      assert.ok(Scope.global().equals(Scope.global()));
      assert.ok(Scope.parse('global').equals(Scope.global()));
    });

    it('is false for a different kind with the same id', () => {
      assert.equal(Scope.agent('x').equals(Scope.workflow('x')), false);
      assert.equal(Scope.session('x').equals(Scope.custom('x')), false);
      assert.equal(Scope.global().equals(Scope.custom('global')), false);
    });

    it('is false for a different id, step name or workflow', () => {
      assert.equal(Scope.agent('a1').equals(Scope.agent('a10')), false);
      assert.equal(Scope.agent('a1').equals(Scope.agent('A1')), false);
      assert.equal(Scope.step('w1', 's1').equals(Scope.step('w1', 's2')), false);
      assert.equal(Scope.step('w1', 's1').equals(Scope.step('w2', 's1')), false);
    });

    it('is false for something that is not a Scope', () => {
      const agent = Scope.agent('a1');
      assert.equal(agent.equals('agent:a1' as unknown as Scope), false);
      assert.equal(agent.equals({ kind: 'agent', ids: ['a1'], toString: () => 'agent:a1' } as unknown as Scope), false);
    });
  });

  describe('immutability', () => {
    it('freezes the ids, so they cannot be changed after construction', () => {
      const scopes = [Scope.global(), Scope.agent('a1'), Scope.step('w1', 's1'), Scope.parse('custom:c')];
      for (const scope of scopes) {
        assert.ok(Object.isFrozen(scope.ids));
        const ids = scope.ids as string[];
        assert.throws(() => ids.push('x'), TypeError);
        if (ids.length > 0) assert.throws(() => { ids[0] = 'changed'; }, TypeError);
      }
      assert.ok(Scope.agent('a1').equals(Scope.parse('agent:a1')));
      assert.deepEqual(Scope.global().ids, []);
    });
  });

  describe('isScope', () => {
    it('is true only for Scope instances', () => {
      assert.equal(Scope.isScope(Scope.agent('a1')), true);
      assert.equal(Scope.isScope('agent:a1'), false);
      assert.equal(Scope.isScope({ kind: 'agent', ids: ['a1'] }), false);
      assert.equal(Scope.isScope(null), false);
    });
  });
});
