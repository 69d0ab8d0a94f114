import type { StorageBackend } from '../storage/index.js';
import type { LoggedEvent } from './eventLog.js';
import { queryEvents, type EventFilter } from './queryEvents.js';

export interface EventsDeps {
  storage: StorageBackend;
  assertOpen(): void;
}

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
   * @example await rt.events.query({ kinds: ['agent.*'], agentId: 'a1' })
   */
  async query(filter: EventFilter = {}): Promise<LoggedEvent[]> {
    this.#deps.assertOpen();
    checkFilter(filter);
    return queryEvents(this.#deps.storage, filter);
  }
}

function checkFilter(filter: EventFilter): void {
  if (typeof filter !== 'object' || filter === null) throw new TypeError(`Expected the event filter to be an object, got ${String(filter)}`);
  const { kinds, agentId, scope, correlationId, from, to, limit } = filter;
  if (kinds !== undefined && (!Array.isArray(kinds) || !kinds.every((k) => typeof k === 'string' && k.length > 0))) {
    throw new TypeError(`Expected \`kinds\` to be an array of event kinds, got \`${JSON.stringify(kinds)}\``);
  }
  for (const [name, value] of Object.entries({ agentId, scope, correlationId })) {
    if (value !== undefined && (typeof value !== 'string' || value.length === 0)) {
      throw new TypeError(`Expected \`${name}\` to be a non-empty string, got \`${String(value)}\` (${typeof value})`);
    }
  }
  for (const [name, value] of Object.entries({ from, to })) {
    if (value !== undefined && !(value instanceof Date || Number.isFinite(value))) {
      throw new TypeError(`Expected \`${name}\` to be a Date or a time in ms, got \`${String(value)}\``);
    }
  }
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) {
    throw new TypeError(`Expected \`limit\` to be a positive integer, got \`${String(limit)}\` (${typeof limit})`);
  }
}
