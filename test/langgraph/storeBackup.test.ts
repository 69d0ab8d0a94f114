import assert from 'node:assert/strict';
import { LlmStateStore, namespaceScope } from '../../src/langgraph/index.js';
import { RuntimeFixture } from '../helpers.js';

describe('LlmStateStore and backups', () => {
  let fixture: RuntimeFixture;
  afterEach(() => fixture.dispose());

  it('a backup restores every namespace as it was, and the store goes on working', async () => {
    fixture = new RuntimeFixture('lg-store-backup');
    const rt = await fixture.open();
    const store = new LlmStateStore(rt);
    await store.put(['users', 'u1'], 'prefs', { theme: 'dark' });
    await store.put(['users', 'u2'], 'prefs', { theme: 'light' });
    await store.put(['λ'.repeat(70)], 'k', { hashed: true });
    const backup = await rt.backups.create();

    await store.put(['users', 'u1'], 'prefs', { theme: 'neon' });
    await store.delete(['users', 'u2'], 'prefs');
    await store.put(['later'], 'k', { n: 1 });

    await rt.backups.restore({ id: backup.id });
    assert.deepEqual((await store.get(['users', 'u1'], 'prefs'))!.value, { theme: 'dark' });
    assert.deepEqual((await store.get(['users', 'u2'], 'prefs'))!.value, { theme: 'light' });
    assert.deepEqual(await store.listNamespaces(), [['users', 'u1'], ['users', 'u2'], ['λ'.repeat(70)]]);
    await store.put(['after'], 'k', { n: 2 });
    assert.deepEqual((await store.search(['after'])).map((item) => item.value), [{ n: 2 }]);
  });

  it('restoring one namespace scope leaves the others as they are', async () => {
    fixture = new RuntimeFixture('lg-store-backup-scope');
    const rt = await fixture.open();
    const store = new LlmStateStore(rt);
    await store.put(['users', 'u1'], 'prefs', { theme: 'dark' });
    await store.put(['users', 'u2'], 'prefs', { theme: 'light' });
    const backup = await rt.backups.create();
    await store.put(['users', 'u1'], 'prefs', { theme: 'neon' });
    await store.put(['users', 'u1'], 'extra', { n: 1 });
    await store.put(['users', 'u2'], 'prefs', { theme: 'sepia' });

    await rt.backups.restore({ id: backup.id, scopes: [namespaceScope(['users', 'u1'])] });
    assert.deepEqual(
      (await store.search(['users'])).map((item) => [item.namespace, item.key, item.value]),
      [
        [['users', 'u1'], 'prefs', { theme: 'dark' }],
        [['users', 'u2'], 'prefs', { theme: 'sepia' }],
      ],
    );
  });
});
