import assert from 'node:assert/strict';
import { createRuntime, LlmStateError, Scope } from '../../src/index.js';
import { storageOf } from '../../src/runtime.js';
import type { BatchOp } from '../../src/storage/index.js';

/** What a backend throws when its connection was lost before it could learn whether a commit was written. */
function unknownOutcome(): LlmStateError {
  return new LlmStateError('STORAGE_FAILED', 'The connection was lost during COMMIT; the batch may or may not have been written', {
    details: { outcome: 'unknown' },
  });
}

describe('a commit whose outcome is unknown', () => {
  it('is not written again: every write in its batch is told, and no group is retried on its own', async () => {
    const rt = await createRuntime({ memory: true });
    try {
      const batches: BatchOp[][] = [];
      let fail = true;
      storageOf(rt).intercept({
        beforeBatch: (ops) => {
          batches.push([...ops]);
          if (fail) {
            fail = false;
            throw unknownOutcome();
          }
        },
      });
      const writes = [rt.state.set(Scope.agent('a'), 'k', 1), rt.state.set(Scope.agent('b'), 'k', 2)];
      const outcomes = await Promise.allSettled(writes);
      assert.equal(batches.length, 1, 'one batch was tried, and not split and retried');
      for (const outcome of outcomes) {
        assert.equal(outcome.status, 'rejected');
        const error = (outcome as PromiseRejectedResult).reason as LlmStateError;
        assert.equal(error.code, 'STORAGE_FAILED');
        assert.equal(error.details?.outcome, 'unknown', 'the caller is told the write may have happened');
      }
    } finally {
      await rt.close();
    }
  });

  it('drops the cache of the scope, so a read goes to the store for what is really there', async () => {
    const rt = await createRuntime({ memory: true });
    try {
      const scope = Scope.agent('a');
      await rt.state.set(scope, 'k', 'before');
      assert.equal(await rt.state.get(scope, 'k'), 'before');
      const storage = storageOf(rt);
      // The batch reaches the store, and only then is the connection "lost".
      const stop = storage.intercept({
        beforeBatch: async (ops) => {
          stop();
          await storage.batch(ops);
          throw unknownOutcome();
        },
      });
      await assert.rejects(rt.state.set(scope, 'k', 'after'), (error: LlmStateError) => error.details?.outcome === 'unknown');
      assert.equal(await rt.state.get(scope, 'k'), 'after', 'the value in the store, not the cached one');
    } finally {
      await rt.close();
    }
  });
});
