import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AuditLog, type AuditEntry, type AuditRetention } from '../../src/access/AuditLog.js';
import { auditSink } from '../../src/hooks/builtinSinks.js';
import { checkRecords } from '../../src/integrity/checkRecords.js';
import { createDiskBackend, createMemoryBackend } from '../../src/storage/LevelBackend.js';
import type { BatchOp, StorageBackend } from '../../src/storage/index.js';
import { Scope, type Runtime, type RuntimeOptions } from '../../src/index.js';
import { ManualClock, rejection, RuntimeFixture, tempDir } from '../helpers.js';

const DAY = 24 * 60 * 60 * 1000;
const T0 = Date.UTC(2026, 0, 1);
const ROOMY: Required<AuditRetention> = { maxCount: 1_000_000, maxAgeMs: 90 * DAY, maxBytes: 1 << 30, pruneEvery: 1000 };

const denied = (principal: string, scope: string, extra: Partial<AuditEntry> = {}): AuditEntry => ({
  principal,
  operation: 'read',
  outcome: 'denied',
  rule: 'no-grant',
  scope,
  code: 'ACCESS_DENIED',
  ...extra,
});
const allowed = (principal: string, scope: string, extra: Partial<AuditEntry> = {}): AuditEntry => ({
  principal,
  operation: 'read',
  outcome: 'allowed',
  rule: 'grant',
  scope,
  grantId: 'g1',
  ...extra,
});

/** Every key of the audit namespace, split into records (by source) and index entries. */
async function rawAudit(storage: StorageBackend): Promise<{ decisions: number; hook: number; index: number }> {
  const counts = { decisions: 0, hook: 0, index: 0 };
  for await (const [key] of storage.iterate('audit')) {
    if (key[0] === 1) counts.index++;
    else if (key[8] === 0x61) counts.decisions++;
    else counts.hook++;
  }
  return counts;
}

/** Batches that touch the audit namespace. */
function countBatches(storage: StorageBackend): BatchOp[][] {
  const batches: BatchOp[][] = [];
  storage.intercept({ beforeBatch: (ops) => void (ops.some((op) => op.sublevel === 'audit') && batches.push([...ops])) });
  return batches;
}

function hookEntries(at: number, ...eventIds: string[]): BatchOp[] {
  return auditSink().ops!({ entries: eventIds.map((eventId) => ({ eventId, at, kind: 'state.set', scope: 'agent:a1' })) }, 'exec-1');
}

describe('AuditLog', () => {
  let storage: StorageBackend;
  let now: number;
  let errors: unknown[];
  let log: AuditLog;

  function open(retention: Partial<AuditRetention> = {}, on: StorageBackend = storage): AuditLog {
    return new AuditLog({ storage: on, clock: { now: () => now }, retention: { ...ROOMY, ...retention }, reportError: (error) => errors.push(error) });
  }

  beforeEach(async () => {
    storage = createMemoryBackend();
    await storage.open();
    now = T0;
    errors = [];
    log = open();
  });
  afterEach(async () => {
    await log.close();
    await storage.close();
    assert.deepEqual(errors, []);
  });

  describe('append and query', () => {
    it('resolves with the record as stored, which query returns equal after a JSON round trip', async () => {
      const record = await log.append(denied('agent:ada', 'agent:bob', { key: 'notes', method: 'state.get', correlationId: 'c1' }));
      assert.match(record.id, /^a[0-9a-f]{12}[0-9a-z]{10}$/);
      assert.deepEqual(record, {
        id: record.id,
        at: T0,
        principal: 'agent:ada',
        operation: 'read',
        outcome: 'denied',
        rule: 'no-grant',
        scope: 'agent:bob',
        key: 'notes',
        code: 'ACCESS_DENIED',
        method: 'state.get',
        correlationId: 'c1',
      });
      assert.deepEqual(await log.query(), [JSON.parse(JSON.stringify(record))]);
    });

    it('selects by principal, scope, outcome, operation and correlation id', async () => {
      await log.append(denied('agent:ada', 'agent:bob', { correlationId: 'c1' }));
      await log.append(allowed('agent:ada', 'workflow:w1', { operation: 'write' }));
      await log.append(denied('agent:bob', 'agent:ada', { correlationId: 'c1' }));
      await log.append(allowed('agent:bob', 'agent:ada', { operation: 'list' }));
      const pick = async (filter: Parameters<AuditLog['query']>[0]) => (await log.query({ ...filter, order: 'oldest' })).map((r) => `${r.principal} ${r.operation} ${r.outcome} ${r.scope}`);
      assert.deepEqual(await pick({ principal: 'agent:ada' }), ['agent:ada read denied agent:bob', 'agent:ada write allowed workflow:w1']);
      assert.deepEqual(await pick({ scope: 'agent:ada' }), ['agent:bob read denied agent:ada', 'agent:bob list allowed agent:ada']);
      assert.deepEqual(await pick({ outcome: 'denied' }), ['agent:ada read denied agent:bob', 'agent:bob read denied agent:ada']);
      assert.deepEqual(await pick({ operation: 'list' }), ['agent:bob list allowed agent:ada']);
      assert.deepEqual(await pick({ correlationId: 'c1' }), ['agent:ada read denied agent:bob', 'agent:bob read denied agent:ada']);
      assert.deepEqual(await pick({ principal: 'agent:bob', outcome: 'allowed' }), ['agent:bob list allowed agent:ada']);
      assert.deepEqual(await pick({ principal: 'agent:nobody' }), []);
    });

    it('selects a time range, given as ms or Dates, bounds included, with or without a principal', async () => {
      for (let i = 0; i < 5; i++) {
        now = T0 + i * 1000;
        await log.append(denied(i % 2 === 0 ? 'agent:ada' : 'agent:bob', `agent:s${i}`));
      }
      const scopes = async (filter: Parameters<AuditLog['query']>[0]) => (await log.query({ ...filter, order: 'oldest' })).map((r) => r.scope);
      assert.deepEqual(await scopes({ since: T0 + 1000, until: T0 + 3000 }), ['agent:s1', 'agent:s2', 'agent:s3']);
      assert.deepEqual(await scopes({ since: new Date(T0 + 3000) }), ['agent:s3', 'agent:s4']);
      assert.deepEqual(await scopes({ until: new Date(T0 + 999) }), ['agent:s0']);
      assert.deepEqual(await scopes({ principal: 'agent:ada', since: T0 + 1, until: T0 + 4000 }), ['agent:s2', 'agent:s4']);
      assert.deepEqual(await scopes({ since: T0 + 3000, until: T0 + 1000 }), [], 'an empty range');
    });

    it('lists the newest first by default, and stops at the limit (1000 by default)', async () => {
      for (let i = 0; i < 1005; i++) log.append(allowed('agent:ada', `agent:s${i}`)).catch(() => {});
      await log.flush();
      const newest = await log.query();
      assert.equal(newest.length, 1000);
      assert.equal(newest[0].scope, 'agent:s1004', 'appends within one ms keep their order');
      assert.deepEqual((await log.query({ limit: 2, order: 'oldest' })).map((r) => r.scope), ['agent:s0', 'agent:s1']);
      assert.deepEqual((await log.query({ principal: 'agent:ada', limit: 2 })).map((r) => r.scope), ['agent:s1004', 'agent:s1003']);
    });

    it('keeps decisions of two logs apart when they record in the same ms, as after a restart', async () => {
      const other = open();
      const [a, b] = await Promise.all([log.append(denied('agent:ada', 'agent:bob')), other.append(denied('agent:ada', 'agent:bob'))]);
      await other.close();
      assert.notEqual(a.id, b.id);
      assert.equal((await log.query({ principal: 'agent:ada' })).length, 2);
    });

    it('records whole ms when the clock gives fractions', async () => {
      now = T0 + 0.75;
      assert.equal((await log.append(denied('agent:ada', 'agent:bob'))).at, T0);
      assert.equal((await log.query())[0].at, T0);
    });

    it('query flushes what was appended before it', async () => {
      void log.append(denied('agent:ada', 'agent:bob'));
      assert.equal((await log.query()).length, 1);
    });
  });

  describe('batches', () => {
    it('writes every entry appended in one turn of the event loop in one batch', async () => {
      const batches = countBatches(storage);
      const records = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(denied('agent:ada', `agent:s${i}`))));
      assert.equal(records.length, 50);
      assert.equal(batches.length, 1);
      assert.equal(batches[0].length, 100, 'each record and its index entry');
    });

    it('records identical allowed decisions of one batch once, with a count, and every denial on its own', async () => {
      const reads = Array.from({ length: 30 }, (_, i) => {
        now = T0 + i;
        return log.append(allowed('agent:ada', 'agent:bob', { key: 'notes', method: 'state.get' }));
      });
      const other = log.append(allowed('agent:ada', 'agent:bob', { key: 'plan', method: 'state.get' }));
      const refusals = Array.from({ length: 3 }, () => log.append(denied('agent:ada', 'agent:carol')));
      const [first] = await Promise.all(reads);
      await Promise.all([other, ...refusals]);
      assert.equal(first.count, 30);
      assert.equal(first.lastAt, T0 + 29);
      assert.equal(first.at, T0);
      const records = await log.query({ order: 'oldest' });
      assert.deepEqual(records.map((record) => [record.outcome, record.key ?? null, record.count ?? 1]), [
        ['allowed', 'notes', 30],
        ['allowed', 'plan', 1],
        ['denied', null, 1],
        ['denied', null, 1],
        ['denied', null, 1],
      ]);
      // The next batch starts its own count.
      assert.equal((await log.append(allowed('agent:ada', 'agent:bob', { key: 'notes', method: 'state.get' }))).count, undefined);
    });

    it('gathers the appends of later turns made while a batch is written into the next batch', async () => {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const batches: number[] = [];
      storage.intercept({
        beforeBatch: async (ops) => {
          batches.push(ops.length / 2);
          if (batches.length === 1) await held;
        },
      });
      const first = log.append(denied('agent:ada', 'agent:s0'));
      await new Promise((resolve) => setImmediate(resolve));
      const later: Promise<unknown>[] = [];
      for (let turn = 0; turn < 3; turn++) {
        later.push(log.append(denied('agent:ada', `agent:t${turn}`)));
        await new Promise((resolve) => setImmediate(resolve));
      }
      release();
      await Promise.all([first, ...later]);
      assert.deepEqual(batches, [1, 3]);
    });

    it('rejects every append of a failed batch with STORAGE_FAILED and writes none of them', async () => {
      const remove = storage.intercept({
        beforeBatch: () => {
          throw new Error('disk full');
        },
      });
      const results = await Promise.allSettled([log.append(denied('agent:ada', 'agent:bob')), log.append(allowed('agent:ada', 'agent:cy'))]);
      remove();
      for (const result of results) {
        assert.equal(result.status, 'rejected');
        assert.equal((result as PromiseRejectedResult).reason.code, 'STORAGE_FAILED');
        assert.match((result as PromiseRejectedResult).reason.message, /Recording 2 access decisions in the audit log of the store at memory failed: .*disk full.*None of them was written/);
      }
      assert.deepEqual(await rawAudit(storage), { decisions: 0, hook: 0, index: 0 });
      await log.append(denied('agent:ada', 'agent:dee'));
      assert.deepEqual((await log.query()).map((r) => r.scope), ['agent:dee'], 'the log works on after the failure');
    });
  });

  describe('durability', () => {
    it('keeps acknowledged decisions across a reopen of a store on disk', async () => {
      const { dir, cleanup } = tempDir('audit15-auditlog');
      try {
        let disk = createDiskBackend(join(dir, 'db'));
        await disk.open();
        const first = open({}, disk);
        const record = await first.append(denied('agent:ada', 'agent:bob', { key: 'notes' }));
        await first.close();
        await disk.close();
        disk = createDiskBackend(join(dir, 'db'));
        await disk.open();
        const second = open({}, disk);
        assert.deepEqual(await second.query({ principal: 'agent:ada' }), [record]);
        await second.close();
        await disk.close();
      } finally {
        cleanup();
      }
    });
  });

  describe('retention', () => {
    it('prune() keeps the newest maxCount records and their index entries', async () => {
      for (let i = 0; i < 8; i++) await log.append(denied('agent:ada', `agent:s${i}`));
      const result = await log.prune({ maxCount: 5 });
      assert.equal(result.removed, 3);
      assert.equal(result.remaining, 5);
      assert.deepEqual((await log.query({ order: 'oldest' })).map((r) => r.scope), ['agent:s3', 'agent:s4', 'agent:s5', 'agent:s6', 'agent:s7']);
      assert.deepEqual(await rawAudit(storage), { decisions: 5, hook: 0, index: 5 });
      assert.equal((await log.query({ principal: 'agent:ada' })).length, 5);
    });

    it('removes records older than maxAgeMs by the injected clock, and keeps one exactly that old', async () => {
      for (let i = 0; i < 3; i++) await log.append(denied('agent:ada', `agent:old${i}`));
      now = T0 + 1;
      await log.append(denied('agent:ada', 'agent:edge'));
      now = T0 + DAY + 1;
      await log.append(denied('agent:ada', 'agent:new'));
      assert.deepEqual(await log.prune({ maxAgeMs: DAY }), { removed: 3, remaining: 2, bytes: (await log.prune()).bytes });
      assert.deepEqual((await log.query({ order: 'oldest' })).map((r) => r.scope), ['agent:edge', 'agent:new']);
    });

    it('removes the oldest records until the namespace is within maxBytes', async () => {
      for (let i = 0; i < 10; i++) await log.append(denied('agent:ada', `agent:s${i}`));
      const { bytes } = await log.prune();
      const each = bytes / 10;
      assert.ok(Number.isInteger(each), 'records of one shape have one size');
      const result = await log.prune({ maxBytes: 4 * each + 1 });
      assert.deepEqual(result, { removed: 6, remaining: 4, bytes: 4 * each });
      assert.deepEqual((await log.query({ order: 'oldest' })).map((r) => r.scope), ['agent:s6', 'agent:s7', 'agent:s8', 'agent:s9']);
    });

    it('runs a pass in the background every pruneEvery appends', async () => {
      log = open({ maxCount: 2, pruneEvery: 4 });
      for (let i = 0; i < 3; i++) await log.append(denied('agent:ada', `agent:s${i}`));
      assert.equal((await rawAudit(storage)).decisions, 3, 'no pass before pruneEvery appends');
      await log.append(denied('agent:ada', 'agent:s3'));
      await log.close();
      assert.deepEqual(await rawAudit(storage), { decisions: 2, hook: 0, index: 2 });
    });

    it('counts the namespace once, at the first pass, and then keeps running totals', async () => {
      let scans = 0;
      const iterate = storage.iterate.bind(storage);
      storage.iterate = ((sublevel, options) => {
        if (sublevel === 'audit' && options?.snapshot !== undefined && options.gte === undefined) scans++;
        return iterate(sublevel, options);
      }) as StorageBackend['iterate'];
      log = open({ maxCount: 5, pruneEvery: 2 });
      for (let i = 0; i < 20; i++) await log.append(denied('agent:ada', `agent:s${i}`));
      // prune() waits for the background passes, then counts again (its result includes the hook's entries).
      assert.equal((await log.prune()).remaining, 5);
      assert.equal(scans, 2, 'one count at the first background pass, one by prune()');
      assert.deepEqual(await rawAudit(storage), { decisions: 5, hook: 0, index: 5 });
    });

    it('counts the decisions appended while it counts the namespace', async () => {
      for (let i = 0; i < 3; i++) await log.append(denied('agent:ada', `agent:s${i}`));
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let counting!: () => void;
      const started = new Promise<void>((resolve) => (counting = resolve));
      const iterate = storage.iterate.bind(storage);
      storage.iterate = ((sublevel, options) => {
        const inner = iterate(sublevel, options);
        if (options?.snapshot === undefined || options.gte !== undefined) return inner;
        return (async function* () {
          counting();
          await gate;
          yield* inner;
        })();
      }) as StorageBackend['iterate'];
      const pruned = log.prune();
      await started;
      for (let i = 3; i < 5; i++) await log.append(denied('agent:ada', `agent:s${i}`));
      release();
      assert.deepEqual(await pruned, { removed: 0, remaining: 5, bytes: await rawBytes(storage) });
      assert.deepEqual(await log.prune({ maxCount: 4 }), { removed: 1, remaining: 4, bytes: await rawBytes(storage) });
    });

    it('reports a failed background pass to reportError, and counts again at the next one', async () => {
      log = open({ maxCount: 1, pruneEvery: 2 });
      const remove = storage.intercept({
        beforeBatch: (ops) => {
          if (ops.some((op) => op.type === 'del')) throw new Error('disk full');
        },
      });
      await log.append(denied('agent:ada', 'agent:s0'));
      await log.append(denied('agent:ada', 'agent:s1'));
      await log.flush();
      await log.prune().catch(() => {});
      remove();
      assert.equal(errors.length, 1);
      assert.equal((errors[0] as { code?: string }).code, 'STORAGE_FAILED');
      errors = [];
      assert.deepEqual(await log.prune(), { removed: 1, remaining: 1, bytes: (await rawBytes(storage)) });
    });
  });

  describe('entries of the audit hook', () => {
    it('query returns only access decisions, and retention covers both sources, oldest first', async () => {
      await storage.batch(hookEntries(T0 - 2000, '1.0', '1.1'));
      await log.append(denied('agent:ada', 'agent:bob'));
      await storage.batch(hookEntries(T0 + 1, '2.0'));
      now = T0 + 2;
      await log.append(allowed('agent:ada', 'agent:cy'));
      assert.deepEqual((await log.query({ order: 'oldest' })).map((r) => r.scope), ['agent:bob', 'agent:cy']);
      assert.deepEqual(await rawAudit(storage), { decisions: 2, hook: 3, index: 2 });
      assert.deepEqual((await log.prune({ maxCount: 3 })).removed, 2);
      assert.deepEqual(await rawAudit(storage), { decisions: 2, hook: 1, index: 2 }, 'the two oldest were the hook entries');
      assert.equal((await log.prune({ maxCount: 1 })).removed, 2);
      assert.deepEqual(await rawAudit(storage), { decisions: 1, hook: 0, index: 1 });
    });
  });

  describe('damage', () => {
    it('the records and index entries pass the store check of `llmstate verify`', async () => {
      await storage.batch(hookEntries(T0 - 1, '1.0'));
      await log.append(denied('agent:ada', 'agent:bob'));
      const problems: unknown[] = [];
      const { bySublevel } = await checkRecords(storage, (problem) => problems.push(problem), () => {});
      assert.deepEqual(problems, []);
      assert.equal(bySublevel.audit, 3);
    });


    it('a record that fails its checksum is DATA_CORRUPT, never returned, by time and by principal', async () => {
      const record = await log.append(denied('agent:ada', 'agent:bob'));
      for await (const [key, value] of storage.iterate('audit')) {
        if (key[0] !== 0) continue;
        const damaged = Buffer.from(value);
        damaged[damaged.length - 3] ^= 0xff;
        await storage.batch([{ type: 'put', sublevel: 'audit', key, value: damaged }]);
      }
      for (const filter of [{}, { principal: 'agent:ada' }]) {
        const error = await rejection(log.query(filter));
        assert.equal(error.code, 'DATA_CORRUPT');
        assert.match(error.message, new RegExp(`audit record ${record.id}.*checksum`));
      }
    });

    it('a damaged entry of the audit hook does not stop queries, and retention still removes it', async () => {
      const [op] = hookEntries(T0 - 1, '1.0');
      await storage.batch([{ type: 'put', sublevel: 'audit', key: op.key, value: Buffer.from('garbage') }]);
      await log.append(denied('agent:ada', 'agent:bob'));
      assert.equal((await log.query()).length, 1);
      assert.equal((await log.prune({ maxCount: 1 })).removed, 1);
      assert.deepEqual(await rawAudit(storage), { decisions: 1, hook: 0, index: 1 });
    });
  });

  describe('close', () => {
    it('writes what was buffered, then refuses appends, queries and prunes with RUNTIME_CLOSED', async () => {
      const pending = log.append(denied('agent:ada', 'agent:bob'));
      await log.close();
      assert.equal((await pending).principal, 'agent:ada');
      assert.equal((await rawAudit(storage)).decisions, 1);
      for (const call of [log.append(denied('agent:ada', 'agent:bob')), log.query(), log.prune()]) {
        const error = await rejection(call);
        assert.equal(error.code, 'RUNTIME_CLOSED');
        assert.match(error.message, /audit log of the store at memory is closed/);
      }
    });
  });

  describe('arguments', () => {
    it('rejects an entry of the wrong shape with a TypeError', async () => {
      const cases: [unknown, string | RegExp][] = [
        [null, 'Expected the audit entry to be an object, got `null`'],
        [{ operation: 'read', outcome: 'denied', rule: 'r' }, 'Expected `principal` to be a non-empty string of at most 65535 bytes, got `undefined` (undefined)'],
        [{ ...denied('agent:ada', 'agent:bob'), outcome: 'maybe' }, "Expected `outcome` to be 'allowed' or 'denied', got `\"maybe\"` (string)"],
        [{ ...denied('agent:ada', 'agent:bob'), code: 'NOPE' }, "Expected `code` to be 'ACCESS_DENIED' or 'AGENT_QUARANTINED', got `\"NOPE\"` (string)"],
        [{ ...denied('agent:ada', 'agent:bob'), scope: '' }, 'Expected `scope` to be a non-empty string, got `""` (string)'],
        [{ ...denied('agent:ada', 'agent:bob'), who: 1 }, /^Unknown audit entry field `who`/],
        [{ ...denied('x'.repeat(65536), 'agent:bob') }, /^Expected `principal` to be a non-empty string of at most 65535 bytes/],
      ];
      for (const [entry, message] of cases) {
        const error = await rejection(log.append(entry as AuditEntry));
        assert.ok(error instanceof TypeError, String(error));
        if (typeof message === 'string') assert.equal(error.message, message);
        else assert.match(error.message, message);
      }
    });

    it('rejects a filter of the wrong shape with a TypeError', async () => {
      const cases: [unknown, string | RegExp][] = [
        [5, 'Expected `filter` to be an object, got `5` (number)'],
        [{ limit: 0 }, 'Expected `limit` to be a positive integer, got `0` (number)'],
        [{ since: 'yesterday' }, 'Expected `since` to be a Date or a time in ms, got `"yesterday"` (string)'],
        [{ until: new Date(Number.NaN) }, 'Expected `until` to be a Date or a time in ms, got `Invalid Date` (object)'],
        [{ principal: '' }, 'Expected `principal` to be a non-empty string, got `""` (string)'],
        [{ outcome: 'no' }, "Expected `outcome` to be 'allowed' or 'denied', got `\"no\"` (string)"],
        [{ order: 'asc' }, "Expected `order` to be 'newest' or 'oldest', got `\"asc\"` (string)"],
        [{ principle: 'agent:ada' }, /^Unknown audit filter field `principle`/],
      ];
      for (const [filter, message] of cases) {
        const error = await rejection(log.query(filter as never));
        assert.ok(error instanceof TypeError, String(error));
        if (typeof message === 'string') assert.equal(error.message, message);
        else assert.match(error.message, message);
      }
    });

    it('rejects a retention policy of the wrong shape with a TypeError', async () => {
      const error = await rejection(log.prune({ maxCount: 0 }));
      assert.ok(error instanceof TypeError);
      assert.equal(error.message, 'Expected `maxCount` to be a positive integer, got `0` (number)');
      assert.match((await rejection(log.prune({ keep: 3 } as never))).message, /^Unknown retention field `keep`/);
    });
  });
});

describe('audit retention through createRuntime({ audit })', () => {
  let fixture: RuntimeFixture;

  beforeEach(() => {
    fixture = new RuntimeFixture('audit-retention');
  });
  afterEach(() => fixture.dispose());

  /** Four refusals of agent:ada, one record each: the fourth starts the pass of `pruneEvery: 4`. */
  async function refuseFour(rt: Runtime, between?: () => void): Promise<void> {
    const ada = rt.as('agent:ada');
    for (let i = 0; i < 4; i++) {
      if (i === 2) between?.();
      assert.equal((await rejection(ada.state.get(Scope.agent(`b${i}`), 'k'))).code, 'ACCESS_DENIED');
    }
  }

  /** The scopes of agent:ada's audit records, oldest first, once close() has waited for the pass. */
  async function keptAfterReopen(rt: Runtime, options: Omit<RuntimeOptions, 'dataDir' | 'memory' | 'storage'>): Promise<Array<string | undefined>> {
    const reopened = await fixture.reopen(rt, options);
    return (await reopened.access.audit({ principal: 'agent:ada', order: 'oldest' })).map((record) => record.scope);
  }

  it('keeps the newest maxCount records', async () => {
    const options = { audit: { maxCount: 2, pruneEvery: 4 } };
    const rt = await fixture.open(options);
    await refuseFour(rt);
    assert.deepEqual(await keptAfterReopen(rt, options), ['agent:b2', 'agent:b3']);
  });

  it('removes records older than maxAgeMs by the injected clock', async () => {
    const clock = new ManualClock();
    const options = { clock, audit: { maxAgeMs: 60_000, pruneEvery: 4 } };
    const rt = await fixture.open(options);
    await refuseFour(rt, () => clock.advance(60_001));
    assert.deepEqual(await keptAfterReopen(rt, options), ['agent:b2', 'agent:b3']);
  });
});

async function rawBytes(storage: StorageBackend): Promise<number> {
  let bytes = 0;
  for await (const [key, value] of storage.iterate('audit')) bytes += key.length + value.length;
  return bytes;
}
