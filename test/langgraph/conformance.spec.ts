/**
 * LangGraph's conformance suite for checkpointers (@langchain/langgraph-checkpoint-validation), in full,
 * against LlmStateSaver on a fresh runtime per checkpointer: in memory, then on disk. It runs under
 * vitest (`npm run test:langgraph`), whose globals the suite needs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deltaChannelHistoryTests, validate, type CheckpointSaverTestInitializer } from '@langchain/langgraph-checkpoint-validation';
import { createRuntime, type Runtime } from '../../src/index.js';
import { LlmStateSaver } from '../../src/langgraph/index.js';

function initializer(name: string, open: () => Promise<{ rt: Runtime; remove?: () => void }>): CheckpointSaverTestInitializer<LlmStateSaver> {
  const opened = new Map<LlmStateSaver, { rt: Runtime; remove?: () => void }>();
  return {
    checkpointerName: name,
    async createCheckpointer() {
      const runtime = await open();
      const saver = new LlmStateSaver(runtime.rt);
      opened.set(saver, runtime);
      return saver;
    },
    async destroyCheckpointer(saver) {
      const runtime = opened.get(saver);
      opened.delete(saver);
      await runtime?.rt.close();
      runtime?.remove?.();
    },
  };
}

const inMemory = initializer('llmstate (memory)', async () => ({ rt: await createRuntime({ memory: true }) }));
const onDisk = initializer('llmstate (disk)', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'llmstate-langgraph-'));
  return { rt: await createRuntime({ dataDir }), remove: () => rmSync(dataDir, { recursive: true, force: true }) };
});

for (const suite of [inMemory, onDisk]) {
  validate(suite);
  // Opt-in in the suite (specTest leaves it out); LangGraph's own savers run it, and so does this one.
  deltaChannelHistoryTests(suite);
}
