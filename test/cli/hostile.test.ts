import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { escapeForDisplay } from '../../src/displayText.js';
import { createRuntime } from '../../src/runtime.js';
import { DEFAULT_OPTIONS } from '../../src/runtimeOptions.js';
import {
  assertBuilt,
  assertFails,
  assertPlain,
  assertSucceeds,
  inDir,
  llmstate,
  llmstateBytes,
  llmstateWithOpenStdin,
  removeTempDirs,
  tempDir,
  type CliResult,
} from './runCli.js';

/** Hostile arguments and input: each is a usage error (exit 2) or a coded failure, never a bare error. */

const LIMIT = DEFAULT_OPTIONS.maxValueBytes;

/** A usage error: exit 2, commander's `error: …` form, nothing on stdout. */
function assertUsage(result: CliResult, pattern: RegExp): void {
  assertPlain(result);
  assert.equal(result.code, 2, `exit code; stderr: ${result.stderr}`);
  assert.equal(result.stdout, '', 'nothing on stdout');
  assert.match(result.stderr, /^error: /);
  assert.match(result.stderr, pattern);
}

describe('llmstate with hostile arguments and input', function () {
  this.timeout(120_000);
  before(assertBuilt);
  afterEach(() => removeTempDirs());

  describe('--data-dir', () => {
    const commands: string[][] = [
      ['set', 'agent:a1', 'k', '1'],
      ['get', 'agent:a1', 'k'],
      ['keys', 'agent:a1'],
      ['del', 'agent:a1', 'k'],
      ['stats'],
      ['agents', 'list'],
      ['hooks', 'list'],
      ['timeline', 'c1'],
      ['demo'],
    ];

    for (const args of commands) {
      it(`an empty --data-dir is a usage error for ${args.slice(0, 2).join(' ')}, and touches the working directory not at all`, async () => {
        const cwd = tempDir();
        const result = await llmstate(['--data-dir', '', ...args], { cwd });
        assertUsage(result, /--data-dir <dir>.*an empty path/);
        assert.deepEqual(fs.readdirSync(cwd), [], 'nothing was created in the working directory');
      });
    }

    it('a --data-dir that is a file is a usage error, and the file is left as it was', async () => {
      const file = path.join(tempDir(), 'notes.txt');
      fs.writeFileSync(file, 'mine');
      for (const args of [['set', 'agent:a1', 'k', '1'], ['keys', 'agent:a1'], ['demo']]) {
        assertUsage(await inDir(file, ...args), new RegExp(`${file} is not a directory`));
      }
      assert.equal(fs.readFileSync(file, 'utf8'), 'mine');
    });

    it('a --data-dir under a file is a usage error', async () => {
      const file = path.join(tempDir(), 'notes.txt');
      fs.writeFileSync(file, 'mine');
      assertUsage(await inDir(path.join(file, 'store'), 'set', 'agent:a1', 'k', '1'), /ENOTDIR/);
    });
  });

  describe('timeline --output', () => {
    async function storeWithStory(): Promise<string> {
      const dir = tempDir();
      assertSucceeds(await inDir(dir, 'set', 'agent:a1', 'k', '1', '--correlation-id', 'c1'));
      return dir;
    }

    it('a directory is a usage error, before the store is opened', async () => {
      const dir = await storeWithStory();
      assertUsage(await inDir(dir, 'timeline', 'c1', '--output', '/'), /--output <file>.*\/ is a directory/);
      assertUsage(await inDir(dir, 'timeline', 'c1', '--output', dir), /is a directory/);
    });

    it('a file in a directory that does not exist is a usage error', async () => {
      const dir = await storeWithStory();
      assertUsage(await inDir(dir, 'timeline', 'c1', '--output', '/missing/dir/x.html'), /The directory \/missing\/dir does not exist/);
      assert.ok(!fs.existsSync('/missing'));
    });

    it('an empty path, or a path under a file, is a usage error', async () => {
      const dir = await storeWithStory();
      assertUsage(await inDir(dir, 'timeline', 'c1', '--output', ''), /an empty path/);
      const file = path.join(tempDir(), 'f');
      fs.writeFileSync(file, '');
      assertUsage(await inDir(dir, 'timeline', 'c1', '--output', path.join(file, 'x.html')), /ENOTDIR/);
    });

    it('a file that cannot be created where the check could not tell is a usage error at write time', async () => {
      const dir = await storeWithStory();
      // /proc exists and is a directory, but no file can be created in it.
      assertUsage(await inDir(dir, 'timeline', 'c1', '--output', '/proc/llmstate-timeline.txt'), /^error: cannot write --output \/proc\/llmstate-timeline.txt: ENOENT/);
    });

    it('a writable file still works', async () => {
      const dir = await storeWithStory();
      const out = path.join(tempDir(), 'story.txt');
      const result = await inDir(dir, 'timeline', 'c1', '--output', out);
      assert.equal(result.code, 0, result.stderr);
      assert.match(fs.readFileSync(out, 'utf8'), /^timeline c1: 1 event/);
    });
  });

  describe('set - (standard input)', () => {
    it(`takes exactly ${LIMIT} bytes (maxValueBytes)`, async () => {
      const dir = tempDir();
      const value = 'x'.repeat(LIMIT - 2);
      assertSucceeds(await llmstate(['--data-dir', dir, 'set', 'agent:a1', 'big', '-'], { input: JSON.stringify(value) }));
      assert.equal((await inDir(dir, 'get', 'agent:a1', 'big')).stdout, `${JSON.stringify(value)}\n`);
    });

    it('stops reading once past maxValueBytes, with VALUE_TOO_LARGE, without waiting for the rest', async () => {
      const dir = tempDir();
      // The input stays open: a command that read to its end would never exit.
      const result = await llmstateWithOpenStdin(['--data-dir', dir, 'set', 'agent:a1', 'big', '-'], Buffer.alloc(LIMIT + 1, 0x20));
      assertFails(result, 1, `error[VALUE_TOO_LARGE]: The value on standard input is more than ${LIMIT} bytes`);
      assert.ok(!fs.existsSync(path.join(dir, 'db')), 'nothing was stored, no store was created');
    });

    it('input that is not UTF-8 is VALUE_INVALID, not text with U+FFFD', async () => {
      const dir = tempDir();
      const result = await llmstate(['--data-dir', dir, 'set', 'agent:a1', 'k', '-'], { input: Buffer.from([0x22, 0xff, 0x22]) as unknown as string });
      assertFails(result, 1, 'error[VALUE_INVALID]: The value on standard input is not valid UTF-8');
    });
  });

  describe('arguments that are not UTF-8', () => {
    it('are a usage error, and nothing is written', async () => {
      const dir = tempDir();
      const result = await llmstateBytes(['--data-dir', dir, 'set', 'agent:a1', 'k', '"a\\377b"']);
      assertUsage(result, /^error: argument 6, .* is not valid UTF-8/);
      assert.ok(!fs.existsSync(path.join(dir, 'db')));
      assertUsage(await llmstateBytes(['--data-dir', dir, 'set', 'agent:a1', 'k\\300\\200', '1']), /argument 5/);
      assertUsage(await llmstateBytes(['--data-dir', `${dir}/\\355\\240\\200`, 'keys', 'global']), /argument 2/);
    });

    it('a U+FFFD typed as such is ordinary text, and is stored', async () => {
      const dir = tempDir();
      assertSucceeds(await llmstateBytes(['--data-dir', dir, 'set', 'agent:a1', 'k', '"a\\357\\277\\275b"']));
      assert.equal((await inDir(dir, 'get', 'agent:a1', 'k')).stdout, '"a\uFFFDb"\n');
    });
  });

  describe('what commander quotes', () => {
    it('control characters in an argument are escaped in a usage error', async () => {
      const result = await llmstate(['hooks', 'history', '--limit', '\u001b[31mX\u009b']);
      assert.equal(result.code, 2);
      assert.ok(!/[\u001b\u009b]/.test(result.stderr), JSON.stringify(result.stderr));
      assert.ok(result.stderr.includes('\\u001b[31mX\\u009b'), result.stderr);
    });
  });

  describe('output a terminal would act on', () => {
    const value = { note: 'del\u007f csi\u009b[2J bidi\u202e tag\u{e0041} sep\u2028 zw\u200b', list: ['\u0085'] };

    it('get prints non-printing characters in a value as JSON escapes: safe to print, the same value', async () => {
      const dir = tempDir();
      assertSucceeds(await inDir(dir, 'set', 'agent:a1', 'k', JSON.stringify(value)));
      for (const args of [[], ['--pretty']]) {
        const result = await inDir(dir, 'get', 'agent:a1', 'k', ...args);
        assertSucceeds(result);
        assert.ok(!/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(result.stdout.replaceAll('\n', '')), JSON.stringify(result.stdout));
        assert.deepEqual(JSON.parse(result.stdout), value);
      }
    });

    it('timeline --format text and mermaid escape format characters in keys and correlation ids', async () => {
      const dir = tempDir();
      const id = 'c\u202e1';
      assertSucceeds(await inDir(dir, 'set', 'agent:a1', 'k\u202e\u200b', '1', '--correlation-id', id));
      for (const format of ['text', 'mermaid']) {
        const result = await inDir(dir, 'timeline', id, '--format', format);
        assertSucceeds(result);
        assert.ok(!/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(result.stdout.replaceAll('\n', '')), `${format}: ${JSON.stringify(result.stdout)}`);
        assert.ok(result.stdout.includes('k\\u202e\\u200b'), result.stdout);
      }
    });

    it('timeline --format json escapes them too, and stays the same JSON', async () => {
      const dir = tempDir();
      const key = 'k\u202e\u200b';
      assertSucceeds(await inDir(dir, 'set', 'agent:a1', key, JSON.stringify(value), '--correlation-id', 'c1'));
      const result = await inDir(dir, 'timeline', 'c1', '--format', 'json');
      assertSucceeds(result);
      assert.ok(!/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(result.stdout.replaceAll('\n', '')), JSON.stringify(result.stdout));
      assert.ok(JSON.stringify(JSON.parse(result.stdout)).includes(JSON.stringify(key)));
    });
  });

  describe('names and ids from the store', () => {
    it('agents list and agents show escape a hostile agent type and tool name, and a note a hostile data directory', async () => {
      const dir = tempDir();
      const rt = await createRuntime({ dataDir: dir });
      try {
        await rt.agents.spawn({ id: 'a1', type: 'evil\u001b]0;pwned\u0007\nforged line', tools: [{ name: 'tool\u009b2J\u202e' }] });
      } finally {
        await rt.close();
      }
      for (const args of [['agents', 'list'], ['agents', 'show', 'a1']]) {
        const result = await inDir(dir, ...args);
        assertSucceeds(result);
        assert.ok(!/[\p{Cc}\p{Cf}]/u.test(result.stdout.replaceAll('\n', '')), `${args.join(' ')}: ${JSON.stringify(result.stdout)}`);
        assert.ok(result.stdout.includes('evil\\u001b]0;pwned\\u0007\\u000aforged line'), result.stdout);
        assert.ok(!result.stdout.split('\n').some((line) => line.startsWith('forged line')), 'no line is forged');
      }
      assert.ok((await inDir(dir, 'agents', 'show', 'a1')).stdout.includes('tool\\u009b2J\\u202e'));
      const empty = path.join(tempDir(), 'store\u001b[2J');
      assertSucceeds(await inDir(empty, 'set', 'agent:a1', 'k', '1'));
      const note = await inDir(empty, 'agents', 'list');
      assert.equal(note.code, 0, note.stderr);
      assert.ok(note.stderr.startsWith('no agents are stored in ') && note.stderr.includes('store\\u001b[2J'), JSON.stringify(note.stderr));
    });
  });

  describe('every failure is coded', () => {
    // The sweep of hostile arguments: each line is [arguments after --data-dir <store>, expected start of stderr, exit code].
    const cases: [string[], string, number][] = [
      [['get', 'agent:', 'k'], 'error[SCOPE_INVALID]: ', 1],
      [['keys', 'nokind:x'], 'error[SCOPE_INVALID]: ', 1],
      [['get', 'step:/x', 'k'], 'error[SCOPE_INVALID]: ', 1],
      [['get', 'agent:a1', ''], 'error[STATE_KEY_INVALID]: ', 1],
      [['get', 'agent:a1', 'a\u007fb\u0085'], 'error[STATE_KEY_INVALID]: The key "a\\u007fb\\u0085"', 1],
      [['set', 'agent:a1', 'k', '{bad'], 'error[VALUE_INVALID]: ', 1],
      [['set', 'agent:a1', 'k', ''], 'error[VALUE_INVALID]: ', 1],
      [['agents', 'show', ''], 'error[SCOPE_INVALID]: ', 1],
      [['agents', 'show', 'nobody'], 'error[AGENT_NOT_FOUND]: ', 1],
      [['agents', 'delete', '\u202e'], 'not found', 0],
      [['hooks', 'replay', 'nope'], 'error[HOOK_FAILED]: ', 1],
      [['hooks', 'redeliver', 'nope'], 'error[HOOK_FAILED]: ', 1],
    ];
    for (const [args, start, code] of cases) {
      it(escapeForDisplay(args.map((a) => JSON.stringify(a)).join(' ')), async () => {
        const dir = tempDir();
        assertSucceeds(await inDir(dir, 'set', 'agent:a1', 'k', '1'));
        const result = await inDir(dir, ...args);
        assertPlain(result);
        assert.equal(result.code, code, result.stderr);
        assert.ok((code === 0 ? result.stdout : result.stderr).startsWith(start), result.stderr + result.stdout);
        assert.ok(!/[\p{Cc}\p{Cf}]/u.test(result.stderr.replaceAll('\n', '')), JSON.stringify(result.stderr));
      });
    }
  });
});
