/**
 * The README's quick start as a program: write, restart, read back.
 *
 *   npx tsx examples/quickstart.ts [dataDir]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, LlmStateError, Scope } from '../src/index.js';

const dataDir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'llmstate-quickstart-'));
const agent = Scope.agent('a1');

let rt = await createRuntime({ dataDir });
await rt.state.set(agent, 'topic', { name: 'weather' });
await rt.state.transaction(agent, async (tx) => {
  const turns = ((await tx.get('turns')) as number | undefined) ?? 0;
  tx.set('turns', turns + 1);
  tx.set('last', { role: 'user', text: 'Will it rain tomorrow?' });
});
await rt.close();

rt = await createRuntime({ dataDir });
console.log('topic:', JSON.stringify(await rt.state.get(agent, 'topic')));
console.log('turns:', await rt.state.get(agent, 'turns'));
console.log('keys:', (await rt.state.listKeys(agent)).join(', '));
try {
  await rt.state.set(agent, '../escape', 1);
} catch (error) {
  if (error instanceof LlmStateError) console.log(`rejected: ${error.code}`);
}
await rt.close();
