import { createRuntime, type Runtime } from '../../src/index.js';
import { LlmStateStore, type LlmStateStoreOptions } from '../../src/langgraph/index.js';

/** A store on `rt`; on a fresh memory runtime when none is given. */
export async function openStore(options?: LlmStateStoreOptions, rt?: Runtime): Promise<{ store: LlmStateStore; rt: Runtime }> {
  const runtime = rt ?? (await createRuntime({ memory: true }));
  return { store: new LlmStateStore(runtime, options), rt: runtime };
}
