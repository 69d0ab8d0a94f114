import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Scope, type Runtime } from '../../src/index.js';
import { storageOf } from '../../src/runtime.js';
import { decodeRecord } from '../../src/storage/recordEnvelope.js';
import { RuntimeFixture } from '../helpers.js';

describe('hooks: built-in hooks', () => {
  let fixture: RuntimeFixture;
  let rt: Runtime;

  beforeEach(async () => {
    fixture = new RuntimeFixture('hooks-builtins');
    rt = await fixture.open({ hooks: { threads: 2 } });
  });
  afterEach(() => fixture.dispose());

  it('audit appends one entry per event to the audit log, without values', async () => {
    await rt.hooks.register({ name: 'audit', builtin: 'audit', on: ['state.*', 'scope.clear'] });
    const { correlationId } = await rt.correlate(() => rt.state.set(Scope.agent('a1'), 'k', { secret: 'x' }));
    await rt.state.delete(Scope.agent('a1'), 'k');
    await rt.hooks.idle();
    const entries: Record<string, unknown>[] = [];
    for await (const [, record] of storageOf(rt).iterate('audit')) entries.push(JSON.parse(decodeRecord(record).payload.toString()) as Record<string, unknown>);
    assert.deepEqual(entries.map((entry) => [entry.kind, entry.scope, entry.key]), [['state.set', 'agent:a1', 'k'], ['state.delete', 'agent:a1', 'k']]);
    assert.equal(entries[0].correlationId, correlationId);
    assert.ok(!JSON.stringify(entries).includes('secret'));
  });

  it('audit with a file appends JSON lines to it', async () => {
    const file = join(fixture.dir, 'audit.jsonl');
    await rt.hooks.register({ name: 'audit-file', builtin: 'audit', on: ['state.set'], options: { file } });
    await rt.state.set(Scope.global(), 'a', 1);
    await rt.state.set(Scope.global(), 'b', 2);
    await rt.hooks.idle();
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { key: string });
    assert.deepEqual(lines.map((line) => line.key), ['a', 'b']);
  });

  it('metrics counts changes per scope kind and operation in rt.metrics()', async () => {
    await rt.hooks.register({ name: 'metrics', builtin: 'metrics', on: ['state.*', 'scope.clear'] });
    await rt.state.set(Scope.agent('a1'), 'k', 1);
    await rt.state.set(Scope.agent('a2'), 'k', 1);
    await rt.state.set(Scope.global(), 'k', 1);
    await rt.state.delete(Scope.agent('a1'), 'k');
    await rt.state.clearScope(Scope.agent('a2'));
    await rt.hooks.idle();
    const observed = rt.metrics().hooks.observed;
    assert.deepEqual(
      Object.fromEntries(Object.entries(observed).map(([name, group]) => [name, group.count])),
      { 'agent scope.clear': 1, 'agent state.delete': 1, 'agent state.set': 2, 'global state.set': 1 },
    );
    assert.ok(observed['agent state.set'].maxLagMs >= 0);
  });

  it('schemaReport checks nothing where no schema is bound (test/hooks/schemaReport.test.ts checks the rest)', async () => {
    await rt.hooks.register({ name: 'schemas', builtin: 'schemaReport', on: ['state.set'] });
    await rt.state.set(Scope.agent('a1'), 'k', 1);
    await rt.hooks.idle();
    const [execution] = await rt.hooks.history({ hookName: 'schemas' });
    assert.deepEqual(execution.result?.output, { checked: 0, failures: [], stale: [], skipped: [] });
  });

  it('cacheInvalidation tells a keyspace what changed, and waits for a keyspace after a restart', async () => {
    const invalidated: { scope: string; key?: string }[][] = [];
    const keyspace = { invalidate: (changes: { scope: string; key?: string }[]) => void invalidated.push(changes) };
    await rt.hooks.register({ name: 'cache', builtin: 'cacheInvalidation', on: ['state.*', 'scope.clear'], keyspace });
    await rt.state.set(Scope.agent('a1'), 'k', 1);
    await rt.state.clearScope(Scope.agent('a1'));
    await rt.hooks.idle();
    assert.deepEqual(invalidated.flat(), [{ scope: 'agent:a1', key: 'k' }, { scope: 'agent:a1' }]);

    rt = await fixture.reopen(rt);
    assert.equal(rt.hooks.get('cache')!.detached, true);
    await rt.state.set(Scope.agent('a1'), 'k', 2);
    await rt.hooks.idle();
    assert.equal(rt.hooks.get('cache')!.pending, 1, 'parked until a keyspace is attached');
    const later: unknown[] = [];
    await rt.hooks.register({ name: 'cache', builtin: 'cacheInvalidation', on: ['state.*', 'scope.clear'], keyspace: { invalidate: (changes) => void later.push(...changes) } });
    await rt.hooks.idle();
    assert.deepEqual(later, [{ scope: 'agent:a1', key: 'k' }]);
  });
});
