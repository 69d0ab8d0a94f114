import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ClassicLevel } from 'classic-level';
import { createRuntime, LlmStateError, Scope } from '../../src/index.js';
import { storageOf } from '../../src/runtime.js';
import { encodeRecord } from '../../src/storage/recordEnvelope.js';
import { rejection, tempDir } from '../helpers.js';

const BUFFERS = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const;
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OPEN_STORE = fileURLToPath(new URL('../fixtures/openStore.ts', import.meta.url));

/** Every key and value of the LevelDB at `<dataDir>/db`, read without llmstate, as hex pairs. */
async function rawEntries(dataDir: string): Promise<[string, string][]> {
  const db = new ClassicLevel<Buffer, Buffer>(join(dataDir, 'db'), BUFFERS);
  await db.open();
  const entries: [string, string][] = [];
  for await (const [key, value] of db.iterator()) entries.push([key.toString('hex'), value.toString('hex')]);
  await db.close();
  return entries;
}

/** Writes raw keys into the LevelDB at `<dataDir>/db` (creating it), as another program would. */
async function putRaw(dataDir: string, entries: [string, string][]): Promise<void> {
  const db = new ClassicLevel<Buffer, Buffer>(join(dataDir, 'db'), BUFFERS);
  await db.open();
  await db.batch(entries.map(([key, value]) => ({ type: 'put' as const, key: Buffer.from(key, 'latin1'), value: Buffer.from(value, 'utf8') })));
  await db.close();
}

async function openFails(dataDir: string, code: string, message: RegExp): Promise<LlmStateError> {
  const error = await rejection(createRuntime({ dataDir, hooks: { autoStart: false } }));
  assert.ok(error instanceof LlmStateError, `expected an LlmStateError, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  assert.match(error.message, message);
  return error;
}

/**
 * Runs the open as a user without privileges (permission bits do not stop root), and returns what it
 * printed. Run as root, it drops to `nobody` with setpriv; run as anyone else, the bits already apply.
 */
async function openAsUnprivileged(dataDir: string): Promise<{ opened: boolean; code?: string; message?: string; causeCode?: string }> {
  const node = [process.execPath, '--import', 'tsx', OPEN_STORE, dataDir];
  const command = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...node] : node;
  const { stdout } = await promisify(execFile)(command[0], command.slice(1), { cwd: PROJECT_ROOT, env: { ...process.env, HOME: '/tmp' } });
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

describe('data directories', function () {
  this.timeout(20_000);
  let dir: string;
  let cleanup: () => void;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir('data-dir'));
  });
  afterEach(() => {
    chmodSync(dir, 0o700);
    if (existsSync(join(dir, 'store', 'db'))) chmodSync(join(dir, 'store', 'db'), 0o700);
    cleanup();
  });

  describe('what cannot hold a store is refused before LevelDB sees it', () => {
    for (const [path, what] of [
      ['/proc/self', /proc/],
      ['/proc/self/llmstate', /proc/],
      ['/sys/kernel', /sysfs/],
    ] as const) {
      it(`refuses ${path} with STORAGE_FAILED naming the path and the file system`, async () => {
        const error = await openFails(path, 'STORAGE_FAILED', what);
        assert.match(error.message, new RegExp(path.split('/').slice(0, 3).join('/')));
      });
    }

    it('refuses a FIFO, a character device and a file as the data directory', async () => {
      const { execFileSync } = await import('node:child_process');
      execFileSync('mkfifo', [join(dir, 'fifo')]);
      writeFileSync(join(dir, 'file'), 'text');
      await openFails(join(dir, 'fifo'), 'STORAGE_FAILED', /fifo.*: it is a FIFO, not a directory/);
      await openFails('/dev/null', 'STORAGE_FAILED', /\/dev\/null.*: it is a character device, not a directory/);
      await openFails(join(dir, 'file'), 'STORAGE_FAILED', /file.*: it is a file, not a directory/);
    });

    it('refuses a db that is a FIFO, or a link to a device or into /proc', async () => {
      const { execFileSync } = await import('node:child_process');
      mkdirSync(join(dir, 'a'));
      execFileSync('mkfifo', [join(dir, 'a', 'db')]);
      await openFails(join(dir, 'a'), 'STORAGE_FAILED', /a\/db.*: it is a FIFO, not a directory/);
      mkdirSync(join(dir, 'b'));
      symlinkSync('/dev/zero', join(dir, 'b', 'db'));
      await openFails(join(dir, 'b'), 'STORAGE_FAILED', /b\/db.*: it is a character device, not a directory/);
      mkdirSync(join(dir, 'c'));
      symlinkSync('/proc/self', join(dir, 'c', 'db'));
      await openFails(join(dir, 'c'), 'STORAGE_FAILED', /c\/db.*proc/);
    });

    it('refuses LevelDB files that are not files (a FIFO CURRENT, a CURRENT linked to /dev/zero)', async () => {
      const { execFileSync } = await import('node:child_process');
      mkdirSync(join(dir, 'a', 'db'), { recursive: true });
      execFileSync('mkfifo', [join(dir, 'a', 'db', 'CURRENT')]);
      await openFails(join(dir, 'a'), 'STORAGE_FAILED', /CURRENT.*is a FIFO, not a file/);
      mkdirSync(join(dir, 'b', 'db'), { recursive: true });
      symlinkSync('/dev/zero', join(dir, 'b', 'db', 'CURRENT'));
      await openFails(join(dir, 'b'), 'STORAGE_FAILED', /CURRENT.*is a character device, not a file/);
    });
  });

  describe('a LevelDB that llmstate did not write', () => {
    it('is refused and left untouched when it holds keys but no format record', async () => {
      await putRaw(dir, [['user:1', 'alice'], ['user:2', 'bob']]);
      const before = await rawEntries(dir);
      await openFails(dir, 'STORAGE_FAILED', /is not an llmstate store.*left untouched/);
      assert.deepEqual(await rawEntries(dir), before, 'nothing was written into it');
    });

    it('is refused when its keys look like llmstate sublevels but it has no format record', async () => {
      await putRaw(dir, [['!state!x', 'v']]);
      await openFails(dir, 'STORAGE_FAILED', /is not an llmstate store/);
      assert.equal((await rawEntries(dir)).length, 1);
    });

    for (const [where, key] of [
      ['before every sublevel', ' early'],
      ['between two sublevels', '!events"x'],
      ['between a sublevel and a longer one it prefixes', '!eventsA'],
      ['after every sublevel', 'zzz'],
      ['with no prefix at all', '\x00'],
    ] as const) {
      it(`refuses an llmstate store that also holds a key ${where}, and leaves it untouched`, async () => {
        const rt = await createRuntime({ dataDir: dir });
        await rt.state.set(Scope.global(), 'k', 1);
        await rt.close();
        await putRaw(dir, [[key, 'foreign']]);
        const before = await rawEntries(dir);
        await openFails(dir, 'STORAGE_FAILED', /not an llmstate store.*outside llmstate's namespaces.*left untouched/);
        assert.deepEqual(await rawEntries(dir), before);
      });
    }

    it('stamps a LevelDB that holds no key at all (an open that stopped before stamping it)', async () => {
      await putRaw(dir, []);
      const rt = await createRuntime({ dataDir: dir });
      await rt.state.set(Scope.global(), 'k', 'v');
      await rt.close();
      const again = await createRuntime({ dataDir: dir });
      assert.equal(await again.state.get(Scope.global(), 'k'), 'v');
      await again.close();
    });
  });

  describe('the format record', () => {
    for (const payload of ['null', 'not json', '{}', '{"format":"x"}', '{"format":0,"createdAt":1}', '[1]', '{"format":1}']) {
      it(`with a valid checksum but the payload ${payload} is DATA_CORRUPT`, async () => {
        const rt = await createRuntime({ dataDir: dir });
        await storageOf(rt).batch([{ type: 'put', sublevel: 'meta', key: Buffer.from('format'), value: encodeRecord({ seq: 0, timestamp: 0 }, payload) }]);
        await rt.close();
        const error = await openFails(dir, 'DATA_CORRUPT', /format record/);
        assert.match(error.message, new RegExp(join(dir, 'db')));
      });
    }
  });

  describe('permissions', () => {
    it('says permission denied, with the EACCES, for a store it may not read', async () => {
      const dataDir = join(dir, 'store');
      const rt = await createRuntime({ dataDir });
      await rt.state.set(Scope.global(), 'k', 1);
      await rt.close();
      // The test directories stay passable for the unprivileged user; only the store's db is closed to it.
      chmodSync(dir, 0o755);
      chmodSync(dataDir, 0o755);
      chmodSync(join(dataDir, 'db'), 0o700);
      if (process.getuid?.() !== 0) chmodSync(join(dataDir, 'db'), 0o000);
      const result = await openAsUnprivileged(dataDir);
      assert.equal(result.opened, false);
      assert.equal(result.code, 'STORAGE_FAILED', result.message);
      assert.match(result.message!, /permission denied \(EACCES\)/);
      assert.match(result.message!, new RegExp(join(dataDir, 'db')));
      assert.equal(result.causeCode, 'EACCES');
      assert.deepEqual(readdirSync(dataDir), ['db'], 'nothing was created');
    });
  });
});
