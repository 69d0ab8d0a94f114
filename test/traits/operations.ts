/**
 * The operations of a runtime, for the trait tests that run every one of them: the namespaces whose
 * methods are operations, a runtime with something in each to address, and a call of each operation
 * with arguments it accepts. test/runtime/closedTraits.test.ts and test/access/accessTraits.test.ts
 * read the members from a live runtime through {@link NAMESPACES}, so a method added later fails both
 * until it has a call here (or an exemption there).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { createRuntime, Scope, type AgentHandle, type ChildSpec, type Runtime, type SupervisorHandle } from '../../src/index.js';
import { chatMachine } from '../fixtures/chatMachine.js';

/**
 * A runtime with something in every namespace to address: a key, an agent, a supervisor with a running
 * child (w1) and a terminated one (w0), a hook.
 */
export interface Subject {
  rt: Runtime;
  agent: AgentHandle;
  team: SupervisorHandle;
  /** An execution id of the hook: a recorded one when asked for (see {@link openSubject}). */
  executionId: string;
  /** A backup of the runtime, in a temporary directory. */
  backupId: string;
}

export const scope = Scope.agent('a1');
export const FAULT_SEED = 7;
const noteSchema = z.object({ text: z.string() });
const machine = chatMachine();
export const child = (id: string): ChildSpec => ({ id, start: async () => ({ stop: async () => {}, kill: () => {} }) });

/** The objects whose methods are operations: the namespaces on `rt`, `rt` itself, and the handles they return. */
export const NAMESPACES: Record<string, (subject: Subject) => object> = {
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
 * A call of each operation with arguments it accepts on an open runtime (as system), so that what
 * refuses it in a trait test is the trait (a closed runtime, a quarantine, a missing grant) and not a
 * bad argument.
 */
export const VALID_CALLS: Record<string, (subject: Subject) => unknown> = {
  'runtime.correlate': ({ rt }) => rt.correlate(() => 1),
  'runtime.stats': ({ rt }) => rt.stats(),
  'runtime.leases': ({ rt }) => rt.leases(),
  'runtime.as': ({ rt }) => rt.as('agent:a1'),

  'state.set': ({ rt }) => rt.state.set(scope, 'k', 1),
  'state.get': ({ rt }) => rt.state.get(scope, 'k'),
  'state.delete': ({ rt }) => rt.state.delete(scope, 'k'),
  'state.listKeys': ({ rt }) => rt.state.listKeys(scope, { prefix: 'k' }),
  'state.clearScope': ({ rt }) => rt.state.clearScope(scope),
  'state.transaction': ({ rt }) => rt.state.transaction(scope, (tx) => tx.set('k', 1)),
  'state.commitUnit': ({ rt }) => rt.state.commitUnit(scope, { reads: ['k'], build: () => ({ writes: [{ key: 'k', value: 2 }] }) }),
  'state.entries': ({ rt }) => rt.state.entries(scope, { prefix: 'k', limit: 5 }),
  'state.scopes': ({ rt }) => rt.state.scopes({ kind: 'agent' }),

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
  'sessions.linkArtifactChecked': ({ rt }) => rt.sessions.linkArtifactChecked('report.pdf', { correlationId: 'c1' }, async () => undefined),
  'sessions.changesByArtifact': ({ rt }) => rt.sessions.changesByArtifact('report.pdf'),
  'sessions.linksOf': ({ rt }) => rt.sessions.linksOf('report.pdf'),
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

/** The methods and accessors of an object, inherited ones included, without calling any getter. */
export function membersOf(target: object): string[] {
  const names = new Set<string>();
  for (let o: object | null = target; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const name of Object.getOwnPropertyNames(o)) {
      const descriptor = Object.getOwnPropertyDescriptor(o, name)!;
      if (name !== 'constructor' && (typeof descriptor.value === 'function' || descriptor.get !== undefined)) names.add(name);
    }
  }
  return [...names].sort();
}

const backupDirs: string[] = [];
// The tests close their subjects' runtimes in many ways (closing is one of the operations under test), and
// no test reads a backup after that: the directories go when the process ends.
process.once('exit', () => {
  for (const dir of backupDirs) rmSync(dir, { recursive: true, force: true });
});

function backupsDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'llmstate-traits-'));
  backupDirs.push(dir);
  return dir;
}

/**
 * Opens a runtime with something to address in every namespace. A recorded hook execution costs a
 * worker thread, so there is one only when `recorded` asks for it; a closed runtime refuses an unknown
 * execution id as it refuses a known one.
 */
export async function openSubject({ recorded = false } = {}): Promise<Subject> {
  // A long grace, so that a transaction holds close() open for as long as a test needs it to.
  const rt = await createRuntime({ memory: true, closeGraceMs: 600_000, faultSeed: FAULT_SEED, backups: { dir: backupsDir() } });
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

/** Every member of every namespace of `subject`, as `namespace.member`. */
export function membersOfNamespaces(subject: Subject): string[] {
  return Object.entries(NAMESPACES).flatMap(([namespace, of]) => membersOf(of(subject)).map((member) => `${namespace}.${member}`));
}

/** How a call ended: with a value, or with an error it threw at once or rejected with. */
export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown; thrown: boolean };

/** Calls `call` now, and resolves once what it returned has settled. */
export async function outcomeOf(call: () => unknown): Promise<Outcome> {
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
