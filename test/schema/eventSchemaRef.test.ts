import assert from 'node:assert/strict';
import { z } from 'zod';
import { Scope, type Runtime } from '../../src/index.js';
import { storageOf } from '../../src/runtime.js';
import { encodeStateKey } from '../../src/state/keyCodec.js';
import { decodeRecord } from '../../src/storage/recordEnvelope.js';
import { RuntimeFixture } from '../helpers.js';

const profile = z.object({ name: z.string() });

async function schemaOf(rt: Runtime, scope: Scope, key: string): Promise<string | undefined> {
  const raw = await storageOf(rt).get('state', encodeStateKey(scope, key));
  return raw === undefined ? undefined : decodeRecord(raw).schema;
}

describe('schemas: the version in state.set events', () => {
  let fixture: RuntimeFixture;
  let rt: Runtime;
  const a1 = Scope.agent('a1');

  beforeEach(async () => {
    fixture = new RuntimeFixture('schema-event-ref');
    rt = await fixture.open();
  });
  afterEach(() => fixture.dispose());

  it('names the version a bound value was validated against, and nothing for an unbound one', async () => {
    await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: profile });
    await rt.schemas.bind('profile', { keyPrefix: 'profile' });
    await rt.state.set(a1, 'profile', { name: 'Ada' });
    await rt.state.transaction(a1, (tx) => tx.set('profile.work', { name: 'Lab' }));
    await rt.state.set(a1, 'notes', 'free');
    const events = await rt.events.query({ kinds: ['state.set'], scope: a1.toString() });
    assert.deepEqual(events.map(({ key, schema }) => ({ key, schema })), [
      { key: 'profile', schema: 'profile@1.0.0' },
      { key: 'profile.work', schema: 'profile@1.0.0' },
      { key: 'notes', schema: undefined },
    ]);
  });

  it('a point-in-time restore keeps the version in the records it brings forward from the log', async () => {
    await rt.schemas.register({ name: 'profile', version: '1.0.0', schema: profile });
    await rt.schemas.bind('profile', { keyPrefix: 'profile' });
    await rt.backups.create();
    await rt.state.set(a1, 'profile', { name: 'Ada' });
    const [written] = await rt.events.query({ kinds: ['state.set'], scope: a1.toString() });
    await rt.state.set(a1, 'profile', { name: 'Later' });

    const restored = await rt.backups.restore({ at: written.seq });
    assert.equal(restored.mode, 'pointInTime');
    assert.deepEqual(await rt.state.get(a1, 'profile'), { name: 'Ada' });
    assert.equal(await schemaOf(rt, a1, 'profile'), 'profile@1.0.0');
  });
});
