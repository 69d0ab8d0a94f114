import { escapeForDisplay } from '../displayText.js';
import type { Timeline, TimelineNode } from './timeline.js';
import { clockTime, walkTimeline } from './timelineWalk.js';

/**
 * A timeline as a text tree, one line per node, with no trailing newline.
 *
 * @example
 * renderTimelineText(timeline)
 * // timeline V1StGXR8: 2 events, 1 hook execution
 * // └─ 12:00:00.000 state.set agent:a1 topic [1.0]
 * //    └─ hook summarise attempt 1 succeeded (12 ms) [0001]
 * //       └─ 12:00:00.020 state.set agent:a1 summary [2.0]
 */
export function renderTimelineText(timeline: Timeline): string {
  const lines = [
    `timeline ${shown(timeline.correlationId)}: ${count(timeline.eventCount, 'event')}, ${count(timeline.executionCount, 'hook execution')}`,
  ];
  for (const step of walkTimeline(timeline.roots)) {
    if (step.step !== 'enter') continue;
    const { lasts } = step;
    let prefix = '';
    for (let level = 0; level < lasts.length - 1; level++) prefix += lasts[level] ? '   ' : '│  ';
    prefix += lasts[lasts.length - 1] ? '└─ ' : '├─ ';
    lines.push(prefix + describe(step.node));
  }
  return lines.join('\n');
}

function describe(node: TimelineNode): string {
  if (node.type === 'event') {
    const { kind, scope, key } = node.event;
    const words = [kind, scope, key].filter((word) => word !== undefined).map(shown);
    return `${clockTime(node.at)} ${words.join(' ')} [${shown(node.id)}]`;
  }
  const { hookName, attempt, status, durationMs, error, replayOf } = node.execution;
  let line = `hook ${shown(hookName)} attempt ${attempt} ${shown(status)} (${durationMs} ms) [${shown(node.id)}]`;
  if (error !== undefined) line += ` ${shown(error.code)}`;
  if (replayOf !== undefined) line += ` replay of ${shown(replayOf)}`;
  return line;
}

/**
 * Scopes, keys and names are user data: a newline in one must not forge a line of the tree, nor a bidi
 * control make one key look like another. A timeline read back from JSON may hold anything.
 */
function shown(text: unknown): string {
  return escapeForDisplay(String(text));
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
