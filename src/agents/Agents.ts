import type { AnyStateMachine } from 'xstate';
import { AgentActor, type AgentHost, type AgentReply } from '../../actors/AgentActor.js';
import {
  AGENT_RECORD_VERSION,
  agentIdOfRecordKey,
  agentPatchSchema,
  agentRecordKey,
  agentRecordRange,
  deadLetterRange,
  decodeAgentRecord,
  type AgentEvent,
  type AgentPatch,
  type AgentRecord,
  type AgentStatus,
} from '../../actors/agentRecord.js';
import { decodeDeadLetter, type DeadLetter } from '../../actors/deadLetterRecord.js';
import type { ChildSpec, RestartType, Shutdown } from '../../supervisors/childSpec.js';
import { DEFAULT_AGENT_SUPERVISOR, type SupervisorTree } from '../../supervisors/SupervisorTree.js';
import { checkOptionsArgument } from '../checkOptions.js';
import { LlmStateError } from '../errors.js';
import { KeyedSerial } from '../KeyedSerial.js';
import { currentCorrelation, type CorrelationContext } from '../events/correlation.js';
import { redactDeadLetter } from '../redaction/index.js';
import { normalizeScopeId } from '../state/keyRules.js';
import { Scope } from '../state/Scope.js';
import { serializeValue } from '../state/values.js';
import type { StorageBackend } from '../storage/index.js';

/** What `rt.agents.spawn` takes. */
export interface SpawnOptions {
  /** The agent's id; its state lives in `Scope.agent(id)`. */
  id: string;
  /** A name for the kind of agent; `restore` finds the machine of a type defined with `define`. */
  type: string;
  /** Plain JSON configuration, kept in the record. @default {} */
  config?: Record<string, unknown>;
  /** The agent's behaviour: an xstate machine. Its persisted snapshot is saved with the record. */
  machine?: AnyStateMachine;
  /** The supervisor to run under. @default 'agents' (a simple_one_for_one supervisor) */
  supervisor?: string;
  /** `every-message` saves the record after each message; `lifecycle` only on pause, stop and save. @default 'every-message' */
  persist?: 'every-message' | 'lifecycle';
  /**
   * OTP restart type, kept in the record so `restore` starts the agent with it again. Under a
   * simple_one_for_one supervisor the template's (`permanent`) applies. @default 'permanent'
   */
  restart?: RestartType;
  /** How long the supervisor waits for the agent to stop; kept in the record like `restart`. @default 5000 */
  shutdown?: Shutdown;
  tools?: AgentRecord['tools'];
  custom?: Record<string, unknown>;
}

export interface RestoreOptions {
  /** The behaviour to restore with; defaults to the machine defined for the record's type. */
  machine?: AnyStateMachine;
  /** The supervisor to run under; defaults to the one in the record, or `agents` if it does not exist. */
  supervisor?: string;
}

/** One line of `rt.agents.list()`. */
export interface AgentSummary {
  id: string;
  type: string;
  /** As last saved. */
  status: AgentStatus;
  /** Running in this process now. */
  live: boolean;
  supervisor: string;
  messages: number;
  restarts: number;
  updatedAt: number;
}

/** An agent running in this process, and the claim that keeps its scope here while it runs. */
interface LiveAgent {
  actor: AgentActor;
  supervisor: string;
  release: () => void;
}

export interface AgentsDeps {
  storage: StorageBackend;
  tree: SupervisorTree;
  host: Omit<AgentHost, 'takeInjectedCrash'> & { takeInjectedCrash(agentId: string): boolean };
  assertWritable(): void;
  assertReadable(): void;
  /** A failure in the background, such as stopping an agent whose scope another process took over. */
  reportError?(error: unknown): void;
  clock: { now(): number };
}

/**
 * `rt.agents`: spawn, address, save, restore and delete agents. Each agent is an actor under a
 * supervisor; its record and its machine's snapshot survive crashes and restarts.
 *
 * `spawn`, `restore`, `delete` and a handle's `stop` of one id run one at a time, in call order: each
 * reads the registry and the store and then changes both, the supervisor tree and the event log, and
 * an interleaving of two of them would leave those disagreeing.
 */
export class Agents {
  readonly #deps: AgentsDeps;
  readonly #live = new Map<string, LiveAgent>();
  readonly #machines = new Map<string, AnyStateMachine>();
  readonly #lifecycle = new KeyedSerial<string>();
  /** Why agents can no longer run here: the root supervisor failed, or the runtime closed. */
  #cannotRun: LlmStateError | undefined;

  /** @internal */
  constructor(deps: AgentsDeps) {
    this.#deps = deps;
  }

  /** Remembers the machine of an agent type, so `restore` can bring such agents back in a new process. @throws {RUNTIME_CLOSED} */
  define(type: string, machine: AnyStateMachine): void {
    this.#deps.assertReadable();
    if (typeof type !== 'string' || type.length === 0) throw new TypeError('Expected `type` to be a non-empty string');
    this.#machines.set(type, machine);
  }

  /**
   * Creates an agent, saves its record, and starts it under its supervisor. Runs after any `spawn`,
   * `restore` or `delete` of the same id called before it, so of two concurrent spawns of one id the
   * first wins and the second is the TypeError of a taken id.
   *
   * @throws {SCOPE_INVALID} for an id that breaks the key rules. @throws {VALUE_INVALID} for non-JSON config.
   * @throws {TypeError} when an agent with this id exists (running, or saved: use `restore` or `delete`),
   *   or for an invalid `restart` or `shutdown`.
   * @throws {AGENT_NOT_FOUND} when the named supervisor does not exist.
   * @example const a = await rt.agents.spawn({ id: 'a1', type: 'chat', config: { model: 'x' }, machine });
   */
  async spawn(options: SpawnOptions): Promise<AgentHandle> {
    this.#deps.assertWritable();
    checkOptionsArgument(options, 'options', 'required');
    const id = normalizeScopeId(options.id, 'agent id');
    if (typeof options.type !== 'string' || options.type.length === 0) throw new TypeError('Expected `type` to be a non-empty string');
    const supervisor = options.supervisor ?? DEFAULT_AGENT_SUPERVISOR;
    this.#assertSupervisor(supervisor, id);
    for (const [name, value] of [['config', options.config ?? {}], ['custom', options.custom ?? {}], ['tools', options.tools ?? []]] as const) {
      try {
        serializeValue(value, Number.MAX_SAFE_INTEGER);
      } catch (error) {
        throw new LlmStateError('VALUE_INVALID', `Agent ${id}'s ${name}: ${(error as Error).message}`, { cause: error, details: { agent: id, field: name } });
      }
    }
    // Checked before the record is saved: a spec the supervisor refuses would leave a record of an agent that never ran.
    this.#deps.tree.checkChildSpecs([this.#childSpec(id, options.restart, options.shutdown, async () => ({ stop: async () => {}, kill: () => {} }))]);
    return this.#lifecycle.run(id, () => this.#spawn(id, supervisor, options));
  }

  async #spawn(id: string, supervisor: string, options: SpawnOptions): Promise<AgentHandle> {
    this.#assertCanRun();
    this.#assertSupervisor(supervisor, id);
    if (this.#live.has(id)) throw new TypeError(`Agent ${id} is already running; use rt.agents.get('${id}')`);
    // On a shared store, another process may run the agent: this waits for its lease or refuses.
    const release = await this.#deps.host.claim(Scope.agent(id), (error) => this.#leaseLost(id, error));
    try {
      return await this.#spawnClaimed(id, supervisor, options, release);
    } catch (error) {
      if (this.#live.get(id)?.release !== release) release();
      throw error;
    }
  }

  async #spawnClaimed(id: string, supervisor: string, options: SpawnOptions, release: () => void): Promise<AgentHandle> {
    if ((await this.#deps.storage.get('agents', agentRecordKey(id))) !== undefined) {
      throw new TypeError(`Agent ${id} already exists in the store; use rt.agents.restore('${id}') or delete it first`);
    }
    // The machine becomes its type's, for later restores, only when system spawns: an agent acting through
    // rt.as must not change the behaviour of every agent of a type.
    if (options.machine !== undefined && currentCorrelation()?.principal === undefined) this.#machines.set(options.type, options.machine);
    const now = this.#deps.clock.now();
    const record: AgentRecord = {
      id,
      type: options.type,
      status: 'running',
      config: structuredClone(options.config ?? {}),
      conversation: [],
      tools: structuredClone(options.tools ?? []),
      workflow: { completedSteps: [] },
      custom: structuredClone(options.custom ?? {}),
      machineSnapshot: null,
      supervisor,
      persist: options.persist ?? 'every-message',
      restart: options.restart ?? 'permanent',
      shutdown: options.shutdown ?? 5000,
      metadata: { createdAt: now, updatedAt: now, schemaVersion: AGENT_RECORD_VERSION, messages: 0, restarts: 0 },
    };
    const actor = new AgentActor(this.#deps.host, record, options.machine);
    await actor.persistAs({ kind: 'agent.spawned', data: { type: options.type, supervisor } });
    return this.#run(actor, supervisor, record.restart, record.shutdown, release);
  }

  /**
   * The handle of a running agent.
   *
   * @throws {AGENT_NOT_FOUND} when no agent with this id runs in this process (a saved one needs `restore`).
   */
  get(id: string): AgentHandle {
    this.#deps.assertReadable();
    const live = this.#live.get(id);
    if (live === undefined) {
      throw new LlmStateError('AGENT_NOT_FOUND', `No agent ${id} is running; rt.agents.restore('${id}') brings back a saved one`, {
        details: { agent: id },
      });
    }
    return new AgentHandle(live.actor, this, live.supervisor);
  }

  /** Saves a running agent's record and machine snapshot. @throws {AGENT_NOT_FOUND} */
  async save(id: string): Promise<void> {
    this.#deps.assertWritable();
    await this.#actor(id).save();
  }

  /**
   * Brings back an agent saved earlier, by this process or another, with its record and its machine's
   * snapshot, and starts it under its supervisor. A running agent's handle is returned as it is, so
   * concurrent restores of one id all resolve with the one agent, restored once. Runs after any
   * `spawn`, `restore` or `delete` of the same id called before it.
   *
   * A record saved by an older build, in an older version of the agent record, is upgraded as it is
   * read, and saved in the current version as the agent is restored.
   *
   * @throws {AGENT_NOT_FOUND} when nothing is stored under this id.
   * @throws {DATA_CORRUPT} when the stored record fails its checksum or schema.
   * @throws {MIGRATION_NO_PATH} when a newer llmstate wrote the record, in a version this one does not know.
   */
  async restore(id: string, options: RestoreOptions = {}): Promise<AgentHandle> {
    this.#deps.assertWritable();
    checkOptionsArgument(options);
    return this.#lifecycle.run(id, () => this.#restore(id, options));
  }

  async #restore(id: string, options: RestoreOptions): Promise<AgentHandle> {
    this.#assertCanRun();
    const live = this.#live.get(id);
    if (live !== undefined) return new AgentHandle(live.actor, this, live.supervisor);
    // Claimed before the record is read: on a shared store, the record is then the last its previous
    // process wrote, and that process can write no more.
    const release = await this.#deps.host.claim(Scope.agent(id), (error) => this.#leaseLost(id, error));
    try {
      return await this.#restoreClaimed(id, options, release);
    } catch (error) {
      if (this.#live.get(id)?.release !== release) release();
      throw error;
    }
  }

  async #restoreClaimed(id: string, options: RestoreOptions, release: () => void): Promise<AgentHandle> {
    const record = await this.#load(id);
    if (record === undefined) throw new LlmStateError('AGENT_NOT_FOUND', `No agent ${id} is stored`, { details: { agent: id } });
    const machine = options.machine ?? this.#machines.get(record.type);
    if (record.machineSnapshot !== null && machine === undefined) {
      throw new TypeError(`Agent ${id} was saved with a machine; pass { machine } or call rt.agents.define('${record.type}', machine) first`);
    }
    const wanted = options.supervisor ?? record.supervisor;
    const supervisor = this.#deps.tree.has(wanted) ? wanted : DEFAULT_AGENT_SUPERVISOR;
    const actor = new AgentActor(this.#deps.host, { ...record, status: record.status === 'paused' ? 'paused' : 'running', supervisor }, machine);
    // Saved at once, so a record read in an older version is stored in the current one from here on.
    await actor.persistAs({ kind: 'agent.restored', data: { supervisor } });
    return this.#run(actor, supervisor, record.restart, record.shutdown, release);
  }

  /**
   * Every stored agent, with whether it runs in this process.
   *
   * @throws {DATA_CORRUPT} when a stored record is damaged. @throws {MIGRATION_NO_PATH} when a newer llmstate wrote one.
   */
  async list(): Promise<AgentSummary[]> {
    this.#deps.assertReadable();
    const summaries: AgentSummary[] = [];
    for await (const [key, bytes] of this.#deps.storage.iterate('agents', agentRecordRange())) {
      const id = agentIdOfRecordKey(key);
      const live = this.#live.get(id);
      const record = live?.actor.record() ?? decodeAgentRecord(bytes, id);
      summaries.push({
        id,
        type: record.type,
        status: record.status,
        live: live !== undefined,
        supervisor: record.supervisor,
        messages: record.metadata.messages,
        restarts: record.metadata.restarts,
        updatedAt: record.metadata.updatedAt,
      });
    }
    return summaries;
  }

  /**
   * A stored agent's record, running or not, in the current version of the agent record (one stored in an
   * older version is upgraded as it is read; the store is not written).
   *
   * @throws {AGENT_NOT_FOUND} @throws {DATA_CORRUPT} @throws {MIGRATION_NO_PATH} when a newer llmstate wrote the record.
   */
  async show(id: string): Promise<AgentRecord> {
    this.#deps.assertReadable();
    const live = this.#live.get(id);
    if (live !== undefined) return live.actor.record();
    const record = await this.#load(id);
    if (record === undefined) throw new LlmStateError('AGENT_NOT_FOUND', `No agent ${id} is stored`, { details: { agent: id } });
    return record;
  }

  /**
   * Stops the agent if it runs, and removes its record, its dead letters and its `agent:<id>` state.
   * Resolves with whether there was anything to delete: of concurrent deletes of one id, the first
   * resolves `true` and the others `false`. Runs after any `spawn`, `restore` or `delete` of the same id
   * called before it. Once it resolves `true`, the agent's handles refuse every operation with
   * `ACTOR_STOPPED`, and nothing of the agent is saved again, not even by `close()`.
   */
  async delete(id: string, context: CorrelationContext | undefined = currentCorrelation()): Promise<boolean> {
    this.#deps.assertWritable();
    return this.#lifecycle.run(id, () => this.#delete(id, context));
  }

  async #delete(id: string, context: CorrelationContext | undefined): Promise<boolean> {
    this.#assertCanRun();
    const live = this.#live.get(id);
    if (live !== undefined) {
      await this.#removeChild(live.supervisor, id);
      await live.actor.retire(new LlmStateError('ACTOR_STOPPED', `Agent ${id} was deleted`, { details: { agent: id } }));
      this.#forgetLive(id);
    }
    const stored = (await this.#deps.storage.get('agents', agentRecordKey(id))) !== undefined;
    if (!stored && live === undefined) return false;
    const ops = [{ type: 'del' as const, sublevel: 'agents' as const, key: agentRecordKey(id) }];
    for await (const [key] of this.#deps.storage.iterate('agents', deadLetterRange(id))) ops.push({ type: 'del', sublevel: 'agents', key });
    const scope = Scope.agent(id);
    await this.#deps.host.ownerOf(scope).clear(context);
    await this.#deps.host.ownerOf(scope).commitRecord({ extraOps: ops, events: [{ kind: 'agent.deleted', agentId: id }] }, context);
    return true;
  }

  /** Dead letters, oldest first per agent. @throws {DATA_CORRUPT} when a stored letter is damaged. */
  async deadLetters(filter: DeadLetterFilter = {}): Promise<DeadLetter[]> {
    this.#deps.assertReadable();
    return readDeadLetters(this.#deps.storage, filter);
  }

  /** Throws RUNTIME_CLOSED or SUPERVISOR_SHUTDOWN when the runtime takes no more writes. @internal */
  assertWritable(): void {
    this.#deps.assertWritable();
  }

  /** Whether `id` names an agent running in this process. @internal */
  isLive(id: string): boolean {
    return this.#live.has(id);
  }

  /** Ids of the agents running in this process. @throws {RUNTIME_CLOSED} */
  liveIds(): string[] {
    this.#deps.assertReadable();
    return [...this.#live.keys()];
  }

  /**
   * Waits for the spawns, restores and deletes called before close(), then saves every running agent;
   * the supervisor tree stops them. @internal
   */
  async saveAll(): Promise<void> {
    await this.#lifecycle.idle();
    await Promise.allSettled([...this.#live.values()].map(({ actor }) => actor.save()));
  }

  /** Rejects every queued message, and every spawn, restore and delete still waiting its turn: the runtime can no longer run agents. @internal */
  rejectAllQueued(error: LlmStateError): void {
    this.#cannotRun ??= error;
    for (const { actor } of this.#live.values()) actor.rejectQueued(error);
  }

  /**
   * Forgets every running agent, once what is under way (a spawn, a restore) is done: on a shared store,
   * after runtime.fatal, where another process may restore and run them, nothing of them is answered from
   * memory here any more; reads of them go to the store, and their handles refuse everything with `error`.
   * Nothing is saved. @internal
   */
  async letGoAll(error: LlmStateError): Promise<void> {
    await this.#lifecycle.idle();
    for (const [id, { actor }] of [...this.#live]) {
      this.#forgetLive(id);
      await actor.retire(error);
    }
  }

  /**
   * Cuts a running agent off (quarantine): rejects its queued messages with `error` at once, so none is
   * processed, then stops it (saved as stopped) and takes it out of its supervisor. @internal
   */
  cutOff(id: string, error: LlmStateError): Promise<void> {
    this.#live.get(id)?.actor.rejectQueued(error);
    return this.#lifecycle.run(id, async () => {
      const live = this.#live.get(id);
      if (live === undefined) return;
      live.actor.rejectQueued(error);
      await live.actor.stop();
      await this.#removeChild(live.supervisor, id);
      this.#forgetLive(id);
      await live.actor.retire(error);
    });
  }

  /**
   * Stops `actor`, the agent behind a handle, if it still runs (a handle of a deleted agent stops
   * nothing, not even an agent spawned again under its id). @internal
   */
  stopAgent(actor: AgentActor, supervisor: string): Promise<void> {
    const id = actor.id;
    return this.#lifecycle.run(id, async () => {
      const live = this.#live.get(id);
      if (live === undefined || live.actor !== actor) return;
      await live.actor.stop();
      await this.#removeChild(supervisor, id);
      this.#forgetLive(id);
      // Stopped and saved: from here on it writes nothing, so a later delete stays a delete.
      await live.actor.retire(new LlmStateError('ACTOR_STOPPED', `Agent ${id} is stopped`, { details: { agent: id } }));
    });
  }

  async #run(actor: AgentActor, supervisor: string, restart: RestartType | undefined, shutdown: Shutdown | undefined, release: () => void): Promise<AgentHandle> {
    this.#live.set(actor.id, { actor, supervisor, release });
    // Under simple_one_for_one the template's restart type (permanent) applies.
    const simple = this.#deps.tree.list().find((node) => node.id === supervisor)?.strategy === 'simple_one_for_one';
    const temporary = !simple && restart === 'temporary';
    try {
      await this.#deps.tree.startChild(
        supervisor,
        this.#childSpec(actor.id, restart, shutdown, async (link) => {
          if (!temporary) return actor.start(link);
          // OTP never restarts a temporary child: once it crashes, or its supervisor stops it, it is gone.
          const ref = await actor.start({
            exited: (reason) => {
              link.exited(reason);
              this.#retire(actor, 'crashed');
            },
          });
          return {
            stop: async () => {
              await ref.stop();
              this.#retire(actor);
            },
            kill: () => {
              ref.kill();
              this.#retire(actor);
            },
          };
        }),
      );
    } catch (error) {
      this.#forgetLive(actor.id);
      await actor.retire(new LlmStateError('ACTOR_STOPPED', `Agent ${actor.id} did not start`, { cause: error, details: { agent: actor.id } }));
      throw error;
    }
    return new AgentHandle(actor, this, supervisor);
  }

  #childSpec(id: string, restart: RestartType | undefined, shutdown: Shutdown | undefined, start: ChildSpec['start']): ChildSpec {
    return { id, start, restart: restart ?? 'permanent', shutdown: shutdown ?? 5000 };
  }

  /** Takes the agent out of its supervisor; one its supervisor has already forgotten is out already. */
  async #removeChild(supervisor: string, id: string): Promise<void> {
    try {
      await this.#deps.tree.removeChild(supervisor, id);
    } catch (error) {
      if (!(error instanceof LlmStateError && error.code === 'AGENT_NOT_FOUND' && error.details?.child === id)) throw error;
    }
  }

  /**
   * For an operation that waited its turn: close() waits for those called before it, but once the root
   * supervisor has failed (SUPERVISOR_SHUTDOWN) none may start.
   */
  #assertCanRun(): void {
    if (this.#cannotRun !== undefined) throw this.#cannotRun;
  }

  #assertSupervisor(supervisor: string, id: string): void {
    if (!this.#deps.tree.has(supervisor)) {
      throw new LlmStateError('AGENT_NOT_FOUND', `There is no supervisor '${supervisor}' to spawn agent ${id} under`, { details: { supervisor } });
    }
  }

  /** A temporary agent crashed or was stopped by its supervisor: it will not run again. */
  #retire(actor: AgentActor, status?: 'crashed'): void {
    if (this.#live.get(actor.id)?.actor !== actor) return;
    this.#forgetLive(actor.id);
    const error = new LlmStateError('ACTOR_STOPPED', `Agent ${actor.id} is temporary and its supervisor does not restart it`, { details: { agent: actor.id } });
    actor.retire(error, status).catch(() => {});
  }

  /**
   * Another process took the agent's scope over (this one was paused past its lease): the agent stops here
   * at once and saves nothing more, so that it never writes over its successor; what was queued for it is
   * refused with LEASE_LOST. It runs on in the process that holds it now.
   */
  #leaseLost(id: string, error: LlmStateError): void {
    const live = this.#live.get(id);
    if (live === undefined) return;
    this.#forgetLive(id);
    live.actor.rejectQueued(error);
    void this.#lifecycle
      .run(id, async () => {
        await live.actor.retire(error);
        await this.#removeChild(live.supervisor, id);
      })
      .catch((failure: unknown) => this.#deps.reportError?.(failure));
  }

  #forgetLive(id: string): void {
    this.#live.get(id)?.release();
    this.#live.delete(id);
  }

  #actor(id: string): AgentActor {
    this.get(id);
    return this.#live.get(id)!.actor;
  }

  async #load(id: string): Promise<AgentRecord | undefined> {
    const bytes = await this.#deps.storage.get('agents', agentRecordKey(id));
    return bytes === undefined ? undefined : decodeAgentRecord(bytes, id);
  }
}

export interface DeadLetterFilter {
  agentId?: string;
  limit?: number;
}

/**
 * Dead letters from the store, oldest first per agent, redacted as every view of a dead letter is.
 *
 * @throws {DATA_CORRUPT} when a letter is damaged.
 */
export async function readDeadLetters(storage: StorageBackend, filter: DeadLetterFilter = {}): Promise<DeadLetter[]> {
  checkOptionsArgument(filter, 'filter');
  const letters: DeadLetter[] = [];
  const range = { ...deadLetterRange(filter.agentId), ...(filter.limit === undefined ? {} : { limit: filter.limit }) };
  for await (const [key, bytes] of storage.iterate('agents', range)) letters.push(decodeDeadLetter(bytes, key));
  return letters.map((letter) => redactDeadLetter(letter));
}

/** What `rt.agents.get(id)` returns: the way to talk to a running agent. */
export class AgentHandle {
  readonly id: string;
  readonly #actor: AgentActor;
  readonly #agents: Agents;
  readonly #supervisor: string;

  /** @internal */
  constructor(actor: AgentActor, agents: Agents, supervisor: string) {
    this.id = actor.id;
    this.#actor = actor;
    this.#agents = agents;
    this.#supervisor = supervisor;
  }

  /**
   * Sends a message to the agent's machine; messages are processed one at a time, in order.
   *
   * @throws {ACTOR_CRASHED} the message crashed the agent; it was dead-lettered and the supervisor decides.
   * @throws {ACTOR_STOPPED} the agent is stopped or deleted.
   * @throws {VALUE_INVALID} the message is not JSON data.
   * @example const { state } = await a.send({ type: 'USER_MESSAGE', text: 'hi' })
   */
  send(event: AgentEvent): Promise<AgentReply> {
    try {
      this.#agents.assertWritable();
      if (typeof event !== 'object' || event === null || typeof event.type !== 'string') {
        throw new TypeError('Expected the message to be an object with a string `type`');
      }
      serializeValue(event, Number.MAX_SAFE_INTEGER);
      return this.#actor.send(structuredClone(event));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Stops processing messages (they queue) and saves the agent. */
  pause(): Promise<void> {
    return this.#writing(() => this.#actor.pause());
  }

  resume(): Promise<void> {
    return this.#writing(() => this.#actor.resume());
  }

  /** Processes what is queued, saves the agent as stopped, and removes it from its supervisor. */
  stop(): Promise<void> {
    return this.#writing(() => this.#agents.stopAgent(this.#actor, this.#supervisor));
  }

  /** Saves the record and the machine's snapshot now. */
  save(): Promise<void> {
    return this.#writing(() => this.#actor.save());
  }

  /** Changes config, conversation, tools, workflow progress or custom data, and saves. */
  update(patch: AgentPatch): Promise<void> {
    const parsed = agentPatchSchema.safeParse(patch);
    if (!parsed.success) return Promise.reject(new LlmStateError('VALUE_INVALID', `Invalid agent update: ${parsed.error.message}`, { details: { issues: parsed.error.issues } }));
    return this.#writing(() => this.#actor.update(parsed.data));
  }

  /** Where the agent is in its lifecycle, and how busy it is. */
  status(): { id: string; state: string; queued: number; restarts: number; supervisor: string } {
    return { id: this.id, state: this.#actor.state, queued: this.#actor.queued, restarts: this.#actor.restarts, supervisor: this.#supervisor };
  }

  /** Runs a write, unless the runtime is closed (RUNTIME_CLOSED) or has failed (SUPERVISOR_SHUTDOWN). */
  #writing<T>(write: () => Promise<T>): Promise<T> {
    try {
      this.#agents.assertWritable();
    } catch (error) {
      return Promise.reject(error);
    }
    return write();
  }

  /** A copy of the agent's record as it stands. */
  record(): AgentRecord {
    return this.#actor.record();
  }
}
