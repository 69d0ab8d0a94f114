import assert from 'node:assert/strict';
import { Scope, type Runtime } from '../../src/index.js';
import { rejection, RuntimeFixture } from '../helpers.js';
import { registerScripted, SCRIPTED } from './hookHelpers.js';

describe('hooks: registration', () => {
  let fixture: RuntimeFixture;
  let rt: Runtime;

  beforeEach(async () => {
    fixture = new RuntimeFixture('hooks-registration');
    rt = await fixture.open({ hooks: { threads: 2 } });
  });
  afterEach(() => fixture.dispose());

  it('fills the defaults and lists the hook with its status', async () => {
    const info = await rt.hooks.register({ name: 'audit-topic', module: SCRIPTED, on: ['state.set'], filter: { scopeKinds: ['agent'], keyPrefix: 'topic' } });
    assert.equal(info.definition.module, SCRIPTED.href);
    assert.equal(info.definition.timeoutMs, 5000);
    assert.equal(info.definition.maxAttempts, 5);
    assert.equal(info.definition.budgetMs, 5000);
    assert.equal(info.breaker, 'closed');
    assert.deepEqual(rt.hooks.list().map((hook) => hook.name), ['audit-topic']);
    assert.deepEqual((await rt.events.query({ kinds: ['hook.registered'] })).map((event) => (event.data as { hook: string }).hook), ['audit-topic']);
  });

  it('rejects invalid registrations with a TypeError naming the option', async () => {
    const cases: [unknown, RegExp][] = [
      [{ module: SCRIPTED, on: ['state.set'] }, /^Expected `name` to be/],
      [{ name: 'bad name', module: SCRIPTED, on: ['state.set'] }, /^Expected `name` to be a name of letters/],
      [{ name: 'h', module: SCRIPTED, on: [] }, /^Expected `on` to be a non-empty array/],
      [{ name: 'h', module: SCRIPTED, on: ['state.set'], timeoutMs: 0 }, /^Expected `timeoutMs` to be a positive integer, got `0` \(number\)/],
      [{ name: 'h', module: SCRIPTED, on: ['state.set'], filter: { scopeKinds: ['planet'] } }, /^Expected `filter` to be/],
      [{ name: 'h', module: SCRIPTED, on: ['state.set'], priority: 1000 }, /^Expected `priority` to be an integer from -100 to 100/],
      [{ name: 'h', module: SCRIPTED, on: ['state.set'], redact: ['a..b'] }, /redact path/],
      [{ name: 'h', on: ['state.set'] }, /exactly one of `module`/],
      [{ name: 'h', module: SCRIPTED, builtin: 'audit', on: ['state.set'] }, /exactly one of `module`/],
      [{ name: 'h', module: 'https://example.com/hook.js', on: ['state.set'] }, /file: URL/],
      [{ name: 'h', module: SCRIPTED, on: ['state.set'], colour: 'red' }, /^Unknown hook option `colour`/],
      [{ name: 'h', builtin: 'cacheInvalidation', on: ['state.set'] }, /keyspace/],
    ];
    for (const [registration, message] of cases) {
      const error = await rejection(rt.hooks.register(registration as never));
      assert.ok(error instanceof TypeError, `${JSON.stringify(registration)}: ${error.message}`);
      assert.match(error.message, message);
    }
    assert.deepEqual(rt.hooks.list(), []);
  });

  it('refuses an `on` kind that matches no event kind with EVENT_KIND_UNKNOWN, naming the closest kind', async () => {
    const error = await rejection(rt.hooks.register({ name: 'typo', module: SCRIPTED, on: ['state.set', 'state.sett'] }));
    assert.equal(error.code, 'EVENT_KIND_UNKNOWN');
    assert.equal(error.message, 'The event-kind pattern `state.sett` in `on` matches no event kind; did you mean `state.set`?');
    assert.deepEqual(error.details, { rule: 'unknown_event_kind', pattern: 'state.sett', suggestion: 'state.set' });
    assert.deepEqual(rt.hooks.list(), []);
    assert.deepEqual(await rt.events.query({ kinds: ['hook.registered'] }), []);
  });

  it('refuses an `on` wildcard that matches no event kind, naming the closest family', async () => {
    const error = await rejection(rt.hooks.register({ name: 'typo', module: SCRIPTED, on: ['agents.*'] }));
    assert.equal(error.code, 'EVENT_KIND_UNKNOWN');
    assert.match(error.message, /^The event-kind pattern `agents\.\*` in `on` matches no event kind; did you mean `agent\.\*`\?$/);
    assert.deepEqual(rt.hooks.list(), []);
  });

  it('takes `on` wildcards that match at least one event kind', async () => {
    const info = await rt.hooks.register({ name: 'wide', module: SCRIPTED, on: ['state.*', 'hook.circuit_*', '*'] });
    assert.deepEqual(info.definition.on, ['state.*', 'hook.circuit_*', '*']);
    assert.deepEqual(rt.hooks.list().map((hook) => hook.name), ['wide']);
  });

  it('refuses a module that cannot be loaded, or has no default export, with HOOK_FAILED', async () => {
    const missing = await rejection(rt.hooks.register({ name: 'missing', module: './no/such/hook.mjs', on: ['state.set'] }));
    assert.equal(missing.code, 'HOOK_FAILED');
    assert.match(missing.message, /could not be loaded/);
    const noDefault = await rejection(rt.hooks.register({ name: 'nodefault', module: new URL('../fixtures/hooks/noDefault.mjs', import.meta.url), on: ['state.set'] }));
    assert.equal(noDefault.code, 'HOOK_FAILED');
    assert.match(noDefault.message, /no default export function/);
    assert.deepEqual(rt.hooks.list(), []);
  });

  it('keeps registrations across a restart, and a re-registration replaces the definition', async () => {
    await registerScripted(rt, 'first', {}, { priority: 1 });
    await registerScripted(rt, 'second', {}, { priority: 5, on: ['agent.*'] });
    rt = await fixture.reopen(rt);
    assert.deepEqual(rt.hooks.list().map((hook) => [hook.name, hook.definition.priority]), [['second', 5], ['first', 1]]);
    await registerScripted(rt, 'first', { note: 'v2' }, { priority: 9 });
    assert.deepEqual(rt.hooks.list().map((hook) => hook.name), ['first', 'second']);
    rt = await fixture.reopen(rt);
    assert.deepEqual(rt.hooks.get('first')?.definition.options, { note: 'v2' });
  });

  it('unregisters: what waited is dead-lettered, not dropped, and can be redelivered', async () => {
    rt = await fixture.reopen(rt, { hooks: { autoStart: false } });
    await registerScripted(rt, 'gone');
    await rt.state.set(Scope.agent('a1'), 'k', 1);
    await rt.state.set(Scope.agent('a1'), 'k', 2);
    assert.equal(rt.metrics().hooks.pending, 2);
    assert.equal(await rt.hooks.unregister('gone'), true);
    assert.equal(await rt.hooks.unregister('gone'), false);
    assert.equal(await rt.hooks.unregister('never'), false);
    const letters = await rt.hooks.deadLetters({ hookName: 'gone' });
    assert.deepEqual(letters.map((letter) => letter.reason), ['unregistered', 'unregistered']);
    assert.deepEqual(letters.flatMap((letter) => letter.events.map((event) => (event as { value: unknown }).value)), [1, 2]);

    rt = await fixture.reopen(rt);
    await registerScripted(rt, 'gone');
    assert.equal(await rt.hooks.redeliver('gone'), 2);
    await rt.hooks.idle();
    const delivered = (await rt.hooks.history({ hookName: 'gone', status: 'succeeded' })).flatMap((execution) => execution.eventIds);
    assert.deepEqual(delivered, letters.flatMap((letter) => letter.eventIds));
    assert.deepEqual(await rt.hooks.deadLetters({ hookName: 'gone' }), []);
  });

  it('rejects every hooks method with RUNTIME_CLOSED once closed', async () => {
    await registerScripted(rt, 'h');
    await rt.close();
    const calls: [string, () => Promise<unknown> | unknown][] = [
      ['register', () => registerScripted(rt, 'h2')],
      ['unregister', () => rt.hooks.unregister('h')],
      ['list', () => rt.hooks.list()],
      ['get', () => rt.hooks.get('h')],
      ['enable', () => rt.hooks.enable('h')],
      ['disable', () => rt.hooks.disable('h')],
      ['history', () => rt.hooks.history()],
      ['execution', () => rt.hooks.execution('x')],
      ['replay', () => rt.hooks.replay('x')],
      ['replayMany', () => rt.hooks.replayMany()],
      ['deadLetters', () => rt.hooks.deadLetters()],
      ['redeliver', () => rt.hooks.redeliver('h')],
      ['idle', () => rt.hooks.idle()],
      ['prune', () => rt.hooks.prune()],
      ['timeline', () => rt.events.timeline('c')],
      ['exportTimeline', () => rt.events.exportTimeline('c', 'text')],
    ];
    for (const [name, call] of calls) {
      const error = await rejection((async () => call())());
      assert.equal(error.code, 'RUNTIME_CLOSED', name);
    }
  });
});
