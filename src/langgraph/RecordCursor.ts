import type { Runtime, Scope } from '../index.js';
import type { CheckpointRecord } from './saverRecords.js';

/** The largest page a cursor reads at once. */
const MAX_PAGE = 256;

/**
 * The checkpoint records of one key range of a thread, newest first, read lazily in reverse pages that
 * double from `firstPage`: a caller that stops early has read little more than it used.
 */
export class RecordCursor {
  readonly scope: Scope;
  readonly #state: Runtime['state'];
  readonly #gte: string;
  #lt: string;
  #page: number;
  #buffer: ReadonlyArray<readonly [string, unknown]> = [];
  #next = 0;
  #exhausted = false;

  constructor(state: Runtime['state'], scope: Scope, range: { gte: string; lt: string }, firstPage: number) {
    this.#state = state;
    this.scope = scope;
    this.#gte = range.gte;
    this.#lt = range.lt;
    this.#page = Math.max(1, Math.min(firstPage, MAX_PAGE));
  }

  /** The newest record not yet taken, or undefined when none is left. */
  async head(): Promise<CheckpointRecord | undefined> {
    if (this.#next === this.#buffer.length) {
      if (this.#exhausted) return undefined;
      const limit = this.#page;
      this.#buffer = await this.#state.entries(this.scope, { gte: this.#gte, lt: this.#lt, reverse: true, limit });
      this.#next = 0;
      this.#exhausted = this.#buffer.length < limit;
      this.#page = Math.min(limit * 2, MAX_PAGE);
      if (this.#buffer.length === 0) return undefined;
      this.#lt = this.#buffer[this.#buffer.length - 1]![0];
    }
    return this.#buffer[this.#next]![1] as CheckpointRecord;
  }

  /** Takes the head. */
  advance(): void {
    this.#next++;
  }
}
