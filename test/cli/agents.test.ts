import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assign, setup } from 'xstate';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { Scope } from '../../src/state/Scope.js';
import type { AgentRecord, AgentSummary, DeadLetter, LlmStateError } from '../../src/index.js';
import { assertBuilt, assertFails, assertSucceeds, inDir, holdOpen, removeTempDirs, tempDir } from './runCli.js';

const chat = setup({
  types: {
    context: {} as { count: number; last: string | null },
    events: {} as { type: 'USER_MESSAGE'; text: string } | { type: 'BREAK' },
  },
}).createMachine({
  id: 'chat',
  initial: 'listening',
  context: { count: 0, last: null },
  states: {
    listening: {
      on: {
        USER_MESSAGE: { actions: assign({ count: ({ context }) => context.count + 1, last: ({ event }) => event.text }) },
        BREAK: {
          actions: () => {
            throw new Error('the tool call failed');
          },
        },
      },
    },
  },
});

/** What the store holds, read back through the API after the preparing runtime closed, as JSON data. */
interface Expected {
  list: AgentSummary[];
  records: Record<string, AgentRecord>;
  deadLetters: Record<string, DeadLetter[]>;
}

async function rejectionCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as LlmStateError).code;
  }
}

/** Lets the event loop turn (it does not wait for time) until the background log has `count` such events. */
async function waitForEvent(rt: Runtime, agentId: string, kind: string, count = 1): Promise<void> {
  for (let turn = 0; turn < 20_000; turn++) {
    const events = await rt.events.query({ agentId, kinds: [kind] });
    if (events.length >= count) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`no ${kind} event for ${agentId}`);
}

/**
 * Spawns three agents the way a program would, then closes the runtime:
 * - ada: a chat agent under supervisor `team` with config, tools, conversation, workflow and custom data;
 *   crashed once by the fault injector and restarted.
 * - bob: a chat agent under `agents` whose machine throws on BREAK: two crashes, then refused as poison;
 *   left paused.
 * - cy: an agent without a machine, saved only on lifecycle changes, stopped.
 * - dee: a temporary chat agent under `team` that crashed, and so will not run again.
 */
async function prepareStore(dataDir: string): Promise<void> {
  const rt = await createRuntime({ dataDir, poisonLimit: 2 });
  try {
    await rt.supervisors.create({ id: 'team', strategy: 'one_for_one', intensity: 3, period: 5000 }).ready();
    const ada = await rt.agents.spawn({
      id: 'ada',
      type: 'chat',
      machine: chat,
      supervisor: 'team',
      config: { model: 'example-model', temperature: 0.2 },
      tools: [{ name: 'search', description: 'Search the web' }],
      custom: { team: 'blue' },
    });
    await ada.update({
      conversation: [
        { role: 'user', content: 'Find sources\non electrolytes' },
        { role: 'assistant', content: 'Looking now.' },
      ],
      workflow: { workflowId: 'report-1', currentStep: 'draft', completedSteps: ['research'], progress: 0.5 },
    });
    await ada.send({ type: 'USER_MESSAGE', text: 'one' });
    rt.faults.crashActor('ada');
    assert.equal(await rejectionCode(ada.send({ type: 'USER_MESSAGE', text: 'boom' })), 'ACTOR_CRASHED');
    await ada.send({ type: 'USER_MESSAGE', text: 'two' });
    await rt.state.set(Scope.agent('ada'), 'notes', ['sulfides']);

    const bob = await rt.agents.spawn({ id: 'bob', type: 'chat', machine: chat });
    await bob.send({ type: 'USER_MESSAGE', text: 'hi' });
    for (let i = 0; i < 2; i++) assert.equal(await rejectionCode(bob.send({ type: 'BREAK' })), 'ACTOR_CRASHED');
    assert.equal(await rejectionCode(bob.send({ type: 'BREAK' })), 'ACTOR_CRASHED', 'refused as poison');
    await bob.pause();

    const cy = await rt.agents.spawn({ id: 'cy', type: 'notes', persist: 'lifecycle' });
    await cy.stop();

    const dee = await rt.agents.spawn({ id: 'dee', type: 'chat', machine: chat, supervisor: 'team', restart: 'temporary' });
    assert.equal(await rejectionCode(dee.send({ type: 'BREAK' })), 'ACTOR_CRASHED');

    // Supervisor events are logged in the background; let them land before closing.
    await waitForEvent(rt, 'ada', 'supervisor.child_restarted');
    await waitForEvent(rt, 'bob', 'supervisor.child_restarted', 2);
    await waitForEvent(rt, 'cy', 'supervisor.child_terminated');
    await waitForEvent(rt, 'dee', 'agent.retired');
  } finally {
    await rt.close();
  }
}

async function readExpected(dataDir: string): Promise<Expected> {
  const rt = await createRuntime({ dataDir });
  try {
    const expected: Expected = { list: await rt.agents.list(), records: {}, deadLetters: {} };
    for (const { id } of expected.list) {
      expected.records[id] = await rt.agents.show(id);
      expected.deadLetters[id] = await rt.supervisors.deadLetters({ agentId: id });
    }
    return JSON.parse(JSON.stringify(expected)) as Expected;
  } finally {
    await rt.close();
  }
}

/** A copy of the prepared store, for a test that changes it. */
function copyOf(dataDir: string): string {
  const copy = tempDir();
  fs.cpSync(dataDir, copy, { recursive: true });
  return copy;
}

describe('llmstate agents', function () {
  this.timeout(60_000);
  let store: string;
  let expected: Expected;

  before(async () => {
    assertBuilt();
    // Not a tempDir(): those go after each test, and this store serves them all.
    store = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstate-agents-'));
    await prepareStore(store);
    expected = await readExpected(store);
  });
  after(() => removeTempDirs(store));
  afterEach(() => removeTempDirs());

  it('the prepared store holds what the test expects', () => {
    assert.deepEqual(
      expected.list.map(({ id, status, supervisor, messages, restarts, live }) => ({ id, status, supervisor, messages, restarts, live })),
      [
        { id: 'ada', status: 'running', supervisor: 'team', messages: 2, restarts: 1, live: false },
        { id: 'bob', status: 'paused', supervisor: 'agents', messages: 1, restarts: 2, live: false },
        { id: 'cy', status: 'stopped', supervisor: 'agents', messages: 0, restarts: 0, live: false },
        { id: 'dee', status: 'crashed', supervisor: 'team', messages: 0, restarts: 0, live: false },
      ],
    );
  });

  describe('list', () => {
    it('prints a table, one agent per line in id order, with the status as saved (crashed for a temporary agent)', async () => {
      const result = await inDir(store, 'agents', 'list');
      assertSucceeds(result);
      const lines = result.stdout.trimEnd().split('\n');
      assert.match(lines[0], /^ID +TYPE +STATUS +SUPERVISOR +MESSAGES +RESTARTS +UPDATED$/);
      const rows = lines.slice(1).map((line) => line.split(/ +/));
      assert.deepEqual(
        rows.map((row) => row.slice(0, 6)),
        [
          ['ada', 'chat', 'running', 'team', '2', '1'],
          ['bob', 'chat', 'paused', 'agents', '1', '2'],
          ['cy', 'notes', 'stopped', 'agents', '0', '0'],
          ['dee', 'chat', 'crashed', 'team', '0', '0'],
        ],
      );
      for (const [index, row] of rows.entries()) assert.equal(row[6], new Date(expected.list[index].updatedAt).toISOString());
      // Columns line up: every row puts MESSAGES' last digit under the header's last letter.
      const end = lines[0].indexOf('MESSAGES') + 'MESSAGES'.length;
      for (const line of lines.slice(1)) assert.match(line.slice(end - 1, end), /\d/, line);
    });

    it('--json prints what rt.agents.list() returns, live false for every agent', async () => {
      const result = await inDir(store, 'agents', 'list', '--json');
      assertSucceeds(result);
      assert.deepEqual(JSON.parse(result.stdout), expected.list);
    });

    it('on a store without agents, prints nothing on stdout and says so on stderr, exit 0', async () => {
      const dir = tempDir();
      await inDir(dir, 'set', 'global', 'k', '1');
      assert.deepEqual(await inDir(dir, 'agents', 'list'), { code: 0, stdout: '', stderr: `no agents are stored in ${dir}\n` });
      assert.deepEqual(await inDir(dir, 'agents', 'list', '--json'), { code: 0, stdout: '[]\n', stderr: '' });
    });
  });

  describe('show', () => {
    it('prints the record, the machine snapshot, the dead letter of the injected crash and the events', async () => {
      const result = await inDir(store, 'agents', 'show', 'ada');
      assertSucceeds(result);
      const out = result.stdout;
      const record = expected.records.ada;
      for (const line of [
        'agent       ada',
        'type        chat',
        'status      running (as last saved)',
        'supervisor  team',
        'persist     every-message',
        `created     ${new Date(record.metadata.createdAt).toISOString()}`,
        `updated     ${new Date(record.metadata.updatedAt).toISOString()}`,
        'messages    2',
        'restarts    1',
        'schema      agent record v2',
        'config      {"model":"example-model","temperature":0.2}',
        'tools       search — Search the web',
        'workflow    {"workflowId":"report-1","currentStep":"draft","completedSteps":["research"],"progress":0.5}',
        'custom      {"team":"blue"}',
        'machine     active, state "listening"',
        '  context   {"count":2,"last":"two"}',
        'conversation (2 messages)',
        '  user       Find sources on electrolytes',
        '  assistant  Looking now.',
        'dead letters (1)',
      ]) {
        assert.ok(out.split('\n').includes(line), `a line "${line}" in:\n${out}`);
      }
      const letter = expected.deadLetters.ada[0];
      assert.match(out, new RegExp(`^  ${escape(new Date(letter.at).toISOString())}  USER_MESSAGE \\{"text":"boom"\\}\\n +crashed the agent: injected crash of agent ada$`, 'm'));

      const events = /^events \((\d+)\)\n((?: {2}.*\n?)*)/m.exec(out);
      assert.ok(events !== null, out);
      const kinds = events[2].trimEnd().split('\n').map((line) => line.trim().split(/ +/)[1]);
      assert.equal(kinds.length, Number(events[1]));
      assert.equal(kinds[0], 'agent.spawned');
      for (const kind of ['fault.injected', 'agent.crashed', 'supervisor.child_exited', 'agent.restarted', 'supervisor.child_restarted']) {
        assert.ok(kinds.includes(kind), `${kind} in ${kinds.join(', ')}`);
      }
      assert.ok(kinds.indexOf('fault.injected') < kinds.indexOf('agent.restarted'));
      assert.ok(!kinds.some((kind) => kind.startsWith('state.')), 'state changes are not lifecycle events');
    });

    it('--json prints the stored record, a machine summary, the dead letters and every lifecycle event', async () => {
      const result = await inDir(store, 'agents', 'show', 'ada', '--json');
      assertSucceeds(result);
      const shown = JSON.parse(result.stdout);
      assert.deepEqual(Object.keys(shown), ['record', 'machine', 'deadLetters', 'events', 'eventCount']);
      assert.deepEqual(shown.record, expected.records.ada);
      assert.deepEqual(shown.machine, { status: 'active', state: 'listening', context: { count: 2, last: 'two' } });
      assert.deepEqual(shown.deadLetters, expected.deadLetters.ada);
      assert.equal(shown.deadLetters[0].event.text, 'boom');
      assert.equal(shown.events.length, shown.eventCount);
      for (const event of shown.events) {
        assert.match(event.kind, /^(agent|supervisor|fault)\./);
        assert.ok(event.agentId === 'ada' || event.scope === 'agent:ada', JSON.stringify(event));
      }
      assert.deepEqual(
        shown.events.find((event: { kind: string }) => event.kind === 'fault.injected').data,
        { fault: 'crashActor', agentId: 'ada' },
      );
    });

    it('--events n keeps the last n events, and says how many there are', async () => {
      const all = JSON.parse((await inDir(store, 'agents', 'show', 'ada', '--json')).stdout);
      const result = await inDir(store, 'agents', 'show', 'ada', '--events', '2');
      assertSucceeds(result);
      const section = result.stdout.slice(result.stdout.indexOf(`events (last 2 of ${all.eventCount})\n`));
      assert.ok(section.length > 0, result.stdout);
      const kinds = section.trimEnd().split('\n').slice(1).map((line) => line.trim().split(/ +/)[1]);
      assert.deepEqual(kinds, all.events.slice(-2).map((event: { kind: string }) => event.kind));
    });

    it('shows crashes and the poison message of an agent whose machine throws, and a paused status', async () => {
      const result = await inDir(store, 'agents', 'show', 'bob');
      assertSucceeds(result);
      assert.match(result.stdout, /^status {6}paused \(as last saved\)$/m);
      assert.match(result.stdout, /^dead letters \(3\)$/m);
      assert.equal(result.stdout.match(/^ +crashed the agent: the tool call failed/gm)?.length, 2, result.stdout);
      assert.match(result.stdout, /^ +refused as poison, after it had crashed the agent 2 times$/m);
    });

    it('shows an agent without a machine, conversation, tools or dead letters', async () => {
      const result = await inDir(store, 'agents', 'show', 'cy');
      assertSucceeds(result);
      for (const line of ['status      stopped (as last saved)', 'persist     lifecycle', 'tools       (none)', 'machine     (none)', 'conversation (0 messages)', 'dead letters (0)']) {
        assert.ok(result.stdout.split('\n').includes(line), `a line "${line}" in:\n${result.stdout}`);
      }
      assert.match(result.stdout, /^ {2}\S+ {2}agent\.stopped$/m);
      assert.deepEqual(JSON.parse((await inDir(store, 'agents', 'show', 'cy', '--json')).stdout).machine, null);
    });

    it('an unknown agent is AGENT_NOT_FOUND, exit 1', async () => {
      const result = await inDir(store, 'agents', 'show', 'nobody');
      assertFails(result, 1, `error[AGENT_NOT_FOUND]: No agent nobody is stored in ${store}; llmstate agents list shows the stored agents`);
    });
  });

  describe('delete', () => {
    it('prints deleted, then not found, exit 0 both times; the record, dead letters and agent state are gone', async () => {
      const dir = copyOf(store);
      assert.deepEqual(await inDir(dir, 'agents', 'delete', 'ada'), { code: 0, stdout: 'deleted\n', stderr: '' });
      assert.deepEqual(await inDir(dir, 'agents', 'delete', 'ada'), { code: 0, stdout: 'not found\n', stderr: '' });

      const list = JSON.parse((await inDir(dir, 'agents', 'list', '--json')).stdout) as AgentSummary[];
      assert.deepEqual(list.map((agent) => agent.id), ['bob', 'cy', 'dee']);
      assertFails(await inDir(dir, 'agents', 'show', 'ada'), 1, 'error[AGENT_NOT_FOUND]: ');
      assert.deepEqual(await inDir(dir, 'keys', 'agent:ada'), { code: 0, stdout: '', stderr: '' }, 'agent:ada state is cleared');

      const rt = await createRuntime({ dataDir: dir });
      try {
        assert.deepEqual(await rt.supervisors.deadLetters({ agentId: 'ada' }), []);
        assert.equal((await rt.supervisors.deadLetters({ agentId: 'bob' })).length, 3, "other agents' dead letters stay");
        assert.equal((await rt.events.query({ agentId: 'ada', kinds: ['agent.deleted'] })).length, 1);
      } finally {
        await rt.close();
      }
    });

    it('of an agent that never existed prints not found, exit 0, and changes nothing', async () => {
      const dir = copyOf(store);
      assert.deepEqual(await inDir(dir, 'agents', 'delete', 'nobody'), { code: 0, stdout: 'not found\n', stderr: '' });
      assert.deepEqual(JSON.parse((await inDir(dir, 'agents', 'list', '--json')).stdout), expected.list);
    });
  });

  describe('errors', () => {
    it('an invalid agent id is SCOPE_INVALID naming the rule, exit 1, before the store is opened', async () => {
      const dir = path.join(tempDir(), 'none');
      for (const command of ['show', 'delete']) {
        const result = await inDir(dir, 'agents', command, 'a/../b');
        assertFails(result, 1, 'error[SCOPE_INVALID]: ');
        assert.match(result.stderr, /\[rule: dot-segment\]/);
      }
      assert.ok(!fs.existsSync(dir));
    });

    it('refuse a directory without a store, and do not create one', async () => {
      const dir = path.join(tempDir(), 'typo');
      for (const args of [['list'], ['show', 'ada'], ['delete', 'ada']]) {
        assertFails(await inDir(dir, 'agents', ...args), 1, `error[STORAGE_FAILED]: There is no llmstate store in ${dir}`);
      }
      assert.ok(!fs.existsSync(dir));
    });

    it('a store held open by a running program is STORAGE_FAILED naming its LOCK', async () => {
      const dir = copyOf(store);
      const holder = await holdOpen(dir);
      try {
        const result = await inDir(dir, 'agents', 'list');
        assertFails(result, 1, 'error[STORAGE_FAILED]: ');
        assert.ok(result.stderr.includes(path.join(dir, 'db', 'LOCK')), result.stderr);
      } finally {
        await holder.stop();
      }
    });

    const usage: [string, string[], RegExp][] = [
      ['show without an id', ['show'], /^error: missing required argument 'id'\n\(run llmstate agents show --help for usage\)/],
      ['delete with two ids', ['delete', 'a', 'b'], /^error: too many arguments for 'delete'/],
      ['an unknown subcommand', ['frobnicate'], /^error: unknown command 'frobnicate'/],
      ['an invalid --events', ['show', 'ada', '--events', '-1'], /argument '-1' is invalid\. Expected a whole number of events/],
      ['no subcommand', [], /^Usage: llmstate agents .*\n[\s\S]*^ {2}list /m],
    ];
    for (const [what, args, message] of usage) {
      it(`usage error, exit 2: ${what}`, async () => {
        const result = await inDir(store, 'agents', ...args);
        assert.equal(result.code, 2, result.stderr);
        assert.equal(result.stdout, '');
        assert.match(result.stderr, message);
      });
    }

    it('--help lists the three subcommands', async () => {
      const result = await inDir(store, 'agents', '--help');
      assertSucceeds(result);
      for (const command of ['list', 'show', 'delete']) assert.match(result.stdout, new RegExp(`^  ${command} `, 'm'));
    });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
