import { describeOption } from '../checkOptions.js';
import type { Timeline } from './timeline.js';
import { renderTimelineHtml } from './timelineHtml.js';
import { renderTimelineMermaid } from './timelineMermaid.js';
import { renderTimelineText } from './timelineText.js';

export type TimelineFormat = 'text' | 'mermaid' | 'json' | 'html';

export const TIMELINE_FORMATS: readonly TimelineFormat[] = ['text', 'mermaid', 'json', 'html'];

const RENDERERS: Record<TimelineFormat, (timeline: Timeline) => string> = {
  text: renderTimelineText,
  mermaid: renderTimelineMermaid,
  json: (timeline) => JSON.stringify(timeline, null, 2),
  html: renderTimelineHtml,
};

/**
 * A timeline in one of the export formats, with no trailing newline:
 *
 * - `text`: a tree, one line per event or hook execution.
 * - `mermaid`: a Mermaid `sequenceDiagram`.
 * - `json`: the timeline itself, indented; `JSON.parse` gives it back.
 * - `html`: one self-contained page, readable without scripts or network.
 *
 * @throws {TypeError} `format` is not one of {@link TIMELINE_FORMATS}.
 * @example renderTimeline(await rt.events.timeline(correlationId), 'mermaid')
 */
export function renderTimeline(timeline: Timeline, format: TimelineFormat): string {
  checkTimelineFormat(format);
  return RENDERERS[format](timeline);
}

/** @throws {TypeError} `format` is not one of {@link TIMELINE_FORMATS}. */
export function checkTimelineFormat(format: unknown): asserts format is TimelineFormat {
  if (typeof format !== 'string' || !Object.hasOwn(RENDERERS, format)) {
    throw new TypeError(`Expected \`format\` to be one of ${TIMELINE_FORMATS.join(', ')}, got ${describeOption(format)}`);
  }
}
