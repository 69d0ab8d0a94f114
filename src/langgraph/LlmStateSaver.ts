import type { RunnableConfig } from '@langchain/core/runnables';
import {
  BaseCheckpointSaver,
  getCheckpointId,
  WRITES_IDX_MAP,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointTuple,
  type PendingWrite,
  type SerializerProtocol,
} from '@langchain/langgraph-checkpoint';
import { checkOptionsArgument, describeOption } from '../checkOptions.js';
import type { Runtime, Scope } from '../index.js';
import { listCheckpoints } from './listCheckpoints.js';
import { configOf, loadTuple, type TupleReader } from './loadTuple.js';
import { nextVersion } from './nextVersion.js';
import { dumpPayload } from './payloads.js';
import { checkString, listedNamespaceOf, placeOf, requiredPlaceOf } from './saverConfig.js';
import { blobKey, checkpointKey, checkpointRange, writeKey } from './saverKeys.js';
import type { BlobRecord, CheckpointRecord, WriteRecord } from './saverRecords.js';
import { threadScope } from './scopeNames.js';

/** What the saver uses of a runtime: `createRuntime(…)` or a principal's view, `rt.as('agent:ada')`. */
export type SaverRuntime = Pick<Runtime, 'state'>;

export interface LlmStateSaverOptions {
  /** How checkpoints, metadata and channel values become bytes. @default LangGraph's `JsonPlusSerializer` */
  serde?: SerializerProtocol;
}

/**
 * A LangGraph checkpointer on llmstate. Each thread is one scope (`custom:langgraph:thread:<id>`), so it
 * has one actor and one writer; `put` commits a checkpoint with the channel values it changed in one batch,
 * and every put, write and thread deletion is logged as a `langgraph.*` event of the thread's scope.
 *
 * Values go through the runtime's checks: a checkpoint, channel value or write larger than `maxValueBytes`
 * as JSON rejects with VALUE_TOO_LARGE, and nothing of it is stored. Errors of the runtime (ACCESS_DENIED
 * for a view without a grant on the thread, RUNTIME_CLOSED, DATA_CORRUPT …) reject unchanged.
 *
 * @example
 * const rt = await createRuntime({ dataDir: './.llmstate' });
 * const graph = builder.compile({ checkpointer: new LlmStateSaver(rt) });
 * await graph.invoke(input, { configurable: { thread_id: 't1' } });
 */
export class LlmStateSaver extends BaseCheckpointSaver {
  readonly #rt: SaverRuntime;
  /** Per thread, settles once the latest call has queued its unit (see {@link #inCallOrder}). */
  readonly #queued = new Map<string, Promise<void>>();

  /**
   * @param rt The runtime, or a view of it for one principal: the saver then reads and writes only the
   *   threads that principal may.
   * @throws {TypeError} when `rt` is not a runtime or `serde` is not a serializer.
   */
  constructor(rt: SaverRuntime, options?: LlmStateSaverOptions) {
    checkRuntime(rt);
    checkOptionsArgument(options);
    const serde = options?.serde;
    if (serde !== undefined && (typeof serde?.dumpsTyped !== 'function' || typeof serde?.loadsTyped !== 'function')) {
      throw new TypeError(`Expected \`serde\` to be a serializer with dumpsTyped and loadsTyped, got ${describeOption(serde)}`);
    }
    super(serde);
    this.#rt = rt;
  }

  /** The checkpoint `config` names, or the latest of its thread and namespace; undefined when there is none. */
  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const place = placeOf(config);
    if (place === undefined) return undefined;
    const scope = threadScope(place.threadId);
    const { state } = this.#rt;
    let record: CheckpointRecord | undefined;
    if (place.checkpointId !== undefined) {
      record = (await state.get(scope, checkpointKey(place.ns, place.checkpointId))) as CheckpointRecord | undefined;
    } else {
      const [latest] = await state.entries(scope, { ...checkpointRange(place.ns), reverse: true, limit: 1 });
      record = latest?.[1] as CheckpointRecord | undefined;
    }
    return record === undefined ? undefined : loadTuple(this.#reader(), scope, record);
  }

  /**
   * Checkpoints newest first. Without a `thread_id` in `config`, those of every thread (that the view's
   * principal may list); without a `checkpoint_ns`, those of every namespace.
   *
   * @throws {TypeError} for a malformed `limit`, `filter` or `before`.
   */
  async *list(config: RunnableConfig, options?: CheckpointListOptions): AsyncGenerator<CheckpointTuple> {
    checkOptionsArgument(options);
    const { limit, filter, before } = options ?? {};
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 0)) {
      throw new TypeError(`Expected \`limit\` to be a non-negative integer, got ${describeOption(limit)}`);
    }
    if (filter !== undefined) checkOptionsArgument(filter, 'filter');
    const beforeId = before === undefined ? undefined : getCheckpointId(before) || undefined;
    if (beforeId !== undefined && typeof beforeId !== 'string') {
      throw new TypeError(`Expected \`before.configurable.checkpoint_id\` to be a string, got ${describeOption(beforeId)}`);
    }
    const threadId = config?.configurable?.thread_id;
    if (threadId !== undefined) checkString(threadId, 'thread_id');
    // As in MemorySaver and the SQL savers, a checkpoint id narrows the list with or without a thread.
    const checkpointId = config === undefined ? undefined : getCheckpointId(config) || undefined;
    if (checkpointId !== undefined) checkString(checkpointId, 'checkpoint_id');
    yield* listCheckpoints(this.#reader(), { threadId, ns: listedNamespaceOf(config), checkpointId, before: beforeId, filter, limit });
  }

  /**
   * Stores a checkpoint and the values of the channels in `newVersions` (the others are already stored at
   * their versions), with a `langgraph.checkpoint` event, in one batch.
   *
   * @returns The config of the stored checkpoint.
   * @throws {TypeError} when `config` names no thread.
   * @throws {VALUE_TOO_LARGE} when the checkpoint or a channel value is larger than `maxValueBytes`.
   */
  async put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata, newVersions: ChannelVersions): Promise<RunnableConfig> {
    const { threadId, ns, checkpointId: parentId } = requiredPlaceOf(config, 'put');
    if (typeof checkpoint?.id !== 'string') throw new TypeError(`Expected \`checkpoint.id\` to be a string, got ${describeOption(checkpoint?.id)}`);
    const { channel_values: values = {}, ...rest } = checkpoint;
    const channels = Object.keys(newVersions ?? {}).filter((channel) => Object.hasOwn(values, channel));
    const { serde } = this;
    const scope = threadScope(threadId);
    const payloads = () => Promise.all([dumpPayload(serde, rest), dumpPayload(serde, metadata), ...channels.map((channel) => dumpPayload(serde, values[channel]))]);
    await this.#inCallOrder(scope, payloads, ([stored, storedMetadata, ...blobs]) => {
      const record: CheckpointRecord = { threadId, ns, id: checkpoint.id, ...(parentId !== undefined && { parentId }), checkpoint: stored!, metadata: storedMetadata! };
      const blobWrites = channels.map((channel, i) => {
        const version = newVersions[channel]!;
        const blob: BlobRecord = { channel, version, ...blobs[i]! };
        return { key: blobKey(ns, channel, version), value: blob };
      });
      // A number version can come round again: a thread copied from a saver that counts 1, 2, 3 … and then
      // forked from an older checkpoint counts up from there. The value first stored at a version is kept,
      // so the original branch never changes under its checkpoints (string versions never repeat).
      const counted = blobWrites.filter(({ value }) => typeof value.version === 'number').map(({ key }) => key);
      const { step, source } = (metadata ?? {}) as Partial<Record<string, unknown>>;
      return this.#rt.state.commitUnit(scope, {
        reads: counted,
        build: (current) => {
          const kept = blobWrites.filter(({ key }) => current.get(key) === undefined);
          const data = {
            threadId,
            checkpointNs: ns,
            checkpointId: checkpoint.id,
            ...(parentId !== undefined && { parentCheckpointId: parentId }),
            ...(typeof step === 'number' && { step }),
            ...(typeof source === 'string' && { source }),
            channels: kept.map(({ value }) => value.channel),
          };
          const events = [{ kind: 'langgraph.checkpoint' as const, scope: scope.toString(), data }];
          return { writes: [{ key: checkpointKey(ns, checkpoint.id), value: record }, ...kept], events };
        },
      });
    });
    return configOf(threadId, ns, checkpoint.id);
  }

  /**
   * Stores a task's writes against a checkpoint, with a `langgraph.writes` event, in one batch. A write to
   * a special channel (`__error__`, `__interrupt__` … of WRITES_IDX_MAP) replaces the task's last one; an
   * ordinary write is kept only if the task has not stored one at that index already, so a task retried
   * after a crash does not store its writes twice.
   *
   * @throws {TypeError} when `config` names no thread or no checkpoint.
   */
  async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath?: string): Promise<void> {
    const { threadId, ns, checkpointId } = requiredPlaceOf(config, 'putWrites');
    if (checkpointId === undefined) {
      throw new TypeError(
        `putWrites needs \`config.configurable.checkpoint_id\`, the checkpoint the writes belong to, got ${describeOption(config.configurable?.checkpoint_id)}`,
      );
    }
    if (typeof taskId !== 'string') throw new TypeError(`Expected \`taskId\` to be a string, got ${describeOption(taskId)}`);
    if (taskPath !== undefined && typeof taskPath !== 'string') throw new TypeError(`Expected \`taskPath\` to be a string, got ${describeOption(taskPath)}`);
    if (!Array.isArray(writes)) throw new TypeError(`Expected \`writes\` to be an array of [channel, value] pairs, got ${describeOption(writes)}`);
    if (writes.length === 0) return;
    const { serde } = this;
    const scope = threadScope(threadId);
    const dumped = () => Promise.all(writes.map(([, value]) => dumpPayload(serde, value)));
    await this.#inCallOrder(scope, dumped, (payloads) => {
      const byKey = new Map<string, WriteRecord>();
      writes.forEach(([channel], i) => {
        const index = Object.hasOwn(WRITES_IDX_MAP, channel) ? WRITES_IDX_MAP[channel]! : i;
        byKey.set(writeKey(ns, checkpointId, taskId, index), { taskId, taskPath: taskPath ?? '', channel, index, ...payloads[i]! });
      });
      const ordinary = [...byKey].filter(([, record]) => record.index >= 0).map(([key]) => key);
      return this.#rt.state.commitUnit(scope, {
        reads: ordinary,
        build: (current) => {
          const stored: Array<{ key: string; value: unknown }> = [];
          const channels = new Set<string>();
          for (const [key, record] of byKey) {
            if (record.index >= 0 && current.get(key) !== undefined) continue;
            stored.push({ key, value: record });
            channels.add(record.channel);
          }
          const data = {
            threadId,
            checkpointNs: ns,
            checkpointId,
            taskId,
            ...(taskPath !== undefined && { taskPath }),
            channels: [...channels],
            stored: stored.length,
          };
          return { writes: stored, events: [{ kind: 'langgraph.writes' as const, scope: scope.toString(), data }] };
        },
      });
    });
  }

  /** Removes every checkpoint, value and write of a thread in one batch, with a `langgraph.thread_deleted` event. */
  async deleteThread(threadId: string): Promise<void> {
    if (typeof threadId !== 'string') throw new TypeError(`Expected \`threadId\` to be a string, got ${describeOption(threadId)}`);
    const scope = threadScope(threadId);
    await this.#rt.state.commitUnit(scope, {
      build: () => ({
        clearScope: (cleared) => [{ kind: 'langgraph.thread_deleted' as const, scope: scope.toString(), data: { threadId, cleared } }],
      }),
    });
  }

  /**
   * Versions that stay unique across forks of a thread: the step, zero-padded, and a random suffix. LangGraph's types say
   * number, but it compares versions with `>` and accepts strings, as its Python savers use.
   */
  override getNextVersion(current: number | undefined): number {
    return nextVersion(current) as number;
  }

  /**
   * Commits a thread's puts and writes in the order they were called. Each call serialises its payloads
   * first (`prepare`, which may await a serializer), so without this a `putWrites` called just after a
   * `put` could queue its unit first. Preparing still overlaps; only the queueing waits its turn.
   */
  async #inCallOrder<T>(scope: Scope, prepare: () => Promise<T>, commit: (prepared: T) => Promise<unknown>): Promise<void> {
    const thread = scope.toString();
    const before = this.#queued.get(thread);
    let markQueued!: () => void;
    const queued = new Promise<void>((resolve) => (markQueued = resolve));
    this.#queued.set(thread, queued);
    let committed: Promise<unknown>;
    try {
      const prepared = await prepare();
      await before;
      // commitUnit puts the unit in the thread actor's mailbox before it returns.
      committed = commit(prepared);
    } finally {
      markQueued();
      if (this.#queued.get(thread) === queued) this.#queued.delete(thread);
    }
    await committed;
  }

  #reader(): TupleReader {
    return { state: this.#rt.state, serde: this.serde, getNextVersion: (current) => this.getNextVersion(current) };
  }
}

function checkRuntime(rt: unknown): asserts rt is SaverRuntime {
  const state = (rt as SaverRuntime | undefined)?.state as unknown as Record<string, unknown> | undefined;
  if (typeof state?.commitUnit !== 'function' || typeof state?.entries !== 'function') {
    throw new TypeError(`Expected \`rt\` to be a runtime (from createRuntime) or a view of one (rt.as(principal)), got ${describeOption(rt)}`);
  }
}
