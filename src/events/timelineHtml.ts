import { escapeForDisplay } from '../displayText.js';
import type { HookExecution } from './hookExecution.js';
import type { LoggedEvent } from './eventLog.js';
import type { Timeline, TimelineNode } from './timeline.js';
import { clockTime, walkTimeline } from './timelineWalk.js';

/** Longer JSON is cut, so one large value cannot make the page unreadable. */
const JSON_LIMIT = 2048;

const STATUS_TEXT: Record<string, string> = { succeeded: 'succeeded', failed: 'failed', timed_out: 'timed out' };

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem; color: #1d1d1f; background: #fff; }
h1 { font-size: 1.3rem; } h1 code { font-size: 1.1rem; }
.summary { color: #555; }
ul { list-style: none; margin: 0; padding-left: 1.4rem; border-left: 1px solid #ccc; }
ul.tree { padding-left: 0; border-left: none; }
li { margin: .35rem 0; }
.line { display: flex; flex-wrap: wrap; gap: .5rem; align-items: baseline; }
time, .id, .meta { color: #666; font-family: ui-monospace, monospace; font-size: .85rem; }
.kind { font-weight: 600; } .execution > .line .kind { color: #5b3fa0; }
.scope, .key { font-family: ui-monospace, monospace; background: #f2f2f5; padding: 0 .3rem; border-radius: 3px; }
.status { padding: 0 .4rem; border-radius: 3px; background: #e3f4e6; color: #1f6b2c; }
.failed > .line .status, .timed_out > .line .status { background: #fde2e1; color: #a11d15; font-weight: 600; }
.error { color: #a11d15; margin: .2rem 0; }
pre { margin: .25rem 0; padding: .4rem .6rem; background: #f7f7f9; border-radius: 4px; max-width: 60rem; overflow-x: auto; white-space: pre-wrap; word-break: break-word; }
.note { color: #a15c00; }
`;

/**
 * A timeline as one self-contained HTML5 page: inline CSS, no scripts, no external resources. Every
 * piece of user data is escaped, for display and then for HTML; values and hook outputs appear as
 * pretty-printed JSON, cut at about 2 KB.
 *
 * @example writeFileSync('timeline.html', renderTimelineHtml(timeline))
 */
export function renderTimelineHtml(timeline: Timeline): string {
  const id = escapeHtml(timeline.correlationId);
  const parts: string[] = [];
  for (const step of walkTimeline(timeline.roots)) {
    const { node } = step;
    const hasChildren = (node.children ?? []).length > 0;
    if (step.step === 'enter') parts.push(renderNode(node, timeline.correlationId) + (hasChildren ? '<ul>' : ''));
    else parts.push((hasChildren ? '</ul>' : '') + '</li>');
  }
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Timeline ${id}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Timeline <code>${id}</code></h1>
<p class="summary">${escapeHtml(summary(timeline))}</p>
<ul class="tree">${parts.join('\n')}</ul>
</body>
</html>`;
}

function summary(timeline: Timeline): string {
  const { eventCount, executionCount, startedAt, endedAt } = timeline;
  const counts = `${eventCount} event${eventCount === 1 ? '' : 's'}, ${executionCount} hook execution${executionCount === 1 ? '' : 's'}`;
  if (startedAt === undefined || endedAt === undefined) return counts;
  return `${counts}, from ${isoTime(startedAt)} to ${isoTime(endedAt)} (${endedAt - startedAt} ms)`;
}

function renderNode(node: TimelineNode, correlationId: string): string {
  return node.type === 'event' ? renderEvent(node.event, node.at, correlationId) : renderExecution(node.execution, node.at);
}

function renderEvent(event: LoggedEvent, at: number, correlationId: string): string {
  const line = [
    timeTag(at),
    span('kind', event.kind),
    event.scope === undefined ? '' : span('scope', event.scope),
    event.key === undefined ? '' : span('key', event.key),
    span('id', `event ${event.id}`),
  ];
  const meta = metaLine([
    ['agent', event.agentId],
    ['count', event.count === undefined ? undefined : String(event.count)],
    ['caused by', event.causationId],
    ['written by execution', event.executionId],
    ['correlation', event.correlationId === correlationId ? undefined : event.correlationId],
  ]);
  return `<li class="node event" data-id="${escapeHtml(event.id)}"><div class="line">${line.join(' ')}</div>${meta}${jsonBlock('value', event.value)}${jsonBlock('data', event.data)}`;
}

function renderExecution(execution: HookExecution, at: number): string {
  const status = STATUS_TEXT[execution.status] ?? String(execution.status);
  const line = [
    timeTag(at),
    span('kind', `hook ${execution.hookName}`),
    span('status', status),
    span('attempt', `attempt ${execution.attempt}`),
    span('duration', `${execution.durationMs} ms`),
    span('id', `execution ${execution.executionId}`),
  ];
  const meta = metaLine([
    ['replay of', execution.replayOf],
    ['triggered by', (execution.eventIds ?? []).join(', ')],
    ['correlations', (execution.correlationIds ?? []).length > 1 ? execution.correlationIds.join(', ') : undefined],
  ]);
  const error = execution.error === undefined ? '' : `<p class="error">${escapeHtml(execution.error.code)}: ${escapeHtml(execution.error.message, 'join')}</p>`;
  const classes = `node execution ${escapeHtml(String(execution.status))}`;
  return `<li class="${classes}" data-id="${escapeHtml(execution.executionId)}"><div class="line">${line.join(' ')}</div>${meta}${error}${jsonBlock('output', execution.result?.output)}`;
}

function metaLine(fields: [string, string | undefined][]): string {
  const present = fields.filter(([, value]) => value !== undefined && value !== '');
  if (present.length === 0) return '';
  return `<div class="meta">${present.map(([name, value]) => escapeHtml(`${name} ${value}`)).join(' · ')}</div>`;
}

function jsonBlock(label: string, value: unknown): string {
  if (value === undefined) return '';
  let text = prettyJson(value);
  let note = '';
  if (text.length > JSON_LIMIT) {
    note = `\n<span class="note">… truncated: ${text.length} characters in all</span>`;
    // Never split a surrogate pair.
    const cut = /[\ud800-\udbff]/.test(text[JSON_LIMIT - 1]) ? JSON_LIMIT - 1 : JSON_LIMIT;
    text = text.slice(0, cut);
  }
  return `<pre class="${label}" aria-label="${label}">${escapeHtml(text, 'keep')}${note}</pre>`;
}

function prettyJson(value: unknown): string {
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}

function timeTag(at: number): string {
  return `<time datetime="${escapeHtml(isoTime(at))}">${clockTime(at)}</time>`;
}

function isoTime(at: number): string {
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? String(at) : date.toISOString();
}

function span(className: string, text: string): string {
  return `<span class="${className}">${escapeHtml(text)}</span>`;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Text for the page, escaped for display first, as in every export: a browser honours bidi controls
 * too, so unescaped, one key could show as another. Then escaped for HTML. JSON stays the same JSON.
 * Line breaks are kept in JSON (`keep`), joined in a message (`join`), and escaped everywhere else.
 *
 * @internal
 */
export function escapeHtml(text: unknown, lines: 'escape' | 'keep' | 'join' = 'escape'): string {
  return escapeForDisplay(String(text), { lines }).replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]);
}
