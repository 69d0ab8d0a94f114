import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chatMachine } from '../fixtures/chatMachine.js';
import { describeEachStore, RuntimeFixture } from '../helpers.js';
import { snapshotTexts, textsOf } from './agentKit.js';

const writer = fileURLToPath(new URL('../fixtures/agentKillWriter.ts', import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url));
const machine = chatMachine();

interface Run {
  /** How many messages the agent had when the child started. */
  ready: number;
  /** Indexes of the acknowledged messages, in order. */
  acks: number[];
  /** Indexes after which an explicit save was acknowledged. */
  saves: number[];
}

/** Runs the writer until it has acknowledged `killAfter` messages, then SIGKILLs it. */
function runAndKill(dataDir: string, persist: string, killAfter: number, saveEvery = 0): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, dataDir, persist, 'a1', String(saveEvery)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const run: Run = { ready: -1, acks: [], saves: [] };
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const [kind, n] = line.split(' ');
      if (kind === 'ready') run.ready = Number(n);
      else if (kind === 'saved') run.saves.push(Number(n));
      else if (kind === 'ack') {
        run.acks.push(Number(n));
        if (run.acks.length === killAfter) child.kill('SIGKILL');
      }
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(run);
      else reject(new Error(`the agent writer exited with ${code} before it was killed: ${stderr}`));
    });
  });
}

/** `m0`, `m1`, … `m<count-1>`. */
function messages(count: number): string[] {
  return Array.from({ length: count }, (_, n) => `m${n}`);
}

describeEachStore('an agent whose process is killed with SIGKILL', function (store) {
  this.timeout(60_000);
  let fixture: RuntimeFixture;
  beforeEach(() => {
    fixture = new RuntimeFixture('agent-kill', store);
  });
  afterEach(() => fixture.dispose());
  const where = () => (store === 'leveldb' ? fixture.dir : JSON.stringify(fixture.storeOptions));

  it("with persist 'every-message', is restored with every acknowledged message in its machine's context, and carries on", async () => {
    const first = await runAndKill(where(), 'every-message', 20 + Math.floor(Math.random() * 60));
    assert.equal(first.ready, 0);
    // The next process restores the agent itself, and is killed in turn.
    const second = await runAndKill(where(), 'every-message', 1 + Math.floor(Math.random() * 40));
    const lastAck = first.acks.at(-1)!;
    assert.ok(second.ready > lastAck, `the second process restored ${second.ready} messages; m${lastAck} was acknowledged`);
    assert.deepEqual(second.acks[0], second.ready);

    const rt = await fixture.open({ leases: { owner: 'agent-writer' } });
    const agent = await rt.agents.restore('a1', { machine });
    const texts = snapshotTexts(agent.record().machineSnapshot);
    const acknowledged = second.acks.at(-1)!;
    // Every acknowledged message, in order, with no gap. The child may have got further than the parent
    // read before the kill landed, so there may be more, but never a hole or a reordering.
    assert.deepEqual(texts.slice(0, acknowledged + 1), messages(acknowledged + 1));
    assert.deepEqual(texts, messages(texts.length));
    assert.equal((await rt.agents.show('a1')).metadata.messages, texts.length);

    const reply = await agent.send({ type: 'SAY', text: 'after the kill' });
    assert.deepEqual(textsOf(reply), [...texts, 'after the kill']);
    const reopened = await fixture.reopen(rt);
    const again = await reopened.agents.restore('a1', { machine });
    assert.deepEqual(snapshotTexts(again.record().machineSnapshot), [...texts, 'after the kill']);
  });

  it('is killed even after its very first acknowledged message, and keeps it', async () => {
    const run = await runAndKill(where(), 'every-message', 1);
    // The kill lands after the first acknowledgement, but the child may have printed more before it did.
    assert.equal(run.acks[0], 0);
    const acknowledged = run.acks.at(-1)!;
    const rt = await fixture.open({ leases: { owner: 'agent-writer' } });
    const agent = await rt.agents.restore('a1', { machine });
    assert.deepEqual(snapshotTexts(agent.record().machineSnapshot).slice(0, acknowledged + 1), messages(acknowledged + 1));
  });

  it("with persist 'lifecycle', is restored as of its last save: the unsaved tail is lost, every saved message is kept", async () => {
    const saveEvery = 5;
    // Kill between saves (the count is not a multiple of 5), so that there is an unsaved tail to lose.
    const run = await runAndKill(where(), 'lifecycle', 5 * (3 + Math.floor(Math.random() * 8)) + 2, saveEvery);
    const lastSave = run.saves.at(-1)!;
    const lastAck = run.acks.at(-1)!;
    assert.ok(lastAck > lastSave);

    const rt = await fixture.open({ leases: { owner: 'agent-writer' } });
    const agent = await rt.agents.restore('a1', { machine });
    const texts = snapshotTexts(agent.record().machineSnapshot);
    assert.deepEqual(texts, messages(texts.length));
    assert.ok(texts.length >= lastSave + 1, `the save after m${lastSave} was acknowledged, but only ${texts.length} messages were restored`);
    assert.equal(texts.length % saveEvery, 0, `the stored snapshot (${texts.length} messages) is not one of the saves`);

    assert.deepEqual(textsOf(await agent.send({ type: 'SAY', text: 'after the kill' })), [...texts, 'after the kill']);
  });
});
