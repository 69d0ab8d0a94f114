/**
 * A LangGraph run on `LlmStateSaver` killed with SIGKILL (issue 16, "Crash test"): a child runs a graph
 * whose supersteps hold several parallel tasks and is killed at named points (after some of a superstep's
 * writes, after all of them, after a checkpoint) and then at random moments. The parent reopens the store
 * and checks that the latest checkpoint is one the child had acknowledged or a later one, that every
 * acknowledged pending write is there exactly once, that the resumed run starts from the last committed
 * checkpoint without running again a task whose writes were saved, and reaches the same final state as a
 * run that was never killed, and that the store verifies.
 *
 *   LLMSTATE_CRASH_ROUNDS=20 LLMSTATE_CRASH_SEED=7 npx mocha … test/langgraph/crash.test.ts
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { MemorySaver } from '@langchain/langgraph';
import type { CheckpointTuple } from '@langchain/langgraph-checkpoint';
import { createRuntime, verifyStore, type Runtime } from '../../src/index.js';
import { LlmStateSaver } from '../../src/langgraph/index.js';
import { seededRandom } from '../../src/seededRandom.js';
import { killPlans, runAndKill, type ChildRun, type KillPlan } from '../backup/crashChild.js';
import { tempDir } from '../helpers.js';
import { crashGraph, INPUT, THREAD, type RunValues } from './crashGraph.js';

const SEED = Number(process.env.LLMSTATE_CRASH_SEED ?? 1616);
const RANDOM_ROUNDS = Number(process.env.LLMSTATE_CRASH_ROUNDS ?? 4);
const CHILD = fileURLToPath(new URL('crashChild.ts', import.meta.url));
const POINTS = ['start', 'input', 'some-writes', 'all-writes', 'put', 'half', 'done'];

interface PutCall {
  op: 'put';
  id: string;
  parent?: string;
  step: number;
}

interface WritesCall {
  op: 'writes';
  checkpointId: string;
  taskId: string;
  /** Channel and the value as JSON, in the order given. */
  writes: Array<[string, string]>;
}

type Call = PutCall | WritesCall;

/** LangGraph's `durability`: `async` (its default) may save a task's writes before their checkpoint's put is even called. */
type Durability = 'async' | 'sync';

interface SaverRun extends ChildRun {
  calls: Call[];
  acked: Call[];
}

/** Runs the child until the kill plan fires (at `idle` in any case), SIGKILLs it, and resolves once it is dead. */
async function runSaverChild(dataDir: string, durability: Durability, plan: KillPlan, pauseAt: string | undefined): Promise<SaverRun> {
  const request = { dataDir, durability, ...(pauseAt === undefined ? {} : { pauseAt }) };
  const calls: Call[] = [];
  const acked: Call[] = [];
  const run = await runAndKill(request, plan, CHILD, (kind, rest) => {
    if (kind === 'call') calls.push(JSON.parse(rest) as Call);
    else if (kind === 'ack') acked.push(JSON.parse(rest) as Call);
    else return false;
    return true;
  });
  return { ...run, calls, acked };
}

const checkpointConfig = (id: string) => ({ configurable: { ...THREAD.configurable, checkpoint_ns: '', checkpoint_id: id } });

/** A task's stored writes as [channel, JSON] pairs, in stored order. */
function writesOf(tuple: CheckpointTuple | undefined, taskId: string): Array<[string, string]> {
  return (tuple?.pendingWrites ?? []).filter(([task]) => task === taskId).map(([, channel, value]) => [channel, JSON.stringify(value)]);
}

/** Checks what the store holds against what the child asked and what it was told; returns the latest checkpoint. */
async function checkStored(saver: LlmStateSaver, run: SaverRun, durability: Durability, label: string): Promise<CheckpointTuple | undefined> {
  const puts = run.calls.filter((call): call is PutCall => call.op === 'put');
  const ackedPuts = run.acked.filter((call): call is PutCall => call.op === 'put');
  const latest = await saver.getTuple(THREAD);
  const stored = [];
  for await (const tuple of saver.list(THREAD)) stored.push(tuple.checkpoint.id);

  assert.ok(stored.every((id) => puts.some((put) => put.id === id)), `killed ${label}: a stored checkpoint the child never put`);
  for (const put of ackedPuts) assert.ok(stored.includes(put.id), `killed ${label}: acknowledged checkpoint ${put.id} (step ${put.step}) is lost`);
  // Each checkpoint commits after its parent (the thread's actor takes them in order), so what is stored is a prefix of what was put.
  assert.deepEqual([...stored].reverse(), puts.slice(0, stored.length).map((put) => put.id), `killed ${label}: the stored checkpoints are not a prefix of those put`);
  const lastAcked = ackedPuts.at(-1);
  if (lastAcked === undefined) return latest;
  assert.ok(latest !== undefined && latest.checkpoint.id >= lastAcked.id, `killed ${label}: the latest checkpoint is older than the last acknowledged one`);

  const tuples = new Map<string, CheckpointTuple | undefined>();
  const tupleOf = async (id: string) => {
    if (!tuples.has(id)) tuples.set(id, await saver.getTuple(checkpointConfig(id)));
    return tuples.get(id);
  };
  const acked = run.acked.filter((call): call is WritesCall => call.op === 'writes');
  for (const call of run.calls.filter((c): c is WritesCall => c.op === 'writes')) {
    const tuple = await tupleOf(call.checkpointId);
    const found = writesOf(tuple, call.taskId);
    const wasAcked = acked.some((ack) => ack.checkpointId === call.checkpointId && ack.taskId === call.taskId);
    if (tuple === undefined) {
      // Writes to a checkpoint that was never stored: only `async` durability calls putWrites before the put has resolved.
      assert.ok(!(wasAcked && durability === 'sync'), `killed ${label}: writes of task ${call.taskId} acknowledged on ${call.checkpointId}, which is lost`);
      continue;
    }
    // A task's writes are one batch: all of them, once each, or (if never acknowledged) none.
    if (wasAcked) assert.deepEqual(found, call.writes, `killed ${label}: acknowledged writes of task ${call.taskId} on ${call.checkpointId}`);
    else assert.ok(found.length === 0 || JSON.stringify(found) === JSON.stringify(call.writes), `killed ${label}: writes of task ${call.taskId} are half there: ${JSON.stringify(found)}`);
  }
  for (const tuple of tuples.values()) {
    const taskIds = new Set((tuple?.pendingWrites ?? []).map(([task]) => task));
    for (const taskId of taskIds) {
      const calls = run.calls.filter((c) => c.op === 'writes' && c.checkpointId === tuple!.checkpoint.id && c.taskId === taskId);
      assert.equal(calls.length, 1, `killed ${label}: stored writes of task ${taskId} that the child made ${calls.length} times`);
    }
  }
  return latest;
}

describe('crash: a LangGraph run killed with SIGKILL', function () {
  this.timeout(600_000);
  let reference: RunValues;

  before(async () => {
    reference = await crashGraph(new MemorySaver()).invoke(INPUT, THREAD);
  });

  it('keeps every acknowledged checkpoint and pending write once, and resumes to the final state of a run never killed', async () => {
    const started = performance.now();
    const random = seededRandom(SEED);
    let calibration: ChildRun['timeline'] = [];
    const landed = new Map<string, number>();
    let random_ = 0;
    for (const { plan, pauseAt, label: where } of killPlans(POINTS, () => calibration, random, { rounds: RANDOM_ROUNDS, seed: SEED })) {
      // The named points run with LangGraph's default durability; the random kills alternate it with `sync`.
      const durability: Durability = pauseAt === undefined && random_++ % 2 === 1 ? 'sync' : 'async';
      const label = `${where}, durability ${durability}`;
      const { dir, cleanup } = tempDir('lg-crash-round');
      try {
        const run = await runSaverChild(dir, durability, plan, pauseAt);
        if (pauseAt === 'done') calibration = run.timeline;
        if (pauseAt !== undefined) assert.equal(run.landed, pauseAt, `the child did not reach ${pauseAt}`);
        landed.set(run.landed, (landed.get(run.landed) ?? 0) + 1);
        assert.deepEqual((await verifyStore({ dataDir: dir })).problems, [], `killed ${label}: verify found problems after the kill`);

        const rt = await createRuntime({ dataDir: dir });
        try {
          const saver = new LlmStateSaver(rt);
          const latest = await checkStored(saver, run, durability, label);
          await checkResume(saver, latest, label);
          await checkEvents(rt, saver, label);
        } finally {
          await rt.close();
        }
        const report = await verifyStore({ dataDir: dir });
        assert.deepEqual(report.problems, [], `killed ${label}: verify found problems after the resumed run`);
        assert.equal(report.ok, true);
      } finally {
        cleanup();
      }
    }
    const timeline = calibration.map(([point, ms]) => `${point} ${Math.round(ms)} ms`).join(', ');
    const kills = [...landed].map(([point, count]) => `${point} ${count}`).join(', ');
    console.log(`      graph run (${timeline}); kills by last point: ${kills}; ${((performance.now() - started) / 1000).toFixed(1)} s`);
  });

  /**
   * Resumes from the latest checkpoint (or starts again when none was saved): the first checkpoint of the
   * resumed run has the latest as its parent, a task whose writes were saved does not run again, and the
   * final state is the one a run never killed reaches.
   */
  async function checkResume(saver: LlmStateSaver, latest: CheckpointTuple | undefined, label: string): Promise<void> {
    const ran: string[] = [];
    const firstParents: Array<string | undefined> = [];
    const put = saver.put.bind(saver);
    saver.put = (config, checkpoint, metadata, newVersions) => {
      firstParents.push(config.configurable?.checkpoint_id as string | undefined);
      return put(config, checkpoint, metadata, newVersions);
    };
    const graph = crashGraph(saver, (node, round) => ran.push(`${node} ${round}`));
    if (latest === undefined) {
      await graph.invoke(INPUT, THREAD);
    } else {
      const before = await graph.getState(THREAD);
      const saved = new Set((latest.pendingWrites ?? []).map(([taskId]) => taskId));
      // The round the tasks worked on: the checkpoint's own, before its pending writes (a saved `join` has moved the state's on).
      const round = (latest.checkpoint.channel_values as Partial<RunValues>).round ?? 0;
      const done = before.tasks.filter((task) => saved.has(task.id)).map((task) => `${task.name} ${round}`);
      // `next` leaves out tasks whose writes are saved: a checkpoint with tasks is not finished, even when `next` is empty.
      if (before.tasks.length > 0) await graph.invoke(null, THREAD);
      for (const task of done) assert.ok(!ran.includes(task), `killed ${label}: ${task} ran again though its writes were saved`);
      if (firstParents.length > 0) assert.equal(firstParents[0], latest.checkpoint.id, `killed ${label}: the resumed run did not start from the latest checkpoint`);
    }
    const final = await graph.getState(THREAD);
    assert.deepEqual(final.tasks, [], `killed ${label}: the resumed run did not finish`);
    assert.deepEqual(final.values, reference, `killed ${label}: the resumed run ends elsewhere than a run never killed`);
  }

  /** One event for each stored checkpoint and for each task's stored writes: records and their events commit together. */
  async function checkEvents(rt: Runtime, saver: LlmStateSaver, label: string): Promise<void> {
    const tuples: CheckpointTuple[] = [];
    for await (const tuple of saver.list(THREAD)) tuples.push(tuple);
    const events = await rt.events.query({ kinds: ['langgraph.checkpoint', 'langgraph.writes'], limit: 100_000 });
    const dataOf = (event: (typeof events)[number]) => event.data as { checkpointId: string; taskId?: string; stored?: number };
    const logged = events.filter((event) => event.kind === 'langgraph.checkpoint').map((event) => dataOf(event).checkpointId);
    assert.deepEqual(logged.sort(), tuples.map((tuple) => tuple.checkpoint.id).sort(), `killed ${label}: checkpoint events and stored checkpoints differ`);
    for (const tuple of tuples) {
      for (const taskId of new Set((tuple.pendingWrites ?? []).map(([task]) => task))) {
        const writes = events.filter((event) => {
          const data = dataOf(event);
          return event.kind === 'langgraph.writes' && data.checkpointId === tuple.checkpoint.id && data.taskId === taskId && data.stored! > 0;
        });
        assert.equal(writes.length, 1, `killed ${label}: ${writes.length} events stored the writes of task ${taskId}`);
      }
    }
  }
});
