import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRuntime, Scope, type Runtime } from '../../src/index.js';
import { rejection, RuntimeFixture } from '../helpers.js';

describe('a closed runtime', () => {
  const scope = Scope.agent('a1');
  const operations: [string, (rt: Runtime) => Promise<unknown>][] = [
    ['state.set', (rt) => rt.state.set(scope, 'k', 1)],
    ['state.get', (rt) => rt.state.get(scope, 'k')],
    ['state.delete', (rt) => rt.state.delete(scope, 'k')],
    ['state.listKeys', (rt) => rt.state.listKeys(scope)],
    ['state.clearScope', (rt) => rt.state.clearScope(scope)],
    ['state.transaction', (rt) => rt.state.transaction(scope, (tx) => tx.set('k', 1))],
    ['correlate', (rt) => rt.correlate(() => 1)],
  ];

  for (const [name, operation] of operations) {
    it(`rejects ${name} with RUNTIME_CLOSED`, async () => {
      const rt = await createRuntime({ memory: true });
      await rt.state.set(scope, 'k', 0);
      await rt.close();
      const error = await rejection(operation(rt));
      assert.equal(error.code, 'RUNTIME_CLOSED');
    });
  }

  it('close drains every mailbox: writes issued before close are all durable', async () => {
    const fixture = new RuntimeFixture('close-drain');
    try {
      const rt = await fixture.open();
      const writes = Array.from({ length: 300 }, (_, i) => rt.state.set(Scope.agent(`a${i % 30}`), `k${i}`, i));
      let started!: () => void;
      let release!: () => void;
      const running = new Promise<void>((resolve) => (started = resolve));
      const gate = new Promise<void>((resolve) => (release = resolve));
      const tx = rt.state.transaction(scope, async (t) => {
        started();
        await gate;
        t.set('from-tx', true);
      });
      const closing = rt.close();
      // The transaction is still running when close() begins, and finishes while close() drains.
      await running;
      release();
      await closing;
      await Promise.all([...writes, tx]);
      const reopened = await fixture.open();
      assert.equal(await reopened.state.get(Scope.agent('a7'), 'k7'), 7);
      assert.equal(await reopened.state.get(Scope.agent('a29'), 'k299'), 299);
      assert.equal(await reopened.state.get(scope, 'from-tx'), true);
    } finally {
      await fixture.dispose();
    }
  });

  it('close is idempotent and reports closed', async () => {
    const rt = await createRuntime({ memory: true });
    assert.equal(rt.closed, false);
    await Promise.all([rt.close(), rt.close()]);
    await rt.close();
    assert.equal(rt.closed, true);
  });

  it('a closed runtime releases its data directory for the next one', async () => {
    const fixture = new RuntimeFixture('close-lock');
    try {
      const rt = await fixture.open();
      await rt.state.set(scope, 'k', 'v');
      await rt.close();
      const next = await fixture.open();
      assert.equal(await next.state.get(scope, 'k'), 'v');
    } finally {
      await fixture.dispose();
    }
  });
});

describe('opening a runtime', () => {
  it('creates missing parent directories of dataDir', async () => {
    const fixture = new RuntimeFixture('nested');
    try {
      const dataDir = `${fixture.dir}/a/b/c`;
      assert.ok(!existsSync(`${fixture.dir}/a`), 'the parents are missing to begin with');
      const rt = await createRuntime({ dataDir });
      await rt.state.set(Scope.global(), 'k', 1);
      await rt.close();
      assert.ok(statSync(dataDir).isDirectory(), `${dataDir} was created as a directory`);
      assert.notDeepEqual(readdirSync(dataDir), [], 'the store is in it');
      const reopened = await createRuntime({ dataDir });
      try {
        assert.equal(await reopened.state.get(Scope.global(), 'k'), 1, 'the write survives in the created directory');
      } finally {
        await reopened.close();
      }
    } finally {
      await fixture.dispose();
    }
  });

  it('fails with STORAGE_FAILED, and does not hang, when dataDir cannot be created', async () => {
    for (const dataDir of ['/proc/llmstate-cannot-exist', '/dev/null/below-a-file']) {
      const error = await rejection(createRuntime({ dataDir }));
      assert.equal(error.code, 'STORAGE_FAILED', dataDir);
      assert.match(error.message, /Cannot create the data directory/);
    }
  });
});
