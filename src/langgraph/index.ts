export { LlmStateSaver } from './LlmStateSaver.js';
export type { LlmStateSaverOptions, SaverRuntime } from './LlmStateSaver.js';
