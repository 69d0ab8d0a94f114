import { escapeForDisplay } from '../displayText.js';
import type { Timeline, TimelineNode } from './timeline.js';
import { walkTimeline } from './timelineWalk.js';

/**
 * A timeline as a Mermaid sequence diagram, with no trailing newline.
 *
 * Participants are `caller` (who started the story), one per scope, one per hook (`hook:<name>`), and
 * `runtime` for events without a scope. Each event is an arrow from whoever caused it to its scope;
 * each hook execution is an arrow from its triggering event's scope to the hook, with a cross at the
 * end when it failed or timed out. Arrows follow the tree depth first.
 *
 * @example
 * renderTimelineMermaid(timeline)
 * // sequenceDiagram
 * //   participant caller
 * //   participant s_agent_a1 as agent:a1
 * //   caller->>s_agent_a1: state.set topic [1.0]
 */
export function renderTimelineMermaid(timeline: Timeline): string {
  const participants = new Participants();
  const arrows: string[] = [];
  const placeOf = new Map<TimelineNode, string>();
  for (const step of walkTimeline(timeline.roots)) {
    if (step.step !== 'enter') continue;
    const { node, parent } = step;
    const from = (parent === undefined ? undefined : placeOf.get(parent)) ?? participants.caller();
    const to = node.type === 'event' ? participants.scope(node.event.scope) : participants.hook(node.execution.hookName);
    placeOf.set(node, to);
    arrows.push(`  ${from}${arrowOf(node)}${to}: ${mermaidText(messageOf(node))}`);
  }
  return ['sequenceDiagram', ...participants.declarations(), ...arrows].join('\n');
}

function arrowOf(node: TimelineNode): string {
  return node.type === 'execution' && node.execution.status !== 'succeeded' ? '-x' : '->>';
}

function messageOf(node: TimelineNode): string {
  if (node.type === 'event') {
    const { kind, key } = node.event;
    return `${kind}${key === undefined ? '' : ` ${key}`} [${node.id}]`;
  }
  const { attempt, status, durationMs, error, replayOf } = node.execution;
  const what = replayOf === undefined ? `attempt ${attempt}` : `replay of ${replayOf}`;
  const why = error === undefined ? '' : ` ${error.code}`;
  return `${what} ${status}${why} (${durationMs} ms) [${node.id}]`;
}

/**
 * A label, escaped for display like every export (a line break joins the line, a control or bidi
 * character is a `\u` escape), then quoted for Mermaid, which ends a statement at `;`, starts a comment
 * at `#` or `%%`, and renders labels as HTML: its `#<code>;` entities stand in for all of those.
 */
function mermaidText(text: unknown): string {
  return escapeForDisplay(String(text), { lines: 'join' }).replace(/[#;%"'<>&{}]/g, (char) => `#${char.charCodeAt(0)};`);
}

/** Participant ids are alphanumerics and `_`; the real name is the alias, so any scope or hook name is safe. */
class Participants {
  readonly #ids = new Map<string, string>();
  readonly #taken = new Set<string>(['caller', 'runtime']);
  readonly #lines: string[] = ['  participant caller'];

  caller(): string {
    return 'caller';
  }

  scope(scope: string | undefined): string {
    if (scope === undefined) return this.#declare('runtime', 'runtime', undefined);
    return this.#declare(`scope ${scope}`, `s_${scope}`, scope);
  }

  hook(hookName: string): string {
    return this.#declare(`hook ${hookName}`, `h_${hookName}`, `hook:${hookName}`);
  }

  declarations(): string[] {
    return this.#lines;
  }

  #declare(name: string, rawId: string, label: string | undefined): string {
    const known = this.#ids.get(name);
    if (known !== undefined) return known;
    let id = rawId;
    if (label !== undefined) {
      const base = String(rawId).replace(/[^A-Za-z0-9_]/g, '_');
      id = base;
      for (let n = 2; this.#taken.has(id); n++) id = `${base}_${n}`;
      this.#taken.add(id);
    }
    this.#ids.set(name, id);
    this.#lines.push(label === undefined ? `  participant ${id}` : `  participant ${id} as ${mermaidText(label)}`);
    return id;
  }
}
