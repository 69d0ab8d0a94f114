import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClassicLevel } from 'classic-level';
import type { LlmStateError } from '../../src/errors.js';
import { createDiskBackend, createMemoryBackend } from '../../src/storage/LevelBackend.js';
import type { StorageBackend } from '../../src/storage/StorageBackend.js';
import { storageFailure, storageSuite } from '../../src/storage/storageSuite.js';

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LEVEL_BACKEND_MODULE = new URL('../../src/storage/LevelBackend.ts', import.meta.url).href;

const tempDirs: string[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmstate-storage-'));
  tempDirs.push(dir);
  return dir;
}

function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

describe('storage backends', () => {
  afterEach(removeTempDirs);

  storageSuite({
    name: 'memory-level',
    factory: createMemoryBackend,
    supports: { persistence: false, sync: false },
    harness: { describe, it },
  });

  storageSuite({
    name: 'classic-level',
    factory: () => createDiskBackend(tempDir()),
    reopen: (closed) => createDiskBackend(closed.location),
    supports: { persistence: true, sync: true },
    harness: { describe, it },
  });

  describe('data directory lock (classic-level)', () => {
    const opened: StorageBackend[] = [];
    const children: ChildProcessWithoutNullStreams[] = [];

    afterEach(async () => {
      for (const backend of opened.splice(0)) await backend.close();
      for (const child of children.splice(0)) await stop(child);
    });

    async function openDisk(dir: string): Promise<StorageBackend> {
      const backend = createDiskBackend(dir);
      opened.push(backend);
      await backend.open();
      return backend;
    }

    it('a second process cannot open a data directory in use, and is told the directory and lock file', async () => {
      const dir = tempDir();
      const child = await holdOpenInChild(dir);
      children.push(child);

      const err = await storageFailure(() => openDisk(dir));
      assertNamesTheLock(err, dir);

      await stop(child);
      const backend = await openDisk(dir);
      assert.equal(backend.status, 'open', 'the directory opens once the other process has exited');
    });

    it('a second backend in the same process cannot open a data directory in use', async () => {
      const dir = tempDir();
      const first = await openDisk(dir);

      const err = await storageFailure(() => openDisk(dir));
      assertNamesTheLock(err, dir);

      await first.close();
      const second = await openDisk(dir);
      assert.equal(second.status, 'open', 'the directory opens once the first backend has closed');
    });

    it('creating a disk backend does not lock its directory until it is opened', async () => {
      const dir = tempDir();
      // abstract-level would open a new database by itself on the next microtask; see that nothing does.
      const opening: string[] = [];
      const prototype = ClassicLevel.prototype as unknown as { _open(this: { location: string }, ...args: unknown[]): Promise<void> };
      const open = prototype._open;
      prototype._open = function (...args) {
        opening.push(this.location);
        return open.apply(this, args);
      };
      try {
        createDiskBackend(dir);
        await new Promise((resolve) => setImmediate(resolve));
      } finally {
        prototype._open = open;
      }
      assert.deepEqual(opening, [], 'nothing opened the directory');
      const backend = await openDisk(dir);
      assert.equal(backend.status, 'open');
    });
  });
});

function assertNamesTheLock(err: LlmStateError, dir: string): void {
  const lock = path.join(dir, 'LOCK');
  assert.ok(err.message.includes(dir), `"${err.message}" does not name the directory`);
  assert.ok(err.message.includes(lock), `"${err.message}" does not name the lock file`);
  assert.deepEqual(err.details, { location: dir, lock });
}

// Runs as an ES module in the child; it keeps the store open until its stdin closes or it is killed.
const HOLD_OPEN_SCRIPT = `
const [moduleUrl, directory] = process.argv.slice(1);
const { createDiskBackend } = await import(moduleUrl);
await createDiskBackend(directory).open();
process.stdout.write('READY\\n');
process.stdin.resume();
`;

async function holdOpenInChild(dir: string): Promise<ChildProcessWithoutNullStreams> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '--eval', HOLD_OPEN_SCRIPT, LEVEL_BACKEND_MODULE, dir],
    { cwd: PROJECT_ROOT },
  );
  try {
    await readyLine(child);
  } catch (err) {
    await stop(child);
    throw err;
  }
  return child;
}

function readyLine(child: ChildProcessWithoutNullStreams): Promise<void> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('READY\n')) resolve();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      reject(new Error(`The child exited (${code ?? signal}) before printing READY:\n${stderr}`));
    });
  });
}

async function stop(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill();
  await exited;
}
