/**
 * The closed-runtime trait: every operation of every namespace refuses a runtime that is closed, and one
 * that is closing (close() called, not yet settled), with RUNTIME_CLOSED. As abstract-level's tests run
 * every operation against a closed and a closing database.
 *
 * The methods are read from the namespaces of a live runtime, not from a list written here, so a method
 * added later is covered at once: its test fails until VALID_CALLS (test/traits/operations.ts, shared
 * with the access traits) has a call for it, or KEEPS_WORKING or INTERNAL says why it is exempt.
 */
import assert from 'node:assert/strict';
import { Scope } from '../../src/index.js';
import { FAULT_SEED, membersOfNamespaces, NAMESPACES, openSubject, outcomeOf, VALID_CALLS as REFUSES, type Outcome, type Subject } from '../traits/operations.js';

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
  'agents.letGoAll': 'runtime.fatal forgets the running agents with it, on a shared store; close() waits for that',
  'agents.stopAgent': 'the handle’s stop() runs it after its own check',
  'agents.cutOff': 'rt.access.quarantine stops the agent with it, after its own check',
  'state.withPrincipal': 'builds the state of an rt.as view; it reads and writes nothing itself',
  'hooks.load': 'createRuntime reads the registry with it',
  'hooks.pruneIfDue': 'history retention runs it in the background; close() waits for it',
  'hooks.refresh': 'the runtime reads the registrations other processes changed with it; close() waits for it before the dispatcher closes',
  'faults.takeCrash': 'an agent consumes an armed crash with it, also while close() drains its mailbox',
  'faults.detach': 'the core that owns the injector calls it as it stops',
  'faults.beforeGroup': 'the commit path runs it for every group, also while close() drains the mailboxes',
  'faults.beforeUnscopedBatch': 'a migration runs it before each journal batch, after its own check',
  'sessions.load': 'createRuntime reads the sessions with it',
  'sessions.stop': 'close() stops the collection of expired sessions with it',
  'sessions.accessInfo': 'the access policy reads it synchronously, from memory, also while close() drains the mailboxes',
  'sessions.refresh': 'the runtime reads what other processes changed with it; close() ends the watch before it stops the sessions',
};

/** Every member of every namespace, as `namespace.member`, read from a live runtime. */
async function liveMembers(): Promise<string[]> {
  const subject = await openSubject();
  try {
    return membersOfNamespaces(subject);
  } finally {
    await subject.rt.close();
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
      it(`${member} has an entry in VALID_CALLS, KEEPS_WORKING or INTERNAL`, () => {
        assert.fail(`${member} is new: add a call with valid arguments to VALID_CALLS in test/traits/operations.ts, or say in KEEPS_WORKING or INTERNAL why it is exempt`);
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

  it('each call in VALID_CALLS is valid: on an open runtime it does not refuse', async () => {
    for (const [member, call] of Object.entries(REFUSES)) {
      const outcome = await onOpenRuntime(call, { recorded: member === 'hooks.replay' });
      assert.ok(outcome.ok, `${member}: ${String(!outcome.ok && outcome.error)}`);
    }
  });
});
