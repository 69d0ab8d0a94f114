/**
 * Random spawn, restore, delete and send operations on a few agent ids, issued concurrently in an order
 * chosen by fc.scheduler, which also decides when each read and batch of the store goes ahead. The run
 * has two phases, each on its own runtime over one data directory, with a close and a reopen after each.
 *
 * spawn, restore and delete of one id run in the order they were called, so replaying them in that order
 * against a model says what each must return. At the end of each phase, and again after the reopen, the
 * registry (`get`, `list`, `liveIds`), the supervisors' children, the stored records and the `agent.*`
 * events must all agree with the model.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { createRuntime, type AgentHandle, type Runtime } from '../src/index.js';
import { storageOf } from '../src/runtime.js';
import { chatMachine, type ChatContext } from '../test/fixtures/chatMachine.js';
import { runs } from './budget.js';

const IDS = ['a', 'b'] as const;
const SUPERVISORS = ['agents', 'team'] as const;

type Op =
  | { op: 'spawn'; id: number; supervisor: number }
  | { op: 'restore'; id: number }
  | { op: 'delete'; id: number }
  | { op: 'send'; id: number };

const id = fc.nat(IDS.length - 1);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('spawn' as const), id, supervisor: fc.nat(SUPERVISORS.length - 1) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('restore' as const), id }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), id }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('send' as const), id }) },
);
const phase = fc.array(op, { minLength: 1, maxLength: 14 });

type Outcome = { ok: true; value: unknown } | { ok: false; error: Error & { code?: string } };

/** What the model holds of one id. */
interface Agent {
  status: 'absent' | 'live' | 'stored';
  supervisor: string;
  /** The `n` of the config of the spawn that created it. */
  n: number;
  /** Texts of acknowledged messages that may be in it, in the order sent. */
  mayHold: string[];
  /** Texts of acknowledged messages that must be in it. */
  mustHold: Set<string>;
}

interface Issued {
  index: number;
  op: Op;
  /** For a send: no spawn, restore or delete of its id was still under way when it was issued. */
  quiet: boolean;
  text: string;
}

/** The `n` of a spawn's config: numbered by phase too, so that a winner of phase 2 is told from one of phase 1. */
function configOf(phaseNumber: number, index: number): number {
  return 100 * phaseNumber + index;
}

const LIFECYCLE_KINDS = ['agent.spawned', 'agent.restored', 'agent.deleted'];

class Model {
  readonly agents = new Map<string, Agent>(IDS.map((name) => [name, { status: 'absent', supervisor: 'agents', n: -1, mayHold: [], mustHold: new Set() }]));
  /** `agent.*` lifecycle events each id must have logged, in order. */
  readonly events = new Map<string, string[]>(IDS.map((name) => [name, []]));

  /** Checks one phase's outcomes, replayed in the order the operations were issued, and applies them. */
  replay(issued: Issued[], outcomes: Outcome[], phaseNumber: number): void {
    issued.forEach((entry, position) => {
      const name = IDS[entry.op.id];
      const agent = this.agents.get(name)!;
      const outcome = outcomes[entry.index];
      const where = `op ${entry.index} (${entry.op.op} ${name}), with ${name} ${agent.status}`;
      switch (entry.op.op) {
        case 'spawn':
          if (agent.status === 'absent') {
            assert.ok(outcome.ok, `${where} failed: ${!outcome.ok && outcome.error.message}`);
            this.agents.set(name, { status: 'live', supervisor: SUPERVISORS[entry.op.supervisor], n: configOf(phaseNumber, entry.index), mayHold: [], mustHold: new Set() });
            this.events.get(name)!.push('agent.spawned');
          } else {
            assert.ok(!outcome.ok && outcome.error instanceof TypeError, `${where} should be the TypeError of a taken id`);
            assert.match(outcome.error.message, agent.status === 'live' ? /already running/ : /restore/, where);
          }
          return;
        case 'restore':
          if (agent.status === 'absent') {
            assert.equal(!outcome.ok && outcome.error.code, 'AGENT_NOT_FOUND', where);
          } else {
            assert.ok(outcome.ok, `${where} failed: ${!outcome.ok && outcome.error.message}`);
            if (agent.status === 'stored') this.events.get(name)!.push('agent.restored');
            agent.status = 'live';
          }
          return;
        case 'delete':
          assert.ok(outcome.ok, `${where} failed: ${!outcome.ok && outcome.error.message}`);
          assert.equal(outcome.value, agent.status !== 'absent', where);
          if (agent.status !== 'absent') {
            this.agents.set(name, { status: 'absent', supervisor: 'agents', n: -1, mayHold: [], mustHold: new Set() });
            this.events.get(name)!.push('agent.deleted');
          }
          return;
        case 'send': {
          const code = outcome.ok ? 'ok' : outcome.error.code;
          assert.ok(code === 'ok' || code === 'ACTOR_STOPPED' || code === 'AGENT_NOT_FOUND', `${where}: ${!outcome.ok && outcome.error.message}`);
          if (entry.quiet && agent.status !== 'live') assert.equal(code, 'AGENT_NOT_FOUND', `${where}, nothing under way`);
          if (entry.quiet && agent.status === 'live') {
            // Only a delete issued after it may stop it before it is processed.
            const deletedLater = issued.slice(position + 1).some((later) => later.op.op === 'delete' && later.op.id === entry.op.id);
            assert.ok(code === 'ok' || (deletedLater && code === 'ACTOR_STOPPED'), `${where}, nothing under way: ${code}`);
          }
          if (outcome.ok && agent.status !== 'absent') {
            agent.mayHold.push(entry.text);
            if (entry.quiet) agent.mustHold.add(entry.text);
          }
          return;
        }
      }
    });
  }

  /** After a close: what was live is stored. */
  reopened(): void {
    for (const agent of this.agents.values()) if (agent.status === 'live') agent.status = 'stored';
  }
}

/** Registry, supervisor tree, store and event log, each against the model. */
async function agree(rt: Runtime, model: Model, when: string): Promise<void> {
  const expectLive = IDS.filter((name) => model.agents.get(name)!.status === 'live');
  const expectStored = IDS.filter((name) => model.agents.get(name)!.status !== 'absent');
  assert.deepEqual([...rt.agents.liveIds()].sort(), expectLive, `${when}: the registry's live ids`);
  for (const supervisor of SUPERVISORS) {
    assert.deepEqual(
      rt.supervisors
        .whichChildren(supervisor)
        .map((child) => child.id)
        .sort(),
      expectLive.filter((name) => model.agents.get(name)!.supervisor === supervisor),
      `${when}: the children of ${supervisor}`,
    );
  }
  const listed = await rt.agents.list();
  assert.deepEqual(
    listed.map(({ id: name, live }) => ({ id: name, live })),
    expectStored.map((name) => ({ id: name, live: expectLive.includes(name) })),
    `${when}: list()`,
  );
  for (const name of IDS) {
    const agent = model.agents.get(name)!;
    let live = true;
    try {
      rt.agents.get(name);
    } catch (error) {
      assert.equal((error as { code?: string }).code, 'AGENT_NOT_FOUND', `${when}: get('${name}')`);
      live = false;
    }
    assert.equal(live, agent.status === 'live', `${when}: get('${name}')`);
    const events = await rt.events.query({ agentId: name, kinds: LIFECYCLE_KINDS });
    assert.deepEqual(
      events.map((event) => event.kind),
      model.events.get(name),
      `${when}: the lifecycle events of ${name}`,
    );
    if (agent.status === 'absent') continue;
    const record = await rt.agents.show(name);
    assert.equal(record.supervisor, agent.supervisor, `${when}: the supervisor in ${name}'s record`);
    assert.deepEqual(record.config, { n: agent.n }, `${when}: ${name} holds the config of the spawn that won`);
    const texts = (record.machineSnapshot as { context: ChatContext } | null)?.context.texts ?? [];
    assert.deepEqual(
      texts.filter((text) => !agent.mayHold.includes(text)),
      [],
      `${when}: ${name} holds messages that were refused, or sent to an agent deleted since`,
    );
    assert.deepEqual(texts, agent.mayHold.filter((text) => texts.includes(text)), `${when}: ${name}'s messages out of order`);
    for (const text of agent.mustHold) assert.ok(texts.includes(text), `${when}: ${name} lost the acknowledged message ${text}`);
  }
}

describe('agent lifecycle (fc.scheduler)', function () {
  this.timeout(600_000);

  it('concurrent spawn, restore, delete and send of one id leave the registry, the supervisors, the store and the events agreeing with a model, also after reopening', async () => {
    const machine = chatMachine();
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.tuple(phase, phase), async (s, phases) => {
        const dataDir = mkdtempSync(join(tmpdir(), 'llmstate-lifecycle-'));
        const open = async () => {
          const rt = await createRuntime({ dataDir });
          rt.agents.define('chat', machine);
          await rt.supervisors.create({ id: 'team', strategy: 'one_for_one' }).ready();
          return rt;
        };
        const model = new Model();
        let rt = await open();
        try {
          for (const [number, ops] of phases.entries()) {
            const removeInterceptor = storageOf(rt).intercept({
              beforeGet: () => s.schedule(Promise.resolve(), 'get'),
              beforeBatch: () => s.schedule(Promise.resolve(), 'batch'),
            });
            const pending = new Map<number, number>(IDS.map((_, index) => [index, 0]));
            const issued: Issued[] = [];
            const outcomes: Outcome[] = new Array(ops.length);
            const current = rt;
            const all = ops.map((o, index) =>
              s.schedule(Promise.resolve(), `issue ${number}.${index} ${o.op} ${IDS[o.id]}`).then(() => {
                const text = `p${number}-${index}`;
                issued.push({ index, op: o, quiet: pending.get(o.id) === 0, text });
                const name = IDS[o.id];
                let running: Promise<unknown>;
                if (o.op === 'send') {
                  // The handle is taken now, as a caller would; get() throwing rejects this promise.
                  running = new Promise<AgentHandle>((resolve) => resolve(current.agents.get(name))).then((agent) => agent.send({ type: 'SAY', text }));
                } else {
                  pending.set(o.id, pending.get(o.id)! + 1);
                  running =
                    o.op === 'spawn'
                      ? current.agents.spawn({ id: name, type: 'chat', machine, config: { n: configOf(number, index) }, supervisor: SUPERVISORS[o.supervisor] })
                      : o.op === 'restore'
                        ? current.agents.restore(name)
                        : current.agents.delete(name);
                  running = running.finally(() => pending.set(o.id, pending.get(o.id)! - 1));
                }
                return running.then(
                  (value) => (outcomes[index] = { ok: true, value }),
                  (error: Error) => (outcomes[index] = { ok: false, error }),
                );
              }),
            );
            await s.waitFor(Promise.all(all));
            removeInterceptor();
            await s.waitIdle();

            model.replay(issued, outcomes, number);
            await agree(rt, model, `after phase ${number + 1}`);
            await rt.close();
            model.reopened();
            rt = await open();
            await agree(rt, model, `after phase ${number + 1} and a reopen`);
          }
        } finally {
          await s.waitIdle();
          await rt.close();
          rmSync(dataDir, { recursive: true, force: true });
        }
      }),
      { numRuns: runs(100) },
    );
  });
});
