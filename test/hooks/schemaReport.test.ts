import assert from 'node:assert/strict';
import { z } from 'zod';
import { Scope, type HookRegistration, type Runtime } from '../../src/index.js';
import type { SchemaReportOutput } from '../../src/index.js';
import schemaReport from '../../workers/builtins/schemaReport.js';
import { RuntimeFixture } from '../helpers.js';

const v1 = z.object({ name: z.string(), age: z.string() });
const v2 = z.object({ name: z.string(), age: z.number() });

const HOOK: HookRegistration = { name: 'schemas', builtin: 'schemaReport', on: ['state.set'], filter: { keyPrefix: 'profile' } };

/** The output of each recorded execution of the report, oldest first, as JSON data. */
async function reports(rt: Runtime, replays: 'exclude' | 'only' = 'exclude'): Promise<SchemaReportOutput[]> {
  const executions = await rt.hooks.history({ hookName: HOOK.name, replays });
  for (const execution of executions) assert.equal(execution.status, 'succeeded', execution.error?.message);
  return JSON.parse(JSON.stringify(executions.map((execution) => execution.result?.output))) as SchemaReportOutput[];
}

/** One report over everything that waited for the (disabled) hook. */
async function deliverWaiting(rt: Runtime): Promise<SchemaReportOutput> {
  await rt.hooks.enable(HOOK.name);
  await rt.hooks.idle();
  const all = await reports(rt);
  assert.equal(all.length, 1, 'the waiting events are delivered in one execution');
  return all[0];
}

async function eventIdOf(rt: Runtime, scope: Scope, key: string): Promise<string> {
  const events = await rt.events.query({ kinds: ['state.set'], scope: scope.toString() });
  const found = events.filter((event) => event.key === key);
  return found[found.length - 1].id;
}

const AGE_NOT_A_NUMBER = [{ path: 'age', message: 'Invalid input: expected number, received string', code: 'invalid_type' }];

describe('hooks: the built-in schemaReport', () => {
  let fixture: RuntimeFixture;
  let rt: Runtime;

  beforeEach(async () => {
    fixture = new RuntimeFixture('hooks-schema-report');
    rt = await fixture.open({ hooks: { threads: 1 } });
  });
  afterEach(() => fixture.dispose());

  it('checks each bound value against the current version, and counts only bound keys', async () => {
    await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: v1 });
    await rt.schemas.bind('profile', { scopeKind: 'agent', keyPrefix: 'profile' });
    await rt.hooks.register({ ...HOOK, filter: {} });
    await rt.state.set(Scope.agent('a1'), 'profile', { name: 'Ada', age: '36' });
    await rt.state.set(Scope.agent('a1'), 'notes', { anything: true });
    await rt.state.set(Scope.workflow('w1'), 'profile', { unbound: 'here' });
    await rt.hooks.idle();
    const checked = (await reports(rt)).reduce((sum, report) => sum + report.checked, 0);
    assert.equal(checked, 1);
    for (const report of await reports(rt)) assert.deepEqual([report.failures, report.stale, report.skipped], [[], [], []]);
  });

  it('lists values written under an older version as stale once a newer version is registered', async () => {
    await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: v1 });
    await rt.schemas.bind('profile', { scopeKind: 'agent', keyPrefix: 'profile' });
    await rt.hooks.register(HOOK);
    // While the hook is disabled its deliveries wait, as they do behind an open breaker or a restart.
    await rt.hooks.disable(HOOK.name);
    await rt.state.set(Scope.agent('a1'), 'profile', { name: 'Ada', age: '36' });
    await rt.schemas.register({ name: 'profile', version: '2.0.0', schema: v2 });
    await rt.state.set(Scope.agent('a2'), 'profile', { name: 'Bob', age: 7 });

    const report = await deliverWaiting(rt);
    assert.deepEqual(report, {
      checked: 2,
      failures: [],
      stale: [{ eventId: await eventIdOf(rt, Scope.agent('a1'), 'profile'), scope: 'agent:a1', key: 'profile', schema: 'profile@2.0.0', issues: AGE_NOT_A_NUMBER, validUnder: 'profile@1.0.0' }],
      skipped: [],
    });
  });

  it('flags a value written before its key was bound that matches no version, and finds the version an unversioned one matches', async () => {
    await rt.hooks.register(HOOK);
    await rt.hooks.disable(HOOK.name);
    // Written before the binding, so not validated.
    await rt.state.set(Scope.agent('a1'), 'profile', { nickname: 'Ada' });
    await rt.state.set(Scope.agent('a2'), 'profile', { name: 'Bob', age: '7' });
    await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: v1 });
    await rt.schemas.register({ name: 'profile', version: '2.0.0', schema: v2 });
    await rt.schemas.bind('profile', { scopeKind: 'agent', keyPrefix: 'profile' });

    const report = await deliverWaiting(rt);
    assert.equal(report.checked, 2);
    assert.deepEqual(report.failures, [
      {
        eventId: await eventIdOf(rt, Scope.agent('a1'), 'profile'),
        scope: 'agent:a1',
        key: 'profile',
        schema: 'profile@2.0.0',
        issues: [
          { path: 'name', message: 'Invalid input: expected string, received undefined', code: 'invalid_type' },
          { path: 'age', message: 'Invalid input: expected number, received undefined', code: 'invalid_type' },
        ],
      },
    ]);
    assert.deepEqual(report.stale.map(({ scope, validUnder, issues }) => ({ scope, validUnder, issues })), [{ scope: 'agent:a2', validUnder: 'profile@1.0.0', issues: AGE_NOT_A_NUMBER }]);
  });

  it('does not call stale a value whose write was validated against the current version', async () => {
    await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: v1 });
    await rt.schemas.register({ name: 'profile', version: '2.0.0', schema: v2 });
    await rt.schemas.bind('profile', { scopeKind: 'agent', keyPrefix: 'profile' });
    await rt.hooks.register(HOOK);
    await rt.state.set(Scope.agent('a1'), 'profile', { name: 'Ada', age: 36 });
    await rt.hooks.idle();
    const [original] = await rt.hooks.history({ hookName: HOOK.name });
    // The event says the write was validated against 2.0.0: a value that fails it is a failure, even if 1.0.0 would take it.
    const { replayed, equal } = await rt.hooks.replay(original.executionId, { patch: { value: { age: '36' } } });
    assert.equal(equal, false);
    const output = replayed.result?.output as SchemaReportOutput;
    assert.deepEqual(output.stale, []);
    assert.deepEqual(output.failures.map(({ scope, schema, issues }) => ({ scope, schema, issues })), [{ scope: 'agent:a1', schema: 'profile@2.0.0', issues: AGE_NOT_A_NUMBER }]);
  });

  it('records its results in history like any hook, and a replay checks the input against the schemas of now', async () => {
    await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: v1 });
    await rt.schemas.bind('profile', { scopeKind: 'agent', keyPrefix: 'profile' });
    await rt.hooks.register(HOOK);
    await rt.state.set(Scope.agent('a1'), 'profile', { name: 'Ada', age: '36' });
    await rt.hooks.idle();
    const [original] = await rt.hooks.history({ hookName: HOOK.name });
    assert.deepEqual(original.result, { output: { checked: 1, failures: [], stale: [], skipped: [] } });

    await rt.schemas.register({ name: 'profile', version: '2.0.0', schema: v2 });
    const { replayed, diff } = await rt.hooks.replay(original.executionId);
    const output = replayed.result?.output as SchemaReportOutput;
    assert.deepEqual(output.stale.map(({ key, schema, validUnder }) => ({ key, schema, validUnder })), [{ key: 'profile', schema: 'profile@2.0.0', validUnder: 'profile@1.0.0' }]);
    assert.deepEqual(diff.map(({ op, path }) => ({ op, path })), [{ op: 'add', path: '/result/output/stale/-' }]);
    assert.equal((await reports(rt, 'only')).length, 1, 'the replay is recorded');
  });

  it('after a restart, checks what waited against the stored schemas, without the code registering them again', async () => {
    await rt.close();
    rt = await fixture.open({ hooks: { threads: 1, autoStart: false } });
    await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: v1 });
    await rt.schemas.bind('profile', { scopeKind: 'agent', keyPrefix: 'profile' });
    await rt.hooks.register(HOOK);
    await rt.state.set(Scope.agent('a1'), 'profile', { name: 'Ada', age: '36' });
    await rt.schemas.register({ name: 'profile', version: '2.0.0', schema: v2 });

    // Deliveries start with the store, before the stored schemas are read: the report waits for them.
    rt = await fixture.reopen(rt, { hooks: { threads: 1 } });
    await rt.hooks.idle();
    const [report] = await reports(rt);
    assert.deepEqual(report.stale.map(({ scope, schema, validUnder }) => ({ scope, schema, validUnder })), [{ scope: 'agent:a1', schema: 'profile@2.0.0', validUnder: 'profile@1.0.0' }]);
  });
});

describe('workers: the schemaReport built-in', () => {
  it('skips a value whose schema has no zod form, and checks the rest', async () => {
    const events = [
      { id: '1.0', kind: 'state.set', scope: 'agent:a1', key: 'odd', value: 1 },
      { id: '1.1', kind: 'state.set', scope: 'agent:a1', key: 'profile', value: 'not an object' },
    ];
    const { output } = await schemaReport(events, {}, {
      checks: [
        { index: 0, current: 'odd@1.0.0', older: [] },
        { index: 1, current: 'profile@1.0.0', older: [] },
      ],
      schemas: {
        'odd@1.0.0': { hash: 'h-odd', jsonSchema: { type: 'nonsense' } },
        'profile@1.0.0': { hash: 'h-profile', jsonSchema: z.toJSONSchema(v1) },
      },
    });
    assert.equal(output.checked, 1);
    assert.deepEqual(output.skipped, [{ eventId: '1.0', scope: 'agent:a1', key: 'odd', schema: 'odd@1.0.0', reason: 'its stored JSON Schema has no zod form: Unsupported type: nonsense' }]);
    assert.deepEqual(output.failures.map((failure) => failure.eventId), ['1.1']);
  });

  it('lists at most ten issues per value, and counts the rest', async () => {
    const wide = z.object(Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`f${i}`, z.string()])));
    const { output } = await schemaReport([{ id: '1.0', kind: 'state.set', scope: 'global', key: 'wide', value: {} }], {}, {
      checks: [{ index: 0, current: 'wide@1.0.0', older: [] }],
      schemas: { 'wide@1.0.0': { hash: 'h-wide', jsonSchema: z.toJSONSchema(wide) } },
    });
    assert.equal(output.failures[0].issues.length, 10);
    assert.equal(output.failures[0].moreIssues, 2);
  });

  it('reports nothing checked when the runtime sent nothing to check', async () => {
    assert.deepEqual((await schemaReport([{ id: '1.0', kind: 'state.set', scope: 'global', key: 'k', value: 1 }], {}, undefined)).output, { checked: 0, failures: [], stale: [], skipped: [] });
  });
});
