import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime } from '../../src/index.js';
import { LlmStateSaver, SqliteCheckpoints, type SqliteImportResult } from '../../src/langgraph/index.js';
import { assertSameThreads } from '../langgraph/compareSavers.js';
import { config, Database, forecastGraph, resume, writeSqliteFixture } from '../langgraph/sqliteFixture.js';
import { assertBuilt, assertFails, assertSucceeds, inDir, llmstate, PROJECT_ROOT, removeTempDirs, tempDir } from './runCli.js';

const THREADS = ['done', 'interrupted', 'user/42 ü'];

describe('llmstate langgraph import', function () {
  this.timeout(120_000);
  before(assertBuilt);
  let file: string;
  let dataDir: string;
  let fixtureDir: string;
  before(async () => {
    fixtureDir = mkdtempSync(join(tmpdir(), 'lg-bench-cli-fixture-'));
    file = await writeSqliteFixture(fixtureDir);
  });
  after(() => rmSync(fixtureDir, { recursive: true, force: true }));
  beforeEach(() => {
    dataDir = join(tempDir('lg-bench-cli-'), 'data');
  });
  afterEach(() => removeTempDirs());

  it('copies every thread of a SqliteSaver file into the store, prints what it copied, and the interrupted thread resumes on LlmStateSaver', async () => {
    const imported = await inDir(dataDir, 'langgraph', 'import', '--sqlite', file, '--json');
    assertSucceeds(imported);
    const result = JSON.parse(imported.stdout) as SqliteImportResult;
    assert.deepEqual(
      result.threads.map((thread) => [thread.threadId, thread.namespaces, thread.checkpoints, thread.existed]),
      [['done', 2, 9, false], ['interrupted', 2, 6, false], ['user/42 ü', 2, 6, false]],
    );
    assert.equal(result.checkpoints, 21);
    assert.equal(result.writes, result.threads.reduce((sum, thread) => sum + thread.writes, 0));

    const again = await inDir(dataDir, 'langgraph', 'import', '--sqlite', file);
    assertSucceeds(again);
    const lines = again.stdout.trimEnd().split('\n');
    assert.equal(lines[0], `imported 3 threads from ${file} into ${dataDir}: 21 checkpoints, ${result.writes} pending writes`);
    assert.match(lines[1], /^thread\s+namespaces\s+checkpoints\s+writes\s+in the store before$/);
    assert.match(lines[2], /^done\s+2\s+9\s+\d+\s+yes$/);
    assert.equal(lines.length, 5);

    const rt = await createRuntime({ dataDir });
    const source = SqliteCheckpoints.open(file);
    try {
      const saver = new LlmStateSaver(rt);
      await assertSameThreads(source.saver, saver, THREADS);
      const final = await forecastGraph(saver).invoke(resume('yes'), config('user/42 ü'));
      assert.equal(final.messages.at(-1)?.content, 'forecast published');
    } finally {
      source.close();
      await rt.close();
    }
  });

  it('--threads imports only the threads named; --dry-run prints what would be imported and creates no store', async () => {
    const dry = await inDir(dataDir, 'langgraph', 'import', '--sqlite', file, '--dry-run', '--threads', 'done,interrupted');
    assertSucceeds(dry);
    assert.match(dry.stdout, /^dry run: would import 2 threads from .* 15 checkpoints, \d+ pending writes; nothing was written\n/);
    assert.equal(existsSync(dataDir), false);

    assertSucceeds(await inDir(dataDir, 'langgraph', 'import', '--sqlite', file, '--threads', 'interrupted', '--threads', 'user/42 ü'));
    const rt = await createRuntime({ dataDir });
    try {
      const saver = new LlmStateSaver(rt);
      assert.equal(await saver.getTuple(config('done')), undefined);
      assert.ok((await saver.getTuple(config('interrupted'))) !== undefined);
      assert.ok((await saver.getTuple(config('user/42 ü'))) !== undefined);
    } finally {
      await rt.close();
    }
  });

  it('a missing file, a file that is not SQLite, SQLite without the tables, or an unknown thread fails with IMPORT_FAILED, and creates no store', async () => {
    const dir = tempDir('lg-bench-cli-bad-');
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'not a database\n'.repeat(200));
    const other = join(dir, 'other.sqlite');
    const db = new Database(other);
    db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY)');
    db.close();
    const cases: Array<[string[], string]> = [
      [['--sqlite', join(dir, 'nope.sqlite')], `error[IMPORT_FAILED]: There is no file ${join(dir, 'nope.sqlite')}`],
      [['--sqlite', text], `error[IMPORT_FAILED]: ${text} is not a SQLite database`],
      [['--sqlite', other], `error[IMPORT_FAILED]: ${other} is a SQLite database without SqliteSaver's \`checkpoints\` table`],
      [['--sqlite', file, '--threads', 'done,nope'], `error[IMPORT_FAILED]: ${file} holds no thread "nope"; nothing was imported`],
    ];
    for (const [args, stderr] of cases) {
      assertFails(await inDir(dataDir, 'langgraph', 'import', ...args), 1, stderr);
      assert.equal(existsSync(dataDir), false, args.join(' '));
    }
  });

  it('usage errors exit 2: no --sqlite, an empty path, an empty thread id', async () => {
    assertFails(await inDir(dataDir, 'langgraph', 'import'), 2, "error: required option '--sqlite <file>' not specified");
    assertFails(await inDir(dataDir, 'langgraph', 'import', '--sqlite', ''), 2, "error: option '--sqlite <file>' argument '' is invalid. Expected a SQLite file, got an empty path.");
    assertFails(await inDir(dataDir, 'langgraph', 'import', '--sqlite', file, '--threads', 'a,,b'), 2, "error: option '--threads <ids>' argument 'a,,b' is invalid. Expected thread ids separated by commas");
  });

  it('finds @langchain/langgraph-checkpoint-sqlite from the working directory', async () => {
    assertSucceeds(await llmstate(['--data-dir', dataDir, 'langgraph', 'import', '--sqlite', file, '--threads', 'done'], { cwd: PROJECT_ROOT }));
  });
});
