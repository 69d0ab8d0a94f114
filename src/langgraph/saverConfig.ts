import type { RunnableConfig } from '@langchain/core/runnables';
import { getCheckpointId } from '@langchain/langgraph-checkpoint';
import { describeOption } from '../checkOptions.js';

/** What a LangGraph config says about where a checkpoint is. */
export interface CheckpointPlace {
  readonly threadId: string;
  /** `''` for the root graph. */
  readonly ns: string;
  /** Absent for "the latest". */
  readonly checkpointId: string | undefined;
}

/**
 * The place `config` names, or undefined when it names no thread.
 *
 * @throws {TypeError} when a field is there but not a string.
 */
export function placeOf(config: RunnableConfig): CheckpointPlace | undefined {
  const configurable = config?.configurable;
  const threadId = configurable?.thread_id;
  if (threadId === undefined) return undefined;
  checkString(threadId, 'thread_id');
  const ns = configurable?.checkpoint_ns ?? '';
  checkString(ns, 'checkpoint_ns');
  const checkpointId = getCheckpointId(config);
  checkString(checkpointId, 'checkpoint_id');
  return { threadId, ns, checkpointId: checkpointId === '' ? undefined : checkpointId };
}

/**
 * The place `config` names, which must name a thread.
 *
 * @throws {TypeError} naming `what` when there is no thread id.
 */
export function requiredPlaceOf(config: RunnableConfig, what: string): CheckpointPlace {
  const place = placeOf(config);
  if (place === undefined) {
    throw new TypeError(
      `${what} needs \`config.configurable.thread_id\`, the thread to store it in, got ${describeOption(config?.configurable?.thread_id)}: pass { configurable: { thread_id } }`,
    );
  }
  return place;
}

/** The namespace a list call is confined to, or undefined for every namespace. */
export function listedNamespaceOf(config: RunnableConfig): string | undefined {
  const ns = config?.configurable?.checkpoint_ns;
  if (ns !== undefined) checkString(ns, 'checkpoint_ns');
  return ns;
}

export function checkString(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string') {
    throw new TypeError(`Expected \`config.configurable.${field}\` to be a string, got ${describeOption(value)}`);
  }
}
