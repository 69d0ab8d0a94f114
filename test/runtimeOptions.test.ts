import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { systemClock, type Clock } from '../src/clock.js';
import { DEFAULT_OPTIONS, resolveRuntimeOptions } from '../src/runtimeOptions.js';
import { systemTimers, type Timers } from '../src/timers.js';

function rejects(options: unknown, message: string | RegExp): void {
  assert.throws(
    () => resolveRuntimeOptions(options),
    (err: unknown) => {
      assert.ok(err instanceof TypeError, `expected a TypeError, got ${String(err)}`);
      if (typeof message === 'string') assert.equal(err.message, message);
      else assert.match(err.message, message);
      return true;
    },
  );
}

const POSITIVE_INTEGER_OPTIONS = ['maxValueBytes', 'idleMs', 'memoryBudgetBytes', 'maxBatchOps', 'maxBatchBytes', 'transactionTimeoutMs'] as const;

describe('resolveRuntimeOptions', () => {
  describe('defaults', () => {
    it('fills every default from DEFAULT_OPTIONS for an in-memory runtime', () => {
      const { faultSeed, ...resolved } = resolveRuntimeOptions({ memory: true });
      assert.ok(Number.isSafeInteger(faultSeed) && faultSeed >= 0 && faultSeed < 2 ** 32, 'a random fault seed is chosen');
      assert.deepEqual(resolved, {
        dataDir: undefined,
        memory: true,
        postgres: undefined,
        leases: DEFAULT_OPTIONS.leases,
        durability: DEFAULT_OPTIONS.durability,
        maxValueBytes: DEFAULT_OPTIONS.maxValueBytes,
        idleMs: DEFAULT_OPTIONS.idleMs,
        memoryBudgetBytes: DEFAULT_OPTIONS.memoryBudgetBytes,
        maxBatchOps: DEFAULT_OPTIONS.maxBatchOps,
        maxBatchBytes: DEFAULT_OPTIONS.maxBatchBytes,
        transactionTimeoutMs: DEFAULT_OPTIONS.transactionTimeoutMs,
        closeGraceMs: DEFAULT_OPTIONS.closeGraceMs,
        clock: systemClock,
        timers: systemTimers,
        poisonLimit: DEFAULT_OPTIONS.poisonLimit,
        supervisors: DEFAULT_OPTIONS.supervisors,
        hooks: DEFAULT_OPTIONS.hooks,
        eventRetention: {},
        backups: {},
        audit: DEFAULT_OPTIONS.audit,
        sessions: DEFAULT_OPTIONS.sessions,
      });
    });

    it('fills every default for an on-disk runtime, with memory false', () => {
      const resolved = resolveRuntimeOptions({ dataDir: './data' });
      assert.equal(resolved.dataDir, './data');
      assert.equal(resolved.memory, false);
      assert.equal(resolved.clock, systemClock);
      assert.equal(resolved.timers, systemTimers);
      for (const [name, value] of Object.entries(DEFAULT_OPTIONS)) {
        if (name === 'memory') continue;
        assert.deepEqual(resolved[name as keyof typeof resolved], value, name);
      }
    });

    it('DEFAULT_OPTIONS holds the documented defaults', () => {
      assert.deepEqual(DEFAULT_OPTIONS, {
        memory: false,
        leases: { ttlMs: 10000, waitMs: 0, owner: undefined },
        durability: 'process',
        maxValueBytes: 1048576,
        idleMs: 60000,
        memoryBudgetBytes: 268435456,
        maxBatchOps: 4096,
        maxBatchBytes: 16777216,
        transactionTimeoutMs: 30000,
        closeGraceMs: 5000,
        poisonLimit: 3,
        supervisors: { intensity: 3, period: 5000 },
        sessions: { gcIntervalMs: 60000 },
        hooks: {
          threads: Math.min(4, Math.max(2, availableParallelism())),
          autoStart: true,
          closeGraceMs: 5000,
          history: { maxAgeMs: 604800000, maxCount: 100000, maxBytes: 268435456, pruneEvery: 1000 },
          resourceLimits: { maxOldGenerationSizeMb: 512, stackSizeMb: 4 },
        },
        audit: { maxCount: 1000000, maxAgeMs: 7776000000, maxBytes: 268435456, pruneEvery: 1000 },
      });
    });

    it('treats an option given as undefined as not given', () => {
      const resolved = resolveRuntimeOptions({ memory: true, idleMs: undefined, durability: undefined, clock: undefined, timers: undefined, supervisors: { intensity: undefined } });
      assert.equal(resolved.idleMs, DEFAULT_OPTIONS.idleMs);
      assert.equal(resolved.durability, DEFAULT_OPTIONS.durability);
      assert.equal(resolved.clock, systemClock);
      assert.equal(resolved.timers, systemTimers);
      assert.deepEqual(resolved.supervisors, DEFAULT_OPTIONS.supervisors);
    });

    it('keeps every valid value that is given', () => {
      const clock: Clock = { now: () => 5 };
      const timers: Timers = { setTimeout: () => 1, clearTimeout: () => {} };
      assert.deepEqual(
        resolveRuntimeOptions({
          dataDir: '/tmp/x',
          memory: false,
          durability: 'sync',
          maxValueBytes: 10,
          idleMs: 1,
          memoryBudgetBytes: 2,
          maxBatchOps: 3,
          maxBatchBytes: Number.MAX_SAFE_INTEGER,
          transactionTimeoutMs: 4,
          closeGraceMs: 0,
          clock,
          timers,
          faultSeed: 42,
          poisonLimit: 1,
          supervisors: { intensity: 0, period: 1 },
          hooks: { threads: 3, autoStart: false, closeGraceMs: 0, history: { maxCount: 7 }, resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16, stackSizeMb: 8 } },
          eventRetention: { maxCount: 9 },
          audit: { maxCount: 10, maxAgeMs: 11, maxBytes: 12, pruneEvery: 13 },
          sessions: { defaultTtlMs: 1000, gcIntervalMs: 10 },
          leases: { ttlMs: 200, waitMs: 5, owner: 'p1' },
        }),
        {
          dataDir: '/tmp/x',
          memory: false,
          postgres: undefined,
          leases: { ttlMs: 200, waitMs: 5, owner: 'p1' },
          durability: 'sync',
          maxValueBytes: 10,
          idleMs: 1,
          memoryBudgetBytes: 2,
          maxBatchOps: 3,
          maxBatchBytes: Number.MAX_SAFE_INTEGER,
          transactionTimeoutMs: 4,
          closeGraceMs: 0,
          clock,
          timers,
          faultSeed: 42,
          poisonLimit: 1,
          supervisors: { intensity: 0, period: 1 },
          hooks: {
            threads: 3,
            autoStart: false,
            closeGraceMs: 0,
            history: { ...DEFAULT_OPTIONS.hooks.history, maxCount: 7 },
            resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16, stackSizeMb: 8 },
          },
          eventRetention: { maxCount: 9 },
          backups: {},
          audit: { maxCount: 10, maxAgeMs: 11, maxBytes: 12, pruneEvery: 13 },
          sessions: { defaultTtlMs: 1000, gcIntervalMs: 10 },
        },
      );
    });
  });

  describe('the options object', () => {
    it('rejects options that are not an object', () => {
      rejects(null, 'Expected the options to be an object, got `null`');
      rejects('./data', 'Expected the options to be an object, got `"./data"` (string)');
      rejects(42, 'Expected the options to be an object, got `42` (number)');
      rejects(['./data'], 'Expected the options to be an object, got `["./data"]` (array)');
    });

    it('rejects an unknown option, naming it and the known ones', () => {
      rejects(
        { memory: true, idle: 5 },
        'Unknown option `idle`; the options are `dataDir`, `memory`, `storage`, `leases`, `durability`, `maxValueBytes`, `idleMs`, ' +
          '`memoryBudgetBytes`, `maxBatchOps`, `maxBatchBytes`, `transactionTimeoutMs`, `closeGraceMs`, `clock`, `timers`, `faultSeed`, `poisonLimit`, `supervisors`, `hooks`, `eventRetention`, `backups`, `audit`, `sessions`',
      );
    });

    it('rejects a closeGraceMs that is not a non-negative integer', () => {
      rejects({ memory: true, closeGraceMs: -1 }, 'Expected `closeGraceMs` to be a non-negative integer, got `-1` (number)');
      rejects({ memory: true, closeGraceMs: 1.5 }, 'Expected `closeGraceMs` to be a non-negative integer, got `1.5` (number)');
      rejects({ memory: true, closeGraceMs: '5' }, 'Expected `closeGraceMs` to be a non-negative integer, got `"5"` (string)');
    });

    it('rejects an unknown option named like a member of Object.prototype', () => {
      for (const name of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
        const options = JSON.parse(`{"memory": true, ${JSON.stringify(name)}: 1}`) as object;
        assert.throws(() => resolveRuntimeOptions(options), (err: unknown) => {
          assert.ok(err instanceof TypeError, `${name}: expected a TypeError, got ${String(err)}`);
          assert.match(err.message, new RegExp(`^Unknown option \`${name}\``));
          return true;
        });
      }
    });

    it('rejects more than one store', () => {
      const postgres = { connectionString: 'postgres://localhost/db' };
      rejects({ dataDir: './data', memory: true }, 'Expected one store, got `dataDir` and `memory: true`');
      rejects({ dataDir: './data', storage: { postgres } }, 'Expected one store, got `dataDir` and `storage.postgres`');
      rejects({ memory: true, storage: { postgres } }, 'Expected one store, got `memory: true` and `storage.postgres`');
    });

    it('takes a PostgreSQL store instead of a directory, and checks its options', () => {
      const resolved = resolveRuntimeOptions({ storage: { postgres: { connectionString: 'postgres://localhost/db', schema: 'agents_1' } } });
      assert.deepEqual(resolved.postgres, { connectionString: 'postgres://localhost/db', schema: 'agents_1' });
      assert.equal(resolved.dataDir, undefined);
      assert.equal(resolved.memory, false);
      assert.deepEqual(resolved.leases, { ttlMs: 10_000, waitMs: 0, owner: undefined });
      const expected = 'Expected `storage` to be an object `{ postgres: { connectionString, schema?, poolSize? } }` (schema: lower-case letters, digits and _, at most 63)';
      for (const storage of [{}, { postgres: {} }, { postgres: { connectionString: '' } }, { postgres: { connectionString: 'x', schema: 'Bad-Name' } }, { level: {} }]) {
        assert.throws(() => resolveRuntimeOptions({ storage }), (error: Error) => error instanceof TypeError && error.message.startsWith(expected));
      }
    });

    it('checks lease options', () => {
      assert.deepEqual(resolveRuntimeOptions({ memory: true, leases: { ttlMs: 500, waitMs: 20, owner: 'web-1' } }).leases, { ttlMs: 500, waitMs: 20, owner: 'web-1' });
      const expected = 'Expected `leases` to be an object with `ttlMs` (an integer of at least 100), `waitMs` (a non-negative integer) and/or `owner` (a non-empty string)';
      for (const leases of [{ ttlMs: 99 }, { waitMs: -1 }, { owner: '' }, { ttl: 5 }]) {
        assert.throws(() => resolveRuntimeOptions({ memory: true, leases }), (error: Error) => error instanceof TypeError && error.message.startsWith(expected));
      }
    });

    it('rejects no store', () => {
      const message = 'Expected `dataDir` to be a non-empty directory path (or pass `memory: true`, or `storage: { postgres }`), got `undefined`';
      rejects({}, message);
      rejects(undefined, message);
      rejects({ memory: false }, message);
    });
  });

  describe('hooks', () => {
    const expected =
      'Expected `hooks` to be an object with `threads` (1–64), `autoStart`, `closeGraceMs`, `history` ({ maxAgeMs, maxCount, maxBytes, pruneEvery }) and `resourceLimits`';

    it('rejects a hooks value that is not an object', () => {
      rejects({ memory: true, hooks: 4 }, `${expected}, got \`4\` (number)`);
    });

    it('rejects threads outside 1–64', () => {
      rejects({ memory: true, hooks: { threads: 0 } }, `${expected}, got \`{"threads":0}\` (object)`);
      rejects({ memory: true, hooks: { threads: 65 } }, `${expected}, got \`{"threads":65}\` (object)`);
      rejects({ memory: true, hooks: { threads: 1.5 } }, `${expected}, got \`{"threads":1.5}\` (object)`);
    });

    it('rejects a non-boolean autoStart and a negative closeGraceMs', () => {
      rejects({ memory: true, hooks: { autoStart: 'yes' } }, `${expected}, got \`{"autoStart":"yes"}\` (object)`);
      rejects({ memory: true, hooks: { closeGraceMs: -1 } }, `${expected}, got \`{"closeGraceMs":-1}\` (object)`);
    });

    it('rejects unknown hook options and bad history limits', () => {
      rejects({ memory: true, hooks: { thread: 2 } }, `${expected}, got \`{"thread":2}\` (object)`);
      rejects({ memory: true, hooks: { history: { maxCount: 0 } } }, `${expected}, got \`{"history":{"maxCount":0}}\` (object)`);
      rejects({ memory: true, hooks: { history: { maxAge: 5 } } }, `${expected}, got \`{"history":{"maxAge":5}}\` (object)`);
    });

    it('rejects an eventRetention that is not positive integer limits', () => {
      const expectedRetention = 'Expected `eventRetention` to be an object with positive integers `maxAgeMs` and/or `maxCount`';
      rejects({ memory: true, eventRetention: { maxCount: 0 } }, `${expectedRetention}, got \`{"maxCount":0}\` (object)`);
      rejects({ memory: true, eventRetention: { days: 3 } }, `${expectedRetention}, got \`{"days":3}\` (object)`);
    });

    it('rejects sessions options that are not positive integers of ms', () => {
      const expectedSessions = 'Expected `sessions` to be an object with positive integers `defaultTtlMs` and/or `gcIntervalMs` (ms)';
      rejects({ memory: true, sessions: { defaultTtlMs: 0 } }, `${expectedSessions}, got \`{"defaultTtlMs":0}\` (object)`);
      rejects({ memory: true, sessions: { gcIntervalMs: 1.5 } }, `${expectedSessions}, got \`{"gcIntervalMs":1.5}\` (object)`);
      rejects({ memory: true, sessions: { ttlMs: 5 } }, `${expectedSessions}, got \`{"ttlMs":5}\` (object)`);
    });

    describe('resourceLimits', () => {
      const resolve = (resourceLimits: unknown) => resolveRuntimeOptions({ memory: true, hooks: { resourceLimits } }).hooks.resourceLimits;

      it('defaults to a 512 MB old generation and a 4 MB stack, and leaves the young generation to V8', () => {
        assert.deepEqual(resolve(undefined), { maxOldGenerationSizeMb: 512, stackSizeMb: 4 });
        assert.deepEqual(resolve({}), { maxOldGenerationSizeMb: 512, stackSizeMb: 4 });
      });

      it('keeps each limit it is given, and fills the others', () => {
        assert.deepEqual(resolve({ maxOldGenerationSizeMb: 64 }), { maxOldGenerationSizeMb: 64, stackSizeMb: 4 });
        assert.deepEqual(resolve({ maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 8, stackSizeMb: 1 }), {
          maxOldGenerationSizeMb: 16,
          maxYoungGenerationSizeMb: 8,
          stackSizeMb: 1,
        });
        assert.deepEqual(resolve({ maxOldGenerationSizeMb: undefined, maxYoungGenerationSizeMb: undefined }), { maxOldGenerationSizeMb: 512, stackSizeMb: 4 });
      });

      it('rejects resourceLimits that is not an object', () => {
        rejects({ memory: true, hooks: { resourceLimits: 64 } }, 'Expected `hooks.resourceLimits` to be an object, got `64` (number)');
        rejects({ memory: true, hooks: { resourceLimits: null } }, 'Expected `hooks.resourceLimits` to be an object, got `null`');
      });

      it('rejects an unknown limit', () => {
        rejects(
          { memory: true, hooks: { resourceLimits: { maxOldSpaceSizeMb: 64 } } },
          'Unknown resource limit `maxOldSpaceSizeMb`; the options are `maxOldGenerationSizeMb`, `maxYoungGenerationSizeMb`, `stackSizeMb`',
        );
      });

      it('rejects maxOldGenerationSizeMb below 16 (a worker cannot start) or not an integer', () => {
        const expected = 'Expected `maxOldGenerationSizeMb` to be an integer of at least 16, got';
        rejects({ memory: true, hooks: { resourceLimits: { maxOldGenerationSizeMb: 15 } } }, `${expected} \`15\` (number)`);
        rejects({ memory: true, hooks: { resourceLimits: { maxOldGenerationSizeMb: 64.5 } } }, `${expected} \`64.5\` (number)`);
        rejects({ memory: true, hooks: { resourceLimits: { maxOldGenerationSizeMb: '64' } } }, `${expected} \`"64"\` (string)`);
      });

      it('rejects a maxYoungGenerationSizeMb that is not a positive integer', () => {
        const expected = 'Expected `maxYoungGenerationSizeMb` to be a positive integer, got';
        rejects({ memory: true, hooks: { resourceLimits: { maxYoungGenerationSizeMb: 0 } } }, `${expected} \`0\` (number)`);
        rejects({ memory: true, hooks: { resourceLimits: { maxYoungGenerationSizeMb: 2.5 } } }, `${expected} \`2.5\` (number)`);
      });

      it('rejects a stackSizeMb outside 1–1024 (a smaller stack can crash the process) or not an integer', () => {
        const expected = 'Expected `stackSizeMb` to be an integer from 1 to 1024, got';
        rejects({ memory: true, hooks: { resourceLimits: { stackSizeMb: 0 } } }, `${expected} \`0\` (number)`);
        rejects({ memory: true, hooks: { resourceLimits: { stackSizeMb: 1025 } } }, `${expected} \`1025\` (number)`);
        rejects({ memory: true, hooks: { resourceLimits: { stackSizeMb: 0.5 } } }, `${expected} \`0.5\` (number)`);
      });
    });

    it('fills the history defaults it is not given', () => {
      const { hooks } = resolveRuntimeOptions({ memory: true, hooks: { history: { maxBytes: 10 } } });
      assert.deepEqual(hooks.history, { ...DEFAULT_OPTIONS.hooks.history, maxBytes: 10 });
      assert.equal(hooks.threads, DEFAULT_OPTIONS.hooks.threads);
    });
  });

  describe('audit', () => {
    const expected = 'Expected `audit` to be an object with positive integers `maxCount`, `maxAgeMs`, `maxBytes` and/or `pruneEvery`';

    it('fills the retention defaults it is not given, and treats a limit given as undefined as not given', () => {
      assert.deepEqual(resolveRuntimeOptions({ memory: true, audit: { maxBytes: 10 } }).audit, { ...DEFAULT_OPTIONS.audit, maxBytes: 10 });
      assert.deepEqual(resolveRuntimeOptions({ memory: true, audit: { maxCount: undefined, pruneEvery: 5 } }).audit, { ...DEFAULT_OPTIONS.audit, pruneEvery: 5 });
      assert.deepEqual(resolveRuntimeOptions({ memory: true, audit: {} }).audit, DEFAULT_OPTIONS.audit);
    });

    it('rejects an audit value that is not an object', () => {
      rejects({ memory: true, audit: 5 }, `${expected}, got \`5\` (number)`);
      rejects({ memory: true, audit: null }, `${expected}, got \`null\``);
    });

    it('rejects a limit that is not a positive integer', () => {
      rejects({ memory: true, audit: { maxCount: 0 } }, `${expected}, got \`{"maxCount":0}\` (object)`);
      rejects({ memory: true, audit: { maxAgeMs: -1 } }, `${expected}, got \`{"maxAgeMs":-1}\` (object)`);
      rejects({ memory: true, audit: { maxBytes: 1.5 } }, `${expected}, got \`{"maxBytes":1.5}\` (object)`);
      rejects({ memory: true, audit: { pruneEvery: '10' } }, `${expected}, got \`{"pruneEvery":"10"}\` (object)`);
    });

    it('rejects an unknown audit field', () => {
      rejects({ memory: true, audit: { maxAge: 5 } }, `${expected}, got \`{"maxAge":5}\` (object)`);
    });
  });

  describe('each option', () => {
    it('dataDir must be a non-empty string', () => {
      rejects({ dataDir: '' }, 'Expected `dataDir` to be a non-empty directory path, got `""` (string)');
      rejects({ dataDir: 7 }, 'Expected `dataDir` to be a non-empty directory path, got `7` (number)');
    });

    it('memory must be a boolean', () => {
      rejects({ memory: 'yes' }, 'Expected `memory` to be a boolean, got `"yes"` (string)');
      rejects({ memory: 1 }, 'Expected `memory` to be a boolean, got `1` (number)');
    });

    it("durability must be 'process' or 'sync'", () => {
      rejects({ memory: true, durability: 'fast' }, "Expected `durability` to be 'process' or 'sync', got `\"fast\"` (string)");
      rejects({ memory: true, durability: true }, "Expected `durability` to be 'process' or 'sync', got `true` (boolean)");
    });

    for (const name of POSITIVE_INTEGER_OPTIONS) {
      it(`${name} must be a positive safe integer`, () => {
        const cases: [unknown, string][] = [
          [-1, '`-1` (number)'],
          [0, '`0` (number)'],
          [1.5, '`1.5` (number)'],
          [NaN, '`NaN` (number)'],
          [Infinity, '`Infinity` (number)'],
          [Number.MAX_SAFE_INTEGER + 1, '`9007199254740992` (number)'],
          ['10', '`"10"` (string)'],
          [[1], '`[1]` (array)'],
          [10n, '`10` (bigint)'],
          [null, '`null`'],
        ];
        for (const [value, shown] of cases) {
          rejects({ memory: true, [name]: value }, `Expected \`${name}\` to be a positive integer, got ${shown}`);
        }
      });
    }

    it('idleMs: the message reads exactly as the style guide shows', () => {
      rejects({ memory: true, idleMs: -1 }, 'Expected `idleMs` to be a positive integer, got `-1` (number)');
    });

    it('clock must be an object with a now() method', () => {
      rejects({ memory: true, clock: {} }, 'Expected `clock` to be an object with a now() method, got `{}` (object)');
      rejects({ memory: true, clock: { now: 5 } }, 'Expected `clock` to be an object with a now() method, got `{"now":5}` (object)');
      rejects({ memory: true, clock: 'system' }, 'Expected `clock` to be an object with a now() method, got `"system"` (string)');
    });

    it('timers must be an object with setTimeout() and clearTimeout() methods', () => {
      const expected = 'Expected `timers` to be an object with setTimeout() and clearTimeout() methods, got';
      rejects({ memory: true, timers: { setTimeout: () => 1 } }, `${expected} \`{}\` (object)`);
      rejects({ memory: true, timers: { clearTimeout: () => {} } }, `${expected} \`{}\` (object)`);
      rejects({ memory: true, timers: setTimeout }, `${expected} \`[function setTimeout]\` (function)`);
      rejects({ memory: true, timers: null }, `${expected} \`null\``);
    });

    it('supervisors must be an object with intensity and/or period', () => {
      rejects({ memory: true, supervisors: 3 }, 'Expected `supervisors` to be an object with `intensity` (a non-negative integer) and/or `period` (a positive integer of ms), got `3` (number)');
      rejects({ memory: true, supervisors: { budget: 3 } }, /^Expected `supervisors` to be an object with `intensity`.*, got `\{"budget":3\}` \(object\)$/);
    });

    it('supervisors.intensity must be a non-negative integer', () => {
      for (const bad of [-1, 1.5, '3']) rejects({ memory: true, supervisors: { intensity: bad } }, /^Expected `supervisors` to be an object with `intensity` \(a non-negative integer\)/);
      assert.equal(resolveRuntimeOptions({ memory: true, supervisors: { intensity: 0 } }).supervisors.intensity, 0, 'zero: the first restart fails the root');
    });

    it('supervisors.period must be a positive integer of ms', () => {
      for (const bad of [0, -5, 2.5, '5000']) rejects({ memory: true, supervisors: { period: bad } }, /^Expected `supervisors` to be an object with .*`period` \(a positive integer of ms\)/);
    });

    it('faultSeed must be an integer from 0 to 2^32 - 1', () => {
      for (const bad of [-1, 2 ** 32, 1.5, '7']) {
        rejects({ memory: true, faultSeed: bad }, new RegExp('^Expected `faultSeed` to be an integer from 0 to 2\\^32 - 1, got'));
      }
    });

    it('poisonLimit must be a positive integer', () => {
      for (const bad of [0, -3, 2.5]) rejects({ memory: true, poisonLimit: bad }, new RegExp('^Expected `poisonLimit` to be a positive integer, got'));
    });

    it('shortens a long bad value in the message', () => {
      rejects(
        { memory: 'x'.repeat(100) },
        `Expected \`memory\` to be a boolean, got \`"${'x'.repeat(59)}…\` (string)`,
      );
    });
  });
});
