import type { HookExecution } from './hookExecution.js';
import type { LoggedEvent } from './eventLog.js';

export type TimelineNode =
  | { type: 'event'; id: string; at: number; event: LoggedEvent; children: TimelineNode[] }
  | { type: 'execution'; id: string; at: number; execution: HookExecution; children: TimelineNode[] };

/** The causality tree of one correlation: each write, the hooks it triggered, their actions, and what those caused. */
export interface Timeline {
  correlationId: string;
  eventCount: number;
  executionCount: number;
  /** The earliest event time or execution start; absent for an empty timeline. */
  startedAt?: number;
  /** The latest event time or execution end; absent for an empty timeline. */
  endedAt?: number;
  roots: TimelineNode[];
}

/**
 * Builds the causality tree of one correlation from the events and hook executions gathered for it.
 *
 * - An execution sits under the execution it replayed, else under the first of its triggering events
 *   present here, else at the root (its trigger belongs to another correlation).
 * - An event sits under the execution whose action wrote it, else under the event named by its
 *   `causationId`, else at the root.
 * - Siblings are ordered by time, then id; events come before executions at the same time.
 *
 * Malformed input cannot loop: duplicate ids keep their first node, and a cycle of parent links is cut
 * at its earliest node, which becomes a root.
 *
 * @example buildTimeline(correlationId, await rt.events.query({ correlationId }), executions)
 */
export function buildTimeline(correlationId: string, events: LoggedEvent[], executions: HookExecution[]): Timeline {
  const eventNodes = new Map<string, TimelineNode>();
  for (const event of events) {
    if (!eventNodes.has(event.id)) eventNodes.set(event.id, { type: 'event', id: event.id, at: event.at, event, children: [] });
  }
  const executionNodes = new Map<string, TimelineNode>();
  for (const execution of executions) {
    const id = execution.executionId;
    if (!executionNodes.has(id)) executionNodes.set(id, { type: 'execution', id, at: execution.startedAt, execution, children: [] });
  }

  const nodes = [...eventNodes.values(), ...executionNodes.values()].sort(compareNodes);
  const parents = new Map<TimelineNode, TimelineNode>();
  for (const node of nodes) {
    const parent = findParent(node, eventNodes, executionNodes);
    if (parent !== undefined && parent !== node) parents.set(node, parent);
  }
  cutCycles(nodes, parents);

  const roots: TimelineNode[] = [];
  // Nodes are visited in sibling order, so every children array comes out sorted.
  for (const node of nodes) (parents.get(node)?.children ?? roots).push(node);

  // The summary comes before the tree, so JSON output reads top-down.
  return { correlationId, eventCount: eventNodes.size, executionCount: executionNodes.size, ...timeSpan(nodes), roots };
}

function findParent(
  node: TimelineNode,
  eventNodes: Map<string, TimelineNode>,
  executionNodes: Map<string, TimelineNode>,
): TimelineNode | undefined {
  if (node.type === 'execution') {
    const { replayOf, eventIds } = node.execution;
    const replayed = replayOf === undefined ? undefined : executionNodes.get(replayOf);
    if (replayed !== undefined) return replayed;
    for (const id of eventIds ?? []) {
      const trigger = eventNodes.get(id);
      if (trigger !== undefined) return trigger;
    }
    return undefined;
  }
  const { executionId, causationId } = node.event;
  const writer = executionId === undefined ? undefined : executionNodes.get(executionId);
  if (writer !== undefined) return writer;
  return causationId === undefined ? undefined : eventNodes.get(causationId);
}

/** Each node has at most one parent, so a cycle is found by walking up; its earliest node loses its parent. */
function cutCycles(nodes: TimelineNode[], parents: Map<TimelineNode, TimelineNode>): void {
  const settled = new Set<TimelineNode>();
  for (const start of nodes) {
    const path: TimelineNode[] = [];
    const onPath = new Set<TimelineNode>();
    let node: TimelineNode | undefined = start;
    while (node !== undefined && !settled.has(node) && !onPath.has(node)) {
      path.push(node);
      onPath.add(node);
      node = parents.get(node);
    }
    if (node !== undefined && onPath.has(node)) {
      const cycle = path.slice(path.indexOf(node));
      parents.delete(cycle.reduce((earliest, member) => (compareNodes(member, earliest) < 0 ? member : earliest)));
    }
    for (const member of path) settled.add(member);
  }
}

function compareNodes(a: TimelineNode, b: TimelineNode): number {
  if (a.at !== b.at) return a.at < b.at ? -1 : 1;
  if (a.type !== b.type) return a.type === 'event' ? -1 : 1;
  if (a.type === 'event') return compareEventIds(a.id, b.id);
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Event ids are `<seq>.<index>`: compared as numbers, so `10.0` follows `9.3`. */
function compareEventIds(a: string, b: string): number {
  const [aSeq, aIndex] = a.split('.').map(Number);
  const [bSeq, bIndex] = b.split('.').map(Number);
  if (aSeq !== bSeq && Number.isFinite(aSeq) && Number.isFinite(bSeq)) return aSeq - bSeq;
  if (aIndex !== bIndex && Number.isFinite(aIndex) && Number.isFinite(bIndex)) return aIndex - bIndex;
  return a < b ? -1 : a > b ? 1 : 0;
}

function timeSpan(nodes: TimelineNode[]): { startedAt: number; endedAt: number } | undefined {
  let startedAt = Infinity;
  let endedAt = -Infinity;
  for (const node of nodes) {
    const end = node.type === 'execution' ? node.at + node.execution.durationMs : node.at;
    startedAt = Math.min(startedAt, node.at);
    endedAt = Math.max(endedAt, end);
  }
  return nodes.length === 0 ? undefined : { startedAt, endedAt };
}
