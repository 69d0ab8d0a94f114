import assert from 'node:assert/strict';
import { ScopeLeases } from '../../actors/ScopeLeases.js';
import { LlmStateError } from '../../src/errors.js';
import { Scope } from '../../src/index.js';
import type { LeaseAttempt, LeaseHold, StorageBackend } from '../../src/storage/index.js';
import { rejection } from '../helpers.js';
import { ManualTimers, settle } from '../ManualTimers.js';

const TTL_MS = 3_000;

/**
 * The lease calls of a shared store, in memory: each lease is its owner, epoch and expiry, as the
 * `leases` table keeps them. A renewal can be held on its way, to stand for a statement that reaches the
 * database late.
 */
class LeaseTable {
  readonly rows = new Map<string, { owner: string; epoch: number; expiresAt: number }>();
  released: LeaseHold[][] = [];
  #heldRenewal: { arrive: () => void } | undefined;
  holdNextRenewal = false;

  constructor(private readonly timers: ManualTimers) {}

  get storage(): StorageBackend {
    return {
      acquireLease: async (resource: string, owner: string, ttlMs: number): Promise<LeaseAttempt> => {
        const now = this.timers.clock.now();
        const row = this.rows.get(resource);
        if (row !== undefined && row.owner !== owner && row.expiresAt > now) return { acquired: false, owner: row.owner, epoch: row.epoch, expiresAt: row.expiresAt };
        const epoch = (row?.epoch ?? 0) + 1;
        this.rows.set(resource, { owner, epoch, expiresAt: now + ttlMs });
        return { acquired: true, hold: { resource, owner, epoch }, expiresAt: now + ttlMs };
      },
      renewLeases: async (holds: readonly LeaseHold[], ttlMs: number): Promise<LeaseHold[]> => {
        if (this.holdNextRenewal) {
          this.holdNextRenewal = false;
          await new Promise<void>((arrive) => (this.#heldRenewal = { arrive }));
        }
        const now = this.timers.clock.now();
        const lost: LeaseHold[] = [];
        for (const hold of holds) {
          const row = this.rows.get(hold.resource);
          if (row?.owner === hold.owner && row.epoch === hold.epoch) row.expiresAt = now + ttlMs;
          else lost.push(hold);
        }
        return lost;
      },
      releaseLeases: async (holds: readonly LeaseHold[]): Promise<void> => {
        this.released.push([...holds]);
        for (const hold of holds) {
          const row = this.rows.get(hold.resource);
          if (row?.owner === hold.owner && row.epoch === hold.epoch) row.expiresAt = -Infinity;
        }
      },
    } as unknown as StorageBackend;
  }

  /** Lets the held renewal reach the table. */
  arrive(): void {
    this.#heldRenewal?.arrive();
    this.#heldRenewal = undefined;
  }

  held(resource: string): boolean {
    const row = this.rows.get(resource);
    return row !== undefined && row.expiresAt > this.timers.clock.now();
  }
}

describe('scale-out: the leases of one runtime', () => {
  let timers: ManualTimers;
  let table: LeaseTable;
  let leases: ScopeLeases;
  let errors: unknown[];

  beforeEach(() => {
    timers = new ManualTimers();
    table = new LeaseTable(timers);
    errors = [];
    leases = new ScopeLeases({
      storage: table.storage,
      clock: timers.clock,
      timers,
      owner: 'a',
      ttlMs: TTL_MS,
      waitMs: 0,
      lost: () => {},
      reportError: (error) => errors.push(error),
    });
  });
  afterEach(async () => {
    await leases.close();
    assert.deepEqual(errors, []);
  });

  it('ends again a lease released while a renewal was on its way, which extended it as it arrived', async () => {
    const hold = await leases.acquire(Scope.agent('ada'));
    table.holdNextRenewal = true;
    await timers.advance(TTL_MS / 3);
    const release = leases.release(hold);
    await release;
    assert.equal(table.held('agent:ada'), false, 'released');

    table.arrive();
    await settle();
    assert.equal(table.held('agent:ada'), false, 'the late renewal extended it, and it was ended again');
    assert.deepEqual(table.released, [[hold], [hold]]);
  });

  it('takes no lease once told to refuse them, and gives back one taken meanwhile', async () => {
    const reason = new LlmStateError('SUPERVISOR_SHUTDOWN', 'The root supervisor failed');
    const taking = leases.acquire(Scope.agent('bea'));
    leases.refuseNew(reason);
    assert.equal(await rejection(taking), reason);
    assert.equal(table.held('agent:bea'), false, 'taken as it was refused, and given back');
    assert.equal(await rejection(leases.acquire(Scope.agent('cy'))), reason);
    assert.equal(await rejection(leases.take('hook:h')), reason);
    assert.equal(table.rows.has('agent:cy'), false);
    assert.equal(leases.heldCount, 0);
  });
});
