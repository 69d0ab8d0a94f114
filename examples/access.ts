/**
 * Two agents in one runtime: each keeps to its own memory, a grant lets one read the other's, every
 * cross-scope decision is on record, and a quarantine cuts an agent off, across a restart.
 *
 *   npx tsx examples/access.ts [dataDir]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, LlmStateError, Scope } from '../src/index.js';

const dataDir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'llmstate-access-'));
const codeOf = (error: unknown) => (error instanceof LlmStateError ? error.code : String(error));

let rt = await createRuntime({ dataDir });
const ada = rt.as('agent:ada');
const bob = rt.as('agent:bob');

await ada.state.set(Scope.agent('ada'), 'notes', ['sulfides conduct best']);
await bob.state.set(Scope.agent('bob'), 'plan', { step: 1 });
console.log('ada reads bob:', await ada.state.get(Scope.agent('bob'), 'plan').catch(codeOf));

const grant = await bob.access.grant({ principal: 'agent:ada', scope: Scope.agent('bob'), permissions: ['read'] });
console.log(`bob shares his scope: ${grant.permissions.join(',')} for ${grant.principal} (by ${grant.grantedBy})`);
console.log('ada reads bob:', JSON.stringify(await ada.state.get(Scope.agent('bob'), 'plan')));
console.log('ada writes bob:', await ada.state.set(Scope.agent('bob'), 'plan', { step: 99 }).catch(codeOf));
console.log('check:', JSON.stringify(rt.access.check('agent:ada', Scope.agent('bob'), 'write')));

for (const record of await rt.access.audit({ principal: 'agent:ada' })) {
  console.log(`audit: ${record.outcome} ${record.operation} ${record.scope} by ${record.rule}`);
}

await rt.access.quarantine('bob', { reason: 'prompt injection suspected' });
console.log('bob writes his own scope:', await bob.state.set(Scope.agent('bob'), 'plan', { step: 2 }).catch(codeOf));
await rt.close();

rt = await createRuntime({ dataDir });
console.log('after a restart, system reads bob:', await rt.state.get(Scope.agent('bob'), 'plan').catch(codeOf));
await rt.access.release('bob');
console.log('released, bob plans:', JSON.stringify(await rt.as('agent:bob').state.get(Scope.agent('bob'), 'plan')));
await rt.close();
