import type { HookExecution } from './hookExecution.js';
import type { StorageBackend } from '../storage/index.js';
import type { LoggedEvent } from './eventLog.js';
import { pruneEvents, type EventPruneResult, type EventRetention } from './pruneEvents.js';
import { queryEvents, type EventFilter } from './queryEvents.js';
import type { Clock } from '../clock.js';
import { redactExecution, redactView } from '../redaction/index.js';
import { checkOptionsArgument, checkQueryFields, describeOption } from '../checkOptions.js';
import { checkKindPatterns } from './checkKindPatterns.js';
import { buildTimeline, type Timeline } from './timeline.js';
import { checkTimelineFormat, renderTimeline, type TimelineFormat } from './timelineExport.js';

export interface EventsDeps {
  storage: StorageBackend;
  assertOpen(): void;
  /** The hook executions on a correlation's story. */
  executionsOf(correlationId: string, limit: number): Promise<HookExecution[]>;
  /** The oldest commit sequence a pending hook delivery needs; the log keeps it and what follows. */
  oldestNeededSeq(): Promise<number>;
  /** Copies out of the log what hook history reads from these commit records, before they go. */
  keepHistoryOf(seqs: readonly number[]): Promise<unknown>;
  clock: Clock;
  /** The hooks' `redact` paths: those of one hook, and those of every hook that takes an event. */
  redactPaths: { of(hookName: string): readonly string[]; forEvent(event: LoggedEvent): readonly string[] };
  /** The retention given at `createRuntime`, used when prune() is called without one. */
  retention: EventRetention;
}

/** Most events and executions one timeline reads. */
const TIMELINE_LIMIT = 10_000;

/** `rt.events`: the event log of every committed change and lifecycle event. */
export class Events {
  readonly #deps: EventsDeps;

  /** @internal */
  constructor(deps: EventsDeps) {
    this.#deps = deps;
  }

  /**
   * Logged events, oldest first.
   *
   * @throws {RUNTIME_CLOSED} @throws {DATA_CORRUPT} a log record failed its checksum.
   * @throws {VALUE_INVALID} a pattern of `kinds` matches no event kind (the message names the closest).
   * @example await rt.events.query({ kinds: ['agent.*'], agentId: 'a1' })
   */
  async query(filter: EventFilter = {}): Promise<LoggedEvent[]> {
    this.#deps.assertOpen();
    checkOptionsArgument(filter, 'filter');
    checkFilter(filter);
    return queryEvents(this.#deps.storage, filter);
  }

  /**
   * Removes the oldest commit records beyond the retention limits (by default those given to
   * `createRuntime` as `eventRetention`). Records a pending hook delivery still needs are kept; hook
   * history that reads its input from a removed record gets a copy of it first.
   *
   * @throws {RUNTIME_CLOSED} @throws {DATA_CORRUPT}
   * @example await rt.events.prune({ maxAgeMs: 30 * 24 * 3600 * 1000 })
   */
  async prune(retention: EventRetention = this.#deps.retention): Promise<EventPruneResult> {
    this.#deps.assertOpen();
    checkOptionsArgument(retention, 'retention');
    for (const [name, value] of Object.entries(retention)) {
      if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
        throw new TypeError(`Expected \`${name}\` to be a non-negative integer, got ${describeOption(value)}`);
      }
    }
    const keepFrom = await this.#deps.oldestNeededSeq();
    return pruneEvents(this.#deps.storage, retention, this.#deps.clock.now(), { keepFrom, beforeRemove: this.#deps.keepHistoryOf });
  }

  /**
   * The causality tree of one correlation: each write, the hook executions it triggered, their
   * actions, and the writes those caused. Everything in it is redacted as hook history is (secret field
   * names and keys, secret-looking strings, and every registered hook's `redact` paths, on events too),
   * so a timeline can be shared.
   *
   * @throws {RUNTIME_CLOSED} @throws {DATA_CORRUPT}
   * @example const tree = await rt.events.timeline(correlationId)
   */
  async timeline(correlationId: string): Promise<Timeline> {
    this.#deps.assertOpen();
    checkFilter({ correlationId });
    if (correlationId === undefined) throw new TypeError('Expected `correlationId` to be a non-empty string, got `undefined`');
    const [events, executions] = await Promise.all([
      queryEvents(this.#deps.storage, { correlationId, limit: TIMELINE_LIMIT }),
      this.#deps.executionsOf(correlationId, TIMELINE_LIMIT),
    ]);
    const { redactPaths } = this.#deps;
    return buildTimeline(
      redactView(correlationId),
      events.map((event) => redactView(event, redactPaths.forEvent(event))),
      executions.map((execution) => redactExecution(execution, redactPaths.of(execution.hookName))),
    );
  }

  /**
   * A correlation's timeline as `text` (a tree), `mermaid` (a sequence diagram), `json`, or `html` (a
   * self-contained page).
   *
   * @throws {TypeError} for an unknown format. @throws {RUNTIME_CLOSED}
   * @example writeFileSync('story.html', await rt.events.exportTimeline(correlationId, 'html'))
   */
  async exportTimeline(correlationId: string, format: TimelineFormat): Promise<string> {
    checkTimelineFormat(format);
    return renderTimeline(await this.timeline(correlationId), format);
  }
}

function checkFilter(filter: EventFilter): void {
  if (typeof filter !== 'object' || filter === null) throw new TypeError(`Expected the event filter to be an object, got ${describeOption(filter)}`);
  const { kinds, agentId, scope, correlationId, from, to, limit } = filter;
  if (kinds !== undefined && (!Array.isArray(kinds) || !kinds.every((k) => typeof k === 'string' && k.length > 0))) {
    throw new TypeError(`Expected \`kinds\` to be an array of event kinds, got \`${JSON.stringify(kinds)}\``);
  }
  checkQueryFields({ text: { agentId, scope, correlationId }, times: { from, to }, limit });
  if (kinds !== undefined) checkKindPatterns(kinds, '`kinds`');
}
