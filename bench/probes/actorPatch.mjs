// Preload for probes: `node --import tsx --import ./bench/probes/actorPatch.mjs …` runs the runtime with the
// patched ScopeActor of redirectHooks.mjs.
import { register } from 'node:module';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
register('./redirectHooks.mjs', { parentURL: import.meta.url, data: { root } });
process.on('exit', () => rmSync(new URL('./.gen', import.meta.url), { recursive: true, force: true }));
