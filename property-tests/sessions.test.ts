/**
 * Sessions against a model (a Map of what each session should be): random starts, ends, writes to the
 * session scopes, clock moves, collections and restarts, with the clock injected. After each step the
 * runtime's view of every session, its access info and its scope's keys match the model.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { createRuntime, Scope, type Runtime } from '../src/index.js';
import { ManualClock } from '../test/helpers.js';
import { runs } from './budget.js';

const IDS = ['s0', 's1', 's2'];

type Op =
  | { op: 'start'; id: number; ttlMs: number | null }
  | { op: 'end'; id: number }
  | { op: 'write'; id: number; key: number }
  | { op: 'advance'; ms: number }
  | { op: 'gc'; ended: boolean }
  | { op: 'restart' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('start' as const), id: fc.nat({ max: IDS.length - 1 }), ttlMs: fc.option(fc.integer({ min: 1, max: 100 }), { nil: null }) }),
  fc.record({ op: fc.constant('end' as const), id: fc.nat({ max: IDS.length - 1 }) }),
  fc.record({ op: fc.constant('write' as const), id: fc.nat({ max: IDS.length - 1 }), key: fc.nat({ max: 3 }) }),
  fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 60 }) }),
  fc.record({ op: fc.constant('gc' as const), ended: fc.boolean() }),
  fc.constant({ op: 'restart' as const }),
);

interface ModelSession {
  expiresAt: number | null;
  ended: boolean;
  collected?: { cleared: number; reason: 'ttl' | 'ended' };
}

class Model {
  readonly sessions = new Map<string, ModelSession>();
  /** Keys of each session scope; a write to a session not started still lands there. */
  readonly keys = new Map<string, Set<string>>();

  keysOf(id: string): string[] {
    return [...(this.keys.get(id) ?? [])].sort();
  }

  statusOf(id: string, now: number): 'active' | 'ended' | 'expired' | undefined {
    const session = this.sessions.get(id);
    if (session === undefined) return undefined;
    if (session.collected !== undefined || (session.expiresAt !== null && session.expiresAt <= now)) return 'expired';
    return session.ended ? 'ended' : 'active';
  }

  collect(now: number, ended: boolean): string[] {
    const collected: string[] = [];
    for (const [id, session] of this.sessions) {
      if (session.collected !== undefined) continue;
      const reason = session.expiresAt !== null && session.expiresAt <= now ? 'ttl' : ended && session.ended ? 'ended' : undefined;
      if (reason === undefined) continue;
      session.collected = { cleared: this.keysOf(id).length, reason };
      this.keys.delete(id);
      collected.push(id);
    }
    return collected.sort();
  }
}

async function check(rt: Runtime, model: Model, now: number, step: string): Promise<void> {
  for (const id of IDS) {
    const info = await rt.sessions.get(id);
    const expected = model.sessions.get(id);
    assert.equal(info?.status, model.statusOf(id, now), `${step}: status of ${id}`);
    assert.deepEqual(info?.collected === undefined ? undefined : { cleared: info.collected.cleared, reason: info.collected.reason }, expected?.collected, `${step}: collection of ${id}`);
    assert.equal(info?.expiresAt, expected?.expiresAt, `${step}: expiry of ${id}`);
    const access = rt.sessions.accessInfo(id);
    assert.equal(access?.status, expected?.collected === undefined ? model.statusOf(id, now) : undefined, `${step}: access info of ${id}`);
    assert.deepEqual(await rt.state.listKeys(Scope.session(id)), model.keysOf(id), `${step}: keys of ${id}`);
  }
}

describe('sessions (property)', function () {
  this.timeout(600_000);

  it('sessions started, ended, written, expired, collected and reopened agree with a model: an expired session is collected whole, and nothing else is', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
        const dataDir = mkdtempSync(join(tmpdir(), 'llmstate-sessions-prop-'));
        const clock = new ManualClock();
        const model = new Model();
        // No timer fires: collection happens at open and by gc(), where the model expects it.
        const timers = { setTimeout: () => 0, clearTimeout: () => {} };
        let rt = await createRuntime({ dataDir, clock, timers });
        try {
          for (const [index, op] of ops.entries()) {
            const step = `step ${index} ${JSON.stringify(op)}`;
            const now = clock.now();
            if (op.op === 'start') {
              const id = IDS[op.id];
              const outcome = await rt.sessions.start({ id, ttlMs: op.ttlMs }).then(
                () => 'ok',
                (error: Error) => error,
              );
              if (model.sessions.has(id)) assert.ok(outcome instanceof TypeError, `${step}: a taken id is refused`);
              else {
                assert.equal(outcome, 'ok', step);
                model.sessions.set(id, { expiresAt: op.ttlMs === null ? null : now + op.ttlMs, ended: false });
              }
            } else if (op.op === 'end') {
              const id = IDS[op.id];
              const status = model.statusOf(id, now);
              const outcome = await rt.sessions.end(id).then(
                () => 'ok',
                (error: Error) => error,
              );
              if (status === 'active' || status === 'ended') {
                assert.equal(outcome, 'ok', step);
                model.sessions.get(id)!.ended = true;
              } else assert.ok(outcome instanceof TypeError, `${step}: ${String(outcome)}`);
            } else if (op.op === 'write') {
              const id = IDS[op.id];
              await rt.state.set(Scope.session(id), `k${op.key}`, index);
              if (!model.keys.has(id)) model.keys.set(id, new Set());
              model.keys.get(id)!.add(`k${op.key}`);
            } else if (op.op === 'advance') {
              clock.advance(op.ms);
            } else if (op.op === 'gc') {
              const { collected } = await rt.sessions.gc({ ended: op.ended });
              assert.deepEqual([...collected].sort(), model.collect(now, op.ended), step);
            } else {
              await rt.close();
              rt = await createRuntime({ dataDir, clock, timers });
              model.collect(now, false);
            }
            await check(rt, model, clock.now(), step);
          }
        } finally {
          await rt.close();
          rmSync(dataDir, { recursive: true, force: true });
        }
      }),
      { numRuns: runs(40) },
    );
  });
});
