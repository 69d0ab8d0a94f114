import { checkOptionsArgument } from '../src/checkOptions.js';
import type { Clock } from '../src/clock.js';
import { LlmStateError } from '../src/errors.js';
import type { EventSpec } from '../src/events/eventLog.js';
import type { SupervisorEventKind } from '../src/events/eventKinds.js';
import { checkChildSpecs } from './checkChildSpecs.js';
import type { ChildSpec, RestartType } from './childSpec.js';
import type { BackoffOptions } from './restartBudget.js';
import { Supervisor, type ChildCounts, type ChildInfo, type StartedChild } from './Supervisor.js';
import type { SupervisorEvent } from './supervisorEvents.js';
import type { Strategy } from './supervisorOptions.js';
import type { Timers } from '../src/timers.js';

/** What `rt.supervisors.create` takes. */
export interface SupervisorSpec {
  id: string;
  strategy: Strategy;
  /** @default 3 */
  intensity?: number;
  /** @default 5000 */
  period?: number;
  backoff?: BackoffOptions;
  /** The supervisor above this one. @default 'root' */
  parent?: string;
  /** How the parent restarts this supervisor when it gives up. @default 'permanent' */
  restart?: RestartType;
}

export interface SupervisorTreeOptions {
  clock: Clock;
  timers: Timers;
  random: () => number;
  /** Budget of the root supervisor. */
  rootIntensity: number;
  rootPeriod: number;
  /** Logs supervisor events. */
  record(events: EventSpec[]): Promise<void>;
  /** Whether a child id names an agent, so its events are indexed by agent. */
  isAgent(id: string): boolean;
  /** The root gave up: the runtime refuses writes from now on. */
  onFatal(error: LlmStateError): void;
}

/** The supervisor that owns every other one. */
export const ROOT_SUPERVISOR = 'root';
/** Where agents that name no supervisor go: a `simple_one_for_one` supervisor. */
export const DEFAULT_AGENT_SUPERVISOR = 'agents';

interface Node {
  readonly spec: Required<Pick<SupervisorSpec, 'id' | 'strategy'>> & SupervisorSpec;
  readonly parent: Node | undefined;
  /** Children added after creation (agents, nested supervisors), in start order. A restart starts them again. */
  readonly members: Map<string, ChildSpec>;
  current: Supervisor<ChildSpec> | undefined;
  ready: Promise<void>;
}

/**
 * The supervisor tree behind `rt.supervisors`. A `root` supervisor owns everything: the default `agents`
 * supervisor and every supervisor created here. When a supervisor is restarted by its parent, it starts
 * all its members again, so agents come back with their state reloaded from the store.
 *
 * The tree does not know whether the runtime is open: `rt.supervisors` checks that before it asks, and
 * the agents layer and close() use the tree while the runtime closes.
 */
export class SupervisorTree {
  readonly #options: SupervisorTreeOptions;
  readonly #nodes = new Map<string, Node>();
  readonly #root: Node;
  /**
   * The built-in supervisors start on every open and stop on every close; that is not news for the
   * event log, so events are logged only in between.
   */
  #logging = false;

  /** @internal */
  constructor(options: SupervisorTreeOptions) {
    this.#options = options;
    this.#root = this.#newNode({ id: ROOT_SUPERVISOR, strategy: 'one_for_one', intensity: options.rootIntensity, period: options.rootPeriod }, undefined);
    const root = this.#build(this.#root);
    this.#root.current = root;
    this.#root.ready = root.start();
    this.create({ id: DEFAULT_AGENT_SUPERVISOR, strategy: 'simple_one_for_one' });
  }

  /** Resolves once the root and the default agents supervisor run. @internal */
  async ready(): Promise<void> {
    await this.#root.ready;
    await this.#nodes.get(DEFAULT_AGENT_SUPERVISOR)!.ready;
    this.#logging = true;
  }

  /**
   * Creates and starts a supervisor under `parent` (default `root`). Returns at once; operations on it
   * wait until it runs.
   *
   * @throws {TypeError} for an invalid spec or an id in use.
   */
  create(spec: SupervisorSpec): void {
    checkOptionsArgument(spec, 'spec', 'required');
    if (typeof spec.id !== 'string' || spec.id.length === 0) throw new TypeError('Expected `id` to be a non-empty string');
    if (this.#nodes.has(spec.id)) throw new TypeError(`A supervisor with id '${spec.id}' already exists`);
    const parent = this.#node(spec.parent ?? ROOT_SUPERVISOR);
    const node = this.#newNode(spec, parent);
    try {
      // Build once now so that invalid options throw here, not later inside the parent.
      this.#build(node);
    } catch (error) {
      this.#nodes.delete(spec.id);
      throw error;
    }
    const childSpec = this.#childSpecOf(node);
    // A member once started: a parent that has not started yet would otherwise start it twice.
    node.ready = parent.ready.then(async () => {
      await this.#current(parent).startChild(childSpec);
      parent.members.set(node.spec.id, childSpec);
    });
    node.ready.catch(() => {});
  }

  /** Every supervisor id, parents before children. */
  list(): { id: string; parent: string | undefined; strategy: Strategy; status: string }[] {
    return [...this.#nodes.values()].map((node) => ({
      id: node.spec.id,
      parent: node.parent?.spec.id,
      strategy: node.spec.strategy,
      status: node.current?.status ?? 'starting',
    }));
  }

  /** Starts a child under `supervisorId`. On a `simple_one_for_one` supervisor too, pass a child spec. */
  async startChild(supervisorId: string, spec: ChildSpec): Promise<StartedChild> {
    checkOptionsArgument(spec, 'spec', 'required');
    checkChildSpecs([spec], 'spec');
    const node = this.#node(supervisorId);
    await node.ready;
    const started = await this.#current(node).startChild(spec);
    node.members.set(spec.id, spec);
    return started;
  }

  /** Stops a child; its spec is kept (see OTP `terminate_child`). */
  async terminateChild(supervisorId: string, childId: string): Promise<void> {
    const node = this.#node(supervisorId);
    await node.ready;
    await this.#current(node).terminateChild(childId);
    if (node.spec.strategy === 'simple_one_for_one') node.members.delete(childId);
  }

  /** Starts a terminated child again. */
  async restartChild(supervisorId: string, childId: string): Promise<void> {
    const node = this.#node(supervisorId);
    await node.ready;
    await this.#current(node).restartChild(childId);
  }

  /** Forgets a terminated child's spec. */
  async deleteChild(supervisorId: string, childId: string): Promise<void> {
    const node = this.#node(supervisorId);
    await node.ready;
    await this.#current(node).deleteChild(childId);
    node.members.delete(childId);
  }

  /** Stops a child and forgets it, whatever the strategy. @internal */
  async removeChild(supervisorId: string, childId: string): Promise<void> {
    const node = this.#node(supervisorId);
    node.members.delete(childId);
    const current = node.current;
    if (current === undefined || current.status !== 'running') return;
    if (!current.whichChildren().some((child) => child.id === childId)) return;
    await current.terminateChild(childId);
    if (node.spec.strategy !== 'simple_one_for_one' && current.whichChildren().some((child) => child.id === childId)) {
      await current.deleteChild(childId);
    }
  }

  whichChildren(supervisorId: string): ChildInfo[] {
    return this.#node(supervisorId).current?.whichChildren() ?? [];
  }

  countChildren(supervisorId: string): ChildCounts {
    return this.#node(supervisorId).current?.countChildren() ?? { specs: 0, active: 0, supervisors: 0, workers: 0 };
  }

  /** Validates child specs without starting anything. @throws {TypeError} */
  checkChildSpecs(specs: unknown): void {
    checkChildSpecs(specs, 'children');
  }

  /** True when a supervisor with this id exists. */
  has(id: string): boolean {
    return this.#nodes.has(id);
  }

  /** Waits for a supervisor to run. @internal */
  async whenReady(id: string): Promise<void> {
    await this.#node(id).ready;
  }

  /** Stops the whole tree, children in reverse start order. @internal */
  async stop(): Promise<void> {
    this.#logging = false;
    await this.#root.ready.catch(() => {});
    await this.#root.current?.stop();
  }

  #newNode(spec: SupervisorSpec, parent: Node | undefined): Node {
    const node: Node = { spec: { ...spec }, parent, members: new Map(), current: undefined, ready: Promise.resolve() };
    this.#nodes.set(spec.id, node);
    return node;
  }

  #childSpecOf(node: Node): ChildSpec {
    return {
      id: node.spec.id,
      type: 'supervisor',
      restart: node.spec.restart ?? 'permanent',
      shutdown: 'infinity',
      start: async (link) => {
        // OTP never restarts a temporary child, not even when its supervisor starts again.
        for (const [id, member] of node.members) if (member.restart === 'temporary') node.members.delete(id);
        const supervisor = this.#build(node);
        node.current = supervisor;
        await supervisor.start(link);
        if (node.spec.strategy === 'simple_one_for_one') {
          for (const member of node.members.values()) await supervisor.startChild(member);
        }
        return supervisor;
      },
    };
  }

  #build(node: Node): Supervisor<ChildSpec> {
    const simple = node.spec.strategy === 'simple_one_for_one';
    const { clock, timers, random } = this.#options;
    return new Supervisor<ChildSpec>({
      id: node.spec.id,
      strategy: node.spec.strategy,
      ...(node.spec.intensity === undefined ? {} : { intensity: node.spec.intensity }),
      ...(node.spec.period === undefined ? {} : { period: node.spec.period }),
      ...(node.spec.backoff === undefined ? {} : { backoff: node.spec.backoff }),
      ...(simple
        ? { childTemplate: { id: (spec: ChildSpec) => spec.id, start: (link, spec: ChildSpec) => spec.start(link), restart: 'permanent' as const } }
        : { children: [...node.members.values()] }),
      clock,
      timers,
      random,
      emit: (event) => this.#emit(event),
      ...(node.parent === undefined ? { onFatal: ({ error }: { error: LlmStateError }) => this.#options.onFatal(error) } : {}),
    });
  }

  #emit(event: SupervisorEvent): void {
    if (!this.#logging) return;
    const { type, supervisor, at: _at, ...rest } = event;
    const child = 'child' in event ? event.child : undefined;
    const data: Record<string, unknown> = { supervisor };
    for (const [name, value] of Object.entries(rest)) data[name] = value instanceof Error ? value.message : value;
    const spec: Extract<EventSpec, { kind: SupervisorEventKind }> = { kind: type, data: JSON.parse(JSON.stringify(data)) };
    if (child !== undefined && this.#options.isAgent(child)) spec.agentId = child;
    this.#options.record([spec]).catch(() => {});
  }

  #node(id: string): Node {
    const node = this.#nodes.get(id);
    if (node === undefined) throw noSupervisor(id);
    return node;
  }

  #current(node: Node): Supervisor<ChildSpec> {
    const current = node.current;
    if (current === undefined || current.status === 'stopped' || current.status === 'failed') {
      throw new LlmStateError('SUPERVISOR_SHUTDOWN', `Supervisor '${node.spec.id}' is not running`, { details: { supervisor: node.spec.id } });
    }
    return current;
  }
}

/** The error for a supervisor id that names none. */
export function noSupervisor(id: string): LlmStateError {
  return new LlmStateError('AGENT_NOT_FOUND', `There is no supervisor '${id}'`, { details: { supervisor: id } });
}
