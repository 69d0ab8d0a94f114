import assert from 'node:assert/strict';
import { Scope, type Runtime } from '../../src/index.js';
import { RuntimeFixture } from '../helpers.js';
import { registerScripted } from './hookHelpers.js';

const BEARER = 'abc123def456ghi789';
const ANTHROPIC = 'sk-ant-REALSECRETREALSECRET12345';

describe('hooks: what history and timelines keep of errors, replays and secret-named keys', () => {
  let fixture: RuntimeFixture;
  let rt: Runtime;

  beforeEach(async () => {
    fixture = new RuntimeFixture('hooks-gaps');
    rt = await fixture.open({ hooks: { threads: 2 } });
  });
  afterEach(() => fixture.dispose());

  it('redacts secrets in a hook’s error message, in history and in every export', async () => {
    await registerScripted(rt, 'leaky', { fail: 'throw', message: `upstream refused Authorization: Bearer ${BEARER} with key ${ANTHROPIC}` }, { maxAttempts: 1 });
    const { correlationId } = await rt.correlate(() => rt.state.set(Scope.agent('a1'), 'k', 1));
    await rt.hooks.idle();
    const [execution] = await rt.hooks.history({ correlationId });
    assert.match(execution.error!.message, /upstream refused Authorization: Bearer \[REDACTED\] with key \[REDACTED\]/);
    const [letter] = await rt.hooks.deadLetters({ hookName: 'leaky' });
    const exports = await Promise.all((['text', 'mermaid', 'json', 'html'] as const).map((format) => rt.events.exportTimeline(correlationId, format)));
    for (const text of [JSON.stringify(execution), JSON.stringify(letter), ...exports]) {
      assert.ok(!text.includes(BEARER) && !text.includes(ANTHROPIC), text.slice(0, 200));
    }
  });

  it('redacts the value of a state key named like a secret, in history and in exports', async () => {
    await registerScripted(rt, 'sees', {});
    const { correlationId } = await rt.correlate(() => rt.state.set(Scope.agent('a1'), 'api_key', 'plain-api-key-value'));
    await rt.hooks.idle();
    assert.equal(await rt.state.get(Scope.agent('a1'), 'api_key'), 'plain-api-key-value', 'the state itself is untouched');
    const [execution] = await rt.hooks.history({ correlationId });
    assert.deepEqual((execution.input as { key: string; value: unknown }[]).map(({ key, value }) => [key, value]), [['api_key', '[REDACTED]']]);
    for (const format of ['text', 'mermaid', 'json', 'html'] as const) {
      assert.ok(!(await rt.events.exportTimeline(correlationId, format)).includes('plain-api-key-value'), format);
    }
  });

  it('a replay that fails records its patched input redacted, like any failed run', async () => {
    await registerScripted(rt, 'fails', { fail: 'throw' }, { maxAttempts: 1, redact: ['value.card'] });
    await rt.state.set(Scope.agent('a1'), 'k', { card: '4111', x: 1 });
    await rt.hooks.idle();
    const [original] = await rt.hooks.history({ hookName: 'fails' });
    const { replayed } = await rt.hooks.replay(original.executionId, { patch: { value: { apiKey: 'plain-api-key-value', card: '5555' } } });
    assert.equal(replayed.status, 'failed');
    const stored = await rt.hooks.execution(replayed.executionId);
    assert.deepEqual((stored!.input as { value: unknown }[])[0].value, { card: '[REDACTED]', x: 1, apiKey: '[REDACTED]' });
  });

  it('filters by correlation and event together, and checks every filter field', async () => {
    await registerScripted(rt, 'h', {});
    const { correlationId } = await rt.correlate(() => rt.state.set(Scope.agent('a1'), 'k', 1));
    await rt.state.set(Scope.agent('a1'), 'other', 2);
    await rt.hooks.idle();
    const [execution] = await rt.hooks.history({ correlationId });
    const eventId = execution.eventIds[0];
    assert.deepEqual((await rt.hooks.history({ correlationId, eventId })).map((one) => one.executionId), [execution.executionId]);
    assert.deepEqual(await rt.hooks.history({ correlationId: 'another-story', eventId }), []);
    for (const filter of [{ limit: 0 }, { limit: -5 }, { limit: 1.5 }, { hookName: '' }, { status: 'done' }, { replays: 'some' }, { from: 'yesterday' }, { newestFirst: 'yes' }]) {
      await assert.rejects(rt.hooks.history(filter as never), TypeError, JSON.stringify(filter));
      await assert.rejects(rt.hooks.replayMany(filter as never), TypeError, JSON.stringify(filter));
    }
  });

  it('a replay’s start time is its id’s, so it is found from the time it started', async () => {
    await registerScripted(rt, 'h', {});
    await rt.state.set(Scope.agent('a1'), 'k', 1);
    await rt.hooks.idle();
    const [original] = await rt.hooks.history({ hookName: 'h' });
    const { replayed } = await rt.hooks.replay(original.executionId);
    assert.equal(parseInt(replayed.executionId.slice(0, 9), 36), replayed.startedAt);
    const found = await rt.hooks.history({ hookName: 'h', from: replayed.startedAt, to: replayed.startedAt, replays: 'only' });
    assert.deepEqual(found.map((one) => one.executionId), [replayed.executionId]);
  });
});
