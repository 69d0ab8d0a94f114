import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createRuntime, Scope, type Runtime } from '../../src/index.js';
import { rejection, tempDir } from '../helpers.js';

/**
 * The backup directory is given (`backups: { dir }`), so it outlives the data directory: a new store
 * starts beside backups of an older one, whose sequences are ahead of its own.
 */
describe('a backup directory that outlives its data directory', function () {
  this.timeout(60_000);
  let root: { dir: string; cleanup: () => void };
  let open: Runtime[];
  let lost: { id: string; seq: number };

  beforeEach(async () => {
    root = tempDir('backup-props-shared');
    open = [];
    const old = await runtime('old');
    for (let i = 0; i < 10; i++) await old.state.set(Scope.agent('a1'), `k${i}`, i);
    lost = await old.backups.create();
    await old.close();
    rmSync(join(root.dir, 'old'), { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const rt of open) await rt.close();
    root.cleanup();
  });

  async function runtime(name: string): Promise<Runtime> {
    const rt = await createRuntime({ dataDir: join(root.dir, name), backups: { dir: join(root.dir, 'backups') } });
    open.push(rt);
    return rt;
  }

  it('restores a backup into a new, empty store', async () => {
    const rt = await runtime('new');
    const result = await rt.backups.restore({ id: lost.id });
    assert.equal(result.restoredSeq, lost.seq);
    assert.deepEqual(await rt.state.listKeys(Scope.agent('a1')), ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8', 'k9']);
    // The safety backup of the empty store is a full one: there is nothing of its own to build on.
    assert.equal((await rt.backups.get(result.safetyBackupId!)).kind, 'full');
  });

  it('refuses an increment on a backup ahead of the store with BACKUP_FULL_REQUIRED', async () => {
    const rt = await runtime('new');
    await rt.state.set(Scope.agent('b1'), 'k', 1);
    const error = await rejection(rt.backups.create({ incremental: true }));
    assert.equal(error.code, 'BACKUP_FULL_REQUIRED', error.message);
    assert.match(error.message, new RegExp(`${lost.id}.*Take a full backup`));
    assert.equal((await rt.backups.list()).length, 1, 'no file is left behind');
  });
});
