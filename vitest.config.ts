import { defineConfig } from 'vitest/config';

// Vitest runs only LangGraph's own conformance suite for the checkpointer, which needs its globals;
// everything else is tested with mocha.
export default defineConfig({
  test: {
    globals: true,
    include: ['test/langgraph/**/*.spec.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
