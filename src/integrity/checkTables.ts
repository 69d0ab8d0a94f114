import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scanLevelTable } from '../storage/levelTable.js';
import type { Problem } from './verifyReport.js';

const TABLE_NAME = /^\d+\.(ldb|sst)$/;

/** Checks every block of every table file of the LevelDB at `directory`. */
export async function checkTables(directory: string): Promise<{ summary: { files: number; blocks: number; damaged: number; unfinished: number }; problems: Problem[] }> {
  const names = (await readdir(directory)).filter((name) => TABLE_NAME.test(name)).sort();
  const problems: Problem[] = [];
  let blocks = 0;
  let unfinished = 0;
  for (const name of names) {
    const table = await readFile(join(directory, name)).catch((error: NodeJS.ErrnoException) => {
      // Removed since the listing: LevelDB compacted it away, so another opener holds the store.
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (table === undefined) continue;
    const scan = scanLevelTable(table);
    if (scan.unfinished) {
      unfinished++;
      continue;
    }
    blocks += scan.blocks;
    for (const damage of scan.damage) problems.push({ sublevel: 'table', key: name, kind: 'table', message: `block at offset ${damage.offset}: ${damage.reason}` });
  }
  return { summary: { files: names.length, blocks, damaged: problems.length, unfinished }, problems };
}
