import type { TimelineNode } from './timeline.js';

/** One step of a depth-first walk: entering a node before its children, leaving it after them. */
export type TimelineStep =
  | {
      step: 'enter';
      node: TimelineNode;
      parent: TimelineNode | undefined;
      /** For each level down to this node, whether the node there is its parent's last child. Valid until the next step. */
      lasts: readonly boolean[];
    }
  | { step: 'leave'; node: TimelineNode };

/**
 * Walks a timeline depth first, children in order.
 *
 * It keeps its own stack, so a long causal chain cannot exhaust the call stack, and it visits each node
 * once, so a hand-made timeline that shares or loops nodes still ends.
 *
 * @internal
 */
export function* walkTimeline(roots: readonly TimelineNode[]): Generator<TimelineStep> {
  const stack: { node: TimelineNode | undefined; children: readonly TimelineNode[]; next: number }[] = [
    { node: undefined, children: roots, next: 0 },
  ];
  const lasts: boolean[] = [];
  const seen = new Set<TimelineNode>();
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top.next >= top.children.length) {
      stack.pop();
      if (top.node !== undefined) {
        lasts.pop();
        yield { step: 'leave', node: top.node };
      }
      continue;
    }
    const node = top.children[top.next++];
    if (seen.has(node)) continue;
    seen.add(node);
    lasts.push(top.next === top.children.length);
    yield { step: 'enter', node, parent: top.node, lasts };
    stack.push({ node, children: node.children ?? [], next: 0 });
  }
}

/** `HH:MM:SS.mmm` in UTC, or dashes for a time that is not one. @internal */
export function clockTime(at: number): string {
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? '--:--:--.---' : date.toISOString().slice(11, 23);
}
