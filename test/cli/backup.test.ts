import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRuntime, Scope } from '../../src/index.js';
import { shellQuote } from '../../src/cli/output.js';
import { assertBuilt, assertFails, assertSucceeds, childEnv, CLI, llmstate, removeTempDirs, tempDir, type CliResult } from './runCli.js';

const KEY = 'LLMSTATE_BACKUP_KEY';
const a1 = Scope.agent('a1');
const a2 = Scope.agent('a2');

/** Runs llmstate on `dataDir` without a backup key in its environment, unless `env` gives one. */
function run(dataDir: string, args: readonly string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return llmstate(['--data-dir', dataDir, ...args], { env: { [KEY]: undefined, ...env } });
}

async function write(dataDir: string, values: ReadonlyArray<[Scope, string, unknown]>): Promise<number> {
  const rt = await createRuntime({ dataDir });
  try {
    for (const [scope, key, value] of values) await rt.state.set(scope, key, value);
    return (await rt.stats()).lastCommitSeq;
  } finally {
    await rt.close();
  }
}

async function read(dataDir: string, scope: Scope, key: string): Promise<unknown> {
  const rt = await createRuntime({ dataDir });
  try {
    return await rt.state.get(scope, key);
  } finally {
    await rt.close();
  }
}

interface ListedBackup {
  id: string;
  file: string;
  parentId: string | null;
  kind: string;
  records: number;
  encrypted: boolean;
  pinned: boolean;
  reason: string;
}

async function list(dataDir: string, ...args: string[]): Promise<ListedBackup[]> {
  const result = await run(dataDir, ['backup', 'list', '--json', ...args]);
  assertSucceeds(result);
  return JSON.parse(result.stdout) as ListedBackup[];
}

async function create(dataDir: string, ...args: string[]): Promise<ListedBackup> {
  const result = await run(dataDir, ['backup', 'create', '--json', ...args]);
  assertSucceeds(result);
  return JSON.parse(result.stdout) as ListedBackup;
}

/** The `id` line of `backup create`'s text output. */
function idOf(stdout: string): string {
  const match = /^id +(\S+)$/m.exec(stdout);
  assert.ok(match, stdout);
  return match[1];
}

const hasScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Runs llmstate under `script`, on a pseudo-terminal: stdout and stderr are both the terminal. */
function onTerminal(dataDir: string, args: readonly string[]): Promise<{ code: number; output: string }> {
  const command = [process.execPath, CLI, '--data-dir', dataDir, ...args].map(shellQuote).join(' ');
  return new Promise((resolve, reject) => {
    execFile('script', ['-qec', command, '/dev/null'], { env: childEnv({ [KEY]: undefined }) }, (error, stdout) => {
      if (error !== null && typeof error.code !== 'number') return reject(error);
      resolve({ code: error === null ? 0 : (error.code as number), output: stdout });
    });
  });
}

describe('llmstate backup', function () {
  this.timeout(180_000);
  before(assertBuilt);
  let dir: string;
  beforeEach(() => (dir = join(tempDir('llmstate-backup-cli-'), 'data')));
  afterEach(() => removeTempDirs());

  it('create prints the descriptor; --incremental builds on the newest; list shows both, as a table or JSON; verify checks the chain', async () => {
    await write(dir, [[a1, 'topic', { name: 'weather' }]]);
    const full = await run(dir, ['backup', 'create']);
    assertSucceeds(full);
    const fullId = idOf(full.stdout);
    assert.match(full.stdout, /^kind +full$/m);
    assert.match(full.stdout, /^parent +-$/m);
    assert.match(full.stdout, /^seq +1$/m);
    assert.match(full.stdout, /^compression +brotli$/m);
    assert.match(full.stdout, /^encrypted +no$/m);
    assert.match(full.stdout, new RegExp(`^file +${join(dir, 'backups', `llmstate-${fullId}.backup`).replaceAll('.', '\\.')}$`, 'm'));
    assert.match(full.stdout, /^records +\d+$/m);
    assert.match(full.stdout, /^bytes +\d+ bytes$/m);

    await write(dir, [[a1, 'topic', { name: 'rain' }]]);
    const incremental = await run(dir, ['backup', 'create', '--incremental', '--compression', 'gzip']);
    assertSucceeds(incremental);
    const incrementalId = idOf(incremental.stdout);
    assert.match(incremental.stdout, /^kind +incremental$/m);
    assert.match(incremental.stdout, new RegExp(`^parent +${fullId}$`, 'm'));
    assert.match(incremental.stdout, /^compression +gzip$/m);

    const table = await run(dir, ['backup', 'list']);
    assertSucceeds(table);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^id +created +kind +parent +seq +records +size +flags +reason$/);
    assert.match(lines[1], new RegExp(`^${fullId} +\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z +full +- +1 +\\d+ +\\d+ bytes +- +manual$`));
    assert.match(lines[2], new RegExp(`^${incrementalId} +\\S+ +incremental +${fullId} +\\d+ +\\d+ +\\S+ (bytes|KiB) +- +manual$`));
    assert.equal(lines.length, 3);

    const listed = await list(dir);
    assert.deepEqual(
      listed.map(({ id, parentId, kind }) => ({ id, parentId, kind })),
      [
        { id: fullId, parentId: null, kind: 'full' },
        { id: incrementalId, parentId: fullId, kind: 'incremental' },
      ],
    );

    const verified = await run(dir, ['backup', 'verify', incrementalId]);
    assertSucceeds(verified);
    assert.equal(verified.stdout, `ok: ${incrementalId} (chain of 2, ${listed[0].records + listed[1].records} records)\n`);
    const json = await run(dir, ['backup', 'verify', fullId, '--json']);
    assertSucceeds(json);
    assert.deepEqual((JSON.parse(json.stdout) as { chain: ListedBackup[] }).chain.map(({ id }) => id), [fullId]);
  });

  it('--help lists the subcommands; --data-dir may also come after them', async () => {
    const help = await llmstate(['backup', '--help']);
    assertSucceeds(help);
    for (const sub of ['create', 'list', 'verify', 'restore', 'prune', 'pin', 'unpin']) assert.match(help.stdout, new RegExp(`^  ${sub} `, 'm'));
    await write(dir, [[a1, 'k', 1]]);
    const after = await llmstate(['backup', 'list', '--data-dir', dir], { env: { [KEY]: undefined } });
    assert.equal(after.code, 0, after.stderr);
    assert.equal(after.stderr, `no backups in ${join(dir, 'backups')}\n`);
  });

  it('--backup-dir keeps backups elsewhere; an empty directory lists nothing, with a note', async () => {
    await write(dir, [[a1, 'k', 1]]);
    const elsewhere = join(tempDir('llmstate-backup-cli-'), 'backups');
    const empty = await run(dir, ['backup', 'list', '--backup-dir', elsewhere]);
    assert.equal(empty.code, 0);
    assert.equal(empty.stdout, '');
    assert.equal(empty.stderr, `no backups in ${elsewhere}\n`);
    const created = await create(dir, '--backup-dir', elsewhere);
    assert.equal(created.file, join(elsewhere, `llmstate-${created.id}.backup`));
    assert.deepEqual((await list(dir, '--backup-dir', elsewhere)).map(({ id }) => id), [created.id]);
    assert.deepEqual(await list(dir), []);
  });

  it('bad input: unknown ids, bad options and a missing store, with their codes and exit codes', async () => {
    await write(dir, [[a1, 'k', 1]]);
    for (const sub of ['verify', 'restore', 'pin', 'unpin']) {
      const result = await run(dir, ['backup', sub, 'no-such-backup']);
      assertFails(result, 1, 'error[BACKUP_NOT_FOUND]: There is no backup no-such-backup in');
    }
    assertFails(await run(dir, ['backup', 'create', '--compression', 'xz']), 2, "error: option '--compression <codec>' argument 'xz' is invalid. Allowed choices are brotli, gzip, none.");
    assertFails(await run(dir, ['backup', 'restore', '--at', 'yesterday']), 2, "error: option '--at <time|seq>' argument 'yesterday' is invalid");
    assertFails(await run(dir, ['backup', 'restore', '--at', '2026-12-01T10:00:00']), 2, 'error: option');
    assertFails(await run(dir, ['backup', 'restore']), 2, 'error: name what to restore');
    assertFails(await run(dir, ['backup', 'restore', '--scope', 'agent:a1', 'some-id']), 2, 'error: name what to restore: a backup id, --at <time|seq>, or --from <file> (--scope takes every word after it');
    assertFails(await run(dir, ['backup', 'restore', 'some-id', '--from', join(dir, 'x.backup')]), 2, 'error: --from restores a file alone');
    assertFails(await run(dir, ['backup', 'restore', '--from', dir]), 2, `error: --from ${dir} is a directory`);
    assertFails(await run(dir, ['backup', 'restore', '--scope', 'nope', '--at', '1']), 1, 'error[SCOPE_INVALID]');
    assertFails(await run(dir, ['backup', 'prune']), 2, 'error: prune needs a rule');
    assertFails(await run(dir, ['backup', 'prune', '--keep-last', '-1']), 2, 'error: ');
    assertFails(await run(dir, ['backup', 'prune', '--max-age', '7y']), 2, "error: option '--max-age <duration>' argument '7y' is invalid");
    assertFails(await run(dir, ['backup', 'verify', 'x', '--key-file', join(dir, 'no-key')]), 2, "error: option '--key-file <path>' argument");
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    assertFails(await run(dir, ['backup', 'list', '--backup-dir', file]), 2, `error: option '--backup-dir <dir>' argument`);
    assertFails(await run(dir, ['backup', 'verify', 'x', '--key-file', file]), 2, `error: option '--key-file <path>' argument`);

    const missing = join(dir, 'no-store-here');
    assertFails(await run(missing, ['backup', 'create']), 1, 'error[STORAGE_FAILED]');
    assertFails(await run(missing, ['backup', 'prune', '--keep-last', '1']), 1, 'error[STORAGE_FAILED]');
    // list and verify read only the backup directory: they work where the data directory is gone.
    const listed = await run(missing, ['backup', 'list']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(listed.stderr, `no backups in ${join(missing, 'backups')}\n`);
    const { id } = await create(dir);
    const verified = await run(missing, ['backup', 'verify', id, '--backup-dir', join(dir, 'backups')]);
    assertSucceeds(verified);
    assert.match(verified.stdout, new RegExp(`^ok: ${id} \\(chain of 1, \\d+ records\\)\\n$`));
    assertFails(await run(missing, ['backup', 'verify', id]), 1, 'error[BACKUP_NOT_FOUND]');
    assert.equal(existsSync(missing), false, 'nothing was created');
    assertFails(await run(missing, ['backup', 'restore', '--from', join(dir, 'gone.backup')]), 1, 'error[BACKUP_NOT_FOUND]: There is no backup file');
    assert.equal(existsSync(missing), false, 'a missing --from file is found before a store is created');
  });

  it('restore <id> puts everything back after a safety backup, which it names', async () => {
    await write(dir, [
      [a1, 'topic', 'weather'],
      [a2, 'mood', 'calm'],
    ]);
    const { id } = await create(dir);
    await write(dir, [
      [a1, 'topic', 'rain'],
      [a2, 'extra', true],
    ]);
    const restored = await run(dir, ['backup', 'restore', id]);
    assertSucceeds(restored);
    const lines = restored.stdout.trimEnd().split('\n');
    assert.match(lines[0], new RegExp(`^restored backup ${id} \\(everything\\) as of sequence 2: \\d+ records read$`));
    const safety = /^safety backup (\S+), taken just before/.exec(lines[1]);
    assert.ok(safety, restored.stdout);
    assert.equal(await read(dir, a1, 'topic'), 'weather');
    assert.equal(await read(dir, a2, 'extra'), undefined);
    const listed = await list(dir);
    assert.deepEqual(
      listed.map(({ id, reason }) => ({ id, reason })),
      [
        { id, reason: 'manual' },
        { id: safety[1], reason: 'safety' },
      ],
    );
  });

  it('restore --scope --dry-run prints per-scope counts with samples and writes nothing; --scope replaces only that scope', async () => {
    await write(dir, [
      [a1, 'kept', 1],
      [a1, 'changed', 1],
      [a1, 'removed-later', 1],
      [a2, 'other', 1],
    ]);
    const { id } = await create(dir);
    await write(dir, [
      [a1, 'changed', 2],
      [a1, 'added', 2],
      [a2, 'other', 2],
    ]);
    const rt = await createRuntime({ dataDir: dir });
    await rt.state.delete(a1, 'removed-later');
    await rt.close();

    const dryRun = await run(dir, ['backup', 'restore', id, '--scope', 'agent:a1', '--dry-run']);
    assertSucceeds(dryRun);
    assert.equal(
      dryRun.stdout.split('\n').slice(1).join('\n'),
      ['would change:', '  agent:a1: 1 added, 1 changed, 1 removed', '    added    removed-later', '    changed  changed', '    removed  added', 'nothing was written', ''].join('\n'),
    );
    assert.match(dryRun.stdout, new RegExp(`^dry run: restoring backup ${id} \\(some scopes: agent:a1\\) as of sequence 4`));
    assert.equal(await read(dir, a1, 'changed'), 2, 'a dry run writes nothing');
    assert.equal((await list(dir)).length, 1, 'a dry run takes no safety backup');

    const json = await run(dir, ['backup', 'restore', id, '--scope', 'agent:a1', 'agent:a2', '--dry-run', '--json']);
    assertSucceeds(json);
    const changes = (JSON.parse(json.stdout) as { changes: Array<{ scope: string; changed: number }> }).changes;
    assert.deepEqual(changes.map(({ scope, changed }) => ({ scope, changed })), [
      { scope: 'agent:a1', changed: 1 },
      { scope: 'agent:a2', changed: 1 },
    ]);

    const restored = await run(dir, ['backup', 'restore', id, '--scope', 'agent:a1']);
    assertSucceeds(restored);
    assert.match(restored.stdout, /^safety backup \S+, taken just before/m);
    assert.match(restored.stdout, /^  agent:a1: 1 added, 1 changed, 1 removed$/m);
    assert.equal(await read(dir, a1, 'changed'), 1);
    assert.equal(await read(dir, a1, 'added'), undefined);
    assert.equal(await read(dir, a1, 'removed-later'), 1);
    assert.equal(await read(dir, a2, 'other'), 2, 'other scopes are left as they are');
  });

  it('restore --at takes a commit sequence or an ISO time: a backup, then the event log', async () => {
    await write(dir, [[a1, 'n', 1]]);
    await create(dir);
    const atTwo = await write(dir, [[a1, 'n', 2]]);
    const between = new Date().toISOString();
    await write(dir, [[a1, 'n', 3]]);

    const byTime = await run(dir, ['backup', 'restore', '--at', between, '--dry-run']);
    assertSucceeds(byTime);
    assert.match(byTime.stdout, new RegExp(`^dry run: restoring backup \\S+ \\(point in time\\) as of sequence ${atTwo}: `));
    assert.match(byTime.stdout, /^  agent:a1: 0 added, 1 changed, 0 removed$/m);
    assert.equal(await read(dir, a1, 'n'), 3, 'a dry run writes nothing');

    const bySeq = await run(dir, ['backup', 'restore', '--at', String(atTwo)]);
    assertSucceeds(bySeq);
    assert.match(bySeq.stdout, new RegExp(`^restored backup \\S+ \\(point in time\\) as of sequence ${atTwo}: \\d+ records read, then \\d+ commits? replayed from the event log$`, 'm'));
    assert.equal(await read(dir, a1, 'n'), 2);
  });

  it('prune --dry-run prints each decision and its reasons and deletes nothing; prune deletes; pinned backups stay', async () => {
    await write(dir, [[a1, 'k', 1]]);
    const first = await create(dir);
    const second = await create(dir);
    const third = await create(dir);

    const dryRun = await run(dir, ['backup', 'prune', '--keep-last', '1', '--max-age', '7d', '--dry-run']);
    assertSucceeds(dryRun);
    const lines = dryRun.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^decision +id +created +size +reasons$/);
    assert.match(lines[1], new RegExp(`^delete +${first.id} .* not selected by any keep rule$`));
    assert.match(lines[2], new RegExp(`^delete +${second.id} .* not selected by any keep rule$`));
    assert.match(lines[3], new RegExp(`^keep +${third.id} .* keepLast \\(1 of 1\\)$`));
    assert.match(lines[4], /^dry run: would delete 2 backups \(.+\) and keep 1 \(.+\); nothing was deleted$/);
    assert.equal((await list(dir)).length, 3);
    const json = await run(dir, ['backup', 'prune', '--keep-last', '1', '--dry-run', '--json']);
    assertSucceeds(json);
    const plan = JSON.parse(json.stdout) as { dryRun: boolean; plan: { decisions: Array<{ id: string; keep: boolean }> } };
    assert.equal(plan.dryRun, true);
    assert.deepEqual(plan.plan.decisions.map(({ keep }) => keep), [false, false, true]);

    const pinned = await run(dir, ['backup', 'pin', first.id]);
    assertSucceeds(pinned);
    assert.equal(pinned.stdout, `pinned ${first.id}\n`);
    assert.match((await run(dir, ['backup', 'list'])).stdout, new RegExp(`^${first.id} .* pinned +manual$`, 'm'));

    const pruned = await run(dir, ['backup', 'prune', '--keep-last', '1']);
    assertSucceeds(pruned);
    assert.match(pruned.stdout, new RegExp(`^keep +${first.id} .*pinned$`, 'm'));
    assert.match(pruned.stdout, /^deleted 1 backup \(.+\), kept 2 \(.+\)$/m);
    assert.deepEqual((await list(dir)).map(({ id, pinned }) => ({ id, pinned })), [
      { id: first.id, pinned: true },
      { id: third.id, pinned: false },
    ]);

    const unpinned = await run(dir, ['backup', 'unpin', first.id]);
    assertSucceeds(unpinned);
    assert.equal(unpinned.stdout, `unpinned ${first.id}\n`);
    assert.equal((await list(dir))[0].pinned, false);
  });

  it('encryption: the key comes from LLMSTATE_BACKUP_KEY or --key-file; without it, BACKUP_KEY_REQUIRED', async () => {
    await write(dir, [[a1, 'secret', 'value']]);
    const noKey = await run(dir, ['backup', 'create', '--encrypt']);
    assertFails(noKey, 1, 'error[BACKUP_KEY_REQUIRED]: ');
    assert.match(noKey.stderr, /--key-file <path>/);

    const passphrase = { [KEY]: 'correct horse battery staple' };
    const created = await run(dir, ['backup', 'create', '--encrypt'], passphrase);
    assertSucceeds(created);
    assert.match(created.stdout, /^encrypted +yes$/m);
    const id = idOf(created.stdout);
    assert.match((await run(dir, ['backup', 'list'])).stdout, new RegExp(`^${id} .* encrypted +manual$`, 'm'));

    assertFails(await run(dir, ['backup', 'verify', id]), 1, 'error[BACKUP_KEY_REQUIRED]: ');
    assertSucceeds(await run(dir, ['backup', 'verify', id], passphrase));
    const keyFile = join(dir, 'key');
    writeFileSync(keyFile, `${passphrase[KEY]}\n`);
    const fromFile = await run(dir, ['backup', 'verify', id, '--key-file', keyFile]);
    assertSucceeds(fromFile);
    assert.match(fromFile.stdout, /^ok: /);
    writeFileSync(keyFile, 'a wrong passphrase\n');
    const wrong = await run(dir, ['backup', 'verify', id, '--key-file', keyFile]);
    assertFails(wrong, 1, 'error[BACKUP_CORRUPT]: ');
    assert.match(wrong.stderr, /the key does not match/);

    await write(dir, [[a1, 'secret', 'changed']]);
    assertFails(await run(dir, ['backup', 'restore', id]), 1, 'error[BACKUP_KEY_REQUIRED]: ');
    assert.equal(await read(dir, a1, 'secret'), 'changed', 'a failed restore changes nothing');
    assertSucceeds(await run(dir, ['backup', 'restore', id], passphrase));
    assert.equal(await read(dir, a1, 'secret'), 'value');
    const safety = (await list(dir)).find((backup) => backup.reason === 'safety');
    assert.equal(safety?.encrypted, true, 'with a key at hand, the safety backup is encrypted too');
  });

  it('the progress bar is drawn on a terminal and not when piped', async () => {
    assert.ok(hasScript, 'this test needs `script` (util-linux) to run the command on a pseudo-terminal');
    await write(dir, [[a1, 'k', 'v']]);
    const piped = await run(dir, ['backup', 'create']);
    assertSucceeds(piped);
    assert.ok(!/backing up|records \|/.test(piped.stdout + piped.stderr));

    const created = await onTerminal(dir, ['backup', 'create']);
    assert.equal(created.code, 0, created.output);
    assert.match(created.output, /backing up .*\d+ records \| [\d.]+ (bytes|KiB) of [\d.]+ (bytes|KiB) \| ETA /);
    const [{ id }] = await list(dir);
    const verified = await onTerminal(dir, ['backup', 'verify', id]);
    assert.equal(verified.code, 0, verified.output);
    assert.match(verified.output, /verifying .*records \|/);
    const restored = await onTerminal(dir, ['backup', 'restore', id]);
    assert.equal(restored.code, 0, restored.output);
    assert.match(restored.output, /reading backups .*records \|/);
  });

  it('disaster recovery: the data directory is gone, and restore --from a backup file brings every value back', async () => {
    const backups = join(tempDir('llmstate-backup-cli-'), 'offsite');
    const values: Array<[string, string, string]> = [
      ['agent:a1', 'topic', '{"name":"weather"}'],
      ['agent:a2', 'notes', '["one","two"]'],
      ['global', 'cfg.model', '"small"'],
    ];
    for (const [scope, key, json] of values.slice(0, 2)) assertSucceeds(await run(dir, ['set', scope, key, json]));
    await create(dir, '--backup-dir', backups);
    assertSucceeds(await run(dir, ['set', ...values[2]]));
    const last = await create(dir, '--backup-dir', backups, '--incremental');

    rmSync(dir, { recursive: true, force: true });
    assert.equal(existsSync(dir), false);
    assertFails(await run(dir, ['get', 'agent:a1', 'topic']), 1, 'error[STORAGE_FAILED]');

    const restored = await run(dir, ['backup', 'restore', '--from', last.file]);
    assertSucceeds(restored);
    assert.match(restored.stdout, new RegExp(`^restored backup ${last.id} \\(everything\\)`));
    for (const [scope, key, json] of values) {
      const got = await run(dir, ['get', scope, key]);
      assertSucceeds(got);
      assert.equal(got.stdout, `${json}\n`);
    }
    assert.deepEqual(readdirSync(backups).filter((name) => name.endsWith('.backup')).length, 2, 'the backups are only read');
  });

  it('escapes what it prints: a control character in a path is shown as \\u escape', async () => {
    await write(dir, [[a1, 'k', 1]]);
    const odd = join(tempDir('llmstate-backup-cli-'), 'b\x1b[31mad');
    const result = await run(dir, ['backup', 'list', '--backup-dir', odd]);
    assert.equal(result.code, 0);
    assert.ok(!result.stderr.includes('\x1b'), result.stderr);
    assert.ok(result.stderr.includes('b\\u001b[31mad'), result.stderr);
    const created = await run(dir, ['backup', 'create', '--backup-dir', odd]);
    assertSucceeds(created);
    assert.match(created.stdout, /^file +.*b\\u001b\[31mad\/llmstate-/m);
  });
});
