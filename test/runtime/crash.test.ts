import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Scope } from '../../src/index.js';
import { describeEachStore, RuntimeFixture } from '../helpers.js';

const writer = fileURLToPath(new URL('../fixtures/crashWriter.ts', import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url));

interface Acks {
  sets: { agent: string; key: string; value: number }[];
  transactions: { agent: string; n: number }[];
  counters: Map<string, number>;
  highest: number;
}

/** Runs the writer until it has acknowledged `killAfter` operations, then SIGKILLs it. */
function runAndKill(store: string, durability: string, start: number, killAfter: number, slowDiskMs: number): Promise<Acks> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, store, durability, String(start)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acks: Acks = { sets: [], transactions: [], counters: new Map(), highest: start };
    let count = 0;
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const [kind, a, b, c] = line.split(' ');
      if (kind === 'ack') acks.sets.push({ agent: a, key: b, value: Number(c) });
      else if (kind === 'tx') acks.transactions.push({ agent: a, n: Number(b) });
      else if (kind === 'counter') acks.counters.set(a, Math.max(acks.counters.get(a) ?? -1, Number(b)));
      else return;
      acks.highest = Math.max(acks.highest, Number(kind === 'ack' ? c : b));
      if (++count === killAfter) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acks);
      else reject(new Error(`writer exited with ${code} before it was killed: ${stderr}`));
    });
  });
}

describeEachStore('crash: a writer killed with SIGKILL', function (store) {
  this.timeout(120_000);
  let fixture: RuntimeFixture;
  beforeEach(() => {
    fixture = new RuntimeFixture('crash', store);
  });
  afterEach(() => fixture.dispose());

  for (const durability of ['process', 'sync']) {
    it(`loses no acknowledged write and half-applies no transaction (durability: ${durability}), over repeated kills`, async () => {
      const all: Acks[] = [];
      let start = 0;
      // Kill at a different point each round; each round continues in the same store.
      const rounds: [killAfter: number, slowDiskMs: number][] = [
        [40 + Math.floor(Math.random() * 200), 0],
        [300 + Math.floor(Math.random() * 500), 0],
        [100 + Math.floor(Math.random() * 200), 3],
        [1, 0],
      ];
      for (const [killAfter, slowDiskMs] of rounds) {
        const where = store === 'leveldb' ? fixture.dir : JSON.stringify(fixture.storeOptions);
        const acks = await runAndKill(where, durability, start, killAfter, slowDiskMs);
        all.push(acks);
        start = acks.highest + 1000;
      }
      const rt = await fixture.open({ leases: { owner: 'crash-writer' } });
      let checked = 0;
      for (const acks of all) {
        for (const { agent, key, value } of acks.sets) {
          const stored = (await rt.state.get(Scope.agent(agent), key)) as { n: number } | undefined;
          assert.equal(stored?.n, value, `acknowledged ${agent}/${key} is missing after the kill`);
          checked++;
        }
        for (const { agent, n } of acks.transactions) {
          assert.equal(await rt.state.get(Scope.agent(agent), `tx${n}.a`), n);
          assert.equal(await rt.state.get(Scope.agent(agent), `tx${n}.b`), n);
          checked++;
        }
        for (const [scope, value] of acks.counters) {
          const stored = (await rt.state.get(Scope.custom(scope), 'counter')) as number;
          assert.ok(stored >= value, `counter ${scope} went back from acknowledged ${value} to ${stored}`);
        }
      }
      // No transaction is half applied, acknowledged or not.
      for (let agent = 0; agent < 8; agent++) {
        const scope = Scope.agent(`agent-${agent}`);
        const keys = new Set(await rt.state.listKeys(scope, { prefix: 'tx' }));
        for (const key of keys) {
          const sibling = key.endsWith('.a') ? key.replace(/\.a$/, '.b') : key.replace(/\.b$/, '.a');
          assert.ok(keys.has(sibling), `transaction half applied: ${key} without ${sibling}`);
        }
      }
      assert.ok(checked > 300, `expected a meaningful number of acknowledged writes, got ${checked}`);
    });
  }
});
