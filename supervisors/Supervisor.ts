import { setMaxListeners } from 'node:events';
import { LlmStateError } from '../src/errors.js';
import { checkChildSpec } from './checkChildSpecs.js';
import { ChildTable, newRecord, type ChildRecord, type ChildStatus, type Incarnation, type RestartAttempt } from './ChildTable.js';
import {
  describeExitReason,
  normalizeExitReason,
  resolveChildSpec,
  shouldRestart,
  type ChildLink,
  type ChildRef,
  type ChildSpec,
  type ChildType,
  type ExitReason,
  type RestartType,
  type Shutdown,
} from './childSpec.js';
import { describeOption } from '../src/checkOptions.js';
import { addRestart, backoffDelay, exceedsIntensity } from './restartBudget.js';
import { shutdownChild, tryKill } from './shutdownChild.js';
import type { SupervisorEvent } from './supervisorEvents.js';
import { resolveSupervisorOptions, type ResolvedSupervisorOptions, type SupervisorOptions } from './supervisorOptions.js';

/**
 * `idle` until start(); `starting` while its children start; `running`; `stopping` after stop(); `stopped` once
 * stop() or kill() has finished; `failed` after it reached its restart intensity or could not start.
 */
export type SupervisorStatus = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

export type { ChildStatus } from './ChildTable.js';

/** One entry of whichChildren(). */
export interface ChildInfo {
  id: string;
  type: ChildType;
  status: ChildStatus;
  /** How many times the supervisor has started this child again since its first start. */
  restarts: number;
}

/** What countChildren() returns (OTP `count_children/1`). */
export interface ChildCounts {
  /** Child specs held; 1 for a `simple_one_for_one` supervisor (its template). */
  specs: number;
  /** Children running now. */
  active: number;
  /** Children of type `supervisor`, running or not. */
  supervisors: number;
  /** Children of type `worker`, running or not. */
  workers: number;
}

/** One restart decision, as counted by the restart budget. */
export interface RestartRecord {
  /** When, by the supervisor's clock. */
  at: number;
  /** The child whose exit (or failed restart) caused it. */
  child: string;
  /** The children the strategy restarts for it, in start order. */
  children: string[];
}

/** What startChild() resolves with. */
export interface StartedChild {
  id: string;
  ref: ChildRef;
}

/** How a supervisor behaves as a child of another (see {@link Supervisor.childSpec}). */
export interface SupervisorChildOptions {
  /** @default 'permanent' */
  restart?: RestartType;
  /** @default 'infinity', as OTP advises for supervisors */
  shutdown?: Shutdown;
}

/** The restart log keeps this many of the most recent restart decisions. */
export const RESTART_LOG_LIMIT = 256;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type ShutdownReason = Extract<SupervisorEvent, { type: 'supervisor.shutdown' }>['reason'];

/**
 * An OTP supervisor over abstract children (DESIGN §6). Children start in order and stop in reverse; a child that
 * stops is restarted according to its restart type and the strategy, within a budget of `intensity` restarts per
 * `period` ms. Past the budget the supervisor stops all its children and fails: a child supervisor reports the
 * failure to its parent, which applies its own strategy; a root calls `onFatal`.
 *
 * Like an OTP supervisor process, it handles one thing at a time: child exits, restarts and the public
 * functions are queued and run in order, so an exit that arrives during a restart is handled after it, and an
 * exit from a run of a child that has since been stopped or restarted is ignored.
 *
 * A supervisor is itself a {@link ChildRef}, and {@link Supervisor.childSpec} makes it the child of another.
 *
 * @example
 * const sup = new Supervisor({ id: 'root', strategy: 'one_for_one', children: [{ id: 'a', start: startA }] });
 * await sup.start();
 * sup.whichChildren(); // → [{ id: 'a', type: 'worker', status: 'running', restarts: 0 }]
 * await sup.stop();
 */
export class Supervisor<Args = never> implements ChildRef {
  readonly #options: ResolvedSupervisorOptions<Args>;
  readonly #children: ChildTable;
  /** Aborted by kill(): shutdowns in progress stop waiting, since kill() has killed their children. */
  readonly #abort = new AbortController();
  readonly #down: Promise<void>;
  #resolveDown!: () => void;
  #status: SupervisorStatus = 'idle';
  /** All children are stopped for good; no child may start any more. */
  #finished = false;
  /** The parent (or onFatal) has been told that this supervisor stopped. */
  #notified = false;
  #link: ChildLink | undefined;
  #queue: Promise<void> = Promise.resolve();
  #window: number[] = [];
  readonly #restartLog: RestartRecord[] = [];
  #dynamicCount = 0;

  /**
   * Checks the options; starts nothing until start().
   *
   * @throws {TypeError} when an option or child spec is invalid (see {@link resolveSupervisorOptions}).
   */
  constructor(options: SupervisorOptions<Args>) {
    this.#options = resolveSupervisorOptions<Args>(options);
    this.#children = new ChildTable(this.#options.timers);
    // Every child being shut down at once listens to this signal; thousands of agents is not a leak.
    setMaxListeners(Infinity, this.#abort.signal);
    this.#down = new Promise((resolve) => (this.#resolveDown = resolve));
  }

  /**
   * A child spec that starts a new supervisor with `options` each time it is started, so that a supervisor can
   * be the child of another. When it reaches its restart intensity it stops its children and reports
   * `{ error }` (an `LlmStateError` with code `SUPERVISOR_SHUTDOWN`) to the parent, which applies its own strategy.
   *
   * @throws {TypeError} when `options` or `child` are invalid.
   * @example
   * const root = new Supervisor({ id: 'root', strategy: 'one_for_all', children: [
   *   Supervisor.childSpec({ id: 'agents', strategy: 'one_for_one', children: agentSpecs }),
   * ] });
   */
  static childSpec<A>(options: SupervisorOptions<A>, child: SupervisorChildOptions = {}): ChildSpec {
    resolveSupervisorOptions<A>(options);
    const spec: ChildSpec = {
      id: options.id,
      type: 'supervisor',
      restart: child.restart ?? 'permanent',
      shutdown: child.shutdown ?? 'infinity',
      start: async (link) => {
        const supervisor = new Supervisor<A>(options);
        await supervisor.start(link);
        return supervisor;
      },
    };
    checkChildSpec(spec, 'child');
    return spec;
  }

  get id(): string {
    return this.#options.id;
  }

  get status(): SupervisorStatus {
    return this.#status;
  }

  /** The most recent restart decisions, oldest first (at most {@link RESTART_LOG_LIMIT}). */
  get restartLog(): readonly RestartRecord[] {
    return [...this.#restartLog];
  }

  /**
   * Starts the children in order. If one fails to start, those already started are stopped in reverse and the
   * supervisor fails: all or nothing.
   *
   * @param link Given by a parent supervisor: this supervisor reports its own exit through it. Without one it is a
   *   root, and calls `onFatal` when it fails.
   * @throws {TypeError} when the supervisor was already started.
   * @throws {SUPERVISOR_SHUTDOWN} when a child failed to start (its error is the `cause`), or when stop() or
   *   kill() was called before every child had started.
   */
  async start(link?: ChildLink): Promise<void> {
    if (this.#status !== 'idle') {
      throw new TypeError(`Cannot start supervisor '${this.id}': it is ${this.#status}, and a supervisor starts once`);
    }
    if (link !== undefined && typeof (link as ChildLink | null)?.exited !== 'function') {
      throw new TypeError(`Expected \`link\` to be an object with an exited() method, got ${describeOption(link)}`);
    }
    this.#link = link;
    this.#status = 'starting';
    return this.#enqueue(() => this.#startAll());
  }

  /**
   * Stops every child in reverse start order (a `simple_one_for_one` supervisor asks them all at once, as OTP
   * does), each according to its `shutdown`, then reports `'shutdown'` to its parent. Pending restarts are
   * cancelled. Resolves once the supervisor is down; calling it again, or on a failed supervisor, waits for the same.
   */
  stop(): Promise<void> {
    if (this.#status === 'idle') {
      this.#status = 'stopped';
      this.#notified = true;
      this.#finish('shutdown');
      return this.#down;
    }
    if (this.#status !== 'starting' && this.#status !== 'running') return this.#down;
    this.#status = 'stopping';
    this.#children.cancelAttempts();
    this.#post(async () => {
      await this.#terminateChildren();
      if (!this.#finished) {
        this.#status = 'stopped';
        this.#finish('shutdown');
      }
      this.#notify('shutdown', false);
    });
    return this.#down;
  }

  /**
   * Kills every running child at once, in reverse start order, abandoning restarts and shutdowns in progress.
   * A supervisor killed by someone other than its parent reports a `SUPERVISOR_SHUTDOWN` error to the parent.
   */
  kill(): void {
    if (this.#finished) return;
    const failing = this.#status === 'failed';
    if (!failing) this.#status = 'stopped';
    this.#killChildren();
    this.#finish('killed');
    if (!failing) {
      const error = new LlmStateError('SUPERVISOR_SHUTDOWN', `Supervisor '${this.id}' was killed`, {
        details: { supervisor: this.id, reason: 'killed' },
      });
      this.#notify({ error }, false);
    }
  }

  /**
   * Starts a child and adds it to the end of the start order. On a `simple_one_for_one` supervisor the argument
   * is the `args` given to the template's start (and id); otherwise it is a child spec.
   *
   * @returns the child's id and its running ref.
   * @throws {TypeError} when the spec is invalid, a child with its id is present, or the supervisor is not started.
   * @throws {SUPERVISOR_SHUTDOWN} when the supervisor is stopping, stopped or failed.
   * @throws whatever the child's start rejected with; nothing is added then.
   * @example
   * const { ref } = await sup.startChild({ id: 'b', start: startB, restart: 'transient' });
   */
  async startChild(specOrArgs: ChildSpec | Args): Promise<StartedChild> {
    this.#assertOpen('startChild');
    const record = this.#newChildRecord(specOrArgs);
    return this.#enqueue(async () => {
      this.#assertRunning('startChild');
      const { id } = record.spec;
      const existing = this.#children.get(id);
      if (existing !== undefined) {
        throw new TypeError(
          existing.status === 'running'
            ? `Cannot start child '${id}' under supervisor '${this.id}': it is already running`
            : `Cannot start child '${id}' under supervisor '${this.id}': a child with that id is present (${existing.status}); restart or delete it instead`,
        );
      }
      const ref = await this.#startRecord(record);
      this.#children.add(record);
      this.#emit({ type: 'supervisor.child_started', child: id });
      return { id, ref };
    });
  }

  /**
   * Stops a child according to its `shutdown`, and cancels a pending restart of it. Its spec is kept (status
   * `terminated`) unless it is temporary or dynamic, in which case it is removed. Terminating a terminated child
   * does nothing.
   *
   * @throws {AGENT_NOT_FOUND} when there is no child `id`; `details` holds `supervisor` and `child`.
   * @throws {SUPERVISOR_SHUTDOWN} when the supervisor is stopping, stopped or failed.
   * @throws {TypeError} when `id` is not a non-empty string, or the supervisor is not started.
   * @example
   * await sup.terminateChild('mailer'); // sup.whichChildren() now shows it terminated
   */
  async terminateChild(id: string): Promise<void> {
    this.#assertOpen('terminateChild');
    this.#assertId(id);
    return this.#enqueue(async () => {
      this.#assertRunning('terminateChild');
      const record = this.#find(id);
      await this.#shutdownRecord(record);
      this.#children.forget(record);
    });
  }

  /**
   * Starts a terminated child again from its kept spec. Not counted against the restart budget (as in OTP).
   *
   * @returns its new running ref.
   * @throws {AGENT_NOT_FOUND} when there is no child `id`; `details` holds `supervisor` and `child`.
   * @throws {SUPERVISOR_SHUTDOWN} when the supervisor is stopping, stopped or failed.
   * @throws {TypeError} when the child is running or restarting, on a `simple_one_for_one` supervisor, or when
   *   the supervisor is not started.
   * @throws whatever the child's start rejected with; the child stays terminated then.
   * @example
   * await sup.terminateChild('mailer');
   * const ref = await sup.restartChild('mailer');
   */
  async restartChild(id: string): Promise<ChildRef> {
    this.#assertOpen('restartChild');
    this.#assertStatic('restartChild');
    this.#assertId(id);
    return this.#enqueue(async () => {
      this.#assertRunning('restartChild');
      const record = this.#find(id);
      if (record.status !== 'terminated') {
        throw new TypeError(`Cannot restart child '${id}' of supervisor '${this.id}': it is ${record.status}, and only a terminated child can be restarted`);
      }
      const ref = await this.#startRecord(record);
      record.restarts += 1;
      this.#emit({ type: 'supervisor.child_restarted', child: id, restarts: record.restarts });
      return ref;
    });
  }

  /**
   * Removes the spec of a terminated child.
   *
   * @throws {AGENT_NOT_FOUND} when there is no child `id`; `details` holds `supervisor` and `child`.
   * @throws {SUPERVISOR_SHUTDOWN} when the supervisor is stopping, stopped or failed.
   * @throws {TypeError} when the child is running or restarting, on a `simple_one_for_one` supervisor, or when
   *   the supervisor is not started.
   * @example
   * await sup.terminateChild('mailer');
   * await sup.deleteChild('mailer');
   */
  async deleteChild(id: string): Promise<void> {
    this.#assertOpen('deleteChild');
    this.#assertStatic('deleteChild');
    this.#assertId(id);
    return this.#enqueue(async () => {
      this.#assertRunning('deleteChild');
      const record = this.#find(id);
      if (record.status !== 'terminated') {
        throw new TypeError(`Cannot delete child '${id}' of supervisor '${this.id}': it is ${record.status}; terminate it first`);
      }
      this.#children.remove(record);
    });
  }

  /**
   * Every child, in start order, with its status and restart count. Works in any state: once the supervisor is
   * down, the kept children are listed as terminated.
   *
   * @example
   * sup.whichChildren(); // → [{ id: 'a', type: 'worker', status: 'running', restarts: 2 }, …]
   */
  whichChildren(): ChildInfo[] {
    return this.#children.inStartOrder().map((record) => ({
      id: record.spec.id,
      type: record.spec.type,
      status: record.status,
      restarts: record.restarts,
    }));
  }

  /**
   * Counts of specs, running children, supervisors and workers (OTP `count_children/1`). Works in any state.
   *
   * @example
   * sup.countChildren(); // → { specs: 3, active: 2, supervisors: 1, workers: 2 }
   */
  countChildren(): ChildCounts {
    let active = 0;
    let supervisors = 0;
    for (const record of this.#children.inStartOrder()) {
      if (record.status === 'running') active += 1;
      if (record.spec.type === 'supervisor') supervisors += 1;
    }
    const total = this.#children.size;
    const specs = this.#options.strategy === 'simple_one_for_one' ? 1 : total;
    return { specs, active, supervisors, workers: total - supervisors };
  }

  /** The running ref of child `id` (for a child supervisor, the Supervisor itself), or undefined. */
  childRef(id: string): ChildRef | undefined {
    return this.#children.get(id)?.ref;
  }

  // ---- starting ----

  async #startAll(): Promise<void> {
    for (const spec of this.#options.children) {
      if (this.#status !== 'starting') break;
      const record = newRecord(spec, false);
      try {
        await this.#startRecord(record);
      } catch (error) {
        if (this.#finished) throw error;
        this.#emit({ type: 'supervisor.child_start_failed', child: spec.id, error });
        this.#status = this.#status === 'starting' ? 'failed' : 'stopped';
        this.#notified = true;
        await this.#terminateChildren();
        this.#finish('failed_to_start_child', spec.id);
        throw new LlmStateError('SUPERVISOR_SHUTDOWN', `Supervisor '${this.id}' failed to start child '${spec.id}': ${messageOf(error)}`, {
          cause: error,
          details: { supervisor: this.id, child: spec.id, reason: 'failed_to_start_child' },
        });
      }
      this.#children.add(record);
      this.#emit({ type: 'supervisor.child_started', child: spec.id });
    }
    if (this.#status !== 'starting') throw this.#shutdownError('finish starting');
    this.#status = 'running';
  }

  /** Starts one run of a child and records it as running. Rejects, changing nothing, if the start fails. */
  async #startRecord(record: ChildRecord): Promise<ChildRef> {
    const incarnation: Incarnation = { record, exit: undefined };
    const link: ChildLink = { exited: (reason) => this.#onExit(incarnation, reason) };
    const ref: unknown = await record.spec.start(link);
    if (!isChildRef(ref)) {
      throw new TypeError(`Expected the start() of child '${record.spec.id}' to resolve with a ChildRef { stop(), kill() }, got ${describeOption(ref)}`);
    }
    if (this.#finished) {
      // Killed while this child was starting: it must not outlive its supervisor.
      tryKill(ref);
      throw this.#shutdownError(`start child '${record.spec.id}'`);
    }
    record.ref = ref;
    record.incarnation = incarnation;
    record.status = 'running';
    return ref;
  }

  // ---- exits and restarts ----

  #onExit(incarnation: Incarnation, reason: unknown): void {
    if (incarnation.exit !== undefined) return;
    incarnation.exit = normalizeExitReason(reason);
    if (this.#finished) return;
    this.#post(() => this.#handleExit(incarnation));
  }

  async #handleExit(incarnation: Incarnation): Promise<void> {
    const { record } = incarnation;
    if (this.#status !== 'running' || record.incarnation !== incarnation || !this.#children.holds(record)) return;
    const reason = incarnation.exit as ExitReason;
    record.ref = undefined;
    record.incarnation = undefined;
    record.status = 'terminated';
    this.#emit({ type: 'supervisor.child_exited', child: record.spec.id, reason: describeExitReason(reason) });
    if (shouldRestart(record.spec.restart, reason)) await this.#restart(record);
    else this.#children.forget(record);
  }

  /** Counts a restart against the budget, then restarts the strategy's group for `record`, or gives up. */
  async #restart(record: ChildRecord): Promise<void> {
    const { intensity, period, backoff, clock, timers, random } = this.#options;
    const now = clock.now();
    this.#window = addRestart(this.#window, now, period);
    if (exceedsIntensity(this.#window, intensity)) {
      this.#children.forget(record);
      this.#emit({ type: 'supervisor.restart_intensity_reached', child: record.spec.id, intensity, period });
      const error = new LlmStateError(
        'SUPERVISOR_SHUTDOWN',
        `Supervisor '${this.id}' reached max restart intensity: more than ${intensity} restarts within ${period} ms (last: child '${record.spec.id}')`,
        { details: { supervisor: this.id, child: record.spec.id, intensity, period, reason: 'reached_max_restart_intensity' } },
      );
      await this.#fail(error, record.spec.id);
      return;
    }
    const group = this.#children.restartGroup(record, this.#options.strategy);
    for (const sibling of [...group].reverse()) {
      if (sibling === record) continue;
      if (sibling.ref !== undefined) {
        await this.#shutdownRecord(sibling);
        if (this.#status !== 'running') return;
      }
      // A temporary child is never restarted, not even when a sibling's restart stops it (OTP).
      if (sibling.spec.restart === 'temporary') this.#children.remove(sibling);
    }
    const members = group.filter((member) => this.#children.holds(member));
    this.#log({ at: now, child: record.spec.id, children: members.map((member) => member.spec.id) });
    const attempt = this.#children.newAttempt(members);
    const delay = backoff === undefined ? 0 : backoffDelay(backoff, this.#window.length, random);
    if (delay > 0) {
      attempt.handle = timers.setTimeout(() => {
        attempt.handle = undefined;
        this.#post(() => this.#runAttempt(attempt));
      }, delay);
    } else {
      await this.#runAttempt(attempt);
    }
  }

  async #runAttempt(attempt: RestartAttempt): Promise<void> {
    this.#children.settle(attempt);
    if (this.#status !== 'running') return;
    const members = this.#children.membersOf(attempt);
    for (const [index, record] of members.entries()) {
      if (this.#status !== 'running') return;
      if (record.attempt !== attempt || !this.#children.holds(record)) continue;
      try {
        await this.#startRecord(record);
      } catch (error) {
        if (this.#finished) return;
        this.#emit({ type: 'supervisor.child_start_failed', child: record.spec.id, error });
        // As OTP's try_again_restart: the failed child's restart is retried as a new restart (counted against
        // the budget, after the queue has had its turn), and the rest of this group are left terminated, since
        // that restart's group starts them again.
        for (const rest of members.slice(index + 1)) {
          if (rest.attempt !== attempt) continue;
          this.#children.detach(rest);
          rest.status = 'terminated';
        }
        const retry = this.#children.newAttempt([record]);
        this.#post(() => this.#retry(record, retry));
        return;
      }
      this.#children.detach(record);
      record.restarts += 1;
      this.#emit({ type: 'supervisor.child_restarted', child: record.spec.id, restarts: record.restarts });
    }
  }

  async #retry(record: ChildRecord, attempt: RestartAttempt): Promise<void> {
    if (this.#status !== 'running' || record.attempt !== attempt || !this.#children.holds(record)) return;
    await this.#restart(record);
  }

  // ---- stopping ----

  /** Stops one running child according to its `shutdown`, leaving it terminated. */
  async #shutdownRecord(record: ChildRecord): Promise<void> {
    const { ref, incarnation } = record;
    if (ref === undefined || incarnation === undefined) return;
    if (incarnation.exit !== undefined) {
      // It stopped on its own and its report is still queued; that report is stale once we are done, so tell it here.
      this.#clearRun(record, incarnation);
      this.#emit({ type: 'supervisor.child_exited', child: record.spec.id, reason: describeExitReason(incarnation.exit) });
      return;
    }
    const outcome = await shutdownChild(ref, record.spec.shutdown, this.#options.timers, this.#abort.signal);
    if (outcome === undefined) return; // kill() got there first, and reported it
    this.#clearRun(record, incarnation);
    this.#emit({ type: 'supervisor.child_terminated', child: record.spec.id, ...outcome });
  }

  #clearRun(record: ChildRecord, incarnation: Incarnation): void {
    if (record.incarnation !== incarnation) return;
    record.ref = undefined;
    record.incarnation = undefined;
    record.status = 'terminated';
  }

  /** Stops every running child, in reverse start order; a simple_one_for_one supervisor asks them all at once. */
  async #terminateChildren(): Promise<void> {
    const running = this.#children.inStartOrder().filter((record) => record.ref !== undefined).reverse();
    if (this.#options.strategy === 'simple_one_for_one') {
      await Promise.all(running.map((record) => this.#shutdownRecord(record)));
      return;
    }
    for (const record of running) {
      if (this.#abort.signal.aborted) return;
      await this.#shutdownRecord(record);
    }
  }

  /** Kills every running child at once, in reverse start order. */
  #killChildren(): void {
    this.#abort.abort();
    this.#children.cancelAttempts();
    for (const record of this.#children.inStartOrder().reverse()) {
      const { ref, incarnation } = record;
      if (ref === undefined) continue;
      record.ref = undefined;
      record.incarnation = undefined;
      record.status = 'terminated';
      if (incarnation?.exit !== undefined) {
        this.#emit({ type: 'supervisor.child_exited', child: record.spec.id, reason: describeExitReason(incarnation.exit) });
        continue;
      }
      const error = tryKill(ref);
      this.#emit({ type: 'supervisor.child_terminated', child: record.spec.id, how: 'killed', timedOut: false, ...(error === undefined ? {} : { error }) });
    }
  }

  /** Gives up: stops every child in reverse, then reports the failure to the parent, or to onFatal at the root. */
  async #fail(error: LlmStateError, child: string): Promise<void> {
    if (this.#finished) return;
    this.#status = 'failed';
    this.#children.cancelAttempts();
    await this.#terminateChildren();
    this.#finish('reached_max_restart_intensity', child);
    this.#notify({ error }, true);
  }

  /** The supervisor is down for good: what is left of each child is settled, and stop() resolves. */
  #finish(reason: ShutdownReason, child?: string): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#children.retireAll();
    this.#emit({ type: 'supervisor.shutdown', reason, ...(child === undefined ? {} : { child }) });
    this.#resolveDown();
  }

  #notify(reason: ExitReason, fatal: boolean): void {
    if (this.#notified) return;
    this.#notified = true;
    try {
      if (this.#link !== undefined) this.#link.exited(reason);
      else if (fatal && typeof reason === 'object') this.#options.onFatal?.(reason as { error: LlmStateError });
    } catch (error) {
      warn(`Supervisor '${this.id}': reporting its exit threw`, error);
    }
  }

  // ---- plumbing ----

  /** Runs `task` after every task queued before it: the supervisor handles one thing at a time. */
  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task);
    this.#queue = run.then(noop, noop);
    return run;
  }

  /** Queues an internal task. An error in one is a bug in the supervisor, which then fails like a crashed process. */
  #post(task: () => Promise<void>): void {
    this.#enqueue(task).catch((error: unknown) => this.#crash(error));
  }

  #crash(error: unknown): void {
    if (this.#finished) {
      warn(`Supervisor '${this.id}': an internal task failed after shutdown`, error);
      return;
    }
    this.#status = 'failed';
    this.#killChildren();
    this.#finish('internal_error');
    const failure = new LlmStateError('SUPERVISOR_SHUTDOWN', `Supervisor '${this.id}' failed: ${messageOf(error)}`, {
      cause: error,
      details: { supervisor: this.id, reason: 'internal_error' },
    });
    this.#notify({ error: failure }, true);
  }

  #newChildRecord(specOrArgs: ChildSpec | Args): ChildRecord {
    const template = this.#options.childTemplate;
    if (this.#options.strategy !== 'simple_one_for_one' || template === undefined) {
      checkChildSpec(specOrArgs, 'spec');
      return newRecord(resolveChildSpec(specOrArgs), false);
    }
    const args = specOrArgs as Args;
    const id: unknown = template.id === undefined ? `${this.id}-${++this.#dynamicCount}` : template.id(args);
    if (typeof id !== 'string' || id.length === 0) {
      throw new TypeError(`Expected \`childTemplate.id(args)\` to return a non-empty string, got ${describeOption(id)}`);
    }
    const spec = resolveChildSpec({
      id,
      start: (link) => template.start(link, args),
      restart: template.restart,
      shutdown: template.shutdown,
      type: template.type,
    });
    return newRecord(spec, true);
  }

  #log(record: RestartRecord): void {
    this.#restartLog.push(record);
    if (this.#restartLog.length > RESTART_LOG_LIMIT) this.#restartLog.shift();
  }

  #emit(event: DistributiveOmit<SupervisorEvent, 'supervisor' | 'at'>): void {
    try {
      this.#options.emit({ ...event, supervisor: this.id, at: this.#options.clock.now() } as SupervisorEvent);
    } catch (error) {
      warn(`Supervisor '${this.id}': the emit() option threw on ${event.type}`, error);
    }
  }

  #find(id: string): ChildRecord {
    const record = this.#children.get(id);
    if (record === undefined) {
      throw new LlmStateError('AGENT_NOT_FOUND', `Supervisor '${this.id}' has no child '${id}'`, {
        details: { supervisor: this.id, child: id },
      });
    }
    return record;
  }

  #assertOpen(operation: string): void {
    if (this.#status === 'idle') {
      throw new TypeError(`Cannot ${operation}: supervisor '${this.id}' has not been started; call start() first`);
    }
    if (this.#status !== 'starting' && this.#status !== 'running') throw this.#shutdownError(operation);
  }

  #assertRunning(operation: string): void {
    if (this.#status !== 'running') throw this.#shutdownError(operation);
  }

  #assertStatic(operation: string): void {
    if (this.#options.strategy === 'simple_one_for_one') {
      throw new TypeError(`${operation}() is not available on simple_one_for_one supervisor '${this.id}' (as in OTP); use startChild(args) and terminateChild(id)`);
    }
  }

  #assertId(id: unknown): void {
    if (typeof id !== 'string' || id.length === 0) {
      throw new TypeError(`Expected \`id\` to be a non-empty string, got ${describeOption(id)}`);
    }
  }

  #shutdownError(operation: string): LlmStateError {
    return new LlmStateError('SUPERVISOR_SHUTDOWN', `Cannot ${operation}: supervisor '${this.id}' is ${this.#status}`, {
      details: { supervisor: this.id, status: this.#status },
    });
  }
}

function isChildRef(value: unknown): value is ChildRef {
  return typeof (value as ChildRef | null)?.stop === 'function' && typeof (value as ChildRef).kill === 'function';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function warn(message: string, error: unknown): void {
  process.emitWarning(`${message}: ${messageOf(error)}`, { type: 'LlmStateWarning' });
}

function noop(): void {}
