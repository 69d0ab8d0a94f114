import { LlmStateError } from '../errors.js';
import type { EventSpec } from '../events/eventLog.js';
import type { BatchOp, StorageBackend } from '../storage/index.js';
import type { Dispatcher } from './Dispatcher.js';
import { shownDeadLetter, type HookRedactionPaths } from './hookRedaction.js';
import type { HookDeadLetter } from './types.js';
import { inlineEntry } from './pendingEntry.js';
import { decodeDeadLetter, decodeHookSeqKey, encodeOutboxValue, hookRange, type DeadLetterValue } from './outboxRecords.js';


export interface HookDeadLettersDeps {
  storage: StorageBackend;
  dispatcher: Dispatcher;
  redaction: HookRedactionPaths;
  recordEvents(events: EventSpec[], extraOps?: BatchOp[]): Promise<void>;
}

/** Reads hooks' dead letters, and puts them back in the outbox for a hook registered again. */
export class HookDeadLetters {
  readonly #deps: HookDeadLettersDeps;

  constructor(deps: HookDeadLettersDeps) {
    this.#deps = deps;
  }

  /** The letters as views show them, redacted. @throws {DATA_CORRUPT} */
  async list(filter: { hookName?: string; limit?: number }): Promise<HookDeadLetter[]> {
    const range = filter.hookName === undefined ? {} : hookRange(filter.hookName);
    const letters: HookDeadLetter[] = [];
    for await (const [key, record] of this.#deps.storage.iterate('hookDeadLetters', { ...range, limit: filter.limit ?? 1000 })) {
      const { hookName, seq } = decodeHookSeqKey(key);
      const letter = decodeDeadLetter(record, { 'hook dead letter': `${hookName}@${seq}` });
      const events = letter.events.map((json) => JSON.parse(json) as { id: string });
      const stored: HookDeadLetter = { hookName, seq, reason: letter.reason, ...(letter.error === undefined ? {} : { error: letter.error }), attempts: letter.attempts, at: letter.at, eventIds: events.map((e) => e.id), events };
      letters.push(shownDeadLetter(this.#deps.redaction, stored));
    }
    return letters;
  }

  /**
   * Moves a registered hook's dead letters back to its outbox, with fresh attempts, and queues them.
   * Returns how many events were put back.
   *
   * @throws {HOOK_FAILED} when no hook of that name is registered.
   */
  async redeliver(hookName: string): Promise<number> {
    const { dispatcher, storage } = this.#deps;
    const slot = dispatcher.slot(hookName);
    if (slot === undefined) {
      throw new LlmStateError('HOOK_FAILED', `The hook ${hookName} is not registered; register it before redelivering its dead letters`, { details: { hook: hookName, reason: 'not_registered' } });
    }
    const ops: BatchOp[] = [];
    const letters: DeadLetterValue[] = [];
    for await (const [key, record] of storage.iterate('hookDeadLetters', hookRange(hookName))) {
      const letter = decodeDeadLetter(record, { 'hook dead letter': `${hookName}` });
      letters.push(letter);
      ops.push({ type: 'del', sublevel: 'hookDeadLetters', key });
      ops.push({ type: 'put', sublevel: 'outbox', key, value: encodeOutboxValue(letter.seq, letter.at, { events: letter.events, attempts: 0 }) });
    }
    if (letters.length === 0) return 0;
    const count = letters.reduce((sum, letter) => sum + letter.events.length, 0);
    await this.#deps.recordEvents([{ kind: 'hook.redelivered', data: { hook: hookName, events: count } }], ops);
    // On a shared store, only the process that delivers the hook queues them; see docs/scale-out.md.
    if (!dispatcher.deliversHere(hookName)) return count;
    for (const letter of letters) slot.restore(inlineEntry(letter.seq, letter.at, letter.events, 0));
    dispatcher.poke();
    return count;
  }
}
