import type { Timers } from '../timers.js';
import { checkedOutcome, TaskFailure, timeoutMessage, type HookRunner } from '../../workers/HookPool.js';
import runHookTask from '../../workers/hookWorker.js';
import type { RejectedOutcome, RunOutcome, RunTask } from '../../workers/protocol.js';

/** What the simulated hook runner needs from its simulation. */
export interface HookSimulationPort {
  /** A point where the scheduler may let anything else run first; the label goes in the trace. */
  point(label: string): Promise<void>;
  /** A trace line for something that happened at the current step. */
  note(line: string): void;
  /** The number of the next hook run, counted across the run's restarts. */
  nextRun(): number;
  /** Whether the worker of the n-th hook run of the simulation (from 1) dies. */
  workerCrashes(run: number): boolean;
  /** Loading a module is real I/O: time stands still until it is done. */
  loading<T>(load: Promise<T>): Promise<T>;
  /** Time limits run on these: the simulation's virtual timers. */
  timers: Timers;
}

/**
 * Runs hooks in the main thread, under the simulator: the same task, the same code (the worker's own
 * entry), the same checks of results and the same failures as the worker pool, but each run starts and
 * each result arrives at a point the scheduler chooses, and time limits run on virtual time.
 *
 * What differs from worker threads: a hook shares the main thread, so one that never yields (a busy
 * loop) stalls the simulation instead of being stopped at its time limit; `resourceLimits` do not
 * apply; and a module's top-level state is shared by every run of the process rather than per worker.
 */
export class SimulatedHookRunner implements HookRunner {
  readonly #port: HookSimulationPort;

  constructor(port: HookSimulationPort) {
    this.#port = port;
  }

  async run(task: RunTask, timeoutMs: number): Promise<RunOutcome> {
    const port = this.#port;
    const run = port.nextRun();
    const name = task.context.hookName;
    const events = task.batches.reduce((count, batch) => count + (batch.from?.indexes.length ?? countEvents(batch.eventsJson)), 0);
    await port.point(`hook ${name}: run ${run} starts on ${events} event${events === 1 ? '' : 's'}`);
    if (port.workerCrashes(run)) {
      port.note(`fault: the worker of hook ${name} run ${run} dies`);
      throw new TaskFailure('crash', `The worker running ${name} died: injected fault (hook run ${run})`);
    }
    let outcome: RunOutcome;
    try {
      outcome = checkedOutcome(await withTimeLimit(runHookTask(task) as Promise<RunOutcome | RejectedOutcome>, port.timers, timeoutMs, name));
    } catch (error) {
      await port.point(`hook ${name}: run ${run} ✗ ${error instanceof TaskFailure ? error.reason : 'error'}`);
      throw error instanceof TaskFailure ? error : new TaskFailure('error', error instanceof Error ? error.message : String(error), { cause: error });
    }
    await port.point(`hook ${name}: run ${run} ok${outcome.actions.length === 0 ? '' : `, ${outcome.actions.length} action${outcome.actions.length === 1 ? '' : 's'}`}`);
    return outcome;
  }

  async probe(module: string): Promise<void> {
    try {
      await this.#port.loading(runHookTask({ kind: 'probe', module }));
    } catch (error) {
      throw new TaskFailure('error', error instanceof Error ? error.message : String(error), { cause: error });
    }
  }

  async close(): Promise<void> {}
}

/** Settles as `work` does, or fails with the pool's timeout once `timeoutMs` of virtual time pass. */
function withTimeLimit<T>(work: Promise<T>, timers: Timers, timeoutMs: number, hookName: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = timers.setTimeout(() => reject(new TaskFailure('timeout', timeoutMessage(hookName, timeoutMs))), timeoutMs);
    work.then(
      (value) => {
        timers.clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        timers.clearTimeout(timer);
        reject(error);
      },
    );
  });
}

function countEvents(eventsJson: string): number {
  return (JSON.parse(eventsJson) as unknown[]).length;
}
