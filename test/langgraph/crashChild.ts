/**
 * Child process of the LangGraph crash test: runs the graph of crashGraph.ts on an `LlmStateSaver` until the
 * parent kills it with SIGKILL. It prints what it asks of the saver, and what the saver acknowledged:
 *
 *   call {"op":"put",…} | call {"op":"writes",…}   before the call
 *   ack {"op":"put",…}  | ack {"op":"writes",…}    once its promise resolved
 *   phase <name>                                   at each point it passes
 *
 * Points, in order: `start` (before `invoke`), `input` (the input checkpoint is acknowledged), `some-writes`
 * (the first worker's writes of the first parallel superstep are acknowledged, the other workers still
 * run), `all-writes` (every worker's writes of that superstep, before the next checkpoint), `put` (the
 * checkpoint after it), `half` (the parallel superstep of the middle round is saved), `done` (`invoke`
 * resolved), `idle`.
 *
 * With `pauseAt`, the process blocks its thread on reaching that point, so that the parent's kill lands
 * exactly there.
 *
 * Argument: JSON `{ dataDir, durability, pauseAt? }`: `durability` is LangGraph's (`async`, its default, or `sync`).
 */
import type { RunnableConfig } from '@langchain/core/runnables';
import type { Checkpoint, CheckpointMetadata, PendingWrite } from '@langchain/langgraph-checkpoint';
import { createRuntime } from '../../src/index.js';
import { LlmStateSaver } from '../../src/langgraph/index.js';
import { crashGraph, INPUT, ROUNDS, THREAD, WORKERS } from './crashGraph.js';
import { printNow } from '../fixtures/printNow.js';

const request = JSON.parse(process.argv[2]) as { dataDir: string; durability: 'async' | 'sync'; pauseAt?: string };

function mark(name: string): void {
  printNow(`phase ${name}`);
  if (name === request.pauseAt) {
    // Blocks this thread; the parent kills it. If the parent is gone, give up after a while.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000);
    process.exit(3);
  }
}

const marked = new Set<string>();
function once(name: string): void {
  if (marked.has(name)) return;
  marked.add(name);
  mark(name);
}

const rt = await createRuntime({ dataDir: request.dataDir });
const saver = new LlmStateSaver(rt);
const put = saver.put.bind(saver);
const putWrites = saver.putWrites.bind(saver);
const workerWrites = new Map<string, number>();

saver.put = async (config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata, newVersions) => {
  const line = JSON.stringify({ op: 'put', id: checkpoint.id, parent: config.configurable?.checkpoint_id, step: metadata.step });
  printNow(`call ${line}`);
  const result = await put(config, checkpoint, metadata, newVersions);
  printNow(`ack ${line}`);
  if (metadata.step === -1) once('input');
  if (metadata.step === 2) once('put');
  return result;
};

saver.putWrites = async (config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath?: string) => {
  const checkpointId = config.configurable?.checkpoint_id as string;
  const line = JSON.stringify({ op: 'writes', checkpointId, taskId, writes: writes.map(([channel, value]) => [channel, JSON.stringify(value)]) });
  printNow(`call ${line}`);
  await putWrites(config, writes, taskId, taskPath);
  printNow(`ack ${line}`);
  if (writes.some(([channel]) => channel.startsWith('join:'))) {
    // A worker's writes; their checkpoint's put may not even have been called yet (see docs/langgraph.md), so rounds are counted here.
    const count = (workerWrites.get(checkpointId) ?? 0) + 1;
    workerWrites.set(checkpointId, count);
    const round = [...workerWrites.keys()].indexOf(checkpointId);
    if (round === 0 && count === 1) once('some-writes');
    if (round === 0 && count === WORKERS) once('all-writes');
    if (round === Math.floor(ROUNDS / 2) && count === WORKERS) once('half');
  }
};

mark('start');
await crashGraph(saver).invoke(INPUT, { ...THREAD, durability: request.durability });
mark('done');
// The parent kills the process here at the latest.
mark('idle');
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000);
process.exit(3);
