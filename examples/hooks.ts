/**
 * Hooks, history, replay and the timeline. Run: node --import tsx examples/hooks.ts [dataDir]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, Scope } from '../src/index.js';

const dataDir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'llmstate-hooks-'));
const rt = await createRuntime({ dataDir });

await rt.hooks.register({
  name: 'summarise',
  module: new URL('./hooks/summarise.mjs', import.meta.url),
  on: ['state.set'],
  filter: { scopeKinds: ['agent'], keyPrefix: 'topic' },
});

// The write resolves once it is durable, with its outbox entry; the hook runs afterwards.
const { correlationId } = await rt.correlate(() => rt.state.set(Scope.agent('a1'), 'topic', { name: 'weather', apiKey: 'sk-not-a-real-key-0123456789' }));
await rt.hooks.idle();
console.log(`summary: ${JSON.stringify(await rt.state.get(Scope.agent('a1'), 'summary'))}`);

const [execution] = await rt.hooks.history({ hookName: 'summarise' });
console.log(`history: ${execution.status}, attempt ${execution.attempt}, apiKey recorded as ${(execution.input as { value: { apiKey: string } }[])[0].value.apiKey}`);

console.log(await rt.events.exportTimeline(correlationId, 'text'));

// Replays run the hook again in isolation: actions are captured, not applied.
const exact = await rt.hooks.replay(execution.executionId);
console.log(`replay equal: ${exact.equal}`);
const whatIf = await rt.hooks.replay(execution.executionId, { patch: { value: { name: 'rain' } } });
console.log(`what if: ${whatIf.diff.map((op) => `${op.op} ${op.path}`).join(', ')}`);
await rt.close();
