import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assertBuilt, assertFails, childEnv, CLI, inDir, removeTempDirs, tempDir, type CliResult } from './runCli.js';

/** Every reading command, each refused where there is no store. */
const READING_COMMANDS = [
  ['get', 'agent:a1', 'k'],
  ['keys', 'agent:a1'],
  ['stats'],
  ['agents', 'list'],
  ['hooks', 'list'],
  ['timeline', 'c1'],
  ['backup', 'create'],
  ['backup', 'restore', 'some-id'],
  ['backup', 'prune', '--keep-last', '1'],
  ['backup', 'pin', 'some-id'],
  ['schemas', 'list'],
  ['schemas', 'docs'],
  ['migrate', 'plan'],
  ['migrate', 'check'],
  ['migrate', 'run', 'profile', '--dry-run'],
];

/** Every file and directory under `dir`, relative to it. */
function listing(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

/**
 * Runs llmstate as a user without privileges (permission bits do not stop root): as root, it drops to
 * `nobody` with setpriv; as anyone else, the bits already apply.
 */
function llmstateUnprivileged(args: readonly string[]): Promise<CliResult> {
  const node = [process.execPath, CLI, ...args];
  const command = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...node] : node;
  return new Promise((resolve, reject) => {
    execFile(command[0], command.slice(1), { cwd: os.tmpdir(), env: childEnv() }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') return reject(error);
      resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
  });
}

describe('llmstate and its data directory', function () {
  this.timeout(30_000);
  before(assertBuilt);
  afterEach(() => removeTempDirs());

  it('reading commands refuse an empty db directory, and create nothing in it', async () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'db'));
    for (const args of READING_COMMANDS) {
      assertFails(await inDir(dir, ...args), 1, `error[STORAGE_FAILED]: There is no llmstate store in ${dir}`);
    }
    assert.deepEqual(listing(dir), ['db'], 'nothing was created');
  });

  it('reading commands refuse an empty directory, and create nothing in it', async () => {
    const dir = tempDir();
    for (const args of READING_COMMANDS) {
      assertFails(await inDir(dir, ...args), 1, `error[STORAGE_FAILED]: There is no llmstate store in ${dir}`);
    }
    assert.deepEqual(listing(dir), [], 'nothing was created');
  });

  it('set makes the store in an empty directory', async () => {
    const dir = tempDir();
    assert.equal((await inDir(dir, 'set', 'global', 'k', '1')).code, 0);
    assert.equal((await inDir(dir, 'get', 'global', 'k')).stdout, '1\n');
  });

  it('reading commands refuse a LevelDB that llmstate did not write, and leave it untouched', async () => {
    const dir = tempDir();
    const { ClassicLevel } = await import('classic-level');
    const db = new ClassicLevel(path.join(dir, 'db'));
    await db.put('user:1', 'alice');
    await db.close();
    for (const args of [['get', 'global', 'k'], ['set', 'global', 'k', '1']]) {
      assertFails(await inDir(dir, ...args), 1, `error[STORAGE_FAILED]: The LevelDB at ${path.join(dir, 'db')} is not an llmstate store`);
    }
    const reopened = new ClassicLevel(path.join(dir, 'db'));
    assert.deepEqual(await reopened.keys().all(), ['user:1']);
    await reopened.close();
  });

  for (const [what, closed] of [
    ['its data directory', (dir: string) => dir],
    ['its db directory', (dir: string) => path.join(dir, 'db')],
  ] as const) {
    it(`says permission denied, not "no store", when ${what} may not be read`, async () => {
      const parent = tempDir();
      const dir = path.join(parent, 'store');
      assert.equal((await inDir(dir, 'set', 'global', 'k', '1')).code, 0);
      // Everything stays passable for the unprivileged user but the one directory under test.
      for (const open of [parent, dir, path.join(dir, 'db')]) fs.chmodSync(open, 0o755);
      fs.chmodSync(closed(dir), process.getuid?.() === 0 ? 0o700 : 0o000);
      try {
        const result = await llmstateUnprivileged(['--data-dir', dir, 'get', 'global', 'k']);
        assertFails(result, 1, 'error[STORAGE_FAILED]: ');
        assert.match(result.stderr, /permission denied \(EACCES\)/);
        assert.ok(result.stderr.includes(closed(dir)), result.stderr);
        assert.doesNotMatch(result.stderr, /There is no llmstate store/);
      } finally {
        fs.chmodSync(closed(dir), 0o755);
      }
    });
  }

  it('refuses /proc/self promptly, naming it', async () => {
    for (const args of [['get', 'global', 'k'], ['set', 'global', 'k', '1']]) {
      const result = await inDir('/proc/self', ...args);
      assertFails(result, 1, 'error[STORAGE_FAILED]: ');
      assert.ok(result.stderr.includes('/proc/self'), result.stderr);
    }
  });
});
