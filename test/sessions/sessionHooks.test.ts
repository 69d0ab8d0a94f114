import assert from 'node:assert/strict';
import { Scope, type Runtime } from '../../src/index.js';
import { storageOf } from '../../src/runtime.js';
import { decodeRecord } from '../../src/storage/recordEnvelope.js';
import { ManualClock, RuntimeFixture } from '../helpers.js';

describe('hooks hear of sessions and artifact links', function () {
  this.timeout(60_000);
  let fixture: RuntimeFixture;
  let rt: Runtime;
  const clock = new ManualClock();

  beforeEach(async () => {
    fixture = new RuntimeFixture('sessions-hooks');
    rt = await fixture.open({ clock, hooks: { threads: 2 } });
  });
  afterEach(() => fixture.dispose());

  it('a hook on artifact.linked and session.* receives each marker and each link', async () => {
    await rt.hooks.register({ name: 'audit', builtin: 'audit', on: ['session.*', 'artifact.linked'] });
    await rt.sessions.start({ id: 's1', ttlMs: 10 });
    await rt.state.set(Scope.session('s1'), 'draft', 'text');
    await rt.sessions.linkArtifact('draft.md', { scope: Scope.session('s1'), key: 'draft', sessionId: 's1' });
    await rt.sessions.end('s1');
    clock.advance(10);
    await rt.sessions.gc();
    await rt.hooks.idle();
    const entries: Array<{ kind: string; scope?: string }> = [];
    for await (const [, record] of storageOf(rt).iterate('audit')) entries.push(JSON.parse(decodeRecord(record).payload.toString()) as { kind: string; scope?: string });
    assert.deepEqual(
      entries.map((entry) => [entry.kind, entry.scope]),
      [
        ['session.started', 'session:s1'],
        ['artifact.linked', 'session:s1'],
        ['session.ended', 'session:s1'],
        ['session.expired', 'session:s1'],
      ],
    );
  });
});
