/**
 * Probe: splits one awaited rt.state.set (P1's loop) into its phases, by wrapping the scheduler's
 * `enqueue`, the actor's `takeGroup` and the store's `commitNext` (and the batch builder it is given):
 *
 *   set called → actor enqueued at the scheduler   (argument checks, validation, JSON, mailbox)
 *   → group taken at the flush                      (the nextTick deferral)
 *   → batch built                                   (encoding: keys, envelopes, CRC, the event record)
 *   → commit resolved                               (LevelDB: the native call and its thread)
 *   → caller resumes                                (cache update, promise settling)
 *
 * Usage: node --import tsx bench/probes/p1Phases.ts [count]
 */
import { Scope, withRuntime } from '../common.js';
import { commitSchedulerModule, runtimeInternals, scopeActorModule } from '../subject.js';
import { fmtNs, now, sampleValue, summarize, withTempDir } from '../harness.js';

const N = Number(process.argv[2] ?? 20000);
const scope = Scope.agent('a1');
const value = sampleValue(1);
let enqueued = 0n;
let taken = 0n;
let batchCalled = 0n;
let batchDone = 0n;

const scheduler = commitSchedulerModule.CommitScheduler.prototype;
const enqueue = scheduler.enqueue;
scheduler.enqueue = function (participant) {
  enqueued = now();
  return enqueue.call(this, participant);
};
const actor = scopeActorModule.ScopeActor.prototype;
const takeGroup = actor.takeGroup;
actor.takeGroup = function (maxOps, maxBytes) {
  taken = now();
  return takeGroup.call(this, maxOps, maxBytes);
};

await withTempDir('phases', (dir) =>
  withRuntime(dir, async (rt) => {
    const storage = runtimeInternals.storageOf(rt);
    const commitNext = storage.commitNext.bind(storage);
    storage.commitNext = (after, build, options) =>
      commitNext(
        after,
        (seq) => {
          const ops = build(seq);
          batchCalled = now();
          return ops;
        },
        options,
      ).then((seq) => {
        batchDone = now();
        return seq;
      });
    const phases = ['set → enqueued', 'enqueued → group taken', 'taken → batch built', 'built → commit resolved', 'resolved → caller resumes', 'total'];
    for (let rep = 0; rep < 3; rep++) {
      const samples = phases.map(() => new Float64Array(N));
      for (let i = 0; i < 3000; i++) await rt.state.set(scope, 'topic', value);
      for (let i = 0; i < N; i++) {
        const start = now();
        await rt.state.set(scope, 'topic', value);
        const end = now();
        const marks = [start, enqueued, taken, batchCalled, batchDone, end];
        for (let phase = 0; phase < 5; phase++) samples[phase][i] = Number(marks[phase + 1] - marks[phase]);
        samples[5][i] = Number(end - start);
      }
      for (const [index, name] of phases.entries()) {
        const summary = summarize(samples[index]);
        console.log(name.padEnd(28), 'p50', fmtNs(summary.p50).padStart(9), 'mean', fmtNs(summary.mean).padStart(9), 'p99', fmtNs(summary.p99).padStart(9));
      }
      console.log();
    }
  }),
);
