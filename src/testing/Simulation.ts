import { AsyncLocalStorage } from 'node:async_hooks';
import type { Scheduler } from 'fast-check';
import { createRuntime, storageOf, type Runtime } from '../runtime.js';
import type { RuntimeOptions } from '../runtimeOptions.js';
import { decodeStateKey } from '../state/keyCodec.js';
import type { BatchOp } from '../storage/index.js';
import type { HistoryEntry } from './history.js';
import { SimulatedState } from './SimulatedState.js';
import { VirtualTime } from './VirtualTime.js';

/** Which faults a run injects: for each kind, whether its n-th opportunity (from 1) fails. */
export interface FaultPlan {
  storageFails(batch: number): boolean;
}

export const NO_FAULTS: FaultPlan = { storageFails: () => false };

export interface SimulationSetup {
  scheduler: Scheduler;
  faults: FaultPlan;
  /** Virtual milliseconds after which a body that has not settled fails. */
  timeLimitMs: number;
  /** Options for the runtime under test, beside the simulation's own (memory store, virtual time). */
  runtime: Omit<RuntimeOptions, 'dataDir' | 'memory' | 'clock' | 'timers'>;
}

/** Thrown by `sim.check`: a property of the body does not hold. */
export class SimulationCheckFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimulationCheckFailed';
  }
}

/** The `rt` a body sees: the runtime itself, whose `state` records and schedules every call. */
export type SimulatedRuntime = Omit<Runtime, 'state'> & { readonly state: SimulatedState };

interface Task {
  readonly name: string;
  /** The calls it is waiting on, for the message of a run that never settles. */
  readonly waiting: Set<string>;
}

const MAIN = 'main';

/**
 * The task each call is made from. One for all simulations: Node keeps every AsyncLocalStorage that
 * was ever used in a list that each new promise walks, so one per run would slow every later run.
 */
const currentTask = new AsyncLocalStorage<Task>();

/**
 * One run of a body under the simulator: a real runtime on memory storage and virtual time, whose
 * store completions and `rt.state` calls are released in the order a fast-check scheduler chooses, with
 * faults injected where the run's fault plan says.
 */
export class Simulation {
  readonly #setup: SimulationSetup;
  readonly #time = new VirtualTime();
  readonly #taskList: Task[] = [];
  readonly #history: HistoryEntry[] = [];
  readonly #trace: string[] = [];
  /** Errors thrown by spawned tasks, whether or not anything awaited them. */
  readonly #taskErrors: { task: string; error: unknown }[] = [];
  readonly #state: SimulatedState;
  #runtime: Runtime | undefined;
  #rt: SimulatedRuntime | undefined;
  #clock = 0;
  #steps = 0;
  /** While sim.advance runs, it moves time itself, and the driver leaves time alone. */
  #advancing = false;
  #batches = 0;

  constructor(setup: SimulationSetup) {
    this.#setup = setup;
    this.#state = new SimulatedState({
      state: () => this.#live().state,
      taskName: () => currentTask.getStore()?.name ?? 'runtime',
      point: (label) => this.#point(label),
      tick: () => ++this.#clock,
      record: (entry) => this.#history.push(entry),
      waiting: (name, what) => {
        const task = this.#taskList.find((one) => one.name === name);
        if (task === undefined) return;
        task.waiting.clear();
        if (what !== undefined) task.waiting.add(what);
      },
    });
  }

  /** The runtime under test. Its `state` records each call in {@link history}. */
  get rt(): SimulatedRuntime {
    if (this.#rt === undefined) throw new Error('The simulated runtime is not open: use sim.rt inside the body');
    return this.#rt;
  }

  /** Every `rt.state` call so far, in the order made, for {@link checkLinearizable}. */
  get history(): readonly HistoryEntry[] {
    return this.#history.map((entry) => Object.freeze({ ...entry }));
  }

  /** One line per step so far. */
  get trace(): readonly string[] {
    return [...this.#trace];
  }

  /** Virtual milliseconds since the run started. */
  get elapsedMs(): number {
    return this.#time.elapsed;
  }

  /**
   * Runs `fn` as a concurrent task. Its `rt.state` calls interleave with every other task's, in the
   * order the scheduler chooses. A task that throws fails the run, whether or not anything awaits it.
   */
  spawn<T>(fn: () => Promise<T> | T, name?: string): Promise<T> {
    if (typeof fn !== 'function') throw new TypeError(`Expected sim.spawn to be given a function, got ${typeof fn}`);
    const task: Task = { name: name ?? `task ${this.#taskList.length}`, waiting: new Set() };
    if (this.#taskList.some((one) => one.name === task.name)) throw new TypeError(`Expected a task name not used yet in this run, got ${JSON.stringify(task.name)}`);
    this.#taskList.push(task);
    const running = currentTask.run(task, async () => fn());
    running.catch((error: unknown) => this.#taskErrors.push({ task: task.name, error }));
    return running;
  }

  /** Fails the run with `message` unless `condition` holds. */
  check(condition: unknown, message: string): void {
    if (condition) return;
    const task = currentTask.getStore()?.name ?? MAIN;
    this.#trace.push(`${++this.#steps} ${task}: check failed: ${message}`);
    throw new SimulationCheckFailed(message);
  }

  /**
   * Moves virtual time forward by `ms`, firing each timer that falls due, in order. Time moves only
   * when nothing else can run: before each timer, every step that is ready is released (in the order
   * the scheduler chooses), as on a machine whose work takes no time.
   */
  async advance(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) throw new TypeError(`Expected sim.advance to be given a non-negative number of ms, got ${String(ms)}`);
    if (this.#advancing) throw new TypeError('Expected one sim.advance at a time: await the one under way first');
    const until = this.#time.now() + ms;
    this.#trace.push(`${++this.#steps} ${currentTask.getStore()?.name ?? MAIN}: advance ${ms} ms`);
    this.#advancing = true;
    try {
      do await this.#releaseReady();
      while (this.#fireTimer(until));
    } finally {
      this.#advancing = false;
    }
  }

  /** Releases scheduled steps until none is ready and nothing else is left to run. */
  async #releaseReady(): Promise<void> {
    for (;;) {
      await settle();
      if (this.#setup.scheduler.count() === 0) return;
      await this.#setup.scheduler.waitNext(1);
    }
  }

  /**
   * Runs the body to the end and closes the runtime, releasing scheduled steps one at a time.
   *
   * @returns the reasons the run failed, empty when it passed.
   */
  async run(body: (sim: Simulation) => Promise<void> | void): Promise<string[]> {
    this.#runtime = await createRuntime({ ...this.#setup.runtime, memory: true, clock: this.#time, timers: this.#time });
    this.#rt = simulatedRuntime(this.#runtime, this.#state);
    this.#intercept(this.#runtime);
    const main: Task = { name: MAIN, waiting: new Set() };
    this.#taskList.push(main);
    let bodyError: unknown;
    let bodyFailed = false;
    const running = currentTask.run(main, async () => body(this)).catch((error: unknown) => {
      bodyFailed = true;
      bodyError = error;
    });
    const stuck = await this.#drive(running);
    const failures: string[] = [];
    if (bodyFailed) failures.push(describeFailure(MAIN, bodyError));
    // A task's error that the body awaited and threw on is the body's failure, already reported.
    for (const { task, error } of this.#taskErrors) if (!bodyFailed || error !== bodyError) failures.push(describeFailure(task, error));
    if (stuck !== undefined) failures.push(stuck);
    const closing = this.#runtime.close();
    const closeStuck = await this.#drive(closing);
    if (closeStuck !== undefined && stuck === undefined) failures.push(`closing the runtime: ${closeStuck}`);
    return failures;
  }

  #live(): Runtime {
    if (this.#runtime === undefined) throw new Error('The simulated runtime is not open');
    return this.#runtime;
  }

  /** Schedules a step; the trace gets its line when the scheduler releases it. */
  #point(label: string): Promise<void> {
    return this.#setup.scheduler.schedule(Promise.resolve(), label).then(() => {
      this.#trace.push(`${++this.#steps} ${label}`);
    });
  }

  #intercept(runtime: Runtime): void {
    storageOf(runtime).intercept({
      beforeBatch: async (ops) => {
        const batch = ++this.#batches;
        await this.#point(`store: batch ${batch}${describeBatch(ops)}`);
        if (this.#setup.faults.storageFails(batch)) {
          this.#trace.push(`${++this.#steps} fault: store batch ${batch} fails`);
          throw new Error(`injected fault: store batch ${batch} fails`);
        }
      },
      beforeGet: async (sublevel, key) => {
        if (sublevel !== 'state') return;
        const decoded = decodeStateKey(key);
        await this.#point(`store: read ${decoded === undefined ? sublevel : `${decoded.scope.toString()} ${JSON.stringify(decoded.key)}`}`);
      },
    });
  }

  /**
   * Releases scheduled steps until `until` settles. When nothing is scheduled and nothing else is left
   * to run, virtual time moves to the next timer; with no timer either, or past the time limit, the run
   * can never settle, and the reason is returned.
   */
  async #drive(until: Promise<unknown>): Promise<string | undefined> {
    let settled = false;
    void until.then(
      () => (settled = true),
      () => (settled = true),
    );
    const limit = this.#time.now() + this.#setup.timeLimitMs;
    const scheduler = this.#setup.scheduler;
    for (;;) {
      await settle();
      if (settled) return undefined;
      if (this.#advancing) continue;
      if (scheduler.count() > 0) {
        await scheduler.waitNext(1);
        continue;
      }
      const due = this.#time.nextDue();
      if (due !== undefined && due <= limit) {
        this.#fireTimer(due);
        continue;
      }
      return this.#neverSettles(due === undefined ? 'nothing is left to run and no timer is set' : `nothing settled within the virtual time limit of ${this.#setup.timeLimitMs} ms`);
    }
  }

  #fireTimer(until: number): boolean {
    const before = this.#time.now();
    const fired = this.#time.fireNext(until);
    if (fired && this.#time.now() > before) this.#trace.push(`${++this.#steps} time: +${this.#time.now() - before} ms (at ${this.#time.elapsed} ms)`);
    return fired;
  }

  #neverSettles(why: string): string {
    const waits = this.#taskList.filter((task) => task.waiting.size > 0).map((task) => `${task.name} is waiting on ${[...task.waiting].join(', ')}`);
    return `the run never settles: ${why}${waits.length === 0 ? '' : `; ${waits.join('; ')}`}`;
  }
}

function simulatedRuntime(runtime: Runtime, state: SimulatedState): SimulatedRuntime {
  return new Proxy(runtime, {
    get(target, property) {
      if (property === 'state') return state;
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  }) as unknown as SimulatedRuntime;
}

/** Lets every callback already due run: the memory store completes its work through these. */
async function settle(): Promise<void> {
  for (let turn = 0; turn < 3; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function describeBatch(ops: readonly BatchOp[]): string {
  const writes: string[] = [];
  for (const op of ops) {
    if (op.sublevel !== 'state') continue;
    const decoded = decodeStateKey(op.key);
    if (decoded !== undefined) writes.push(`${op.type === 'put' ? 'set' : 'delete'} ${decoded.scope.toString()} ${JSON.stringify(decoded.key)}`);
  }
  return writes.length === 0 ? ` (${ops.length} records)` : `: ${writes.join(', ')}`;
}

function describeFailure(task: string, error: unknown): string {
  const who = task === MAIN ? 'the body' : task;
  return error instanceof SimulationCheckFailed ? `check failed in ${who}: ${error.message}` : `${who} threw: ${describe(error)}`;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
