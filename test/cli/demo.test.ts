import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assertBuilt, holdOpen, llmstate, removeTempDirs, tempDir } from './runCli.js';

const STEP_TITLES = [
  '1. Open the store',
  '2. Give three agents their own state',
  '3. Record research progress in one transaction',
  '4. Hand the research to the writer, under one correlation id',
  '5. Write global, workflow and step state',
  '6. Register a hook, review-request, that runs in a worker thread',
  '7. Write a draft; the hook reacts with a write of its own',
  '8. Follow that correlation through the timeline',
  '9. Close the runtime',
  '10. Reopen the store and read everything back',
  '11. Start a supervisor, team, with two chat agents under it',
  '12. Send them a few messages',
  '13. Crash ada with the fault injector',
  '14. Watch team restart ada, with its state reloaded from the store',
  '15. What the crash left behind, and what it did not touch',
  '16. Close the runtime',
  '17. Reopen the store and restore ada',
  "18. Back up, lose the researcher's memory, and restore that scope",
];

/** The lines that show the hook at work, in the order printed; `\S+` stands for times and ids. */
const HOOK_LINES = [
  /^ {3}✓ registered: breaker closed, 0 pending; the module loaded in a worker$/m,
  /^ {3}agent:writer draft = \{"text":"Sulfide electrolytes/m,
  /^ {3}correlation id: (?<correlation>[\w-]+)$/m,
  /^ {3}✓ agent:reviewer inbox = \{"review":"agent:writer draft","words":14,"requestedBy":"review-request"\}, written by the hook$/m,
  /^ {5}TIME +HOOK +STATUS +ATTEMPT +DURATION +EXECUTION +EVENTS +ERROR +REPLAY_OF$/m,
  /^ {5}\d{4}-\d\d-\d\dT\S+Z +review-request +succeeded +1 +[\d.]+ms +(?<execution>\w+) +(?<event>\d+\.\d+) +- +-$/m,
  /^ {3}✓ one execution, recorded with its input and result: llmstate hooks replay (?<replayed>\w+) runs it again$/m,
  /^ {5}timeline (?<timeline>[\w-]+): 2 events, 1 hook execution$/m,
  /^ {5}└─ \d\d:\d\d:\d\d\.\d{3} state\.set agent:writer draft \[(?<drafted>\d+\.\d+)\]$/m,
  /^ {8}└─ hook review-request attempt 1 succeeded \([\d.]+ ms\) \[(?<ran>\w+)\]$/m,
  /^ {11}└─ \d\d:\d\d:\d\d\.\d{3} state\.set agent:reviewer inbox \[\d+\.\d+\]$/m,
  /^ {3}✓ the draft write → the hook execution it triggered → the action write, whose causationId is the draft$/m,
];

/**
 * Finds each pattern in `text`, each after the previous one, and returns the named groups they captured.
 */
function matchInOrder(text: string, patterns: readonly RegExp[]): Record<string, string> {
  const groups: Record<string, string> = {};
  let at = 0;
  for (const pattern of patterns) {
    const found = pattern.exec(text.slice(at));
    assert.ok(found !== null, `${pattern} is printed, in order, in:\n${text}`);
    Object.assign(groups, found.groups);
    at += found.index + found[0].length;
  }
  return groups;
}

/** The lines that show supervision at work, in the order printed. */
const SUPERVISION_LINES = [
  /^ {3}✓ team\.whichChildren\(\): ada running \(restarts 0\), bob running \(restarts 0\)$/m,
  /^ {3}✓ ada has counted 2 messages, bob 1$/m,
  /^ {3}rt\.faults\.crashActor\('ada'\): /m,
  /^ {3}✓ rejected with error\[ACTOR_CRASHED\]: Agent ada crashed on USER_MESSAGE: injected crash of agent ada\./m,
  /^ {3}✓ team\.whichChildren\(\): ada running \(restarts 1\), bob running \(restarts 0\)$/m,
  /^ {3}✓ event agent\.restarted \{"incarnation":2\}: /m,
  /^ {3}ada ← "Are you still there\?" {2}→ \{"count":3,"last":"Are you still there\?"\}$/m,
  /^ {3}✓ count 3: /m,
  /^ {3}✓ dead letter USER_MESSAGE "Compare all twelve papers": injected crash of agent ada$/m,
  /^ {3}✓ bob kept running \(one_for_one restarts only the child that crashed\): restarts 0$/m,
  /^ {3}✓ bob's count went on from 1 to 2$/m,
  /^ {3}✓ the timeline holds fault\.injected, agent\.crashed, supervisor\.child_exited, agent\.restarted, supervisor\.child_restarted$/m,
  /^ {3}agents ada and bob saved with their machine snapshots, then stopped$/m,
  /^ {5}ada: running as saved, live false, messages 3, restarts 1$/m,
  /^ {3}rt\.agents\.restore\('ada', \{ machine \}\) → under team, as its record says$/m,
  /^ {3}✓ its machine context came back: \{"count":3,"last":"Are you still there\?"\}$/m,
  /^ {3}ada ← "Welcome back" {2}→ \{"count":4,"last":"Welcome back"\}$/m,
];

function dataDirLine(stdout: string): string {
  const match = /^data dir: (\S+)/m.exec(stdout);
  assert.ok(match !== null, `no data dir line in:\n${stdout}`);
  return match[1];
}

describe('llmstate demo', function () {
  // Each test runs the binary several times; this holds without .mocharc.json (mocha --no-config) too.
  this.timeout(60_000);
  const demoDirs: string[] = [];
  before(assertBuilt);
  afterEach(() => removeTempDirs(...demoDirs.splice(0)));

  it('runs every step in a new temporary directory, verifies the values and leaves the store readable', async () => {
    const cwd = tempDir();
    const result = await llmstate(['demo'], { cwd });
    const dataDir = dataDirLine(result.stdout);
    demoDirs.push(dataDir);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    assert.ok(!result.stdout.includes('\x1b'), 'no colour when not a terminal');

    assert.equal(path.dirname(dataDir), os.tmpdir());
    assert.ok(path.basename(dataDir).startsWith('llmstate-demo-'), dataDir);
    assert.ok(!fs.existsSync(path.join(cwd, '.llmstate')), 'the working directory is left alone');

    let at = 0;
    for (const title of STEP_TITLES) {
      const found = result.stdout.indexOf(`\n${title}\n`, at);
      assert.ok(found > at, `step "${title}" is printed, in order`);
      at = found;
    }
    assert.match(result.stdout, /^ {3}correlation id: [\w-]+$/m);
    assert.match(result.stdout, /^ {3}✓ agent:researcher: messages, notes, progress, topic$/m);
    assert.match(result.stdout, /^ {3}✓ agent:reviewer: inbox, progress, topic$/m, 'the write of the hook\'s action survived the restart');
    assert.match(result.stdout, /^ {3}18 values read back, each deepStrictEqual to what was written$/m);
    const hook = matchInOrder(result.stdout, HOOK_LINES);
    assert.equal(hook.replayed, hook.execution, 'the replay hint names the execution in the history');
    assert.equal(hook.ran, hook.execution, 'the timeline shows the execution in the history');
    assert.equal(hook.timeline, hook.correlation);
    assert.equal(hook.drafted, hook.event, 'the execution received the draft write');
    matchInOrder(result.stdout, SUPERVISION_LINES);
    assert.doesNotMatch(result.stdout, /✗/);
    assert.doesNotMatch(result.stdout, /left by an earlier run/, 'a new store has no agents to clear');
    assert.match(result.stdout, /^Every check passed\.$/m);
    assert.ok(result.stdout.includes(`llmstate --data-dir ${dataDir} keys agent:researcher`), 'prints how to look around');

    const keys = await llmstate(['--data-dir', dataDir, 'keys', 'agent:researcher']);
    assert.deepEqual(keys, { code: 0, stdout: 'messages\nnotes\nprogress\ntopic\n', stderr: '' });
    const progress = await llmstate(['--data-dir', dataDir, 'get', 'agent:researcher', 'progress']);
    assert.deepEqual(JSON.parse(progress.stdout), { sourcesRead: 4, notes: 2 });
    const status = await llmstate(['--data-dir', dataDir, 'get', 'workflow:report-42', 'status']);
    assert.equal(status.stdout, '"drafting"\n');

    assert.ok(result.stdout.includes(`llmstate --data-dir ${dataDir} agents show ada`), 'prints how to look at the agents');
    const agents = JSON.parse((await llmstate(['--data-dir', dataDir, 'agents', 'list', '--json'])).stdout) as Record<string, unknown>[];
    assert.deepEqual(
      agents.map(({ id, type, status: saved, supervisor, messages, restarts }) => ({ id, type, saved, supervisor, messages, restarts })),
      [
        { id: 'ada', type: 'chat', saved: 'running', supervisor: 'team', messages: 4, restarts: 1 },
        { id: 'bob', type: 'chat', saved: 'running', supervisor: 'team', messages: 2, restarts: 0 },
      ],
    );
    const ada = JSON.parse((await llmstate(['--data-dir', dataDir, 'agents', 'show', 'ada', '--json'])).stdout);
    assert.deepEqual(ada.machine.context, { count: 4, last: 'Welcome back' });
    assert.deepEqual(ada.deadLetters.map((letter: { event: unknown }) => letter.event), [{ type: 'USER_MESSAGE', text: 'Compare all twelve papers' }]);

    assert.ok(result.stdout.includes(`llmstate --data-dir ${dataDir} timeline ${hook.correlation} --format mermaid`), 'prints how to see the timeline');
    const history = await llmstate(['--data-dir', dataDir, 'hooks', 'history', '--json']);
    assert.deepEqual(
      (JSON.parse(history.stdout) as { executionId: string; hookName: string; status: string }[]).map(({ executionId, hookName, status }) => ({ executionId, hookName, status })),
      [{ executionId: hook.execution, hookName: 'review-request', status: 'succeeded' }],
    );
    const replay = await llmstate(['--data-dir', dataDir, 'hooks', 'replay', hook.execution]);
    assert.deepEqual({ code: replay.code, stdout: replay.stdout }, { code: 0, stdout: 'equal\n' }, 'the shipped hook module replays from the built package');
  });

  it('uses --data-dir when given, and can run again on the same store', async () => {
    const dataDir = tempDir();
    for (const run of [1, 2]) {
      const result = await llmstate(['--data-dir', dataDir, 'demo']);
      assert.equal(result.code, 0, `run ${run}: ${result.stderr}`);
      assert.equal(dataDirLine(result.stdout), dataDir);
      assert.match(result.stdout, /\(from --data-dir\)/);
      assert.match(result.stdout, /^Every check passed\.$/m);
      const cleared = /^ {3}deleted ada and bob, left by an earlier run of the demo$/m;
      if (run === 1) assert.doesNotMatch(result.stdout, cleared);
      else assert.match(result.stdout, cleared);
    }
    const progress = await llmstate(['--data-dir', dataDir, 'get', 'agent:researcher', 'progress']);
    assert.deepEqual(JSON.parse(progress.stdout), { sourcesRead: 4, notes: 2 }, 'the second run rewrote the same state');
  });

  it('fails with STORAGE_FAILED, exit 1, when the data directory is in use', async () => {
    const dataDir = tempDir();
    const holder = await holdOpen(dataDir);
    try {
      const result = await llmstate(['--data-dir', dataDir, 'demo']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^error\[STORAGE_FAILED\]: .*LOCK/);
      assert.doesNotMatch(result.stdout, /Every check passed/);
    } finally {
      await holder.stop();
    }
  });
});
