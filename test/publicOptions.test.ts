import assert from 'node:assert/strict';
import { z } from 'zod';
import { createRuntime, Scope, type Runtime } from '../src/index.js';

/**
 * Every public method with an options argument (or a filter, spec or policy object) refuses a null or a
 * non-object there with the same clear TypeError, before it does anything else. The table lists every
 * method of every namespace, so a new method must say here whether it takes one.
 */

/** Where a method takes its options object, and the arguments before it. */
interface TakesOptions {
  /** Valid arguments before the options argument. */
  before: (rt: Runtime) => unknown[];
  /** The parameter's name, as the message spells it. */
  param: string;
  presence: 'optional' | 'required';
}

/** A public method that takes no options object. */
const NONE = 'no options argument';
/** A method public in JavaScript but marked @internal: not part of the API. */
const INTERNAL = 'internal';

type Entry = TakesOptions | typeof NONE | typeof INTERNAL;

const scope = Scope.agent('a1');
const optional = (param: string, before: TakesOptions['before'] = () => []): TakesOptions => ({ before, param, presence: 'optional' });
const required = (param: string, before: TakesOptions['before'] = () => []): TakesOptions => ({ before, param, presence: 'required' });

const TABLE: Record<string, Record<string, Entry>> = {
  runtime: {
    // Its second argument is a correlation id or an options object: test/sessions/artifacts.test.ts checks both.
    correlate: NONE,
    metrics: NONE,
    stats: NONE,
    leases: optional('options'),
    close: NONE,
    start: INTERNAL,
    as: optional('options', () => ['agent:a1']),
  },
  state: {
    set: optional('options', () => [scope, 'k', 1]),
    get: NONE,
    delete: optional('options', () => [scope, 'k']),
    listKeys: optional('options', () => [scope]),
    clearScope: optional('options', () => [scope]),
    transaction: optional('options', () => [scope, () => 1]),
    withPrincipal: INTERNAL,
    commitUnit: optional('options', () => [scope, { build: () => ({}) }]),
    entries: optional('range', () => [scope]),
    scopes: required('options'),
  },
  agents: {
    define: NONE,
    spawn: required('options'),
    get: NONE,
    save: NONE,
    restore: optional('options', () => ['a1']),
    list: NONE,
    show: NONE,
    delete: NONE,
    deadLetters: optional('filter'),
    assertWritable: INTERNAL,
    isLive: INTERNAL,
    liveIds: INTERNAL,
    saveAll: INTERNAL,
    rejectAllQueued: INTERNAL,
    letGoAll: INTERNAL,
    stopAgent: INTERNAL,
    cutOff: INTERNAL,
  },
  hooks: {
    load: INTERNAL,
    refresh: INTERNAL,
    register: required('registration'),
    unregister: NONE,
    list: NONE,
    get: NONE,
    disable: NONE,
    enable: NONE,
    history: optional('filter'),
    historyMetadata: optional('filter'),
    execution: NONE,
    replay: optional('options', () => ['x1']),
    replayMany: optional('filter'),
    'replayMany#options': optional('options', () => [{}]),
    deadLetters: optional('filter'),
    redeliver: NONE,
    idle: NONE,
    prune: optional('policy'),
    pruneIfDue: INTERNAL,
  },
  events: {
    query: optional('filter'),
    prune: optional('retention'),
    timeline: NONE,
    exportTimeline: NONE,
  },
  supervisors: {
    create: required('spec'),
    get: NONE,
    list: NONE,
    startChild: required('spec', () => ['agents']),
    terminateChild: NONE,
    restartChild: NONE,
    deleteChild: NONE,
    whichChildren: NONE,
    countChildren: NONE,
    checkChildSpecs: NONE,
    has: NONE,
    deadLetters: optional('filter'),
  },
  backups: {
    create: optional('options'),
    list: NONE,
    get: NONE,
    verify: optional('options', () => ['x1']),
    restore: required('options'),
    plan: optional('policy'),
    prune: optional('policy'),
    pin: NONE,
    unpin: NONE,
    startSchedule: INTERNAL,
    stopSchedule: INTERNAL,
    idle: INTERNAL,
    exclusive: INTERNAL,
  },
  schemas: {
    register: required('options'),
    bind: optional('options', () => ['note']),
    get: NONE,
    list: NONE,
    bindings: NONE,
    compare: optional('options', () => ['note@1.0.0', 'note@1.0.0']),
    docs: NONE,
  },
  migrations: {
    define: required('options'),
    list: NONE,
    plan: optional('options', () => ['note']),
    check: optional('options'),
    run: required('options'),
    migrateValue: required('options', () => ['note', { text: 'x' }]),
  },
  access: {
    grant: required('grant'),
    revoke: NONE,
    grants: optional('filter'),
    check: optional('options', () => ['agent:a2', scope, 'read']),
    audit: optional('filter'),
    quarantine: optional('options', () => ['a3']),
    release: NONE,
    quarantined: NONE,
  },
  sessions: {
    start: optional('options'),
    end: NONE,
    get: NONE,
    list: optional('options'),
    gc: optional('options'),
    linkArtifact: required('options', () => ['report.pdf']),
    linkArtifactChecked: INTERNAL,
    changesByArtifact: NONE,
    linksOf: NONE,
    // A Scope, a scope's string form or { sessionId }: checked in test/sessions/artifacts.test.ts.
    artifactsOf: NONE,
    accessInfo: INTERNAL,
    load: INTERNAL,
    stop: INTERNAL,
    refresh: INTERNAL,
  },
  faults: {
    crashActor: NONE,
    failStorage: optional('spec'),
    reset: NONE,
    takeCrash: INTERNAL,
    detach: INTERNAL,
    beforeGroup: INTERNAL,
    beforeUnscopedBatch: INTERNAL,
  },
};

/** The methods of an object, inherited ones included, without calling any getter. */
function methodsOf(target: object): string[] {
  const names = new Set<string>();
  for (let o: object | null = target; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const name of Object.getOwnPropertyNames(o)) {
      const descriptor = Object.getOwnPropertyDescriptor(o, name);
      if (name !== 'constructor' && typeof descriptor?.value === 'function') names.add(name);
    }
  }
  return [...names].sort();
}

function namespaceOf(rt: Runtime, name: string): Record<string, (...args: unknown[]) => unknown> {
  return (name === 'runtime' ? rt : rt[name as keyof Runtime]) as unknown as Record<string, (...args: unknown[]) => unknown>;
}

async function outcomeOf(call: () => unknown): Promise<unknown> {
  try {
    await call();
    return undefined;
  } catch (error) {
    return error;
  }
}

const NOT_OBJECTS: [unknown, string][] = [
  [null, '`null`'],
  [42, '`42` (number)'],
  ['fast', '`"fast"` (string)'],
  [true, '`true` (boolean)'],
  [[], '`[]` (array)'],
];

describe('options arguments of public methods', () => {
  let rt: Runtime;

  before(async () => {
    rt = await createRuntime({ memory: true });
    await rt.schemas.register({ name: 'note', version: '1.0.0', schema: z.object({ text: z.string() }) });
  });

  after(async () => {
    await rt.close();
  });

  it('the table lists every method of every namespace, so a new one must say whether it takes options', () => {
    for (const [namespace, entries] of Object.entries(TABLE)) {
      const listed = Object.keys(entries).filter((name) => !name.includes('#')).sort();
      assert.deepEqual(methodsOf(namespaceOf(rt, namespace)), listed, `the methods of rt${namespace === 'runtime' ? '' : `.${namespace}`}`);
    }
  });

  for (const [namespace, entries] of Object.entries(TABLE)) {
    for (const [label, entry] of Object.entries(entries)) {
      if (typeof entry === 'string') continue;
      const method = label.split('#')[0];
      const where = `rt.${namespace}.${method}(${[...entry.before({} as Runtime).map(() => '…'), entry.param].join(', ')})`;

      it(`${where} refuses null and non-objects with a clear TypeError`, async () => {
        const target = namespaceOf(rt, namespace);
        for (const [value, shown] of NOT_OBJECTS) {
          const error = await outcomeOf(() => target[method].call(target, ...entry.before(rt), value));
          assert.ok(error instanceof TypeError, `${where} with ${shown}: ${String(error)}`);
          assert.equal(error.message, `Expected \`${entry.param}\` to be an object, got ${shown}`);
        }
      });

      if (entry.presence === 'required') {
        it(`${where} requires it`, async () => {
          const target = namespaceOf(rt, namespace);
          const error = await outcomeOf(() => target[method].call(target, ...entry.before(rt), undefined));
          assert.ok(error instanceof TypeError, String(error));
          assert.equal(error.message, `Expected \`${entry.param}\` to be an object, got \`undefined\` (undefined)`);
        });
      } else {
        it(`${where} accepts undefined there`, async () => {
          const target = namespaceOf(rt, namespace);
          const error = await outcomeOf(() => target[method].call(target, ...entry.before(rt), undefined));
          assert.ok(!(error instanceof TypeError), String(error));
        });
      }
    }
  }
});
