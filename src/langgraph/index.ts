export { LlmStateSaver } from './LlmStateSaver.js';
export type { LlmStateSaverOptions, SaverRuntime } from './LlmStateSaver.js';
export { LlmStateStore } from './store/LlmStateStore.js';
export type { StoreGetOptions, StoreSearchOptions, StorePutOptions } from './store/LlmStateStore.js';
export type { LlmStateStoreOptions, StoreTtlOptions } from './store/storeOptions.js';
export { namespaceScope } from './scopeNames.js';
