/**
 * The closed-runtime trait: every operation of every namespace refuses a runtime that is closed, and one
 * that is closing (close() called, not yet settled), with RUNTIME_CLOSED. As abstract-level's tests run
 * every operation against a closed and a closing database.
 *
 * The methods are read from the namespaces of a live runtime, not from a list written here, so a method
 * added later is covered at once: its test fails until REFUSES has a call for it, or KEEPS_WORKING or
 * INTERNAL says why it is exempt.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { createRuntime, Scope, type AgentHandle, type ChildSpec, type Runtime, type SupervisorHandle } from '../../src/index.js';
import { chatMachine } from '../fixtures/chatMachine.js';

/**
 * A runtime with something in every namespace to address: a key, an agent, a supervisor with a running
 * child (w1) and a terminated one (w0), a hook.
 */
interface Subject {
  rt: Runtime;
  agent: AgentHandle;
  team: SupervisorHandle;
  /** An execution id of the hook: a recorded one when asked for (see {@link openSubject}). */
  executionId: string;
  /** A backup of the runtime, in a temporary directory. */
  backupId: string;
}

const scope = Scope.agent('a1');
const FAULT_SEED = 7;
const noteSchema = z.object({ text: z.string() });
const machine = chatMachine();
const child = (id: string): ChildSpec => ({ id, start: async () => ({ stop: async () => {}, kill: () => {} }) });

/** The objects whose methods are operations: the namespaces on `rt`, `rt` itself, and the handles they return. */
const NAMESPACES: Record<string, (subject: Subject) => object> = {
  runtime: ({ rt }) => rt,
  state: ({ rt }) => rt.state,
  agents: ({ rt }) => rt.agents,
  supervisors: ({ rt }) => rt.supervisors,
  hooks: ({ rt }) => rt.hooks,
  events: ({ rt }) => rt.events,
  faults: ({ rt }) => rt.faults,
  backups: ({ rt }) => rt.backups,
  schemas: ({ rt }) => rt.schemas,
  migrations: ({ rt }) => rt.migrations,
  access: ({ rt }) => rt.access,
  sessions: ({ rt }) => rt.sessions,
  agentHandle: ({ agent }) => agent,
  supervisorHandle: ({ team }) => team,
};

/**
 * A call of each operation with arguments it accepts on an open runtime, so that what refuses it is the
 * closed runtime and not a bad argument.
 */
const REFUSES: Record<string, (subject: Subject) => unknown> = {
  'runtime.correlate': ({ rt }) => rt.correlate(() => 1),
  'runtime.stats': ({ rt }) => rt.stats(),
  'runtime.as': ({ rt }) => rt.as('agent:a1'),

  'state.set': ({ rt }) => rt.state.set(scope, 'k', 1),
  'state.get': ({ rt }) => rt.state.get(scope, 'k'),
  'state.delete': ({ rt }) => rt.state.delete(scope, 'k'),
  'state.listKeys': ({ rt }) => rt.state.listKeys(scope, { prefix: 'k' }),
  'state.clearScope': ({ rt }) => rt.state.clearScope(scope),
  'state.transaction': ({ rt }) => rt.state.transaction(scope, (tx) => tx.set('k', 1)),

  'agents.define': ({ rt }) => rt.agents.define('chat', machine),
  'agents.spawn': ({ rt }) => rt.agents.spawn({ id: 'a2', type: 'chat', machine }),
  'agents.get': ({ rt }) => rt.agents.get('a1'),
  'agents.save': ({ rt }) => rt.agents.save('a1'),
  'agents.restore': ({ rt }) => rt.agents.restore('a1'),
  'agents.list': ({ rt }) => rt.agents.list(),
  'agents.show': ({ rt }) => rt.agents.show('a1'),
  'agents.delete': ({ rt }) => rt.agents.delete('a1'),
  'agents.deadLetters': ({ rt }) => rt.agents.deadLetters({ agentId: 'a1' }),
  'agents.liveIds': ({ rt }) => rt.agents.liveIds(),

  'supervisors.create': ({ rt }) => rt.supervisors.create({ id: 'team2', strategy: 'one_for_all' }),
  'supervisors.get': ({ rt }) => rt.supervisors.get('team'),
  'supervisors.list': ({ rt }) => rt.supervisors.list(),
  'supervisors.has': ({ rt }) => rt.supervisors.has('team'),
  'supervisors.startChild': ({ rt }) => rt.supervisors.startChild('team', child('w2')),
  'supervisors.terminateChild': ({ rt }) => rt.supervisors.terminateChild('team', 'w1'),
  'supervisors.restartChild': ({ rt }) => rt.supervisors.restartChild('team', 'w0'),
  'supervisors.deleteChild': ({ rt }) => rt.supervisors.deleteChild('team', 'w0'),
  'supervisors.whichChildren': ({ rt }) => rt.supervisors.whichChildren('team'),
  'supervisors.countChildren': ({ rt }) => rt.supervisors.countChildren('team'),
  'supervisors.checkChildSpecs': ({ rt }) => rt.supervisors.checkChildSpecs([child('w3')]),
  'supervisors.deadLetters': ({ rt }) => rt.supervisors.deadLetters({ agentId: 'a1' }),

  'hooks.register': ({ rt }) => rt.hooks.register({ name: 'metrics2', builtin: 'metrics', on: ['state.set'] }),
  'hooks.unregister': ({ rt }) => rt.hooks.unregister('counts'),
  'hooks.list': ({ rt }) => rt.hooks.list(),
  'hooks.get': ({ rt }) => rt.hooks.get('counts'),
  'hooks.disable': ({ rt }) => rt.hooks.disable('counts', 'for a test'),
  'hooks.enable': ({ rt }) => rt.hooks.enable('counts'),
  'hooks.history': ({ rt }) => rt.hooks.history({ hookName: 'counts' }),
  'hooks.historyMetadata': ({ rt }) => rt.hooks.historyMetadata({ hookName: 'counts' }),
  'hooks.execution': ({ rt, executionId }) => rt.hooks.execution(executionId),
  'hooks.replay': ({ rt, executionId }) => rt.hooks.replay(executionId),
  'hooks.replayMany': ({ rt }) => rt.hooks.replayMany({ hookName: 'counts' }),
  'hooks.deadLetters': ({ rt }) => rt.hooks.deadLetters({ hookName: 'counts' }),
  'hooks.redeliver': ({ rt }) => rt.hooks.redeliver('counts'),
  'hooks.idle': ({ rt }) => rt.hooks.idle(),
  'hooks.prune': ({ rt }) => rt.hooks.prune({ maxCount: 10 }),

  'events.query': ({ rt }) => rt.events.query({ kinds: ['state.set'] }),
  'events.prune': ({ rt }) => rt.events.prune({ maxCount: 10 }),
  'events.timeline': ({ rt }) => rt.events.timeline('c1'),
  'events.exportTimeline': ({ rt }) => rt.events.exportTimeline('c1', 'text'),

  'faults.crashActor': ({ rt }) => rt.faults.crashActor('a1'),
  'faults.failStorage': ({ rt }) => rt.faults.failStorage({ scope, count: 1 }),
  'faults.reset': ({ rt }) => rt.faults.reset(7),

  'backups.create': ({ rt }) => rt.backups.create(),
  'backups.list': ({ rt }) => rt.backups.list(),
  'backups.get': ({ rt, backupId }) => rt.backups.get(backupId),
  'backups.verify': ({ rt, backupId }) => rt.backups.verify(backupId),
  'backups.restore': ({ rt, backupId }) => rt.backups.restore({ id: backupId, dryRun: true }),
  'backups.plan': ({ rt }) => rt.backups.plan({ keepLast: 1 }),
  'backups.prune': ({ rt }) => rt.backups.prune({ keepLast: 1 }),
  'backups.pin': ({ rt, backupId }) => rt.backups.pin(backupId),
  'backups.unpin': ({ rt, backupId }) => rt.backups.unpin(backupId),

  'schemas.register': ({ rt }) => rt.schemas.register({ name: 'note', version: '1.0.0', schema: noteSchema }),
  'schemas.bind': ({ rt }) => rt.schemas.bind('note', { scopeKind: 'workflow' }),
  'schemas.get': ({ rt }) => rt.schemas.get('note'),
  'schemas.list': ({ rt }) => rt.schemas.list(),
  'schemas.bindings': ({ rt }) => rt.schemas.bindings(),
  'schemas.compare': ({ rt }) => rt.schemas.compare('note@1.0.0', 'note@1.0.0'),
  'schemas.docs': ({ rt }) => rt.schemas.docs(),

  'migrations.define': ({ rt }) => rt.migrations.define({ schema: 'note', from: '1.0.0', to: '2.0.0', steps: [] }),
  'migrations.list': ({ rt }) => rt.migrations.list(),
  'migrations.plan': ({ rt }) => rt.migrations.plan('note'),
  'migrations.check': ({ rt }) => rt.migrations.check(),
  'migrations.run': ({ rt }) => rt.migrations.run({ schema: 'note', dryRun: true }),
  'migrations.migrateValue': ({ rt }) => rt.migrations.migrateValue('note', { text: 'x' }, { from: '1.0.0' }),

  'access.grant': ({ rt }) => rt.access.grant({ principal: 'agent:a2', scope, permissions: ['read'] }),
  'access.revoke': ({ rt }) => rt.access.revoke('g_unknown'),
  'access.grants': ({ rt }) => rt.access.grants(),
  'access.check': ({ rt }) => rt.access.check('agent:a2', scope, 'read'),
  'access.audit': ({ rt }) => rt.access.audit({ outcome: 'denied' }),
  'access.quarantine': ({ rt }) => rt.access.quarantine('a3'),
  'access.release': ({ rt }) => rt.access.release('a3'),
  'access.quarantined': ({ rt }) => rt.access.quarantined(),
  'sessions.start': ({ rt }) => rt.sessions.start({ id: 's2' }),
  'sessions.end': ({ rt }) => rt.sessions.end('s1'),
  'sessions.get': ({ rt }) => rt.sessions.get('s1'),
  'sessions.list': ({ rt }) => rt.sessions.list(),
  'sessions.gc': ({ rt }) => rt.sessions.gc({ ended: true }),
  'sessions.linkArtifact': ({ rt }) => rt.sessions.linkArtifact('report.pdf', { scope, key: 'k', sessionId: 's1' }),
  'sessions.changesByArtifact': ({ rt }) => rt.sessions.changesByArtifact('report.pdf'),
  'sessions.artifactsOf': ({ rt }) => rt.sessions.artifactsOf({ sessionId: 's1' }),

  'agentHandle.send': ({ agent }) => agent.send({ type: 'SAY', text: 'hi' }),
  'agentHandle.pause': ({ agent }) => agent.pause(),
  'agentHandle.resume': ({ agent }) => agent.resume(),
  'agentHandle.stop': ({ agent }) => agent.stop(),
  'agentHandle.save': ({ agent }) => agent.save(),
  'agentHandle.update': ({ agent }) => agent.update({ custom: { note: 'x' } }),

  // A supervisor handle is a shortcut for rt.supervisors with its id, and refuses alike.
  'supervisorHandle.ready': ({ team }) => team.ready(),
  'supervisorHandle.startChild': ({ team }) => team.startChild(child('w2')),
  'supervisorHandle.terminateChild': ({ team }) => team.terminateChild('w1'),
  'supervisorHandle.restartChild': ({ team }) => team.restartChild('w0'),
  'supervisorHandle.deleteChild': ({ team }) => team.deleteChild('w0'),
  'supervisorHandle.whichChildren': ({ team }) => team.whichChildren(),
  'supervisorHandle.countChildren': ({ team }) => team.countChildren(),
};

/**
 * Public members that keep working once close() has begun, each with why, a call, and what it shows
 * then. None reads the store or changes anything: they describe the runtime as it stands in memory.
 */
const KEEPS_WORKING: Record<string, { why: string; call: (subject: Subject) => unknown; shows: (value: any) => void }> = {
  'runtime.close': {
    why: 'close() is idempotent: every call resolves once the one shutdown has',
    call: ({ rt }) => rt.close(),
    shows: (value) => assert.equal(value, undefined),
  },
  'runtime.closed': { why: 'it is how a caller tells that close() has begun', call: ({ rt }) => rt.closed, shows: (value) => assert.equal(value, true) },
  'runtime.agents': {
    why: 'reading a namespace never fails; its own methods refuse (their entries below)',
    call: ({ rt }) => rt.agents,
    shows: (value) => assert.equal(typeof value, 'object'),
  },
  'runtime.events': {
    why: 'reading a namespace never fails; its own methods refuse (their entries below)',
    call: ({ rt }) => rt.events,
    shows: (value) => assert.equal(typeof value, 'object'),
  },
  'runtime.faults': {
    why: 'reading a namespace never fails; its own methods refuse (their entries below)',
    call: ({ rt }) => rt.faults,
    shows: (value) => assert.equal(typeof value, 'object'),
  },
  'runtime.hooks': {
    why: 'reading a namespace never fails; its own methods refuse (their entries below)',
    call: ({ rt }) => rt.hooks,
    shows: (value) => assert.equal(typeof value, 'object'),
  },
  'runtime.state': {
    why: 'reading a namespace never fails; its own methods refuse (their entries below)',
    call: ({ rt }) => rt.state,
    shows: (value) => assert.equal(typeof value, 'object'),
  },
  'runtime.schemas': {
    why: 'reading a namespace never fails; its own methods refuse (their entries below)',
    call: ({ rt }) => rt.schemas,
    shows: (value) => assert.equal(typeof value, 'object'),
  },
  'runtime.migrations': {
    why: 'reading a namespace never fails; its own methods refuse (their entries below)',
    call: ({ rt }) => rt.migrations,
    shows: (value) => assert.equal(typeof value, 'object'),
  },
  'runtime.sessions': {
    why: 'reading a namespace never fails; its own methods refuse (their entries below)',
    call: ({ rt }) => rt.sessions,
    shows: (value) => assert.equal(typeof value, 'object'),
  },
  'runtime.supervisors': {
    why: 'reading a namespace never fails; its own methods refuse (their entries below)',
    call: ({ rt }) => rt.supervisors,
    shows: (value) => assert.equal(typeof value, 'object'),
  },
  'runtime.access': {
    why: 'reading a namespace never fails; its own methods refuse (their entries below)',
    call: ({ rt }) => rt.access,
    shows: (value) => assert.equal(typeof value, 'object'),
  },
  'runtime.principal': {
    why: 'who the runtime acts as does not change by closing it',
    call: ({ rt }) => rt.principal,
    shows: (value) => assert.equal(value, 'system'),
  },
  'runtime.location': {
    why: 'where the store lives does not change by closing it',
    call: ({ rt }) => rt.location,
    shows: (value) => assert.equal(value, 'memory'),
  },
  'runtime.metrics': {
    why: 'counters in memory; reading them after close() is how a run is reported',
    call: ({ rt }) => rt.metrics(),
    shows: (value) => assert.ok(value.commits.batches > 0 && Object.keys(value.hooks.byHook).join() === 'counts', JSON.stringify(value)),
  },
  'faults.seed': {
    why: 'the seed in use, as metrics(): what a failed run prints so that it can be repeated',
    call: ({ rt }) => rt.faults.seed,
    shows: (value) => assert.equal(value, FAULT_SEED),
  },
  'faults.fired': {
    why: 'a counter, as metrics(): how many injected faults fired before close',
    call: ({ rt }) => rt.faults.fired,
    shows: (value) => assert.equal(value, 0),
  },
  'agentHandle.status': {
    why: "the held agent's state, from memory, as its `id`: it is how a caller sees the agent stop as the runtime closes",
    call: ({ agent }) => agent.status(),
    shows: (value) => assert.deepEqual([value.id, value.supervisor, typeof value.state], ['a1', 'agents', 'string']),
  },
  'agentHandle.record': {
    why: "a copy of the held agent's record as it stands in memory, as its `id`",
    call: ({ agent }) => agent.record(),
    shows: (value) => assert.deepEqual([value.id, value.type], ['a1', 'chat']),
  },
};

/**
 * Members public in JavaScript but marked @internal (kept out of the typings): the runtime calls them
 * itself, several of them while it closes, so they must not refuse a closing runtime.
 */
const INTERNAL: Record<string, string> = {
  'runtime.start': 'createRuntime awaits it before returning the runtime',
  'backups.startSchedule': 'the runtime starts the backup schedule as it opens',
  'backups.stopSchedule': 'close() stops the backup schedule with it',
  'backups.idle': 'close() waits with it for a backup or restore that is running',
  'backups.exclusive': 'rt.migrations.run holds backups off with it, after its own check',
  'agents.assertWritable': 'the check itself, used by agent handles',
  'agents.isLive': 'the supervisor tree asks it while it logs events, also while closing',
  'agents.saveAll': 'close() saves the running agents with it',
  'agents.rejectAllQueued': 'close() and runtime.fatal refuse queued messages with it',
  'agents.stopAgent': 'the handle’s stop() runs it after its own check',
  'agents.cutOff': 'rt.access.quarantine stops the agent with it, after its own check',
  'state.withPrincipal': 'builds the state of an rt.as view; it reads and writes nothing itself',
  'hooks.load': 'createRuntime reads the registry with it',
  'hooks.pruneIfDue': 'history retention runs it in the background; close() waits for it',
  'faults.takeCrash': 'an agent consumes an armed crash with it, also while close() drains its mailbox',
  'faults.detach': 'the core that owns the injector calls it as it stops',
  'faults.beforeGroup': 'the commit path runs it for every group, also while close() drains the mailboxes',
  'faults.beforeUnscopedBatch': 'a migration runs it before each journal batch, after its own check',
  'sessions.load': 'createRuntime reads the sessions with it',
  'sessions.stop': 'close() stops the collection of expired sessions with it',
  'sessions.accessInfo': 'the access policy reads it synchronously, from memory, also while close() drains the mailboxes',
};

/** The methods and accessors of an object, inherited ones included, without calling any getter. */
function membersOf(target: object): string[] {
  const names = new Set<string>();
  for (let o: object | null = target; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const name of Object.getOwnPropertyNames(o)) {
      const descriptor = Object.getOwnPropertyDescriptor(o, name)!;
      if (name !== 'constructor' && (typeof descriptor.value === 'function' || descriptor.get !== undefined)) names.add(name);
    }
  }
  return [...names].sort();
}

/**
 * Opens a runtime with something to address in every namespace. A recorded hook execution costs a
 * worker thread, so there is one only when `recorded` asks for it; a closed runtime refuses an unknown
 * execution id as it refuses a known one.
 */
async function openSubject({ recorded = false } = {}): Promise<Subject> {
  // A long grace, so that a transaction holds close() open for as long as a test needs it to.
  const rt = await createRuntime({ memory: true, closeGraceMs: 600_000, faultSeed: FAULT_SEED, backups: { dir: mkdtempSync(join(tmpdir(), 'llmstate-closed-')) } });
  await rt.state.set(scope, 'k', 0);
  const { id: backupId } = await rt.backups.create();
  const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
  const team = rt.supervisors.create({ id: 'team', strategy: 'one_for_one' });
  await team.startChild(child('w0'));
  await team.startChild(child('w1'));
  await team.terminateChild('w0');
  await rt.hooks.register({ name: 'counts', builtin: 'metrics', on: ['state.set'] });
  await rt.schemas.register({ name: 'note', version: '1.0.0', schema: noteSchema });
  await rt.sessions.start({ id: 's1' });
  if (!recorded) return { rt, agent, team, executionId: 'x1', backupId };
  await rt.state.set(scope, 'k', 1);
  await rt.hooks.idle();
  const [execution] = await rt.hooks.history({ hookName: 'counts' });
  return { rt, agent, team, executionId: execution.executionId, backupId };
}

/** Every member of every namespace, as `namespace.member`, read from a live runtime. */
async function liveMembers(): Promise<string[]> {
  const subject = await openSubject();
  try {
    return Object.entries(NAMESPACES).flatMap(([namespace, of]) => membersOf(of(subject)).map((member) => `${namespace}.${member}`));
  } finally {
    await subject.rt.close();
  }
}

/** How a call ended: with a value, or with an error it threw at once or rejected with. */
type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown; thrown: boolean };

/** Calls `call` now, and resolves once what it returned has settled. */
async function outcomeOf(call: () => unknown): Promise<Outcome> {
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    return { ok: false, error, thrown: true };
  }
  try {
    return { ok: true, value: await result };
  } catch (error) {
    return { ok: false, error, thrown: false };
  }
}

/**
 * Runs `operation` on a runtime whose close() has begun and cannot finish: a transaction holds it open
 * until the operation has been called.
 */
async function onClosingRuntime(operation: (subject: Subject) => unknown): Promise<Outcome> {
  const subject = await openSubject();
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const holder = subject.rt.state.transaction(Scope.custom('close-holder'), async (tx) => {
    started();
    await held;
    tx.set('held', true);
  });
  await running;
  const closing = subject.rt.close();
  // Let the shutdown run as far as it can: it now waits for the transaction.
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(subject.rt.closed, true);
  const outcome = outcomeOf(() => operation(subject));
  release();
  await Promise.all([holder, closing]);
  return outcome;
}

async function onClosedRuntime(operation: (subject: Subject) => unknown): Promise<Outcome> {
  const subject = await openSubject();
  await subject.rt.close();
  return outcomeOf(() => operation(subject));
}

async function onOpenRuntime(operation: (subject: Subject) => unknown, options?: { recorded?: boolean }): Promise<Outcome> {
  const subject = await openSubject(options);
  try {
    return await outcomeOf(() => operation(subject));
  } finally {
    await subject.rt.close();
  }
}

/**
 * Asserts the refusal is RUNTIME_CLOSED, and that it comes the way the method reports its errors: a
 * method that returns a promise rejects it, and only a synchronous method throws.
 */
async function assertRefused(outcome: Outcome, member: string, call: (subject: Subject) => unknown): Promise<void> {
  assert.ok(!outcome.ok, `${member} did not refuse`);
  assert.equal((outcome.error as { code?: unknown }).code, 'RUNTIME_CLOSED', `${member}: ${String(outcome.error)}`);
  if (!outcome.thrown) return;
  const open = await onOpenRuntime((subject) => {
    const result = call(subject);
    return { isPromise: typeof (result as { then?: unknown } | undefined)?.then === 'function' };
  });
  assert.ok(open.ok && !(open.value as { isPromise: boolean }).isPromise, `${member} returns a promise, so it must reject it rather than throw`);
}

const members = await liveMembers();

describe('every operation refuses a closed or closing runtime (trait)', () => {
  it('finds the operations on the namespaces themselves', () => {
    // Guards the enumeration: a namespace read as empty would make this whole file pass vacuously.
    for (const namespace of Object.keys(NAMESPACES)) {
      assert.ok(members.some((member) => member.startsWith(`${namespace}.`)), `no members found on ${namespace}`);
    }
    assert.ok(members.includes('state.set') && members.includes('supervisors.deadLetters') && members.includes('faults.seed'));
  });

  it('every entry of the tables names a member that exists, in one table only', () => {
    const entries = [...Object.keys(REFUSES), ...Object.keys(KEEPS_WORKING), ...Object.keys(INTERNAL)];
    assert.deepEqual(entries.filter((entry) => !members.includes(entry)), [], 'entries for members that no longer exist');
    assert.deepEqual(entries.filter((entry, i) => entries.indexOf(entry) !== i), [], 'entries in more than one table');
  });

  for (const member of members) {
    const refuse = REFUSES[member];
    const keep = KEEPS_WORKING[member];
    if (INTERNAL[member] !== undefined) continue;
    if (keep !== undefined) {
      it(`${member} keeps working once close() has begun: ${keep.why}`, async () => {
        for (const outcome of [await onClosingRuntime(keep.call), await onClosedRuntime(keep.call)]) {
          assert.ok(outcome.ok, `${member}: ${String(!outcome.ok && outcome.error)}`);
          keep.shows(outcome.value);
        }
      });
      continue;
    }
    if (refuse === undefined) {
      it(`${member} has an entry in REFUSES, KEEPS_WORKING or INTERNAL`, () => {
        assert.fail(`${member} is new: add a call with valid arguments to REFUSES, or say in KEEPS_WORKING or INTERNAL why it is exempt`);
      });
      continue;
    }
    it(`${member} refuses a closed runtime with RUNTIME_CLOSED`, async () => {
      await assertRefused(await onClosedRuntime(refuse), member, refuse);
    });
    it(`${member} refuses a closing runtime with RUNTIME_CLOSED`, async () => {
      await assertRefused(await onClosingRuntime(refuse), member, refuse);
    });
  }

  it('each call in REFUSES is valid: on an open runtime it does not refuse', async () => {
    for (const [member, call] of Object.entries(REFUSES)) {
      const outcome = await onOpenRuntime(call, { recorded: member === 'hooks.replay' });
      assert.ok(outcome.ok, `${member}: ${String(!outcome.ok && outcome.error)}`);
    }
  });
});
