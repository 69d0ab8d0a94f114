import { createHash } from 'node:crypto';
import { nanoid } from 'nanoid';
import { createActor, type Actor, type AnyActorLogic, type AnyStateMachine } from 'xstate';
import type { Clock } from '../src/clock.js';
import { LlmStateError } from '../src/errors.js';
import { currentCorrelation, newCorrelationId, runCorrelated, type CorrelationContext } from '../src/events/correlation.js';
import type { AgentEventKind, EventFields } from '../src/events/eventKinds.js';
import type { EventSpec } from '../src/events/eventLog.js';
import { Scope } from '../src/state/Scope.js';
import type { BatchOp, StorageBackend } from '../src/storage/index.js';
import { agentLifecycle, type AgentLifecycleState } from './agentLifecycle.js';
import {
  agentRecordKey,
  agentRecordSchema,
  deadLetterKey,
  decodeAgentRecord,
  encodeAgentRecord,
  type AgentEvent,
  type AgentPatch,
  type AgentRecord,
} from './agentRecord.js';
import { encodeDeadLetter, type DeadLetter } from './deadLetterRecord.js';
import { Mailbox } from './Mailbox.js';
import type { ScopeActor } from './ScopeActor.js';

/** What an agent needs from the runtime around it. */
export interface AgentHost {
  readonly clock: Clock;
  readonly storage: StorageBackend;
  /** The actor of the agent's own scope: records commit through its mailbox, in order with its state. */
  ownerOf(scope: Scope): ScopeActor;
  /** Holds the agent's scope in this process while it lives; `onLost` when another process takes it over (see ActorSystem.claim). */
  claim(scope: Scope, onLost?: (error: LlmStateError) => void): Promise<() => void>;
  /** True once per crash armed for this agent by the fault injector. */
  takeInjectedCrash(agentId: string): boolean;
  /** A message that crashed its agent this many times is dead-lettered without being delivered again. */
  readonly poisonLimit: number;
}

/** How an agent's exit is reported to its supervisor (the OTP link). */
export interface AgentLink {
  exited(reason: 'normal' | 'shutdown' | { error: unknown }): void;
}

/** What a supervisor holds of a running agent. */
export interface AgentChildRef {
  stop(): Promise<void>;
  kill(): void;
}


/** What `send` resolves with: the machine's state after the message. */
export interface AgentReply {
  /** The machine's state value, such as `'idle'` or `{ working: 'fetching' }`. */
  state: unknown;
  context: unknown;
}


/** One of an agent's lifecycle events, without the `agentId` that {@link AgentActor.persistAs} fills in. */
export type AgentLifecycleEvent = { [K in AgentEventKind]: { kind: K } & Omit<EventFields<K>, 'agentId'> }[AgentEventKind];

interface Envelope {
  event: AgentEvent;
  fingerprint: string;
  context: CorrelationContext | undefined;
  resolve(reply: AgentReply): void;
  reject(error: unknown): void;
}

/**
 * An agent: its record, its optional behaviour (a user-supplied xstate machine), and a FIFO mailbox that
 * outlives crashes. Each start by the supervisor is a new incarnation that reloads the record and the
 * machine snapshot from the store, then carries on with the queued messages.
 */
export class AgentActor {
  readonly id: string;
  readonly scope: Scope;
  readonly #host: AgentHost;
  readonly #machine: AnyStateMachine | undefined;
  readonly #mailbox = new Mailbox<Envelope>();
  readonly #lifecycle = createActor(agentLifecycle).start();
  /** Crashes per message fingerprint, for poison detection; kept across incarnations. */
  readonly #crashes = new Map<string, number>();
  #record: AgentRecord;
  #behaviour: Actor<AnyActorLogic> | undefined;
  #link: AgentLink | undefined;
  #incarnations = 0;
  #processing: Promise<void> | undefined;
  /** Set by retire(): the agent will not run again, and nothing of it is saved again. */
  #retired: LlmStateError | undefined;

  /** @param record the record as last persisted. */
  constructor(host: AgentHost, record: AgentRecord, machine: AnyStateMachine | undefined) {
    this.id = record.id;
    this.scope = Scope.agent(record.id);
    this.#host = host;
    this.#record = record;
    this.#machine = machine;
  }

  get state(): AgentLifecycleState {
    return this.#lifecycle.getSnapshot().value as AgentLifecycleState;
  }

  get queued(): number {
    return this.#mailbox.size;
  }

  get restarts(): number {
    return Math.max(0, this.#incarnations - 1);
  }

  /** A deep copy of the record as this incarnation holds it. */
  record(): AgentRecord {
    return structuredClone({ ...this.#record, machineSnapshot: this.#snapshot() });
  }

  /**
   * Starts an incarnation; the supervisor calls this on start and on every restart.
   * @internal
   */
  async start(link: AgentLink): Promise<AgentChildRef> {
    if (this.#retired !== undefined) throw this.#retired;
    this.#link = link;
    const restart = this.#incarnations > 0;
    this.#incarnations++;
    if (this.state !== 'starting') this.#lifecycle.send({ type: 'RESTART' });
    if (restart) {
      this.#record = await this.#loadRecord();
      this.#record = { ...this.#record, status: 'running', metadata: { ...this.#record.metadata, restarts: this.#record.metadata.restarts + 1 } };
      await this.#persist([{ kind: 'agent.restarted', agentId: this.id, data: { incarnation: this.#incarnations } }]);
    }
    this.#behaviour = this.#createBehaviour(this.#record.machineSnapshot);
    this.#lifecycle.send({ type: 'STARTED' });
    if (this.#record.status === 'paused') this.#lifecycle.send({ type: 'PAUSE' });
    void this.#drain();
    return { stop: () => this.#stopIncarnation(), kill: () => this.#kill() };
  }

  /**
   * Queues `event` for the machine. Resolves with the machine's state after it, once processed (and,
   * with `persist: 'every-message'`, saved).
   *
   * @throws {ACTOR_CRASHED} the message crashed the agent (it is dead-lettered; later messages go on).
   * @throws {ACTOR_STOPPED} the agent is stopped.
   */
  send(event: AgentEvent, context: CorrelationContext | undefined = currentCorrelation()): Promise<AgentReply> {
    const state = this.state;
    if (state === 'stopping' || state === 'stopped') {
      return Promise.reject(new LlmStateError('ACTOR_STOPPED', `Agent ${this.id} is ${state}`, { details: { agent: this.id, state } }));
    }
    return new Promise((resolve, reject) => {
      this.#mailbox.push({ event, fingerprint: fingerprint(event), context, resolve, reject });
      void this.#drain();
    });
  }

  /** Stops taking messages (they queue) and saves. */
  async pause(): Promise<void> {
    this.#assertLive('pause');
    if (this.state === 'paused') return;
    this.#lifecycle.send({ type: 'PAUSE' });
    await this.#processing;
    this.#record = { ...this.#record, status: 'paused' };
    await this.#persist([{ kind: 'agent.paused', agentId: this.id }]);
  }

  async resume(): Promise<void> {
    this.#assertLive('resume');
    if (this.state !== 'paused') return;
    this.#lifecycle.send({ type: 'RESUME' });
    this.#record = { ...this.#record, status: 'running' };
    await this.#persist([{ kind: 'agent.resumed', agentId: this.id }]);
    void this.#drain();
  }

  /** Processes what is queued, then saves with status `stopped` and stops. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    if (this.state === 'paused') this.#lifecycle.send({ type: 'RESUME' });
    await this.#drainFully();
    this.#lifecycle.send({ type: 'STOP' });
    this.#record = { ...this.#record, status: 'stopped' };
    await this.#persist([{ kind: 'agent.stopped', agentId: this.id }]);
    this.#finish();
  }

  /** Persists the record as it stands with one lifecycle event, such as `agent.spawned`. @internal */
  async persistAs(event: AgentLifecycleEvent): Promise<void> {
    await this.#persist([{ ...event, agentId: this.id }]);
  }

  /** Persists the record with the machine's current snapshot. */
  async save(): Promise<void> {
    this.#assertLive('save');
    await this.#persist([{ kind: 'agent.saved', agentId: this.id }]);
  }

  /** Changes the user-editable fields of the record and saves it. */
  async update(patch: AgentPatch): Promise<void> {
    this.#assertLive('update');
    const previous = this.#record;
    this.#record = { ...this.#record, ...patch };
    try {
      await this.#persist([{ kind: 'agent.saved', agentId: this.id, data: { fields: Object.keys(patch) } }]);
    } catch (error) {
      this.#record = previous; // a rejected update leaves no trace, not even for the next save
      throw error;
    }
  }

  /** Rejects every queued message with `error`; used when the agent will not run again. */
  rejectQueued(error: LlmStateError): void {
    for (const envelope of this.#mailbox.drain()) envelope.reject(error);
  }

  #assertLive(operation: string): void {
    const state = this.state;
    if (state === 'stopping' || state === 'stopped') {
      throw new LlmStateError('ACTOR_STOPPED', `Cannot ${operation} agent ${this.id}: it is ${state}`, { details: { agent: this.id, state } });
    }
  }

  #drain(): Promise<void> {
    // The loop starts a microtask later, once #processing is set, and clears it itself, synchronously, the
    // moment it finds the mailbox empty: a send after that starts a new loop instead of joining a finished one.
    this.#processing ??= Promise.resolve().then(() => this.#processQueue());
    return this.#processing;
  }

  async #drainFully(): Promise<void> {
    while (this.#mailbox.size > 0 && this.state === 'running') await this.#drain();
    await this.#processing;
  }

  async #processQueue(): Promise<void> {
    try {
      while (this.state === 'running') {
        const envelope = this.#mailbox.shift();
        if (envelope === undefined) return;
        try {
          await runCorrelated(envelope.context ?? { correlationId: newCorrelationId() }, () => this.#deliver(envelope));
        } catch (error) {
          // #deliver settles the envelope itself; this only guards the loop against the unexpected.
          envelope.reject(error);
        }
      }
    } finally {
      this.#processing = undefined;
    }
  }

  async #deliver(envelope: Envelope): Promise<void> {
    const crashes = this.#crashes.get(envelope.fingerprint) ?? 0;
    if (crashes >= this.#host.poisonLimit) {
      await this.#deadLetter(envelope, `refused: this message crashed the agent ${crashes} times`, crashes, true);
      envelope.reject(
        new LlmStateError('ACTOR_CRASHED', `Agent ${this.id} refused a poison message (it crashed the agent ${crashes} times); it was dead-lettered`, {
          details: { agent: this.id, crashes, poison: true },
        }),
      );
      return;
    }
    if (this.#machine === undefined) {
      envelope.reject(new TypeError(`Agent ${this.id} has no machine to handle ${envelope.event.type}; spawn it with { machine }`));
      return;
    }
    const error = this.#apply(envelope.event);
    if (error !== undefined) return this.#crash(envelope, error);
    const { value, context } = this.#behaviour!.getSnapshot() as { value: unknown; context: unknown };
    const previous = this.#record;
    this.#record = { ...this.#record, metadata: { ...this.#record.metadata, messages: this.#record.metadata.messages + 1 } };
    if (this.#record.persist === 'every-message') {
      try {
        await this.#persist([]);
      } catch (saveError) {
        // The machine moved on but the store did not: forget the message, reject it, and restart from the store.
        this.#record = previous;
        envelope.reject(saveError);
        if (this.#retired === undefined) this.#crashIncarnation(saveError);
        return;
      }
    }
    envelope.resolve({ state: value, context });
  }

  /** Runs one event through the machine; returns the error if it crashed. */
  #apply(event: AgentEvent): unknown {
    if (this.#host.takeInjectedCrash(this.id)) return new Error(`injected crash of agent ${this.id}`);
    try {
      this.#behaviour!.send(event);
    } catch (error) {
      return error;
    }
    const snapshot = this.#behaviour!.getSnapshot() as { status: string; error?: unknown };
    return snapshot.status === 'error' ? (snapshot.error ?? new Error('the machine failed')) : undefined;
  }

  async #crash(envelope: Envelope, error: unknown): Promise<void> {
    const crashes = (this.#crashes.get(envelope.fingerprint) ?? 0) + 1;
    this.#crashes.set(envelope.fingerprint, crashes);
    this.#crashIncarnation(error);
    const reason = describe(error);
    try {
      await this.#deadLetter(envelope, reason, crashes, false);
    } finally {
      envelope.reject(
        new LlmStateError('ACTOR_CRASHED', `Agent ${this.id} crashed on ${envelope.event.type}: ${reason}. The message was dead-lettered`, {
          cause: error,
          details: { agent: this.id, crashes, poison: false },
        }),
      );
    }
  }

  #crashIncarnation(error: unknown): void {
    this.#behaviour?.stop();
    this.#behaviour = undefined;
    this.#lifecycle.send({ type: 'CRASH' });
    this.#link?.exited({ error });
  }

  /** Writes the dead letter and the `agent.crashed` event in one batch, before the caller hears of it. */
  async #deadLetter(envelope: Envelope, error: string, crashes: number, poison: boolean): Promise<void> {
    const at = this.#host.clock.now();
    const letter: DeadLetter = { agentId: this.id, event: envelope.event, error, crashes, poison, at, correlationId: envelope.context?.correlationId };
    const value = encodeDeadLetter(letter);
    await this.#host.ownerOf(this.scope).commitRecord(
      {
        extraOps: [{ type: 'put', sublevel: 'agents', key: deadLetterKey(this.id, at, nextLetter()), value }],
        events: [{ kind: poison ? 'agent.poison_message' : 'agent.crashed', agentId: this.id, data: { event: envelope.event.type, error, crashes } }],
      },
      envelope.context,
    );
  }

  async #stopIncarnation(): Promise<void> {
    if (this.state === 'running' || this.state === 'paused') this.#lifecycle.send({ type: 'SUSPEND' });
    await this.#processing;
    this.#finish();
  }

  #kill(): void {
    if (this.state === 'running' || this.state === 'paused') this.#lifecycle.send({ type: 'SUSPEND' });
    this.#finish();
  }

  /**
   * The agent will not run again (deleted, or not restarted by its supervisor): later messages are refused,
   * queued ones rejected with `error`; with `status`, the record is saved with it. @internal
   */
  retire(error: LlmStateError, status?: 'crashed'): Promise<void> {
    if (this.#retired !== undefined) return Promise.resolve();
    if (this.state === 'stopped') status = undefined; // stopped (and saved) by its user already
    if (this.state !== 'stopping' && this.state !== 'stopped') this.#lifecycle.send({ type: 'STOP' });
    this.#finish();
    this.rejectQueued(error);
    let saved = Promise.resolve();
    if (status !== undefined) {
      this.#record = { ...this.#record, status };
      saved = this.#persist([{ kind: 'agent.retired', agentId: this.id, data: { status } }]);
    }
    // After the last save is queued: a delete that follows finds every save of this agent ahead of it.
    this.#retired = error;
    return saved;
  }

  #finish(): void {
    this.#behaviour?.stop();
    this.#behaviour = undefined;
    if (this.state === 'stopping') this.#lifecycle.send({ type: 'STOPPED' });
  }

  #createBehaviour(snapshot: unknown): Actor<AnyActorLogic> | undefined {
    if (this.#machine === undefined) return undefined;
    const actor = createActor(this.#machine, {
      ...(snapshot === null || snapshot === undefined ? { input: { agentId: this.id, config: this.#record.config } } : { snapshot: snapshot as never }),
    });
    // Errors are handled as crashes by #apply; without a subscriber xstate would rethrow them later.
    actor.subscribe({ error: () => {} });
    actor.start();
    return actor as Actor<AnyActorLogic>;
  }

  /** The machine's persisted snapshot as JSON data (xstate leaves `undefined` fields in it). */
  #snapshot(): unknown {
    if (this.#behaviour === undefined) return this.#record.machineSnapshot;
    const json = JSON.stringify(this.#behaviour.getPersistedSnapshot());
    return json === undefined ? null : JSON.parse(json);
  }

  /** Saves the record (with the machine's snapshot) and `events` in one batch through the agent's scope. */
  async #persist(events: EventSpec[]): Promise<void> {
    // Whatever still holds this agent (a handle, a pause that was waiting, close()) must not bring back a deleted one.
    if (this.#retired !== undefined) {
      throw new LlmStateError('ACTOR_STOPPED', `Agent ${this.id} can no longer be saved: ${this.#retired.message}`, {
        details: { agent: this.id },
      });
    }
    const now = this.#host.clock.now();
    const parsed = agentRecordSchema.safeParse({ ...this.#record, machineSnapshot: this.#snapshot() ?? null, metadata: { ...this.#record.metadata, updatedAt: now } });
    if (!parsed.success) {
      throw new LlmStateError('VALUE_INVALID', `Agent ${this.id}'s record cannot be saved: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, {
        details: { agent: this.id, issues: parsed.error.issues },
      });
    }
    const record = parsed.data;
    this.#record = record;
    const op: BatchOp = { type: 'put', sublevel: 'agents', key: agentRecordKey(this.id), value: encodeAgentRecord(record, 0) };
    await this.#host.ownerOf(this.scope).commitRecord({ extraOps: [op], events }, currentCorrelation());
  }

  async #loadRecord(): Promise<AgentRecord> {
    const bytes = await this.#host.storage.get('agents', agentRecordKey(this.id));
    if (bytes === undefined) throw new LlmStateError('AGENT_NOT_FOUND', `Agent ${this.id} has no stored record`, { details: { agent: this.id } });
    return decodeAgentRecord(bytes, this.id);
  }
}

let letters = 0;

/** Orders dead letters written within one millisecond; the random tail keeps processes apart. */
function nextLetter(): string {
  return `${(letters++).toString(36).padStart(8, '0')}${nanoid(4)}`;
}

/** Messages with the same content share a fingerprint, so a resent poison message is recognised. */
function fingerprint(event: AgentEvent): string {
  return createHash('sha1').update(JSON.stringify(event)).digest('base64url');
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
