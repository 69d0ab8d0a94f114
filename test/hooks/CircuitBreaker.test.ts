import assert from 'node:assert/strict';
import { CircuitBreaker, DEFAULT_OPTIONS, type CircuitBreakerOptions, type CircuitState } from '../../src/hooks/CircuitBreaker.js';

class FakeClock {
  t = 1_000_000;
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

function setup(options: Partial<CircuitBreakerOptions> = {}) {
  const clock = new FakeClock();
  const transitions: [CircuitState, CircuitState][] = [];
  const breaker = new CircuitBreaker({
    clock,
    failureThreshold: 3,
    windowMs: 1000,
    cooldownMs: 500,
    onTransition: (from, to) => transitions.push([from, to]),
    ...options,
  });
  return { clock, breaker, transitions };
}

function fail(breaker: CircuitBreaker, times: number): void {
  for (let i = 0; i < times; i++) breaker.recordFailure();
}

describe('CircuitBreaker', () => {
  describe('closed', () => {
    it('starts closed and lets every call run', () => {
      const { breaker, transitions } = setup();
      assert.equal(breaker.state, 'closed');
      for (let i = 0; i < 10; i++) assert.equal(breaker.canRun(), true);
      assert.equal(breaker.retryAt(), undefined);
      assert.deepEqual(transitions, []);
    });

    it('stays closed below the failure threshold', () => {
      const { breaker } = setup();
      fail(breaker, 2);
      assert.equal(breaker.state, 'closed');
      assert.equal(breaker.canRun(), true);
    });

    it('opens when failures within the window reach the threshold', () => {
      const { breaker, clock, transitions } = setup();
      fail(breaker, 2);
      clock.advance(999);
      breaker.recordFailure();
      assert.equal(breaker.state, 'open');
      assert.equal(breaker.canRun(), false);
      assert.equal(breaker.retryAt(), clock.t + 500);
      assert.deepEqual(transitions, [['closed', 'open']]);
    });

    it('forgets failures older than the window', () => {
      const { breaker, clock } = setup();
      fail(breaker, 2);
      clock.advance(1001);
      breaker.recordFailure();
      assert.equal(breaker.state, 'closed', 'the first two failures have left the window');
      breaker.recordFailure();
      assert.equal(breaker.state, 'closed');
      breaker.recordFailure();
      assert.equal(breaker.state, 'open');
    });

    it('still counts a failure exactly windowMs old', () => {
      const { breaker, clock } = setup();
      fail(breaker, 2);
      clock.advance(1000);
      breaker.recordFailure();
      assert.equal(breaker.state, 'open');
    });

    it('does not forgive failures on a success while closed', () => {
      const { breaker } = setup();
      breaker.recordFailure();
      breaker.recordSuccess();
      breaker.recordFailure();
      breaker.recordSuccess();
      breaker.recordFailure();
      assert.equal(breaker.state, 'open');
    });
  });

  describe('open', () => {
    it('refuses calls until the cooldown ends', () => {
      const { breaker, clock } = setup();
      fail(breaker, 3);
      clock.advance(499);
      assert.equal(breaker.canRun(), false);
      assert.equal(breaker.state, 'open');
      assert.equal(breaker.retryAt(), clock.t + 1);
    });

    it('turns half-open lazily when the cooldown ends, and reports it', () => {
      const { breaker, clock, transitions } = setup();
      fail(breaker, 3);
      clock.advance(500);
      assert.deepEqual(transitions, [['closed', 'open']], 'nothing happens until the breaker is read');
      assert.equal(breaker.state, 'half_open');
      assert.equal(breaker.retryAt(), undefined);
      assert.deepEqual(transitions, [
        ['closed', 'open'],
        ['open', 'half_open'],
      ]);
      assert.equal(breaker.state, 'half_open');
      assert.equal(transitions.length, 2, 'the lazy transition is reported once');
    });

    it('turns half-open from canRun and retryAt too', () => {
      const { breaker, clock } = setup();
      fail(breaker, 3);
      clock.advance(600);
      assert.equal(breaker.canRun(), true);

      const other = setup();
      fail(other.breaker, 3);
      other.clock.advance(600);
      assert.equal(other.breaker.retryAt(), undefined);
      assert.deepEqual(other.transitions.at(-1), ['open', 'half_open']);
    });

    it('ignores outcomes reported while open', () => {
      const { breaker, clock, transitions } = setup();
      fail(breaker, 3);
      const retryAt = breaker.retryAt();
      clock.advance(100);
      breaker.recordFailure();
      breaker.recordSuccess();
      assert.equal(breaker.state, 'open');
      assert.equal(breaker.retryAt(), retryAt, 'a late failure does not extend the cooldown');
      assert.equal(transitions.length, 1);
    });
  });

  describe('half-open', () => {
    function halfOpen(options: Partial<CircuitBreakerOptions> = {}) {
      const context = setup(options);
      fail(context.breaker, 3);
      context.clock.advance(500);
      assert.equal(context.breaker.state, 'half_open');
      return context;
    }

    it('lets one probe run by default', () => {
      const { breaker } = halfOpen();
      assert.equal(breaker.canRun(), true);
      assert.equal(breaker.canRun(), false);
      assert.equal(breaker.canRun(), false);
      assert.equal(breaker.state, 'half_open');
    });

    it('lets up to halfOpenMaxCalls probes run at once', () => {
      const { breaker } = halfOpen({ halfOpenMaxCalls: 3 });
      assert.deepEqual([breaker.canRun(), breaker.canRun(), breaker.canRun(), breaker.canRun()], [true, true, true, false]);
    });

    it('closes on a successful probe and forgets past failures', () => {
      const { breaker, transitions } = halfOpen();
      assert.equal(breaker.canRun(), true);
      breaker.recordSuccess();
      assert.equal(breaker.state, 'closed');
      assert.equal(breaker.canRun(), true);
      fail(breaker, 2);
      assert.equal(breaker.state, 'closed', 'the count starts again from zero');
      assert.deepEqual(transitions, [
        ['closed', 'open'],
        ['open', 'half_open'],
        ['half_open', 'closed'],
      ]);
    });

    it('reopens on a failed probe, with a fresh cooldown', () => {
      const { breaker, clock, transitions } = halfOpen();
      clock.advance(50);
      assert.equal(breaker.canRun(), true);
      breaker.recordFailure();
      assert.equal(breaker.state, 'open');
      assert.equal(breaker.canRun(), false);
      assert.equal(breaker.retryAt(), clock.t + 500);
      clock.advance(499);
      assert.equal(breaker.state, 'open');
      clock.advance(1);
      assert.equal(breaker.state, 'half_open');
      assert.deepEqual(transitions, [
        ['closed', 'open'],
        ['open', 'half_open'],
        ['half_open', 'open'],
        ['open', 'half_open'],
      ]);
    });

    it('allows new probes after reopening and turning half-open again', () => {
      const { breaker, clock } = halfOpen();
      assert.equal(breaker.canRun(), true);
      breaker.recordFailure();
      clock.advance(500);
      assert.equal(breaker.canRun(), true, 'the probe count starts again');
      assert.equal(breaker.canRun(), false);
      breaker.recordSuccess();
      assert.equal(breaker.state, 'closed');
    });

    it('ignores the outcome of a call that started in an earlier state: the probe decides', () => {
      const { clock, breaker, transitions } = setup();
      const slowCall = breaker.generation;
      assert.equal(breaker.canRun(), true);
      fail(breaker, 3);
      clock.advance(500);
      assert.equal(breaker.canRun(), true, 'the probe starts');
      const probe = breaker.generation;
      breaker.recordSuccess(slowCall);
      assert.equal(breaker.state, 'half_open', 'a success from before the breaker opened does not close it');
      breaker.recordFailure(slowCall);
      assert.equal(breaker.state, 'half_open', 'nor does a failure from then reopen it');
      breaker.recordSuccess(probe);
      assert.equal(breaker.state, 'closed');
      breaker.recordFailure(probe);
      breaker.recordFailure(probe);
      breaker.recordFailure(probe);
      assert.equal(breaker.state, 'closed', 'the probe’s generation is over once the breaker closed');
      assert.deepEqual(transitions, [['closed', 'open'], ['open', 'half_open'], ['half_open', 'closed']]);
    });

    it('counts an outcome reported with the generation it started in, while that lasts', () => {
      const { breaker } = setup();
      const started = breaker.generation;
      breaker.recordFailure(started);
      breaker.recordFailure(started);
      assert.equal(breaker.generation, started);
      breaker.recordFailure(started);
      assert.equal(breaker.state, 'open');
      assert.notEqual(breaker.generation, started);
    });

    it('reopens on a single failure, below the threshold', () => {
      const { breaker, clock } = setup({ failureThreshold: 10 });
      fail(breaker, 10);
      clock.advance(500);
      assert.equal(breaker.canRun(), true);
      breaker.recordFailure();
      assert.equal(breaker.state, 'open');
    });
  });

  describe('options', () => {
    it('fills defaults', () => {
      const breaker = new CircuitBreaker({ clock: new FakeClock() });
      assert.deepEqual({ ...breaker.options, clock: undefined }, { ...DEFAULT_OPTIONS, clock: undefined, onTransition: undefined });
      assert.deepEqual(DEFAULT_OPTIONS, { failureThreshold: 5, windowMs: 30_000, cooldownMs: 10_000, halfOpenMaxCalls: 1 });
    });

    it('opens after five failures by default', () => {
      const breaker = new CircuitBreaker({ clock: new FakeClock() });
      fail(breaker, 4);
      assert.equal(breaker.state, 'closed');
      breaker.recordFailure();
      assert.equal(breaker.state, 'open');
    });

    function rejects(options: unknown, message: string): void {
      assert.throws(() => new CircuitBreaker(options as CircuitBreakerOptions), { name: 'TypeError', message });
    }

    for (const name of ['failureThreshold', 'windowMs', 'cooldownMs', 'halfOpenMaxCalls'] as const) {
      it(`requires \`${name}\` to be a positive integer`, () => {
        const clock = new FakeClock();
        rejects({ clock, [name]: 0 }, `Expected \`${name}\` to be a positive integer, got \`0\` (number)`);
        rejects({ clock, [name]: 1.5 }, `Expected \`${name}\` to be a positive integer, got \`1.5\` (number)`);
        rejects({ clock, [name]: '5' }, `Expected \`${name}\` to be a positive integer, got \`"5"\` (string)`);
      });
    }

    it('requires a clock', () => {
      rejects({}, 'Expected `clock` to be an object with a now() method, got `undefined` (undefined)');
      rejects({ clock: {} }, 'Expected `clock` to be an object with a now() method, got `{}` (object)');
    });

    it('requires onTransition to be a function', () => {
      rejects({ clock: new FakeClock(), onTransition: 1 }, 'Expected `onTransition` to be a function, got `1` (number)');
    });

    it('rejects unknown options and a non-object', () => {
      rejects(
        { clock: new FakeClock(), threshold: 3 },
        'Unknown option `threshold`; the options are `clock`, `failureThreshold`, `windowMs`, `cooldownMs`, `halfOpenMaxCalls`, `onTransition`',
      );
      rejects(undefined, 'Expected the options to be an object, got `undefined` (undefined)');
    });
  });
});
