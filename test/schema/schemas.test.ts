import assert from 'node:assert/strict';
import { z } from 'zod';
import { createRuntime, LlmStateError, Scope, type Runtime } from '../../src/index.js';
import { storageOf } from '../../src/runtime.js';
import { encodeStateKey } from '../../src/state/keyCodec.js';
import { decodeRecord } from '../../src/storage/recordEnvelope.js';
import { RuntimeFixture } from '../helpers.js';

const v1 = z.object({ name: z.string(), age: z.string() });
const v2 = z.object({ fullName: z.string(), age: z.number(), tags: z.array(z.string()).default([]) });

async function schemaOf(rt: Runtime, scope: Scope, key: string): Promise<string | undefined> {
  const raw = await storageOf(rt).get('state', encodeStateKey(scope, key));
  return raw === undefined ? undefined : decodeRecord(raw).schema;
}

function rejectsWith(code: string, check?: (error: LlmStateError) => void) {
  return (error: unknown) => {
    assert.ok(error instanceof LlmStateError, `expected an LlmStateError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    check?.(error);
    return true;
  };
}

describe('rt.schemas', () => {
  let rt: Runtime;
  beforeEach(async () => {
    rt = await createRuntime({ memory: true });
  });
  afterEach(async () => {
    await rt.close();
  });

  it('registers versions, lists them with their hashes, and names the newest current', async () => {
    const first = await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: v1 });
    await rt.schemas.register({ name: 'profile', version: '2.0.0', schema: v2 });
    assert.match(first.hash, /^[0-9a-f]{64}$/);
    const listed = rt.schemas.list();
    assert.deepEqual(listed.map(({ name, version, current }) => ({ name, version, current })), [
      { name: 'profile', version: '1.0.0', current: false },
      { name: 'profile', version: '2.0.0', current: true },
    ]);
    assert.equal(rt.schemas.get('profile')?.version, '2.0.0');
    assert.equal(rt.schemas.get('profile', '1.0.0')?.hash, first.hash);
    assert.equal(rt.schemas.get('nothing'), undefined);
  });

  it('accepts the same schema again under a version, and refuses a changed one with SCHEMA_INCOMPATIBLE', async () => {
    const first = await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: v1 });
    const again = await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: z.object({ name: z.string(), age: z.string() }) });
    assert.equal(again.hash, first.hash);
    await assert.rejects(
      rt.schemas.register({ name: 'profile', version: '1.0.0', schema: z.object({ name: z.string() }) }),
      rejectsWith('SCHEMA_INCOMPATIBLE', (error) => assert.match(error.message, /already registered with a different schema/)),
    );
  });

  it('refuses bad names and versions as TypeErrors', async () => {
    await assert.rejects(rt.schemas.register({ name: 'pro@file', version: '1.0.0', schema: v1 }), TypeError);
    await assert.rejects(rt.schemas.register({ name: 'profile', version: '1.0', schema: v1 }), TypeError);
    await assert.rejects(rt.schemas.register({ name: 'profile', version: '1.0.0', schema: { parse() {} } as never }), TypeError);
    await assert.rejects(rt.schemas.bind('unregistered', { scopeKind: 'agent' }), TypeError);
  });

  it('validates writes where a schema is bound, names the version in the record, and leaves other writes alone', async () => {
    await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: v1 });
    await rt.schemas.bind('profile', { scopeKind: 'agent', keyPrefix: 'profile' });
    const a1 = Scope.agent('a1');
    await rt.state.set(a1, 'profile', { name: 'Ada', age: '36' });
    assert.equal(await schemaOf(rt, a1, 'profile'), 'profile@1.0.0');
    await assert.rejects(
      rt.state.set(a1, 'profile', { name: 'Ada', age: 36 }),
      rejectsWith('SCHEMA_INVALID', (error) => {
        const details = error.details as { issues: Array<{ path: string; message: string }>; schema: string };
        assert.equal(details.schema, 'profile@1.0.0');
        assert.deepEqual(details.issues.map((issue) => issue.path), ['age']);
        assert.match(error.message, /age/);
      }),
    );
    assert.deepEqual(await rt.state.get(a1, 'profile'), { name: 'Ada', age: '36' }, 'a refused write leaves no trace');
    await rt.state.set(a1, 'notes', { anything: true });
    assert.equal(await schemaOf(rt, a1, 'notes'), undefined);
    await rt.state.set(Scope.workflow('w1'), 'profile', 'not bound here');
    assert.equal(await schemaOf(rt, Scope.workflow('w1'), 'profile'), undefined);
  });

  it('validates inside transactions, and a refused value aborts the transaction', async () => {
    await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: v1 });
    await rt.schemas.bind('profile', { scopeKind: 'agent', keyPrefix: 'profile' });
    const a1 = Scope.agent('a1');
    await rt.state.transaction(a1, (tx) => {
      tx.set('profile', { name: 'Ada', age: '36' });
      tx.set('other', 1);
    });
    assert.equal(await schemaOf(rt, a1, 'profile'), 'profile@1.0.0');
    await assert.rejects(
      rt.state.transaction(a1, (tx) => {
        tx.set('other', 2);
        tx.set('profile', { name: 1 });
      }),
      rejectsWith('SCHEMA_INVALID'),
    );
    assert.equal(await rt.state.get(a1, 'other'), 1);
  });

  it('validates against the newest version once another is registered', async () => {
    await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: v1 });
    await rt.schemas.bind('profile', { scopeKind: 'agent', keyPrefix: 'profile' });
    await rt.schemas.register({ name: 'profile', version: '2.0.0', schema: v2 });
    const a1 = Scope.agent('a1');
    await assert.rejects(rt.state.set(a1, 'profile', { name: 'Ada', age: '36' }), rejectsWith('SCHEMA_INVALID'));
    await rt.state.set(a1, 'profile', { fullName: 'Ada Lovelace', age: 36 });
    assert.equal(await schemaOf(rt, a1, 'profile'), 'profile@2.0.0');
    assert.deepEqual(await rt.state.get(a1, 'profile'), { fullName: 'Ada Lovelace', age: 36 }, 'the value is stored as written, without zod defaults');
  });

  it('applies the most specific binding, and refuses two schemas bound to the same place', async () => {
    await rt.schemas.register({ name: 'anyAgent', version: '1.0.0', schema: z.record(z.string(), z.unknown()).or(z.array(z.unknown())).or(z.string()) });
    await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: v1 });
    await rt.schemas.bind('anyAgent', { scopeKind: 'agent' });
    await rt.schemas.bind('profile', { scopeKind: 'agent', keyPrefix: 'profile' });
    const a1 = Scope.agent('a1');
    await rt.state.set(a1, 'profile.main', { name: 'Ada', age: '36' });
    await rt.state.set(a1, 'notes', 'hello');
    assert.equal(await schemaOf(rt, a1, 'profile.main'), 'profile@1.0.0');
    assert.equal(await schemaOf(rt, a1, 'notes'), 'anyAgent@1.0.0');
    await assert.rejects(rt.state.set(a1, 'count', 3), rejectsWith('SCHEMA_INVALID'));
    await rt.schemas.register({ name: 'other', version: '1.0.0', schema: z.string() });
    await assert.rejects(rt.schemas.bind('other', { scopeKind: 'agent', keyPrefix: 'profile' }), rejectsWith('SCHEMA_INCOMPATIBLE'));
    assert.deepEqual(rt.schemas.bindings().map((binding) => binding.schema), ['profile', 'anyAgent']);
  });

  it('compares versions by their "name@version"', async () => {
    await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: v1 });
    await rt.schemas.register({ name: 'profile', version: '2.0.0', schema: v2 });
    const result = rt.schemas.compare('profile@1.0.0', 'profile@2.0.0');
    assert.equal(result.level, 'breaking');
    assert.ok(result.changes.length > 0);
    assert.equal(rt.schemas.compare('profile@1.0.0', 'profile@1.0.0').level, 'identical');
    assert.throws(() => rt.schemas.compare('profile@1.0.0', 'profile@9.0.0'), TypeError);
  });

  it('enforces a compatibility requirement at registration', async () => {
    await rt.schemas.register({ name: 'note', version: '1.0.0', schema: z.object({ text: z.string() }) });
    await rt.schemas.register({ name: 'note', version: '1.1.0', schema: z.object({ text: z.string(), tag: z.string().optional() }), compatibility: 'backward' });
    await assert.rejects(
      rt.schemas.register({ name: 'note', version: '2.0.0', schema: z.object({ body: z.string() }), compatibility: 'backward' }),
      rejectsWith('SCHEMA_INCOMPATIBLE'),
    );
    assert.equal(rt.schemas.get('note')?.version, '1.1.0', 'a refused version is not registered');
  });

  it('with strict, refuses a breaking version that no migration reaches, and accepts it once one does', async () => {
    await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: v1 });
    await assert.rejects(rt.schemas.register({ name: 'profile', version: '2.0.0', schema: v2, strict: true }), rejectsWith('SCHEMA_INCOMPATIBLE'));
    const { steps } = await import('../../src/index.js');
    await rt.migrations.define({ schema: 'profile', from: '1.0.0', to: '2.0.0', steps: [steps.renameField('name', 'fullName'), steps.convert('age', 'number')] });
    await rt.schemas.register({ name: 'profile', version: '2.0.0', schema: v2, strict: true });
    assert.equal(rt.schemas.get('profile')?.version, '2.0.0');
  });
});

describe('rt.schemas across restarts', () => {
  let fixture: RuntimeFixture;
  beforeEach(() => {
    fixture = new RuntimeFixture('schemas');
  });
  afterEach(async () => {
    await fixture.dispose();
  });

  it('keeps versions and bindings in the store, and validates with the stored form before the code registers again', async () => {
    let rt = await fixture.open();
    await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: v1 });
    await rt.schemas.bind('profile', { scopeKind: 'agent', keyPrefix: 'profile' });
    rt = await fixture.reopen(rt);
    const [stored] = rt.schemas.list();
    assert.equal(stored.fromCode, false);
    assert.deepEqual(rt.schemas.bindings().map(({ schema, scopeKind, keyPrefix }) => ({ schema, scopeKind, keyPrefix })), [
      { schema: 'profile', scopeKind: 'agent', keyPrefix: 'profile' },
    ]);
    await assert.rejects(rt.state.set(Scope.agent('a1'), 'profile', { name: 'Ada' }), rejectsWith('SCHEMA_INVALID'));
    await rt.state.set(Scope.agent('a1'), 'profile', { name: 'Ada', age: '36' });
    assert.equal(await schemaOf(rt, Scope.agent('a1'), 'profile'), 'profile@1.0.0');
    const again = await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: v1 });
    assert.equal(again.fromCode, true);
    await assert.rejects(rt.schemas.register({ name: 'profile', version: '1.0.0', schema: v2 }), rejectsWith('SCHEMA_INCOMPATIBLE'));
  });
});
