import { LlmStateError } from '../errors.js';
import { notFound, type BackupCatalog, type BackupDescriptor } from './BackupCatalog.js';

/**
 * The backups a restore of `target` reads, full backup first: `target` and its parents, each found by id
 * in the first catalog that has it.
 *
 * @throws {BACKUP_NOT_FOUND} naming the missing parent and where it was looked for.
 * @throws {BACKUP_CORRUPT} when a parent does not end where its child starts.
 */
export async function resolveChain(target: BackupDescriptor, catalogs: readonly BackupCatalog[]): Promise<BackupDescriptor[]> {
  const chain = [target];
  const seen = new Set([target.id]);
  for (let child = target; child.parentId !== null; ) {
    const parentId = child.parentId;
    if (seen.has(parentId)) throw brokenChain(child, `its chain returns to ${parentId}`);
    seen.add(parentId);
    const parent = await findIn(catalogs, parentId, child);
    if (parent.seq !== child.fromSeq) {
      throw brokenChain(child, `it starts after sequence ${child.fromSeq}, but its parent ${parentId} ends at ${parent.seq}`);
    }
    chain.unshift(parent);
    child = parent;
  }
  if (chain[0].kind !== 'full') throw brokenChain(chain[0], 'it has no parent, but it is not a full backup');
  return chain;
}

async function findIn(catalogs: readonly BackupCatalog[], id: string, child: BackupDescriptor): Promise<BackupDescriptor> {
  for (const catalog of catalogs) {
    try {
      return await catalog.get(id);
    } catch (error) {
      if (!(error instanceof LlmStateError && error.code === 'BACKUP_NOT_FOUND')) throw error;
    }
  }
  const where = [...new Set(catalogs.map((catalog) => catalog.dir))].join(' and ');
  const error = notFound(id, where);
  return Promise.reject(
    new LlmStateError('BACKUP_NOT_FOUND', `The backup ${child.id} is an increment on ${id}, which is missing: ${error.message}`, {
      details: { id, child: child.id, dirs: catalogs.map((catalog) => catalog.dir) },
    }),
  );
}

function brokenChain(backup: BackupDescriptor, why: string): LlmStateError {
  return new LlmStateError('BACKUP_CORRUPT', `The chain of backup ${backup.id} (${backup.file}) does not fit together: ${why}`, {
    details: { file: backup.file, id: backup.id, region: 'chain' },
  });
}
