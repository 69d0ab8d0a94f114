import { randomUUID } from 'node:crypto';
import { extname } from 'node:path';
import type { Piscina } from 'piscina';
import type { Timers } from '../src/timers.js';
import { invalidResultMessage } from './hookResult.js';
import type { HookTask, HookWorkerData, ProbeOutcome, ProbeTask, RejectedOutcome, RunOutcome, RunTask, StartedMessage } from './protocol.js';

export interface HookPoolOptions {
  /** Worker threads, started up front and kept. */
  threads: number;
  /**
   * Each worker's memory limits (Node's `resourceLimits`). A worker that goes over them is stopped and
   * replaced, and its task fails; without them a runaway hook would take the whole process down.
   */
  resourceLimits: { maxOldGenerationSizeMb: number; maxYoungGenerationSizeMb?: number; stackSizeMb: number };
  /**
   * Errors that belong to no task, such as a worker killed by an uncaught error after its task finished.
   * Without a listener piscina would rethrow them and take the process down.
   */
  onError(error: unknown): void;
  /** Time limits run on these. */
  timers: Timers;
  /**
   * What hooks print to stdout goes to the process's stderr instead: for a program whose stdout carries
   * its results (the command line's JSON), which a hook's console.log would corrupt.
   */
  printToStderr?: boolean;
}

/**
 * How long a task may wait for its worker to start and load its hook before its own time limit starts:
 * a replacement worker (after a crash or a timeout) has to boot first.
 */
const START_ALLOWANCE_MS = 30_000;

/** Why a task did not produce an outcome. */
export class TaskFailure extends Error {
  /** `timeout`: stopped at its time limit. `crash`: the worker died. `error`: the hook threw or returned nonsense. */
  readonly reason: 'timeout' | 'crash' | 'error';
  /** For a result that breaks a rule: where (the whole path, which the message may shorten), and why. */
  readonly problem: { path: string; reason: string } | undefined;

  constructor(reason: 'timeout' | 'crash' | 'error', message: string, options?: { cause?: unknown; problem?: { path: string; reason: string } }) {
    super(message, options);
    this.name = 'TaskFailure';
    this.reason = reason;
    this.problem = options?.problem;
  }
}

/**
 * What runs hook executions: the worker pool, or (under the simulator of `llmstate/testing`) the main
 * thread, with its deliveries scheduled.
 */
export interface HookRunner {
  /** @throws {TaskFailure} */
  run(task: RunTask, timeoutMs: number): Promise<RunOutcome>;
  /** Loads a module and checks that it has a default export function. @throws {TaskFailure} */
  probe(module: string, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** A task's outcome, or the failure a result that breaks a rule is. @throws {TaskFailure} */
export function checkedOutcome(outcome: RunOutcome | RejectedOutcome): RunOutcome {
  if ('rejected' in outcome) {
    const { path, reason } = outcome.rejected;
    throw new TaskFailure('error', invalidResultMessage(path, reason), { problem: outcome.rejected });
  }
  return outcome;
}

/** The message of a task stopped at its time limit. */
export function timeoutMessage(hookName: string, timeoutMs: number): string {
  return `The hook ${hookName} ran past its ${timeoutMs} ms limit; its worker was replaced`;
}

const ownExtension = extname(new URL(import.meta.url).pathname);
const WORKER = new URL(`./hookWorker${ownExtension}`, import.meta.url);

/**
 * The piscina pool that runs hooks. Threads are fixed (`minThreads = maxThreads`) with a long idle
 * timeout, because piscina's defaults start and stop threads with the load, which costs two thirds of
 * write throughput on a 2-core machine (DESIGN §7). The dispatcher never hands over more tasks than
 * there are threads, so a task's time limit starts when it starts running, not while it queues.
 */
export class HookPool implements HookRunner {
  readonly threads: number;
  /** Set once piscina is loaded and the pool made; until then, {@link #starting}. */
  #pool: Piscina | undefined;
  readonly #starting: Promise<Piscina>;
  readonly #resourceLimits: HookPoolOptions['resourceLimits'];
  readonly #timers: Timers;
  #closed = false;
  /**
   * What to do when the hook of a running task starts, by the task's start token. Tokens are random:
   * hook code shares the parent port, and must not be able to move another task's time limit.
   */
  readonly #onStarted = new Map<string, () => void>();

  constructor(options: HookPoolOptions) {
    this.threads = options.threads;
    this.#resourceLimits = options.resourceLimits;
    this.#timers = options.timers;
    // piscina is loaded with the first pool, not by every program that imports the runtime (the command line).
    this.#starting = import('piscina').then(({ Piscina }) => {
      const pool = new Piscina({
        filename: WORKER.href,
        minThreads: options.threads,
        maxThreads: options.threads,
        idleTimeout: 2 ** 31 - 1,
        maxQueue: options.threads * 4,
        // piscina replaces a worker that died this way, as it does one that exited.
        resourceLimits: options.resourceLimits,
        // Compiled workers inherit the process's flags. Sources run under tsx in development, and need
        // its loader; an explicit execArgv may not carry V8 flags such as --expose-gc, so pass only that.
        ...(ownExtension === '.ts' ? { execArgv: ['--import', 'tsx'] } : {}),
        // Hooks may keep async work going after they return; blocking Atomics waits would starve it.
        atomics: 'disabled',
        ...(options.printToStderr === true ? { workerData: { printToStderr: true } satisfies HookWorkerData } : {}),
      });
      pool.on('error', options.onError);
      // A worker's own messages (not task results) arrive here: a token, rather than a MessagePort per
      // task, because transferring a port costs more than the rest of a small task's hand-off.
      pool.on('message', (message: unknown) => {
        const token = (message as Partial<StartedMessage> | null)?.hookStarted;
        if (typeof token === 'string') this.#onStarted.get(token)?.();
      });
      this.#pool = pool;
      return pool;
    });
    // A failure to load it is the first task's to report.
    this.#starting.catch(() => {});
  }

  /**
   * Runs one execution; its worker is stopped, and replaced, if it runs past `timeoutMs`.
   *
   * @throws {TaskFailure}
   */
  async run(task: RunTask, timeoutMs: number): Promise<RunOutcome> {
    const controller = new AbortController();
    const startToken = randomUUID();
    // The limit counts from when the hook starts, so the boot of a replacement worker is not charged to it.
    const timers = this.#timers;
    let timer = timers.setTimeout(() => controller.abort(), timeoutMs + START_ALLOWANCE_MS);
    this.#onStarted.set(startToken, () => {
      timers.clearTimeout(timer);
      timer = timers.setTimeout(() => controller.abort(), timeoutMs);
    });
    let outcome: RunOutcome | RejectedOutcome;
    try {
      const pool = this.#pool ?? (await this.#starting);
      outcome = (await pool.run({ ...task, startToken }, { signal: controller.signal })) as RunOutcome | RejectedOutcome;
    } catch (error) {
      if (controller.signal.aborted) {
        throw new TaskFailure('timeout', timeoutMessage(task.context.hookName, timeoutMs), { cause: error });
      }
      throw describeFailure(error, task, this.#resourceLimits);
    } finally {
      timers.clearTimeout(timer);
      this.#onStarted.delete(startToken);
    }
    return checkedOutcome(outcome);
  }

  /**
   * Loads a module in a worker and checks that it has a default export function. A failure is tried once
   * more: the worker may have died of something another hook left running (a timer that throws), which
   * says nothing about this module, while a module that cannot load fails again. @throws {TaskFailure}
   */
  async probe(module: string, timeoutMs: number): Promise<void> {
    try {
      await this.#probeOnce(module, timeoutMs);
    } catch (error) {
      if (error instanceof TaskFailure && error.reason === 'timeout') throw error;
      await this.#probeOnce(module, timeoutMs);
    }
  }

  async #probeOnce(module: string, timeoutMs: number): Promise<void> {
    const task: ProbeTask = { kind: 'probe', module };
    const controller = new AbortController();
    const timer = this.#timers.setTimeout(() => controller.abort(), timeoutMs);
    try {
      const pool = this.#pool ?? (await this.#starting);
      (await pool.run(task satisfies HookTask, { signal: controller.signal })) as ProbeOutcome;
    } catch (error) {
      if (controller.signal.aborted) throw new TaskFailure('timeout', `Loading ${module} took longer than ${timeoutMs} ms`, { cause: error });
      throw new TaskFailure('error', (error as Error).message, { cause: error });
    } finally {
      this.#timers.clearTimeout(timer);
    }
  }

  /** Stops every worker; running tasks are abandoned (their executions stay in the outbox). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const pool = this.#pool ?? (await this.#starting.catch(() => undefined));
    await pool?.destroy();
  }
}

function describeFailure(error: unknown, task: RunTask, limits: HookPoolOptions['resourceLimits']): TaskFailure {
  const message = error instanceof Error ? error.message : String(error);
  if ((error as { code?: unknown } | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    const limit = `maxOldGenerationSizeMb ${limits.maxOldGenerationSizeMb}${limits.maxYoungGenerationSizeMb === undefined ? '' : `, maxYoungGenerationSizeMb ${limits.maxYoungGenerationSizeMb}`}`;
    return new TaskFailure('crash', `The worker running ${task.context.hookName} ran out of memory (hooks.resourceLimits: ${limit}) and was replaced: ${message}`, {
      cause: error,
    });
  }
  // piscina rejects the task of a worker that exited (process.exit) with this message. An uncaught
  // error kills the worker too, but arrives as the error itself, like a throw from the hook.
  const crashed = /^worker exited with code/i.test(message);
  return new TaskFailure(crashed ? 'crash' : 'error', crashed ? `The worker running ${task.context.hookName} died: ${message}` : message, { cause: error });
}
