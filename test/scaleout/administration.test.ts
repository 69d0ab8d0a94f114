import assert from 'node:assert/strict';
import net from 'node:net';
import { Scope } from '../../src/index.js';
import { storageOf } from '../../src/runtime.js';
import { rejection, tempDir } from '../helpers.js';
import { describePostgres, postgresQuery } from '../support/postgres.js';
import { SharedSchema, until } from './sharedSchema.js';

// Two runtimes on one schema stand for two processes: an operator's (B, like the command line) and the one
// running the agents (A). What B changes in the administration must reach A while A runs (docs/scale-out.md).

describePostgres('scale-out: administration made in one process reaches the others while they run', function () {
  this.timeout(60_000);
  const shared = new SharedSchema();
  const start = (owner: string, backupDir?: string) => shared.start(owner, backupDir === undefined ? {} : { backups: { dir: backupDir } });

  it('a quarantine made in B cuts the agent off in A: its queued messages are rejected, its actor stopped, its calls refused', async () => {
    const { chatMachine } = await import('../fixtures/chatMachine.js');
    const a = await start('a');
    const b = await start('b');
    const agent = await a.agents.spawn({ id: 'bob', type: 'chat', machine: chatMachine() });
    await agent.send({ type: 'SAY', text: 'before' });
    assert.deepEqual(b.access.quarantined(), []);

    await b.access.quarantine('bob', { reason: 'prompt injection suspected' });
    await until(() => a.access.quarantined().length === 1);
    assert.equal(a.access.quarantined()[0].reason, 'prompt injection suspected');
    await until(() => !a.agents.liveIds().includes('bob'));
    assert.equal((await rejection(agent.send({ type: 'SAY', text: 'after' }))).code, 'AGENT_QUARANTINED');
    assert.equal((await rejection(a.as('agent:bob').state.set(Scope.agent('bob'), 'k', 1))).code, 'AGENT_QUARANTINED');
    assert.equal((await rejection(a.state.set(Scope.agent('bob'), 'k', 1))).code, 'AGENT_QUARANTINED', 'nothing may be done on its scope either');

    await b.access.release('bob');
    await until(() => a.access.quarantined().length === 0);
    await a.as('agent:bob').state.set(Scope.agent('bob'), 'k', 'after release');
    assert.equal(await b.state.get(Scope.agent('bob'), 'k'), 'after release');
  });

  it('a grant made in B is in force in A, and so is its revocation', async () => {
    const a = await start('a');
    const b = await start('b');
    await a.state.set(Scope.agent('bob'), 'notes', 'for bob');
    const ada = a.as('agent:ada');
    assert.equal((await rejection(ada.state.get(Scope.agent('bob'), 'notes'))).code, 'ACCESS_DENIED');

    const grant = await b.access.grant({ principal: 'agent:ada', scope: Scope.agent('bob'), permissions: ['read'] });
    await until(() => a.access.check('agent:ada', Scope.agent('bob'), 'read').allowed);
    assert.equal(a.access.check('agent:ada', Scope.agent('bob'), 'read').by, grant.id);
    assert.equal(await ada.state.get(Scope.agent('bob'), 'notes'), 'for bob');

    assert.equal(await b.access.revoke(grant.id), true);
    await until(() => !a.access.check('agent:ada', Scope.agent('bob'), 'read').allowed);
    assert.equal((await rejection(ada.state.get(Scope.agent('bob'), 'notes'))).code, 'ACCESS_DENIED');
    assert.deepEqual(a.access.grants(), []);
  });

  it('a session started and ended in B is known to A, and only one process collects it', async () => {
    const a = await start('a');
    const b = await start('b');
    const scope = Scope.session('planning');
    // Checked before the start: B's announcement can reach A before the line after the start runs.
    assert.equal(a.access.check('agent:ada', scope, 'write').rule, 'no-grant');
    const session = await b.sessions.start({ id: 'planning', ttlMs: 60_000, participants: ['agent:ada'] });
    await until(() => a.access.check('agent:ada', scope, 'write').allowed);
    assert.equal(a.access.check('agent:ada', scope, 'write').rule, 'session-member');
    // B's actor holds the session's scope (sticky routing): its members' writes go through B.
    await b.as('agent:ada').state.set(scope, 'draft', 'v1');

    await b.sessions.end(session.id);
    await until(() => a.access.check('agent:ada', scope, 'write').rule === 'session-ended');

    shared.skew = 61_000;
    // Both collect at once: B, whose actor holds the session's scope, collects it; A finds it collected,
    // or is told that B holds it. Once, with one event.
    const [fromA, fromB] = await Promise.allSettled([a.sessions.gc(), b.sessions.gc()]);
    assert.deepEqual(fromB.status === 'fulfilled' && fromB.value.collected, [session.id]);
    if (fromA.status === 'fulfilled') assert.deepEqual(fromA.value.collected, []);
    else assert.equal((fromA.reason as { code?: string }).code, 'SCOPE_LEASED');
    assert.deepEqual(await a.sessions.gc(), { collected: [] });
    assert.equal((await a.events.query({ kinds: ['session.expired'] })).length, 1);
    assert.equal(await b.state.get(scope, 'draft'), undefined);
    assert.equal((await a.sessions.get(session.id))?.status, 'expired');
  });

  it('after a full restore made in B, A decides by the grants, quarantines and sessions of the restored store', async () => {
    const a = await start('a');
    const b = await start('b', tempDir().dir);
    const kept = await b.access.grant({ principal: 'agent:ada', scope: Scope.agent('bob'), permissions: ['read'] });
    const backup = await b.backups.create();
    await b.access.revoke(kept.id);
    const added = await b.access.grant({ principal: 'agent:ada', scope: Scope.agent('cy'), permissions: ['read'] });
    await b.access.quarantine('eve');
    const session = await b.sessions.start({ ttlMs: 60_000, participants: ['agent:ada'] });
    await until(() => a.access.check('agent:ada', Scope.session(session.id), 'write').allowed && a.access.quarantined().length === 1);
    assert.deepEqual(a.access.grants().map((grant) => grant.id), [added.id]);

    await b.backups.restore({ id: backup.id });
    // A holds no lease, so the restore went ahead; the switch announced that the store was replaced.
    await until(() => a.access.quarantined().length === 0);
    await until(() => a.access.grants().length === 1 && a.access.grants()[0].id === kept.id);
    await until(() => !a.access.check('agent:ada', Scope.session(session.id), 'write').allowed);
    assert.equal(a.access.check('agent:ada', Scope.agent('bob'), 'read').by, kept.id);
    assert.equal(a.access.check('agent:ada', Scope.agent('cy'), 'read').allowed, false);
  });

  it('a refresh that fails is reported, and the whole namespace is read again', async () => {
    const a = await start('a');
    const b = await start('b');
    let failures = 1;
    storageOf(a).intercept({
      beforeGet: (sublevel) => {
        if (sublevel === 'access' && failures > 0) {
          failures--;
          throw new Error('injected: the read of an announced key fails');
        }
      },
      interceptsReads: () => failures > 0,
    });
    await b.access.quarantine('bob');
    await until(() => a.access.quarantined().length === 1);
    assert.equal(failures, 0, 'the announced key was read, and failed');
    assert.equal(a.metrics().hooks.backgroundErrors, 1);
  });

  it('A can end a session B started before A has heard of it', async () => {
    const a = await start('a');
    const b = await start('b');
    // A listens no more, so it hears of nothing B does.
    await postgresQuery(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN llmstate_%' AND application_name = $1`, [`llmstate:${shared.schema.schema}`]);
    const session = await b.sessions.start({ ttlMs: 60_000 });
    await b.close();
    assert.equal((await a.sessions.end(session.id)).status, 'ended');
  });

  it('A hears of what B changed while A\'s listening connection was lost, once it is back', async () => {
    const a = await start('a');
    const b = await start('b');
    const listening = `SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN llmstate_%' AND application_name = $1`;
    const listeners = () => postgresQuery<{ pid: number }>(listening, [`llmstate:${shared.schema.schema}`]);
    // One listening connection per runtime.
    await until(async () => (await listeners()).length === 2);
    const before = new Set((await listeners()).map((row) => row.pid));
    // Ends both: B's commits are then announced to no one.
    await postgresQuery(`SELECT pg_terminate_backend(pid) FROM (${listening}) AS listening`, [`llmstate:${shared.schema.schema}`]);
    await b.access.quarantine('eve');
    const grant = await b.access.grant({ principal: 'agent:ada', scope: Scope.workflow('w1'), permissions: ['write'] });

    await until(async () => (await listeners()).filter((row) => !before.has(row.pid)).length === 2);
    await until(() => a.access.quarantined().length === 1 && a.access.check('agent:ada', Scope.workflow('w1'), 'write').by === grant.id);
    assert.equal(a.access.quarantined()[0].agentId, 'eve');
  });

  it('A notices a listening connection that died without closing (its heartbeat goes unanswered), and catches up', async () => {
    // A proxy in front of the server for A, which can stop forwarding one connection without closing it:
    // what a NAT or a balancer that drops an idle connection leaves behind.
    const server = new URL(shared.schema.connectionString);
    const links = new Map<number, { silent: boolean; sockets: net.Socket[] }>();
    const proxy = net.createServer((client) => {
      const upstream = net.connect(Number(server.port || 5432), server.hostname);
      const link = { silent: false, sockets: [client, upstream] };
      upstream.on('connect', () => links.set(upstream.localPort!, link));
      client.on('data', (data) => link.silent || upstream.write(data));
      upstream.on('data', (data) => link.silent || client.write(data));
      for (const socket of link.sockets) {
        socket.on('close', () => link.sockets.forEach((each) => each.destroy()));
        socket.on('error', () => {});
      }
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const viaProxy = new URL(shared.schema.connectionString);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String((proxy.address() as net.AddressInfo).port);
      const a = await shared.start('a', { storage: { postgres: { connectionString: viaProxy.toString(), schema: shared.schema.schema } } });
      const b = await start('b');
      const listening = await postgresQuery<{ client_port: number }>(
        `SELECT client_port FROM pg_stat_activity WHERE query LIKE 'LISTEN llmstate_%' AND application_name = $1`,
        [`llmstate:${shared.schema.schema}`],
      );
      const silenced = listening.map((row) => links.get(row.client_port)).filter((link) => link !== undefined);
      assert.equal(silenced.length, 1, "A's listening connection goes through the proxy");
      silenced[0].silent = true;

      await b.access.quarantine('bob');
      await until(() => a.access.quarantined().length === 1);
    } finally {
      for (const link of links.values()) link.sockets.forEach((socket) => socket.destroy());
      proxy.close();
    }
  });
});
