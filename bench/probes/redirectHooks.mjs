// Probe loader hooks (never used by `npm run bench`): serve a patched copy of actors/ScopeActor.ts whose
// #send builds its message without `{ ...partial, resolve, reject }`, to measure that proposed fix.
// The copy is written to bench/probes/.gen/ and removed when the process exits (see actorPatch.mjs).
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { join } from 'node:path';

let target;
let actorsDir;

export async function initialize({ root }) {
  actorsDir = join(root, 'actors');
  const src = readFileSync(join(actorsDir, 'ScopeActor.ts'), 'utf8');
  const needle = 'this.#mailbox.push({ ...partial, resolve, reject } as unknown as Message);';
  if (!src.includes(needle)) throw new Error('actors/ScopeActor.ts changed: the probe patch no longer applies');
  const patched = src
    .replace(needle, 'partial.resolve = resolve; partial.reject = reject; this.#mailbox.push(partial as unknown as Message);')
    .replace(/from '\.\.\/src\//g, `from '${join(root, 'src')}/`)
    .replace(/from '\.\//g, `from '${actorsDir}/`);
  const dir = join(root, 'bench/probes/.gen');
  mkdirSync(dir, { recursive: true });
  target = join(dir, 'ScopeActor.ts');
  writeFileSync(target, patched);
}

export async function resolve(specifier, context, next) {
  if (specifier === './ScopeActor.js' && context.parentURL !== undefined) {
    if (fileURLToPath(context.parentURL).startsWith(actorsDir)) return next(pathToFileURL(target).href, context);
  }
  return next(specifier, context);
}
