import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { checkKindPatterns } from '../../src/events/checkKindPatterns.js';
import { EVENT_KINDS, type EventKindPattern, type EventSpec } from '../../src/events/eventKinds.js';
import { eventJson } from '../../src/events/eventLog.js';
import { isLlmStateError } from '../../src/errors.js';

const root = new URL('../../', import.meta.url);
const docs = readdirSync(new URL('docs/', root))
  .filter((name) => name.endsWith('.md'))
  .map((name) => `docs/${name}`)
  .concat('README.md');

function suggestionFor(pattern: string): unknown {
  try {
    checkKindPatterns([pattern], '`on`');
  } catch (error) {
    assert.ok(isLlmStateError(error, 'EVENT_KIND_UNKNOWN'), String(error));
    return error.details?.suggestion;
  }
  return undefined;
}

describe('event kinds', () => {
  it('the kinds table of docs/timeline.md lists every event kind, in the order of EVENT_KINDS', () => {
    const text = readFileSync(new URL('docs/timeline.md', root), 'utf8');
    const section = text.slice(text.indexOf('## Event kinds'));
    const rows = [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((match) => match[1]);
    assert.deepEqual(rows, [...EVENT_KINDS]);
  });

  it('every event kind the docs and the README name is a known kind, or a pattern that matches one', () => {
    const families = new Set(EVENT_KINDS.map((kind) => kind.slice(0, kind.indexOf('.'))));
    const named: string[] = [];
    for (const file of docs) {
      const text = readFileSync(new URL(file, root), 'utf8');
      // A page may show the refusal of a typo: that pattern is meant to be unknown.
      const refused = new Set([...text.matchAll(/The event-kind pattern `([^`]+)`/g)].map((match) => match[1]));
      for (const [, name] of text.matchAll(/[`'"]([a-z]+\.[A-Za-z_*]+)[`'"]/g)) {
        if (families.has(name.slice(0, name.indexOf('.'))) && !refused.has(name)) named.push(name);
      }
    }
    assert.ok(named.length > EVENT_KINDS.length, `only ${named.length} kinds named in the docs`);
    const unknown = named.filter((name) => suggestionFor(name) !== undefined);
    assert.deepEqual(unknown, []);
  });

  it('names the closest kind, or family wildcard, for a pattern that matches none', () => {
    assert.deepEqual(
      ['state.sett', 'sate.set', 'hooks.error', 'agent.crash', 'supervisor.restarted', 'fault', 'agnet.*', 'state.*.x'].map(suggestionFor),
      ['state.set', 'state.set', 'hook.error', 'agent.crashed', 'supervisor.child_restarted', 'fault.*', 'agent.*', 'state.*'],
    );
  });

  it('takes every kind, every family wildcard and `*`', () => {
    const families = [...new Set(EVENT_KINDS.map((kind) => `${kind.slice(0, kind.indexOf('.'))}.*`))];
    assert.deepEqual([...EVENT_KINDS, ...families, '*', 'hook.circuit_*'].filter((pattern) => suggestionFor(pattern) !== undefined), []);
  });

  it('quotes a pattern escaped in the message, and keeps it whole in details', () => {
    const pattern = `state.set\u001b[2J`;
    assert.throws(
      () => checkKindPatterns(['state.*', pattern], '`kinds`'),
      (error: unknown) =>
        isLlmStateError(error, 'EVENT_KIND_UNKNOWN') &&
        error.message === 'The event-kind pattern `state.set\\u001b[2J` in `kinds` matches no event kind; did you mean `state.set`?' &&
        error.details?.pattern === pattern,
    );
  });

  it('a spec is logged with its kind and the fields of that kind', () => {
    const spec: EventSpec = { kind: 'agent.restarted', agentId: 'a1', data: { incarnation: 2 } };
    assert.deepEqual(JSON.parse(eventJson(spec, ',"correlationId":"c1"')), {
      kind: 'agent.restarted',
      correlationId: 'c1',
      agentId: 'a1',
      data: { incarnation: 2 },
    });
  });
});

/**
 * What the list refuses at compile time; `npm run typecheck` fails if any of these lines compiles.
 * Never called.
 */
export function refusedAtCompileTime(): EventSpec[] {
  return [
    // @ts-expect-error a kind that is not in the list
    { kind: 'state.sett', data: {} },
    // @ts-expect-error a state change is written by the commit path, never as a spec
    { kind: 'state.set', scope: 'agent:a1', key: 'k', value: 1 },
    // @ts-expect-error an agent lifecycle event names its agent
    { kind: 'agent.paused' },
    // @ts-expect-error the wrong data for the kind
    { kind: 'agent.restarted', agentId: 'a1', data: { incarnations: 2 } },
    // @ts-expect-error data a kind does not carry
    { kind: 'agent.deleted', agentId: 'a1', data: { reason: 'gone' } },
    // @ts-expect-error a field of the wrong type
    { kind: 'hook.unregistered', data: { hook: 'h', deadLettered: '3' } },
  ];
}

/** Patterns the CLI and tests write are typed: a family or kind that is not in the list does not compile. Never called. */
export function patternsAtCompileTime(): EventKindPattern[] {
  return [
    'state.set',
    'hook.*',
    '*',
    // @ts-expect-error a family that is not in the list
    'agents.*',
    // @ts-expect-error a kind that is not in the list
    'agent.crash',
  ];
}
