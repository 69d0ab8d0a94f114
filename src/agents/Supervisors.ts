import type { DeadLetter } from '../../actors/deadLetterRecord.js';
import type { ChildSpec } from '../../supervisors/childSpec.js';
import type { ChildCounts, ChildInfo, StartedChild } from '../../supervisors/Supervisor.js';
import type { Strategy } from '../../supervisors/supervisorOptions.js';
import { noSupervisor, type SupervisorSpec, type SupervisorTree } from '../../supervisors/SupervisorTree.js';
import type { StorageBackend } from '../storage/index.js';
import { readDeadLetters, type DeadLetterFilter } from './Agents.js';

export interface SupervisorsDeps {
  tree: SupervisorTree;
  storage: StorageBackend;
  /** Throws RUNTIME_CLOSED once close() has begun. */
  assertReadable(): void;
  /** As `assertReadable`, and throws SUPERVISOR_SHUTDOWN once the root supervisor has failed. */
  assertWritable(): void;
}

/**
 * `rt.supervisors`: the supervisor tree (OTP semantics), and the dead letters of messages that crashed
 * agents. Each method checks that the runtime is open, then asks the tree. The runtime's own parts use
 * the tree itself, so that an agent spawned before close() still starts while the runtime closes.
 *
 * @example
 * const team = rt.supervisors.create({ id: 'team', strategy: 'one_for_one', intensity: 3, period: 5000 });
 * await rt.agents.spawn({ id: 'a1', type: 'chat', machine, supervisor: 'team' });
 * rt.supervisors.whichChildren('team'); // [{ id: 'a1', type: 'worker', status: 'running', restarts: 0 }]
 */
export class Supervisors {
  readonly #deps: SupervisorsDeps;

  /** @internal */
  constructor(deps: SupervisorsDeps) {
    this.#deps = deps;
  }

  /**
   * Creates and starts a supervisor under `parent` (default `root`). Returns at once; operations on it
   * wait until it runs.
   *
   * @throws {TypeError} for an invalid spec or an id in use. @throws {AGENT_NOT_FOUND} for an unknown parent.
   * @throws {RUNTIME_CLOSED} @throws {SUPERVISOR_SHUTDOWN}
   */
  create(spec: SupervisorSpec): SupervisorHandle {
    this.#deps.assertWritable();
    this.#deps.tree.create(spec);
    return this.#handle(spec.id);
  }

  /** A handle on an existing supervisor. @throws {AGENT_NOT_FOUND} when there is none. @throws {RUNTIME_CLOSED} */
  get(id: string): SupervisorHandle {
    this.#deps.assertReadable();
    if (!this.#deps.tree.has(id)) throw noSupervisor(id);
    return this.#handle(id);
  }

  /** Every supervisor, parents before children. @throws {RUNTIME_CLOSED} */
  list(): { id: string; parent: string | undefined; strategy: Strategy; status: string }[] {
    this.#deps.assertReadable();
    return this.#deps.tree.list();
  }

  /** True when a supervisor with this id exists. @throws {RUNTIME_CLOSED} */
  has(id: string): boolean {
    this.#deps.assertReadable();
    return this.#deps.tree.has(id);
  }

  /** Starts a child under `supervisorId`. On a `simple_one_for_one` supervisor too, pass a child spec. @throws {RUNTIME_CLOSED} */
  async startChild(supervisorId: string, spec: ChildSpec): Promise<StartedChild> {
    this.#deps.assertReadable();
    return this.#deps.tree.startChild(supervisorId, spec);
  }

  /** Stops a child; its spec is kept (see OTP `terminate_child`). @throws {RUNTIME_CLOSED} */
  async terminateChild(supervisorId: string, childId: string): Promise<void> {
    this.#deps.assertReadable();
    return this.#deps.tree.terminateChild(supervisorId, childId);
  }

  /** Starts a terminated child again. @throws {RUNTIME_CLOSED} */
  async restartChild(supervisorId: string, childId: string): Promise<void> {
    this.#deps.assertReadable();
    return this.#deps.tree.restartChild(supervisorId, childId);
  }

  /** Forgets a terminated child's spec. @throws {RUNTIME_CLOSED} */
  async deleteChild(supervisorId: string, childId: string): Promise<void> {
    this.#deps.assertReadable();
    return this.#deps.tree.deleteChild(supervisorId, childId);
  }

  /** @throws {AGENT_NOT_FOUND} when there is no such supervisor. @throws {RUNTIME_CLOSED} */
  whichChildren(supervisorId: string): ChildInfo[] {
    this.#deps.assertReadable();
    return this.#deps.tree.whichChildren(supervisorId);
  }

  /** @throws {AGENT_NOT_FOUND} when there is no such supervisor. @throws {RUNTIME_CLOSED} */
  countChildren(supervisorId: string): ChildCounts {
    this.#deps.assertReadable();
    return this.#deps.tree.countChildren(supervisorId);
  }

  /** Validates child specs without starting anything. @throws {TypeError} @throws {RUNTIME_CLOSED} */
  checkChildSpecs(specs: unknown): void {
    this.#deps.assertReadable();
    this.#deps.tree.checkChildSpecs(specs);
  }

  /**
   * Messages that crashed their agent, or were refused as poison; durable, oldest first per agent.
   *
   * @throws {RUNTIME_CLOSED} @throws {DATA_CORRUPT} when a stored letter is damaged.
   */
  async deadLetters(filter?: DeadLetterFilter): Promise<DeadLetter[]> {
    this.#deps.assertReadable();
    return readDeadLetters(this.#deps.storage, filter);
  }

  #handle(id: string): SupervisorHandle {
    return new SupervisorHandle(this, id, async () => {
      this.#deps.assertReadable();
      await this.#deps.tree.whenReady(id);
    });
  }
}

/** One supervisor of the tree, as returned by `rt.supervisors.create`: its methods are those of `rt.supervisors`, for this id. */
export class SupervisorHandle {
  readonly id: string;
  readonly #supervisors: Supervisors;
  readonly #ready: () => Promise<void>;

  /** @internal */
  constructor(supervisors: Supervisors, id: string, ready: () => Promise<void>) {
    this.#supervisors = supervisors;
    this.id = id;
    this.#ready = ready;
  }

  /** Resolves once the supervisor runs; rejects if it could not start. @throws {RUNTIME_CLOSED} */
  ready(): Promise<void> {
    return this.#ready();
  }

  startChild(spec: ChildSpec): Promise<StartedChild> {
    return this.#supervisors.startChild(this.id, spec);
  }

  terminateChild(childId: string): Promise<void> {
    return this.#supervisors.terminateChild(this.id, childId);
  }

  restartChild(childId: string): Promise<void> {
    return this.#supervisors.restartChild(this.id, childId);
  }

  deleteChild(childId: string): Promise<void> {
    return this.#supervisors.deleteChild(this.id, childId);
  }

  whichChildren(): ChildInfo[] {
    return this.#supervisors.whichChildren(this.id);
  }

  countChildren(): ChildCounts {
    return this.#supervisors.countChildren(this.id);
  }
}
