import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setup } from 'xstate';
import { createRuntime } from '../../src/runtime.js';
import { Scope } from '../../src/state/Scope.js';
import type { HookDeadLetter, HookExecution } from '../../src/index.js';
import { assertBuilt, inDir, removeTempDirs, tempDir, type CliResult } from './runCli.js';

/**
 * Hostile text stored through the public API, then printed by every command and export of the CLI: an
 * ESC sequence, a C1 control, bidi controls and a newline must reach the terminal as `\u` escapes, and
 * never start a line of their own.
 */

/** Free text: agent types, tool and conversation names, message types, hook errors, values, paths. */
const HOSTILE = '\u001b[31mred\u009b2J\u202erlo\u2066\nforged';
const HOSTILE_SHOWN = '\\u001b[31mred\\u009b2J\\u202erlo\\u2066\\u000aforged';
/** Keys, scope ids and correlation ids refuse control characters, but not bidi or zero-width ones. */
const KEY = 'k\u202eyek\u2066\u200f\u061c\u200b';
const KEY_SHOWN = 'k\\u202eyek\\u2066\\u200f\\u061c\\u200b';
const AGENT = 'a\u202e1';
const AGENT_SHOWN = 'a\\u202e1';
const CORRELATION = 'c\u202e1';
const CORRELATION_SHOWN = 'c\\u202e1';

const FAILS = new URL('../fixtures/hooks/fails.mjs', import.meta.url);

/** Any character a terminal would act on, or that hides or reorders text, but the line feed. */
const RAW = /(?!\n)[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

/** Nothing raw on either stream, no line forged, and exit 0. */
function assertShownSafely(result: CliResult, what: string): void {
  assert.equal(result.code, 0, `${what}: exit code; stdout: ${result.stdout} stderr: ${result.stderr}`);
  for (const [stream, text] of [['stdout', result.stdout], ['stderr', result.stderr]]) {
    assert.ok(!RAW.test(text), `${what}: a raw character on ${stream}: ${JSON.stringify(text)}`);
    assert.ok(!text.split('\n').some((line) => line.startsWith('forged')), `${what}: a line forged on ${stream}: ${JSON.stringify(text)}`);
  }
}

const machine = setup({ types: { events: {} as { type: string } } }).createMachine({
  id: 'touchy',
  on: {
    '*': {
      actions: () => {
        throw new Error(`crashed on ${HOSTILE}`);
      },
    },
  },
});

/** Every kind of stored text the CLI prints, in a store whose own path is hostile too. */
async function prepareStore(dataDir: string): Promise<{ history: HookExecution[]; deadLetters: HookDeadLetter[] }> {
  const rt = await createRuntime({ dataDir });
  try {
    await rt.supervisors.create({ id: `team${KEY}`, strategy: 'one_for_one' }).ready();
    const agent = await rt.agents.spawn({
      id: AGENT,
      type: `type${HOSTILE}`,
      supervisor: `team${KEY}`,
      machine,
      tools: [{ name: `tool${HOSTILE}`, description: `description${HOSTILE}` }],
      config: { note: HOSTILE },
    });
    await agent.update({ conversation: [{ role: 'user', name: `name${HOSTILE}`, content: `content${HOSTILE}` }] });
    await assert.rejects(agent.send({ type: `message${HOSTILE}` }), { code: 'ACTOR_CRASHED' });

    await rt.hooks.register({ name: 'fails', module: FAILS, on: ['state.set'], maxAttempts: 1, backoff: { initialMs: 1, maxMs: 2 } });
    await rt.state.set(Scope.agent(AGENT), KEY, { fail: true, note: HOSTILE }, { correlationId: CORRELATION });
    await rt.hooks.idle();
    return JSON.parse(JSON.stringify({ history: await rt.hooks.history(), deadLetters: await rt.hooks.deadLetters() })) as {
      history: HookExecution[];
      deadLetters: HookDeadLetter[];
    };
  } finally {
    await rt.close();
  }
}

describe('llmstate shows hostile stored text escaped, in every command and export', function () {
  this.timeout(120_000);
  let store: string;
  let stored: Awaited<ReturnType<typeof prepareStore>>;

  before(async () => {
    assertBuilt();
    store = path.join(tempDir(), `store${HOSTILE}`);
    stored = await prepareStore(store);
  });
  after(() => removeTempDirs());

  it('the prepared store holds the hostile text', () => {
    assert.equal(stored.deadLetters.length, 1);
    assert.ok(stored.deadLetters[0].error?.message.includes(HOSTILE), JSON.stringify(stored.deadLetters));
    assert.equal(stored.history.length, 1);
  });

  it('keys: a key with bidi and zero-width characters cannot show as another key', async () => {
    const result = await inDir(store, 'keys', `agent:${AGENT}`);
    assertShownSafely(result, 'keys');
    assert.equal(result.stdout, `${KEY_SHOWN}\n`);
  });

  it('get: the value, as JSON that parses back to it', async () => {
    const result = await inDir(store, 'get', `agent:${AGENT}`, KEY);
    assertShownSafely(result, 'get');
    assert.deepEqual(JSON.parse(result.stdout), { fail: true, note: HOSTILE });
  });

  it('agents list: id, type and supervisor', async () => {
    const result = await inDir(store, 'agents', 'list');
    assertShownSafely(result, 'agents list');
    const row = result.stdout.split('\n')[1];
    assert.ok(row.startsWith(`${AGENT_SHOWN}  type${HOSTILE_SHOWN}  running  team${KEY_SHOWN}  `), row);
  });

  it('agents show: type, supervisor, tool, conversation name, dead-letter message type', async () => {
    const result = await inDir(store, 'agents', 'show', AGENT);
    assertShownSafely(result, 'agents show');
    const lines = result.stdout.split('\n');
    for (const expected of [
      `agent       ${AGENT_SHOWN}`,
      `type        type${HOSTILE_SHOWN}`,
      `supervisor  team${KEY_SHOWN}`,
      `tools       tool${HOSTILE_SHOWN} — description\\u001b[31mred\\u009b2J\\u202erlo\\u2066 forged`,
    ]) {
      assert.ok(lines.includes(expected), `${expected} in\n${result.stdout}`);
    }
    assert.ok(lines.some((line) => line.startsWith('  user name\\u001b[31mred')), result.stdout);
    assert.ok(lines.some((line) => line.includes(`  message${HOSTILE_SHOWN} {}`)), result.stdout);
  });

  it('agents show of a missing agent: the data directory in the error', async () => {
    const result = await inDir(store, 'agents', 'show', 'nobody');
    assert.equal(result.code, 1);
    assert.ok(result.stderr.startsWith('error[AGENT_NOT_FOUND]: '), result.stderr);
    assert.ok(result.stderr.includes(`store${HOSTILE_SHOWN}`), result.stderr);
    assertShownSafely({ ...result, code: 0 }, 'agents show nobody');
  });

  it('hooks list, history and dead-letters: the hook error and the data directory', async () => {
    for (const args of [['hooks', 'list'], ['hooks', 'history'], ['hooks', 'history', '--status', 'succeeded'], ['hooks', 'dead-letters']]) {
      assertShownSafely(await inDir(store, ...args), args.join(' '));
    }
    const letters = await inDir(store, 'hooks', 'dead-letters');
    assert.ok(letters.stdout.includes(`HOOK_FAILED: refused agent:${AGENT_SHOWN} ${KEY_SHOWN}: \\u001b[31mred`), letters.stdout);
    const none = await inDir(store, 'hooks', 'history', '--status', 'succeeded');
    assert.ok(none.stderr.includes(`store${HOSTILE_SHOWN}`), none.stderr);
  });

  it('hooks history and dead-letters --json: the same records, as JSON that parses back to them', async () => {
    const history = await inDir(store, 'hooks', 'history', '--json');
    assertShownSafely(history, 'hooks history --json');
    assert.deepEqual(JSON.parse(history.stdout), stored.history);
    const letters = await inDir(store, 'hooks', 'dead-letters', '--json');
    assertShownSafely(letters, 'hooks dead-letters --json');
    assert.deepEqual(JSON.parse(letters.stdout), stored.deadLetters);
  });

  it('timeline, in text, mermaid and html: keys, scopes and the correlation id', async () => {
    for (const format of ['text', 'mermaid', 'html']) {
      const result = await inDir(store, 'timeline', CORRELATION, '--format', format);
      assertShownSafely(result, `timeline --format ${format}`);
      assert.ok(result.stdout.includes(KEY_SHOWN), `${format}: ${result.stdout}`);
      assert.ok(result.stdout.includes(`agent:${AGENT_SHOWN}`), `${format}: ${result.stdout}`);
      if (format !== 'mermaid') assert.ok(result.stdout.includes(CORRELATION_SHOWN), `${format}: ${result.stdout}`);
    }
    const lines = (await inDir(store, 'timeline', CORRELATION)).stdout.split('\n');
    assert.ok(lines[0].startsWith(`timeline ${CORRELATION_SHOWN}: `), lines[0]);
    assert.ok(lines[1].includes(` state.set agent:${AGENT_SHOWN} ${KEY_SHOWN} [`), lines[1]);
    const mermaid = (await inDir(store, 'timeline', CORRELATION, '--format', 'mermaid')).stdout;
    assert.ok(mermaid.includes(` as agent:${AGENT_SHOWN}\n`) && mermaid.includes(`: state.set ${KEY_SHOWN} [`), mermaid);
  });

  it('timeline --format json: the same timeline, as JSON that parses back to it', async () => {
    const result = await inDir(store, 'timeline', CORRELATION, '--format', 'json');
    assertShownSafely(result, 'timeline --format json');
    const timeline = JSON.parse(result.stdout) as { correlationId: string; roots: { event: { key: string; value: unknown } }[] };
    assert.equal(timeline.correlationId, CORRELATION);
    assert.equal(timeline.roots[0].event.key, KEY);
  });

  it('timeline --output: the file is escaped as printed, and the note escapes its path', async () => {
    const out = path.join(tempDir(), `story${HOSTILE}.html`);
    const result = await inDir(store, 'timeline', CORRELATION, '--format', 'html', '--output', out);
    assertShownSafely(result, 'timeline --output');
    assert.ok(result.stderr.includes(`timeline of ${CORRELATION_SHOWN} `) && result.stderr.includes(`story${HOSTILE_SHOWN}.html`), result.stderr);
    const page = fs.readFileSync(out, 'utf8');
    assert.ok(!RAW.test(page), JSON.stringify(page));
    assert.ok(page.includes(`<span class="key">${KEY_SHOWN}</span>`), page);
  });

  it('an error that names the data directory stays on one line', async () => {
    const missing = path.join(tempDir(), `missing${HOSTILE}`);
    const result = await inDir(missing, 'keys', 'global');
    assert.equal(result.code, 1);
    assert.equal(result.stderr.split('\n').length, 2, JSON.stringify(result.stderr));
    assert.ok(result.stderr.startsWith(`error[STORAGE_FAILED]: There is no llmstate store in ${missing.replace(HOSTILE, HOSTILE_SHOWN)}`), result.stderr);
    assertShownSafely({ ...result, code: 0 }, 'keys on a missing store');
  });

  it('stats: the data directory', async () => {
    const result = await inDir(store, 'stats');
    assertShownSafely(result, 'stats');
    assert.ok(result.stdout.startsWith(`data dir          ${store.replace(HOSTILE, HOSTILE_SHOWN)}\n`), result.stdout);
  });

  it('verify, and a note about a store without agents or hooks: the data directory', async () => {
    const empty = path.join(tempDir(), `empty${HOSTILE}`);
    assert.equal((await inDir(empty, 'set', 'global', 'k', '1')).code, 0);
    const verify = await inDir(empty, 'verify');
    assertShownSafely(verify, 'verify');
    assert.ok(verify.stdout.startsWith(`store      ${empty.replace(HOSTILE, HOSTILE_SHOWN)}/db\n`), verify.stdout);
    for (const args of [['agents', 'list'], ['hooks', 'list'], ['hooks', 'dead-letters', '--hook', `h${HOSTILE}`]]) {
      const result = await inDir(empty, ...args);
      assertShownSafely(result, args.join(' '));
      assert.ok(result.stderr.includes(`empty${HOSTILE_SHOWN}`), result.stderr);
    }
  });
});
