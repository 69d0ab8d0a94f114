/** The LevelDB directory a runtime's data directory points at, and compacting it, for raw references. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openRaw } from './harness.js';

export async function activeStoreDir(dataDir: string): Promise<string> {
  const name = await readFile(join(dataDir, 'STORE'), 'utf8').then(
    (text) => text.trim(),
    () => 'db',
  );
  return join(dataDir, name);
}

/** Compacts the whole store, so that no side measured later pays for the compactions a fill left pending. */
export async function compact(storeDir: string): Promise<void> {
  const db = await openRaw(storeDir);
  try {
    await db.compactRange(Buffer.alloc(0), Buffer.alloc(64, 0xff));
  } finally {
    await db.close();
  }
}
