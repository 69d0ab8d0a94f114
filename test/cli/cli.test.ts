import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { decodeCommitRecord, decodeSeqKey, type LoggedEvent } from '../../src/events/eventLog.js';
import { createRuntime, storageOf } from '../../src/runtime.js';
import { assertBuilt, assertFails, assertSucceeds, assertPlain, inDir, holdOpen, llmstate, PROJECT_ROOT, removeTempDirs, tempDir } from './runCli.js';

describe('llmstate command', function () {
  // Each test runs the binary several times; this holds without .mocharc.json (mocha --no-config) too.
  this.timeout(60_000);
  before(assertBuilt);
  afterEach(() => removeTempDirs());

  it('leases on a LevelDB store says that it has none, and prints nothing', async () => {
    const dir = tempDir();
    assertSucceeds(await inDir(dir, 'set', 'agent:a1', 'k', '1'));
    const result = await inDir(dir, 'leases');
    assert.equal(result.code, 0);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^no leases: a LevelDB store \(.+\) is used by one process at a time; leases are for a PostgreSQL store \(--postgres\)\n$/);
    assert.deepEqual(await inDir(dir, 'leases', '--json'), { code: 0, stdout: '[]\n', stderr: result.stderr });
  });

  describe('set and get', () => {
    it('get prints what set stored, as compact JSON, equal after a JSON round trip', async () => {
      const dir = tempDir();
      const value = { name: 'weather', tags: ['rain', 'wind'], n: 1.5, nested: { none: null, ok: true }, __proto__x: 'plain' };
      assertSucceeds(await inDir(dir, 'set', 'agent:a1', 'topic', JSON.stringify(value)));

      const got = await inDir(dir, 'get', 'agent:a1', 'topic');
      assertSucceeds(got);
      assert.equal(got.stdout, `${JSON.stringify(value)}\n`, 'one compact line');
      assert.deepEqual(JSON.parse(got.stdout), JSON.parse(JSON.stringify(value)));
    });

    it('get --pretty indents the JSON', async () => {
      const dir = tempDir();
      await inDir(dir, 'set', 'global', 'cfg', '{"model":"m","limits":{"turns":3}}');
      const got = await inDir(dir, 'get', 'global', 'cfg', '--pretty');
      assertSucceeds(got);
      assert.equal(got.stdout, `${JSON.stringify({ model: 'm', limits: { turns: 3 } }, null, 2)}\n`);
    });

    it('stores JSON strings, negative numbers, null and arrays, in every kind of scope', async () => {
      const dir = tempDir();
      const cases: [string, string, unknown][] = [
        ['global', 'greeting', 'hello'],
        ['agent:a1', 'balance', -5],
        ['workflow:w1', 'result', null],
        ['step:w1/fetch', 'urls', ['https://example.com']],
        ['session:s1', 'turn', 3],
        ['custom:team', 'members', { lead: 'ada' }],
      ];
      for (const [scope, key, value] of cases) assertSucceeds(await inDir(dir, 'set', scope, key, JSON.stringify(value)));
      for (const [scope, key, value] of cases) {
        const got = await inDir(dir, 'get', scope, key);
        assertSucceeds(got);
        assert.deepEqual(JSON.parse(got.stdout), value, `${scope} ${key}`);
      }
    });

    it("set reads the value from stdin when it is '-'", async () => {
      const dir = tempDir();
      const value = { notes: 'x'.repeat(200_000) };
      assertSucceeds(await llmstate(['--data-dir', dir, 'set', 'agent:a1', 'notes', '-'], { input: JSON.stringify(value) }));
      const got = await inDir(dir, 'get', 'agent:a1', 'notes');
      assert.deepEqual(JSON.parse(got.stdout), value);
    });

    it('a value over the size limit is refused with VALUE_TOO_LARGE', async () => {
      const dir = tempDir();
      const result = await llmstate(['--data-dir', dir, 'set', 'agent:a1', 'big', '-'], {
        input: JSON.stringify('x'.repeat(1024 * 1024)),
      });
      assertFails(result, 1, 'error[VALUE_TOO_LARGE]: ');
      assert.equal((await inDir(dir, 'get', 'agent:a1', 'big')).code, 1, 'nothing was stored');
    });

    it('get of a missing key prints nothing on stdout, a note on stderr, and exits 1', async () => {
      const dir = tempDir();
      await inDir(dir, 'set', 'agent:a1', 'other', '1');
      const got = await inDir(dir, 'get', 'agent:a1', 'topic');
      assert.deepEqual(got, { code: 1, stdout: '', stderr: 'no value at agent:a1 topic\n' });
    });

    it('--correlation-id is recorded in the event log with the write', async () => {
      const dir = tempDir();
      assertSucceeds(await inDir(dir, 'set', 'agent:a1', 'topic', '1', '--correlation-id', 'run-7'));
      assertSucceeds(await inDir(dir, 'del', 'agent:a1', 'topic', '--correlation-id', 'run-8'));
      const events = await readEventLog(dir);
      assert.deepEqual(
        events.map(({ kind, scope, key, correlationId }) => ({ kind, scope, key, correlationId })),
        [
          { kind: 'state.set', scope: 'agent:a1', key: 'topic', correlationId: 'run-7' },
          { kind: 'state.delete', scope: 'agent:a1', key: 'topic', correlationId: 'run-8' },
        ],
      );
    });
  });

  describe('keys and del', () => {
    it('keys prints one key per line in key order (code point order), and --prefix narrows it', async () => {
      const dir = tempDir();
      for (const key of ['b', 'é', 'cfg.z', 'a', 'cfg.a', 'Z']) await inDir(dir, 'set', 'agent:a1', key, '1');
      await inDir(dir, 'set', 'agent:a2', 'other', '1');

      const all = await inDir(dir, 'keys', 'agent:a1');
      assertSucceeds(all);
      assert.equal(all.stdout, 'Z\na\nb\ncfg.a\ncfg.z\né\n');

      const cfg = await inDir(dir, 'keys', 'agent:a1', '--prefix', 'cfg.');
      assertSucceeds(cfg);
      assert.equal(cfg.stdout, 'cfg.a\ncfg.z\n');
    });

    it('keys of an empty scope prints nothing and succeeds', async () => {
      const dir = tempDir();
      await inDir(dir, 'set', 'agent:a1', 'k', '1');
      assert.deepEqual(await inDir(dir, 'keys', 'workflow:none'), { code: 0, stdout: '', stderr: '' });
    });

    it('del prints deleted, then not found, exiting 0 both times', async () => {
      const dir = tempDir();
      await inDir(dir, 'set', 'agent:a1', 'topic', '"t"');
      assert.deepEqual(await inDir(dir, 'del', 'agent:a1', 'topic'), { code: 0, stdout: 'deleted\n', stderr: '' });
      assert.deepEqual(await inDir(dir, 'del', 'agent:a1', 'topic'), { code: 0, stdout: 'not found\n', stderr: '' });
      assert.equal((await inDir(dir, 'get', 'agent:a1', 'topic')).code, 1);
    });
  });

  describe('invalid input', () => {
    it('invalid JSON is VALUE_INVALID naming the JSON problem, with a hint for a bare word', async () => {
      const dir = tempDir();
      const broken = await inDir(dir, 'set', 'agent:a1', 'topic', '{"name":');
      assertFails(broken, 1, 'error[VALUE_INVALID]: The value is not valid JSON: ');
      assert.match(broken.stderr, /Unexpected end of JSON input/);

      const bare = await inDir(dir, 'set', 'agent:a1', 'topic', 'weather');
      assertFails(bare, 1, 'error[VALUE_INVALID]: ');
      assert.match(bare.stderr, /write it as JSON: '"weather"'/);
    });

    it('an invalid scope is SCOPE_INVALID, for every command', async () => {
      const dir = tempDir();
      await inDir(dir, 'set', 'agent:a1', 'k', '1');
      const cases: [string[], RegExp][] = [
        [['set', 'agnt:a1', 'k', '1'], /the kind must be one of global, agent/],
        [['get', 'agent:', 'k'], /an id must follow the colon/],
        [['keys', 'step:w1'], /step:<workflowId>\/<stepName>/],
        [['del', 'global:x', 'k'], /global, with nothing after it/],
        [['keys', 'agent:/etc'], /must not start with '\/' \[rule: leading-slash\]/],
      ];
      for (const [args, message] of cases) {
        const result = await inDir(dir, ...args);
        assertFails(result, 1, 'error[SCOPE_INVALID]: ');
        assert.match(result.stderr, message, args.join(' '));
      }
    });

    it('an invalid key is STATE_KEY_INVALID naming the rule, one case per rule family', async () => {
      const dir = tempDir();
      const cases: [string, string][] = [
        ['a\u0001b', 'control-character'],
        ['/etc/passwd', 'leading-slash'],
        ['notes/../secrets', 'dot-segment'],
        ['__meta', 'reserved-prefix'],
        ['a\\b', 'backslash'],
      ];
      for (const [key, rule] of cases) {
        const result = await inDir(dir, 'set', 'agent:a1', key, '1');
        assertFails(result, 1, 'error[STATE_KEY_INVALID]: ');
        assert.ok(result.stderr.includes(`[rule: ${rule}]`), result.stderr);
      }
      assertFails(await inDir(dir, 'get', 'agent:a1', '__meta'), 1, 'error[STATE_KEY_INVALID]: ');
      assert.ok(!fs.existsSync(path.join(dir, 'db')), 'rejected input does not create a store');
    });
  });

  describe('usage errors exit 2 with commander’s message', () => {
    const cases: [string, string[], RegExp][] = [
      ['an unknown command', ['frobnicate'], /^error: unknown command 'frobnicate'/],
      ['set without its value', ['set', 'agent:a1', 'topic'], /^error: missing required argument 'json'/],
      ['get without its key', ['get', 'agent:a1'], /^error: missing required argument 'key'/],
      ['keys without a scope', ['keys'], /^error: missing required argument 'scope'/],
      ['too many arguments', ['del', 'agent:a1', 'k', 'extra'], /^error: too many arguments for 'del'/],
      ['an unknown option', ['keys', 'agent:a1', '--sort'], /^error: unknown option '--sort'/],
      ['--data-dir without its value', ['keys', 'agent:a1', '--data-dir'], /^error: option '--data-dir <dir>' argument missing/],
      ['an invalid --correlation-id', ['set', 'agent:a1', 'k', '1', '--correlation-id', ''], /A correlation id is 1–128 characters/],
      ['no command at all', [], /^Usage: llmstate/],
    ];
    for (const [what, args, message] of cases) {
      it(`for ${what}`, async () => {
        const dir = tempDir();
        const result = await llmstate(args, { cwd: dir });
        assert.equal(result.code, 2, result.stderr);
        assert.equal(result.stdout, '');
        assertPlain(result);
        assert.match(result.stderr, message);
        assert.ok(!fs.existsSync(path.join(dir, '.llmstate')), 'a usage error touches no store');
      });
    }

    it('the hint after an error names the subcommand', async () => {
      const result = await llmstate(['get', 'agent:a1']);
      assert.match(result.stderr, /\(run llmstate get --help for usage\)/);
    });
  });

  describe('--version and --help', () => {
    it('--version prints the package version and exits 0', async () => {
      const { version } = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
      assert.deepEqual(await llmstate(['--version']), { code: 0, stdout: `${version}\n`, stderr: '' });
    });

    it('--help lists every command and exits 0', async () => {
      const result = await llmstate(['--help']);
      assertSucceeds(result);
      for (const command of ['set', 'get', 'keys', 'del', 'stats', 'agents', 'backup', 'access', 'audit', 'sessions', 'artifacts', 'demo']) assert.match(result.stdout, new RegExp(`^  ${command} `, 'm'));
      assert.match(result.stdout, /--data-dir <dir>/);
    });
  });

  describe('the data directory', () => {
    it('defaults to ./.llmstate in the working directory', async () => {
      const cwd = tempDir();
      assertSucceeds(await llmstate(['set', 'agent:a1', 'topic', '"t"'], { cwd }));
      assert.ok(fs.existsSync(path.join(cwd, '.llmstate', 'db')), 'the store is in ./.llmstate');
      assert.equal((await llmstate(['get', 'agent:a1', 'topic'], { cwd })).stdout, '"t"\n');
    });

    it('--data-dir is honoured, before or after the subcommand', async () => {
      const one = tempDir();
      const two = tempDir();
      assertSucceeds(await llmstate(['--data-dir', one, 'set', 'agent:a1', 'topic', '1']));
      assertSucceeds(await llmstate(['set', 'agent:a1', 'topic', '2', '--data-dir', two]));
      assert.equal((await llmstate(['get', 'agent:a1', 'topic', '--data-dir', one])).stdout, '1\n');
      assert.equal((await llmstate(['--data-dir', two, 'get', 'agent:a1', 'topic'])).stdout, '2\n');
    });

    it('values persist across invocations, including deletes', async () => {
      const dir = tempDir();
      await inDir(dir, 'set', 'agent:a1', 'a', '1');
      await inDir(dir, 'set', 'agent:a1', 'b', '[2]');
      await inDir(dir, 'set', 'agent:a1', 'c', '{"three":3}');
      await inDir(dir, 'del', 'agent:a1', 'b');
      await inDir(dir, 'set', 'agent:a1', 'a', '"one"');
      assert.equal((await inDir(dir, 'keys', 'agent:a1')).stdout, 'a\nc\n');
      assert.equal((await inDir(dir, 'get', 'agent:a1', 'a')).stdout, '"one"\n');
      assert.equal((await inDir(dir, 'get', 'agent:a1', 'c')).stdout, '{"three":3}\n');
    });

    it('reading commands refuse a directory without a store, and do not create one', async () => {
      const dir = path.join(tempDir(), 'typo');
      for (const args of [['get', 'agent:a1', 'k'], ['keys', 'agent:a1'], ['del', 'agent:a1', 'k'], ['stats']]) {
        const result = await inDir(dir, ...args);
        assertFails(result, 1, `error[STORAGE_FAILED]: There is no llmstate store in ${dir}`);
      }
      assert.ok(!fs.existsSync(dir));
    });

    it('a directory held open by another process is STORAGE_FAILED naming the directory and its LOCK', async () => {
      const dir = tempDir();
      await inDir(dir, 'set', 'agent:a1', 'topic', '1');
      const holder = await holdOpen(dir);
      try {
        for (const args of [['get', 'agent:a1', 'topic'], ['set', 'agent:a1', 'topic', '2']]) {
          const result = await inDir(dir, ...args);
          assertFails(result, 1, 'error[STORAGE_FAILED]: ');
          assert.ok(result.stderr.includes(dir), result.stderr);
          assert.ok(result.stderr.includes(path.join(dir, 'db', 'LOCK')), result.stderr);
        }
      } finally {
        await holder.stop();
      }
      assert.equal((await inDir(dir, 'get', 'agent:a1', 'topic')).stdout, '1\n', 'usable again once released');
    });
  });

  describe('stats', () => {
    async function populate(dir: string): Promise<void> {
      await inDir(dir, 'set', 'agent:a1', 'topic', '"t"');
      await inDir(dir, 'set', 'agent:a1', 'progress', '{"done":1}');
      await inDir(dir, 'set', 'agent:a2', 'topic', '"u"');
      await inDir(dir, 'set', 'global', 'cfg', '{}');
      await inDir(dir, 'set', 'step:w1/fetch', 'urls', '[]');
      await inDir(dir, 'set', 'step:w1/parse', 'rows', '0');
      await inDir(dir, 'set', 'step:w2/fetch', 'urls', '["x"]');
      await inDir(dir, 'del', 'global', 'cfg');
    }

    it('--json reports the format, commit sequence, keys and scopes per kind, event log and size', async () => {
      const dir = tempDir();
      await populate(dir);
      const result = await inDir(dir, 'stats', '--json');
      assertSucceeds(result);
      const stats = JSON.parse(result.stdout);
      assert.equal(stats.dataDir, dir);
      assert.equal(stats.storeFormat, 1);
      assert.ok(!Number.isNaN(Date.parse(stats.createdAt)));
      assert.equal(stats.lastCommitSeq, 8, 'one commit per write');
      assert.equal(stats.eventLogRecords, 8);
      assert.deepEqual(stats.kinds.agent, { scopes: 2, keys: 3, valueBytes: stats.kinds.agent.valueBytes });
      assert.deepEqual(stats.kinds.step, { scopes: 3, keys: 3, valueBytes: stats.kinds.step.valueBytes });
      assert.deepEqual(stats.kinds.global, { scopes: 0, keys: 0, valueBytes: 0 });
      assert.deepEqual(stats.kinds.workflow, { scopes: 0, keys: 0, valueBytes: 0 });
      assert.equal(stats.total.keys, 6);
      assert.equal(stats.total.scopes, 5);
      assert.equal(stats.unrecognisedKeys, 0);
      assert.ok(stats.sizeOnDisk > 0);
    });

    it('prints the same figures as a readable table', async () => {
      const dir = tempDir();
      await populate(dir);
      const result = await inDir(dir, 'stats');
      assertSucceeds(result);
      assert.match(result.stdout, new RegExp(`^data dir +${escape(dir)}$`, 'm'));
      assert.match(result.stdout, /^store format +1 \(created .+\)$/m);
      assert.match(result.stdout, /^last commit seq +8$/m);
      assert.match(result.stdout, /^event-log records +8$/m);
      assert.match(result.stdout, /^size on disk +\d/m);
      assert.match(result.stdout, /^agent +2 +3 +\d+$/m);
      assert.match(result.stdout, /^step +3 +3 +\d+$/m);
      assert.match(result.stdout, /^total +5 +6 +\d+$/m);
    });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Every event in the store's log, read with the runtime's own decoder. */
async function readEventLog(dataDir: string): Promise<LoggedEvent[]> {
  const rt = await createRuntime({ dataDir });
  try {
    const events: LoggedEvent[] = [];
    for await (const [key, value] of storageOf(rt).iterate('events')) events.push(...decodeCommitRecord(value, decodeSeqKey(key)));
    return events;
  } finally {
    await rt.close();
  }
}
