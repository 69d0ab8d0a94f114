import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Where the library and the CLI live; tests and benchmarks may reach under a runtime, shipped code may not. */
const SHIPPED = ['src', 'actors', 'supervisors', 'workers'];
const BACK_DOORS = ['storageOf', 'actorsOf'];

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.m?ts$/.test(entry.name) ? [path] : [];
  });
}

describe('no back doors', () => {
  it('shipped code never reaches under a runtime through storageOf or actorsOf: it uses the public API', () => {
    const users: string[] = [];
    for (const file of SHIPPED.flatMap((folder) => sourceFiles(join(ROOT, folder)))) {
      // runtime.ts defines them, for tests.
      const text = readFileSync(file, 'utf8').replace(/export function \w+\(/g, '');
      for (const name of BACK_DOORS) if (new RegExp(`\\b${name}\\(`).test(text)) users.push(`${relative(ROOT, file)}: ${name}`);
    }
    assert.deepEqual(users, []);
  });
});
