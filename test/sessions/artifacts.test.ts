import assert from 'node:assert/strict';
import { createRuntime, Scope, type Runtime } from '../../src/index.js';
import { ManualClock, rejection, RuntimeFixture } from '../helpers.js';

const ada = Scope.agent('ada');

describe('rt.sessions: artifacts', () => {
  let rt: Runtime;
  let clock: ManualClock;

  beforeEach(async () => {
    clock = new ManualClock();
    rt = await createRuntime({ memory: true, clock });
  });
  afterEach(() => rt.close());

  it('a key link names the change that produced the key’s value at link time, with its correlation id', async () => {
    const s = await rt.sessions.start({ id: 's1' });
    await rt.state.set(ada, 'draft', 'v1', { correlationId: 'turn-1' });
    await rt.state.set(ada, 'draft', 'v2', { correlationId: 'turn-2' });
    const link = await rt.sessions.linkArtifact('report-7.pdf', { sessionId: s.id, scope: ada, key: 'draft', kind: 'file', metadata: { pages: 3 } });
    const [written] = await rt.events.query({ correlationId: 'turn-2' });
    assert.deepEqual(link, {
      artifactId: 'report-7.pdf',
      linkId: link.linkId,
      linkedAt: clock.now(),
      kind: 'file',
      metadata: { pages: 3 },
      sessionId: 's1',
      scope: 'agent:ada',
      key: 'draft',
      change: { eventId: written.id, scope: 'agent:ada', key: 'draft', kind: 'state.set', correlationId: 'turn-2', seq: written.seq, at: written.at },
    });
    // A later write is not what produced the artifact.
    await rt.state.set(ada, 'draft', 'v3', { correlationId: 'turn-3' });
    assert.deepEqual(await rt.sessions.changesByArtifact('report-7.pdf'), [link.change]);
    const [linked] = await rt.events.query({ kinds: ['artifact.linked'] });
    assert.equal(linked.scope, 'agent:ada');
    assert.deepEqual(linked.data, { artifactId: 'report-7.pdf', kind: 'file', sessionId: 's1', key: 'draft', changes: 1 });
  });

  it('a key link waits for writes queued on the scope before it', async () => {
    const write = rt.state.set(ada, 'draft', 'queued', { correlationId: 'queued' });
    const link = await rt.sessions.linkArtifact('a.txt', { scope: 'agent:ada', key: 'draft' });
    await write;
    assert.equal(link.change?.correlationId, 'queued');
  });

  it('a correlation link covers every state change under it, those made after the link included, in log order', async () => {
    await rt.state.set(ada, 'before', 1, { correlationId: 'job-1' });
    await rt.state.set(ada, 'unrelated', 1, { correlationId: 'job-2' });
    const link = await rt.sessions.linkArtifact('summary.md', { correlationId: 'job-1' });
    assert.equal(link.correlationId, 'job-1');
    await rt.state.set(Scope.workflow('w1'), 'after', 2, { correlationId: 'job-1' });
    await rt.state.delete(ada, 'before', { correlationId: 'job-1' });
    const changes = await rt.sessions.changesByArtifact('summary.md');
    assert.deepEqual(
      changes.map((c) => [c.kind, c.scope, c.key, c.correlationId]),
      [
        ['state.set', 'agent:ada', 'before', 'job-1'],
        ['state.set', 'workflow:w1', 'after', 'job-1'],
        ['state.delete', 'agent:ada', 'before', 'job-1'],
      ],
    );
    const [linked] = await rt.events.query({ kinds: ['artifact.linked'] });
    assert.deepEqual(linked.data, { artifactId: 'summary.md', changes: 1, linkedCorrelationId: 'job-1' });
  });

  it('changes covered by two links are listed once', async () => {
    await rt.state.set(ada, 'k', 1, { correlationId: 'c1' });
    await rt.sessions.linkArtifact('x', { correlationId: 'c1' });
    await rt.sessions.linkArtifact('x', { scope: ada, key: 'k' });
    assert.equal((await rt.sessions.changesByArtifact('x')).length, 1);
    assert.deepEqual(await rt.sessions.changesByArtifact('never linked'), []);
  });

  it('artifactsOf a scope finds its key links and the correlation links whose changes touched it; { sessionId } finds the session’s', async () => {
    await rt.sessions.start({ id: 's1' });
    await rt.state.set(ada, 'draft', 'v1');
    await rt.state.set(Scope.session('s1'), 'notes', 'n');
    await rt.state.set(Scope.workflow('w1'), 'out', 1, { correlationId: 'job-1' });
    const a = await rt.sessions.linkArtifact('a.pdf', { scope: ada, key: 'draft', sessionId: 's1' });
    clock.advance(1);
    const b = await rt.sessions.linkArtifact('b.pdf', { correlationId: 'job-1' });
    clock.advance(1);
    const c = await rt.sessions.linkArtifact('c.pdf', { scope: Scope.session('s1'), key: 'notes' });
    clock.advance(1);
    const d = await rt.sessions.linkArtifact('d.pdf', { correlationId: 'job-2', sessionId: 's1' });

    assert.deepEqual(await rt.sessions.artifactsOf(ada), [a]);
    assert.deepEqual(await rt.sessions.artifactsOf('agent:ada'), [a]);
    assert.deepEqual(await rt.sessions.artifactsOf(Scope.workflow('w1')), [b]);
    assert.deepEqual(await rt.sessions.artifactsOf({ sessionId: 's1' }), [a, c, d]);
    assert.deepEqual(await rt.sessions.artifactsOf(Scope.custom('nothing')), []);
    // A later change under a linked correlation id brings its scope in.
    await rt.state.set(Scope.custom('later'), 'k', 1, { correlationId: 'job-2' });
    assert.deepEqual(await rt.sessions.artifactsOf(Scope.custom('later')), [d]);
    const [linked] = await rt.events.query({ kinds: ['artifact.linked'], scope: 'session:s1' });
    assert.deepEqual(linked.data, { artifactId: 'c.pdf', key: 'notes', changes: 1 });
  });

  it('linksOf an artifact lists its links, oldest first; through rt.as, those whose scope and session it can read', async () => {
    await rt.sessions.start({ id: 's1', participants: ['agent:ada'] });
    await rt.state.set(ada, 'draft', 'v1');
    await rt.state.set(Scope.agent('bob'), 'notes', 'n');
    const own = await rt.sessions.linkArtifact('r.pdf', { scope: ada, key: 'draft', sessionId: 's1', kind: 'file' });
    clock.advance(1);
    const bobs = await rt.sessions.linkArtifact('r.pdf', { scope: Scope.agent('bob'), key: 'notes' });
    clock.advance(1);
    const bare = await rt.sessions.linkArtifact('r.pdf', { correlationId: 'job-1' });
    await rt.sessions.linkArtifact('other.pdf', { correlationId: 'job-1' });

    assert.deepEqual(await rt.sessions.linksOf('r.pdf'), [own, bobs, bare]);
    assert.deepEqual(await rt.sessions.linksOf('never-linked'), []);
    assert.deepEqual(await rt.as('agent:ada').sessions.linksOf('r.pdf'), [own], 'not bob’s scope, nor a link that names no scope');
    assert.match((await rejection(rt.sessions.linksOf(''))).message, /^Expected `artifactId`/);
  });

  it('links survive a restart and round-trip through JSON', async () => {
    const fixture = new RuntimeFixture('sessions-artifacts');
    try {
      let disk = await fixture.open({ clock });
      await disk.state.set(ada, 'draft', 'v1');
      const link = await disk.sessions.linkArtifact('a.pdf', { scope: ada, key: 'draft', metadata: { nested: { list: [1, 'two'] } } });
      disk = await fixture.reopen(disk, { clock });
      assert.deepEqual(await disk.sessions.artifactsOf(ada), [JSON.parse(JSON.stringify(link))]);
      assert.deepEqual(await disk.sessions.changesByArtifact('a.pdf'), [link.change]);
    } finally {
      await fixture.dispose();
    }
  });

  describe('rt.correlate with an artifact id', () => {
    it('links the correlation before fn runs, so every write of fn is linked, even when fn fails part way', async () => {
      const error = await rejection(
        rt.correlate(
          async () => {
            assert.equal((await rt.events.query({ kinds: ['artifact.linked'] })).length, 1, 'linked before fn runs');
            await rt.state.set(ada, 'part1', 1);
            await rt.state.set(Scope.workflow('w1'), 'part2', 2);
            throw new Error('crashed half way');
          },
          { artifactId: 'report.pdf', correlationId: 'run-1' },
        ),
      );
      assert.equal(error.message, 'crashed half way');
      const changes = await rt.sessions.changesByArtifact('report.pdf');
      assert.deepEqual(
        changes.map((c) => [c.scope, c.key, c.correlationId]),
        [
          ['agent:ada', 'part1', 'run-1'],
          ['workflow:w1', 'part2', 'run-1'],
        ],
      );
      const [linked] = await rt.events.query({ kinds: ['artifact.linked'] });
      assert.equal(linked.correlationId, 'run-1', 'the link is part of the correlation’s story');
    });

    it('generates the correlation id when only the artifact id is given, and keeps the string form working', async () => {
      const { correlationId } = await rt.correlate(() => rt.state.set(ada, 'k', 1), { artifactId: 'a' });
      assert.match(correlationId, /^[0-9A-Za-z]{21}$/);
      assert.equal((await rt.sessions.changesByArtifact('a'))[0].correlationId, correlationId);
      const plain = await rt.correlate(() => 5, 'plain-id');
      assert.deepEqual(plain, { correlationId: 'plain-id', result: 5 });
      assert.equal((await rt.correlate(() => 6, {})).result, 6);
    });

    it('refuses a bad second argument with a TypeError, before running fn', async () => {
      let ran = false;
      const fn = () => (ran = true);
      let error = await rejection(rt.correlate(fn, 42 as never));
      assert.equal(error.message, 'Expected `options` to be a correlation id or an object with `correlationId` and/or `artifactId`, got `42` (number)');
      error = await rejection(rt.correlate(fn, null as never));
      assert.ok(error instanceof TypeError);
      error = await rejection(rt.correlate(fn, { artifact: 'x' } as never));
      assert.match(error.message, /^Unknown option `artifact`; the options are `correlationId`, `artifactId`/);
      error = await rejection(rt.correlate(fn, { artifactId: 'a\u0000b' }));
      assert.match(error.message, /^Expected `artifactId` to be 1–1024 characters without control characters/);
      assert.equal(ran, false);
    });
  });

  describe('bad input', () => {
    it('refuses neither, both, or half of the two forms', async () => {
      await rt.state.set(ada, 'k', 1);
      let error = await rejection(rt.sessions.linkArtifact('a', {}));
      assert.equal(error.message, 'Expected `scope` and `key`, or `correlationId`, to say which changes produced the artifact, got neither');
      error = await rejection(rt.sessions.linkArtifact('a', { scope: ada, key: 'k', correlationId: 'c' }));
      assert.equal(error.message, 'Expected either `scope` and `key`, or `correlationId`, got both');
      error = await rejection(rt.sessions.linkArtifact('a', { scope: ada }));
      assert.equal(error.message, 'Expected `scope` and `key` together, got only `scope`');
      error = await rejection(rt.sessions.linkArtifact('a', { key: 'k' }));
      assert.equal(error.message, 'Expected `scope` and `key` together, got only `key`');
    });

    it('refuses bad ids, scopes, keys, kinds and metadata with clear errors', async () => {
      await rt.state.set(ada, 'k', 1);
      let error = await rejection(rt.sessions.linkArtifact('', { correlationId: 'c' }));
      assert.ok(error instanceof TypeError);
      assert.match(error.message, /^Expected `artifactId`/);
      error = await rejection(rt.sessions.linkArtifact('a', { scope: 'planet:mars', key: 'k' }));
      assert.equal(error.code, 'SCOPE_INVALID');
      error = await rejection(rt.sessions.linkArtifact('a', { scope: 42 as never, key: 'k' }));
      assert.equal(error.message, "Expected `scope` to be a Scope or its string form (such as 'agent:ada'), got `42` (number)");
      error = await rejection(rt.sessions.linkArtifact('a', { scope: ada, key: '__reserved' }));
      assert.equal(error.code, 'STATE_KEY_INVALID');
      error = await rejection(rt.sessions.linkArtifact('a', { correlationId: 'c', kind: '' }));
      assert.match(error.message, /^Expected `kind` to be 1–128 characters/);
      error = await rejection(rt.sessions.linkArtifact('a', { correlationId: 'c', metadata: { f: () => 1 } }));
      assert.equal(error.code, 'VALUE_INVALID');
      error = await rejection(rt.sessions.linkArtifact('a', { correlationId: 'c\n' }));
      assert.match(error.message, /^Expected `correlationId` to be 1–128 characters/);
    });

    it('refuses a key with no value, and an unknown or collected session', async () => {
      let error = await rejection(rt.sessions.linkArtifact('a', { scope: ada, key: 'missing' }));
      assert.ok(error instanceof TypeError);
      assert.match(error.message, /^The key "missing" of agent:ada has no value/);
      error = await rejection(rt.sessions.linkArtifact('a', { correlationId: 'c', sessionId: 'nope' }));
      assert.equal(error.message, 'Cannot link an artifact to session "nope": no session has this id. rt.sessions.list() shows the sessions');
      await rt.sessions.start({ id: 'gone', ttlMs: 1 });
      clock.advance(1);
      await rt.sessions.gc();
      error = await rejection(rt.sessions.linkArtifact('a', { correlationId: 'c', sessionId: 'gone' }));
      assert.match(error.message, /it was collected at/);
      assert.deepEqual(await rt.events.query({ kinds: ['artifact.linked'] }), []);
    });

    it('artifactsOf refuses anything but a Scope, a scope string or { sessionId }', async () => {
      let error = await rejection(rt.sessions.artifactsOf(42 as never));
      assert.match(error.message, /^Expected `target` to be a Scope or its string form/);
      error = await rejection(rt.sessions.artifactsOf({ session: 's1' } as never));
      assert.ok(error instanceof TypeError);
      assert.match(error.message, /session/);
      error = await rejection(rt.sessions.artifactsOf('s1'));
      assert.equal(error.code, 'SCOPE_INVALID', 'a bare string is a scope’s string form, not a session id');
    });
  });
});
