import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { Scope } from '../../src/state/Scope.js';
import type { HookDeadLetter, HookExecution, ReplayResult } from '../../src/index.js';
import { formatDiffOp, formatHistory } from '../../src/cli/hookCommands.js';
import { stylesFor } from '../../src/cli/output.js';
import { assertBuilt, assertFails, assertSucceeds, inDir, llmstateProcess, removeTempDirs, tempDir } from './runCli.js';

const SUMMARISE = new URL('../fixtures/hooks/summarise.mjs', import.meta.url);
const FAILS = new URL('../fixtures/hooks/fails.mjs', import.meta.url);
const PRINTS = new URL('../fixtures/hooks/prints.mjs', import.meta.url);

/** Correlation ids of the prepared store's writes, and what the store holds, read back through the API. */
interface Prepared {
  /** agent:a1 topic, under a correlation of its own: summarise runs and writes agent:a1 summary. */
  weather: string;
  /** agent:a2 topic, under an id given with the write. */
  sun: string;
  /** Newest first, as JSON data. */
  history: HookExecution[];
  deadLetters: HookDeadLetter[];
}

function registerSummarise(rt: Runtime): Promise<unknown> {
  return rt.hooks.register({ name: 'summarise', module: SUMMARISE, on: ['state.set'], filter: { keyPrefix: 'topic' } });
}

/**
 * A store with two hooks that have run, then closed:
 * - summarise (priority 0): on each `topic`, writes `summary` beside it; ran for agent:a1 and agent:a2.
 * - fails (priority 5): on workflow writes; refused workflow:w1 status twice, so it was dead-lettered.
 */
async function prepareStore(dataDir: string): Promise<Prepared> {
  const rt = await createRuntime({ dataDir });
  try {
    await registerSummarise(rt);
    await rt.hooks.register({
      name: 'fails',
      module: FAILS,
      on: ['state.set'],
      filter: { scopeKinds: ['workflow'] },
      maxAttempts: 2,
      backoff: { initialMs: 1, maxMs: 2 },
      priority: 5,
    });
    // Idle after each write, so that every execution takes exactly one event.
    const { correlationId: weather } = await rt.correlate(() => rt.state.set(Scope.agent('a1'), 'topic', { name: 'weather' }));
    await rt.hooks.idle();
    await rt.state.set(Scope.agent('a2'), 'topic', { name: 'sun' }, { correlationId: 'story-sun' });
    await rt.hooks.idle();
    await rt.state.set(Scope.workflow('w1'), 'status', { fail: true });
    await rt.hooks.idle();
    return JSON.parse(
      JSON.stringify({ weather, sun: 'story-sun', history: await rt.hooks.history({ newestFirst: true }), deadLetters: await rt.hooks.deadLetters() }),
    ) as Prepared;
  } finally {
    await rt.close();
  }
}

/** Opens a store without delivering hooks, for a look through the API. */
async function inspect<T>(dataDir: string, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const rt = await createRuntime({ dataDir, hooks: { autoStart: false } });
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

/** The rows of a table printed by the CLI, each split into its cells; the header is checked and left out. */
function tableRows(stdout: string, header: RegExp): string[][] {
  const lines = stdout.trimEnd().split('\n');
  assert.match(lines[0], header);
  return lines.slice(1).map((line) => line.split(/ +/));
}

const HISTORY_HEADER = /^TIME +HOOK +STATUS +ATTEMPT +DURATION +EXECUTION +EVENTS +ERROR +REPLAY_OF$/;

/** What each history line says, from the record it stands for. */
function historyRow(execution: HookExecution): string[] {
  return [
    new Date(execution.startedAt).toISOString(),
    execution.hookName,
    execution.status,
    String(execution.attempt),
    // The duration is checked for shape only: its rounding is the formatter's business.
    '<duration>',
    execution.executionId,
    execution.eventIds.join(','),
    execution.error?.code ?? '-',
    execution.replayOf ?? '-',
  ];
}

function withDurationShape(row: string[]): string[] {
  assert.match(row[4], /^\d+(\.\d+)?ms$/, `duration cell of ${row.join(' ')}`);
  return [...row.slice(0, 4), '<duration>', ...row.slice(5)];
}

describe('llmstate hooks and timeline', function () {
  this.timeout(60_000);
  let store: string;
  let prepared: Prepared;

  before(async () => {
    assertBuilt();
    // Not a tempDir(): those go after each test, and this store serves them all.
    store = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstate-hooks-'));
    prepared = await prepareStore(store);
  });
  after(() => removeTempDirs(store));
  afterEach(() => removeTempDirs());

  /** A copy of the prepared store, for a test that changes it. */
  function copyOfStore(): string {
    const copy = tempDir();
    fs.cpSync(store, copy, { recursive: true });
    return copy;
  }

  const byHook = (name: string) => prepared.history.filter((execution) => execution.hookName === name);

  it('the prepared store holds what the test expects', () => {
    assert.deepEqual(
      prepared.history.map(({ hookName, status, attempt, error }) => ({ hookName, status, attempt, error: error?.code })),
      [
        { hookName: 'fails', status: 'failed', attempt: 2, error: 'HOOK_FAILED' },
        { hookName: 'fails', status: 'failed', attempt: 1, error: 'HOOK_FAILED' },
        { hookName: 'summarise', status: 'succeeded', attempt: 1, error: undefined },
        { hookName: 'summarise', status: 'succeeded', attempt: 1, error: undefined },
      ],
    );
    assert.deepEqual(prepared.deadLetters.map(({ hookName, reason, attempts }) => ({ hookName, reason, attempts })), [
      { hookName: 'fails', reason: 'attempts_exhausted', attempts: 2 },
    ]);
  });

  describe('hooks list', () => {
    it('prints a table, highest priority first, with the outcomes recorded in the store and the p95', async () => {
      const result = await inDir(store, 'hooks', 'list');
      assertSucceeds(result);
      const rows = tableRows(
        result.stdout,
        /^NAME +ON +PRIORITY +BREAKER +PENDING +IN_FLIGHT +SUCCEEDED +FAILED +TIMED_OUT +DEAD_LETTERED +P95 +DISABLED$/,
      );
      assert.deepEqual(rows, [
        ['fails', 'state.set', '5', 'closed', '0', '0', '0', '2', '0', '1', '-', 'no'],
        ['summarise', 'state.set', '0', 'closed', '0', '0', '2', '0', '0', '0', rows[1][10], 'no'],
      ]);
      const slowest = Math.max(...byHook('summarise').map((execution) => execution.durationMs));
      assert.match(rows[1][10], /^\d+(\.\d+)?ms$/);
      assert.ok(Math.abs(parseFloat(rows[1][10]) - slowest) < 0.06, `p95 of two durations is the slower one, ${slowest} ms: ${rows[1][10]}`);
    });

    it('--json prints each hook with its definition, live status, recorded outcomes and dead-lettered events', async () => {
      const result = await inDir(store, 'hooks', 'list', '--json');
      assertSucceeds(result);
      const listings = JSON.parse(result.stdout) as Record<string, unknown>[];
      assert.deepEqual(
        listings.map(({ name, breaker, pending, inFlight, deadLettered, recorded }) => ({ name, breaker, pending, inFlight, deadLettered, recorded })),
        [
          { name: 'fails', breaker: 'closed', pending: 0, inFlight: 0, deadLettered: 1, recorded: { executions: 2, succeeded: 0, failed: 2, timedOut: 0 } },
          {
            name: 'summarise',
            breaker: 'closed',
            pending: 0,
            inFlight: 0,
            deadLettered: 0,
            recorded: {
              executions: 2,
              succeeded: 2,
              failed: 0,
              timedOut: 0,
              p50Ms: Math.min(...byHook('summarise').map((execution) => execution.durationMs)),
              p95Ms: Math.max(...byHook('summarise').map((execution) => execution.durationMs)),
            },
          },
        ],
      );
      const definition = listings[1].definition as { module: string; filter: unknown; on: string[] };
      assert.deepEqual({ module: definition.module, filter: definition.filter, on: definition.on }, { module: SUMMARISE.href, filter: { keyPrefix: 'topic' }, on: ['state.set'] });
    });

    it('names a disabled hook, with its reason, in the last column', async () => {
      const dataDir = copyOfStore();
      await inspect(dataDir, (rt) => rt.hooks.disable('summarise', 'too slow for the  demo'));
      const result = await inDir(dataDir, 'hooks', 'list');
      assertSucceeds(result);
      const lines = result.stdout.trimEnd().split('\n');
      assert.match(lines[1], /^fails .* no$/);
      assert.match(lines[2], /^summarise .* yes: too slow for the demo$/);
      const json = JSON.parse((await inDir(dataDir, 'hooks', 'list', '--json')).stdout) as { disabled?: { reason: string } }[];
      assert.deepEqual(json.map((hook) => hook.disabled?.reason), [undefined, 'too slow for the  demo']);
    });

    it('notes on stderr when no hook is registered, and refuses a directory without a store', async () => {
      const empty = tempDir();
      assertSucceeds(await inDir(empty, 'set', 'global', 'k', '1'));
      const none = await inDir(empty, 'hooks', 'list');
      assert.deepEqual({ code: none.code, stdout: none.stdout }, { code: 0, stdout: '' });
      assert.match(none.stderr, /^no hooks are registered in /);
      assertFails(await inDir(tempDir(), 'hooks', 'list'), 1, 'error[STORAGE_FAILED]: There is no llmstate store in ');
    });
  });

  describe('hooks history', () => {
    it('prints one line per execution, newest first: time, hook, status, attempt, duration, id, events, error', async () => {
      const result = await inDir(store, 'hooks', 'history');
      assertSucceeds(result);
      const rows = tableRows(result.stdout, HISTORY_HEADER).map(withDurationShape);
      assert.deepEqual(rows, prepared.history.map(historyRow));
      assert.deepEqual(rows.map((row) => row[5]), rows.map((row) => row[5]).sort().reverse(), 'newest first');
    });

    it('--json prints the full records, input and result included', async () => {
      const result = await inDir(store, 'hooks', 'history', '--json');
      assertSucceeds(result);
      assert.deepEqual(JSON.parse(result.stdout), prepared.history);
      const weather = prepared.history.find((execution) => execution.correlationId === prepared.weather)!;
      assert.deepEqual((weather.input as { value: unknown }[]).map((event) => event.value), [{ name: 'weather' }]);
      assert.deepEqual(weather.result, {
        output: { names: ['weather'] },
        actions: [{ type: 'set', scope: 'agent:a1', key: 'summary', value: { name: 'weather', by: 'summarise' } }],
      });
    });

    it('--hook, --correlation, --status and --limit select executions, and combine', async () => {
      const ids = async (...args: string[]) => {
        const result = await inDir(store, 'hooks', 'history', '--json', ...args);
        assertSucceeds(result);
        return (JSON.parse(result.stdout) as HookExecution[]).map((execution) => execution.executionId);
      };
      const idsOf = (select: (execution: HookExecution) => boolean) => prepared.history.filter(select).map((execution) => execution.executionId);
      assert.deepEqual(await ids('--hook', 'summarise'), idsOf((e) => e.hookName === 'summarise'));
      assert.deepEqual(await ids('--correlation', prepared.sun), idsOf((e) => e.correlationId === prepared.sun));
      assert.equal((await ids('--correlation', prepared.sun)).length, 1);
      assert.deepEqual(await ids('--status', 'failed'), idsOf((e) => e.status === 'failed'));
      assert.deepEqual(await ids('--limit', '1'), [prepared.history[0].executionId]);
      assert.deepEqual(await ids('--hook', 'summarise', '--limit', '1'), idsOf((e) => e.hookName === 'summarise').slice(0, 1));
      assert.deepEqual(await ids('--status', 'timed_out'), []);

      const text = await inDir(store, 'hooks', 'history', '--hook', 'summarise', '--correlation', prepared.weather);
      assertSucceeds(text);
      assert.deepEqual(tableRows(text.stdout, HISTORY_HEADER).map(withDurationShape), prepared.history.filter((e) => e.correlationId === prepared.weather).map(historyRow));
    });

    it('notes on stderr when nothing matches, and exits 0', async () => {
      const result = await inDir(store, 'hooks', 'history', '--hook', 'fails', '--status', 'succeeded');
      assert.deepEqual({ code: result.code, stdout: result.stdout }, { code: 0, stdout: '' });
      assert.match(result.stderr, /^no recorded hook executions match in /);
    });

    it('a bad --status, --limit or --correlation is a usage error, exit 2', async () => {
      const status = await inDir(store, 'hooks', 'history', '--status', 'broken');
      assertFails(status, 2, "error: option '--status <status>' argument 'broken' is invalid. Allowed choices are succeeded, failed, timed_out.");
      for (const limit of ['0', '-1', '2.5', 'ten']) {
        assertFails(await inDir(store, 'hooks', 'history', '--limit', limit), 2, `error: option '--limit <n>' argument '${limit}' is invalid. Expected a positive whole number`);
      }
      assertFails(await inDir(store, 'hooks', 'history', '--correlation', 'a\tb'), 2, "error: option '--correlation <id>' argument");
    });
  });

  describe('hooks replay', () => {
    const weatherRun = () => prepared.history.find((execution) => execution.correlationId === prepared.weather)!;

    it('prints equal, exit 0, and records the replay without applying its actions', async () => {
      const dataDir = copyOfStore();
      const { executionId } = weatherRun();
      const result = await inDir(dataDir, 'hooks', 'replay', executionId);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, 'equal\n');
      const note = new RegExp(`^replayed ${executionId} as (\\w+): succeeded in \\d+(\\.\\d+)?ms\\n$`).exec(result.stderr);
      assert.ok(note !== null, result.stderr);

      const { replay, summary } = await inspect(dataDir, async (rt) => ({
        replay: await rt.hooks.execution(note[1]),
        summary: await rt.state.get(Scope.agent('a1'), 'summary'),
      }));
      assert.equal(replay?.replayOf, executionId);
      assert.deepEqual(replay?.result, weatherRun().result);
      assert.deepEqual(summary, { name: 'weather', by: 'summarise' }, 'the action was captured, not applied');

      const history = await inDir(dataDir, 'hooks', 'history', '--limit', '1');
      assert.deepEqual(tableRows(history.stdout, HISTORY_HEADER)[0].slice(-1), [executionId], 'the history line names what it replayed');
    });

    it('--patch changes the input and prints each difference on one line; a difference is not a failure', async () => {
      const dataDir = copyOfStore();
      const result = await inDir(dataDir, 'hooks', 'replay', weatherRun().executionId, '--patch', '{"value":{"name":"rain"}}');
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, ['replace /result/actions/0/value/name: "weather" → "rain"', 'replace /result/output/names/0: "weather" → "rain"', ''].join('\n'));
      assert.deepEqual(await inspect(dataDir, (rt) => rt.state.get(Scope.agent('a1'), 'summary')), { name: 'weather', by: 'summarise' });

      const jsonPatch = '[{"op":"replace","path":"/0/value","value":{"name":"fog","extra":1}}]';
      const json = await inDir(dataDir, 'hooks', 'replay', weatherRun().executionId, '--patch', jsonPatch, '--json');
      assertSucceeds(json);
      const replay = JSON.parse(json.stdout) as ReplayResult;
      assert.equal(replay.equal, false);
      assert.deepEqual(replay.original, weatherRun());
      assert.equal(replay.replayed.replayOf, weatherRun().executionId);
      assert.deepEqual(replay.diff, [
        { op: 'replace', path: '/result/actions/0/value/name', value: 'fog' },
        { op: 'replace', path: '/result/output/names/0', value: 'fog' },
      ]);
    });

    it('a replay of a failed execution that fails the same way is equal', async () => {
      const dataDir = copyOfStore();
      const failed = prepared.history.find((execution) => execution.hookName === 'fails')!;
      const result = await inDir(dataDir, 'hooks', 'replay', failed.executionId);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, 'equal\n');
      assert.match(result.stderr, / failed in \d+(\.\d+)?ms \(HOOK_FAILED\)\n$/);
      const fixed = await inDir(dataDir, 'hooks', 'replay', failed.executionId, '--patch', '{"value":{"fail":false}}');
      assert.equal(fixed.code, 0, fixed.stderr);
      assert.equal(
        fixed.stdout,
        ['replace /status: "failed" → "succeeded"', 'replace /result: null → {"output":{"accepted":1}}', 'replace /error: {"code":"HOOK_FAILED","message":"refused workflow:w1 status"} → null', ''].join('\n'),
      );
    });

    it('--patch that is not JSON is a usage error, exit 2, and nothing is replayed', async () => {
      const dataDir = copyOfStore();
      const result = await inDir(dataDir, 'hooks', 'replay', weatherRun().executionId, '--patch', '{"value":');
      assertFails(result, 2, `error: option '--patch <json>' argument '{"value":' is invalid. The patch is not valid JSON: `);
      assert.match(result.stderr, /\(run llmstate hooks replay --help for usage\)/);
      assert.equal((await inspect(dataDir, (rt) => rt.hooks.history({ replays: 'only' }))).length, 0);
    });

    it('a patch that does not apply is error[VALUE_INVALID], exit 1', async () => {
      const dataDir = copyOfStore();
      const missing = await inDir(dataDir, 'hooks', 'replay', weatherRun().executionId, '--patch', '[{"op":"replace","path":"/5/value","value":1}]');
      assertFails(missing, 1, 'error[VALUE_INVALID]: ');
      const scalar = await inDir(dataDir, 'hooks', 'replay', weatherRun().executionId, '--patch', '42');
      assertFails(scalar, 1, 'error[VALUE_INVALID]: ');
      assert.match(scalar.stderr, /expected an array of RFC 6902 operations or a merge-patch object, got number/);
    });

    it('an unknown execution is error[HOOK_FAILED], exit 1', async () => {
      const result = await inDir(copyOfStore(), 'hooks', 'replay', 'no-such-execution');
      assertFails(result, 1, 'error[HOOK_FAILED]: No hook execution no-such-execution is recorded');
    });
  });

  it('what a hook prints goes to stderr, so that the JSON on stdout stays whole (the binary itself)', async () => {
    const dir = tempDir();
    const rt = await createRuntime({ dataDir: dir });
    try {
      await rt.hooks.register({ name: 'prints', module: PRINTS, on: ['state.set'] });
      await rt.state.set(Scope.agent('a1'), 'k', 1);
      await rt.hooks.idle();
    } finally {
      await rt.close();
    }
    const [execution] = await historyOf(dir);
    // The worker's output reaches a child's own stdout and stderr, which is what this test reads.
    const result = await llmstateProcess(['--data-dir', dir, 'hooks', 'replay', execution, '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as ReplayResult).equal, true);
    assert.match(result.stderr, /prints\.mjs loaded\n[^]*prints\.mjs ran on 1 event\(s\)\n/);
  });

  describe('arguments and stored text', () => {
    it('an empty execution id or hook name is a usage error, exit 2, checked before the store is opened', async () => {
      const missing = path.join(tempDir(), 'no-store-here');
      assertFails(await inDir(missing, 'hooks', 'replay', ''), 2, "error: command-argument value '' is invalid for argument 'executionId'. Expected an execution id, got an empty string.");
      assertFails(await inDir(missing, 'hooks', 'redeliver', ''), 2, "error: command-argument value '' is invalid for argument 'name'. Expected a hook name, got an empty string.");
      for (const command of ['history', 'dead-letters']) {
        assertFails(await inDir(missing, 'hooks', command, '--hook', ''), 2, "error: option '--hook <name>' argument '' is invalid. Expected a hook name, got an empty string.");
      }
    });

    it('prints stored text with control characters escaped, so a terminal never acts on them', async () => {
      const dataDir = tempDir();
      const rt = await createRuntime({ dataDir });
      try {
        await rt.hooks.register({ name: 'fails', module: FAILS, on: ['state.set'], maxAttempts: 1 });
        await rt.state.set(Scope.workflow('w1'), 'status', { fail: true, note: '\u001b[2J\u001b]0;pwned\u0007' });
        await rt.hooks.idle();
        await rt.hooks.disable('fails', 'off \u001b[31mred');
      } finally {
        await rt.close();
      }
      const letters = await inDir(dataDir, 'hooks', 'dead-letters');
      const list = await inDir(dataDir, 'hooks', 'list');
      for (const result of [letters, list]) {
        assertSucceeds(result);
        assert.ok(!/[\u0000-\u0008\u000b-\u001f]/.test(result.stdout), JSON.stringify(result.stdout));
      }
      assert.ok(letters.stdout.includes('refused workflow:w1 status: \\u001b[2J\\u001b]0;pwned\\u0007'), letters.stdout);
      assert.ok(list.stdout.includes('off \\u001b[31mred'), list.stdout);
    });
  });

  describe('redaction of what the commands print', () => {
    it('dead-letters, history and timeline print secrets redacted, as the API shows them; the store keeps them', async () => {
      const dataDir = tempDir();
      // Assembled at run time so that secret scanners do not flag this file.
      const jwt = 'eyJhbGciOiJIUzI1NiJ9' + '.' + 'eyJzdWIiOiJjbGkifQ' + '.' + 'c2lnbmF0dXJlLWNsaQ';
      const sshKey = 'plain-ssh-' + 'key-5f0c2a';
      const token = 'sk-' + 'cliS3cr3tTokenForTheTests012345';
      const rt = await createRuntime({ dataDir });
      try {
        await rt.hooks.register({ name: 'fails', module: FAILS, on: ['state.set'], maxAttempts: 1 });
        await rt.state.set(Scope.workflow('w1'), 'status', { fail: true, ssh_key: sshKey, note: `id_token_${jwt} key=${token}` }, { correlationId: jwt });
        await rt.hooks.idle();
      } finally {
        await rt.close();
      }
      const printed = [
        await inDir(dataDir, 'hooks', 'dead-letters', '--json'),
        await inDir(dataDir, 'hooks', 'dead-letters'),
        await inDir(dataDir, 'hooks', 'history', '--json'),
        await inDir(dataDir, 'timeline', jwt, '--format', 'json'),
        await inDir(dataDir, 'timeline', jwt),
      ];
      for (const result of printed) {
        assertSucceeds(result);
        for (const secret of [jwt, sshKey, token]) assert.ok(!result.stdout.includes(secret), result.stdout);
      }
      const [letter] = JSON.parse(printed[0].stdout) as HookDeadLetter[];
      assert.deepEqual((letter.events[0] as { value: unknown }).value, { fail: true, ssh_key: '[REDACTED]', note: 'id_token_[REDACTED] key=[REDACTED]' });
      assert.equal(await inspect(dataDir, (reopened) => reopened.state.get(Scope.workflow('w1'), 'status')).then((value) => (value as { ssh_key: string }).ssh_key), sshKey);
    });
  });

  describe('hooks dead-letters and redeliver', () => {
    it('dead-letters prints one line per batch: time, hook, reason, attempts, events, error', async () => {
      const result = await inDir(store, 'hooks', 'dead-letters');
      assertSucceeds(result);
      const lines = result.stdout.trimEnd().split('\n');
      assert.match(lines[0], /^TIME +HOOK +REASON +ATTEMPTS +EVENTS +ERROR$/);
      const [letter] = prepared.deadLetters;
      assert.deepEqual(lines.slice(1), [
        `${new Date(letter.at).toISOString()}  fails  attempts_exhausted         2  ${letter.eventIds.join(',').padEnd('EVENTS'.length)}  HOOK_FAILED: refused workflow:w1 status`,
      ]);

      const json = await inDir(store, 'hooks', 'dead-letters', '--hook', 'fails', '--json');
      assertSucceeds(json);
      assert.deepEqual(JSON.parse(json.stdout), prepared.deadLetters);
      const none = await inDir(store, 'hooks', 'dead-letters', '--hook', 'summarise');
      assert.deepEqual({ code: none.code, stdout: none.stdout }, { code: 0, stdout: '' });
      assert.match(none.stderr, /^no hook dead letters for summarise in /);
    });

    it('redeliver moves the dead letters back to the outbox without running the hook', async () => {
      const dataDir = copyOfStore();
      const result = await inDir(dataDir, 'hooks', 'redeliver', 'fails');
      assertSucceeds(result);
      assert.equal(result.stdout, '1 event back in the outbox of fails\n');
      const after = await inspect(dataDir, async (rt) => ({
        pending: rt.hooks.get('fails')?.pending,
        letters: await rt.hooks.deadLetters(),
        executions: (await rt.hooks.history({ hookName: 'fails' })).length,
      }));
      assert.deepEqual(after, { pending: 1, letters: [], executions: 2 });
      const list = tableRows((await inDir(dataDir, 'hooks', 'list')).stdout, /^NAME/);
      assert.deepEqual(list[0].slice(0, 5).concat(list[0][9]), ['fails', 'state.set', '5', 'closed', '1', '0']);

      assert.equal((await inDir(dataDir, 'hooks', 'redeliver', 'fails')).stdout, '0 events back in the outbox of fails\n');
      assertFails(await inDir(dataDir, 'hooks', 'redeliver', 'nope'), 1, 'error[HOOK_FAILED]: The hook nope is not registered');
    });

    it('disable stops a hook with its reason, enable runs it again, and an unknown name exits 1', async () => {
      const dataDir = copyOfStore();
      const disabled = await inDir(dataDir, 'hooks', 'disable', 'summarise', '--reason', 'too costly tonight');
      assertSucceeds(disabled);
      assert.equal(disabled.stdout, 'disabled summarise\n');
      assert.equal(await inspect(dataDir, async (rt) => rt.hooks.get('summarise')?.disabled?.reason), 'too costly tonight');
      assert.match((await inDir(dataDir, 'hooks', 'list')).stdout, /summarise .*too costly tonight/);

      const enabled = await inDir(dataDir, 'hooks', 'enable', 'summarise');
      assertSucceeds(enabled);
      assert.equal(enabled.stdout, 'enabled summarise\n');
      assert.equal(await inspect(dataDir, async (rt) => rt.hooks.get('summarise')?.disabled), undefined);

      for (const verb of ['disable', 'enable']) {
        const refused = await inDir(dataDir, 'hooks', verb, 'nope');
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, /no hook nope is registered in .*llmstate hooks list lists them/);
      }
    });
  });

  describe('timeline', () => {
    it('prints the text tree: the write, the hook it triggered, and the write of its action', async () => {
      const result = await inDir(store, 'timeline', prepared.weather);
      assertSucceeds(result);
      const run = prepared.history.find((execution) => execution.correlationId === prepared.weather)!;
      const lines = result.stdout.split('\n');
      assert.equal(lines.pop(), '', 'ends with one newline');
      assert.equal(lines.length, 4, result.stdout);
      assert.equal(lines[0], `timeline ${prepared.weather}: 2 events, 1 hook execution`);
      assert.match(lines[1], new RegExp(`^└─ \\d\\d:\\d\\d:\\d\\d\\.\\d{3} state\\.set agent:a1 topic \\[${run.eventIds[0].replace('.', '\\.')}\\]$`));
      assert.match(lines[2], new RegExp(`^ {3}└─ hook summarise attempt 1 succeeded \\([\\d.]+ ms\\) \\[${run.executionId}\\]$`));
      assert.match(lines[3], /^ {6}└─ \d\d:\d\d:\d\d\.\d{3} state\.set agent:a1 summary \[\d+\.\d+\]$/);
    });

    it('prints mermaid, json and html', async () => {
      const mermaid = await inDir(store, 'timeline', prepared.weather, '--format', 'mermaid');
      assertSucceeds(mermaid);
      assert.ok(mermaid.stdout.startsWith('sequenceDiagram\n'), mermaid.stdout);
      assert.match(mermaid.stdout, /->>.*: state\.set topic /);

      const json = await inDir(store, 'timeline', prepared.sun, '--format', 'json');
      assertSucceeds(json);
      const timeline = JSON.parse(json.stdout) as { correlationId: string; eventCount: number; executionCount: number; roots: { type: string; children: { type: string }[] }[] };
      assert.deepEqual(
        { correlationId: timeline.correlationId, eventCount: timeline.eventCount, executionCount: timeline.executionCount, roots: timeline.roots.length },
        { correlationId: 'story-sun', eventCount: 2, executionCount: 1, roots: 1 },
      );
      assert.deepEqual(timeline.roots[0].children.map((child) => child.type), ['execution']);

      const html = await inDir(store, 'timeline', prepared.weather, '--format', 'html');
      assertSucceeds(html);
      assert.match(html.stdout, /<html/i);
      assert.ok(html.stdout.includes(prepared.weather), 'the page names the correlation');
      assert.ok(html.stdout.endsWith('</html>\n'), html.stdout.slice(-40));
    });

    it('--output writes the export to a file and notes where', async () => {
      const dir = tempDir();
      for (const format of ['text', 'html', 'json']) {
        const file = path.join(dir, `story.${format}`);
        const written = await inDir(store, 'timeline', prepared.weather, '--format', format, '--output', file);
        assert.equal(written.code, 0, written.stderr);
        assert.equal(written.stdout, '');
        assert.equal(written.stderr, `wrote the ${format} timeline of ${prepared.weather} (2 events, 1 hook execution) to ${file}\n`);
        const printed = await inDir(store, 'timeline', prepared.weather, '--format', format);
        assert.equal(fs.readFileSync(file, 'utf8'), printed.stdout);
      }
    });

    it('an unknown format is a usage error, exit 2; an unknown correlation fails, exit 1', async () => {
      const format = await inDir(store, 'timeline', prepared.weather, '--format', 'pdf');
      assertFails(format, 2, "error: option '--format <format>' argument 'pdf' is invalid. Allowed choices are text, mermaid, json, html.");
      const unknown = await inDir(store, 'timeline', 'no-such-story');
      assertFails(unknown, 1, `nothing is recorded under correlation id no-such-story in ${store}`);
      assertFails(await inDir(tempDir(), 'timeline', prepared.weather), 1, 'error[STORAGE_FAILED]: ');
    });
  });

  describe('never runs hooks as a side effect', () => {
    it('read-only commands leave pending hook work pending, unrun and unrecorded', async () => {
      const dataDir = tempDir();
      const correlationId = await inspect(dataDir, async (rt) => {
        await registerSummarise(rt);
        return (await rt.correlate(() => rt.state.set(Scope.agent('a1'), 'topic', { name: 'waiting' }))).correlationId;
      });
      const before = await inspect(dataDir, async (rt) => rt.hooks.get('summarise')?.pending);
      assert.equal(before, 1, 'the write left its hook execution pending');

      const list = await inDir(dataDir, 'hooks', 'list');
      assertSucceeds(list);
      assert.deepEqual(tableRows(list.stdout, /^NAME/)[0].slice(0, 10), ['summarise', 'state.set', '0', 'closed', '1', '0', '0', '0', '0', '0']);
      for (const args of [
        ['hooks', 'history'],
        ['hooks', 'dead-letters'],
        ['timeline', correlationId],
        ['keys', 'agent:a1'],
        ['get', 'agent:a1', 'topic'],
        ['stats'],
      ]) {
        const result = await inDir(dataDir, ...args);
        assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
      }
      const timeline = await inDir(dataDir, 'timeline', correlationId);
      assert.equal(timeline.stdout.split('\n')[0], `timeline ${correlationId}: 1 event, 0 hook executions`);

      const after = await inspect(dataDir, async (rt) => ({
        pending: rt.hooks.get('summarise')?.pending,
        executions: (await rt.hooks.history()).length,
        summary: await rt.state.get(Scope.agent('a1'), 'summary'),
      }));
      assert.deepEqual(after, { pending: 1, executions: 0, summary: undefined });
    });
  });

  describe('formatting', () => {
    const plain = stylesFor({ isTTY: false } as NodeJS.WriteStream);

    it('a history line shows the first three event ids and counts the rest', () => {
      const [, line] = formatHistory(
        [
          {
            executionId: '0mwvh3tk8lcbxoji984',
            hookName: 'batcher',
            correlationId: 'c',
            correlationIds: ['c'],
            causationId: '1.0',
            eventIds: ['1.0', '2.0', '3.0', '4.0', '4.1'],
            attempt: 3,
            status: 'timed_out',
            input: [],
            error: { code: 'HOOK_TIMEOUT', message: 'ran past its 50 ms limit' },
            startedAt: Date.UTC(2025, 0, 2, 3, 4, 5, 6),
            durationMs: 1520.4,
            priority: 0,
          },
        ],
        plain,
      );
      assert.equal(line, '2025-01-02T03:04:05.006Z  batcher  timed_out        3    1520ms  0mwvh3tk8lcbxoji984  1.0,2.0,3.0,…+2  HOOK_TIMEOUT  -');
    });

    it('a diff line shows what was replaced or removed, looked up in the original outcome', () => {
      const before = { status: 'succeeded', result: { output: { 'a/b': [1, 2], 'c~d': 'x' } }, error: null };
      assert.equal(formatDiffOp({ op: 'replace', path: '/result/output/a~1b/1', value: 3 }, before), 'replace /result/output/a~1b/1: 2 → 3');
      assert.equal(formatDiffOp({ op: 'remove', path: '/result/output/c~0d' }, before), 'remove /result/output/c~0d (was "x")');
      assert.equal(formatDiffOp({ op: 'add', path: '/result/actions', value: [] }, before), 'add /result/actions: []');
      assert.equal(formatDiffOp({ op: 'move', from: '/a', path: '/b' }, before), 'move /a → /b');
      assert.equal(formatDiffOp({ op: 'replace', path: '/nowhere', value: 1 }, before), 'replace /nowhere: (nothing) → 1');
    });
  });
});

async function historyOf(dataDir: string): Promise<string[]> {
  const rt = await createRuntime({ dataDir });
  try {
    return (await rt.hooks.history()).map((execution) => execution.executionId);
  } finally {
    await rt.close();
  }
}
