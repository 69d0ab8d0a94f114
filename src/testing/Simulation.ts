import { AsyncLocalStorage } from 'node:async_hooks';
import type { Arbitrary, GeneratorValue, Scheduler } from 'fast-check';
import { openRuntime, type Runtime } from '../runtime.js';
import type { RuntimeOptions } from '../runtimeOptions.js';
import { decodeStateKey } from '../state/keyCodec.js';
import { createMemoryBackend, createMemoryDatabase, type BatchOp, type StorageBackend } from '../storage/index.js';
import type { HistoryEntry } from './history.js';
import { SimulatedHookRunner } from './SimulatedHooks.js';
import { restartedError } from './restartedError.js';
import { SimulatedState } from './SimulatedState.js';
import { VirtualTime } from './VirtualTime.js';

/** Which faults a run injects: for each kind, whether its n-th opportunity (counted from 1) faults. */
export interface FaultPlan {
  /** The n-th store batch fails; the process goes on. */
  storageFails(batch: number): boolean;
  /** The process crashes at the n-th store batch, which is written or lost as said; undefined for no crash. */
  restartAt(batch: number): 'written' | 'lost' | undefined;
  /** The agent that gets the n-th agent message crashes on it. */
  agentCrashes(message: number): boolean;
  /** The worker of the n-th hook run dies. */
  hookWorkerCrashes(run: number): boolean;
}

export interface SimulationSetup {
  scheduler: Scheduler;
  /** Draws the body's own generated inputs, which shrink and replay with the schedule. */
  generator: GeneratorValue;
  faults: FaultPlan;
  /** Virtual milliseconds after which a body that has not settled fails. */
  timeLimitMs: number;
  /** Options for the runtime under test, beside the simulation's own (memory store, virtual time). */
  runtime: Omit<RuntimeOptions, 'dataDir' | 'memory' | 'clock' | 'timers'>;
  /** Runs on each runtime as it opens, first and after every restart: define machines, register hooks. */
  onStart?: (rt: Runtime) => Promise<void> | void;
}

/** Thrown by `sim.check`: a property of the body does not hold. */
export class SimulationCheckFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimulationCheckFailed';
  }
}

/** The setup threw: the run fails with its error, named as setup's. */
class SetupFailed extends Error {
  constructor(cause: unknown) {
    super(`setup threw: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'SetupFailed';
  }
}

/** The `rt` a body sees: the runtime now running, whose `state` records and schedules every call. */
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

/** One runtime's life, from its open to its close or its simulated crash. */
interface Incarnation {
  readonly number: number;
  readonly runtime: Runtime;
  crashed: boolean;
  /** Rejects, with RUNTIME_CLOSED, when the process dies: what a call in flight then gets. */
  readonly died: Promise<never>;
  die(): void;
}

function incarnationOf(number: number, runtime: Runtime): Incarnation {
  let die: () => void = () => {};
  const died = new Promise<never>((_resolve, reject) => {
    die = () => reject(restartedError());
  });
  died.catch(() => {});
  return { number, runtime, crashed: false, died, die };
}

/**
 * One run of a body under the simulator: a real runtime on memory storage and virtual time, whose
 * `rt.state` calls, store completions and hook runs are released in the order a fast-check scheduler
 * chooses, with faults injected where the run's fault plan says. A restart closes the runtime as a
 * crash would and opens a new one on the same memory store.
 */
export class Simulation {
  readonly #setup: SimulationSetup;
  readonly #time = new VirtualTime();
  readonly #database = createMemoryDatabase();
  readonly #taskList: Task[] = [];
  readonly #history: HistoryEntry[] = [];
  readonly #trace: string[] = [];
  /** Errors thrown by spawned tasks, whether or not anything awaited them. */
  readonly #taskErrors: { task: string; error: unknown }[] = [];
  readonly #state: SimulatedState;
  readonly #rt: SimulatedRuntime;
  #incarnation: Incarnation | undefined;
  /** Settles once the runtime is open again, while a restart is under way. */
  #restarting: Promise<void> | undefined;
  #clock = 0;
  #steps = 0;
  /** While sim.advance runs, it moves time itself, and the driver leaves time alone. */
  #advancing = false;
  /** Opportunities so far, by kind, counted across restarts. */
  #batches = 0;
  #agentMessages = 0;
  /** Set once the body has settled: the final close is not a place for faults. */
  #finishing = false;
  /** While a runtime opens and its setup runs: not a place for faults either (what it writes is the process's start). */
  #opening = false;
  #hookRuns = 0;
  /** Every task, for the wait for stragglers before the close. */
  readonly #running: Promise<unknown>[] = [];
  /** `sim.check` failures, kept even when the error it threw was caught. */
  readonly #checkFailures: string[] = [];
  /** Failures found outside any task: a restart whose setup failed, a run past its time limit. */
  readonly #otherFailures: string[] = [];
  /** The virtual instant past which the run has failed. */
  #deadline = Infinity;
  /** Hook-module loads under way: real I/O the simulator started, which time waits for. */
  #loading = 0;

  constructor(setup: SimulationSetup) {
    this.#setup = setup;
    this.#state = new SimulatedState({
      live: async () => {
        const incarnation = await this.#live();
        return { state: incarnation.runtime.state, alive: () => !incarnation.crashed };
      },
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
    this.#rt = simulatedRuntime(() => this.#current(), () => this.#live(), this.#state);
  }

  /** The runtime under test (after a restart, the new one). Its `state` records each call in {@link history}. */
  get rt(): SimulatedRuntime {
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

  /** How many times the runtime has restarted so far. */
  get restarts(): number {
    return (this.#incarnation?.number ?? 1) - 1;
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
    this.#running.push(running.catch(() => {}));
    return running;
  }

  /**
   * A value from `arbitrary`, drawn for this run: the body's own generated input (operations to run,
   * values to write). It shrinks with the schedule and the faults, and a replay draws the same. Build
   * the arbitrary once, outside the body: fast-check shrinks a drawn value by its arbitrary, and a new
   * arbitrary in each run keeps shrinking from ever settling (it then stops at `shrinkRuns`).
   *
   * @example
   * const ops = fc.array(fc.nat(9), { maxLength: 20 });   // once, at module level
   * await simulate.assert(async (sim) => { for (const n of sim.draw(ops)) … });
   */
  draw<T>(arbitrary: Arbitrary<T>): T {
    return this.#setup.generator(() => arbitrary);
  }

  /**
   * Resolves after `ms` of virtual time: a task's own wait, such as a client's back-off before it
   * retries. Time moves only when nothing else can run, so everything under way (a restart, say)
   * happens first. A retry loop must wait like this: one that never yields starves the simulation, as
   * it would hammer a real server.
   */
  sleep(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) throw new TypeError(`Expected sim.sleep to be given a non-negative number of ms, got ${String(ms)}`);
    const task = this.#taskList.find((one) => one === currentTask.getStore());
    task?.waiting.add(`sleep ${ms} ms`);
    return new Promise((resolve) =>
      this.#time.setTimeout(() => {
        task?.waiting.delete(`sleep ${ms} ms`);
        resolve();
      }, ms),
    );
  }

  /** Fails the run with `message` unless `condition` holds. */
  check(condition: unknown, message: string): void {
    if (condition) return;
    const task = currentTask.getStore()?.name ?? MAIN;
    this.#trace.push(`${++this.#steps} ${task}: check failed: ${message}`);
    this.#checkFailures.push(`check failed in ${task === MAIN ? 'the body' : task}: ${message}`);
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
      do {
        await this.#releaseReady();
        if (this.#time.now() > this.#deadline) throw this.#pastDeadline();
      } while (this.#fireTimer(Math.min(until, this.#deadline + 1)));
      if (until > this.#deadline) throw this.#pastDeadline();
    } finally {
      this.#advancing = false;
    }
  }

  /**
   * Runs the body to the end and closes the runtime, releasing scheduled steps one at a time.
   *
   * @returns the reasons the run failed, empty when it passed.
   */
  async run(body: (sim: Simulation) => Promise<void> | void): Promise<string[]> {
    const main: Task = { name: MAIN, waiting: new Set() };
    this.#taskList.push(main);
    let bodyError: unknown;
    let bodyFailed = false;
    const running = currentTask.run(main, async () => {
      await this.#open(1);
      await body(this);
    });
    const settled = running.catch((error: unknown) => {
      bodyFailed = true;
      bodyError = error;
    });
    this.#deadline = this.#time.now() + this.#setup.timeLimitMs;
    let stuck = await this.#drive(settled);
    // Tasks the body did not wait for run to their end before the close, so that what they do counts.
    if (stuck === undefined) stuck = await this.#drive(Promise.all(this.#running), 'tasks the body did not wait for never finish');
    this.#finishing = true;
    const failures: string[] = [...this.#checkFailures];
    if (bodyFailed && !(bodyError instanceof SimulationCheckFailed)) failures.push(describeFailure(MAIN, bodyError));
    // A task's error that the body awaited and threw on is the body's failure, already reported.
    for (const { task, error } of this.#taskErrors) {
      if (error instanceof SimulationCheckFailed || (bodyFailed && error === bodyError)) continue;
      failures.push(describeFailure(task, error));
    }
    failures.push(...this.#otherFailures);
    if (stuck !== undefined) failures.push(stuck);
    const closing = (async () => {
      await this.#restarting;
      await this.#incarnation?.runtime.close();
    })();
    // The close has a time limit of its own: a run past its deadline still closes its runtime.
    this.#deadline = Infinity;
    const closeStuck = await this.#drive(closing);
    if (closeStuck !== undefined) {
      // Left behind rather than awaited: nothing will ever settle it.
      if (stuck === undefined) failures.push(`closing the runtime: ${closeStuck}`);
      return failures;
    }
    await closing.catch((error: unknown) => failures.push(`closing the runtime failed: ${describe(error)}`));
    return failures;
  }

  #current(): Incarnation {
    if (this.#incarnation === undefined) throw new Error('The simulated runtime is not open yet: use sim.rt inside the body');
    return this.#incarnation;
  }

  /** The incarnation that takes calls: after a restart under way, the next one. */
  async #live(): Promise<Incarnation> {
    while (this.#restarting !== undefined) await this.#restarting;
    return this.#current();
  }

  #pastDeadline(): Error {
    this.#otherFailures.push(`the run never settles: it passed its virtual time limit of ${this.#setup.timeLimitMs} ms in sim.advance`);
    return new SimulationCheckFailed(`past the virtual time limit of ${this.#setup.timeLimitMs} ms`);
  }

  /** Opens runtime `number` on the run's store and runs the setup on it, with no faults injected. */
  async #open(number: number): Promise<void> {
    this.#opening = true;
    try {
      // A fixed fault seed: the runtime's own randomness (retry jitter) must not differ between runs.
      const options = { faultSeed: 0, ...this.#setup.runtime, memory: true, clock: this.#time, timers: this.#time };
      // The store is the simulation's own, so it is intercepted here, before the runtime opens on it;
      // what the runtime writes while it opens is not scheduled.
      const storage = createMemoryBackend(this.#database);
      let incarnation: Incarnation | undefined;
      this.#intercept(storage, () => incarnation);
      const runtime = await openRuntime(options, 'create', {
        storage,
        hookRunner: () =>
          new SimulatedHookRunner({
            point: (label) => this.#point(label),
            note: (line) => this.#note(line),
            nextRun: () => ++this.#hookRuns,
            workerCrashes: (run) => !this.#finishing && this.#setup.faults.hookWorkerCrashes(run),
            loading: (load) => this.#whileLoading(load),
            timers: this.#time,
          }),
        crashAgent: (agentId) => this.#agentCrashes(agentId),
      });
      incarnation = incarnationOf(number, runtime);
      try {
        await this.#setup.onStart?.(runtime);
      } catch (error) {
        throw new SetupFailed(error);
      }
      this.#incarnation = incarnation;
    } finally {
      this.#opening = false;
    }
  }

  /** Real I/O the simulator starts (loading a hook module): time stands still until it is done. */
  async #whileLoading<T>(load: Promise<T>): Promise<T> {
    this.#loading++;
    try {
      return await load;
    } finally {
      this.#loading--;
    }
  }

  /** Schedules a step; the trace gets its line when the scheduler releases it. */
  #point(label: string): Promise<void> {
    return this.#setup.scheduler.schedule(Promise.resolve(), label).then(() => {
      this.#trace.push(`${++this.#steps} ${label}`);
    });
  }

  #note(line: string): void {
    this.#trace.push(`${++this.#steps} ${line}`);
  }

  #agentCrashes(agentId: string): boolean {
    const message = ++this.#agentMessages;
    if (this.#finishing || this.#opening || !this.#setup.faults.agentCrashes(message)) return false;
    this.#note(`fault: agent ${agentId} crashes on agent message ${message}`);
    return true;
  }

  #intercept(storage: StorageBackend, current: () => Incarnation | undefined): void {
    const crashed = () => new Error('the simulated process crashed');
    storage.intercept({
      beforeBatch: async (ops) => {
        const incarnation = current();
        if (incarnation === undefined) return;
        // A crashed process writes nothing more, and its steps are not the scheduler's to order.
        if (incarnation.crashed) throw crashed();
        const batch = ++this.#batches;
        await this.#point(`store: batch ${batch}${describeBatch(ops)}`);
        if (incarnation.crashed) throw crashed();
        if (this.#finishing || this.#opening) return;
        const restart = this.#setup.faults.restartAt(batch);
        if (restart !== undefined) {
          this.#crash(incarnation, `at store batch ${batch}, which was ${restart}`);
          if (restart === 'lost') throw crashed();
          return;
        }
        if (this.#setup.faults.storageFails(batch)) {
          this.#note(`fault: store batch ${batch} fails`);
          throw new Error(`injected fault: store batch ${batch} fails`);
        }
      },
      beforeGet: async (sublevel, key) => {
        const incarnation = current();
        if (incarnation === undefined) return;
        if (incarnation.crashed) throw crashed();
        if (sublevel !== 'state') return;
        const decoded = decodeStateKey(key);
        await this.#point(`store: read ${decoded === undefined ? sublevel : `${decoded.scope.toString()} ${JSON.stringify(decoded.key)}`}`);
        if (incarnation.crashed) throw crashed();
      },
    });
  }

  /**
   * The process dies: the runtime writes nothing more and its callers hear nothing more (calls in
   * flight fail with RUNTIME_CLOSED, and may or may not have taken effect). Then a new runtime opens on
   * the same store, as after a restart.
   */
  #crash(incarnation: Incarnation, where: string): void {
    incarnation.crashed = true;
    incarnation.die();
    this.#note(`fault: the process crashes ${where}; the runtime restarts`);
    const restarting = (async () => {
      // The old runtime's close finds a store that refuses everything, as a dead process would leave it.
      await incarnation.runtime.close().catch(() => {});
      try {
        await this.#open(incarnation.number + 1);
        this.#note(`restart: runtime ${incarnation.number + 1} is open`);
      } catch (error) {
        // The process could not start again: the run fails, and every call waits no more.
        this.#otherFailures.push(`the restart of runtime ${incarnation.number + 1} failed: ${describe(error instanceof SetupFailed ? error.cause : error)}`);
        throw error;
      }
    })();
    this.#restarting = restarting;
    restarting.then(
      () => {
        if (this.#restarting === restarting) this.#restarting = undefined;
      },
      () => {},
    );
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
   * Releases scheduled steps until `until` settles. When nothing is scheduled and nothing else is left
   * to run, virtual time moves to the next timer; with no timer either, or past the time limit, the run
   * can never settle, and the reason is returned.
   */
  async #drive(until: Promise<unknown>, what = ''): Promise<string | undefined> {
    let settled = false;
    void until.then(
      () => (settled = true),
      () => (settled = true),
    );
    const limit = Math.min(this.#deadline, this.#time.now() + this.#setup.timeLimitMs);
    const scheduler = this.#setup.scheduler;
    for (;;) {
      await settle();
      if (settled) return undefined;
      if (this.#advancing || this.#loading > 0 || realIoPending()) continue;
      if (scheduler.count() > 0) {
        await scheduler.waitNext(1);
        continue;
      }
      const due = this.#time.nextDue();
      if (due !== undefined && due <= limit) {
        this.#fireTimer(due);
        continue;
      }
      const why = due === undefined ? 'nothing is left to run and no timer is set' : `nothing settled within the virtual time limit of ${this.#setup.timeLimitMs} ms`;
      return this.#neverSettles(what === '' ? why : `${what}: ${why}`);
    }
  }

  #fireTimer(until: number): boolean {
    const before = this.#time.now();
    const fired = this.#time.fireNext(until);
    if (fired && this.#time.now() > before) this.#note(`time: +${this.#time.now() - before} ms (at ${this.#time.elapsed} ms)`);
    return fired;
  }

  #neverSettles(why: string): string {
    const waits = this.#taskList.filter((task) => task.waiting.size > 0).map((task) => `${task.name} is waiting on ${[...task.waiting].join(', ')}`);
    return `the run never settles: ${why}${waits.length === 0 ? '' : `; ${waits.join('; ')}`}`;
  }
}

/**
 * `sim.rt`: whichever runtime is running. Once a runtime has crashed, a call on it that returns a
 * promise waits for the restart and goes to the new runtime, as a client's request would reach the
 * restarted server; what answers at once (such as `agents.isLive`) answers from the dead one.
 */
function simulatedRuntime(current: () => Incarnation, live: () => Promise<Incarnation>, state: SimulatedState): SimulatedRuntime {
  const call = (target: (runtime: Runtime) => unknown, property: PropertyKey, args: unknown[]): unknown => {
    const invoke = (runtime: Runtime) => {
      const owner = target(runtime) as Record<PropertyKey, (...args: unknown[]) => unknown>;
      return owner[property](...args);
    };
    const incarnation = current();
    const result = invoke(incarnation.runtime);
    if (!isThenable(result)) return result;
    // In flight when the process dies, a call fails as a dropped connection would, whatever the dying
    // runtime would have done with it.
    if (!incarnation.crashed) return Promise.race([result, incarnation.died]);
    result.then(undefined, () => {});
    return live().then((next) => invoke(next.runtime));
  };
  const wrap = (target: (runtime: Runtime) => unknown): unknown =>
    new Proxy(
      {},
      {
        get(_empty, property) {
          const value = Reflect.get(target(current().runtime) as object, property) as unknown;
          if (typeof value === 'function') return (...args: unknown[]) => call(target, property, args);
          return value;
        },
      },
    );
  const namespaces = new Map<PropertyKey, unknown>();
  return new Proxy({} as SimulatedRuntime, {
    get(_empty, property) {
      if (property === 'state') return state;
      const value = Reflect.get(current().runtime, property) as unknown;
      if (typeof value === 'function') return (...args: unknown[]) => call((runtime) => runtime, property, args);
      if (typeof value !== 'object' || value === null) return value;
      let namespace = namespaces.get(property);
      if (namespace === undefined) namespaces.set(property, (namespace = wrap((runtime) => Reflect.get(runtime, property) as unknown)));
      return namespace;
    },
  });
}

function isThenable(value: unknown): value is Promise<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/**
 * Kinds of active resource that are I/O requests in flight (file reads and closes, DNS lookups, socket
 * writes and connects), as Node names them. Long-lived handles, such as a socket waiting for data, are
 * not requests, and do not hold time still.
 */
const REAL_IO = /Req|WriteWrap|ShutdownWrap|ConnectWrap/;

/**
 * Whether real I/O is in flight, such as a hook reading a file: time stands still until it is done, as
 * if it took no time. (Virtual timers are not Node's, so they never count.)
 */
function realIoPending(): boolean {
  return process.getActiveResourcesInfo().some((kind) => REAL_IO.test(kind));
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
  if (error instanceof SetupFailed) return error.message;
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
