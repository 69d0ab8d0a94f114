import assert from 'node:assert/strict';
import { createRuntime, Scope, type Runtime } from '../../src/index.js';
import { runCorrelated } from '../../src/events/correlation.js';
import { ManualClock, rejection, RuntimeFixture } from '../helpers.js';
import { ManualTimers } from '../ManualTimers.js';

const HOUR = 3_600_000;

describe('rt.sessions: start, end, get, list', () => {
  let rt: Runtime;
  let clock: ManualClock;

  beforeEach(async () => {
    clock = new ManualClock();
    rt = await createRuntime({ memory: true, clock });
  });
  afterEach(() => rt.close());

  it('start resolves with the session, its expiry the start plus the ttl, and get returns the same', async () => {
    const s = await rt.sessions.start({ ttlMs: HOUR, metadata: { user: 'u1' }, participants: ['agent:ada', 'agent:bob', 'agent:ada'] });
    assert.match(s.id, /^[0-9A-Za-z]{21}$/);
    assert.deepEqual(s, {
      id: s.id,
      startedAt: clock.now(),
      expiresAt: clock.now() + HOUR,
      metadata: { user: 'u1' },
      participants: ['agent:ada', 'agent:bob'],
      status: 'active',
      startedBy: 'system',
    });
    assert.deepEqual(await rt.sessions.get(s.id), JSON.parse(JSON.stringify(s)));
  });

  it('a session without a ttl never expires; the runtime option sessions.defaultTtlMs gives one, and ttlMs: null opts out', async () => {
    const plain = await rt.sessions.start({ id: 'plain' });
    assert.equal(plain.expiresAt, null);
    const other = await createRuntime({ memory: true, clock, sessions: { defaultTtlMs: 1000 } });
    try {
      assert.equal((await other.sessions.start({ id: 's' })).expiresAt, clock.now() + 1000);
      assert.equal((await other.sessions.start({ id: 'forever', ttlMs: null })).expiresAt, null);
      assert.equal((await other.sessions.start({ id: 'own', ttlMs: 5 })).expiresAt, clock.now() + 5);
    } finally {
      await other.close();
    }
  });

  it('end marks the session ended and keeps its state; ending it again changes nothing', async () => {
    const s = await rt.sessions.start({ id: 's1' });
    await rt.state.set(Scope.session('s1'), 'draft', 'text');
    clock.advance(10);
    const ended = await rt.sessions.end('s1');
    assert.equal(ended.status, 'ended');
    assert.equal(ended.endedAt, s.startedAt + 10);
    assert.equal(await rt.state.get(Scope.session('s1'), 'draft'), 'text');
    clock.advance(10);
    assert.deepEqual(await rt.sessions.end('s1'), ended);
    const markers = await rt.events.query({ kinds: ['session.*'] });
    assert.deepEqual(
      markers.map((e) => [e.kind, e.scope, e.data]),
      [
        ['session.started', 'session:s1', { id: 's1' }],
        ['session.ended', 'session:s1', { id: 's1' }],
      ],
    );
  });

  it('markers are ordered with the session scope’s own writes, in the log', async () => {
    await rt.sessions.start({ id: 's1', metadata: { user: 'u1' }, participants: ['agent:ada'] });
    await rt.state.set(Scope.session('s1'), 'a', 1);
    await rt.sessions.end('s1');
    const events = await rt.events.query({ scope: 'session:s1' });
    assert.deepEqual(
      events.map((e) => e.kind),
      ['session.started', 'state.set', 'session.ended'],
    );
    assert.deepEqual(events[0].data, { id: 's1', metadata: { user: 'u1' }, participants: ['agent:ada'] });
  });

  it('list returns sessions in id order, filtered by status, up to a limit; an expired one reads as expired', async () => {
    await rt.sessions.start({ id: 'c' });
    await rt.sessions.start({ id: 'a', ttlMs: 100 });
    await rt.sessions.start({ id: 'b' });
    await rt.sessions.end('b');
    clock.advance(100);
    assert.deepEqual(
      (await rt.sessions.list()).map((s) => [s.id, s.status]),
      [
        ['a', 'expired'],
        ['b', 'ended'],
        ['c', 'active'],
      ],
    );
    assert.deepEqual((await rt.sessions.list({ status: 'active' })).map((s) => s.id), ['c']);
    assert.deepEqual((await rt.sessions.list({ limit: 2 })).map((s) => s.id), ['a', 'b']);
  });

  it('startedBy is the principal that started it (calls on rt act as system)', async () => {
    const s = await rt.as('agent:ada').sessions.start();
    assert.equal((await runCorrelated({ principal: 'agent:ada' }, () => rt.sessions.start({ id: 'by-system' }))).startedBy, 'system');
    assert.equal(s.startedBy, 'agent:ada');
    const [started] = await rt.events.query({ kinds: ['session.started'] });
    assert.equal(started.principal, 'agent:ada');
  });

  describe('bad input', () => {
    it('refuses a taken id with a TypeError, also once the session was collected', async () => {
      await rt.sessions.start({ id: 's1', ttlMs: 10 });
      let error = await rejection(rt.sessions.start({ id: 's1' }));
      assert.ok(error instanceof TypeError);
      assert.match(error.message, /A session with id "s1" already exists \(active\)/);
      clock.advance(10);
      await rt.sessions.gc();
      error = await rejection(rt.sessions.start({ id: 's1' }));
      assert.match(error.message, /already exists \(expired\); session ids are not reused/);
    });

    it('refuses an id that breaks the scope id rules with SCOPE_INVALID', async () => {
      for (const id of ['', '__x', 'a\u0000b', 'x'.repeat(129)]) {
        const error = await rejection(rt.sessions.start({ id }));
        assert.equal(error.code, 'SCOPE_INVALID', id);
        assert.match(error.message, /session id/);
      }
    });

    it('refuses metadata that is not JSON data, or not an object', async () => {
      let error = await rejection(rt.sessions.start({ metadata: { at: new Date() } }));
      assert.equal(error.code, 'VALUE_INVALID');
      assert.match(error.message, /^The metadata of session \S+: .*\$\.at/);
      error = await rejection(rt.sessions.start({ metadata: [1] as never }));
      assert.ok(error instanceof TypeError);
      assert.equal(error.message, 'Expected `metadata` to be a plain object of JSON data, got `[1]` (array)');
    });

    it('refuses bad participants, ttls and unknown options', async () => {
      let error = await rejection(rt.sessions.start({ participants: ['agent:ada', ''] }));
      assert.equal(error.message, '`participants[1]`: The principal "" must be 1–128 characters without control characters or \'*\'');
      error = await rejection(rt.sessions.start({ participants: 'agent:ada' as never }));
      assert.match(error.message, /^Expected `participants` to be an array of principals/);
      error = await rejection(rt.sessions.start({ participants: ['a\nb'] }));
      assert.ok(error instanceof TypeError);
      error = await rejection(rt.sessions.start({ ttlMs: 0 }));
      assert.equal(error.message, 'Expected `ttlMs` to be a positive integer of ms, or null, got `0` (number)');
      error = await rejection(rt.sessions.start({ ttl: 5 } as never));
      assert.match(error.message, /^Unknown option `ttl`; the options are `id`, `ttlMs`, `metadata`, `participants`/);
    });

    it('end refuses an unknown session, and one that has expired or was collected', async () => {
      let error = await rejection(rt.sessions.end('nope'));
      assert.ok(error instanceof TypeError);
      assert.equal(error.message, 'Cannot end session "nope": no session has this id. rt.sessions.list() shows the sessions');
      await rt.sessions.start({ id: 's1', ttlMs: 10 });
      clock.advance(10);
      error = await rejection(rt.sessions.end('s1'));
      assert.match(error.message, /^Session "s1" expired at .*; there is nothing left to end$/);
      await rt.sessions.gc();
      error = await rejection(rt.sessions.end('s1'));
      assert.match(error.message, /^Cannot end session "s1": it was collected at .* \(its time to live passed\)$/);
      await rt.sessions.start({ id: 's2', ttlMs: 10 });
      await rt.sessions.end('s2');
      clock.advance(10);
      error = await rejection(rt.sessions.end('s2'));
      assert.match(error.message, /^Session "s2" expired at /, 'ended, then expired');
    });

    it('get says undefined for an id never started, and list refuses a bad filter', async () => {
      assert.equal(await rt.sessions.get('never'), undefined);
      const error = await rejection(rt.sessions.list({ status: 'gone' as never }));
      assert.equal(error.message, "Expected `status` to be 'active', 'ended' or 'expired', got `\"gone\"` (string)");
    });
  });
});

describe('rt.sessions: time to live and garbage collection', () => {
  let fixture: RuntimeFixture;

  beforeEach(() => {
    fixture = new RuntimeFixture('sessions-gc');
  });
  afterEach(() => fixture.dispose());

  it('gc clears an expired session’s state in one batch with its tombstone and a session.expired event', async () => {
    const clock = new ManualClock();
    const rt = await fixture.open({ clock });
    const s = await rt.sessions.start({ id: 's1', ttlMs: HOUR });
    await rt.sessions.start({ id: 'kept', ttlMs: 2 * HOUR });
    for (const key of ['a', 'b', 'c']) await rt.state.set(Scope.session('s1'), key, key);
    await rt.state.set(Scope.session('kept'), 'k', 1);
    assert.deepEqual(await rt.sessions.gc(), { collected: [] });
    clock.advance(HOUR);
    assert.deepEqual(await rt.sessions.gc(), { collected: ['s1'] });
    assert.deepEqual(await rt.state.listKeys(Scope.session('s1')), []);
    assert.deepEqual(await rt.state.listKeys(Scope.session('kept')), ['k']);
    const info = await rt.sessions.get('s1');
    assert.equal(info?.status, 'expired');
    assert.deepEqual(info?.collected, { at: s.startedAt + HOUR, cleared: 3, reason: 'ttl' });
    const [clear, expired] = await rt.events.query({ scope: 'session:s1', kinds: ['scope.clear', 'session.expired'] });
    assert.equal(clear.seq, expired.seq, 'the clear and the marker are one batch');
    assert.equal(clear.count, 3);
    assert.deepEqual(expired.data, { id: 's1', cleared: 3, reason: 'ttl' });
    assert.equal(rt.sessions.accessInfo('s1'), undefined);
    assert.deepEqual(await rt.sessions.gc(), { collected: [] });
  });

  it('ended sessions are kept until their ttl, or until gc({ ended: true })', async () => {
    const clock = new ManualClock();
    const rt = await fixture.open({ clock });
    await rt.sessions.start({ id: 'open-ended' });
    await rt.state.set(Scope.session('open-ended'), 'k', 1);
    await rt.sessions.end('open-ended');
    await rt.sessions.start({ id: 'active' });
    assert.deepEqual(await rt.sessions.gc(), { collected: [] });
    assert.deepEqual(await rt.sessions.gc({ ended: true }), { collected: ['open-ended'] });
    assert.deepEqual((await rt.sessions.get('open-ended'))?.collected?.reason, 'ended');
    assert.equal((await rt.sessions.get('active'))?.status, 'active');
    const error = await rejection(rt.sessions.gc({ ended: 'yes' } as never));
    assert.equal(error.message, 'Expected `ended` to be a boolean, got `"yes"` (string)');
  });

  it('the collection takes its place in the session scope’s mailbox: writes queued before it are cleared, later ones stay', async () => {
    const clock = new ManualClock();
    const rt = await fixture.open({ clock });
    await rt.sessions.start({ id: 's1', ttlMs: 10 });
    clock.advance(10);
    const scope = Scope.session('s1');
    const before = rt.state.set(scope, 'before', 1);
    const collecting = rt.sessions.gc();
    await Promise.resolve();
    const after = rt.state.set(scope, 'after', 2);
    await Promise.all([before, collecting, after]);
    assert.deepEqual(await rt.state.listKeys(scope), ['after']);
    assert.equal((await rt.sessions.get('s1'))?.collected?.cleared, 1);
    const events = await rt.events.query({ scope: 'session:s1' });
    assert.deepEqual(
      events.map((e) => e.kind),
      ['session.started', 'state.set', 'scope.clear', 'session.expired', 'state.set'],
    );
  });

  it('a session with nothing stored is collected all the same, with cleared 0', async () => {
    const clock = new ManualClock();
    const rt = await fixture.open({ clock });
    await rt.sessions.start({ id: 'empty', ttlMs: 1 });
    clock.advance(1);
    assert.deepEqual(await rt.sessions.gc(), { collected: ['empty'] });
    const [expired] = await rt.events.query({ kinds: ['session.expired'] });
    assert.deepEqual(expired.data, { id: 'empty', cleared: 0, reason: 'ttl' });
  });

  it('the scheduler collects on the injected timers, every gcIntervalMs', async () => {
    const timers = new ManualTimers();
    const rt = await fixture.open({ clock: timers.clock, timers, sessions: { gcIntervalMs: 1000 } });
    await rt.sessions.start({ id: 's1', ttlMs: 1500 });
    await rt.state.set(Scope.session('s1'), 'k', 1);
    await timers.advance(1000);
    assert.equal((await rt.sessions.get('s1'))?.collected, undefined);
    await timers.advance(1000);
    // The pass runs in the background: wait for its batch, however long the store takes.
    while (rt.sessions.accessInfo('s1') !== undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal((await rt.sessions.get('s1'))?.collected?.reason, 'ttl');
    assert.deepEqual(await rt.state.listKeys(Scope.session('s1')), []);
  });

  it('sessions survive a restart, and one that expired while the runtime was closed is collected at open', async () => {
    const clock = new ManualClock();
    let rt = await fixture.open({ clock });
    await rt.sessions.start({ id: 'short', ttlMs: HOUR, participants: ['agent:ada'] });
    await rt.sessions.start({ id: 'long', ttlMs: 3 * HOUR });
    await rt.state.set(Scope.session('short'), 'k', 1);
    await rt.state.set(Scope.session('long'), 'k', 1);
    rt = await fixture.reopen(rt, { clock });
    assert.deepEqual(rt.sessions.accessInfo('short'), { participants: ['agent:ada'], startedBy: 'system', status: 'active' });
    assert.equal((await rt.sessions.get('long'))?.status, 'active');
    clock.advance(2 * HOUR);
    rt = await fixture.reopen(rt, { clock });
    assert.equal((await rt.sessions.get('short'))?.collected?.reason, 'ttl');
    assert.deepEqual(await rt.state.listKeys(Scope.session('short')), []);
    assert.deepEqual(await rt.state.listKeys(Scope.session('long')), ['k']);
    assert.equal(rt.sessions.accessInfo('short'), undefined);
    assert.equal(rt.sessions.accessInfo('long')?.status, 'active');
    clock.advance(HOUR);
    assert.equal(rt.sessions.accessInfo('long')?.status, 'expired', 'expired by the clock before any gc');
    assert.deepEqual(await rt.sessions.gc(), { collected: ['long'] });
  });

  it('gc is atomic: a failed batch clears nothing and keeps the session, and the next gc collects it', async () => {
    const clock = new ManualClock();
    const rt = await fixture.open({ clock });
    await rt.sessions.start({ id: 's1', ttlMs: 10 });
    await rt.sessions.start({ id: 's2', ttlMs: 10 });
    for (const key of ['a', 'b']) {
      await rt.state.set(Scope.session('s1'), key, key);
      await rt.state.set(Scope.session('s2'), key, key);
    }
    clock.advance(10);
    rt.faults.failStorage({ scope: Scope.session('s1'), count: 1 });
    const error = await rejection(rt.sessions.gc());
    assert.equal(error.code, 'STORAGE_FAILED');
    assert.deepEqual(await rt.state.listKeys(Scope.session('s1')), ['a', 'b']);
    assert.equal(await rt.state.get(Scope.session('s1'), 'a'), 'a');
    assert.equal((await rt.sessions.get('s1'))?.collected, undefined);
    assert.equal(rt.sessions.accessInfo('s1')?.status, 'expired');
    assert.deepEqual(await rt.events.query({ scope: 'session:s1', kinds: ['session.expired', 'scope.clear'] }), []);
    assert.equal((await rt.sessions.get('s2'))?.collected?.cleared, 2, 'the other session was still collected');
    assert.deepEqual(await rt.sessions.gc(), { collected: ['s1'] });
    assert.deepEqual(await rt.state.listKeys(Scope.session('s1')), []);
  });
});
