import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, type Runtime } from '../../src/index.js';
import { LlmStateSaver } from '../../src/langgraph/index.js';

export interface Target {
  rt: Runtime;
  saver: LlmStateSaver;
  close(): Promise<void>;
}

/** The saver an import writes to: LlmStateSaver on a runtime in a fresh directory. */
export async function openTarget(): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'lg-bench-target-'));
  const rt = await createRuntime({ dataDir: dir });
  return {
    rt,
    saver: new LlmStateSaver(rt),
    close: async () => {
      await rt.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
