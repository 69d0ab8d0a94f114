import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scanLevelTable } from '../storage/levelTable.js';
import type { Problem } from './verifyReport.js';

const TABLE_NAME = /^\d+\.(ldb|sst)$/;

/** Checks every block of every table file of the LevelDB at `directory`. */
export async function checkTables(directory: string): Promise<{ summary: { files: number; blocks: number; damaged: number }; problems: Problem[] }> {
  const names = (await readdir(directory)).filter((name) => TABLE_NAME.test(name)).sort();
  const problems: Problem[] = [];
  let blocks = 0;
  for (const name of names) {
    const scan = scanLevelTable(await readFile(join(directory, name)));
    blocks += scan.blocks;
    for (const damage of scan.damage) problems.push({ sublevel: 'table', key: name, kind: 'table', message: `block at offset ${damage.offset}: ${damage.reason}` });
  }
  return { summary: { files: names.length, blocks, damaged: problems.length }, problems };
}
