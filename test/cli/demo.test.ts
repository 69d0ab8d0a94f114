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
  '6. Close the runtime',
  '7. Reopen the store and read everything back',
];

function dataDirLine(stdout: string): string {
  const match = /^data dir: (\S+)/m.exec(stdout);
  assert.ok(match !== null, `no data dir line in:\n${stdout}`);
  return match[1];
}

describe('llmstate demo', () => {
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
    assert.match(result.stdout, /^ {3}16 values read back, each deepStrictEqual to what was written$/m);
    assert.doesNotMatch(result.stdout, /✗/);
    assert.match(result.stdout, /^Every check passed\.$/m);
    assert.ok(result.stdout.includes(`llmstate --data-dir ${dataDir} keys agent:researcher`), 'prints how to look around');

    const keys = await llmstate(['--data-dir', dataDir, 'keys', 'agent:researcher']);
    assert.deepEqual(keys, { code: 0, stdout: 'messages\nnotes\nprogress\ntopic\n', stderr: '' });
    const progress = await llmstate(['--data-dir', dataDir, 'get', 'agent:researcher', 'progress']);
    assert.deepEqual(JSON.parse(progress.stdout), { sourcesRead: 4, notes: 2 });
    const status = await llmstate(['--data-dir', dataDir, 'get', 'workflow:report-42', 'status']);
    assert.equal(status.stdout, '"drafting"\n');
  });

  it('uses --data-dir when given, and can run again on the same store', async () => {
    const dataDir = tempDir();
    for (const run of [1, 2]) {
      const result = await llmstate(['--data-dir', dataDir, 'demo']);
      assert.equal(result.code, 0, `run ${run}: ${result.stderr}`);
      assert.equal(dataDirLine(result.stdout), dataDir);
      assert.match(result.stdout, /\(from --data-dir\)/);
      assert.match(result.stdout, /^Every check passed\.$/m);
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
