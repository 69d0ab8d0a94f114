import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Scope, type Runtime } from '../../src/index.js';
import { RuntimeFixture } from '../helpers.js';
import { untilReported } from './hookHelpers.js';

const writer = fileURLToPath(new URL('../fixtures/hooks/hookWriter.ts', import.meta.url));
const recorder = new URL('../fixtures/hooks/recorder.mjs', import.meta.url);
const root = fileURLToPath(new URL('../..', import.meta.url));

interface Ack {
  n: number;
  scope: string;
  key: string;
  correlationId: string;
}

/** One line of the recorder's `startedFile`: an execution that began running in a worker. */
interface Started {
  executionId: string;
  attempt: number;
  eventIds: string[];
}

function readStarted(file: string): Started[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    // The last line may be cut short by the kill.
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Started];
      } catch {
        return [];
      }
    });
}

/**
 * Runs the writer with a slow hook until it has acknowledged `killAfter` writes (and, with
 * `midExecution`, until the hook is running in a worker), then SIGKILLs it.
 */
function runAndKill(dataDir: string, startedFile: string, start: number, killAfter: number, midExecution: boolean): Promise<Ack[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, dataDir, startedFile, '10000', String(start)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const startedBefore = readStarted(startedFile).length;
    const acks: Ack[] = [];
    let stderr = '';
    let killed = false;
    const kill = () => {
      if (killed) return;
      killed = true;
      child.kill('SIGKILL');
    };
    child.stderr.on('data', (chunk) => (stderr += chunk));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const [kind, n, scope, key, correlationId] = line.split(' ');
      if (kind !== 'ack' || killed) return;
      acks.push({ n: Number(n), scope, key, correlationId });
      if (acks.length >= killAfter && (!midExecution || readStarted(startedFile).length > startedBefore)) kill();
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acks);
      else reject(new Error(`the writer exited with ${code} before it was killed: ${stderr}`));
    });
  });
}

/**
 * Opens the killed store without delivering, checks what waits, then makes the hook fast and delivers.
 * Returns the runtime after `idle()`.
 */
async function reopenAndDeliver(fixture: RuntimeFixture): Promise<{ rt: Runtime; pendingAtOpen: number; successesAtOpen: number }> {
  let rt = await fixture.open({ hooks: { autoStart: false, threads: 2 } });
  const pendingAtOpen = rt.metrics().hooks.pending;
  const successesAtOpen = (await rt.hooks.history({ hookName: 'slow', status: 'succeeded', limit: 1_000_000 })).reduce((sum, e) => sum + e.eventIds.length, 0);
  // Same name, same module: only the delay changes, so what waits for the hook is kept.
  await rt.hooks.register({ name: 'slow', module: recorder, on: ['state.set'], filter: { keyPrefix: 'w' }, timeoutMs: 60_000, options: { delayMs: 0 } });
  assert.equal(rt.metrics().hooks.pending, pendingAtOpen, 're-registering the hook changed what waits for it');
  rt = await fixture.reopen(rt, { hooks: { threads: 2 } });
  await rt.hooks.idle();
  return { rt, pendingAtOpen, successesAtOpen };
}

/** Every committed `w*` set is recorded as exactly one success; no `x*` set reached the hook; nothing is dead-lettered. */
async function checkDelivered(rt: Runtime, acks: Ack[], pendingAtOpen: number, successesAtOpen: number): Promise<Map<string, string>> {
  const events = await rt.events.query({ kinds: ['state.set'], limit: 1_000_000 });
  const byKey = new Map(events.map((event) => [`${event.scope} ${event.key}`, event]));
  const matching = events.filter((event) => event.key!.startsWith('w'));
  const matchingIds = new Set(matching.map((event) => event.id));
  const executions = await rt.hooks.history({ hookName: 'slow', replays: 'exclude', limit: 1_000_000 });
  const successOf = new Map<string, string>();
  for (const execution of executions) {
    for (const id of execution.eventIds) assert.ok(matchingIds.has(id), `the hook received ${id}, which it does not match`);
    if (execution.status !== 'succeeded') continue;
    assert.deepEqual((execution.result?.output as { eventIds?: string[] }).eventIds, execution.eventIds);
    for (const id of execution.eventIds) {
      assert.equal(successOf.get(id), undefined, `event ${id} is recorded as a success twice: ${successOf.get(id)} and ${execution.executionId}`);
      successOf.set(id, execution.executionId);
    }
  }
  // What waited at the reopen is exactly what had not succeeded before the kill.
  assert.equal(pendingAtOpen, matching.length - successesAtOpen, 'the outbox after the kill holds every matching event not yet delivered, and no other');
  for (const event of matching) assert.ok(successOf.has(event.id), `committed event ${event.id} (${event.scope} ${event.key}) was never delivered`);

  let checked = 0;
  for (const ack of acks) {
    const event = byKey.get(`${ack.scope} ${ack.key}`);
    assert.ok(event !== undefined, `acknowledged write ${ack.scope} ${ack.key} is not in the event log`);
    assert.equal(event.correlationId, ack.correlationId);
    if (!ack.key.startsWith('w')) continue;
    // Found through the correlation index of the history, as a user looking up one request would.
    const story = await rt.hooks.history({ correlationId: ack.correlationId, status: 'succeeded' });
    assert.deepEqual(
      story.filter((execution) => execution.eventIds.includes(event.id)).map((execution) => execution.executionId),
      [successOf.get(event.id)],
      `history({ correlationId: ${ack.correlationId} }) does not show the delivery of ${event.id}`,
    );
    checked++;
  }
  assert.deepEqual(await rt.hooks.deadLetters(), [], 'nothing may be dead-lettered');
  const metrics = rt.metrics().hooks;
  assert.equal(metrics.pending, 0);
  assert.equal(metrics.deadLettered, 0);
  assert.ok(checked > 0, 'no acknowledged matching write was checked');
  return successOf;
}

/** Nothing waits in the outbox on disk once everything was delivered: a reopen would deliver nothing again. */
async function checkOutboxEmpty(fixture: RuntimeFixture, rt: Runtime): Promise<void> {
  const reopened = await fixture.reopen(rt, { hooks: { autoStart: false } });
  assert.equal(reopened.metrics().hooks.pending, 0, 'delivered events are still in the outbox after a reopen');
}

describe('crash: hooks of a writer killed with SIGKILL', function () {
  this.timeout(120_000);
  let fixture: RuntimeFixture;
  let startedFile: string;
  beforeEach(() => {
    fixture = new RuntimeFixture('hooks-crash');
    startedFile = join(fixture.dir, 'started.jsonl');
  });
  afterEach(() => fixture.dispose());

  it('delivers every acknowledged matching write after reopening, each recorded as exactly one success, over repeated kills at random points', async () => {
    const acks: Ack[] = [];
    let start = 0;
    for (const killAfter of [1 + Math.floor(Math.random() * 40), 40 + Math.floor(Math.random() * 200), 1]) {
      const round = await runAndKill(fixture.dir, join(fixture.dir, 'ignored.jsonl'), start, killAfter, false);
      assert.ok(round.length >= killAfter);
      acks.push(...round);
      start = Math.max(start, ...round.map((ack) => ack.n)) + 1000;
    }
    const { rt, pendingAtOpen, successesAtOpen } = await reopenAndDeliver(fixture);
    assert.ok(pendingAtOpen > 0, 'the kills left nothing in the outbox: the test proves nothing');
    await checkDelivered(rt, acks, pendingAtOpen, successesAtOpen);
    await checkOutboxEmpty(fixture, rt);
  });

  it('runs again, and records once, an execution that was running in a worker when the process was killed', async () => {
    const acks: Ack[] = [];
    let start = 0;
    // The second round starts with the first round's entries waiting, and is killed while running them.
    for (const killAfter of [20 + Math.floor(Math.random() * 100), 1]) {
      const round = await runAndKill(fixture.dir, startedFile, start, killAfter, true);
      acks.push(...round);
      start = Math.max(start, ...round.map((ack) => ack.n)) + 1000;
    }
    const killedExecutions = readStarted(startedFile);
    assert.ok(killedExecutions.length >= 2, `expected an execution running at each kill, found ${killedExecutions.length}`);

    const { rt, pendingAtOpen, successesAtOpen } = await reopenAndDeliver(fixture);
    assert.ok(pendingAtOpen > 0, 'the kills left nothing in the outbox: the test proves nothing');
    assert.equal(successesAtOpen, 0, 'a 10 s hook cannot have finished before the kill');
    const successOf = await checkDelivered(rt, acks, pendingAtOpen, successesAtOpen);
    for (const killed of killedExecutions) {
      // The killed run left no record; its events were run again by a later execution.
      assert.equal(await rt.hooks.execution(killed.executionId), undefined, `killed execution ${killed.executionId} was recorded`);
      for (const id of killed.eventIds) {
        const success = successOf.get(id);
        assert.ok(success !== undefined && success !== killed.executionId, `event ${id} of killed execution ${killed.executionId} was not run again`);
      }
    }
    await checkOutboxEmpty(fixture, rt);
  });
});

describe('crash: a hook worker that dies when it has no task', function () {
  this.timeout(30_000);
  let fixture: RuntimeFixture;
  beforeEach(() => {
    fixture = new RuntimeFixture('hooks-late-crash');
  });
  afterEach(() => fixture.dispose());

  it('keeps the host process up, reports the error as a hook.error event and in metrics, and goes on delivering', async () => {
    // Catch what reaches the top of this process, so that the bug fails this test alone and not the run.
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => void uncaught.push(error);
    const mochaListeners = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', onUncaught);
    try {
      // One thread, so the worker is idle when the timer the hook left behind throws.
      const rt = await fixture.open({ hooks: { threads: 1 } });
      await rt.hooks.register({ name: 'late', module: new URL('../fixtures/hooks/crashOnFirstAttempt.mjs', import.meta.url), on: ['state.set'] });
      await rt.state.set(Scope.agent('a1'), 'k1', { n: 1, crash: 'late' });
      await rt.hooks.idle();
      // The hook's timer throws 10 ms after it returned: wait until its error has landed somewhere.
      const errorLogged = async () => (await rt.events.query({ kinds: ['hook.error'] })).length > 0;
      await untilReported(async () => uncaught.length > 0 || (await errorLogged()), 'the worker error is reported');
      assert.deepEqual(uncaught.map(String), [], 'a hook worker error reached the top of the host process');
      assert.ok(rt.metrics().hooks.backgroundErrors >= 1, 'the worker error was not counted in metrics().hooks.backgroundErrors');
      const logged = await rt.events.query({ kinds: ['hook.error'] });
      assert.ok(logged.some((event) => JSON.stringify(event.data).includes('late crash')), `no hook.error event tells of the worker's error: ${JSON.stringify(logged)}`);
      // The pool replaced the worker: the next change is delivered.
      await rt.state.set(Scope.agent('a1'), 'k2', { n: 2 });
      await rt.hooks.idle();
      const succeeded = await rt.hooks.history({ hookName: 'late', status: 'succeeded' });
      assert.deepEqual(succeeded.map((execution) => execution.attempt), [1, 1]);
    } finally {
      process.off('uncaughtException', onUncaught);
      for (const listener of mochaListeners) process.on('uncaughtException', listener);
    }
  });
});
