import type { Events } from '../../events/Events.js';
import type { LoggedEvent } from '../../events/eventLog.js';
import type { Timeline, TimelineNode } from '../../events/timeline.js';
import { Scope } from '../../state/Scope.js';
import type { Gate } from '../Gate.js';
import type { Rules } from '../guarded.js';
import { agentScope } from './agentScope.js';

/**
 * `rt.events`: a principal sees the events of the scopes it can read. Asking for one scope or agent
 * needs `read` on it; a wider query shows only what is readable (so it may return fewer than `limit`).
 * A timeline is shown only whole: every event in it must be readable. System reads everything,
 * a quarantined agent's events included.
 */
export const EVENTS_RULES: Rules<Events> = {
  query: (gate, events, filter) => {
    // System reads the log of a quarantined agent too: that is how an operator finds out what it did.
    const needs = gate.isSystem ? [] : [
      ...(filter?.scope === undefined ? [] : [{ scope: filter.scope, operation: 'read' as const }]),
      ...(filter?.agentId === undefined ? [] : [{ scope: agentScope(filter.agentId), operation: 'read' as const }]),
    ];
    return gate.async('events.query', needs, async () => {
      const found = await events.query(filter);
      return gate.isSystem ? found : found.filter((event) => readable(gate, event));
    });
  },
  prune: (gate, events, retention) => gate.systemOnly('events.prune', 'promise', () => events.prune(retention)),
  timeline: (gate, events, correlationId) => checkedTimeline(gate, events, correlationId, 'events.timeline'),
  exportTimeline: (gate, events, correlationId, format) =>
    gate.open('events.exportTimeline', 'promise', async () => {
      await checkedTimeline(gate, events, correlationId, 'events.exportTimeline');
      return events.exportTimeline(correlationId, format);
    }),
};

async function checkedTimeline(gate: Gate, events: Events, correlationId: string, method: string): Promise<Timeline> {
  const timeline = await gate.open(method, 'promise', () => events.timeline(correlationId));
  if (gate.isSystem) return timeline;
  for (const event of eventsOf(timeline.roots)) {
    const scope = scopeOf(event);
    // An event of no scope (a backup, a hook's registration) is system's alone.
    if (scope === undefined) await gate.systemOnly(method, 'promise', async () => undefined);
    else await gate.async(method, [{ scope, operation: 'read' }], async () => undefined);
  }
  return timeline;
}

function* eventsOf(nodes: readonly TimelineNode[]): Generator<LoggedEvent> {
  for (const node of nodes) {
    if (node.type === 'event') yield node.event;
    yield* eventsOf(node.children);
  }
}

function readable(gate: Gate, event: LoggedEvent): boolean {
  const scope = scopeOf(event);
  return scope !== undefined && gate.allows(scope, 'read');
}

function scopeOf(event: LoggedEvent): string | Scope | undefined {
  if (event.scope !== undefined) return event.scope;
  return event.agentId === undefined ? undefined : agentScope(event.agentId);
}

