import { MemorySaver, type BaseCheckpointSaver } from '@langchain/langgraph-checkpoint';

export interface Target {
  saver: BaseCheckpointSaver;
  close(): Promise<void>;
}

/** The saver an import writes to. */
export async function openTarget(): Promise<Target> {
  return { saver: new MemorySaver(), close: async () => {} };
}
