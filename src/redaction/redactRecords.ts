/**
 * Where a hook's `redact` paths apply in each record that holds its events, and what an error shows.
 * Each function is {@link redact} with the paths placed; none has rules of its own.
 *
 * A hook's paths name fields of one event (`value.card`). They apply to each event it received, to each
 * action it returned (an action is the event it will cause), and to its whole result.
 */
import { mightNeedRedaction } from './prefilter.js';
import { redact } from './redact.js';
import { pathsUnder } from './redactPaths.js';

/**
 * {@link redact} for a view: the value itself when nothing in it can need redacting, as the worker does
 * for what it records, so a view costs a scan and keeps a deep value whole.
 */
export function redactView<T>(value: T, paths: readonly string[] = []): T {
  if (paths.length === 0 && !mightNeedRedaction(JSON.stringify(value) ?? '')) return value;
  return redact(value, paths) as T;
}

/** A hook's result (`{ actions?, output? }`) as history records it. */
export function resultPaths(paths: readonly string[]): string[] {
  return [...paths, ...pathsUnder('actions[*]', paths)];
}

/**
 * A recorded execution as history, replays and timelines show it: input, result, error message and
 * correlation ids. History records inputs and results already redacted; this covers correlation ids,
 * which the record keeps as they are so that it can be found by them, and records made under older rules.
 */
export function redactExecution<T extends object>(execution: T, paths: readonly string[]): T {
  return redactView(execution, [...pathsUnder('input[*]', paths), ...pathsUnder('result', resultPaths(paths))]);
}

/** A dead letter as its views show it; the stored letter keeps its events as they are, for redelivery. */
export function redactDeadLetter<T extends object>(letter: T, paths: readonly string[] = []): T {
  return redactView(letter, pathsUnder('events[*]', paths));
}

/**
 * An error whose message and stack are redacted: the same error when nothing in them needs it, else a
 * copy of the same class name, to carry as the `cause` of an error that is shown.
 */
export function redactError(error: unknown): unknown {
  if (!(error instanceof Error)) return typeof error === 'string' ? redact(error) : error;
  const message = redact(error.message) as string;
  const stack = error.stack === undefined ? undefined : (redact(error.stack) as string);
  if (message === error.message && stack === error.stack) return error;
  const copy = new Error(message);
  copy.name = error.name;
  if (stack === undefined) delete copy.stack;
  else copy.stack = stack;
  return copy;
}
