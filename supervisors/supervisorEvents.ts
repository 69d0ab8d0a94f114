import type { EventData, SupervisorEventKind } from '../src/events/eventKinds.js';

/**
 * What a supervisor reports through its `emit` option: the `data` its event carries in the event log
 * (each kind is described in src/events/eventKinds.ts), with its `type` and `at`, when it happened by the
 * supervisor's clock (ms since the epoch). Each event names the supervisor and, but for a
 * `supervisor.shutdown` caused by stop() or kill(), the child concerned. An `error` is what was thrown,
 * as it was thrown; the log keeps an `Error`'s message.
 */
export type SupervisorEvent = { [T in SupervisorEventKind]: { type: T; at: number } & EventData<T> }[SupervisorEventKind];

/** The `type` of every supervisor event. */
export type SupervisorEventType = SupervisorEvent['type'];
