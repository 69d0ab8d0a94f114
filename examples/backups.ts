/**
 * Backups: a full one, an incremental one, a point-in-time restore, a restore of one scope, and a
 * restore from a file alone into a new data directory.
 *
 *   npx tsx examples/backups.ts [dataDir]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, Scope } from '../src/index.js';

const dataDir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'llmstate-backups-'));
const ada = Scope.agent('ada');
const bob = Scope.agent('bob');

const rt = await createRuntime({ dataDir });
await rt.state.set(ada, 'notes', ['sulfides conduct best']);
await rt.state.set(bob, 'draft', 'v1');
const full = await rt.backups.create();
console.log(`full backup: ${full.records} records, ${full.compression}, seq ${full.seq}`);

await rt.state.set(ada, 'notes', ['sulfides conduct best', 'oxides are stable']);
const good = (await rt.events.query({ kinds: ['state.set'] })).at(-1)!.seq;
await rt.state.set(bob, 'draft', 'v2');
const inc = await rt.backups.create({ incremental: true });
console.log(`incremental backup on ${inc.parentId === full.id ? 'the full one' : '?'}: ${inc.records} records`);
console.log(`verified: ${(await rt.backups.verify(inc.id)).chain.length} files`);

await rt.state.clearScope(ada);
const dryRun = await rt.backups.restore({ id: inc.id, scopes: [ada], dryRun: true });
console.log(`dry run: ${dryRun.changes!.map((change) => `${change.scope} +${change.added}`).join(', ')}`);
await rt.backups.restore({ id: inc.id, scopes: [ada] });
console.log('ada after a restore of her scope:', JSON.stringify(await rt.state.get(ada, 'notes')));

await rt.backups.restore({ at: good });
console.log(`bob as of seq ${good}:`, await rt.state.get(bob, 'draft'));
await rt.close();

const recoveredDir = mkdtempSync(join(tmpdir(), 'llmstate-recovered-'));
const elsewhere = await createRuntime({ dataDir: recoveredDir });
await elsewhere.backups.restore({ from: inc.file });
console.log('recovered from the file alone:', await elsewhere.state.get(bob, 'draft'));
await elsewhere.close();
rmSync(recoveredDir, { recursive: true });
