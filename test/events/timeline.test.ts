import assert from 'node:assert/strict';
import { buildTimeline, type Timeline, type TimelineNode } from '../../src/events/timeline.js';
import { renderTimeline, TIMELINE_FORMATS, type TimelineFormat } from '../../src/events/timelineExport.js';
import { T0, event, execution, storyEvents, storyExecutions } from './timelineFixture.js';

/** A tree as `[id, children]` pairs, so a whole shape fits in one assertion. */
type Shape = [string, Shape[]];
function shape(nodes: TimelineNode[]): Shape[] {
  return nodes.map((node) => [node.id, shape(node.children)]);
}

function allIds(timeline: Timeline): string[] {
  const ids: string[] = [];
  const visit = (nodes: TimelineNode[]): void => {
    for (const node of nodes) {
      ids.push(node.id);
      visit(node.children);
    }
  };
  visit(timeline.roots);
  return ids;
}

function story(): Timeline {
  return buildTimeline('c1', storyEvents(), storyExecutions());
}

describe('buildTimeline', () => {
  it('nests a write, the hook it triggered, the action write and the hook that write triggered', () => {
    const timeline = story();
    assert.deepEqual(shape(timeline.roots), [
      ['1.0', [
        ['x0001', [
          ['2.0', [['x0002', []]]],
        ]],
        ['x0003', []],
      ]],
      ['2.1', []],
    ]);
    const [write] = timeline.roots;
    assert.equal(write.type, 'event');
    assert.equal(write.at, T0);
    assert.equal(write.type === 'event' && write.event.key, 'topic');
    const [hook] = write.children;
    assert.equal(hook.type === 'execution' && hook.execution.hookName, 'summarise');
    assert.equal(hook.at, T0 + 5);
  });

  it('counts nodes and spans the earliest start to the latest end', () => {
    const timeline = story();
    assert.equal(timeline.correlationId, 'c1');
    assert.equal(timeline.eventCount, 3);
    assert.equal(timeline.executionCount, 3);
    assert.equal(timeline.startedAt, T0);
    // x0003 starts at +30 and runs 1 ms: the latest end, later than any event.
    assert.equal(timeline.endedAt, T0 + 31);
  });

  it('an empty timeline has no roots and no span', () => {
    const timeline = buildTimeline('c9', [], []);
    assert.deepEqual(timeline, { correlationId: 'c9', eventCount: 0, executionCount: 0, roots: [] });
  });

  it('orders siblings by time, then id, events before executions, event ids numerically', () => {
    const events = [event('10.0', { at: T0 + 1 }), event('9.3', { at: T0 + 1 }), event('9.10', { at: T0 + 1 }), event('9.2', { at: T0 + 2 })];
    const executions = [
      execution('b', { eventIds: ['gone'], startedAt: T0 + 1 }),
      execution('a', { eventIds: ['gone'], startedAt: T0 + 1 }),
      execution('c', { eventIds: ['gone'], startedAt: T0 }),
    ];
    const timeline = buildTimeline('c1', events, executions);
    assert.deepEqual(timeline.roots.map((node) => node.id), ['c', '9.3', '9.10', '10.0', 'a', 'b', '9.2']);
  });

  it('orders children the same way, whatever the input order', () => {
    const events = [event('1.0'), event('3.0', { at: T0 + 4, causationId: '1.0' }), event('2.0', { at: T0 + 4, causationId: '1.0' })];
    const executions = [execution('x2', { startedAt: T0 + 4 }), execution('x1', { startedAt: T0 + 4 }), execution('x0', { startedAt: T0 + 3 })];
    const forward = buildTimeline('c1', events, executions);
    const backward = buildTimeline('c1', [...events].reverse(), [...executions].reverse());
    const expected: Shape[] = [['1.0', [['x0', []], ['2.0', []], ['3.0', []], ['x1', []], ['x2', []]]]];
    assert.deepEqual(shape(forward.roots), expected);
    assert.deepEqual(shape(backward.roots), expected);
  });

  it('an event whose cause is not in the timeline, or that has none, is a root', () => {
    const events = [
      event('1.0'),
      event('2.0', { causationId: 'elsewhere' }),
      event('3.0', { executionId: 'x-gone' }),
      event('4.0', { executionId: 'x-gone', causationId: '1.0' }),
    ];
    const timeline = buildTimeline('c1', events, []);
    assert.deepEqual(shape(timeline.roots), [['1.0', [['4.0', []]]], ['2.0', []], ['3.0', []]]);
  });

  it('an action write sits under its execution, not under the event it names as its cause', () => {
    const events = [event('1.0'), event('2.0', { causationId: '1.0', executionId: 'x1' })];
    const timeline = buildTimeline('c1', events, [execution('x1')]);
    assert.deepEqual(shape(timeline.roots), [['1.0', [['x1', [['2.0', []]]]]]]);
  });

  it('an execution whose triggering events are all elsewhere is a root', () => {
    const timeline = buildTimeline('c1', [event('1.0')], [execution('x1', { eventIds: ['7.0', '8.0'] })]);
    assert.deepEqual(shape(timeline.roots), [['1.0', []], ['x1', []]]);
  });

  it('an execution triggered by several correlations sits under its first trigger in this timeline', () => {
    // Seen from c2: the batch's first event (5.0) belongs to c1 and is not here.
    const events = [event('6.0', { correlationId: 'c2' }), event('6.1', { correlationId: 'c2' })];
    const batch = execution('x1', { correlationId: 'c1', correlationIds: ['c1', 'c2'], eventIds: ['5.0', '6.1', '6.0'], startedAt: T0 + 1 });
    const timeline = buildTimeline('c2', events, [batch]);
    assert.deepEqual(shape(timeline.roots), [['6.0', []], ['6.1', [['x1', []]]]]);
  });

  it('a replay nests under the execution it replayed, else under its trigger', () => {
    const events = [event('1.0')];
    const executions = [
      execution('x1', { status: 'failed', error: { code: 'HOOK_FAILED', message: 'boom' } }),
      execution('x2', { replayOf: 'x1', startedAt: T0 + 50 }),
      execution('x3', { replayOf: 'x2', startedAt: T0 + 60 }),
      execution('x4', { replayOf: 'pruned', startedAt: T0 + 70 }),
    ];
    const timeline = buildTimeline('c1', events, executions);
    assert.deepEqual(shape(timeline.roots), [['1.0', [['x1', [['x2', [['x3', []]]]]], ['x4', []]]]]);
  });

  it('cycles in malformed input are cut at their earliest node, and every node appears exactly once', () => {
    const events = [
      event('1.0', { causationId: '2.0' }),
      event('2.0', { at: T0 + 1, causationId: '1.0' }),
      event('3.0', { at: T0 + 2, causationId: '3.0' }),
      event('4.0', { at: T0 + 3, executionId: 'x1' }),
      event('4.0', { at: T0 + 9, key: 'duplicate' }),
    ];
    const executions = [
      execution('x1', { eventIds: ['4.0'], startedAt: T0 + 4 }),
      execution('x2', { replayOf: 'x3', eventIds: [], startedAt: T0 + 5 }),
      execution('x3', { replayOf: 'x2', eventIds: [], startedAt: T0 + 6 }),
    ];
    const timeline = buildTimeline('c1', events, executions);
    assert.deepEqual(shape(timeline.roots), [
      ['1.0', [['2.0', []]]],
      ['3.0', []],
      ['4.0', [['x1', []]]],
      ['x2', [['x3', []]]],
    ]);
    assert.deepEqual(allIds(timeline).sort(), ['1.0', '2.0', '3.0', '4.0', 'x1', 'x2', 'x3']);
    assert.equal(timeline.eventCount, 4);
    const [duplicate] = timeline.roots.filter((node) => node.id === '4.0');
    assert.equal(duplicate.type === 'event' && duplicate.event.key, 'k', 'the first of two events with one id is kept');
  });
});

describe('renderTimeline', () => {
  it('lists its formats', () => {
    assert.deepEqual(TIMELINE_FORMATS, ['text', 'mermaid', 'json', 'html']);
  });

  it('rejects an unknown format', () => {
    assert.throws(() => renderTimeline(story(), 'xml' as TimelineFormat), {
      name: 'TypeError',
      message: 'Expected `format` to be one of text, mermaid, json, html, got `"xml"` (string)',
    });
  });

  describe('text', () => {
    it('draws the tree, one line per event or hook execution', () => {
      assert.equal(
        renderTimeline(story(), 'text'),
        [
          'timeline c1: 3 events, 3 hook executions',
          '├─ 03:04:05.006 state.set agent:a1 topic [1.0]',
          '│  ├─ hook summarise attempt 1 succeeded (12 ms) [x0001]',
          '│  │  └─ 03:04:05.023 state.set agent:a1 summary [2.0]',
          '│  │     └─ hook notify attempt 1 failed (3 ms) [x0002] HOOK_FAILED',
          '│  └─ hook index attempt 1 succeeded (1 ms) [x0003]',
          '└─ 03:04:05.023 agent.spawned [2.1]',
        ].join('\n'),
      );
    });

    it('marks replays and timeouts, and counts in the singular', () => {
      const executions = [
        execution('x1', { attempt: 2, status: 'timed_out', durationMs: 5000, error: { code: 'HOOK_TIMEOUT', message: 'slow' } }),
        execution('x2', { replayOf: 'x1', startedAt: T0 + 9 }),
      ];
      const text = renderTimeline(buildTimeline('c1', [event('1.0')], executions), 'text');
      assert.equal(
        text,
        [
          'timeline c1: 1 event, 2 hook executions',
          '└─ 03:04:05.006 state.set agent:a1 k [1.0]',
          '   └─ hook summarise attempt 2 timed_out (5000 ms) [x1] HOOK_TIMEOUT',
          '      └─ hook summarise attempt 1 succeeded (1 ms) [x2] replay of x1',
        ].join('\n'),
      );
    });

    it('a newline in a key cannot forge a line of the tree', () => {
      const text = renderTimeline(buildTimeline('c1', [event('1.0', { key: 'a\n└─ fake' })], []), 'text');
      assert.deepEqual(text.split('\n'), ['timeline c1: 1 event, 0 hook executions', '└─ 03:04:05.006 state.set agent:a1 a\\u000a└─ fake [1.0]']);
    });
  });

  describe('mermaid', () => {
    it('draws a sequence diagram: caller to scope, scope to hook, hook to scope', () => {
      assert.equal(
        renderTimeline(story(), 'mermaid'),
        [
          'sequenceDiagram',
          '  participant caller',
          '  participant s_agent_a1 as agent:a1',
          '  participant h_summarise as hook:summarise',
          '  participant h_notify as hook:notify',
          '  participant h_index as hook:index',
          '  participant runtime',
          '  caller->>s_agent_a1: state.set topic [1.0]',
          '  s_agent_a1->>h_summarise: attempt 1 succeeded (12 ms) [x0001]',
          '  h_summarise->>s_agent_a1: state.set summary [2.0]',
          '  s_agent_a1-xh_notify: attempt 1 failed HOOK_FAILED (3 ms) [x0002]',
          '  s_agent_a1->>h_index: attempt 1 succeeded (1 ms) [x0003]',
          '  caller->>runtime: agent.spawned [2.1]',
        ].join('\n'),
      );
    });

    it('a caused event is an arrow between scopes; a replay is an arrow from the hook to itself', () => {
      const events = [event('1.0'), event('2.0', { scope: 'session:s1', causationId: '1.0' })];
      const executions = [
        execution('x1', { status: 'timed_out' }),
        execution('x2', { replayOf: 'x1', startedAt: T0 + 9 }),
      ];
      const lines = renderTimeline(buildTimeline('c1', events, executions), 'mermaid').split('\n');
      assert.ok(lines.includes('  s_agent_a1->>s_session_s1: state.set k [2.0]'));
      assert.ok(lines.includes('  s_agent_a1-xh_summarise: attempt 1 timed_out (1 ms) [x1]'));
      assert.ok(lines.includes('  h_summarise->>h_summarise: replay of x1 succeeded (1 ms) [x2]'));
    });

    it('hostile scope and hook names cannot break the syntax', () => {
      const events = [
        event('1.0', { scope: 'agent:a;b#c"d\ne%%f', key: 'k;"x' }),
        event('1.1', { scope: 'agent:a_b_c_d_e__f' }),
        event('1.2', { scope: 'end' }),
      ];
      const executions = [execution('x1', { hookName: 'x-y z<b>' })];
      const text = renderTimeline(buildTimeline('c1', events, executions), 'mermaid');
      const lines = text.split('\n');
      assert.equal(lines.length, 1 + 5 + 4, 'one line per participant and per arrow');
      const withoutEntities = text.replace(/#\d+;/g, '');
      for (const char of [';', '#', '"', '%', '<']) assert.ok(!withoutEntities.includes(char), `no raw ${char}`);
      const ids = lines.filter((line) => line.startsWith('  participant ')).map((line) => line.split(' ')[3]);
      assert.deepEqual(ids, ['caller', 's_agent_a_b_c_d_e__f', 'h_x_y_z_b_', 's_agent_a_b_c_d_e__f_2', 's_end']);
      assert.ok(lines.includes('  participant s_agent_a_b_c_d_e__f as agent:a#59;b#35;c#34;d e#37;#37;f'));
      assert.ok(lines.includes('  caller->>s_agent_a_b_c_d_e__f: state.set k#59;#34;x [1.0]'));
    });
  });

  describe('json', () => {
    it('round-trips through JSON.parse, summary first', () => {
      const timeline = story();
      const json = renderTimeline(timeline, 'json');
      assert.deepEqual(JSON.parse(json), timeline);
      assert.deepEqual(Object.keys(JSON.parse(json)), ['correlationId', 'eventCount', 'executionCount', 'startedAt', 'endedAt', 'roots']);
      assert.ok(json.startsWith('{\n  "correlationId": "c1",'));
    });

    it('a timeline read back from JSON renders the same text', () => {
      const timeline = story();
      const restored = JSON.parse(renderTimeline(timeline, 'json')) as Timeline;
      assert.equal(renderTimeline(restored, 'text'), renderTimeline(timeline, 'text'));
    });
  });

  describe('html', () => {
    it('is one page titled with the correlation id, with no external resources', () => {
      const html = renderTimeline(story(), 'html');
      assert.ok(html.startsWith('<!DOCTYPE html>\n<html lang="en">'));
      assert.ok(html.includes('<title>Timeline c1</title>'));
      assert.ok(html.includes('<h1>Timeline <code>c1</code></h1>'));
      assert.ok(html.includes('3 events, 3 hook executions, from 2024-01-02T03:04:05.006Z to 2024-01-02T03:04:05.037Z (31 ms)'));
      assert.doesNotMatch(html, /<script|<link|src=|href=|@import|url\(/i);
    });

    it('escapes every piece of user data', () => {
      const hostile = `<script>alert("x")</script>&'`;
      const events = [event('1.0', { correlationId: hostile, scope: hostile, key: hostile, value: { text: hostile } })];
      const executions = [execution('x1', { hookName: hostile, result: { output: hostile } })];
      const html = renderTimeline(buildTimeline(hostile, events, executions), 'html');
      assert.ok(!html.includes('<script'));
      assert.ok(!html.includes(`'`), 'no raw apostrophe from the data');
      assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;'));
      assert.ok(html.includes('<title>Timeline &lt;script&gt;'));
    });

    it('marks failed and timed-out executions, and shows their errors', () => {
      const executions = [
        execution('x1', { status: 'failed', error: { code: 'HOOK_FAILED', message: 'boom' } }),
        execution('x2', { status: 'timed_out', startedAt: T0 + 1, error: { code: 'HOOK_TIMEOUT', message: 'slow' } }),
      ];
      const html = renderTimeline(buildTimeline('c1', [event('1.0')], executions), 'html');
      assert.match(html, /<li class="node execution failed" data-id="x1">.*<span class="status">failed<\/span>/);
      assert.match(html, /<li class="node execution timed_out" data-id="x2">.*<span class="status">timed out<\/span>/);
      assert.ok(html.includes('<p class="error">HOOK_FAILED: boom</p>'));
    });

    it('cuts long JSON at about 2 KB, with a note', () => {
      const value = 'x'.repeat(5000);
      const html = renderTimeline(buildTimeline('c1', [event('1.0', { value })], []), 'html');
      const pre = /<pre class="value"[^>]*>([\s\S]*?)<\/pre>/.exec(html)?.[1] ?? '';
      assert.ok(pre.startsWith(`&quot;${'x'.repeat(2047)}\n<span class="note">`), 'the first 2048 characters of the JSON, then the note');
      assert.ok(pre.includes('… truncated: 5002 characters in all'));
    });
  });
});
