import assert from 'node:assert/strict';
import { Scope, type HookExecution, type Runtime } from '../../src/index.js';
import { describeEachStore, RuntimeFixture } from '../helpers.js';
import { registerScripted } from './hookHelpers.js';

function deliveredIds(executions: HookExecution[]): string[] {
  return executions.filter((execution) => execution.status === 'succeeded').flatMap((execution) => execution.eventIds);
}

describeEachStore('hooks: delivery', (store) => {
  let fixture: RuntimeFixture;
  let rt: Runtime;

  beforeEach(async () => {
    fixture = new RuntimeFixture('hooks-delivery', store);
    rt = await fixture.open({ hooks: { threads: 2 } });
  });
  afterEach(() => fixture.dispose());

  it('delivers exactly the changes its kinds, scope kinds and key prefix select', async () => {
    await registerScripted(rt, 'topics', {}, { on: ['state.set', 'state.delete'], filter: { scopeKinds: ['agent'], keyPrefix: 'topic' } });
    await registerScripted(rt, 'clears', {}, { on: ['scope.clear'] });
    await registerScripted(rt, 'lifecycle', {}, { on: ['agent.*'] });
    await rt.state.set(Scope.agent('a1'), 'topic', 1);
    await rt.state.set(Scope.agent('a1'), 'topics.extra', 2);
    await rt.state.set(Scope.agent('a1'), 'other', 3);
    await rt.state.set(Scope.global(), 'topic', 4);
    await rt.state.delete(Scope.agent('a1'), 'topic');
    await rt.state.clearScope(Scope.agent('a1'));
    await rt.agents.spawn({ id: 'ag', type: 'test' });
    await rt.hooks.idle();

    const events = await rt.events.query({});
    const idsOf = (predicate: (event: (typeof events)[number]) => boolean) => events.filter(predicate).map((event) => event.id);
    assert.deepEqual(
      deliveredIds(await rt.hooks.history({ hookName: 'topics' })),
      idsOf((e) => (e.kind === 'state.set' || e.kind === 'state.delete') && e.scope === 'agent:a1' && e.key!.startsWith('topic')),
    );
    assert.deepEqual(deliveredIds(await rt.hooks.history({ hookName: 'clears' })), idsOf((e) => e.kind === 'scope.clear'));
    const lifecycle = idsOf((e) => e.kind.startsWith('agent.'));
    assert.ok(lifecycle.length > 0);
    assert.deepEqual(deliveredIds(await rt.hooks.history({ hookName: 'lifecycle' })), lifecycle);
  });

  it('hands the hook events with ids, commit times and correlation, and a context', async () => {
    await registerScripted(rt, 'echo', { echo: true });
    const { correlationId } = await rt.correlate(() => rt.state.set(Scope.agent('a1'), 'k', { n: 1 }));
    await rt.hooks.idle();
    const [execution] = await rt.hooks.history({ hookName: 'echo' });
    const [event] = execution.input as { id: string; seq: number; at: number; kind: string; scope: string; key: string; correlationId: string }[];
    assert.equal(event.kind, 'state.set');
    assert.equal(event.scope, 'agent:a1');
    assert.equal(event.key, 'k');
    assert.equal(event.correlationId, correlationId);
    assert.equal(event.id, `${event.seq}.0`);
    assert.equal(typeof event.at, 'number');
    assert.equal(execution.correlationId, correlationId);
    assert.equal(execution.causationId, event.id);
    assert.deepEqual(execution.result?.output, { ids: [event.id], attempt: 1, echo: [{ n: 1 }] });
  });

  it('applies actions as new writes linked to the triggering event, and never blocks the write', async () => {
    await registerScripted(rt, 'follow', { follow: { from: 'topic', to: 'summary' } });
    const { correlationId } = await rt.correlate(() => rt.state.set(Scope.agent('a1'), 'topic', 'weather'));
    await rt.hooks.idle();
    const [trigger] = await rt.events.query({ kinds: ['state.set'], scope: 'agent:a1' });
    assert.deepEqual(await rt.state.get(Scope.agent('a1'), 'summary'), { from: trigger.id, value: 'weather' });
    const story = await rt.events.query({ correlationId, kinds: ['state.set'] });
    assert.equal(story.length, 2);
    const [execution] = await rt.hooks.history({ hookName: 'follow', eventId: trigger.id });
    assert.equal(story[1].key, 'summary');
    assert.equal(story[1].causationId, trigger.id);
    assert.equal(story[1].executionId, execution.executionId);
    assert.equal(story[1].correlationId, correlationId);
  });

  it('keeps a batch whose writes matched in commit order, and batches executions', async () => {
    await registerScripted(rt, 'ordered', {}, { batchSize: 5 });
    await Promise.all(Array.from({ length: 40 }, (_, i) => rt.state.set(Scope.agent(`a${i % 4}`), 'k', i)));
    await rt.hooks.idle();
    const executions = await rt.hooks.history({ hookName: 'ordered' });
    const ids = deliveredIds(executions);
    const logged = (await rt.events.query({ kinds: ['state.set'] })).map((event) => event.id);
    assert.deepEqual(ids, logged, 'each event once, in commit order');
    assert.ok(executions.length < 40, `batched into ${executions.length} executions`);
  });

  it('delivers what was pending when the runtime closed, after it reopens', async () => {
    rt = await fixture.reopen(rt, { hooks: { autoStart: false } });
    await registerScripted(rt, 'later');
    for (let i = 0; i < 5; i++) await rt.state.set(Scope.agent('a1'), `k${i}`, i);
    assert.equal(rt.metrics().hooks.pending, 5);
    assert.deepEqual(await rt.hooks.history(), []);
    rt = await fixture.reopen(rt);
    assert.equal(rt.metrics().hooks.pending, 5, 'the outbox was read back');
    await rt.hooks.idle();
    assert.equal(rt.metrics().hooks.pending, 0);
    assert.equal(deliveredIds(await rt.hooks.history({ hookName: 'later' })).length, 5);
  });

  it('correlation flows through the hook: the timeline is write → execution → action write → its execution', async () => {
    await registerScripted(rt, 'follow', { follow: { from: 'topic', to: 'summary' } });
    const { correlationId } = await rt.correlate(() => rt.state.set(Scope.agent('a1'), 'topic', 'weather'));
    await rt.hooks.idle();
    const timeline = await rt.events.timeline(correlationId);
    assert.equal(timeline.eventCount, 2);
    assert.equal(timeline.executionCount, 2);
    assert.equal(timeline.roots.length, 1);
    const [write] = timeline.roots;
    assert.equal(write.type, 'event');
    assert.equal(write.type === 'event' && write.event.key, 'topic');
    const [execution] = write.children;
    assert.equal(execution.type, 'execution');
    const [action] = execution.children;
    assert.equal(action.type === 'event' && action.event.key, 'summary');
    const [second] = action.children;
    assert.equal(second.type === 'execution' && second.execution.eventIds[0], action.id);
    assert.deepEqual(second.children, []);

    const text = await rt.events.exportTimeline(correlationId, 'text');
    const lines = text.split('\n');
    assert.equal(lines[0], `timeline ${correlationId}: 2 events, 2 hook executions`);
    assert.match(lines[1], /^└─ \S+ state\.set agent:a1 topic \[\d+\.0\]$/);
    assert.match(lines[2], /^   └─ hook follow attempt 1 succeeded \(.+ ms\) \[\w+\]$/);
    assert.match(lines[3], /^      └─ \S+ state\.set agent:a1 summary \[\d+\.0\]$/);
    assert.match(lines[4], /^         └─ hook follow attempt 1 succeeded/);
    assert.match(await rt.events.exportTimeline(correlationId, 'mermaid'), /^sequenceDiagram\n/);
    const json = JSON.parse(await rt.events.exportTimeline(correlationId, 'json')) as { eventCount: number; executionCount: number };
    assert.deepEqual([json.eventCount, json.executionCount], [2, 2]);
    const html = await rt.events.exportTimeline(correlationId, 'html');
    assert.match(html, /^<!DOCTYPE html>/i);
    assert.ok(html.includes(correlationId));
    await assert.rejects(rt.events.exportTimeline(correlationId, 'pdf' as never), TypeError);
  });
});
