import type { Supervisors } from '../../agents/Supervisors.js';
import type { Backups } from '../../backup/Backups.js';
import type { Hooks } from '../../hooks/Hooks.js';
import type { Migrations } from '../../schema/Migrations.js';
import type { Schemas } from '../../schema/Schemas.js';
import type { FaultInjector } from '../../../supervisors/FaultInjector.js';
import type { Rules } from '../guarded.js';

/*
 * Runtime administration is system's: supervisors, fault injection, hooks (they see every scope's events
 * and run code whose actions write), backups and restores, and changing schemas and migrations. Reading
 * schema definitions is open: they describe shapes, not anyone's data.
 */

export const SUPERVISORS_RULES: Rules<Supervisors> = {
  create: (gate, s, spec) => gate.systemOnly('supervisors.create', 'value', () => s.create(spec)),
  get: (gate, s, id) => gate.systemOnly('supervisors.get', 'value', () => s.get(id)),
  list: (gate, s) => gate.systemOnly('supervisors.list', 'value', () => s.list()),
  has: (gate, s, id) => gate.systemOnly('supervisors.has', 'value', () => s.has(id)),
  startChild: (gate, s, id, spec) => gate.systemOnly('supervisors.startChild', 'promise', () => s.startChild(id, spec)),
  terminateChild: (gate, s, id, child) => gate.systemOnly('supervisors.terminateChild', 'promise', () => s.terminateChild(id, child)),
  restartChild: (gate, s, id, child) => gate.systemOnly('supervisors.restartChild', 'promise', () => s.restartChild(id, child)),
  deleteChild: (gate, s, id, child) => gate.systemOnly('supervisors.deleteChild', 'promise', () => s.deleteChild(id, child)),
  whichChildren: (gate, s, id) => gate.systemOnly('supervisors.whichChildren', 'value', () => s.whichChildren(id)),
  countChildren: (gate, s, id) => gate.systemOnly('supervisors.countChildren', 'value', () => s.countChildren(id)),
  checkChildSpecs: (gate, s, specs) => gate.systemOnly('supervisors.checkChildSpecs', 'value', () => s.checkChildSpecs(specs)),
  deadLetters: (gate, s, filter) => gate.systemOnly('supervisors.deadLetters', 'promise', () => s.deadLetters(filter)),
};

export const FAULTS_RULES: Rules<FaultInjector> = {
  detach: (gate, f) => gate.systemOnly('faults.detach', 'value', () => f.detach()),
  crashActor: (gate, f, id) => gate.systemOnly('faults.crashActor', 'value', () => f.crashActor(id)),
  failStorage: (gate, f, spec) => gate.systemOnly('faults.failStorage', 'value', () => f.failStorage(spec)),
  reset: (gate, f, seed) => gate.systemOnly('faults.reset', 'value', () => f.reset(seed)),
  takeCrash: (gate, f, id) => gate.systemOnly('faults.takeCrash', 'value', () => f.takeCrash(id)),
  beforeGroup: (gate, f, scope) => gate.systemOnly('faults.beforeGroup', 'value', () => f.beforeGroup(scope)),
  beforeUnscopedBatch: (gate, f) => gate.systemOnly('faults.beforeUnscopedBatch', 'value', () => f.beforeUnscopedBatch()),
};

export const HOOKS_RULES: Rules<Hooks> = {
  load: (gate, h) => gate.systemOnly('hooks.load', 'promise', () => h.load()),
  refresh: (gate, h, keys) => gate.systemOnly('hooks.refresh', 'promise', () => h.refresh(keys)),
  register: (gate, h, registration) => gate.systemOnly('hooks.register', 'promise', () => h.register(registration)),
  unregister: (gate, h, name) => gate.systemOnly('hooks.unregister', 'promise', () => h.unregister(name)),
  list: (gate, h) => gate.systemOnly('hooks.list', 'value', () => h.list()),
  get: (gate, h, name) => gate.systemOnly('hooks.get', 'value', () => h.get(name)),
  disable: (gate, h, name, reason) => gate.systemOnly('hooks.disable', 'promise', () => h.disable(name, reason)),
  enable: (gate, h, name) => gate.systemOnly('hooks.enable', 'promise', () => h.enable(name)),
  history: (gate, h, filter) => gate.systemOnly('hooks.history', 'promise', () => h.history(filter)),
  historyMetadata: (gate, h, filter) => gate.systemOnly('hooks.historyMetadata', 'promise', () => h.historyMetadata(filter)),
  execution: (gate, h, id) => gate.systemOnly('hooks.execution', 'promise', () => h.execution(id)),
  replay: (gate, h, id, options) => gate.systemOnly('hooks.replay', 'promise', () => h.replay(id, options)),
  replayMany: (gate, h, filter, options) => gate.systemOnly('hooks.replayMany', 'promise', () => h.replayMany(filter, options)),
  deadLetters: (gate, h, filter) => gate.systemOnly('hooks.deadLetters', 'promise', () => h.deadLetters(filter)),
  redeliver: (gate, h, name) => gate.systemOnly('hooks.redeliver', 'promise', () => h.redeliver(name)),
  // Waiting for the outbox to drain reveals nothing and changes nothing.
  idle: (gate, h) => gate.open('hooks.idle', 'promise', () => h.idle()),
  prune: (gate, h, policy) => gate.systemOnly('hooks.prune', 'promise', () => h.prune(policy)),
  pruneIfDue: (gate, h) => gate.systemOnly('hooks.pruneIfDue', 'promise', () => h.pruneIfDue()),
};

export const BACKUPS_RULES: Rules<Backups> = {
  create: (gate, b, options) => gate.systemOnly('backups.create', 'promise', () => b.create(options)),
  exclusive: (gate, b, work) => gate.systemOnly('backups.exclusive', 'promise', () => b.exclusive(work)),
  list: (gate, b) => gate.systemOnly('backups.list', 'promise', () => b.list()),
  get: (gate, b, id) => gate.systemOnly('backups.get', 'promise', () => b.get(id)),
  verify: (gate, b, id, options) => gate.systemOnly('backups.verify', 'promise', () => b.verify(id, options)),
  restore: (gate, b, options) => gate.systemOnly('backups.restore', 'promise', () => b.restore(options)),
  plan: (gate, b, policy) => gate.systemOnly('backups.plan', 'promise', () => b.plan(policy)),
  prune: (gate, b, policy) => gate.systemOnly('backups.prune', 'promise', () => b.prune(policy)),
  pin: (gate, b, id) => gate.systemOnly('backups.pin', 'promise', () => b.pin(id)),
  unpin: (gate, b, id) => gate.systemOnly('backups.unpin', 'promise', () => b.unpin(id)),
  startSchedule: (gate, b) => gate.systemOnly('backups.startSchedule', 'value', () => b.startSchedule()),
  stopSchedule: (gate, b) => gate.systemOnly('backups.stopSchedule', 'promise', () => b.stopSchedule()),
  idle: (gate, b) => gate.open('backups.idle', 'promise', () => b.idle()),
};

export const SCHEMAS_RULES: Rules<Schemas> = {
  register: (gate, s, options) => gate.systemOnly('schemas.register', 'promise', () => s.register(options)),
  bind: (gate, s, name, options) => gate.systemOnly('schemas.bind', 'promise', () => s.bind(name, options)),
  get: (gate, s, name, version) => gate.open('schemas.get', 'value', () => s.get(name, version)),
  list: (gate, s) => gate.open('schemas.list', 'value', () => s.list()),
  bindings: (gate, s) => gate.open('schemas.bindings', 'value', () => s.bindings()),
  compare: (gate, s, a, b, options) => gate.open('schemas.compare', 'value', () => s.compare(a, b, options)),
  docs: (gate, s) => gate.open('schemas.docs', 'value', () => s.docs()),
};

export const MIGRATIONS_RULES: Rules<Migrations> = {
  define: (gate, m, options) => gate.systemOnly('migrations.define', 'promise', () => m.define(options)),
  list: (gate, m, schema) => gate.open('migrations.list', 'value', () => m.list(schema)),
  // Planning and checking look at the store as a whole, across every scope.
  plan: (gate, m, name, options) => gate.systemOnly('migrations.plan', 'promise', () => m.plan(name, options)),
  check: (gate, m, options) => gate.systemOnly('migrations.check', 'promise', () => m.check(options)),
  run: (gate, m, options) => gate.systemOnly('migrations.run', 'promise', () => m.run(options)),
  migrateValue: (gate, m, schema, value, options) => gate.open('migrations.migrateValue', 'value', () => m.migrateValue(schema, value, options)),
};
