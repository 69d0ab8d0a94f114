import assert from 'node:assert/strict';
import { systemClock } from '../../src/clock.js';
import { Supervisor } from '../../supervisors/Supervisor.js';
import { DEFAULT_SUPERVISOR_OPTIONS, resolveSupervisorOptions } from '../../supervisors/supervisorOptions.js';
import { systemTimers } from '../../src/timers.js';

const start = async (): Promise<never> => {
  throw new Error('not started in these tests');
};
const base = { id: 'sup', strategy: 'one_for_one' } as const;

function rejects(options: unknown, message: string): void {
  for (const build of [() => resolveSupervisorOptions(options), () => new Supervisor(options as never)]) {
    assert.throws(build, (err: unknown) => {
      assert.ok(err instanceof TypeError, `expected a TypeError, got ${String(err)}`);
      assert.equal(err.message, message);
      return true;
    });
  }
}

describe('Supervisor options', () => {
  it('DEFAULT_SUPERVISOR_OPTIONS holds the documented defaults (OTP’s 3 restarts in 5 s)', () => {
    assert.deepEqual(DEFAULT_SUPERVISOR_OPTIONS, { intensity: 3, period: 5000, jitter: 0 });
  });

  it('fills every default', () => {
    const resolved = resolveSupervisorOptions(base);
    assert.equal(resolved.intensity, 3);
    assert.equal(resolved.period, 5000);
    assert.equal(resolved.backoff, undefined);
    assert.deepEqual(resolved.children, []);
    assert.equal(resolved.clock, systemClock);
    assert.equal(resolved.timers, systemTimers);
    assert.equal(resolved.random, Math.random);
    assert.equal(resolved.onFatal, undefined);
  });

  it('fills the child spec defaults: permanent, worker, 5000 ms; infinity for a supervisor', () => {
    const resolved = resolveSupervisorOptions({ ...base, children: [{ id: 'w', start }, { id: 's', start, type: 'supervisor' }] });
    assert.deepEqual(
      resolved.children.map(({ id, restart, shutdown, type }) => ({ id, restart, shutdown, type })),
      [
        { id: 'w', restart: 'permanent', shutdown: 5000, type: 'worker' },
        { id: 's', restart: 'permanent', shutdown: 'infinity', type: 'supervisor' },
      ],
    );
  });

  it('fills the backoff jitter with 0', () => {
    assert.deepEqual(resolveSupervisorOptions({ ...base, backoff: { minMs: 10, maxMs: 20 } }).backoff, { minMs: 10, maxMs: 20, jitter: 0 });
  });

  it('rejects options that are not an object', () => {
    rejects('sup', "Expected the supervisor options to be an object, got `\"sup\"` (string)");
  });

  it('rejects an unknown option', () => {
    rejects(
      { ...base, restarts: 3 },
      'Unknown option `restarts`; the options are `id`, `strategy`, `intensity`, `period`, `backoff`, `children`, `childTemplate`, `clock`, `timers`, `random`, `emit`, `onFatal`',
    );
  });

  it('rejects an id that is missing or empty', () => {
    rejects({ strategy: 'one_for_one' }, 'Expected `id` to be a non-empty string, got `undefined` (undefined)');
    rejects({ ...base, id: '' }, "Expected `id` to be a non-empty string, got `\"\"` (string)");
  });

  it('rejects a strategy that is missing or unknown', () => {
    const expected = "'one_for_one', 'one_for_all', 'rest_for_one' or 'simple_one_for_one'";
    rejects({ id: 'sup' }, `Expected \`strategy\` to be ${expected}, got \`undefined\` (undefined)`);
    rejects({ id: 'sup', strategy: 'all_for_one' }, `Expected \`strategy\` to be ${expected}, got \`"all_for_one"\` (string)`);
  });

  it('rejects an intensity that is negative or fractional', () => {
    rejects({ ...base, intensity: -1 }, 'Expected `intensity` to be a non-negative integer, got `-1` (number)');
    rejects({ ...base, intensity: 0.5 }, 'Expected `intensity` to be a non-negative integer, got `0.5` (number)');
  });

  it('rejects a period that is not a positive integer', () => {
    rejects({ ...base, period: 0 }, 'Expected `period` to be a positive integer of ms, got `0` (number)');
  });

  it('rejects a backoff that is not an object', () => {
    rejects({ ...base, backoff: 100 }, 'Expected `backoff` to be an object { minMs, maxMs, jitter? }, got `100` (number)');
  });

  it('rejects a backoff minMs that is negative', () => {
    rejects({ ...base, backoff: { minMs: -5, maxMs: 10 } }, 'Expected `backoff.minMs` to be a non-negative integer of ms up to 2147483647, got `-5` (number)');
  });

  it('rejects a backoff maxMs below minMs', () => {
    rejects({ ...base, backoff: { minMs: 100, maxMs: 50 } }, 'Expected `backoff.maxMs` to be an integer of ms from `backoff.minMs` (100) up to 2147483647, got `50` (number)');
  });

  it('rejects a backoff jitter outside [0, 1]', () => {
    rejects({ ...base, backoff: { minMs: 1, maxMs: 2, jitter: 1.5 } }, 'Expected `backoff.jitter` to be a number from 0 to 1, got `1.5` (number)');
  });

  it('rejects an unknown backoff field', () => {
    rejects({ ...base, backoff: { minMs: 1, maxMs: 2, factor: 3 } }, 'Unknown field `backoff.factor`; a backoff has `minMs`, `maxMs` and `jitter`');
  });

  it('rejects invalid children with the rule of checkChildSpecs', () => {
    rejects({ ...base, children: [{ id: 'a', start, restart: 'sometimes' }] }, "Expected `children[0].restart` to be 'permanent', 'transient' or 'temporary', got `\"sometimes\"` (string)");
  });

  it('rejects static children on a simple_one_for_one supervisor', () => {
    rejects(
      { id: 'pool', strategy: 'simple_one_for_one', children: [{ id: 'a', start }], childTemplate: { start } },
      'Expected `children` to be empty for a simple_one_for_one supervisor (it starts children from `childTemplate`), got 1 specs',
    );
  });

  it('requires a childTemplate on a simple_one_for_one supervisor', () => {
    rejects({ id: 'pool', strategy: 'simple_one_for_one' }, 'Expected `childTemplate` to be a child template for a simple_one_for_one supervisor, got `undefined` (undefined)');
  });

  it('rejects a childTemplate on any other strategy', () => {
    rejects({ ...base, childTemplate: { start } }, "Expected no `childTemplate` for a one_for_one supervisor (only simple_one_for_one uses one), got `{}` (object)");
  });

  it('rejects an invalid childTemplate', () => {
    rejects({ id: 'pool', strategy: 'simple_one_for_one', childTemplate: { start, id: 'fixed' } }, "Expected `childTemplate.id` to be a function from the start arguments to a child id, got `\"fixed\"` (string)");
    rejects({ id: 'pool', strategy: 'simple_one_for_one', childTemplate: {} }, 'Expected `childTemplate.start` to be a function, got `undefined` (undefined)');
  });

  it('rejects a clock without now()', () => {
    rejects({ ...base, clock: {} }, 'Expected `clock` to be an object with a now() method, got `{}` (object)');
  });

  it('rejects timers without setTimeout() and clearTimeout()', () => {
    rejects({ ...base, timers: { setTimeout } }, 'Expected `timers` to be an object with setTimeout() and clearTimeout() methods, got `{}` (object)');
  });

  it('rejects a random, emit or onFatal that is not a function', () => {
    rejects({ ...base, random: 4 }, 'Expected `random` to be a function returning numbers in [0, 1), got `4` (number)');
    rejects({ ...base, emit: true }, 'Expected `emit` to be a function, got `true` (boolean)');
    rejects({ ...base, onFatal: 'log' }, "Expected `onFatal` to be a function, got `\"log\"` (string)");
  });

  describe('Supervisor.childSpec', () => {
    it('makes a supervisor child spec: permanent, shutdown infinity, named by the supervisor id', () => {
      const spec = Supervisor.childSpec({ ...base, id: 'agents' });
      assert.deepEqual({ ...spec, start: typeof spec.start }, { id: 'agents', type: 'supervisor', restart: 'permanent', shutdown: 'infinity', start: 'function' });
    });

    it('takes restart and shutdown overrides', () => {
      const spec = Supervisor.childSpec(base, { restart: 'transient', shutdown: 10_000 });
      assert.equal(spec.restart, 'transient');
      assert.equal(spec.shutdown, 10_000);
    });

    it('checks the options and the overrides at once', () => {
      assert.throws(() => Supervisor.childSpec({ ...base, intensity: -1 }), /^TypeError: Expected `intensity` to be a non-negative integer/);
      assert.throws(() => Supervisor.childSpec(base, { restart: 'never' as never }), /^TypeError: Expected `child\.restart` to be 'permanent'/);
    });
  });
});
