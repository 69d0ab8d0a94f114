import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { assertBuilt, assertSucceeds, llmstate, PROJECT_ROOT, removeTempDirs, tempDir } from './runCli.js';

const KEY = 'LLMSTATE_BACKUP_KEY';

/** The commands of the disaster-recovery runbook in docs/backups.md, in order, as written there. */
function runbookCommands(): string[] {
  const page = readFileSync(join(PROJECT_ROOT, 'docs/backups.md'), 'utf8');
  const start = page.indexOf('## Disaster recovery runbook');
  assert.ok(start >= 0, 'docs/backups.md has a disaster recovery runbook');
  const end = page.indexOf('\n## ', start + 1);
  const section = page.slice(start, end === -1 ? undefined : end);
  const commands: string[] = [];
  for (const [, block] of section.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block.split('\n')) if (line.trim().startsWith('llmstate ')) commands.push(line.trim());
  }
  return commands;
}

describe('the disaster-recovery runbook of docs/backups.md', function () {
  this.timeout(180_000);
  before(assertBuilt);
  afterEach(() => removeTempDirs());

  it('followed step by step, brings every value back into a data directory that was deleted', async () => {
    const root = tempDir('llmstate-runbook-');
    const dataDir = join(root, 'data');
    const offsite = join(root, 'offsite');
    const env = { [KEY]: undefined };
    const cli = (args: string[]) => llmstate(args, { env });
    const values: Array<[string, string, string]> = [
      ['agent:a1', 'topic', '{"name":"weather"}'],
      ['agent:a1', 'notes', '["one","two"]'],
      ['global', 'cfg.model', '"small"'],
    ];
    for (const [scope, key, json] of values.slice(0, 2)) assertSucceeds(await cli(['--data-dir', dataDir, 'set', scope, key, json]));
    assertSucceeds(await cli(['--data-dir', dataDir, 'backup', 'create', '--backup-dir', offsite]));
    assertSucceeds(await cli(['--data-dir', dataDir, 'set', ...values[2]]));
    const newest = await cli(['--data-dir', dataDir, 'backup', 'create', '--incremental', '--backup-dir', offsite, '--json']);
    assertSucceeds(newest);
    const { id } = JSON.parse(newest.stdout) as { id: string };

    rmSync(dataDir, { recursive: true, force: true });
    assert.equal(existsSync(dataDir), false);

    const commands = runbookCommands();
    assert.ok(commands.length >= 5, `the runbook's commands: ${commands.join(' | ')}`);
    const outputs: string[] = [];
    for (const command of commands) {
      const args = command
        .replaceAll('/mnt/offsite/llmstate-backups', offsite)
        .replaceAll('./.llmstate', dataDir)
        .replaceAll('<id>', id)
        .split(/\s+/)
        .slice(1);
      const result = await cli(args);
      assert.equal(result.code, 0, `${command}\n${result.stdout}${result.stderr}`);
      outputs.push(result.stdout);
    }
    assert.ok(outputs.some((stdout) => stdout.includes(`ok: ${id} (chain of 2,`)), 'the verify step checked the whole chain');
    assert.equal(existsSync(join(root, 'data', 'backups')), true, 'the safety backup of the restore is in the new data directory');

    for (const [scope, key, json] of values) {
      const got = await cli(['--data-dir', dataDir, 'get', scope, key]);
      assertSucceeds(got);
      assert.equal(got.stdout, `${json}\n`);
    }
  });
});
